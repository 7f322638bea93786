'use strict';
// Windows: SharedMemory, wait/notify and FrameRing across real node.exe processes, with CPython's
// Windows semantics (docs/decisions/0014-windows.md). Verified here under Wine 8 (.ci/run); where
// Wine differs from Windows the test says so. Skipped elsewhere: the same promises on Linux are
// tested by 01-08.
const test = require('node:test');
const assert = require('node:assert/strict');
const { fork } = require('node:child_process');
const path = require('node:path');
const { WINDOWS, uniqueName, remember, exists, checkNoLeaks, runNode, startScript, pollUntil } = require('./helpers');

if (!WINDOWS) {
  test('Windows named file mappings', { skip: 'Windows only (the same promises on Linux: tests 01-08)' }, () => {});
  return;
}

const { SharedMemory, FrameRing, ShareableList, wait, waitAsync, notify, waitBackend } = require('..');

checkNoLeaks();

/** Runs `source` in another node.exe and returns its last JSON line. */
async function inChild(source, options) {
  const r = await runNode(source, options);
  assert.equal(r.code, 0, `child failed (exit ${r.code}):\n${r.stderr}`);
  const lines = r.stdout.split('\n').filter((l) => l.startsWith('{') || l.startsWith('['));
  return JSON.parse(lines[lines.length - 1]);
}

test('a segment made by one node.exe is attached by name in another: both see each other’s writes', async () => {
  const name = uniqueName('x');
  const shm = SharedMemory.create(5000, { name });
  // CPython's Windows size: whole pages, as VirtualQuery reports a view.
  assert.equal(shm.size, 8192);
  assert.equal(shm.buf.length, 8192);
  assert.equal(shm.strategy, 'external');
  shm.buf.set([1, 2, 3], 0);
  const seen = await inChild(`
    const { SharedMemory } = require('@shmkit/shm');
    const s = SharedMemory.attach(${JSON.stringify(name)});
    const before = [...s.buf.subarray(0, 3)];
    s.buf.set([7, 8, 9], 4096);
    console.log(JSON.stringify({ size: s.size, before }));
    s.close();`);
  assert.deepEqual(seen, { size: 8192, before: [1, 2, 3] });
  assert.deepEqual([...shm.buf.subarray(4096, 4099)], [7, 8, 9]);
  shm.close();
});

test("generated names are CPython's Windows names (wnsm_ + 8 hex digits)", () => {
  const shm = SharedMemory.create(100);
  remember(shm.name);
  assert.match(shm.name, /^wnsm_[0-9a-f]{8}$/);
  shm.close();
});

test('a readonly attach: a JS write neither crashes the process nor reaches the segment (FILE_MAP_COPY)', async () => {
  const name = uniqueName('ro');
  const shm = SharedMemory.create(2 * 4096, { name });
  shm.buf[0] = 1;
  shm.buf[4096] = 5;
  const child = startScript(`
    const { SharedMemory } = require('@shmkit/shm');
    const r = SharedMemory.attach(${JSON.stringify(name)}, { readonly: true });
    r.buf[0] = 99; // a stray write: a private copy of page 0
    let code;
    try { r.write(new Uint8Array([1])); } catch (e) { code = e.code; }
    console.log(JSON.stringify({ own: r.buf[0], code, strategy: r.strategy }));
    process.stdin.once('data', () => {
      // page 1 was never written here: it follows the segment; page 0 is this process's copy
      console.log(JSON.stringify({ page0: r.buf[0], page1: r.buf[4096] }));
      r.close();
    });`, { stdio: ['pipe', 'pipe', 'pipe'] });
  assert.deepEqual(await child.line(), { own: 99, code: 'ERR_SHM_READONLY', strategy: 'external' });
  assert.equal(shm.buf[0], 1, "the readonly process's write did not reach the segment");
  shm.buf[4096] = 6;
  child.child.stdin.end('go\n');
  assert.deepEqual(await child.line(), { page0: 99, page1: 6 });
  const { code } = await child.closed;
  assert.equal(code, 0, 'the readonly process did not crash');
  shm.close();
});

test('errors carry the codes they have on Linux', async () => {
  const name = uniqueName('err');
  assert.throws(() => SharedMemory.attach(name), { code: 'ENOENT', syscall: 'OpenFileMappingW', path: name });
  const shm = SharedMemory.create(10, { name });
  // The name is held by this process: another process's create is EEXIST.
  const other = await inChild(`
    const { SharedMemory } = require('@shmkit/shm');
    try { SharedMemory.create(10, { name: ${JSON.stringify(name)} }); console.log('{}'); }
    catch (e) { console.log(JSON.stringify({ code: e.code, errno: e.errno, syscall: e.syscall })); }`);
  assert.equal(other.code, 'EEXIST');
  assert.equal(other.syscall, 'CreateFileMappingW');
  assert.equal(require('node:util').getSystemErrorName(other.errno), 'EEXIST');
  assert.throws(() => SharedMemory.create(10, { name }), { code: 'EEXIST' });
  assert.throws(() => SharedMemory.attach('a\\b'), { code: 'ERR_INVALID_ARG_VALUE' });
  assert.throws(() => SharedMemory.attach('x'.repeat(256)), { code: 'ENAMETOOLONG' });
  for (const strategy of ['overlay', 'shared']) {
    assert.throws(() => SharedMemory.attach(name, { strategy }), { code: 'ERR_SHM_STRATEGY_UNAVAILABLE' });
  }
  const copy = SharedMemory.attach(name, { strategy: 'copy' });
  assert.equal(copy.strategy, 'copy');
  assert.equal(copy.write(new Uint8Array([4, 5])), 2);
  assert.deepEqual([...shm.buf.subarray(0, 2)], [4, 5]);
  copy.close();
  shm.close();
});

test('lifetime: a segment lives while any process holds it and goes with the last close; unlink() removes nothing', async () => {
  const name = uniqueName('life');
  const shm = SharedMemory.create(4096, { name });
  shm.buf[0] = 42;
  const child = startScript(`
    const { SharedMemory } = require('@shmkit/shm');
    const s = SharedMemory.attach(${JSON.stringify(name)});
    console.log(JSON.stringify({ attached: true }));
    process.stdin.once('data', () => { console.log(JSON.stringify({ first: s.buf[0] })); s.close(); });`, {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  assert.deepEqual(await child.line(), { attached: true });
  shm.unlink(); // CPython's Windows unlink(): nothing to do
  shm.unlink(); // and never ENOENT
  shm.close();
  assert.equal(exists(name), true, 'the child still holds it');
  child.child.stdin.end('go\n');
  assert.deepEqual(await child.line(), { first: 42 });
  await child.closed;
  assert.equal(exists(name), false, 'gone with the last handle');
  assert.throws(() => SharedMemory.attach(name), { code: 'ENOENT' });
  assert.throws(() => SharedMemory.unlink(name), { code: 'ENOENT' });
});

test("a creator's crash leaks nothing: the kernel closes its handles", async () => {
  const child = startScript(`
    const { SharedMemory } = require('@shmkit/shm');
    const s = SharedMemory.create(1 << 20);
    console.log(JSON.stringify({ name: s.name }));
    setInterval(() => {}, 1000);`);
  const { name } = await child.line();
  remember(name);
  assert.equal(exists(name), true);
  child.child.kill(); // TerminateProcess
  await child.closed;
  await pollUntil(() => !exists(name), 'the killed creator’s segment to go', 5000);
  assert.throws(() => SharedMemory.attach(name), { code: 'ENOENT' });
});

test('close() with live views: every view reads as length 0, buf throws ERR_SHM_CLOSED', () => {
  const shm = SharedMemory.create(4096, { name: uniqueName('close') });
  const view = shm.view(Uint32Array);
  const buf = shm.buf;
  shm.close();
  shm.close();
  assert.equal(view.length, 0);
  assert.equal(buf.length, 0);
  assert.throws(() => shm.buf, { code: 'ERR_SHM_CLOSED' });
  assert.equal(shm.size, 4096);
});

test('populate: a create and an attach fault their pages in', async () => {
  const name = uniqueName('pop');
  const shm = SharedMemory.create(1 << 20, { name, populate: true });
  shm.buf[(1 << 20) - 1] = 3;
  const seen = await inChild(`
    const { SharedMemory } = require('@shmkit/shm');
    const s = SharedMemory.attach(${JSON.stringify(name)}, { populate: true });
    console.log(JSON.stringify({ last: s.buf[s.size - 1] })); s.close();`);
  assert.deepEqual(seen, { last: 3 });
  shm.close();
});

test('createUnmapped holds the segment for others; unlinkAsync lets go of it', async () => {
  const name = uniqueName('unmapped');
  const made = await SharedMemory.createUnmapped({ name, size: 10000 });
  assert.deepEqual(made, { name, size: 12288, allocated: 12288 });
  const seen = await inChild(`
    const { SharedMemory } = require('@shmkit/shm');
    const s = SharedMemory.attach(${JSON.stringify(name)});
    console.log(JSON.stringify({ size: s.size, zero: s.buf.every((b) => b === 0) })); s.close();`);
  assert.deepEqual(seen, { size: 12288, zero: true });
  assert.equal(exists(name), true, 'held by this process though nobody maps it');
  await SharedMemory.unlinkAsync(name);
  assert.equal(exists(name), false);
  await assert.rejects(SharedMemory.unlinkAsync(name), { code: 'ENOENT' });
});

test('wait/notify across node.exe processes: exact counts, a dead waiter is not counted', async () => {
  assert.equal(waitBackend().name, 'win32-events');
  const name = uniqueName('wake');
  const shm = SharedMemory.create(4096, { name });
  const waiter = (label) =>
    startScript(`
      const { SharedMemory, waitAsync } = require('@shmkit/shm');
      const s = SharedMemory.attach(${JSON.stringify(name)});
      console.log(JSON.stringify({ ready: ${JSON.stringify(label)} }));
      waitAsync(s, 0, 0, 30000).then((r) => { console.log(JSON.stringify({ r })); s.close(); });`);
  const a = waiter('a');
  const b = waiter('b');
  const dead = waiter('dead');
  await Promise.all([a.line(), b.line(), dead.line()]);
  // The waits are armed once their slots are published: give the processes a moment.
  await new Promise((r) => setTimeout(r, 1000));
  dead.child.kill();
  await dead.closed;
  assert.equal(notify(shm, 0, 1), 1, 'one live waiter woken');
  const first = await Promise.race([a.line(), b.line()]);
  assert.deepEqual(first, { r: 'ok' });
  assert.equal(notify(shm, 0), 1, 'the other live waiter; the killed one is not counted');
  await Promise.all([a.closed, b.closed]);
  assert.equal(notify(shm, 0), 0);
  shm.close();
});

test('wait/notify results: not-equal, timed-out, abort, close, a change without notify', async () => {
  const shm = SharedMemory.create(4096, { name: uniqueName('results') });
  const words = shm.view(Int32Array);
  assert.equal(await waitAsync(shm, 0, 1, 100), 'not-equal');
  assert.equal(await waitAsync(shm, 0, 0, 50), 'timed-out');
  assert.equal(wait(shm, 0, 0, 30), 'timed-out');
  const ac = new AbortController();
  const aborted = waitAsync(shm, 4, 0, Infinity, { signal: ac.signal });
  ac.abort();
  await assert.rejects(aborted, { name: 'AbortError' });
  const changed = waitAsync(shm, 8, 0, 10000);
  Atomics.store(words, 2, 1); // no notify: seen within a slice
  assert.equal(await changed, 'ok');
  const closed = waitAsync(shm, 12, 0);
  shm.close();
  await assert.rejects(closed, { code: 'ERR_SHM_CLOSED' });
});

test('a readonly attach waits and is woken through its shadow view', async () => {
  const name = uniqueName('rowait');
  const shm = SharedMemory.create(4096, { name });
  const words = shm.view(Int32Array);
  const child = startScript(`
    const { SharedMemory, waitAsync } = require('@shmkit/shm');
    const r = SharedMemory.attach(${JSON.stringify(name)}, { readonly: true });
    r.buf[0] = 7; // its own copy of the page: the wait must still follow the segment
    console.log(JSON.stringify({ ready: true }));
    waitAsync(r, 0, 0, 30000).then((res) => { console.log(JSON.stringify({ res })); r.close(); });`);
  await child.line();
  await new Promise((r) => setTimeout(r, 500));
  Atomics.store(words, 0, 1);
  assert.equal(notify(shm, 0), 1);
  assert.deepEqual(await child.line(), { res: 'ok' });
  await child.closed;
  shm.close();
});

/** Fills `bytes` with frame `n`'s pattern. */
const pattern = (n, i) => (n * 31 + i * 7) & 255;

test('a FrameRing streams from one node.exe to another, every frame verified, drops counted exactly', async () => {
  const name = uniqueName('ring');
  const frames = 300;
  const writer = startScript(`
    const { FrameRing } = require('@shmkit/shm');
    const ring = FrameRing.create({ name: ${JSON.stringify(name)}, slots: 8, slotBytes: 16384 });
    console.log(JSON.stringify({ pid: process.pid }));
    process.stdin.once('data', async () => {
      for (let n = 0; n < ${frames}; n++) {
        const slot = ring.acquire();
        const len = 1000 + (n % 7) * 1000;
        for (let i = 0; i < len; i++) slot.data[i] = (n * 31 + i * 7) & 255;
        ring.publish(slot, { byteLength: len, width: n });
        if (n % 3 === 0) await new Promise((r) => setImmediate(r));
      }
      ring.close();
    });`, { stdio: ['pipe', 'pipe', 'pipe'] });
  const { pid } = await writer.line();
  const ring = FrameRing.attach(name);
  assert.equal(ring.writerPid, pid);
  assert.equal(ring.writerAlive, true);
  writer.child.stdin.end('go\n');
  let received = 0;
  let first = -1;
  let last = -1;
  for await (const frame of ring.frames()) {
    const bytes = frame.data.subarray(0, frame.byteLength);
    let ok = frame.width === frame.frameNumber && frame.byteLength === 1000 + (frame.frameNumber % 7) * 1000;
    for (let i = 0; ok && i < bytes.length; i++) ok = bytes[i] === pattern(frame.frameNumber, i);
    if (frame.valid()) assert.ok(ok, `frame ${frame.frameNumber} has the bytes its writer wrote`);
    else continue; // overwritten while read: the seqlock says so, never used
    assert.ok(frame.frameNumber > last);
    if (first < 0) first = frame.frameNumber;
    last = frame.frameNumber;
    received++;
  }
  const stats = ring.stats;
  assert.equal(last, frames - 1, 'the last frame arrived');
  assert.ok(received > 0);
  // Exact accounting (08's invariant): every frame from the first seen on was handed out or
  // counted as dropped; the torn ones handed out were each rejected by valid().
  assert.equal(stats.received + stats.dropped, last - first + 1);
  assert.equal(stats.received - received, stats.rejected);
  assert.equal(ring.writerClosed, true);
  ring.close();
  await writer.closed;
});

test('writer-gone: a reader learns that its writer was killed from a handle to its process', async () => {
  const name = uniqueName('gone');
  const writer = startScript(`
    const { FrameRing } = require('@shmkit/shm');
    const ring = FrameRing.create({ name: ${JSON.stringify(name)}, slots: 2, slotBytes: 64 });
    ring.write(new Uint8Array([1]));
    console.log(JSON.stringify({ ready: true }));
    setInterval(() => {}, 1000);`);
  await writer.line();
  const ring = FrameRing.attach(name);
  const frames = ring.frames();
  assert.equal((await frames.next()).value.data[0], 1);
  writer.child.kill();
  await writer.closed;
  assert.equal(ring.writerAlive, false);
  await assert.rejects(frames.next(), { code: 'ERR_SHM_RING_WRITER_GONE' });
  ring.close();
});

test('a worker-thread writer that ends is gone for a reader in another process', async () => {
  const name = uniqueName('tid');
  const child = startScript(`
    const { Worker } = require('node:worker_threads');
    const w = new Worker(\`
      const { FrameRing } = require('@shmkit/shm');
      const { parentPort } = require('node:worker_threads');
      const ring = FrameRing.create({ name: ${JSON.stringify(JSON.stringify(name)).slice(1, -1)}, slots: 2, slotBytes: 64 });
      parentPort.postMessage('made');
      parentPort.once('message', () => process.exit(0)); // ends the thread, not the process
    \`, { eval: true });
    w.once('message', () => console.log(JSON.stringify({ made: true })));
    process.stdin.once('data', () => w.postMessage('end'));
    w.once('exit', () => console.log(JSON.stringify({ ended: true })));
    setInterval(() => {}, 1000);`, { stdio: ['pipe', 'pipe', 'pipe'] });
  await child.line();
  const ring = FrameRing.attach(name);
  assert.equal(ring.writerAlive, true);
  child.child.stdin.write('end\n');
  assert.deepEqual(await child.line(), { ended: true });
  await pollUntil(() => !ring.writerAlive, 'the worker writer to be seen gone', 5000);
  ring.close();
  child.child.kill();
  await child.closed;
});

test('ShareableList across node.exe processes', async () => {
  const list = new ShareableList([1, 'two', 3.5, true, null, Buffer.from('bytes')], { name: uniqueName('list') });
  const seen = await inChild(`
    const { ShareableList } = require('@shmkit/shm');
    const l = new ShareableList(null, { name: ${JSON.stringify(list.shm.name)} });
    const before = [...l].map((v) => (v instanceof Uint8Array ? Buffer.from(v).toString() : v));
    l.set(1, 'TWO');
    console.log(JSON.stringify({ before, length: l.length }));
    l.shm.close();`);
  assert.deepEqual(seen, { before: [1, 'two', 3.5, true, null, 'bytes'], length: 6 });
  assert.equal(list.get(1), 'TWO');
  list.shm.close();
});

test('the addon is the prebuilt win32-x64 one, and needs no DLL beyond Windows’ and the host’s', () => {
  const file = require('node-gyp-build').path(path.join(__dirname, '..'));
  assert.match(file, /prebuilds[\\/]win32-x64[\\/]@shmkit\+shm\.node$/);
});
