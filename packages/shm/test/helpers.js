'use strict';
// Shared test helpers. Every segment a test makes has a name from uniqueName()
// (or is passed to remember()), and every file calls checkNoLeaks() so its
// segments are verified gone when it ends. 99-no-leaks.test.js then checks the
// whole run by prefix (it only reads /dev/shm; nothing sweeps it).
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { after } = require('node:test');
const { spawn, spawnSync } = require('node:child_process');
const os = require('node:os');

// node --test runs every test file as a child of one runner process, so the
// parent pid identifies this run among others on the machine.
const PACKAGE = path.join(__dirname, '..');

const RUN_PREFIX = `shmkit-test-${process.ppid}-`;
const made = new Set();

function uniqueName(tag = 'seg') {
  const name = `${RUN_PREFIX}${process.pid}-${tag}-${crypto.randomBytes(4).toString('hex')}`;
  made.add(name);
  return name;
}

/** Remember a name made elsewhere (generated psm_ names, Python's names). */
function remember(name) {
  made.add(name);
  return name;
}

const WINDOWS = process.platform === 'win32';

/**
 * Whether a segment of that name exists: a file in /dev/shm, or on Windows a mapping some process
 * holds (the addon's OpenFileMapping; nothing there can be listed by path).
 */
function exists(name) {
  if (WINDOWS) return require(path.join(PACKAGE, 'dist', 'core', 'binding.js')).win32.segmentExists(name);
  return fs.existsSync(path.join('/dev/shm', name));
}

/** Unlinks a name if it still exists; for cleanup after a failing test (Windows: nothing to do). */
function cleanup(name) {
  if (WINDOWS) return;
  try {
    fs.unlinkSync(path.join('/dev/shm', name));
  } catch (error) {
    if (error.code !== 'ENOENT') throw error;
  }
}

function checkNoLeaks() {
  after(() => {
    const leaked = [...made].filter(exists);
    leaked.forEach(cleanup);
    assert.deepEqual(leaked, [], 'segments left behind by this test file');
  });
}

/**
 * Runs a Node or Python script as a child process and resolves with
 * { code, signal, stdout, stderr }. `input` is written to stdin; `uid` and
 * `gid` (root only) run it as another user.
 */
function run(command, args, { input, env, timeout = 60_000, cwd = PACKAGE, uid, gid } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd, // `node -e` resolves '@shmkit/shm' from its working directory
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(uid === undefined ? {} : { uid }),
      ...(gid === undefined ? {} : { gid }),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} timed out\n${stderr}`));
    }, timeout);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

/**
 * Starts `node -e <source>` (cwd: the package) and follows it: `line()` resolves
 * with the next JSON line of its stdout, `exited` when it has exited, `closed`
 * with { code, signal, stderr, rest } once every holder of its stdout/stderr
 * (a tracker it started, say) has closed them. SIGKILLed after 60 s.
 */
function startScript(source, { env = process.env, detached = false, stdio = ['ignore', 'pipe', 'pipe'] } = {}) {
  const child = spawn(process.execPath, ['-e', source], { cwd: PACKAGE, env, stdio, detached });
  const handle = { child, stdout: '', stderr: '', lines: [], waiters: [] };
  child.stdout.setEncoding('utf8').on('data', (d) => {
    handle.stdout += d;
    let newline;
    while ((newline = handle.stdout.indexOf('\n')) !== -1) {
      const text = handle.stdout.slice(0, newline);
      handle.stdout = handle.stdout.slice(newline + 1);
      if (!text.trim()) continue;
      try {
        handle.lines.push(JSON.parse(text));
      } catch {
        // not thrown here (it would fail the file, not the test): the test's next line() rejects
        handle.lines.push(new Error(`the child printed a line that is not JSON: ${JSON.stringify(text.slice(0, 500))}`));
      }
    }
    while (handle.lines.length && handle.waiters.length) handle.waiters.shift()(handle.lines.shift());
  });
  child.stderr?.setEncoding('utf8').on('data', (d) => (handle.stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  handle.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  handle.closed = new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr: handle.stderr, rest: handle.lines });
    });
  });
  handle.line = () =>
    new Promise((resolve, reject) => {
      const take = (line) => (line instanceof Error ? reject(line) : resolve(line));
      if (handle.lines.length) return take(handle.lines.shift());
      handle.waiters.push(take);
      handle.closed.then((r) => reject(new Error(`child ended (code ${r.code}, signal ${r.signal})\n${r.stderr}`)));
    });
  return handle;
}

/** Runs `node -e <source>` with the package resolvable as @shmkit/shm. */
function runNode(source, options) {
  return run(process.execPath, ['-e', source], options);
}


// The futex(2) syscall number, to find threads asleep in a futex through
// /proc/<pid>/task/*/syscall (tests skip where it is unknown).
const FUTEX_SYSCALL = { x64: 202, arm64: 98, ia32: 240, arm: 240 }[process.arch];
const NO_PROBE = WINDOWS
  ? 'no /proc there to see a thread asleep on the word (Windows wake-ups across processes: 25-windows)'
  : FUTEX_SYSCALL === undefined && `no futex syscall number known for ${process.arch}`;

/**
 * Threads of process `pid` blocked in a shared FUTEX_WAIT on the int32 at
 * `byteOffset` of segment `name` (through any of the process's mappings of
 * it, such as a readonly attach's shadow), or in a futex_waitv that includes
 * that word (waitAsync threads on Linux 5.16+). Uses only `fs`, Buffer and
 * FUTEX_SYSCALL, so child scripts get it by toString() after defining
 * FUTEX_SYSCALL.
 */
function sleepersOn(pid, name, byteOffset) {
  const addresses = new Set();
  for (const line of fs.readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) \S+ ([0-9a-f]+) \S+ \d+\s+(.*)$/.exec(line);
    if (!m || m[4].replace(/ \(deleted\)$/, '') !== `/dev/shm/${name}`) continue;
    const start = BigInt(`0x${m[1]}`);
    const address = start + BigInt(byteOffset) - BigInt(`0x${m[3]}`);
    if (address >= start && address < BigInt(`0x${m[2]}`)) addresses.add(address);
  }
  const tids = [];
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    let fields;
    try {
      fields = fs.readFileSync(`/proc/${pid}/task/${tid}/syscall`, 'utf8').trim().split(' ');
    } catch (error) {
      if (error.code === 'ENOENT' || error.code === 'ESRCH') continue; // the thread has ended
      throw error;
    }
    if (Number(fields[0]) === 449 && fields.length >= 3) {
      // futex_waitv(waiters, count, …), the same number on every architecture:
      // the words are in the caller's memory, 24 bytes each (val, uaddr, flags).
      const count = Math.min(Number(BigInt(fields[2])), 128);
      const table = Buffer.alloc(24 * count);
      let fd;
      try {
        fd = fs.openSync(`/proc/${pid}/mem`, 'r');
        fs.readSync(fd, table, 0, table.length, Number(BigInt(fields[1])));
      } catch {
        continue; // the thread moved on, or its memory cannot be read
      } finally {
        if (fd !== undefined) fs.closeSync(fd);
      }
      for (let i = 0; i < count; i++) {
        const shared = (table.readUInt32LE(24 * i + 16) & 128) === 0; // no FUTEX2_PRIVATE
        if (shared && addresses.has(table.readBigUInt64LE(24 * i + 8))) tids.push(tid);
      }
      continue;
    }
    if (Number(fields[0]) !== FUTEX_SYSCALL || fields.length < 3) continue;
    const op = Number(BigInt(fields[2]));
    const shared = (op & 128) === 0; // no FUTEX_PRIVATE_FLAG
    const waiting = (op & 127) === 0 || (op & 127) === 9; // FUTEX_WAIT, FUTEX_WAIT_BITSET
    if (shared && waiting && addresses.has(BigInt(fields[1]))) tids.push(tid);
  }
  if (pid === process.pid) {
    // waitAsync through io_uring: no thread sleeps; the kernel holds the wait
    // on the futex itself. The addon lists the waits it has submitted whose
    // completion the kernel has not posted.
    const binding = require(require('node:path').join(require('node:path').dirname(require.resolve('@shmkit/shm')), 'core', 'binding.js'));
    for (const armed of binding.futex.armed()) if (addresses.has(armed.address)) tids.push(`io_uring:${armed.id}`);
  }
  return tids;
}

/** "3.11" for a Python interpreter command, or null when it cannot run. */
function versionOf(command) {
  const r = spawnSync(command, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** A CPython >= 3.13 from pyenv, if one is installed. */
function findPython313() {
  // pyenv's layout is POSIX's: on Windows (under Wine) it would find Linux CPythons, not Windows ones.
  if (WINDOWS) return null;
  const root = process.env.PYENV_ROOT || path.join(os.homedir(), '.pyenv');
  let versions = [];
  try {
    versions = fs.readdirSync(path.join(root, 'versions'));
  } catch {
    return null;
  }
  const candidates = versions
    .map((v) => ({ v, m: /^3\.(\d+)\.(\d+)$/.exec(v) }))
    .filter(({ m }) => m && Number(m[1]) >= 13)
    .sort((a, b) => Number(b.m[1]) - Number(a.m[1]) || Number(b.m[2]) - Number(a.m[2]));
  for (const { v } of candidates) {
    const exe = path.join(root, 'versions', v, 'bin', 'python3');
    if (fs.existsSync(exe) && versionOf(exe)) return exe;
  }
  return null;
}

/** True while `pid` runs (a zombie or a missing /proc entry counts as gone). */
function pidAlive(pid) {
  if (WINDOWS) {
    // Never /proc there: under Wine, Z:\proc is Linux's, whose pids are not Windows' (libuv's
    // kill(pid, 0) there opens the process and reads its exit code)
    try {
      process.kill(pid, 0);
      return true;
    } catch (error) {
      return error.code === 'EPERM';
    }
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Resolves once `predicate()` (sync or async) is true; fails the test after `deadlineMs`. */
async function pollUntil(predicate, what, deadlineMs = 15_000) {
  const end = Date.now() + deadlineMs;
  while (!(await predicate())) {
    if (Date.now() > end) assert.fail(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}


/** Why a private tmpfs cannot be mounted here (not root, no CAP_SYS_ADMIN, no unshare), or false. */
const NO_PRIVATE_TMPFS = (() => {
  if (process.platform !== 'linux') return 'Linux only';
  const probe = spawnSync('unshare', ['-m', 'sh', '-c', 'mount -t tmpfs -o size=1m tmpfs /dev/shm'], { encoding: 'utf8' });
  if (probe.error) return `unshare cannot run: ${probe.error.message}`;
  return probe.status === 0 ? false : `cannot mount a private tmpfs: ${probe.stderr.trim() || `exit ${probe.status}`}`;
})();

/**
 * Runs `node -e source` with a private tmpfs of `sizeMiB` on /dev/shm (its own
 * mount namespace: the machine's /dev/shm is never touched; the tmpfs is gone
 * when the child is). Resolves with { code, signal, stdout, stderr, lines }
 * (`lines`: the JSON objects the child printed, one per line).
 */
async function inPrivateShm(source, { sizeMiB = 64 } = {}) {
  const result = await run('unshare', [
    '-m',
    'sh',
    '-c',
    `mount -t tmpfs -o size=${sizeMiB}m tmpfs /dev/shm && exec "$@"`,
    'sh',
    process.execPath,
    '-e',
    source,
  ]);
  result.lines = result.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line));
  return result;
}

/** The names of the segments there are (/dev/shm; on Windows the sections of this session). */
function listNames() {
  if (WINDOWS) return require(path.join(PACKAGE, 'dist', 'core', 'binding.js')).win32.listSegments();
  return fs.readdirSync('/dev/shm');
}

/** The system calls that open a segment, as errors name them. */
const CALLS = WINDOWS
  ? { create: 'CreateFileMappingW', attach: 'OpenFileMappingW', unlink: 'OpenFileMappingW' }
  : { create: 'shm_open', attach: 'shm_open', unlink: 'shm_unlink' };

/** The prefix of generated names: CPython's ('wnsm_' on Windows). */
const GENERATED = WINDOWS ? 'wnsm_' : 'psm_';

/** The size a segment of `n` bytes reports: whole pages on Windows (as CPython's there), else `n`. */
function segSize(n) {
  return WINDOWS ? Math.ceil(n / 4096) * 4096 : n;
}

/**
 * The `errno` of a Node system error with this `code`, as Node numbers it on this platform
 * (negative): the OS's errno on POSIX, libuv's number on Windows (ENOENT: -2 on Linux, -4058 there).
 */
function sysErrno(code) {
  for (const [errno, [name]] of require('node:util').getSystemErrorMap()) if (name === code) return errno;
  throw new Error(`no errno for ${code}`);
}

/**
 * For a test file that cannot run on Windows: there it registers one skipped test with the reason
 * and returns true (the file then returns at once); elsewhere false.
 */
function skipFileOnWindows(title, reason) {
  if (!WINDOWS) return false;
  require('node:test').test(title, { skip: `not on Windows: ${reason}` }, () => {});
  return true;
}

/** For a test or suite that cannot run on Windows: `{ skip: reason }` there, `{}` elsewhere. */
function notOnWindows(reason) {
  return WINDOWS ? { skip: `not on Windows: ${reason}` } : {};
}

module.exports = {
  WINDOWS,
  notOnWindows,
  skipFileOnWindows,
  segSize,
  sysErrno,
  listNames,
  CALLS,
  GENERATED,
  NO_PRIVATE_TMPFS,
  inPrivateShm,
  RUN_PREFIX,
  PACKAGE,
  FUTEX_SYSCALL,
  NO_PROBE,
  uniqueName,
  remember,
  exists,
  cleanup,
  checkNoLeaks,
  run,
  runNode,
  startScript,
  sleepersOn,
  versionOf,
  findPython313,
  pidAlive,
  pollUntil,
};
