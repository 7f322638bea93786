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
 * - If the tracker cannot be started, creating still works; one process warning
 *   (SHMKIT_TRACKER_UNAVAILABLE) says crash cleanup is off.
 *
 * @internal
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { isMainThread, threadId } from 'node:worker_threads';

/** Linger before ending the pipe of an empty registry. */
const IDLE_MS = 1000;

/** The tracker's entry point, next to this file once compiled. */
export const TRACKER_MAIN = path.join(__dirname, 'tracker-main.js');

const registered = new Set<string>();
let child: ChildProcess | undefined;
let idleTimer: NodeJS.Timeout | undefined;
let unavailable = false;

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
  return true;
}

/** Registers a segment this process created with `track: true`. */
export function register(name: string): void {
  if (idleTimer !== undefined) {
    clearTimeout(idleTimer);
    idleTimer = undefined;
  }
  registered.add(name);
  if (child === undefined || child.stdin?.writableEnded) {
    child = undefined;
    if (!start()) return;
    // A fresh tracker learns every name still registered (after a tracker died).
    for (const other of registered) if (other !== name) send(`REGISTER ${other}\n`);
  }
  send(`REGISTER ${name}\n`);
}

/** Forgets a name once this process has unlinked it. No-op for names it does not track. */
export function unregister(name: string): void {
  if (!registered.delete(name)) return;
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
  return child?.pid;
}
