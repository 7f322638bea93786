'use strict';
// strategy: 'shared' (docs/decisions/0005-shared-strategy-and-sizes.md): a
// segment mapped over a shared WebAssembly.Memory, as the Electron bridge
// hands it to page code. Across processes, posted to a worker thread, under
// GC, after close, and where it cannot work (coded errors).
const { test, describe } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { fork } = require('node:child_process');
const { Worker } = require('node:worker_threads');
const { SharedMemory, notify, pageSize } = require('@shmkit/shm');
const { uniqueName, exists, checkNoLeaks, run, PACKAGE } = require('./helpers');
if (require('./helpers').skipFileOnWindows("the 'shared' strategy", "no shared strategy there: it maps the segment over a WebAssembly.Memory's pages, which Windows cannot do (decision 0014)")) return;

checkNoLeaks();

const NODE_MAJOR = Number(process.versions.node.split('.')[0]);
const GiB = 2 ** 30;

/** Runs a script in a child Node with --expose-gc; it prints JSON on its last line. */
async function child(source, { args = [], shell } = {}) {
  const result = shell
    ? await run('bash', ['-c', `${shell}; exec "$0" --expose-gc -e "$1"`, process.execPath, source])
    : await run(process.execPath, ['--expose-gc', ...args, '-e', source]);
  assert.equal(result.code, 0, `child failed:\n${result.stderr}`);
  const lines = result.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

const PRELUDE = `
const { SharedMemory } = require('@shmkit/shm');
const fs = require('node:fs');
const mapped = (name) => fs.readFileSync('/proc/self/maps', 'utf8').split('\\n').filter((l) => l.endsWith('/dev/shm/' + name)).length;
const settle = async () => { for (let i = 0; i < 6; i++) { global.gc(); await new Promise((r) => setImmediate(r)); await new Promise((r) => setTimeout(r, 5)); } };
`;

describe('the shared strategy', () => {
  test('buf is a Uint8Array of exactly size bytes over the SharedArrayBuffer of shm.memory', () => {
    const a = new SharedMemory({ name: uniqueName('shared'), create: true, size: 3 * pageSize + 5, strategy: 'shared' });
    const b = SharedMemory.attach(a.name); // external: another mapping of the same bytes
    try {
      assert.equal(a.strategy, 'shared');
      assert.ok(a.memory instanceof WebAssembly.Memory);
      assert.ok(a.buf.buffer instanceof SharedArrayBuffer);
      assert.equal(a.buf.buffer, a.memory.buffer);
      assert.equal(a.buf.length, a.size);
      assert.ok(a.buf.byteOffset + a.size <= a.memory.buffer.byteLength);
      assert.equal(b.memory, null, 'other strategies have no memory');
      b.buf[a.size - 1] = 0xab;
      assert.equal(new Uint8Array(a.memory.buffer)[a.buf.byteOffset + a.size - 1], 0xab);
      a.buf[0] = 1;
      assert.equal(b.buf[0], 1);
      // read()/write()/view() and Atomics on views.
      assert.equal(a.write(Uint8Array.of(7, 8, 9), 100), 3);
      const out = new Uint8Array(3);
      b.read(out, 100);
      assert.deepEqual([...out], [7, 8, 9]);
      a.read(out, 100);
      assert.deepEqual([...out], [7, 8, 9]);
      const ints = a.view(Int32Array, 64, 4);
      assert.ok(ints.buffer instanceof SharedArrayBuffer);
      Atomics.store(ints, 0, 40);
      assert.equal(Atomics.add(b.view(Int32Array, 64, 1), 0, 2), 40);
      assert.equal(Atomics.load(ints, 0), 42);
      assert.equal(Atomics.notify(ints, 0), 0);
      assert.equal(Atomics.wait(ints, 1, 1, 0), 'not-equal');
      assert.equal(a.view(DataView, 64, 4).getInt32(0, true), 42);
    } finally {
      a.close();
      b.close();
      a.unlink();
    }
  });

  test('auto never picks it, and the option combines with readonly', () => {
    const a = new SharedMemory({ name: uniqueName('shared-ro'), create: true, size: 2 * pageSize });
    const r = SharedMemory.attach(a.name, { strategy: 'shared', readonly: true });
    try {
      assert.equal(a.strategy, 'external');
      assert.equal(a.memory, null);
      assert.equal(r.strategy, 'shared');
      a.buf[pageSize] = 5;
      assert.equal(r.buf[pageSize], 5, 'sees the writer');
      r.buf[0] = 99; // lands in a private copy, never in the segment
      assert.equal(a.buf[0], 0);
      assert.throws(() => r.write(Uint8Array.of(1)), { code: 'ERR_SHM_READONLY' });
    } finally {
      r.close();
      a.close();
      a.unlink();
    }
  });

  test('close() puts anonymous memory back first: old views read zeros and never reach the segment', () => {
    const a = new SharedMemory({ name: uniqueName('shared-close'), create: true, size: 2 * pageSize });
    const s = SharedMemory.attach(a.name, { strategy: 'shared' });
    try {
      a.buf.fill(0x5a);
      const view = s.buf;
      const memory = s.memory;
      assert.equal(view[10], 0x5a);
      s.close();
      s.close();
      assert.equal(s.closed, true);
      assert.throws(() => s.buf, { code: 'ERR_SHM_CLOSED' });
      assert.throws(() => s.read(new Uint8Array(1)), { code: 'ERR_SHM_CLOSED' });
      assert.equal(s.memory, memory, 'memory still answers');
      // A SharedArrayBuffer cannot be detached: the view keeps its length but
      // lies over private anonymous memory now.
      assert.equal(view.length, 2 * pageSize);
      assert.ok(view.every((x) => x === 0));
      view.fill(0x33);
      assert.ok(a.buf.every((x) => x === 0x5a), 'the segment is untouched');
    } finally {
      s.close();
      a.close();
      a.unlink();
    }
  });

  test('a forked process writes and the parent sees it through the SharedArrayBuffer; Atomics and futex wake-ups work across processes', async () => {
    const shm = new SharedMemory({ name: uniqueName('shared-fork'), create: true, size: 64 * 1024, strategy: 'shared' });
    const peer = fork(path.join(__dirname, 'fixtures', 'shared-peer.js'), { cwd: PACKAGE, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const exited = new Promise((resolve) => peer.once('exit', (code, signal) => resolve({ code, signal })));
    try {
      const messages = [];
      let wake;
      const next = () => new Promise((resolve) => (wake = resolve));
      peer.on('message', (m) => {
        messages.push(m);
        wake?.();
      });
      const rounds = 1_000_000;
      let arrived = next();
      peer.send({ name: shm.name, rounds });
      await arrived;
      assert.deepEqual(messages[0], { step: 'written', strategy: 'shared', isSab: true });
      const seen = new Uint8Array(shm.memory.buffer, shm.buf.byteOffset + 1024, 256);
      assert.ok(seen.every((x, i) => x === (i ^ 0x5a)), 'the child wrote, the parent sees it in its memory');
      const words = shm.view(Int32Array);
      arrived = next();
      Atomics.store(words, 1, 1);
      notify(shm, 4); // wakes the child's futex wait on its own mapping
      for (let i = 0; i < rounds; i++) Atomics.add(words, 0, 1);
      await arrived;
      assert.deepEqual(messages[1], { step: 'added', woke: 'ok' });
      assert.equal(Atomics.load(words, 0), 2 * rounds, 'no increment lost between the processes');
      assert.deepEqual(await exited, { code: 0, signal: null });
    } finally {
      peer.kill();
      shm.close();
      shm.unlink();
    }
  });

  test('posted to a worker thread, shm.memory is the same memory: the worker writes the segment, Atomics wake the main thread', async () => {
    const shm = new SharedMemory({ name: uniqueName('shared-worker'), create: true, size: 3 * pageSize, strategy: 'shared' });
    const other = SharedMemory.attach(shm.name); // an external mapping, to see the segment itself
    try {
      shm.buf.fill(3, 16);
      const ints = shm.view(Int32Array, 0, 4);
      const worker = new Worker(
        `const { parentPort, workerData: { memory, offset, size } } = require('node:worker_threads');
        const bytes = new Uint8Array(memory.buffer, offset, size);
        const sawMain = bytes.subarray(16).every((x) => x === 3);
        bytes[size - 1] = 42;
        const ints = new Int32Array(memory.buffer, offset, 4);
        Atomics.store(ints, 1, 7);
        Atomics.notify(ints, 1);
        parentPort.postMessage({ sawMain, isMemory: memory instanceof WebAssembly.Memory });`,
        { eval: true, workerData: { memory: shm.memory, offset: shm.buf.byteOffset, size: shm.size } },
      );
      const woken = Atomics.waitAsync(ints, 1, 0, 20_000);
      const [message] = await Promise.all([
        new Promise((resolve, reject) => worker.once('message', resolve).once('error', reject)),
        woken.async ? woken.value : Promise.resolve(woken.value),
      ]);
      assert.deepEqual(message, { sawMain: true, isMemory: true });
      assert.equal(Atomics.load(ints, 1), 7);
      assert.equal(other.buf[shm.size - 1], 42, "the worker's write is in the segment");
      await worker.terminate();
    } finally {
      other.close();
      shm.close();
      shm.unlink();
    }
  });

  test('under GC: dropped while mapped, the mapping is closed first; heavy allocation never touches the segment', async () => {
    const name = uniqueName('shared-gc');
    const out = await child(`${PRELUDE}
      (async () => {
        const { Worker } = require('node:worker_threads');
        const name = ${JSON.stringify(name)};
        const keeper = new SharedMemory({ name, create: true, size: 8 * 4096 });
        keeper.buf.fill(0x5a);
        // 1. Everything dropped at once: SharedMemory, memory, views.
        let s = SharedMemory.attach(name, { strategy: 'shared' });
        let memory = s.memory;
        let view = s.view(Uint8Array, 4096, 16);
        const whileKept = mapped(name);
        s = null; memory = null; view = null;
        await settle();
        const afterDrop = mapped(name);
        // 2. The memory lives on in a worker while the SharedMemory is collected.
        let t = SharedMemory.attach(name, { strategy: 'shared' });
        const worker = new Worker(
          "const { parentPort, workerData } = require('node:worker_threads');" +
          "const bytes = new Uint8Array(workerData.buffer, workerData.offset, workerData.size);" +
          "parentPort.postMessage(bytes[100]);" +
          "parentPort.on('message', () => { const zeros = bytes.every((x) => x === 0); bytes.fill(0x33); parentPort.postMessage(zeros); });",
          { eval: true, workerData: { buffer: t.memory.buffer, offset: t.buf.byteOffset, size: t.size } },
        );
        const ask = () => new Promise((resolve) => worker.once('message', resolve));
        const workerSaw = await ask();
        t = null;
        await settle();
        const afterWorkerDrop = mapped(name);
        const reply = ask();
        worker.postMessage('check');
        const workerZeros = await reply;
        await worker.terminate();
        // 3. Allocate heavily: wasm memories (shared or not) and buffers, filled.
        const junk = [];
        for (let round = 0; round < 4; round++) {
          for (let i = 0; i < 100; i++) {
            const m = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: i % 2 === 0 });
            new Uint8Array(m.buffer).fill(0xee);
            junk.push(m, new Uint8Array(9 * 4096).fill(0xee), Buffer.alloc(4096, 0xee));
          }
          await settle();
        }
        const intact = keeper.buf.every((x) => x === 0x5a);
        keeper.close(); keeper.unlink();
        console.log(JSON.stringify({ whileKept, afterDrop, workerSaw, afterWorkerDrop, workerZeros, intact }));
      })();
    `);
    assert.deepEqual(out, {
      whileKept: 2,
      afterDrop: 1,
      workerSaw: 0x5a,
      afterWorkerDrop: 1, // closed when the SharedMemory was collected, though the worker holds the memory
      workerZeros: true, // the worker's view lies over anonymous memory since
      intact: true,
    });
  });

  test('a worker that maps and exits without close(): its environment restores the pages, the process stays healthy', async () => {
    const name = uniqueName('shared-worker-exit');
    const keeper = new SharedMemory({ name, create: true, size: 4 * pageSize });
    try {
      keeper.buf.fill(0x11);
      const worker = new Worker(
        `const { parentPort, workerData } = require('node:worker_threads');
        const { SharedMemory } = require(workerData.entry);
        const shm = SharedMemory.attach(workerData.name, { strategy: 'shared' });
        globalThis.keep = shm;
        parentPort.postMessage({ memory: shm.memory, offset: shm.buf.byteOffset, size: shm.size });
        parentPort.once('message', () => parentPort.close()); // then the worker ends, shm never closed`,
        { eval: true, workerData: { name, entry: require.resolve('@shmkit/shm') } },
      );
      const { memory, offset, size } = await new Promise((resolve) => worker.once('message', resolve));
      const bytes = new Uint8Array(memory.buffer, offset, size);
      assert.ok(bytes.every((x) => x === 0x11), 'the main thread sees the segment through the worker memory');
      const exited = new Promise((resolve) => worker.once('exit', resolve));
      worker.postMessage('end');
      assert.equal(await exited, 0);
      assert.ok(bytes.every((x) => x === 0), 'after the worker ended its mapping was closed');
      bytes.fill(0x77);
      assert.ok(keeper.buf.every((x) => x === 0x11), 'the segment is untouched');
    } finally {
      keeper.close();
      keeper.unlink();
    }
  });
});

describe('where the shared strategy cannot work: coded errors, nothing left behind', () => {
  test('no address space for another WebAssembly.Memory is ERR_SHM_ADDRESS_SPACE, and fails fast after the first', async () => {
    // Each WebAssembly.Memory reserves ~10 GiB: under `ulimit -v` of 64 GiB only a few fit.
    const name = uniqueName('shared-space');
    const created = uniqueName('shared-space-new');
    const out = await child(
      `${PRELUDE}
      const name = ${JSON.stringify(name)};
      const keeper = new SharedMemory({ name, create: true, size: 4096 });
      const live = [];
      let error;
      for (let i = 0; i < 100 && !error; i++) {
        try { live.push(SharedMemory.attach(name, { strategy: 'shared' })); } catch (e) { error = e; }
      }
      let again;
      try { SharedMemory.attach(name, { strategy: 'shared' }); } catch (e) { again = e.code; }
      let createCode;
      try { new SharedMemory({ name: ${JSON.stringify(created)}, create: true, size: 4096, strategy: 'shared' }); } catch (e) { createCode = e.code; }
      const left = fs.existsSync('/dev/shm/' + ${JSON.stringify(created)});
      live.pop().close(); // frees a slot (once collected): a new one can be made again
      let afterClose;
      try { const s = SharedMemory.attach(name, { strategy: 'shared' }); afterClose = s.strategy; s.close(); } catch (e) { afterClose = e.code; }
      live.forEach((s) => s.close());
      keeper.close(); keeper.unlink();
      console.log(JSON.stringify({ some: live.length >= 1 && live.length < 100, code: error && error.code, namesLimit: /13,000/.test(error.message) && /100/.test(error.message), again, createCode, left, afterClose }));
    `,
      { shell: 'ulimit -v 67108864' },
    );
    assert.deepEqual(out, {
      some: true,
      code: 'ERR_SHM_ADDRESS_SPACE',
      namesLimit: true,
      again: 'ERR_SHM_ADDRESS_SPACE',
      createCode: 'ERR_SHM_ADDRESS_SPACE',
      left: false,
      afterClose: 'shared',
    });
  });

  test(`over the wasm limit (${NODE_MAJOR >= 24 ? '16 GiB with memory64' : '4 GiB'}) is ERR_SHM_TOO_LARGE; nothing is left behind`, () => {
    // Sparse (ftruncate only). What fits is tested with the other strategies in 03-strategies.
    const tooBig = uniqueName('shared-too-big');
    const limit = NODE_MAJOR >= 24 ? 16 * GiB : 4 * GiB;
    assert.throws(() => new SharedMemory({ name: tooBig, create: true, size: limit + pageSize, strategy: 'shared' }), {
      code: 'ERR_SHM_TOO_LARGE',
    });
    assert.ok(!exists(tooBig), 'a failed create leaves no name');
  });
});
