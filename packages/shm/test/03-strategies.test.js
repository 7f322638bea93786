'use strict';
// The three buffer strategies (docs/decisions/0001-buffer-strategies.md), each
// forced on Node; the automatic fallback as Electron's memory cage triggers it
// (simulated in a child process); release of mappings and descriptors; workers.
const { test, describe } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { SharedMemory, pageSize } = require('@shmkit/shm');
const { uniqueName, exists, checkNoLeaks, run, PACKAGE, WINDOWS, notOnWindows } = require('./helpers');

/** overlay and shared map over a buffer's pages, which Windows cannot do (decision 0014). */
const OVERLAY = notOnWindows('no overlay strategy there (docs/decisions/0014-windows.md)');
const onlyWithOverlay = (strategy) => (strategy === 'overlay' ? OVERLAY : {});

/** The segment's bytes, through buf or, for the copy strategy, read(). */
function bytesOf(shm) {
  if (shm.strategy !== 'copy') return shm.buf;
  const out = new Uint8Array(shm.size);
  shm.read(out);
  return out;
}

checkNoLeaks();

const BINDING = path.join(PACKAGE, 'dist', 'core', 'binding.js');
const NODE_MAJOR = Number(process.versions.node.split('.')[0]);
// A segment's buffer in a transfer list is never moved: Node 20 copies it,
// Node 22 and later (and Chromium) refuse it as the HTML spec says for a
// buffer that cannot be detached (docs/decisions/0005-transfer-and-sizes.md).
const TRANSFER_LIST = NODE_MAJOR >= 22 ? 'DataCloneError' : 'copied';

/** Runs a script in a child Node with --expose-gc; it prints JSON on its last line. */
async function child(source, env) {
  const result = await run(process.execPath, ['--expose-gc', '-e', source], { env });
  assert.equal(result.code, 0, `child failed:\n${result.stderr}`);
  const lines = result.stdout.trim().split('\n');
  return { out: JSON.parse(lines[lines.length - 1]), stderr: result.stderr };
}

const PRELUDE = `
const { SharedMemory } = require('@shmkit/shm');
const fs = require('node:fs');
const binding = require(${JSON.stringify(BINDING)});
const mapped = (name) => fs.readFileSync('/proc/self/maps', 'utf8').split('\\n').filter((l) => l.endsWith('/dev/shm/' + name)).length;
const settle = async () => { for (let i = 0; i < 6; i++) { global.gc(); await new Promise((r) => setImmediate(r)); await new Promise((r) => setTimeout(r, 5)); } };
`;

describe('forced strategies', () => {
  for (const strategy of ['external', 'overlay', 'copy']) {
    test(`${strategy}: the bytes are shared with an attachment of another strategy`, onlyWithOverlay(strategy), () => {
      const a = new SharedMemory({ name: uniqueName(strategy), create: true, size: pageSize * 3 + 1, strategy });
      // Windows has no overlay: external is paired with copy there.
      const other = strategy === 'external' ? (WINDOWS ? 'copy' : 'overlay') : 'external';
      const b = SharedMemory.attach(a.name, { strategy: other });
      try {
        assert.equal(a.strategy, strategy);
        const pattern = Uint8Array.from({ length: a.size }, (_, i) => (i * 7) & 0xff);
        a.write(pattern);
        assert.deepEqual(bytesOf(b), pattern);
        b.write(new Uint8Array(100).fill(3), 100);
        const back = new Uint8Array(a.size);
        a.read(back);
        assert.ok(back.subarray(100, 200).every((x) => x === 3));
        if (strategy === 'copy') {
          assert.throws(() => a.buf, { code: 'ERR_SHM_ZERO_COPY_UNAVAILABLE' });
          assert.throws(() => a.view(Int32Array), { code: 'ERR_SHM_ZERO_COPY_UNAVAILABLE' });
        } else {
          assert.equal(a.buf.length, a.size);
          assert.equal(a.buf[100], 3);
        }
      } finally {
        a.close();
        b.close();
        a.unlink();
      }
    });
  }

  test('auto picks external on Node', () => {
    const a = new SharedMemory({ name: uniqueName(), create: true, size: 8 });
    try {
      assert.equal(a.strategy, 'external');
    } finally {
      a.close();
      a.unlink();
    }
  });

  test('overlay views are page-aligned inside their ArrayBuffer, and Atomics work on them', OVERLAY, () => {
    const a = new SharedMemory({ name: uniqueName(), create: true, size: 100, strategy: 'overlay' });
    try {
      const ints = a.view(Int32Array);
      assert.ok(ints.buffer.byteLength >= 100 + pageSize);
      Atomics.add(ints, 0, 5);
      assert.equal(Atomics.load(ints, 0), 5);
      // The view's start is a page boundary: the offset inside the buffer plus
      // the buffer's (unknown) base is page-aligned; check via a second view.
      assert.equal(a.buf.byteOffset, ints.byteOffset);
    } finally {
      a.close();
      a.unlink();
    }
  });
});

describe('automatic fallback (external buffers refused, as in Electron)', () => {
  test('Windows: auto falls back to copy (no overlay there); forcing external or overlay is ERR_SHM_STRATEGY_UNAVAILABLE', { skip: !WINDOWS && 'Windows only (the overlay fallback is tested next)' }, async () => {
    const name = uniqueName('cage-win');
    const { out } = await child(`${PRELUDE}
      binding.setTestingFlags({ refuseExternal: true });
      const warnings = [];
      process.on('warning', (w) => warnings.push(w.code));
      const a = new SharedMemory({ name: ${JSON.stringify(name)}, create: true, size: 5000 });
      a.write(Uint8Array.of(7), 4999);
      const seen = new Uint8Array(1);
      const b = SharedMemory.attach(a.name);
      b.read(seen, 4999);
      const codes = [];
      for (const strategy of ['external', 'overlay']) {
        try { SharedMemory.attach(a.name, { strategy }); } catch (e) { codes.push(e.code); }
      }
      setImmediate(() => {
        const result = { a: a.strategy, b: b.strategy, seen: seen[0], codes, warnings };
        a.close(); b.close();
        console.log(JSON.stringify(result));
      });
    `);
    assert.deepEqual(out, {
      a: 'copy',
      b: 'copy',
      seen: 7,
      codes: ['ERR_SHM_STRATEGY_UNAVAILABLE', 'ERR_SHM_STRATEGY_UNAVAILABLE'],
      warnings: ['SHMKIT_COPY_FALLBACK'],
    });
    assert.ok(!exists(name));
  });

  test('auto falls back to overlay; forcing external is ERR_SHM_STRATEGY_UNAVAILABLE and creates nothing', OVERLAY, async () => {
    const name = uniqueName('cage');
    const refused = uniqueName('cage-ext');
    const { out } = await child(`${PRELUDE}
      binding.setTestingFlags({ refuseExternal: true });
      const a = new SharedMemory({ name: ${JSON.stringify(name)}, create: true, size: 5000 });
      a.buf[4999] = 7;
      const b = SharedMemory.attach(a.name);
      let code;
      try { new SharedMemory({ name: ${JSON.stringify(refused)}, create: true, size: 8, strategy: 'external' }); }
      catch (e) { code = e.code; }
      const result = { a: a.strategy, b: b.strategy, seen: b.buf[4999], code, leftover: fs.existsSync('/dev/shm/' + ${JSON.stringify(refused)}) };
      a.close(); b.close(); a.unlink();
      console.log(JSON.stringify(result));
    `);
    assert.deepEqual(out, { a: 'overlay', b: 'overlay', seen: 7, code: 'ERR_SHM_STRATEGY_UNAVAILABLE', leftover: false });
  });

  test('when the overlay fails too, auto falls back to copy with one SHMKIT_COPY_FALLBACK warning', OVERLAY, async () => {
    const name = uniqueName('copy');
    const { out } = await child(`${PRELUDE}
      binding.setTestingFlags({ refuseExternal: true, failOverlay: true });
      const warnings = [];
      process.on('warning', (w) => warnings.push(w.code));
      const a = new SharedMemory({ name: ${JSON.stringify(name)}, create: true, size: 64 });
      const b = SharedMemory.attach(a.name);
      a.write(Buffer.from('hello'), 10);
      const out = Buffer.alloc(5);
      b.read(out, 10);
      let bufCode;
      try { a.buf; } catch (e) { bufCode = e.code; }
      let overlayCode;
      try { new SharedMemory({ name: a.name, strategy: 'overlay' }); } catch (e) { overlayCode = e.code; }
      setImmediate(() => {
        const result = { a: a.strategy, b: b.strategy, text: out.toString(), bufCode, overlayCode, warnings };
        a.close(); b.close(); a.unlink();
        console.log(JSON.stringify(result));
      });
    `);
    assert.deepEqual(out, {
      a: 'copy',
      b: 'copy',
      text: 'hello',
      bufCode: 'ERR_SHM_ZERO_COPY_UNAVAILABLE',
      overlayCode: 'ENOMEM',
      warnings: ['SHMKIT_COPY_FALLBACK'],
    });
  });
});

describe('overlay buffers cannot be taken away', OVERLAY, () => {
  /** Every way Node 20 can detach or move an ArrayBuffer, tried on a's buffer. */
  async function tryToTakeAway(a) {
    const buffer = a.buf.buffer;
    const outcomes = {};
    try {
      buffer.transfer();
      outcomes.transfer = 'transferred';
    } catch (e) {
      outcomes.transfer = e.code ?? e.name;
    }
    try {
      const clone = structuredClone(buffer, { transfer: [buffer] });
      outcomes.structuredClone = clone === buffer ? 'same' : 'copied';
    } catch (e) {
      outcomes.structuredClone = e.name;
    }
    const { port1, port2 } = new MessageChannel();
    try {
      const received = new Promise((resolve) => port2.once('message', resolve));
      port1.postMessage(a.buf, [buffer]);
      const copy = await received;
      copy.fill(0x22);
      outcomes.postMessage = a.buf[0] === 0x11 ? 'copied' : 'moved';
    } catch (e) {
      outcomes.postMessage = e.name;
    } finally {
      port1.close();
      port2.close();
    }
    const { ReadableStream } = require('node:stream/web');
    const stream = new ReadableStream({
      type: 'bytes',
      pull(controller) {
        controller.byobRequest.view[0] = 0x33;
        controller.byobRequest.respond(1);
      },
    });
    try {
      await stream.getReader({ mode: 'byob' }).read(a.buf);
      outcomes.byobRead = 'moved';
    } catch (e) {
      outcomes.byobRead = e.code ?? e.name;
    }
    outcomes.stillAttached = a.buf.length === a.size && a.buf[0] === 0x11;
    return outcomes;
  }

  test('WebAssembly.Memory host: transfer lists copy (Node 20) or refuse (22+), BYOB reads are refused, the buffer stays', async () => {
    const a = new SharedMemory({ name: uniqueName('xfer'), create: true, size: 3 * pageSize, strategy: 'overlay' });
    try {
      a.buf.fill(0x11);
      const outcomes = await tryToTakeAway(a);
      assert.deepEqual(outcomes, {
        transfer: 'TypeError', // Node 20: no transfer(); later V8s refuse wasm memory buffers
        structuredClone: TRANSFER_LIST,
        postMessage: TRANSFER_LIST,
        byobRead: NODE_MAJOR >= 22 ? 'TypeError' : 'ERR_OPERATION_FAILED', // refused either way
        stillAttached: true,
      });
    } finally {
      a.close();
      a.unlink();
    }
  });

  test('plain ArrayBuffer host (fallback): transfer() refused, transfer lists copy or refuse, close() never aborts', async () => {
    // Node 24's markAsUntransferable sets a V8 detach key: napi_detach_arraybuffer
    // then aborted the process in close() (FATAL ERROR: v8::FromJust). Now the
    // keyed host is left attached over anonymous memory: its views read zeros.
    const name = uniqueName('xfer-plain');
    const { out } = await child(`${PRELUDE}
      binding.setTestingFlags({ plainOverlay: true });
      const keeper = new SharedMemory({ name: ${JSON.stringify(name)}, create: true, size: 3 * 4096 });
      const a = SharedMemory.attach(keeper.name, { strategy: 'overlay' });
      a.buf.fill(0x11);
      let transfer;
      try { a.buf.buffer.transfer(); } catch (e) { transfer = e.code; }
      let clone;
      try { clone = structuredClone(a.buf.buffer, { transfer: [a.buf.buffer] }) !== a.buf.buffer ? 'copied' : 'same'; }
      catch (e) { clone = e.name; }
      const stillAttached = a.buf.length === a.size && a.buf[5] === 0x11;
      const view = a.buf;
      a.close();
      for (let i = 0; i < view.length; i++) view[i] = 0x77; // after close: nothing (detached) or private memory (keyed)
      const afterClose = view.length === 0 ? 'detached' : view.every((x, i) => i > 0 || x === 0x77) ? 'private' : 'other';
      const intact = keeper.buf.every((x) => x === 0x11);
      keeper.close(); keeper.unlink();
      console.log(JSON.stringify({ transfer, clone, stillAttached, afterClose, intact }));
    `);
    assert.deepEqual(out, {
      transfer: 'ERR_SHM_UNTRANSFERABLE',
      clone: TRANSFER_LIST,
      stillAttached: true,
      afterClose: NODE_MAJOR >= 24 ? 'private' : 'detached',
      intact: true,
    });
  });

  test('a size the overlay cannot allocate is ENOMEM (ERR_SHM_TOO_LARGE on Node 20) when forced and copy under auto', async () => {
    const forced = uniqueName('big-overlay');
    assert.throws(
      () => new SharedMemory({ name: forced, create: true, size: 2 ** 40, strategy: 'overlay' }),
      NODE_MAJOR >= 22 ? { code: 'ENOMEM', syscall: 'mmap', path: forced } : { code: 'ERR_SHM_TOO_LARGE' },
    );
    assert.ok(!exists(forced));
    const name = uniqueName('big-auto');
    const { out } = await child(`${PRELUDE}
      binding.setTestingFlags({ refuseExternal: true });
      const a = new SharedMemory({ name: ${JSON.stringify(name)}, create: true, size: 2 ** 40 });
      a.write(Uint8Array.of(9), 2 ** 40 - 1);
      const last = new Uint8Array(1);
      a.read(last, 2 ** 40 - 1);
      const result = { strategy: a.strategy, last: last[0] };
      a.close(); a.unlink();
      console.log(JSON.stringify(result));
    `);
    assert.deepEqual(out, { strategy: 'copy', last: 9 });
  });
});

describe('read() and write() with any view', () => {
  for (const strategy of ['external', 'overlay', 'copy']) {
    test(`${strategy}: views over a SharedArrayBuffer and detached views are handled`, onlyWithOverlay(strategy), () => {
      const a = new SharedMemory({ name: uniqueName('sab'), create: true, size: 64, strategy });
      try {
        const sab = new Uint8Array(new SharedArrayBuffer(16), 4, 8);
        sab.set([1, 2, 3, 4, 5, 6, 7, 8]);
        assert.equal(a.write(sab, 10), 8);
        const back = new Int32Array(new SharedArrayBuffer(8));
        assert.equal(a.read(back, 10), 8);
        assert.deepEqual([...new Uint8Array(back.buffer)], [1, 2, 3, 4, 5, 6, 7, 8]);
        const gone = new Uint8Array(16);
        structuredClone(gone.buffer, { transfer: [gone.buffer] });
        assert.equal(a.write(gone, 0), 0, 'a detached view has no bytes to copy');
      } finally {
        a.close();
        a.unlink();
      }
    });
  }
});

describe('automatic fallback when no WebAssembly.Memory can host an overlay', OVERLAY, () => {
  test('auto falls back to copy, never to a detachable plain-ArrayBuffer overlay; forcing overlay uses one', async () => {
    const name = uniqueName('nowasm');
    const { out } = await child(`${PRELUDE}
      binding.setTestingFlags({ refuseExternal: true, plainOverlay: true });
      const warnings = [];
      process.on('warning', (w) => warnings.push(w.code));
      const a = new SharedMemory({ name: ${JSON.stringify(name)}, create: true, size: 64 });
      const b = SharedMemory.attach(a.name, { strategy: 'overlay' });
      b.buf[3] = 4;
      const seen = new Uint8Array(1);
      a.read(seen, 3);
      setImmediate(() => {
        const result = { auto: a.strategy, forced: b.strategy, seen: seen[0], warnings };
        a.close(); b.close(); a.unlink();
        console.log(JSON.stringify(result));
      });
    `);
    assert.deepEqual(out, { auto: 'copy', forced: 'overlay', seen: 4, warnings: ['SHMKIT_COPY_FALLBACK'] });
  });
});

describe('release without close()', () => {
  test('overlay: a kept view keeps the mapping; dropping everything unmaps it (FinalizationRegistry)', OVERLAY, async () => {
    const name = uniqueName('gc-overlay');
    const { out } = await child(`${PRELUDE}
      (async () => {
        const name = ${JSON.stringify(name)};
        const creator = new SharedMemory({ name, create: true, size: 3 * 4096, strategy: 'overlay' });
        creator.buf.fill(0x5a);
        let view = SharedMemory.attach(name, { strategy: 'overlay' }).view(Uint8Array, 4096, 10);
        await settle();
        const whileKept = mapped(name);
        const keptOk = view.length === 10 && view.every((x) => x === 0x5a);
        view = null;
        await settle();
        const afterDrop = mapped(name);
        // The heap pages under the old overlay are anonymous again: new buffers
        // never alias the segment.
        const junk = [];
        for (let i = 0; i < 64; i++) junk.push(new Uint8Array(3 * 4096 + 4096).fill(0xee));
        const intact = creator.buf.every((x) => x === 0x5a);
        creator.close(); creator.unlink();
        console.log(JSON.stringify({ whileKept, keptOk, afterDrop, intact }));
      })();
    `);
    assert.deepEqual(out, { whileKept: 2, keptOk: true, afterDrop: 1, intact: true });
  });

  test('external: a buffer kept after the SharedMemory is dropped stays valid; dropping it unmaps', notOnWindows('no /proc/self/maps to count the mappings'), async () => {
    const name = uniqueName('gc-external');
    const { out } = await child(`${PRELUDE}
      (async () => {
        const name = ${JSON.stringify(name)};
        const creator = new SharedMemory({ name, create: true, size: 4096 });
        let raw = SharedMemory.attach(name).buf.buffer; // no link back to its SharedMemory
        await settle();
        creator.buf[0] = 77;
        const keptOk = new Uint8Array(raw)[0] === 77;
        const whileKept = mapped(name);
        raw = null;
        await settle();
        const afterDrop = mapped(name);
        creator.close(); creator.unlink();
        console.log(JSON.stringify({ keptOk, whileKept, afterDrop }));
      })();
    `);
    assert.deepEqual(out, { keptOk: true, whileKept: 2, afterDrop: 1 });
  });

  for (const strategy of ['external', 'overlay', 'copy']) {
    test(`${strategy}: 300 open/close cycles leak no descriptor and no mapping`, notOnWindows('no /proc/self/fd and /proc/self/maps to count descriptors and mappings'), () => {
      const name = uniqueName(`fd-${strategy}`);
      const fds = () => fs.readdirSync('/proc/self/fd').length;
      const maps = () => fs.readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => l.includes('/dev/shm/')).length;
      const creator = new SharedMemory({ name, create: true, size: 2 * pageSize, strategy });
      const fdBefore = fds();
      const mapsBefore = maps();
      try {
        for (let i = 0; i < 300; i++) {
          const b = SharedMemory.attach(name, { strategy });
          b.write(Uint8Array.of(i & 0xff), i % b.size);
          b.close();
        }
        assert.equal(fds(), fdBefore);
        assert.equal(maps(), mapsBefore);
        // A failed attach leaks nothing either.
        for (let i = 0; i < 50; i++) {
          assert.throws(() => SharedMemory.attach(`${name}-absent`, { strategy }), { code: 'ENOENT' });
        }
        assert.equal(fds(), fdBefore);
      } finally {
        creator.close();
        creator.unlink();
      }
      assert.ok(!exists(name));
    });
  }
});

describe('close() while an asynchronous operation writes into buf', () => {
  for (const strategy of ['external', 'overlay']) {
    test(`${strategy}: randomFill into a derived view, close() and drop everything: no crash`, onlyWithOverlay(strategy), async () => {
      const name = uniqueName(`inflight-${strategy}`);
      const { out } = await child(`${PRELUDE}
        const crypto = require('node:crypto');
        const name = ${JSON.stringify(name)};
        const keeper = new SharedMemory({ name, create: true, size: 32 << 20 });
        let shm = SharedMemory.attach(name, { strategy: ${JSON.stringify(strategy)} });
        const view = shm.buf.subarray(0); // derived by the user: no link to shm
        crypto.randomFill(view, (error) => {
          keeper.buf[0] = 1; // the other mapping of the segment is unaffected
          const ok = keeper.buf[0] === 1;
          keeper.close(); keeper.unlink();
          console.log(JSON.stringify({ error: error && error.code, ok, strategy, closed }));
        });
        const strategy = shm.strategy;
        // The thread pool may still be writing: close() must not pull the
        // pages from under it, nor may collecting the SharedMemory.
        shm.close();
        const closed = shm.closed;
        shm = null;
        global.gc();
        setImmediate(() => global.gc());
      `);
      assert.deepEqual(out, { error: null, ok: true, strategy, closed: true });
    });
  }
});

describe('worker threads', () => {
  for (const strategy of ['external', 'overlay']) {
    test(`${strategy}: a worker that exits or is terminated without close() leaves the process healthy`, onlyWithOverlay(strategy), async () => {
      const { Worker } = require('node:worker_threads');
      const name = uniqueName(`worker-${strategy}`);
      const main = new SharedMemory({ name, create: true, size: 8192 });
      try {
        const source = `
          const { parentPort, workerData } = require('node:worker_threads');
          const { SharedMemory } = require(workerData.entry);
          const shm = SharedMemory.attach(workerData.name, { strategy: workerData.strategy });
          Atomics.add(shm.view(Int32Array), 0, 1);
          shm.buf[8191] = 0x42;
          globalThis.keep = shm.buf; // never closed: released with the worker's environment
          parentPort.postMessage('attached');
          if (workerData.hang) setInterval(() => {}, 1000);
        `;
        const exitOne = (hang) =>
          new Promise((resolve, reject) => {
            const w = new Worker(source, { eval: true, workerData: { name, strategy, hang, entry: require.resolve('@shmkit/shm') } });
            w.on('message', () => {
              if (hang) w.terminate();
            });
            w.on('error', reject);
            w.on('exit', resolve);
          });
        assert.equal(await exitOne(false), 0);
        assert.equal(await exitOne(true), 1);
        assert.equal(Atomics.load(main.view(Int32Array), 0), 2);
        assert.equal(main.buf[8191], 0x42);
        const junk = Buffer.alloc(1 << 20, 0xee);
        assert.equal(junk[0], 0xee);
        assert.equal(main.buf[0], 2, 'no heap data landed in the segment');
      } finally {
        main.close();
        main.unlink();
      }
    });
  }
});

describe('segments over 4 GiB (sparse: ftruncate only, a few pages touched)', notOnWindows('no sparse segments: a section is charged in full to the commit limit at create, and overlay/shared do not exist there'), () => {
  const GiB = 2 ** 30;
  /** Creates `size` bytes with `strategy`, touches the first and last byte, closes: the outcome. */
  function outcome(size, strategy) {
    const name = uniqueName(`big-${strategy}`);
    let shm;
    try {
      shm = new SharedMemory({ name, create: true, size, strategy });
    } catch (e) {
      assert.ok(!exists(name), 'a failed create leaves no name');
      return e.code;
    }
    try {
      if (shm.strategy === 'copy') {
        shm.write(Uint8Array.of(5), size - 1);
      } else {
        assert.equal(shm.buf.length, size);
        shm.buf[size - 1] = 5;
        shm.buf[0] = 6;
      }
      const last = new Uint8Array(1);
      shm.read(last, size - 1);
      assert.equal(last[0], 5);
      const wasm = shm.strategy === 'overlay' && Object.getOwnPropertySymbols(shm.buf.buffer).length > 0;
      return shm.strategy + (shm.strategy === 'overlay' ? (wasm ? '/wasm' : '/plain') : '');
    } finally {
      shm.close(); // Node 24 aborted here for the plain host before the fix
      shm.unlink();
    }
  }

  test('each strategy gives a buf where the runtime allows it and ERR_SHM_TOO_LARGE where it does not', () => {
    const got = {
      external4: outcome(4 * GiB, 'external'),
      overlay4: outcome(4 * GiB, 'overlay'),
      external5: outcome(5 * GiB, 'external'),
      overlay5: outcome(5 * GiB, 'overlay'),
      // Node 20's auto (copy, with a warning) runs in a child below.
      auto5: NODE_MAJOR >= 22 ? outcome(5 * GiB, 'auto') : 'copy',
      copy5: outcome(5 * GiB, 'copy'),
      shared4: outcome(4 * GiB, 'shared'),
      shared5: outcome(5 * GiB, 'shared'),
    };
    const expected =
      NODE_MAJOR >= 22
        ? {
            external4: 'external',
            overlay4: 'overlay/wasm',
            external5: 'external',
            overlay5: NODE_MAJOR >= 24 ? 'overlay/wasm' : 'overlay/plain', // memory64 from Node 24
            auto5: 'external',
            copy5: 'copy',
            shared4: 'shared',
            shared5: NODE_MAJOR >= 24 ? 'shared' : 'ERR_SHM_TOO_LARGE',
          }
        : {
            external4: 'external',
            overlay4: 'overlay/wasm',
            external5: 'ERR_SHM_TOO_LARGE', // was ERR_BUFFER_TOO_LARGE
            overlay5: 'ERR_SHM_TOO_LARGE', // was a bare RangeError from new Uint8Array()
            auto5: 'copy',
            copy5: 'copy',
            shared4: 'shared',
            shared5: 'ERR_SHM_TOO_LARGE',
          };
    assert.deepEqual(got, expected);
  });

  test('Node 24: above the memory64 limit a forced overlay gets the plain host, and close() does not abort', { skip: NODE_MAJOR < 24 && 'memory64 hosts exist from Node 24' }, () => {
    assert.equal(outcome(16 * GiB + 4096, 'overlay'), 'overlay/plain');
    assert.equal(outcome(16 * GiB + 4096, 'shared'), 'ERR_SHM_TOO_LARGE');
  });

  test('auto falling back to copy for size says why in its SHMKIT_COPY_FALLBACK warning', { skip: NODE_MAJOR >= 22 && 'typed arrays reach 2^53-1 from Node 22' }, async () => {
    const name = uniqueName('big-auto-warn');
    const { out } = await child(`${PRELUDE}
      const warnings = [];
      process.on('warning', (w) => warnings.push([w.code, /4294967296 bytes/.test(w.message)]));
      const a = new SharedMemory({ name: ${JSON.stringify(name)}, create: true, size: 5 * 2 ** 30 });
      setImmediate(() => {
        const result = { strategy: a.strategy, warnings };
        a.close(); a.unlink();
        console.log(JSON.stringify(result));
      });
    `);
    assert.deepEqual(out, { strategy: 'copy', warnings: [['SHMKIT_COPY_FALLBACK', true]] });
  });
});
