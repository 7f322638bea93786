/**
 * Client of the crash-cleanup tracker (see tracker-main.ts and
 * docs/decisions/0009-tracker-socket.md).
 *
 * A process that creates a segment with `track: true` keeps a connection (a
 * Unix stream socket in the private directory, private-dir.ts) to its tree's
 * tracker and tells it each name before the create (INTENT, with the inode the
 * name had before, 0 if none), the outcome (nothing more on success, CANCEL on
 * failure) and UNREGISTER at unlink. Every line is written synchronously into
 * the kernel (a blocking send) before `create` returns, so no name can be lost
 * once the creator has it: when this process ends, however it ends, the tracker
 * reads what is queued, sees the connection close and unlinks what was left.
 *
 * - Nothing happens until the first tracked create. The tracker is spawned, if
 *   needed, before the segment is made: an interrupt at any instant of `create`
 *   leaves nothing behind.
 * - One tracker per process tree: the process that spawns it sets
 *   SHMKIT_TRACKER_SOCKET in process.env, so the processes it spawns later (and
 *   its worker threads) connect to the same tracker. A client whose inherited
 *   socket is gone, or whose tracker dies, spawns its own and registers with it
 *   every name it still tracks.
 * - One connection per JavaScript environment: a worker thread has its own, and
 *   the addon closes it when the worker ends (terminate() included), so what a
 *   worker created and did not unlink is unlinked then.
 * - A normal exit (process 'exit', uncaught exceptions included) unlinks what is
 *   still registered right here, before the process is gone, and writes the
 *   warning to this process's own stderr: the name is free at once and the
 *   warning cannot be lost with a pipe its reader stops reading at exit.
 * - The tracker runs detached (own process group and session) and never keeps
 *   this process alive; the connection closes after IDLE_MS with nothing registered.
 * - If the tracker cannot be used (no private directory, spawn failed), creating
 *   still works; one process warning (SHMKIT_TRACKER_UNAVAILABLE) says crash
 *   cleanup is off.
 *
 * @internal
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isMainThread, threadId } from 'node:worker_threads';
import { socket as sockets, unlinkSegment } from '../core/binding';
import { leakWarning, socketFile, stateDir } from './tracker-state';

/** Linger before closing the connection of an empty registry. */
const IDLE_MS = 1000;
/** A send blocked this long (the tracker is stopped or stuck) gives the tracker up. */
const SEND_TIMEOUT_MS = 10_000;

/** The tracker's entry point, next to this file once compiled. */
export const TRACKER_MAIN = path.join(__dirname, 'tracker-main.js');
export const SOCKET_ENV = 'SHMKIT_TRACKER_SOCKET';

/** Names this environment created with track: true and has not unlinked. */
const registered = new Set<string>();
let connection: { fd: number; trackerPid: number } | undefined;
let idleTimer: NodeJS.Timeout | undefined;
let unavailable = false;
let exitHooked = false;

function warnUnavailable(reason: string): void {
  if (unavailable) return;
  unavailable = true; // do not try again in this environment: one warning, no spawn per create
  process.emitWarning(
    `shmkit could not start its tracker process (${reason}); crash cleanup is off: ` +
      'segments created with track: true are not unlinked if this process dies without unlinking them.',
    { code: 'SHMKIT_TRACKER_UNAVAILABLE' },
  );
}

/** Connects to `file` if it is a tracker socket of this user's private directory. */
function join(file: string, dir: string): boolean {
  const match = /^tracker-(\d+)\.sock$/.exec(path.basename(file));
  if (!match || path.dirname(file) !== dir) return false;
  try {
    connection = { fd: sockets.connect(file, SEND_TIMEOUT_MS), trackerPid: Number(match[1]) };
    return true;
  } catch {
    return false; // ENOENT, ECONNREFUSED: that tracker is gone
  }
}

/** Spawns a tracker listening on a socket bound here, and connects to it. */
function spawnTracker(dir: string): boolean {
  if (!fs.existsSync(TRACKER_MAIN)) {
    warnUnavailable(`${TRACKER_MAIN} is missing`);
    return false;
  }
  const bound = path.join(dir, `spawn-${process.pid}-${randomBytes(4).toString('hex')}.sock`);
  let listenFd: number;
  try {
    listenFd = sockets.listen(bound, 511);
    fs.chmodSync(bound, 0o600);
  } catch (error) {
    warnUnavailable(`cannot listen on ${bound}: ${(error as Error).message}`);
    return false;
  }
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ELECTRON_RUN_AS_NODE: '1',
    SHMKIT_TRACKER_CREATOR_PID: String(process.pid), // published for `shmkit ls`
  };
  delete env.NODE_OPTIONS; // no --inspect, --require hooks or loaders in the tracker
  delete env.NODE_TEST_CONTEXT;
  delete env[SOCKET_ENV];
  let pid: number | undefined;
  try {
    const proc = spawn(process.execPath, [TRACKER_MAIN, dir, bound], {
      detached: true, // own process group and session: the terminal's signals do not reach it
      stdio: ['ignore', 'ignore', 'inherit', listenFd], // warnings go to our stderr; fd 3 listens
      cwd: path.parse(__dirname).root, // hold no directory busy
      env,
      windowsHide: true,
    });
    proc.on('error', () => {});
    proc.unref();
    pid = proc.pid;
  } catch {
    // reported below
  }
  sockets.close(listenFd); // the tracker holds it now: the socket lives exactly as long as it
  if (pid === undefined) {
    fs.rmSync(bound, { force: true });
    warnUnavailable('spawn failed');
    return false;
  }
  // Connections queue in the listen backlog until the tracker accepts them:
  // this connect and the first lines succeed before it has even started.
  const file = socketFile(pid, dir);
  try {
    fs.renameSync(bound, file);
  } catch (error) {
    warnUnavailable(`cannot rename ${bound}: ${(error as Error).message}`);
    return false;
  }
  if (!join(file, dir)) {
    warnUnavailable(`cannot connect to ${file}`);
    return false;
  }
  // Processes spawned from now on join this tracker.
  process.env[SOCKET_ENV] = file;
  return true;
}

/** Ensures a connection: the inherited tracker's, else a tracker of our own. */
function connect(): boolean {
  if (connection !== undefined) return true;
  if (unavailable) return false;
  let dir: string;
  try {
    dir = stateDir()!;
  } catch (error) {
    const e = error as Error & { code?: string };
    warnUnavailable(`${e.code ?? 'error'}: ${e.message}`);
    return false;
  }
  const inherited = process.env[SOCKET_ENV];
  if (!(inherited !== undefined && join(inherited, dir)) && !spawnTracker(dir)) return false;
  if (!exitHooked) {
    exitHooked = true;
    process.on('exit', cleanUpAtExit);
  }
  // A new tracker learns every name still tracked (after the last one died).
  if (registered.size > 0) {
    let lines = '';
    for (const name of registered) lines += `REGISTER ${name}\n`;
    if (!write(lines)) return false;
  }
  return true;
}

function disconnect(): void {
  if (connection === undefined) return;
  try {
    sockets.close(connection.fd);
  } catch {
    // closed
  }
  connection = undefined;
}

/** One send into the kernel; false (and the connection dropped) if it failed. */
function write(lines: string): boolean {
  if (connection === undefined) return false;
  try {
    sockets.send(connection.fd, lines);
    return true;
  } catch {
    disconnect(); // EPIPE / ECONNRESET: the tracker died; EAGAIN: it is stuck
    return false;
  }
}

/** Sends `lines`, replacing a dead tracker once. False if crash cleanup is off. */
function send(lines: string): boolean {
  if (write(lines)) return true;
  return connect() && write(lines);
}

/** The inode `name` has now (0: none); undefined where segments are not files. */
function inodeOf(name: string): number | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    const stat = fs.lstatSync(path.join('/dev/shm', name), { throwIfNoEntry: false });
    return stat === undefined ? 0 : stat.ino;
  } catch {
    return undefined;
  }
}

/**
 * Called before creating `name` with track: true. Starts or joins the tracker
 * and tells it the name first, so that no instant of the create can leak it.
 * Returns a token for `afterCreate`.
 */
export function beforeCreate(name: string): { intent: boolean } {
  if (idleTimer !== undefined) {
    clearTimeout(idleTimer);
    idleTimer = undefined;
  }
  if (!connect()) return { intent: false };
  const prior = inodeOf(name);
  if (prior === undefined) return { intent: false };
  return { intent: send(`INTENT ${prior} ${name}\n`) };
}

/** Called once the create of `name` has succeeded (`created`) or failed. */
export function afterCreate(name: string, created: boolean, token: { intent: boolean }): void {
  if (created) {
    registered.add(name);
    if (!token.intent && connection !== undefined) send(`REGISTER ${name}\n`);
  } else {
    if (token.intent) send(`CANCEL ${name}\n`);
    scheduleIdle();
  }
}

/** Forgets a name once this process has unlinked it. No-op for names it does not track. */
export function unregister(name: string): void {
  if (!registered.delete(name)) return;
  if (connection !== undefined) write(`UNREGISTER ${name}\n`);
  scheduleIdle();
}

function scheduleIdle(): void {
  if (registered.size !== 0 || connection === undefined || idleTimer !== undefined) return;
  idleTimer = setTimeout(() => {
    idleTimer = undefined;
    if (registered.size === 0) disconnect();
  }, IDLE_MS);
  idleTimer.unref();
}

/** At a normal exit: unlink what is left now, and say so on our own stderr. */
function cleanUpAtExit(): void {
  if (registered.size === 0) return;
  const removed: string[] = [];
  for (const name of registered) {
    try {
      unlinkSegment(name);
      removed.push(name);
    } catch {
      // ENOENT: someone else unlinked it; anything else: the tracker retries
    }
  }
  // The tracker must not unlink a name someone recreates after this exit.
  let lines = '';
  for (const name of removed) lines += `UNREGISTER ${name}\n`;
  if (lines !== '') write(lines);
  registered.clear();
  if (removed.length === 0) return;
  const who = isMainThread ? `process ${process.pid}` : `worker thread ${threadId} of process ${process.pid}`;
  try {
    fs.writeSync(2, `(shmkit:${process.pid}) [SHMKIT_TRACKER_LEAKED] Warning: ${leakWarning(removed, who)}\n`);
  } catch {
    // nowhere to report
  }
}

/** Whether this environment tracks `name`. */
export function isTracked(name: string): boolean {
  return registered.has(name);
}

/** The pid of the tracker this environment is connected to, if any (for shmkit's tests). */
export function trackerPid(): number | undefined {
  return connection?.trackerPid;
}
