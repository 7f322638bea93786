/**
 * Client of the crash-cleanup tracker (see tracker-main.ts).
 *
 * A process that creates a segment with `track: true` registers its name with a
 * helper process, the tracker, over a pipe (the tracker's stdin). `unlink()`
 * unregisters it. When the pipe reaches EOF — this process has ended, however
 * it ended, SIGKILL included — the tracker unlinks every name still registered
 * and prints one warning naming them.
 *
 * - Nothing happens until the first tracked create: the tracker is spawned lazily.
 * - It runs detached, in its own process group (and session), so the signals
 *   that hit this process's terminal group do not reach it; it ignores SIGINT,
 *   SIGTERM and SIGHUP anyway.
 * - It never keeps this process alive: the child and its pipe are unref'd.
 * - When the registry becomes empty the pipe is ended (after a short, unref'd
 *   linger, so a create/unlink loop does not spawn a process per segment); the
 *   tracker then exits and the next tracked create spawns a new one.
 * - One client per JavaScript environment: each worker thread that creates
 *   tracked segments has its own client and its own tracker. A worker's pipe
 *   closes when the worker ends, so the segments it created with track: true
 *   and did not unlink are unlinked then (not at process exit).
 * - One tracker per process tree: the main thread that spawns a tracker sets
 *   SHMKIT_TRACKER_FIFO in process.env to the tracker's FIFO, so the child
 *   processes it spawns afterwards inherit it. A process whose environment has
 *   it opens that FIFO (O_WRONLY | O_NONBLOCK: ENOENT or ENXIO when that
 *   tracker is gone) at its first tracked create and writes
 *   `REGISTER <pid> <name>` / `UNREGISTER <pid> <name>` there instead of
 *   spawning a tracker; the tracker polls its pid and cleans up when it dies.
 *   If the FIFO cannot be used (gone, full, the tracker died), it spawns its own.
 * - If the tracker cannot be started, creating still works; one process warning
 *   (SHMKIT_TRACKER_UNAVAILABLE) says crash cleanup is off.
 *
 * @internal
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { isMainThread, threadId } from 'node:worker_threads';
import { stateDir } from './tracker-state';

/** Linger before ending the pipe of an empty registry. */
const IDLE_MS = 1000;

/** The tracker's entry point, next to this file once compiled. */
export const TRACKER_MAIN = path.join(__dirname, 'tracker-main.js');

const registered = new Set<string>();
let child: ChildProcess | undefined;
let idleTimer: NodeJS.Timeout | undefined;
let unavailable = false;
/** The inherited FIFO of the tree's tracker, while this process writes to it. */
let fifo: { fd: number; pid: number } | undefined;
/** Tried (and given up on) the inherited FIFO: spawn our own from now on. */
let fifoRefused = false;

export const FIFO_ENV = 'SHMKIT_TRACKER_FIFO';

/** The FIFO a tracker with this pid creates (see tracker-main.ts). */
export function fifoPathOf(pid: number): string {
  return path.join(stateDir(), `tracker-${pid}.fifo`);
}

/** Opens the inherited FIFO at the first tracked create (main thread only). */
function openFifo(): boolean {
  if (fifo !== undefined) return true;
  if (fifoRefused || !isMainThread) return false;
  fifoRefused = true; // one try per process: after a failure, our own tracker
  const file = process.env[FIFO_ENV];
  const match = file ? /tracker-(\d+)\.fifo$/.exec(file) : null;
  if (!file || !match) return false;
  try {
    const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
    if (!fs.fstatSync(fd).isFIFO()) {
      fs.closeSync(fd);
      return false;
    }
    fifo = { fd, pid: Number(match[1]) };
    fifoRefused = false;
    return true;
  } catch {
    return false; // ENOENT / ENXIO: that tracker is gone
  }
}

/** Writes one line to the FIFO; false (and the FIFO dropped) if it cannot. */
function sendFifo(line: string): boolean {
  if (fifo === undefined) return false;
  try {
    // A line is far below PIPE_BUF: written whole or not at all.
    if (fs.writeSync(fifo.fd, line) === Buffer.byteLength(line)) return true;
  } catch {
    // EAGAIN (full), EPIPE (the tracker died)
  }
  try {
    fs.closeSync(fifo.fd);
  } catch {
    // closed
  }
  fifo = undefined;
  fifoRefused = true;
  return false;
}

function warnUnavailable(reason: string): void {
  if (unavailable) return;
  unavailable = true; // do not try again in this process: one warning, no spawn per create
  process.emitWarning(
    `shmkit could not start its tracker process (${reason}); crash cleanup is off: ` +
      'segments created with track: true are not unlinked if this process dies without unlinking them.',
    { code: 'SHMKIT_TRACKER_UNAVAILABLE' },
  );
}

function send(line: string): boolean {
  const stdin = child?.stdin;
  if (!stdin || stdin.destroyed || stdin.writableEnded) return false;
  // libuv writes to an idle pipe at once, so the line is in the kernel before
  // create() returns; a line is far below PIPE_BUF, so it is never torn.
  stdin.write(line);
  return true;
}

function start(): boolean {
  if (unavailable) return false;
  if (!existsSync(TRACKER_MAIN)) {
    warnUnavailable(`${TRACKER_MAIN} is missing`);
    return false;
  }
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ELECTRON_RUN_AS_NODE: '1',
    SHMKIT_TRACKER_CREATOR_PID: String(process.pid), // published for `shmkit ls`
  };
  delete env.NODE_OPTIONS; // no --inspect, --require hooks or loaders in the tracker
  delete env.NODE_TEST_CONTEXT;
  let proc: ChildProcess;
  try {
    const creator = isMainThread ? `process ${process.pid}` : `worker thread ${threadId} of process ${process.pid}`;
    proc = spawn(process.execPath, [TRACKER_MAIN, creator], {
      detached: true, // own process group and session: the terminal's signals do not reach it
      stdio: ['pipe', 'ignore', 'inherit'], // warnings go to our stderr
      cwd: path.parse(__dirname).root, // hold no directory busy
      env,
      windowsHide: true,
    });
  } catch (error) {
    warnUnavailable((error as Error).message);
    return false;
  }
  if (proc.pid === undefined || !proc.stdin) {
    // spawn() failed (ENOENT, EAGAIN, …): the 'error' event follows.
    proc.on('error', () => {});
    warnUnavailable('spawn failed');
    return false;
  }
  proc.on('error', () => {});
  proc.stdin.on('error', () => {}); // EPIPE if the tracker was killed
  proc.on('exit', () => {
    // The tracker is gone (killed?): the next tracked create starts a new one
    // and hands it every name still registered.
    if (child === proc) child = undefined;
  });
  proc.unref();
  (proc.stdin as unknown as { unref?: () => void }).unref?.();
  child = proc;
  // Child processes spawned from now on join this tracker (main thread only:
  // process.env is per process).
  if (isMainThread) process.env[FIFO_ENV] = fifoPathOf(proc.pid);
  return true;
}

/** Registers a segment this process created with `track: true`. */
export function register(name: string): void {
  if (idleTimer !== undefined) {
    clearTimeout(idleTimer);
    idleTimer = undefined;
  }
  registered.add(name);
  if (fifo !== undefined || (child === undefined && openFifo())) {
    if (sendFifo(`REGISTER ${process.pid} ${name}\n`)) return;
    // The FIFO failed: our own tracker, told every name (below).
  }
  if (child === undefined || child.stdin?.writableEnded) {
    child = undefined;
    if (!start()) return;
    // A fresh tracker learns every name still registered (after a tracker died).
    for (const other of registered) if (other !== name) send(`REGISTER ${other}\n`);
    // (Names sent to a tree tracker's FIFO stay registered there too; whichever
    // tracker sees this process die first unlinks them, the other finds ENOENT.)
  }
  send(`REGISTER ${name}\n`);
}

/** Forgets a name once this process has unlinked it. No-op for names it does not track. */
export function unregister(name: string): void {
  if (!registered.delete(name)) return;
  if (fifo !== undefined) {
    if (!sendFifo(`UNREGISTER ${process.pid} ${name}\n`)) send(`UNREGISTER ${name}\n`);
    return;
  }
  send(`UNREGISTER ${name}\n`);
  if (registered.size === 0 && child !== undefined && idleTimer === undefined) {
    idleTimer = setTimeout(() => {
      idleTimer = undefined;
      if (registered.size !== 0 || child === undefined) return;
      child.stdin?.end();
      child = undefined;
    }, IDLE_MS);
    idleTimer.unref();
  }
}

/** Whether this process (this thread's client) tracks `name`. */
export function isTracked(name: string): boolean {
  return registered.has(name);
}

/** The pid of the running tracker, if any (for shmkit's tests). */
export function trackerPid(): number | undefined {
  return fifo?.pid ?? child?.pid;
}
