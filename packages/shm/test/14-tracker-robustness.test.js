'use strict';
// Crash cleanup under pressure (issue 8 items 1, 3-5; issue 9 items 3-4): bursts,
// a tree's tracker deciding to exit while a child registers, another client's
// garbage on the tree's channel, an interrupt at any instant of the first
// create, cleanup at a normal exit, and a state directory someone else made.
// Real processes throughout; waits poll with generous deadlines and nothing
// asserts timing (throughput and latency are measured in bench/).
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const helpers = require('./helpers');
if (require('./helpers').skipFileOnWindows('the crash-cleanup tracker under stress', 'there is no tracker there (decision 0014)')) return;
const { pidAlive: alive, pollUntil } = require('./helpers');
const { SharedMemory, SharedMemoryManager } = require('@shmkit/shm');

helpers.checkNoLeaks();

const NODE_PATH = path.resolve(helpers.PACKAGE, '..', '..', 'node_modules');
const TRACKER_JS = path.join(helpers.PACKAGE, 'dist', 'lifecycle', 'tracker.js');
const LEAKED = 'SHMKIT_TRACKER_LEAKED';
const UNSAFE = 'ERR_SHM_UNSAFE_DIRECTORY';
const NOBODY = 65534;
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'shmkit-robust-test-'));
const children = new Set();
const trackerPids = new Set();

after(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const pid of trackerPids) if (alive(pid)) process.kill(pid, 'SIGKILL');
  fs.rmSync(scratch, { recursive: true, force: true });
});

const PRELUDE = `
'use strict';
const { SharedMemory } = require('@shmkit/shm');
const tracker = require(${JSON.stringify(TRACKER_JS)});
const V = JSON.parse(process.env.SHMKIT_TEST_VARS);
function report(value) { process.stdout.write(JSON.stringify(value) + '\\n'); }
`;

/** A child script (see 11-tracker.test.js): `line()` → its next JSON line; `closed` → { code, signal, stderr }. */
function startChild(body, vars = {}, { env: extra = {}, stdio } = {}) {
  const env = { ...process.env, NODE_PATH, SHMKIT_TEST_VARS: JSON.stringify(vars), ...extra };
  delete env.SHMKIT_TRACKER_FIFO;
  delete env.SHMKIT_TRACKER_SOCKET;
  const handle = helpers.startScript(PRELUDE + body, { env, stdio });
  children.add(handle.child);
  return handle;
}

function names(tag, n) {
  const prefix = helpers.uniqueName(tag);
  return Array.from({ length: n }, (_, i) => helpers.remember(`${prefix}-${i}`));
}

async function allGone(list, what, deadlineMs) {
  await pollUntil(() => list.every((n) => !helpers.exists(n)), what, deadlineMs);
}

// ------------------------------------------------------------ issue 8 item 3

const BURST = `
const made = [];
for (let i = 0; i < V.n; i++) made.push(SharedMemory.create(4096, { name: V.prefix + '-' + i }));
if (V.tracker !== false) report({ tracker: tracker.trackerPid() });
if (V.end === 'sigkill') process.kill(process.pid, 'SIGKILL');
if (V.end === 'throw') throw new Error('burst then throw');
`;

for (const end of ['sigkill', 'throw', 'exit']) {
  test(`a burst of 1000 tracked creates, then ${end}: every segment is unlinked`, async () => {
    const list = names(`burst-${end}`, 1000);
    const prefix = list[0].slice(0, -2);
    const handle = startChild(BURST, { n: list.length, prefix, end });
    const out = await handle.line();
    trackerPids.add(out.tracker);
    const result = await handle.closed;
    if (end === 'sigkill') assert.equal(result.signal, 'SIGKILL');
    const left = list.filter(helpers.exists);
    await allGone(list, `every segment of the burst to be unlinked (${left.length} still there at the creator's end)`);
    assert.ok(result.stderr.includes(LEAKED), result.stderr.slice(0, 2000));
  });
}

test('a burst of 1000 tracked creates by a child of a tree with a running tracker, then SIGKILL: every segment is unlinked', async () => {
  const own = helpers.uniqueName('burst-tree-parent');
  const list = names('burst-tree', 1000);
  const prefix = list[0].slice(0, -2);
  const handle = startChild(
    `
    const { spawn } = require('node:child_process');
    const mine = SharedMemory.create(64, { name: V.own });
    const c = spawn(process.execPath, ['-e', V.child], { stdio: ['ignore', 'inherit', 'inherit'] });
    c.on('exit', () => { mine.unlink(); report({ done: true }); });
    `,
    { own, n: list.length, prefix, end: 'sigkill', tracker: false, child: PRELUDE + BURST },
  );
  assert.deepEqual(await handle.line(), { done: true });
  await handle.closed;
  await allGone(list, 'every segment of the burst to be unlinked');
});

// ------------------------------------------------------------ issue 8 item 4

test("the tree's tracker never exits with a child's registration unread (the spawner exits as the child registers)", async () => {
  const rounds = 8;
  const leaked = [];
  for (let round = 0; round < rounds; round++) {
    const a = helpers.uniqueName(`race-parent-${round}`);
    const b = helpers.uniqueName(`race-child-${round}`);
    const handle = startChild(
      `
      const { spawn } = require('node:child_process');
      const a = SharedMemory.create(64, { name: V.a });
      a.unlink(); // nothing of the spawner's left: its tracker may exit once it has gone
      const c = spawn(process.execPath, ['-e', V.child], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
      c.stdout.once('data', (d) => { process.stdout.write(d); process.exit(0); });
      `,
      { a, b, child: PRELUDE + `SharedMemory.create(64, { name: V.b }); report({ pid: process.pid }); setInterval(() => {}, 1000);` },
    );
    const { pid } = await handle.line();
    await handle.exited;
    await new Promise((resolve) => setTimeout(resolve, 300));
    process.kill(pid, 'SIGKILL');
    try {
      await pollUntil(() => !helpers.exists(b), "the child's segment to be unlinked", 5000);
    } catch {
      leaked.push(b);
      helpers.cleanup(b);
    }
    await handle.closed;
  }
  assert.deepEqual(leaked, [], `${leaked.length} of ${rounds} child registrations were lost`);
});

// ------------------------------------------------------------ issue 8 item 5

/** Opens the tree's tracker channel as another client of the same user would. */
async function rogueClient(env) {
  if (env.SHMKIT_TRACKER_SOCKET) {
    const socket = net.createConnection(env.SHMKIT_TRACKER_SOCKET);
    socket.on('error', () => {});
    await new Promise((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return { write: (text) => new Promise((resolve) => socket.write(text, resolve)), close: () => socket.destroy() };
  }
  const fd = fs.openSync(env.SHMKIT_TRACKER_FIFO, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
  return { write: (text) => fs.writeSync(fd, text), close: () => fs.closeSync(fd) };
}

for (const garbage of ['REGISTER 1', 'x'.repeat(2000)]) {
  test(`another client's unterminated garbage (${garbage.length} bytes) does not swallow a child's registration`, async () => {
    const own = helpers.uniqueName('frame-parent');
    const b = helpers.uniqueName('frame-child');
    const handle = startChild(
      `
      const { spawn } = require('node:child_process');
      const fs = require('node:fs');
      const mine = SharedMemory.create(64, { name: V.own });
      report({ env: { SHMKIT_TRACKER_SOCKET: process.env.SHMKIT_TRACKER_SOCKET, SHMKIT_TRACKER_FIFO: process.env.SHMKIT_TRACKER_FIFO }, tracker: tracker.trackerPid() });
      process.stdin.once('data', () => {
        const c = spawn(process.execPath, ['-e', V.child], { stdio: ['ignore', 'inherit', 'inherit'] });
        c.on('exit', () => { mine.unlink(); process.exit(0); });
      });
      `,
      { own, b, child: PRELUDE + `SharedMemory.create(64, { name: V.b }); report({ pid: process.pid }); setInterval(() => {}, 1000);` },
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    const first = await handle.line();
    trackerPids.add(first.tracker);
    if (first.env.SHMKIT_TRACKER_FIFO) await pollUntil(() => fs.existsSync(first.env.SHMKIT_TRACKER_FIFO), 'the FIFO');
    const rogue = await rogueClient(first.env);
    try {
      await rogue.write(garbage);
      await new Promise((resolve) => setTimeout(resolve, 100));
      handle.child.stdin.write('go\n');
      const { pid } = await handle.line();
      process.kill(pid, 'SIGKILL');
      await pollUntil(() => !helpers.exists(b), "the child's segment to be unlinked", 5000);
    } finally {
      rogue.close();
      helpers.cleanup(b);
      await handle.closed;
    }
  });
}

// ------------------------------------------------------------ issue 9 item 3

test('an interrupt (SIGINT) at any instant of the first tracked create leaves nothing behind', async () => {
  // The child announces the create, then makes it; SIGINT follows the announcement
  // after 0, 1, 2, … ms, so that some land inside the first create (which starts
  // the tracker). Four children at a time; every name must end up unlinked.
  const delays = Array.from({ length: 28 }, (_, i) => i);
  const results = [];
  const runOne = async (delay) => {
    const name = helpers.uniqueName(`sigint-${delay}`);
    const handle = startChild(
      `
      require('node:fs').writeSync(1, JSON.stringify({ go: true }) + '\\n');
      const shm = SharedMemory.create(4096, { name: V.name });
      require('node:fs').writeSync(1, JSON.stringify({ created: true }) + '\\n');
      setTimeout(() => { shm.unlink(); }, 3000);
      `,
      { name },
    );
    await handle.line();
    await new Promise((resolve) => setTimeout(resolve, delay));
    handle.child.kill('SIGINT');
    const result = await handle.closed;
    const created = handle.lines.length > 0 || handle.stdout.includes('created');
    try {
      await pollUntil(() => !helpers.exists(name), `${name} to be unlinked`, 5000);
      results.push({ delay, created, leaked: false, signal: result.signal });
    } catch {
      helpers.cleanup(name);
      results.push({ delay, created, leaked: true, signal: result.signal });
    }
  };
  for (let i = 0; i < delays.length; i += 4) await Promise.all(delays.slice(i, i + 4).map(runOne));
  const leaked = results.filter((r) => r.leaked);
  assert.deepEqual(leaked, [], `${leaked.length} of ${results.length} interrupted runs leaked their segment`);
});

// ------------------------------------------------------------ issue 9 item 4

test('a creator that exits without unlinking: the name is free by the time it has exited, and its warning is already in its stderr pipe', async () => {
  const name = helpers.uniqueName('exit-prompt');
  const handle = startChild(`SharedMemory.create(64, { name: V.name }); report({ tracker: tracker.trackerPid() });`, { name });
  const out = await handle.line();
  trackerPids.add(out.tracker);
  const stderrFd = handle.child.stderr._handle.fd;
  const { code } = await handle.exited;
  assert.equal(code, 0);
  // What the creator wrote before it exited is in the pipe now (or already read).
  let early = handle.stderr;
  const buffer = Buffer.alloc(65536);
  for (;;) {
    let n = 0;
    try {
      n = fs.readSync(stderrFd, buffer, 0, buffer.length, null);
    } catch {
      break; // EAGAIN: empty
    }
    if (n <= 0) break;
    early += buffer.toString('utf8', 0, n);
  }
  let again;
  try {
    again = SharedMemory.create(64, { name, track: false });
  } catch (error) {
    assert.fail(`re-creating the name at once after the creator exited: ${error.code}`);
  }
  again.close();
  again.unlink();
  assert.ok(early.includes(LEAKED) && early.includes(JSON.stringify(name)), `the warning was written before the exit: ${JSON.stringify(early)}`);
});

// ------------------------------------------------------------ issue 8 item 1

/** A private TMPDIR for one test, with what an attacker prepared in it. */
function tmpdirWith(prepare) {
  const dir = fs.mkdtempSync(path.join(scratch, 'tmp-'));
  prepare(dir);
  return dir;
}

test("a state directory another user made first is refused, with a warning naming it; nothing is written there", async () => {
  const tmp = tmpdirWith((dir) => {
    const base = path.join(dir, `shmkit-${os.userInfo().uid}`);
    fs.mkdirSync(path.join(base, 'trackers'), { recursive: true });
    for (const d of [base, path.join(base, 'trackers')]) {
      fs.chmodSync(d, 0o777);
      fs.chownSync(d, NOBODY, NOBODY);
    }
  });
  const name = helpers.uniqueName('unsafe-dir');
  const handle = startChild(
    `
    const codes = [];
    process.on('warning', (w) => codes.push([w.code, w.message]));
    const shm = SharedMemory.create(64, { name: V.name });
    setTimeout(() => { shm.unlink(); report({ codes, track: shm.track }); }, 300);
    `,
    { name },
    { env: { TMPDIR: tmp, XDG_RUNTIME_DIR: '' } },
  );
  const out = await handle.line();
  await handle.closed;
  const base = path.join(tmp, `shmkit-${os.userInfo().uid}`);
  assert.deepEqual(fs.readdirSync(path.join(base, 'trackers')), [], 'nothing written in the planted directory');
  const warning = out.codes.find(([, message]) => message.includes(UNSAFE));
  assert.ok(warning, `a warning with ${UNSAFE}: ${JSON.stringify(out.codes)}`);
  assert.ok(warning[1].includes(base), `the warning names ${base}: ${warning[1]}`);
});

test('a state directory that is a symlink is refused; nothing is written where it points', async () => {
  const target = fs.mkdtempSync(path.join(scratch, 'elsewhere-'));
  const tmp = tmpdirWith((dir) => {
    const base = path.join(dir, `shmkit-${os.userInfo().uid}`);
    fs.mkdirSync(base, { mode: 0o700 });
    fs.symlinkSync(target, path.join(base, 'trackers'));
  });
  const name = helpers.uniqueName('symlink-dir');
  const handle = startChild(
    `
    const codes = [];
    process.on('warning', (w) => codes.push([w.code, w.message]));
    const shm = SharedMemory.create(64, { name: V.name });
    setTimeout(() => { shm.unlink(); report({ codes }); }, 300);
    `,
    { name },
    { env: { TMPDIR: tmp, XDG_RUNTIME_DIR: '' } },
  );
  const out = await handle.line();
  await handle.closed;
  assert.deepEqual(fs.readdirSync(target), [], 'nothing written through the symlink');
  assert.ok(out.codes.some(([, message]) => message.includes(UNSAFE)), JSON.stringify(out.codes));
});

test("the manager refuses a temporary directory others can write to (not sticky) with ERR_SHM_UNSAFE_DIRECTORY", async () => {
  const tmp = tmpdirWith((dir) => fs.chmodSync(dir, 0o777));
  const handle = startChild(
    `
    const { SharedMemoryManager } = require('@shmkit/shm');
    const m = new SharedMemoryManager();
    m.start().then(
      async () => { report({ started: true, address: m.address }); await m.shutdown(); },
      (error) => report({ started: false, code: error.code, message: error.message }),
    );
    `,
    {},
    { env: { TMPDIR: tmp, XDG_RUNTIME_DIR: '' } },
  );
  const out = await handle.line();
  await handle.closed;
  assert.equal(out.started, false, `the manager listened in ${out.address}`);
  assert.equal(out.code, UNSAFE);
  assert.ok(out.message.includes(tmp), out.message);
});
