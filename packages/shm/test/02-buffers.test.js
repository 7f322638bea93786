'use strict';
// buf, view(), read()/write(), close() and unlink() semantics, readonly.
const { test, describe } = require('node:test');
const assert = require('node:assert/strict');
const { SharedMemory, pageSize } = require('@shmkit/shm');
const { uniqueName, exists, checkNoLeaks, WINDOWS, notOnWindows, segSize, CALLS } = require('./helpers');

/** overlay maps over a buffer's pages, which Windows cannot do (decision 0014). */
const OVERLAY = notOnWindows('no overlay strategy there (docs/decisions/0014-windows.md)');

checkNoLeaks();

function pair(size, options = {}) {
  const a = new SharedMemory({ name: uniqueName(), create: true, size, ...options });
  const b = SharedMemory.attach(a.name, options.strategy ? { strategy: options.strategy } : {});
  const done = () => {
    a.close();
    b.close();
    if (exists(a.name)) a.unlink();
  };
  return { a, b, done };
}

describe('buf', () => {
  test('is the same Uint8Array on every access, over exactly size bytes', () => {
    const { a, done } = pair(pageSize + 3);
    try {
      assert.ok(a.buf instanceof Uint8Array);
      assert.equal(a.buf, a.buf);
      assert.equal(a.buf.length, segSize(pageSize + 3)); // Windows: whole pages
      assert.ok(a.buf.every((x) => x === 0), 'a new segment is zero-filled');
    } finally {
      done();
    }
  });

  test('writes land at the right offsets, including the last byte', () => {
    const { a, b, done } = pair(pageSize * 2 + 1);
    try {
      for (let i = 0; i < a.size; i += 997) a.buf[i] = i % 251;
      a.buf[a.size - 1] = 0xfe;
      for (let i = 0; i < a.size; i += 997) assert.equal(b.buf[i], i % 251);
      assert.equal(b.buf[b.size - 1], 0xfe);
    } finally {
      done();
    }
  });
});

describe('view()', () => {
  test('Int32Array views work with Atomics.load/store/add across attachments', () => {
    const { a, b, done } = pair(64);
    try {
      const x = a.view(Int32Array);
      const y = b.view(Int32Array, 8, 2);
      assert.equal(x.length, segSize(64) / 4);
      assert.equal(y.length, 2);
      Atomics.store(x, 2, 40);
      assert.equal(Atomics.add(y, 0, 2), 40);
      assert.equal(Atomics.load(x, 2), 42);
      assert.equal(Atomics.compareExchange(y, 0, 42, 7), 42);
      assert.equal(x[2], 7);
    } finally {
      done();
    }
  });

  test('every typed array kind, DataView and Buffer see the same bytes', () => {
    const { a, b, done } = pair(64);
    try {
      a.view(Float64Array)[1] = Math.PI;
      assert.equal(b.view(Float64Array, 8, 1)[0], Math.PI);
      a.view(BigInt64Array)[2] = -5n;
      assert.equal(b.view(BigUint64Array, 16, 1)[0], 2n ** 64n - 5n);
      b.view(DataView, 24, 4).setUint32(0, 0xdeadbeef, false);
      assert.deepEqual([...a.buf.subarray(24, 28)], [0xde, 0xad, 0xbe, 0xef]);
      const buffer = a.view(Buffer, 24, 4);
      assert.ok(Buffer.isBuffer(buffer));
      assert.equal(buffer.readUInt32BE(0), 0xdeadbeef);
      for (const Ctor of [Int8Array, Uint8ClampedArray, Int16Array, Uint16Array, Uint32Array, Float32Array]) {
        const v = a.view(Ctor);
        assert.equal(v.byteLength, segSize(64), Ctor.name);
      }
    } finally {
      done();
    }
  });

  test('a subclass of a typed array is accepted', () => {
    class Pixels extends Uint8ClampedArray {}
    const { a, done } = pair(16);
    try {
      const p = a.view(Pixels, 4, 4);
      assert.ok(p instanceof Pixels);
      p[0] = 300;
      assert.equal(a.buf[4], 255);
    } finally {
      done();
    }
  });

  test('length defaults to whole elements that fit; bad offsets and lengths are range errors', () => {
    const { a, done } = pair(30);
    const size = segSize(30); // 30 bytes; on Windows a whole page
    try {
      assert.equal(a.view(Int32Array).length, Math.floor(size / 4));
      assert.equal(a.view(Int32Array, 28).length, Math.floor((size - 28) / 4));
      assert.equal(a.view(DataView, 3).byteLength, size - 3);
      assert.throws(() => a.view(Int32Array, 2), { code: 'ERR_OUT_OF_RANGE' });
      assert.throws(() => a.view(Int32Array, size + 2), { code: 'ERR_OUT_OF_RANGE' });
      assert.throws(() => a.view(Int32Array, 0, Math.floor(size / 4) + 1), { code: 'ERR_OUT_OF_RANGE' });
      assert.throws(() => a.view(Int32Array, -4), { code: 'ERR_OUT_OF_RANGE' });
      assert.throws(() => a.view(Int32Array, 1.5), { code: 'ERR_OUT_OF_RANGE' });
      assert.throws(() => a.view(Int32Array, '4'), { code: 'ERR_INVALID_ARG_TYPE' });
      assert.throws(() => a.view(Array), { code: 'ERR_INVALID_ARG_TYPE' });
      assert.throws(() => a.view(ArrayBuffer), { code: 'ERR_INVALID_ARG_TYPE' });
      assert.throws(() => a.view(undefined), { code: 'ERR_INVALID_ARG_TYPE' });
    } finally {
      done();
    }
  });
});

describe('read() and write()', () => {
  test('copy bytes in and out at an offset', () => {
    const { a, b, done } = pair(100);
    try {
      assert.equal(a.write(new Uint8Array([1, 2, 3]), 97), 3);
      const out = new Uint8Array(3);
      assert.equal(b.read(out, 97), 3);
      assert.deepEqual([...out], [1, 2, 3]);
      // Any ArrayBufferView works; its bytes are copied.
      a.write(new Uint16Array([0x0102]), 0);
      const dv = new DataView(new ArrayBuffer(2));
      b.read(dv);
      assert.equal(dv.getUint16(0, true), 0x0102);
    } finally {
      done();
    }
  });

  test('out-of-range copies are refused and change nothing', () => {
    const { a, done } = pair(10);
    const size = a.size; // 10; on Windows a whole page
    try {
      a.buf.fill(5);
      assert.throws(() => a.write(new Uint8Array(size + 1)), { code: 'ERR_OUT_OF_RANGE' });
      assert.throws(() => a.write(new Uint8Array(2), size - 1), { code: 'ERR_OUT_OF_RANGE' });
      assert.throws(() => a.read(new Uint8Array(1), size), { code: 'ERR_OUT_OF_RANGE' });
      assert.throws(() => a.read(new Uint8Array(1), -1), { code: 'ERR_OUT_OF_RANGE' });
      assert.throws(() => a.read([0]), { code: 'ERR_INVALID_ARG_TYPE' });
      assert.throws(() => a.write('abc'), { code: 'ERR_INVALID_ARG_TYPE' });
      assert.ok(a.buf.every((x) => x === 5));
    } finally {
      done();
    }
  });
});

describe('close() and unlink()', () => {
  test('close is idempotent; buf, view, read and write then throw ERR_SHM_CLOSED', () => {
    const a = new SharedMemory({ name: uniqueName(), create: true, size: 16 });
    a.close();
    a.close();
    assert.equal(a.closed, true);
    assert.throws(() => a.buf, { code: 'ERR_SHM_CLOSED' });
    assert.throws(() => a.view(Int32Array), { code: 'ERR_SHM_CLOSED' });
    assert.throws(() => a.read(new Uint8Array(1)), { code: 'ERR_SHM_CLOSED' });
    assert.throws(() => a.write(new Uint8Array(1)), { code: 'ERR_SHM_CLOSED' });
    a.unlink();
  });

  for (const strategy of ['external', 'overlay']) {
    test(`close detaches every view it gave out (${strategy}): stale views read as length 0`, strategy === 'overlay' ? OVERLAY : {}, () => {
      const { a, b, done } = pair(4096, { strategy });
      try {
        const buf = a.buf;
        const ints = a.view(Int32Array);
        const dv = a.view(DataView);
        const sub = buf.subarray(10, 20);
        const own = new Uint8Array(buf.buffer);
        b.buf[0] = 1;
        a.close(); // CPython raises BufferError here; shmkit always closes
        for (const v of [buf, ints, sub, own]) assert.equal(v.length, 0);
        assert.equal(dv.buffer.byteLength, 0);
        assert.equal(buf[0], undefined, 'reads past a detached view are undefined, never a crash');
        buf[0] = 9; // a write to a detached view is a no-op
        assert.equal(b.buf[0], 1, 'the other attachment is unaffected');
      } finally {
        done();
      }
    });
  }

  test('unlink first, then the mappings keep working until closed', () => {
    const { a, b, done } = pair(32);
    try {
      a.unlink();
      a.buf[3] = 33;
      assert.equal(b.buf[3], 33);
      if (WINDOWS) {
        // Nothing removes a name there: unlink() does nothing (CPython), never ENOENT, and the
        // segment lives until the last close.
        assert.ok(exists(a.name));
        a.unlink();
        a.close();
        assert.equal(b.buf[3], 33);
        b.close();
        assert.ok(!exists(a.name), 'gone with the last close');
        assert.throws(() => SharedMemory.attach(a.name), { code: 'ENOENT' });
        return;
      }
      assert.ok(!exists(a.name));
      assert.throws(() => SharedMemory.attach(a.name), { code: 'ENOENT' });
      assert.throws(() => a.unlink(), { code: 'ENOENT', syscall: CALLS.unlink, path: a.name });
    } finally {
      done();
    }
  });

  test('close first, then unlink; re-attaching afterwards is ENOENT', () => {
    const a = new SharedMemory({ name: uniqueName(), create: true, size: 32 });
    a.close();
    // Windows: the last close removes it (a name lives only while some process holds it).
    if (WINDOWS) assert.ok(!exists(a.name), 'the last close removes it');
    else assert.ok(exists(a.name), 'close never removes the name');
    a.unlink();
    assert.throws(() => SharedMemory.attach(a.name), { code: 'ENOENT' });
  });

  test('Symbol.dispose closes', () => {
    const a = new SharedMemory({ name: uniqueName(), create: true, size: 8 });
    try {
      const buf = a.buf;
      a[Symbol.dispose]();
      assert.equal(a.closed, true);
      assert.equal(buf.length, 0);
    } finally {
      a.unlink();
    }
  });
});

describe('readonly', () => {
  for (const strategy of ['external', 'overlay', 'copy']) {
    test(`a readonly attach sees writes and its own writes never reach the segment (${strategy})`, strategy === 'overlay' ? OVERLAY : {}, () => {
      const a = new SharedMemory({ name: uniqueName('ro'), create: true, size: pageSize * 2 });
      const r = SharedMemory.attach(a.name, { readonly: true, strategy });
      try {
        assert.equal(r.readonly, true);
        a.buf[0] = 1;
        a.buf[pageSize] = 2;
        const probe = new Uint8Array(1);
        r.read(probe, pageSize);
        assert.equal(probe[0], 2, 'sees the writer');
        // write() refuses; writing through buf from JS must not crash (a
        // PROT_READ page would SIGSEGV) and must not reach the segment.
        assert.throws(() => r.write(new Uint8Array([99]), 0), { code: 'ERR_SHM_READONLY' });
        if (strategy !== 'copy') {
          r.buf[0] = 99;
          r.buf[1] = 98;
          r.view(Int32Array)[pageSize / 4] = -1;
        }
        assert.equal(a.buf[0], 1);
        assert.equal(a.buf[1], 0);
        assert.equal(a.buf[pageSize], 2);
        // An untouched page keeps following the writer.
        a.buf[pageSize + 100] = 7;
        if (strategy !== 'copy') assert.equal(r.buf[0], 99, 'the private copy keeps its own write');
        const other = SharedMemory.attach(a.name);
        try {
          assert.equal(other.buf[0], 1);
        } finally {
          other.close();
        }
      } finally {
        r.close();
        a.close();
        a.unlink();
      }
    });
  }

  test('a readonly attach of an untouched page follows later writes', () => {
    const a = new SharedMemory({ name: uniqueName('ro2'), create: true, size: pageSize * 2 });
    const r = SharedMemory.attach(a.name, { readonly: true });
    try {
      r.buf[0] = 1; // copy-on-write of page 0 only
      a.buf[pageSize + 5] = 55;
      assert.equal(r.buf[pageSize + 5], 55);
    } finally {
      r.close();
      a.close();
      a.unlink();
    }
  });
});
