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
import { mkdirSync, renameSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { unlinkSegment } from './binding';
import { stateDir, stateFile } from './tracker-state';
import { validateName } from './validate';

const MAX_LINE = 1024;
const NEWLINE = 0x0a;
const creator = process.argv[2] ?? 'the creating process';
const registry = new Set<string>();
/** The creating process (tracker.ts passes it; the spawner is the parent otherwise). */
const creatorPid = Number(process.env.SHMKIT_TRACKER_CREATOR_PID) || process.ppid;

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
    const state = { creatorPid, trackerPid: process.pid, names: [...registry], updated: Date.now() };
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

function handleLine(bytes: Buffer): void {
  if (bytes.length > MAX_LINE) return reject(`a line longer than ${MAX_LINE} bytes`, bytes);
  const line = bytes.toString('latin1');
  const space = line.indexOf(' ');
  if (space <= 0) return reject('a malformed line', bytes);
  const command = line.slice(0, space);
  const name = line.slice(space + 1);
  if (command !== 'REGISTER' && command !== 'UNREGISTER') return reject('an unknown command', bytes);
  try {
    validateName(name, 'name');
  } catch {
    return reject('an invalid segment name', bytes);
  }
  const size = registry.size;
  if (command === 'REGISTER') registry.add(name);
  else registry.delete(name);
  if (registry.size !== size) registryChanged();
}

/** How long the tracker lets lines collect in its pipe between two reads. */
const BATCH_MS = 25;

let pending: Buffer[] = [];
let pendingLength = 0;
/** Inside a line already rejected as too long: drop bytes up to its newline. */
let discarding = false;

process.stdin.on('data', (chunk: Buffer) => {
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
    if (!discarding) handleLine(Buffer.concat(pending, pendingLength));
    pending = [];
    pendingLength = 0;
    discarding = false;
    start = newline + 1;
  }
  // Nothing here is urgent until the pipe closes, so read in batches: pausing
  // lets lines collect in the pipe instead of waking this process once per
  // create and unlink, which on a small machine takes CPU from the creator.
  // EOF is still seen at most BATCH_MS late.
  process.stdin.pause();
  setTimeout(() => process.stdin.resume(), BATCH_MS);
});

process.stdin.on('error', () => finish());
process.stdin.on('end', () => finish());

let finished = false;
function finish(): void {
  if (finished) return;
  finished = true;
  if (pendingLength > 0) reject('an unterminated last line', Buffer.concat(pending, pendingLength));
  const removed: string[] = [];
  const failed: string[] = [];
  for (const name of registry) {
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
        `(${creator} created ${n === 1 ? 'it' : 'them'} with track: true and ended without unlinking); ` +
        `unlinked: ${removed.map((name) => JSON.stringify(name)).join(', ')}`,
    );
  }
  if (failed.length > 0) {
    say('SHMKIT_TRACKER_UNLINK_FAILED', `could not unlink leaked shared memory segments: ${failed.join(', ')}`);
  }
  removeState();
  process.exit(0);
}
