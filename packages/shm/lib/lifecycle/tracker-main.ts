/**
 * The crash-cleanup tracker process: `node tracker-main.js [creator description]`.
 *
 * Reads lines from stdin:
 *   REGISTER <name>\n     a segment the creator made with track: true
 *   UNREGISTER <name>\n   the creator unlinked it
 * At EOF (every writer of the pipe is gone: the creator exited, crashed or was
 * SIGKILLed, or ended the pipe with nothing registered) it unlinks every name
 * still registered and prints one warning naming them, then exits.
 *
 * It also creates a FIFO, `<state dir>/tracker-<pid>.fifo` (0600), which other
 * processes of the same tree write to (tracker.ts hands its path to children in
 * SHMKIT_TRACKER_FIFO):
 *   REGISTER <pid> <name>\n / UNREGISTER <pid> <name>\n
 * It polls those pids every POLL_MS; when one is gone (a zombie counts as gone)
 * it unlinks that pid's names still registered, with one warning naming them.
 * It exits once stdin has closed AND no FIFO client has a name registered.
 *
 * Malformed lines, unknown commands, invalid names and lines longer than
 * MAX_LINE bytes get one diagnostic each on stderr (code
 * SHMKIT_TRACKER_BAD_LINE) and are otherwise ignored.
 *
 * While it runs it publishes its registry in a state file (tracker-state.ts),
 * which `shmkit ls` and `shmkit gc` read; the creator's pid comes from the
 * SHMKIT_TRACKER_CREATOR_PID environment variable (else the parent's pid).
 *
 * It runs in its own process group (spawned detached) and ignores SIGINT,
 * SIGTERM and SIGHUP, so what kills the creator's terminal group leaves it to
 * clean up. A SIGKILL of the tracker itself cannot be survived.
 *
 * @internal
 */
import { execFileSync } from 'node:child_process';
import { constants, mkdirSync, openSync, readSync, renameSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { Socket } from 'node:net';
import * as path from 'node:path';
import { unlinkSegment } from '../core/binding';
import { pidAlive, stateDir, stateFile } from './tracker-state';
import { validateName } from '../core/validate';

const MAX_LINE = 1024;
const NEWLINE = 0x0a;
const creator = process.argv[2] ?? 'the creating process';
/** The creating process (tracker.ts passes it; the spawner is the parent otherwise). */
const creatorPid = Number(process.env.SHMKIT_TRACKER_CREATOR_PID) || process.ppid;
/** Names registered over stdin (owner: creatorPid). */
const registry = new Set<string>();
/** Names registered over the FIFO, per writer pid. */
const clients = new Map<number, Set<string>>();
/** How often the pids of FIFO clients are checked. */
const POLL_MS = 200;

// The registry is published for `shmkit ls` / `shmkit gc` (see tracker-state.ts):
// rewritten at most every STATE_MS while it changes, removed at exit. Best
// effort and silent: a failure here never gets in the way of cleaning up.
const STATE_MS = 100;
let stateTimer: NodeJS.Timeout | undefined;
let statePath: string | undefined;
let stateBroken = false;

function writeState(): void {
  stateTimer = undefined;
  if (stateBroken) return;
  try {
    if (statePath === undefined) {
      const dir = stateDir();
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      statePath = stateFile(process.pid, dir);
    }
    const temp = `${statePath}.tmp`;
    const owners: Record<string, number> = {};
    for (const name of registry) owners[name] = creatorPid;
    for (const [pid, names] of clients) for (const name of names) owners[name] = pid;
    const state = { creatorPid, trackerPid: process.pid, names: Object.keys(owners), owners, updated: Date.now() };
    writeFileSync(temp, JSON.stringify(state) + '\n', { mode: 0o600 });
    renameSync(temp, statePath);
  } catch {
    stateBroken = true; // no tmpdir, read-only, …: stop trying
  }
}

function registryChanged(): void {
  if (stateTimer === undefined && !stateBroken) stateTimer = setTimeout(writeState, STATE_MS);
}

function removeState(): void {
  if (stateTimer !== undefined) clearTimeout(stateTimer);
  if (statePath === undefined) return;
  for (const file of [statePath, `${statePath}.tmp`]) {
    try {
      unlinkSync(file);
    } catch {
      // never written, or gone
    }
  }
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => {});

/** Synchronous, never throws: stderr may be a closed pipe or a dead terminal. */
function say(code: string, message: string): void {
  try {
    writeSync(2, `(shmkit tracker:${process.pid}) [${code}] Warning: ${message}\n`);
  } catch {
    // nowhere to report
  }
}

function preview(bytes: Buffer): string {
  const text = bytes.subarray(0, 48).toString('latin1');
  return JSON.stringify(text) + (bytes.length > 48 ? '…' : '');
}

function reject(reason: string, bytes: Buffer): void {
  say('SHMKIT_TRACKER_BAD_LINE', `ignored ${reason}: ${preview(bytes)} (${bytes.length} bytes)`);
}

function handleLine(bytes: Buffer, fromFifo: boolean): void {
  if (bytes.length > MAX_LINE) return reject(`a line longer than ${MAX_LINE} bytes`, bytes);
  const line = bytes.toString('latin1');
  const space = line.indexOf(' ');
  if (space <= 0) return reject('a malformed line', bytes);
  const command = line.slice(0, space);
  let name = line.slice(space + 1);
  if (command !== 'REGISTER' && command !== 'UNREGISTER') return reject('an unknown command', bytes);
  let pid = creatorPid;
  if (fromFifo) {
    const match = /^([1-9][0-9]{0,9}) (.*)$/s.exec(name);
    if (!match) return reject('a malformed line', bytes);
    pid = Number(match[1]);
    name = match[2] ?? '';
  }
  try {
    validateName(name, 'name');
  } catch {
    return reject('an invalid segment name', bytes);
  }
  let names = registry;
  if (fromFifo) {
    names = clients.get(pid) ?? new Set<string>();
    clients.set(pid, names);
  }
  const size = names.size;
  if (command === 'REGISTER') names.add(name);
  else names.delete(name);
  if (fromFifo && names.size === 0) clients.delete(pid);
  if (names.size !== size) registryChanged();
}

/** How long the tracker lets lines collect in its pipe between two reads. */
const BATCH_MS = 25;

/** A line splitter for one channel (stdin or the FIFO). */
function lineReader(fromFifo: boolean): { feed(chunk: Buffer): void; rest(): void } {
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
            reject(`a line longer than ${MAX_LINE} bytes`, Buffer.concat(pending).subarray(0, 64));
            pending = [];
            pendingLength = 0;
            discarding = newline === -1;
            start = end + 1;
            continue;
          }
        }
        if (newline === -1) break;
        if (!discarding) handleLine(Buffer.concat(pending, pendingLength), fromFifo);
        pending = [];
        pendingLength = 0;
        discarding = false;
        start = newline + 1;
      }
    },
    rest(): void {
      if (pendingLength > 0) reject('an unterminated last line', Buffer.concat(pending, pendingLength));
      pending = [];
      pendingLength = 0;
    },
  };
}

const stdinLines = lineReader(false);
const fifoLines = lineReader(true);

process.stdin.on('data', (chunk: Buffer) => {
  stdinLines.feed(chunk);
  // Nothing here is urgent until the pipe closes, so read in batches: pausing
  // lets lines collect in the pipe instead of waking this process once per
  // create and unlink, which on a small machine takes CPU from the creator.
  // EOF is still seen at most BATCH_MS late.
  process.stdin.pause();
  setTimeout(() => process.stdin.resume(), BATCH_MS);
});

process.stdin.on('error', () => stdinClosed());
process.stdin.on('end', () => stdinClosed());

// The FIFO for the other processes of this tree. Opened O_RDWR: this process is
// a writer too, so the FIFO never reports EOF and opens by clients never block.
let fifoPath: string | undefined;
let fifoFd: number | undefined;
let fifo: Socket | undefined;
try {
  const dir = stateDir();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, `tracker-${process.pid}.fifo`);
  try {
    unlinkSync(file); // left by a SIGKILLed tracker that had this pid
  } catch {
    // none
  }
  // Made and opened under a temporary name, then renamed into place: once the
  // path exists, a client's non-blocking open finds a reader (no ENXIO window).
  const making = `${file}.${process.pid}.tmp`;
  execFileSync('mkfifo', ['-m', '600', making], { stdio: 'ignore' });
  fifoPath = making;
  fifoFd = openSync(making, constants.O_RDWR | constants.O_NONBLOCK);
  renameSync(making, file);
  fifoPath = file;
  fifo = new Socket({ fd: fifoFd, readable: true, writable: false });
  fifo.on('error', () => {});
  fifo.on('data', (chunk: Buffer) => {
    fifoLines.feed(chunk);
    fifo?.pause();
    setTimeout(() => fifo?.resume(), BATCH_MS);
  });
} catch {
  removeFifo(); // no mkfifo, …: children spawn their own trackers
}

function removeFifo(): void {
  if (fifoPath === undefined) return;
  try {
    unlinkSync(fifoPath);
  } catch {
    // gone
  }
  fifoPath = undefined;
}

/** Reads what the FIFO holds now (its socket is paused or idle). */
function drainFifo(): void {
  if (fifoFd === undefined) return;
  const buffer = Buffer.alloc(65536);
  for (;;) {
    let n: number;
    try {
      n = readSync(fifoFd, buffer, 0, buffer.length, null);
    } catch {
      return; // EAGAIN: empty
    }
    if (n <= 0) return;
    fifoLines.feed(Buffer.from(buffer.subarray(0, n)));
  }
}

const poll = setInterval(() => {
  for (const pid of [...clients.keys()]) if (!pidAlive(pid)) {
    drainFifo(); // its last lines (an UNREGISTER just before it exited)
    const names = clients.get(pid);
    clients.delete(pid);
    if (names !== undefined) cleanUp(names, `process ${pid}`);
    registryChanged();
  }
  maybeExit();
}, POLL_MS);

let stdinEnded = false;
function stdinClosed(): void {
  if (stdinEnded) return;
  stdinEnded = true;
  stdinLines.rest();
  cleanUp(registry, creator);
  registry.clear();
  registryChanged();
  maybeExit();
}

/** Unlinks `names` and prints one warning naming the ones that were there. */
function cleanUp(names: Iterable<string>, who: string): void {
  const removed: string[] = [];
  const failed: string[] = [];
  for (const name of names) {
    try {
      unlinkSegment(name);
      removed.push(name);
    } catch (error) {
      // ENOENT: someone else unlinked it already; nothing leaked.
      const code = (error as { code?: string }).code;
      if (code !== 'ENOENT') failed.push(`${JSON.stringify(name)} (${code ?? String(error)})`);
    }
  }
  if (removed.length > 0) {
    const n = removed.length;
    say(
      'SHMKIT_TRACKER_LEAKED',
      `There appear to be ${n} leaked shared memory segment${n === 1 ? '' : 's'} to clean up at shutdown ` +
        `(${who} created ${n === 1 ? 'it' : 'them'} with track: true and ended without unlinking); ` +
        `unlinked: ${removed.map((name) => JSON.stringify(name)).join(', ')}`,
    );
  }
  if (failed.length > 0) {
    say('SHMKIT_TRACKER_UNLINK_FAILED', `could not unlink leaked shared memory segments: ${failed.join(', ')}`);
  }
}

/** Exits once stdin has closed and no FIFO client has anything registered. */
function maybeExit(): void {
  if (!stdinEnded || clients.size > 0) return;
  // No new client can open the FIFO once its name is gone; lines already in it
  // are read before deciding (a client that registered just now keeps us).
  removeFifo();
  drainFifo();
  if (clients.size > 0) return;
  finish();
}

let finished = false;
function finish(): void {
  if (finished) return;
  finished = true;
  clearInterval(poll);
  fifoLines.rest();
  removeFifo();
  removeState();
  process.exit(0);
}
