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
 * - The tracker must prove it is one: the spawner's first line is HELLO and
 *   the tracker answers `HELLO <its pid>` when it runs. The spawner does not
 *   wait for it (creates go on; their lines queue in the backlog): a timer
 *   looks for the answer. None within greeting.timeoutMs (a packaged Electron
 *   app whose RunAsNode fuse is disabled starts a copy of itself instead of
 *   Node; helper-process.ts) and the spawner kills what it started, warns, and
 *   keeps only the cleanup at a normal exit. Inside Electron a disabled fuse is
 *   found before spawning anything.
 * - If the tracker cannot be used (no private directory, spawn failed, no
 *   greeting), creating still works; one process warning
 *   (SHMKIT_TRACKER_UNAVAILABLE) says crash cleanup is off. What is left at a
 *   normal exit is still unlinked then.
 *
 * @internal
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isMainThread, threadId } from 'node:worker_threads';
import { socket as sockets, unlinkSegment } from '../core/binding';
import { greeting, killHelper, RUN_AS_NODE_FIX, runAsNodeRefusal, spawnHelper } from './helper-process';
import { leakWarning, socketFile, stateDir } from './tracker-state';

/** Linger before closing the connection of an empty registry. */
const IDLE_MS = 1000;
/** A send blocked this long (the tracker is stopped or stuck) gives the tracker up. */
const SEND_TIMEOUT_MS = 10_000;
/** How often the spawner looks for the tracker's greeting. */
const GREETING_POLL_MS = 20;
/** At a normal exit, how long to wait for a greeting still due before killing what was spawned. */
const GREETING_AT_EXIT_MS = 1000;

/** The tracker's entry point, next to this file once compiled. */
export const TRACKER_MAIN = path.join(__dirname, 'tracker-main.js');
export const SOCKET_ENV = 'SHMKIT_TRACKER_SOCKET';

/** Names this environment created with track: true and has not unlinked. */
const registered = new Set<string>();
let connection: { fd: number; trackerPid: number } | undefined;
/** The tracker this environment spawned, until it has greeted (on `connection`). */
let unconfirmed: { pid: number; fd: number; file: string; since: number; heard: string } | undefined;
/** Trackers this environment spawned that ended without greeting: a second one is given up. */
let endedUngreeted = 0;
let idleTimer: NodeJS.Timeout | undefined;
let unavailable = false;
let exitHooked = false;

function warnUnavailable(reason: string): void {
  if (unavailable) return;
  unavailable = true; // do not try again in this environment: one warning, no spawn per create
  process.emitWarning(
    `shmkit could not start its tracker process (${reason}); crash cleanup is off: ` +
      'segments created with track: true are not unlinked if this process dies without unlinking them ' +
      '(they are still unlinked when it exits normally).',
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
  const refusal = runAsNodeRefusal();
  if (refusal !== undefined) {
    warnUnavailable(`${refusal}; ${RUN_AS_NODE_FIX}`);
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
  let pid: number | undefined;
  try {
    // Warnings go to our stderr; fd 3 listens.
    const proc = spawnHelper(TRACKER_MAIN, [dir, bound], ['ignore', 'ignore', 'inherit', listenFd], {
      SHMKIT_TRACKER_CREATOR_PID: String(process.pid), // published for `shmkit ls`
      [SOCKET_ENV]: undefined,
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
  if (!join(file, dir) || !write('HELLO\n')) {
    killHelper(pid);
    warnUnavailable(`cannot connect to ${file}`);
    return false;
  }
  // Processes spawned from now on join this tracker.
  process.env[SOCKET_ENV] = file;
  unconfirmed = { pid, fd: connection!.fd, file, since: Date.now(), heard: '' };
  lookForGreeting(0);
  return true;
}

/**
 * Looks for the greeting of the tracker this environment spawned (waiting up
 * to `waitMs`, 0 from the timer); looks again in GREETING_POLL_MS until it
 * comes or greeting.timeoutMs has passed, then gives the tracker up.
 */
function lookForGreeting(waitMs: number): void {
  const pending = unconfirmed;
  if (pending === undefined) return;
  let chunk: string | null;
  try {
    chunk = sockets.receive(pending.fd, waitMs);
  } catch {
    chunk = null; // ECONNRESET: what we spawned closed the socket without a word
  }
  if (chunk !== null) pending.heard += chunk;
  const ms = greeting.timeoutMs;
  if (pending.heard.includes('\n')) {
    unconfirmed = undefined;
    // (Its pid is the one spawned unless a wrapper forked it: not checked.)
    if (!/^HELLO \d+\n$/.test(pending.heard)) giveUp(pending, `answered ${JSON.stringify(pending.heard.slice(0, 40))}`);
    else scheduleIdle();
  } else if (chunk === null) {
    ended(pending);
  } else if (Date.now() - pending.since >= ms) {
    giveUp(pending, `said nothing within ${ms} ms`);
  } else {
    setTimeout(() => lookForGreeting(0), GREETING_POLL_MS).unref();
  }
}

/** Kills what was spawned as a tracker, with its process group, and forgets its socket. */
function forget(pending: NonNullable<typeof unconfirmed>): void {
  unconfirmed = undefined;
  killHelper(pending.pid);
  if (connection?.fd === pending.fd) disconnect();
  fs.rmSync(pending.file, { force: true });
  if (process.env[SOCKET_ENV] === pending.file) delete process.env[SOCKET_ENV];
}

/**
 * What was spawned as a tracker ended (or its connection failed) before it
 * greeted. A tracker killed while starting is replaced at the next tracked
 * create, as any dead tracker; a second one that ends so is given up.
 */
function ended(pending: NonNullable<typeof unconfirmed>): void {
  forget(pending);
  if (++endedUngreeted >= 2) giveUp(pending, 'ended without a word, twice');
}

/**
 * The process this environment spawned as its tracker never greeted: it is
 * not one (or is not running as Node). Kill its process group, forget its
 * socket, and keep only the cleanup at a normal exit.
 */
function giveUp(pending: NonNullable<typeof unconfirmed>, what: string): void {
  forget(pending);
  warnUnavailable(
    `the process it started as its tracker (pid ${pending.pid}, ${process.execPath} with ELECTRON_RUN_AS_NODE=1) ` +
      `${what} and was killed: if this is a packaged Electron app whose RunAsNode fuse is disabled, that started ` +
      `a copy of the app instead of Node; ${RUN_AS_NODE_FIX}`,
  );
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
  const { fd } = connection;
  try {
    sockets.close(fd);
  } catch {
    // closed
  }
  connection = undefined;
  // A tracker that never greeted is given up with the connection (its descriptor
  // number may be reused from now on).
  if (unconfirmed?.fd === fd) ended(unconfirmed);
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

/**
 * Windows has no tracker (nor does CPython there): a segment lives while some process holds a
 * handle to it, and the kernel closes a crashed process's handles, so nothing can leak.
 */
const NO_TRACKER = process.platform === 'win32';

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
  if (NO_TRACKER) return { intent: false };
  if (idleTimer !== undefined) {
    clearTimeout(idleTimer);
    idleTimer = undefined;
  }
  if (!exitHooked) {
    exitHooked = true; // with a tracker or without one
    process.on('exit', cleanUpAtExit);
  }
  if (!connect()) return { intent: false };
  const prior = inodeOf(name);
  if (prior === undefined) return { intent: false };
  return { intent: send(`INTENT ${prior} ${name}\n`) };
}

/** Called once the create of `name` has succeeded (`created`) or failed. */
export function afterCreate(name: string, created: boolean, token: { intent: boolean }): void {
  if (NO_TRACKER) return;
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
  // A tracker that has not greeted yet keeps its connection: giving it up needs it.
  if (registered.size !== 0 || connection === undefined || idleTimer !== undefined || unconfirmed !== undefined) return;
  idleTimer = setTimeout(() => {
    idleTimer = undefined;
    if (registered.size === 0) disconnect();
  }, IDLE_MS);
  idleTimer.unref();
}

/**
 * At a normal exit: unlink what is left now, and say so on our own stderr;
 * then settle a tracker this environment spawned and has not heard from: wait
 * a little for its greeting, else kill it (it would outlive us otherwise).
 */
function cleanUpAtExit(): void {
  unlinkLeftovers();
  if (unconfirmed !== undefined) {
    const left = greeting.timeoutMs - (Date.now() - unconfirmed.since);
    lookForGreeting(Math.max(0, Math.min(GREETING_AT_EXIT_MS, left)));
    if (unconfirmed !== undefined) giveUp(unconfirmed, 'said nothing before this process exited');
  }
}

function unlinkLeftovers(): void {
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

/** Whether this environment is connected to a tracker that has greeted it, or that it did not spawn (for shmkit's tests). */
export function trackerConfirmed(): boolean {
  return connection !== undefined && unconfirmed === undefined;
}

/** The pid of the tracker this environment is connected to, if any (for shmkit's tests). */
export function trackerPid(): number | undefined {
  return connection?.trackerPid;
}
