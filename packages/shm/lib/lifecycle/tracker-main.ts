/**
 * The crash-cleanup tracker process: `node tracker-main.js <dir> <socket path>`,
 * spawned by tracker.ts with a listening Unix stream socket as fd 3 (bound at
 * `<socket path>` in the private directory `<dir>`, see private-dir.ts; the
 * spawner renames it to `<dir>/tracker-<this pid>.sock` once it knows the pid).
 *
 * Every client (each process of the tree, each worker thread) keeps its own
 * connection and writes lines to it (at most MAX_LINE bytes, ASCII):
 *   INTENT <prior> <name>\n   about to create <name>; before the attempt the
 *                             name was absent (<prior> 0) or had inode <prior>
 *   CANCEL <name>\n           that create failed (EEXIST, …): forget it
 *   REGISTER <name>\n         <name> was created by this client
 *   UNREGISTER <name>\n       the client unlinked it (or gave it away)
 *   HELLO\n                   the spawner's first line: answered with
 *                             `HELLO <this pid>\n` on the same connection, the
 *                             proof that a tracker runs (helper-process.ts)
 * When a connection closes — the client ended, however it ended, SIGKILL
 * included — the tracker at once unlinks what that client left: every
 * REGISTERed name, and every INTENT name that now exists with another inode than
 * it had before (so an interrupt at any instant of a create leaves nothing, and a
 * name someone else had made, whose create failed with EEXIST, is never touched).
 * One warning (SHMKIT_TRACKER_LEAKED) names what it unlinked.
 *
 * Framing is per connection: one client's garbage (a malformed, unknown,
 * invalid or over-long line: one SHMKIT_TRACKER_BAD_LINE diagnostic each) never
 * touches another client's lines. A connection from another user (SO_PEERCRED)
 * is refused (SHMKIT_TRACKER_PEER_REFUSED).
 *
 * It exits once no client is connected: it first removes its socket path, so no
 * new client can connect, then accepts what is already queued; a connection
 * found there keeps it running. It publishes its registry in a state file
 * (tracker-state.ts) for `shmkit ls` / `shmkit gc`, removed at exit.
 *
 * It runs in its own process group (spawned detached) and ignores SIGINT,
 * SIGTERM and SIGHUP. A SIGKILL of the tracker itself cannot be survived
 * (`shmkit gc` collects what it leaves).
 *
 * @internal
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { socket as sockets, unlinkSegment } from '../core/binding';
import { validateName } from '../core/validate';
import { leakWarning, stateFile, TRACKER_LINE_MAX as MAX_LINE } from './tracker-state';
import { writeOwnFile } from './private-dir';

const NEWLINE = 0x0a;
const LISTEN_FD = 3;
/** How long to wait for the first client (the spawner connects right after spawning). */
const STARTUP_MS = 10_000;
const dir = process.argv[2] ?? '';
const spawnPath = process.argv[3] ?? '';
const socketPath = path.join(dir, `tracker-${process.pid}.sock`);
/** The process that spawned this tracker (published for `shmkit ls`). */
const creatorPid = Number(process.env.SHMKIT_TRACKER_CREATOR_PID) || process.ppid;
const myUid = typeof process.geteuid === 'function' ? process.geteuid() : -1;

/** A name's prior inode (INTENT) or CERTAIN (REGISTER). */
const CERTAIN = -1;

interface Client {
  pid: number;
  names: Map<string, number>;
  /** Answers HELLO. */
  greet(): void;
}
const clients = new Set<Client>();
let hadClient = false;

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => {});

/** Synchronous, never throws: stderr may be a closed pipe or a dead terminal. */
function say(code: string, message: string): void {
  try {
    fs.writeSync(2, `(shmkit tracker:${process.pid}) [${code}] Warning: ${message}\n`);
  } catch {
    // nowhere to report
  }
}

// ------------------------------------------------------------ state file

const STATE_MS = 100;
let stateTimer: NodeJS.Timeout | undefined;
let stateBroken = false;

function writeState(): void {
  stateTimer = undefined;
  if (stateBroken) return;
  const owners: Record<string, number> = {};
  for (const client of clients) for (const name of client.names.keys()) owners[name] = client.pid;
  const state = { creatorPid, trackerPid: process.pid, names: Object.keys(owners), owners, updated: Date.now() };
  try {
    writeOwnFile(stateFile(process.pid, dir), JSON.stringify(state) + '\n');
  } catch {
    stateBroken = true; // best effort: never in the way of cleaning up
  }
}

function registryChanged(): void {
  if (stateTimer === undefined && !stateBroken) stateTimer = setTimeout(writeState, STATE_MS);
}

function removeQuietly(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch {
    // gone
  }
}

// ------------------------------------------------------------ lines

function preview(bytes: Buffer): string {
  const text = bytes.subarray(0, 48).toString('latin1');
  return JSON.stringify(text) + (bytes.length > 48 ? '…' : '');
}

function reject(client: Client, reason: string, bytes: Buffer): void {
  say('SHMKIT_TRACKER_BAD_LINE', `ignored ${reason} from process ${client.pid}: ${preview(bytes)} (${bytes.length} bytes)`);
}

const LINE = /^(INTENT) (0|[1-9][0-9]{0,19}) (.+)$|^(CANCEL|REGISTER|UNREGISTER) (.+)$|^HELLO$/s;

function handleLine(client: Client, bytes: Buffer): void {
  const match = LINE.exec(bytes.toString('latin1'));
  if (!match) return reject(client, 'a malformed line', bytes);
  if (match[1] === undefined && match[4] === undefined) return client.greet();
  const command = match[1] ?? match[4];
  const name = match[3] ?? match[5] ?? '';
  try {
    validateName(name, 'name');
  } catch {
    return reject(client, 'an invalid segment name', bytes);
  }
  const size = client.names.size;
  if (command === 'INTENT') client.names.set(name, Number(match[2]));
  else if (command === 'REGISTER') client.names.set(name, CERTAIN);
  else client.names.delete(name); // CANCEL, UNREGISTER
  if (client.names.size !== size || command === 'REGISTER') registryChanged();
}

/** A line splitter for one connection. */
function lineReader(client: Client): { feed(chunk: Buffer): void; rest(): void } {
  let pending: Buffer[] = [];
  let pendingLength = 0;
  /** Inside a line already rejected as too long: drop bytes up to its newline. */
  let discarding = false;
  return {
    feed(chunk: Buffer): void {
      let start = 0;
      while (start < chunk.length) {
        const newline = chunk.indexOf(NEWLINE, start);
        const end = newline === -1 ? chunk.length : newline;
        if (!discarding) {
          pending.push(chunk.subarray(start, end));
          pendingLength += end - start;
          if (pendingLength > MAX_LINE) {
            reject(client, `a line longer than ${MAX_LINE} bytes`, Buffer.concat(pending).subarray(0, 64));
            pending = [];
            pendingLength = 0;
            discarding = newline === -1;
            start = end + 1;
            continue;
          }
        }
        if (newline === -1) break;
        if (!discarding) handleLine(client, Buffer.concat(pending, pendingLength));
        pending = [];
        pendingLength = 0;
        discarding = false;
        start = newline + 1;
      }
    },
    rest(): void {
      if (pendingLength > 0) reject(client, 'an unterminated last line', Buffer.concat(pending, pendingLength));
      pending = [];
      pendingLength = 0;
    },
  };
}

// ------------------------------------------------------------ cleanup

/** Whether the client that sent INTENT for `name` with `prior` made what is there now. */
function madeByClient(name: string, prior: number): boolean {
  if (prior === CERTAIN) return true;
  if (process.platform !== 'linux') return false; // never reached: clients send REGISTER there
  const stat = fs.lstatSync(path.join('/dev/shm', name), { throwIfNoEntry: false });
  return stat !== undefined && stat.isFile() && stat.ino !== prior;
}

/** Unlinks what `client` left and prints one warning naming what was there. */
function cleanUp(client: Client): void {
  const removed: string[] = [];
  const failed: string[] = [];
  for (const [name, prior] of client.names) {
    try {
      if (!madeByClient(name, prior)) continue;
      unlinkSegment(name);
      removed.push(name);
    } catch (error) {
      // ENOENT: someone else unlinked it already; nothing leaked.
      const code = (error as { code?: string }).code;
      if (code !== 'ENOENT') failed.push(`${JSON.stringify(name)} (${code ?? String(error)})`);
    }
  }
  client.names.clear();
  if (removed.length > 0) say('SHMKIT_TRACKER_LEAKED', leakWarning(removed, `process ${client.pid}`));
  if (failed.length > 0) {
    say('SHMKIT_TRACKER_UNLINK_FAILED', `could not unlink leaked shared memory segments: ${failed.join(', ')}`);
  }
}

// ------------------------------------------------------------ connections

function adopt(socket: net.Socket): void {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd ?? -1;
  let peer: { uid: number; pid: number };
  try {
    peer = sockets.peer(fd);
  } catch {
    peer = { uid: -2, pid: 0 };
  }
  if (peer.uid !== myUid) {
    say('SHMKIT_TRACKER_PEER_REFUSED', `refused a connection from uid ${peer.uid} (pid ${peer.pid}): only uid ${myUid} is served`);
    socket.destroy();
    return;
  }
  const client: Client = {
    pid: peer.pid,
    names: new Map(),
    greet() {
      try {
        // One short line on an idle socket: never blocks. If the client is gone
        // already, its close is handled as any other.
        sockets.send(fd, `HELLO ${process.pid}\n`);
      } catch {
        // EPIPE: the client has gone
      }
    },
  };
  clients.add(client);
  hadClient = true;
  const lines = lineReader(client);
  let ended = false;
  const end = (): void => {
    if (ended) return;
    ended = true;
    lines.rest();
    cleanUp(client);
    clients.delete(client);
    registryChanged();
    maybeExit();
  };
  // Lines are handled as they arrive: in a burst each read takes whatever has
  // queued in the kernel meanwhile, so bursts batch by themselves. (Pausing
  // the socket for 10 ms after each chunk, as before, left it unread for
  // seconds at a time while the creator sat blocked in send().)
  socket.on('data', (chunk: Buffer) => lines.feed(chunk));
  socket.on('end', end);
  socket.on('close', end);
  socket.on('error', () => socket.destroy());
}

const server = net.createServer({ allowHalfOpen: true }, adopt);
server.on('error', (error) => {
  say('SHMKIT_TRACKER_UNAVAILABLE', `cannot accept connections: ${(error as Error).message}`);
  finish(1);
});
server.listen({ fd: LISTEN_FD });

const startedAt = Date.now();
const startup = setTimeout(() => maybeExit(), STARTUP_MS);

/** Exits once no client is connected (and the first one has come, or never will). */
function maybeExit(): void {
  if (clients.size > 0 || (!hadClient && Date.now() - startedAt < STARTUP_MS)) return;
  // No new client can connect once the path is gone; the ones already queued are
  // accepted before deciding (a client that connected just now keeps us).
  removeQuietly(socketPath);
  removeQuietly(spawnPath);
  let queued: number[] = [];
  try {
    queued = sockets.acceptPending(LISTEN_FD);
  } catch {
    // nothing queued
  }
  for (const fd of queued) adopt(new net.Socket({ fd, readable: true, writable: false, allowHalfOpen: true }));
  if (clients.size > 0) return;
  finish(0);
}

let finished = false;
function finish(code: number): void {
  if (finished) return;
  finished = true;
  clearTimeout(startup);
  if (stateTimer !== undefined) clearTimeout(stateTimer);
  removeQuietly(socketPath);
  removeQuietly(spawnPath);
  removeQuietly(stateFile(process.pid, dir));
  removeQuietly(`${stateFile(process.pid, dir)}.tmp`);
  process.exit(code);
}
