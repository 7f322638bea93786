'use strict';
// Crash cleanup (`track`): a creator's tracker process unlinks the segments it
// left registered when the creator ends without unlinking them, SIGKILL
// included, with one warning naming them. Attaching never registers. Real child
// processes; the tracker inherits the child's stderr, so the child's stderr
// pipe (read here) carries the tracker's warning (or the creator's own, at a
// normal exit), and the pipe closes only when the tracker has exited too. Waits poll with generous deadlines; nothing
// asserts timing.
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const helpers = require('./helpers');
if (require('./helpers').skipFileOnWindows('the crash-cleanup tracker', 'there is no tracker there, nor in CPython: a segment dies with the last handle, which the kernel closes when a process crashes (25-windows tests it; decision 0014)')) return;
const { pidAlive: alive, pollUntil } = require('./helpers');
const { SharedMemory } = require('@shmkit/shm');
const net = require('node:net');
const tracker = require('../dist/lifecycle/tracker.js');
const trackerState = require('../dist/lifecycle/tracker-state.js');
const binding = require('../dist/core/binding.js');

/** The socket of the tracker with this pid, in this user's private directory. */
const socketFile = (pid) => trackerState.socketFile(pid, trackerState.stateDir());

helpers.checkNoLeaks();

const TRACKER_MAIN = path.join(helpers.PACKAGE, 'dist', 'lifecycle', 'tracker-main.js');
const NODE_PATH = path.resolve(helpers.PACKAGE, '..', '..', 'node_modules');
const LEAKED = 'SHMKIT_TRACKER_LEAKED';
const BAD_LINE = 'SHMKIT_TRACKER_BAD_LINE';

/** Every tracker pid seen by this file; all must be gone at the end. */
const trackerPids = new Set();

const PRELUDE = `
'use strict';
const { SharedMemory } = require('@shmkit/shm');
const tracker = require(${JSON.stringify(path.join(helpers.PACKAGE, 'dist', 'lifecycle', 'tracker.js'))});
const V = JSON.parse(process.env.SHMKIT_TEST_VARS);
function report(value) { process.stdout.write(JSON.stringify(value) + '\\n'); }
`;


/** True once `pid` has installed handlers for every signal in `signals`. */
function catches(pid, signals) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const mask = BigInt('0x' + /^SigCgt:\s*([0-9a-f]+)$/m.exec(status)[1]);
  return signals.every((signal) => (mask >> BigInt(require('node:os').constants.signals[signal] - 1)) & 1n);
}

/** The process group of `pid`, from /proc. */
function processGroup(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
}


/**
 * Starts a child script. `closed` resolves with { code, signal, stdout, stderr }
 * once the child has exited and every holder of its stdout/stderr (its tracker)
 * has closed them. `line()` resolves with the next JSON line of stdout.
 */
function startChild(body, vars = {}, { detached = false, socket } = {}) {
  // Each child is the root of its own tree unless `socket` names a tracker to join
  // (this process's own tracker would otherwise be inherited while it runs).
  const env = { ...process.env, NODE_PATH, SHMKIT_TEST_VARS: JSON.stringify(vars) };
  delete env.SHMKIT_TRACKER_SOCKET;
  if (socket !== undefined) env.SHMKIT_TRACKER_SOCKET = socket;
  return helpers.startScript(PRELUDE + body, { env, detached });
}

function count(text, needle) {
  return text.split(needle).length - 1;
}

/** The tracker's warning (exactly one) names exactly `names`. */
function assertLeakWarning(stderr, names) {
  assert.equal(count(stderr, LEAKED), 1, `one leak warning expected\n${stderr}`);
  const warning = stderr.split('\n').find((l) => l.includes(LEAKED));
  for (const name of names) assert.ok(warning.includes(JSON.stringify(name)), `warning names ${name}\n${stderr}`);
}

function assertExitedCleanly(result) {
  assert.equal(result.signal, null, `child was killed by ${result.signal}\n${result.stderr}`);
  assert.equal(result.code, 0, `child exited with ${result.code}\n${result.stderr}`);
}

const CREATE_AND_WAIT = `
const shm = SharedMemory.create(64, { name: V.name });
shm.buf[0] = 42;
report({ tracker: tracker.trackerPid(), pgid: process.pid });
setInterval(() => {}, 1000);
`;

test('SIGKILL of a creator: its tracked segment is unlinked, with one warning naming it', async () => {
  const name = helpers.uniqueName('sigkill');
  const handle = startChild(CREATE_AND_WAIT, { name });
  const { tracker: pid } = await handle.line();
  assert.equal(typeof pid, 'number');
  trackerPids.add(pid);
  assert.ok(helpers.exists(name));
  assert.ok(alive(pid));
  // The tracker runs in its own process group, apart from its creator's.
  assert.equal(processGroup(pid), pid);
  assert.notEqual(processGroup(pid), processGroup(handle.child.pid));
  handle.child.kill('SIGKILL');
  await pollUntil(() => !helpers.exists(name), 'the tracker to unlink the segment');
  const result = await handle.closed;
  assert.equal(result.signal, 'SIGKILL');
  assertLeakWarning(result.stderr, [name]);
  await pollUntil(() => !alive(pid), 'the tracker to exit');
});

test('a creator that exits normally without unlinking: cleaned up, one warning naming every segment', async () => {
  const a = helpers.uniqueName('exit-a');
  const b = helpers.uniqueName('exit-b');
  const handle = startChild(
    `
    const a = SharedMemory.create(8, { name: V.a });
    const b = new SharedMemory({ name: V.b, create: true, size: 8 }); // track defaults to true
    b.close(); // close() does not unregister
    report({ tracker: tracker.trackerPid(), track: [a.track, b.track] });
    `,
    { a, b },
  );
  const out = await handle.line();
  trackerPids.add(out.tracker);
  assert.deepEqual(out.track, [true, true]);
  const result = await handle.closed;
  assertExitedCleanly(result);
  assert.ok(!helpers.exists(a) && !helpers.exists(b), 'both segments unlinked');
  assertLeakWarning(result.stderr, [a, b]);
  await pollUntil(() => !alive(out.tracker), 'the tracker to exit');
});

test('attachers never register: their exit (normal or SIGKILL) leaves the segment intact', async () => {
  const name = helpers.uniqueName('attach');
  const shm = SharedMemory.create(64, { name }); // tracked by this test process
  try {
    shm.buf[0] = 7;
    trackerPids.add(tracker.trackerPid());
    const ATTACH = `
    const a = SharedMemory.attach(V.name);
    const b = new SharedMemory({ name: V.name, track: true }); // asking does not make an attacher track
    report({ tracker: tracker.trackerPid() ?? null, seen: a.buf[0], track: [a.track, b.track] });
    `;
    const normal = startChild(ATTACH, { name });
    assert.deepEqual(await normal.line(), { tracker: null, seen: 7, track: [false, false] });
    const normalResult = await normal.closed;
    assertExitedCleanly(normalResult);
    assert.equal(count(normalResult.stderr, LEAKED), 0);
    assert.ok(helpers.exists(name), 'a normal exit of an attacher leaves the segment');

    const killed = startChild(ATTACH + 'setInterval(() => {}, 1000);', { name });
    assert.deepEqual(await killed.line(), { tracker: null, seen: 7, track: [false, false] });
    killed.child.kill('SIGKILL');
    const killedResult = await killed.closed;
    assert.equal(killedResult.signal, 'SIGKILL');
    assert.equal(count(killedResult.stderr, LEAKED), 0);
    assert.ok(helpers.exists(name), 'a SIGKILLed attacher leaves the segment');
    assert.equal(shm.buf[0], 7);
  } finally {
    shm.close();
    shm.unlink();
  }
  assert.equal(tracker.isTracked(name), false, 'unlink() unregistered it');
});

test('track: false leaves the segment after the creator exits, and starts no tracker', async () => {
  const name = helpers.uniqueName('untracked');
  try {
    const handle = startChild(
      `
      const shm = SharedMemory.create(8, { name: V.name, track: false });
      report({ tracker: tracker.trackerPid() ?? null, track: shm.track });
      `,
      { name },
    );
    assert.deepEqual(await handle.line(), { tracker: null, track: false });
    const result = await handle.closed;
    assertExitedCleanly(result);
    assert.equal(count(result.stderr, LEAKED), 0);
    assert.ok(helpers.exists(name), 'an untracked segment outlives its creator');
  } finally {
    helpers.cleanup(name);
  }
});

test('unlink() and SharedMemory.unlink(name) unregister: no warning at exit', async () => {
  const a = helpers.uniqueName('unl-a');
  const b = helpers.uniqueName('unl-b');
  const c = helpers.uniqueName('unl-c');
  const handle = startChild(
    `
    const a = SharedMemory.create(8, { name: V.a });
    const b = SharedMemory.create(8, { name: V.b });
    const c = SharedMemory.create(8, { name: V.c });
    const pid = tracker.trackerPid();
    a.unlink();
    a.close();
    b.close();
    SharedMemory.unlink(V.b);
    c.close();
    c.unlink();
    let second = null;
    try { c.unlink(); } catch (e) { second = e.code; }
    report({ tracker: pid, second, tracked: [V.a, V.b, V.c].map(tracker.isTracked) });
    `,
    { a, b, c },
  );
  const out = await handle.line();
  trackerPids.add(out.tracker);
  assert.equal(out.second, 'ENOENT');
  assert.deepEqual(out.tracked, [false, false, false]);
  const result = await handle.closed;
  assertExitedCleanly(result);
  assert.equal(count(result.stderr, 'SHMKIT_TRACKER'), 0, result.stderr);
  for (const name of [a, b, c]) assert.ok(!helpers.exists(name));
  await pollUntil(() => !alive(out.tracker), 'the tracker to exit');
});

test('a tracker that dies is replaced at the next tracked create, which re-registers every tracked name', async () => {
  const a = helpers.uniqueName('respawn-a');
  const b = helpers.uniqueName('respawn-b');
  const handle = startChild(
    `
    SharedMemory.create(8, { name: V.a });
    const first = tracker.trackerPid();
    process.kill(first, 'SIGKILL'); // what crash cleanup cannot survive
    const end = Date.now() + 15000;
    const timer = setInterval(() => {
      if (require('node:fs').existsSync('/proc/' + first) && Date.now() < end) return; // until it is gone
      clearInterval(timer);
      SharedMemory.create(8, { name: V.b });
      report({ first, second: tracker.trackerPid() ?? null });
      setInterval(() => {}, 1000);
    }, 5);
    `,
    { a, b },
  );
  const out = await handle.line();
  trackerPids.add(out.first);
  assert.equal(typeof out.second, 'number', 'a new tracker');
  trackerPids.add(out.second);
  assert.notEqual(out.second, out.first);
  assert.ok(helpers.exists(a), 'the first tracker was killed before it could clean up');
  handle.child.kill('SIGKILL');
  const result = await handle.closed;
  assert.equal(result.signal, 'SIGKILL');
  assert.ok(!helpers.exists(a) && !helpers.exists(b), 'the new tracker unlinked both');
  assertLeakWarning(result.stderr, [a, b]);
  await pollUntil(() => !alive(out.second), 'the tracker to exit');
});

test('a segment unlinked by another process is not reported as leaked', async () => {
  const name = helpers.uniqueName('other-unlink');
  const handle = startChild(
    `
    SharedMemory.create(8, { name: V.name });
    report({ tracker: tracker.trackerPid() });
    setInterval(() => {}, 1000);
    `,
    { name },
  );
  const out = await handle.line();
  trackerPids.add(out.tracker);
  SharedMemory.unlink(name); // this process never tracked it: just unlinks
  handle.child.kill('SIGKILL');
  const result = await handle.closed;
  assert.equal(count(result.stderr, 'SHMKIT_TRACKER'), 0, result.stderr);
  await pollUntil(() => !alive(out.tracker), 'the tracker to exit');
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  test(`${signal} to the creator's process group: the tracker survives and cleans up`, async () => {
    const name = helpers.uniqueName(`group-${signal.toLowerCase()}`);
    // The child leads its own process group, like a shell job.
    const handle = startChild(CREATE_AND_WAIT, { name }, { detached: true });
    const out = await handle.line();
    trackerPids.add(out.tracker);
    // Signals sent straight to the tracker are ignored too (once it has started).
    await pollUntil(() => catches(out.tracker, ['SIGINT', 'SIGTERM', 'SIGHUP']), 'the tracker to start');
    for (const direct of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.kill(out.tracker, direct);
    process.kill(-handle.child.pid, signal);
    const result = await handle.closed;
    assert.equal(result.signal, signal);
    assert.ok(!helpers.exists(name), 'the tracker unlinked the segment');
    assertLeakWarning(result.stderr, [name]);
    await pollUntil(() => !alive(out.tracker), 'the tracker to exit');
  });
}

/** Pids of running tracker processes whose creator (SHMKIT_TRACKER_CREATOR_PID) is in `creators`. */
function trackersOf(creators) {
  const found = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (!cmdline.includes(TRACKER_MAIN)) continue;
      const environ = fs.readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      const creator = environ.find((v) => v.startsWith('SHMKIT_TRACKER_CREATOR_PID='));
      if (creator && creators.includes(Number(creator.split('=')[1]))) found.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours
    }
  }
  return found;
}

test('one tracker per process tree: a child registers with its parent\'s tracker, which cleans up each process when it dies', async () => {
  const a = helpers.uniqueName('tree-parent');
  const b = helpers.uniqueName('tree-child');
  const GRANDCHILD = PRELUDE + `
    SharedMemory.create(64, { name: V.b });
    report({ role: 'child', pid: process.pid, tracker: tracker.trackerPid(), socket: process.env.SHMKIT_TRACKER_SOCKET });
    setInterval(() => {}, 1000);
  `;
  const handle = startChild(
    `
    const fs = require('node:fs');
    const { spawn } = require('node:child_process');
    SharedMemory.create(64, { name: V.a });
    const socket = process.env.SHMKIT_TRACKER_SOCKET;
    report({ role: 'parent', pid: process.pid, tracker: tracker.trackerPid(), socket });
    spawn(process.execPath, ['-e', V.grandchild], { stdio: ['ignore', 'inherit', 'inherit'] });
    setInterval(() => {}, 1000);
    `,
    { a, b, grandchild: GRANDCHILD },
  );
  const parent = await handle.line();
  trackerPids.add(parent.tracker);
  assert.equal(parent.role, 'parent');
  assert.equal(parent.socket, socketFile(parent.tracker));
  const child = await handle.line();
  assert.equal(child.role, 'child');
  assert.equal(child.socket, parent.socket, 'the child inherited the socket');
  assert.equal(child.tracker, parent.tracker, "the child uses its parent's tracker");
  assert.deepEqual(trackersOf([parent.pid, child.pid]), [parent.tracker], 'exactly one tracker for the tree');
  assert.ok(helpers.exists(a) && helpers.exists(b));
  // The state file names each segment's own creator.
  const stateFile = trackerState.stateFile(parent.tracker, trackerState.stateDir());
  await pollUntil(() => {
    try {
      const state = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
      return state.owners[a] === parent.pid && state.owners[b] === child.pid;
    } catch {
      return false;
    }
  }, 'the state file to name both owners');

  process.kill(child.pid, 'SIGKILL');
  await pollUntil(() => !helpers.exists(b), "the tracker to unlink the child's segment");
  await pollUntil(() => handle.stderr.includes(LEAKED), 'the warning');
  assertLeakWarning(handle.stderr, [b]);
  assert.ok(handle.stderr.includes(`process ${child.pid} created it`), handle.stderr);
  assert.ok(!handle.stderr.includes(JSON.stringify(a)), handle.stderr);
  assert.ok(helpers.exists(a), "the parent's segment stays while the parent lives");
  assert.ok(alive(parent.tracker));

  handle.child.kill('SIGKILL');
  const result = await handle.closed;
  assert.equal(result.signal, 'SIGKILL');
  assert.ok(!helpers.exists(a), "the parent's segment is unlinked when the parent dies");
  assert.equal(count(result.stderr, LEAKED), 2, result.stderr);
  await pollUntil(() => !alive(parent.tracker), 'the tracker to exit');
  assert.ok(!fs.existsSync(parent.socket), 'the socket is removed');
});

test('the tracker outlives its creator while a child of the tree still has segments registered', async () => {
  const a = helpers.uniqueName('tree-outlive-parent');
  const b = helpers.uniqueName('tree-outlive-child');
  const GRANDCHILD = PRELUDE + `
    SharedMemory.create(64, { name: V.b });
    report({ role: 'child', pid: process.pid, tracker: tracker.trackerPid() });
    setInterval(() => {}, 1000);
  `;
  const handle = startChild(
    `
    const fs = require('node:fs');
    const { spawn } = require('node:child_process');
    SharedMemory.create(64, { name: V.a });
    report({ role: 'parent', pid: process.pid, tracker: tracker.trackerPid() });
    spawn(process.execPath, ['-e', V.grandchild], { stdio: ['ignore', 'inherit', 'inherit'], detached: true }).unref();
    setInterval(() => {}, 1000);
    `,
    { a, b, grandchild: GRANDCHILD },
  );
  const parent = await handle.line();
  trackerPids.add(parent.tracker);
  const child = await handle.line();
  assert.equal(child.tracker, parent.tracker);
  try {
    handle.child.kill('SIGKILL');
    await pollUntil(() => !helpers.exists(a), "the tracker to unlink the parent's segment");
    assert.ok(helpers.exists(b), "the child's segment stays while the child lives");
    assert.ok(alive(parent.tracker), 'the tracker keeps running for the child');
  } finally {
    process.kill(child.pid, 'SIGKILL');
  }
  const result = await handle.closed;
  assert.ok(!helpers.exists(b), "the child's segment is unlinked when the child dies");
  assert.equal(count(result.stderr, LEAKED), 2, result.stderr);
  await pollUntil(() => !alive(parent.tracker), 'the tracker to exit');
});

for (const kind of ['missing', 'stale', 'foreign']) {
  test(`a child whose inherited SHMKIT_TRACKER_SOCKET is ${kind} spawns its own tracker`, async () => {
    const name = helpers.uniqueName(`dead-socket-${kind}`);
    const elsewhere = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'shmkit-socket-'));
    // missing: no such file; stale: a socket nobody listens on (ECONNREFUSED);
    // foreign: outside this user's private directory, never connected to.
    const socket = kind === 'foreign' ? path.join(elsewhere, 'tracker-999999.sock') : socketFile(999999);
    if (kind !== 'missing') binding.socket.close(binding.socket.listen(socket, 1));
    try {
      const handle = startChild(
        CREATE_AND_WAIT.replace('report({', 'report({ socket: process.env.SHMKIT_TRACKER_SOCKET, '),
        { name },
        { socket },
      );
      const out = await handle.line();
      assert.equal(typeof out.tracker, 'number');
      trackerPids.add(out.tracker);
      assert.notEqual(out.tracker, 999999);
      assert.deepEqual(trackersOf([handle.child.pid]), [out.tracker], 'its own tracker');
      assert.equal(out.socket, socketFile(out.tracker), 'its children would join its own tracker');
      handle.child.kill('SIGKILL');
      const result = await handle.closed;
      assert.ok(!helpers.exists(name), 'its tracker unlinked the segment');
      assertLeakWarning(result.stderr, [name]);
      await pollUntil(() => !alive(out.tracker), 'the tracker to exit');
      assert.ok(!fs.existsSync(out.socket), 'the socket is removed');
    } finally {
      fs.rmSync(elsewhere, { recursive: true, force: true });
      if (kind === 'stale') fs.rmSync(socket, { force: true });
    }
  });
}

/**
 * Runs dist/lifecycle/tracker-main.js directly, listening on a socket bound
 * here (in `dir`, the private directory unless given); `feed(connect)` opens
 * clients (`connect()` → a connected net.Socket). Resolves with the tracker's
 * exit and stderr once every client has closed.
 */
function runTracker(feed, dir = trackerState.stateDir()) {
  return new Promise((resolve, reject) => {
    const bound = path.join(dir, `spawn-${process.pid}-${require('node:crypto').randomBytes(4).toString('hex')}.sock`);
    const fd = binding.socket.listen(bound, 16);
    fs.chmodSync(bound, 0o600);
    const proc = spawn(process.execPath, [TRACKER_MAIN, dir, bound], { stdio: ['ignore', 'ignore', 'pipe', fd] });
    binding.socket.close(fd);
    trackerPids.add(proc.pid);
    let stderr = '';
    proc.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    const timer = setTimeout(() => proc.kill('SIGKILL'), 60_000);
    proc.on('error', reject);
    proc.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr, bound, pid: proc.pid });
    });
    const opened = [];
    const connect = () =>
      new Promise((done, fail) => {
        const socket = net.createConnection(bound);
        opened.push(socket);
        socket.on('error', () => {});
        socket.once('connect', () => done(socket));
        socket.once('error', fail);
      });
    Promise.resolve(feed(connect)).then(
      () => opened.forEach((socket) => socket.end()),
      (error) => {
        proc.kill('SIGKILL');
        reject(error);
      },
    );
  });
}

function write(stream, data) {
  return new Promise((resolve) => stream.write(data, () => resolve()));
}

test('HELLO is answered on the same connection with HELLO <the tracker\'s pid>: the greeting a spawner waits for', async () => {
  let answer = '';
  const result = await runTracker(async (connect) => {
    const client = await connect();
    client.setEncoding('utf8').on('data', (d) => (answer += d));
    await write(client, 'HELLO\n');
    await pollUntil(() => answer.includes('\n'), 'the answer');
    const silent = await connect(); // a client that does not say HELLO hears nothing
    await write(silent, 'UNREGISTER never-registered\n');
  });
  assert.deepEqual([result.code, result.stderr], [0, '']);
  assert.equal(answer, `HELLO ${result.pid}\n`);
});

test('the tracker protocol rejects garbage, one diagnostic per line, and keeps working', async () => {
  const name = helpers.uniqueName('protocol');
  const gone = helpers.uniqueName('protocol-unreg');
  const shm = SharedMemory.create(8, { name, track: false });
  const other = SharedMemory.create(8, { name: gone, track: false });
  shm.close();
  other.close();
  try {
    const bad = [
      'hello\n', // malformed
      '\n', // empty
      'FROB x\n', // unknown command
      'register x\n', // commands are case-sensitive
      'REGISTER \n', // empty name
      'REGISTER a/b\n', // invalid name
      'REGISTER caf\u00e9\n', // not ASCII
      'INTENT -1 x\n', // not an inode
      'INTENT x\n', // no inode
      `REGISTER ${'x'.repeat(2000)}\n`, // oversized, with a newline
    ];
    const result = await runTracker(async (connect) => {
      const client = await connect();
      for (const line of bad) await write(client, line);
      // A huge line, in pieces, without a newline until much later.
      for (let i = 0; i < 50; i++) await write(client, 'y'.repeat(4096));
      await write(client, '\n');
      await write(client, `UNREGISTER never-registered\n`);
      // Valid lines still work, even split across writes.
      await write(client, `REGISTER ${gone}\nREGI`);
      await write(client, `STER ${name}\n`);
      await write(client, `UNREGISTER ${gone}\n`);
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(count(result.stderr, BAD_LINE), bad.length + 1, result.stderr);
    assert.ok(!helpers.exists(name), 'the registered segment was unlinked when the client closed');
    assert.ok(helpers.exists(gone), 'the unregistered segment was left alone');
    assertLeakWarning(result.stderr, [name]);
    assert.ok(!result.stderr.includes(JSON.stringify(gone)));
    assert.ok(!fs.existsSync(result.bound), 'the socket is removed at exit');
  } finally {
    helpers.cleanup(name);
    helpers.cleanup(gone);
  }
});

test('each client has its own framing and its own names: garbage from one never touches another, a closed one is cleaned up alone', async () => {
  const a = helpers.uniqueName('client-a');
  const b = helpers.uniqueName('client-b');
  for (const n of [a, b]) SharedMemory.create(8, { name: n, track: false }).close();
  try {
    const result = await runTracker(async (connect) => {
      const rogue = await connect();
      const first = await connect();
      const second = await connect();
      await write(rogue, 'REGISTER 1'); // no newline: a fragment
      await write(first, `REGISTER ${a}\n`);
      await write(rogue, 'x'.repeat(3000)); // over-long, still no newline
      await write(second, `REGISTER ${b}\n`);
      await new Promise((resolve) => setTimeout(resolve, 200));
      first.end(); // the first client is gone: only its name goes
      await pollUntil(() => !helpers.exists(a), "the first client's segment to be unlinked");
      assert.ok(helpers.exists(b), "the second client's segment stays while it is connected");
      second.end();
      await pollUntil(() => !helpers.exists(b), "the second client's segment to be unlinked");
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(count(result.stderr, LEAKED), 2, result.stderr);
    assert.ok(result.stderr.includes(`process ${process.pid} created it`), result.stderr);
  } finally {
    helpers.cleanup(a);
    helpers.cleanup(b);
  }
});

test('an INTENT whose create failed with EEXIST never unlinks the segment someone else had made', async () => {
  const theirs = helpers.uniqueName('intent-theirs');
  const mine = helpers.uniqueName('intent-mine');
  const other = SharedMemory.create(8, { name: theirs, track: false });
  const ino = fs.statSync(path.join('/dev/shm', theirs)).ino;
  try {
    const result = await runTracker(async (connect) => {
      const client = await connect();
      // The client died between its INTENT and its CANCEL (theirs), and right
      // after its own create (mine, absent before).
      await write(client, `INTENT ${ino} ${theirs}\nINTENT 0 ${mine}\n`);
      SharedMemory.create(8, { name: mine, track: false }).close();
    });
    assert.equal(result.code, 0, result.stderr);
    assert.ok(helpers.exists(theirs), "the other process's segment is left alone");
    assert.ok(!helpers.exists(mine), 'the segment the client made is unlinked');
    assertLeakWarning(result.stderr, [mine]);
  } finally {
    other.close();
    helpers.cleanup(theirs);
    helpers.cleanup(mine);
  }
});

test('the tracker serves only its own user: a connection from another uid (SO_PEERCRED) is refused', { skip: process.getuid() !== 0 && 'needs root to run a client as another user' }, async () => {
  const name = helpers.uniqueName('peer-other-uid');
  SharedMemory.create(8, { name, track: false }).close();
  // A directory the other user can reach (the real one is 0700): only the peer check is left.
  const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'shmkit-peer-'));
  fs.chmodSync(dir, 0o711);
  try {
    const result = await runTracker(async (connect) => {
      const own = await connect(); // keeps the tracker running meanwhile
      const bound = fs.readdirSync(dir).find((f) => f.endsWith('.sock'));
      fs.chmodSync(path.join(dir, bound), 0o777);
      const other = spawn(
        process.execPath,
        [
          '-e',
          `const s = require('node:net').createConnection(${JSON.stringify(path.join(dir, bound))});
           s.on('connect', () => s.end('REGISTER ${name}\\n'));
           s.on('close', () => process.exit(0));
           // Refused: the tracker may reset the connection before or after the line.
           s.on('error', (e) => process.exit(['ECONNRESET', 'EPIPE'].includes(e.code) ? 0 : 3));`,
        ],
        { cwd: '/', uid: 65534, gid: 65534, stdio: 'inherit' },
      );
      const [code] = await new Promise((resolve) => other.on('exit', (...args) => resolve(args)));
      assert.equal(code, 0, 'the other user could connect (the directory was opened for it)');
      own.end();
    }, dir);
    assert.ok(result.stderr.includes('SHMKIT_TRACKER_PEER_REFUSED'), result.stderr);
    assert.ok(helpers.exists(name), "another user's registration is never acted on");
    assert.equal(count(result.stderr, LEAKED), 0, result.stderr);
  } finally {
    helpers.cleanup(name);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the tracker rejects an unterminated oversized line at EOF and exits', async () => {
  const result = await runTracker(async (connect) => {
    await write(await connect(), 'z'.repeat(100_000));
  });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(count(result.stderr, BAD_LINE), 1, result.stderr);
  assert.equal(count(result.stderr, LEAKED), 0);
});

test('the tracker exits quietly when its only client closes with nothing registered', async () => {
  const result = await runTracker(async (connect) => {
    await connect();
  });
  assert.deepEqual([result.code, result.signal, result.stderr], [0, null, '']);
});

test('if the tracker cannot start, creating still works and one SHMKIT_TRACKER_UNAVAILABLE warning says so', async () => {
  const a = helpers.uniqueName('unavail-a');
  const b = helpers.uniqueName('unavail-b');
  const handle = startChild(
    `
    const codes = [];
    process.on('warning', (w) => codes.push(w.code));
    process.execPath = '/nonexistent/shmkit-node';
    const a = SharedMemory.create(8, { name: V.a });
    const b = SharedMemory.create(8, { name: V.b });
    const made = [a.track, b.track, a.size];
    a.unlink(); b.unlink();
    setImmediate(() => report({ codes, made, tracker: tracker.trackerPid() ?? null }));
    `,
    { a, b },
  );
  const out = await handle.line();
  assertExitedCleanly(await handle.closed);
  assert.deepEqual(out, { codes: ['SHMKIT_TRACKER_UNAVAILABLE'], made: [true, true, 8], tracker: null });
});

test('a worker thread has its own connection: what it created and left is unlinked when the worker ends (terminate() included)', async () => {
  // In a child process, so that the warnings are captured here, not printed in the test output.
  const ended = helpers.uniqueName('worker-ended');
  const terminated = helpers.uniqueName('worker-terminated');
  const handle = startChild(
    `
    const { Worker } = require('node:worker_threads');
    const run = (name, stay) => new Promise((resolve) => {
      const worker = new Worker(
        \`const { parentPort, workerData } = require('node:worker_threads');
        const { SharedMemory } = require('@shmkit/shm');
        const tracker = require(workerData.trackerModule);
        SharedMemory.create(8, { name: workerData.name });
        parentPort.postMessage(tracker.trackerPid());
        if (workerData.stay) setInterval(() => {}, 1000);\`,
        { eval: true, workerData: { name, stay, trackerModule: V.trackerModule } },
      );
      const exited = new Promise((done) => worker.once('exit', done));
      worker.once('message', async (pid) => {
        if (stay) worker.terminate();
        await exited;
        resolve(pid);
      });
    });
    (async () => {
      const pids = [await run(V.ended, false), await run(V.terminated, true)];
      report({ pids, main: tracker.trackerPid() ?? null });
    })();
    `,
    { ended, terminated, trackerModule: path.join(helpers.PACKAGE, 'dist', 'lifecycle', 'tracker.js') },
  );
  const out = await handle.line();
  for (const pid of out.pids) {
    assert.equal(typeof pid, 'number');
    trackerPids.add(pid);
  }
  assert.equal(out.main, null, 'the main thread created nothing tracked');
  await pollUntil(() => !helpers.exists(ended) && !helpers.exists(terminated), "the workers' segments to be unlinked");
  const result = await handle.closed;
  assertExitedCleanly(result);
  assert.equal(count(result.stderr, LEAKED), 2, result.stderr);
  assert.ok(result.stderr.includes(JSON.stringify(ended)) && result.stderr.includes(JSON.stringify(terminated)), result.stderr);
  assert.ok(result.stderr.includes('worker thread'), 'the warning of the worker that ended names it');
});

test("the test process's own tracker ends once its registry stays empty", async () => {
  const name = helpers.uniqueName('idle');
  const shm = SharedMemory.create(8, { name });
  const pid = tracker.trackerPid();
  assert.equal(typeof pid, 'number');
  trackerPids.add(pid);
  shm.close();
  shm.unlink();
  // The pipe is ended after a short linger; the tracker then exits.
  await pollUntil(() => !alive(pid), 'the idle tracker to exit');
  assert.equal(tracker.trackerPid(), undefined);
});

test('no tracker process remains', async () => {
  assert.ok(trackerPids.size >= 8);
  await pollUntil(() => [...trackerPids].every((pid) => !alive(pid)), 'every tracker to exit');
});

after(() => {
  for (const pid of trackerPids) if (alive(pid)) process.kill(pid, 'SIGKILL');
});
