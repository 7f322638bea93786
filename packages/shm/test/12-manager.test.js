'use strict';
// SharedMemoryManager: Python's SharedMemoryManager semantics, plus cleanup when
// the process that started the manager is SIGKILLed, plus connecting to a
// running manager from another process by its address. Real processes; waits
// poll with generous deadlines; nothing asserts timing.
// Windows (verified under Wine): the same promises in their Windows form: the
// server holds every managed segment and lets go of it at release/shutdown (no
// name can be unlinked there; a segment goes with its last handle), and the
// address is a named pipe, which has no file mode and leaves nothing on disk.
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const helpers = require('./helpers');
const { pidAlive: alive, pollUntil } = require('./helpers');
const { SharedMemory, SharedMemoryManager, ShareableList } = require('@shmkit/shm');
const tracker = require('../dist/lifecycle/tracker.js');
const { win32 } = require('../dist/core/binding.js');

helpers.checkNoLeaks();

const NODE_PATH = path.resolve(helpers.PACKAGE, '..', '..', 'node_modules');
const NOT_STARTED = 'ERR_SHM_MANAGER_NOT_STARTED';

/** Every manager server pid seen by this file; all must be gone at the end. */
const serverPids = new Set();
/**
 * Windows: a handle to each server's process, opened as soon as its pid is known. Windows (and Wine,
 * at once) gives an ended process's pid to the next process, so a pid probe later can meet another
 * process; the handle names that one process until it is closed.
 */
const watches = new Map();
function serverSeen(pid) {
  serverPids.add(pid);
  if (helpers.WINDOWS && !watches.has(pid)) watches.set(pid, win32.watchProcess(pid, 0, 0));
}
const serverAlive = (pid) => (watches.has(pid) ? watches.get(pid).alive() : alive(pid));
/** Every socket address seen; all must be removed at the end. */
const addresses = new Set();



function assertGone(name) {
  assert.throws(() => SharedMemory.attach(name), { code: 'ENOENT' }, `${name} should be unlinked`);
}

async function started() {
  const m = new SharedMemoryManager();
  await m.start();
  serverSeen(m.pid);
  addresses.add(m.address);
  return m;
}

const PRELUDE = `
'use strict';
const { SharedMemory, SharedMemoryManager, ShareableList } = require('@shmkit/shm');
const V = JSON.parse(process.env.SHMKIT_TEST_VARS);
function report(value) { process.stdout.write(JSON.stringify(value) + '\\n'); }
`;

/** Starts a child script; `line()` resolves with its next JSON line, `closed` when it has ended. */
function startChild(body, vars = {}) {
  const env = { ...process.env, NODE_PATH, SHMKIT_TEST_VARS: JSON.stringify(vars) };
  delete env.SHMKIT_TRACKER_FIFO; // each child is the root of its own tree
  delete env.SHMKIT_TRACKER_SOCKET;
  return helpers.startScript(PRELUDE + body, { env });
}

test('every method before start() and after shutdown() fails with ERR_SHM_MANAGER_NOT_STARTED', async () => {
  const m = new SharedMemoryManager();
  assert.throws(() => m.SharedMemory(8), { code: NOT_STARTED });
  assert.throws(() => m.ShareableList([1]), { code: NOT_STARTED });
  assert.throws(() => m.address, { code: NOT_STARTED });
  await assert.rejects(m.list(), { code: NOT_STARTED });
  await assert.rejects(m.release('x'), { code: NOT_STARTED });
  assert.equal(m.running, false);
  await m.start();
  serverSeen(m.pid);
  assert.equal(m.running, true);
  await assert.rejects(m.start(), { code: NOT_STARTED }, 'start() twice');
  await m.shutdown();
  assert.equal(m.running, false);
  assert.throws(() => m.SharedMemory(8), { code: NOT_STARTED });
  assert.throws(() => m.ShareableList([1]), { code: NOT_STARTED });
  await assert.rejects(m.list(), { code: NOT_STARTED });
  await assert.rejects(m.release('x'), { code: NOT_STARTED });
  // A manager never started can be shut down (a no-op).
  await new SharedMemoryManager().shutdown();
});

test('start/shutdown: managed segments survive the caller closing them and are unlinked at shutdown', async () => {
  const m = await started();
  const a = m.SharedMemory(64);
  const b = m.SharedMemory(10);
  helpers.remember(a.name);
  helpers.remember(b.name);
  assert.equal(a.track, false, 'owned by the manager, not the crash tracker');
  assert.equal(tracker.isTracked(a.name), false);
  a.buf[0] = 99;
  a.close();
  b.close();
  const again = SharedMemory.attach(a.name);
  assert.equal(again.buf[0], 99);
  again.close();
  assert.deepEqual((await m.list()).sort(), [a.name, b.name].sort());
  const pid = m.pid;
  await m.shutdown();
  await m.shutdown(); // idempotent
  assertGone(a.name);
  assertGone(b.name);
  await pollUntil(() => !serverAlive(pid), 'the server to exit');
});

test('Symbol.asyncDispose shuts the manager down (await using)', async () => {
  let name;
  let supported = true;
  try {
    new Function('return async function f(m) { await using x = m; }');
  } catch {
    supported = false; // Node 20 has Symbol.asyncDispose but not the syntax
  }
  if (supported) {
    const body = new Function(
      'SharedMemoryManager',
      'return (async () => { await using m = new SharedMemoryManager(); await m.start(); const s = m.SharedMemory(8); s.close(); return [s.name, m.pid]; })();',
    );
    const [n, pid] = await body(SharedMemoryManager);
    helpers.remember(n);
    serverSeen(pid);
    assertGone(n);
  }
  // What `await using` does, spelled out.
  const m = await started();
  try {
    const s = m.SharedMemory(8);
    name = helpers.remember(s.name);
    s.close();
  } finally {
    await m[Symbol.asyncDispose]();
  }
  assertGone(name);
  assert.equal(m.running, false);
});

test('a managed segment survives its creator closing it at once and exiting (Windows: the hold is handed to the server)', async () => {
  const m = await started();
  let name;
  try {
    const handle = startChild(
      `
      (async () => {
        const c = await SharedMemoryManager.connect(V.address);
        const s = c.SharedMemory(16);
        s.buf[3] = 42;
        s.close();                 // before the server could have answered
        report({ name: s.name });
        await c.shutdown();
      })();
      `,
      { address: m.address },
    );
    name = helpers.remember((await handle.line()).name);
    const result = await handle.closed;
    assert.equal(result.code, 0, result.stderr);
    const s = SharedMemory.attach(name);
    assert.equal(s.buf[3], 42, 'alive, with its bytes, after every handle of its creator is gone');
    s.close();
  } finally {
    await m.shutdown();
  }
  assertGone(name);
});

test('list() and release()', async () => {
  const m = await started();
  try {
    const a = m.SharedMemory(8);
    const b = m.SharedMemory(8);
    helpers.remember(a.name);
    helpers.remember(b.name);
    a.close();
    await m.release(a.name);
    assertGone(a.name);
    assert.deepEqual(await m.list(), [b.name]);
    await assert.rejects(m.release(a.name), { code: 'ENOENT' }, 'no longer managed');
    await assert.rejects(m.release(helpers.uniqueName('unmanaged')), { code: 'ENOENT' });
    await assert.rejects(m.release(42), { code: 'ERR_INVALID_ARG_TYPE' });
    // b is still usable by its holder after another one was released.
    b.buf[0] = 1;
    assert.equal(b.buf[0], 1);
    b.close();
  } finally {
    await m.shutdown();
  }
});

test('ShareableList through the manager', async () => {
  const m = await started();
  let name;
  try {
    const list = m.ShareableList([1, 2.5, 'hello', null, true]);
    name = helpers.remember(list.shm.name);
    assert.equal(tracker.isTracked(name), false, 'the manager owns it, not the crash tracker');
    assert.deepEqual([...list], [1, 2.5, 'hello', null, true]);
    list.shm.close();
    const other = new ShareableList(null, { name });
    assert.equal(other.length, 5);
    assert.equal(other.get(2), 'hello');
    other.shm.close();
    assert.deepEqual(await m.list(), [name]);
    const empty = m.ShareableList();
    helpers.remember(empty.shm.name);
    assert.equal(empty.length, 0);
    empty.shm.close();
  } finally {
    await m.shutdown();
  }
  assertGone(name);
});

test('a ShareableList made through the manager is not tracked and starts no crash tracker', async () => {
  const handle = startChild(
    `
    const tracker = require(V.trackerModule);
    (async () => {
      const m = new SharedMemoryManager();
      await m.start();
      const l = m.ShareableList([1, 'a']);
      const s = m.SharedMemory(8);
      report({
        names: [l.shm.name, s.name],
        track: [l.shm.track, s.track],
        tracker: tracker.trackerPid() ?? null,
        env: [process.env.SHMKIT_TRACKER_FIFO ?? null, process.env.SHMKIT_TRACKER_SOCKET ?? null],
      });
      l.shm.close();
      s.close();
      await m.shutdown();
    })();
    `,
    { trackerModule: path.join(helpers.PACKAGE, 'dist', 'lifecycle', 'tracker.js') },
  );
  const out = await handle.line();
  out.names.forEach((n) => helpers.remember(n));
  const result = await handle.closed;
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(out.track, [false, false]);
  assert.equal(out.tracker, null, 'no tracker process');
  assert.deepEqual(out.env, [null, null], 'no tracker channel handed to children');
  for (const n of out.names) assertGone(n);
});

const OWNER = `
(async () => {
  const m = new SharedMemoryManager();
  await m.start();
  const s = m.SharedMemory(32);
  s.buf[0] = 5;
  const l = m.ShareableList(['a', 1]);
  report({ names: [s.name, l.shm.name], pid: m.pid, address: m.address });
  if (V.wait) setInterval(() => {}, 1000);
})();
`;

test('SIGKILL of the process that started the manager: its segments are unlinked and the server exits', async () => {
  const handle = startChild(OWNER, { wait: true });
  const out = await handle.line();
  out.names.forEach((n) => helpers.remember(n));
  serverSeen(out.pid);
  addresses.add(out.address);
  for (const n of out.names) assert.ok(helpers.exists(n));
  handle.child.kill('SIGKILL');
  const result = await handle.closed;
  assert.equal(result.signal, 'SIGKILL');
  await pollUntil(() => out.names.every((n) => !helpers.exists(n)), 'the server to unlink the segments');
  await pollUntil(() => !serverAlive(out.pid), 'the server to exit');
  if (!helpers.WINDOWS) await pollUntil(() => !fs.existsSync(out.address), 'the socket to be removed');
});

test('an owner that exits without shutdown(): segments unlinked (like Python at interpreter exit)', async () => {
  const handle = startChild(OWNER, { wait: false });
  const out = await handle.line();
  out.names.forEach((n) => helpers.remember(n));
  serverSeen(out.pid);
  addresses.add(out.address);
  const result = await handle.closed;
  assert.equal(result.code, 0, result.stderr);
  await pollUntil(() => out.names.every((n) => !helpers.exists(n)), 'the server to unlink the segments');
  await pollUntil(() => !serverAlive(out.pid), 'the server to exit');
});

test('another process connects by address; what it creates is managed and unlinked at shutdown', async () => {
  const m = await started();
  const address = m.address;
  if (helpers.WINDOWS) {
    assert.match(address, /^\\\\\.\\pipe\\shmkit-manager-\d+-[0-9a-f]{16}$/, 'a named pipe');
  } else {
    const mode = fs.statSync(address).mode & 0o777;
    assert.equal(mode, 0o600, 'socket is private');
    assert.equal(fs.statSync(path.dirname(m.address)).mode & 0o777, 0o700);
  }
  const nowhere = helpers.WINDOWS ? `\\\\.\\pipe\\shmkit-nope-${process.pid}` : path.join(path.dirname(m.address), 'nope.sock');
  let names;
  try {
    const mine = m.SharedMemory(8);
    helpers.remember(mine.name);
    mine.close();
    const handle = startChild(
      `
      (async () => {
        const c = await SharedMemoryManager.connect(V.address);
        const s = c.SharedMemory(16);
        s.buf[0] = 77;
        s.close();
        const l = c.ShareableList([3]);
        l.shm.close();
        const seen = await c.list();
        let err = null;
        try { await c.release('not-managed-here'); } catch (e) { err = e.code; }
        await c.shutdown(); // a client's shutdown only disconnects
        let after = null;
        try { c.SharedMemory(8); } catch (e) { after = e.code; }
        report({ names: [s.name, l.shm.name], seen, err, after });
      })();
      `,
      { address: m.address },
    );
    const out = await handle.line();
    names = out.names;
    names.forEach((n) => helpers.remember(n));
    const result = await handle.closed;
    assert.equal(result.code, 0, result.stderr);
    assert.equal(out.err, 'ENOENT');
    assert.equal(out.after, NOT_STARTED);
    assert.deepEqual(out.seen.sort(), [mine.name, ...names].sort());
    // The client has exited; its segments are still managed and alive.
    const s = SharedMemory.attach(names[0]);
    assert.equal(s.buf[0], 77);
    s.close();
    assert.deepEqual((await m.list()).sort(), [mine.name, ...names].sort());
    await assert.rejects(SharedMemoryManager.connect(nowhere), {
      code: 'ENOENT',
    });
  } finally {
    await m.shutdown();
  }
  for (const n of names) assertGone(n);
  assert.throws(() => m.address, { code: NOT_STARTED });
  // The socket is gone with the server.
  await assert.rejects(SharedMemoryManager.connect(address), { code: 'ENOENT' });
});

test('a connected client sees the server go away: later calls fail with ERR_SHM_MANAGER_NOT_STARTED', async () => {
  const m = await started();
  const c = await SharedMemoryManager.connect(m.address);
  await m.shutdown();
  await pollUntil(() => !c.running, 'the client to notice');
  assert.throws(() => c.SharedMemory(8), { code: NOT_STARTED });
  await assert.rejects(c.list(), { code: NOT_STARTED });
  await c.shutdown();
});

test('no manager server process or socket remains', async () => {
  assert.ok(serverPids.size >= 6);
  await pollUntil(() => [...serverPids].every((pid) => !serverAlive(pid)), 'every server to exit');
  if (!helpers.WINDOWS) for (const address of addresses) assert.ok(!fs.existsSync(path.dirname(address)), `${address} removed`);
});

after(() => {
  for (const pid of serverPids) if (serverAlive(pid)) process.kill(pid, 'SIGKILL');
  for (const watch of watches.values()) watch.close();
});
