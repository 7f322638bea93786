/**
 * What trackers publish for `shmkit ls` and `shmkit gc`, and what the tracker,
 * its clients and the CLI share.
 *
 * Each tracker keeps `<private dir>/trackers/<trackerPid>.json` (private-dir.ts)
 * = { creatorPid, trackerPid, names, owners, updated } (owners: the pid that
 * registered each name — the creator, or another process of its tree), written
 * to a fresh temp file and renamed, so readers never see half a file, and
 * removed when it exits. Next to it is its socket, `tracker-<trackerPid>.sock`.
 * A file whose tracker is dead (SIGKILLed) is stale: it still names the
 * creators of the segments it lists. Files are untrusted input: only regular
 * files of this user, not symlinks, with a valid shape and valid names, count.
 *
 * @internal
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { validateName } from '../core/validate';
import { privateDir, readOwnFile } from './private-dir';

export interface TrackerState {
  creatorPid: number;
  trackerPid: number;
  names: string[];
  /** The registering process of each name (absent in files of older trackers). */
  owners?: Record<string, number>;
  /** Milliseconds since the epoch. */
  updated: number;
}

/** The longest line a tracker accepts. */
export const TRACKER_LINE_MAX = 1024;

/** The text of the SHMKIT_TRACKER_LEAKED warning. */
export function leakWarning(removed: string[], who: string): string {
  const n = removed.length;
  return (
    `There appear to be ${n} leaked shared memory segment${n === 1 ? '' : 's'} to clean up at shutdown ` +
    `(${who} created ${n === 1 ? 'it' : 'them'} with track: true and ended without unlinking); ` +
    `unlinked: ${removed.map((name) => JSON.stringify(name)).join(', ')}`
  );
}

/**
 * The verified directory of this user's trackers (throws
 * ERR_SHM_UNSAFE_DIRECTORY); with `create: false`, undefined if it does not exist.
 */
export function stateDir(options: { create?: boolean } = {}): string | undefined {
  return privateDir('trackers', options);
}

export function stateFile(trackerPid: number, dir: string): string {
  return path.join(dir, `${trackerPid}.json`);
}

/** The socket a tracker with this pid listens on. */
export function socketFile(trackerPid: number, dir: string): string {
  return path.join(dir, `tracker-${trackerPid}.sock`);
}

const isPid = (p: unknown): p is number => Number.isSafeInteger(p) && (p as number) > 0;

function validName(name: unknown): name is string {
  try {
    validateName(name, 'name');
    return true;
  } catch {
    return false;
  }
}

function isState(value: unknown): value is TrackerState {
  const v = value as TrackerState;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  if (!isPid(v.creatorPid) || !isPid(v.trackerPid) || typeof v.updated !== 'number') return false;
  if (!Array.isArray(v.names) || !v.names.every(validName)) return false;
  if (v.owners === undefined) return true;
  if (typeof v.owners !== 'object' || v.owners === null || Array.isArray(v.owners)) return false;
  return Object.entries(v.owners).every(([name, pid]) => v.names.includes(name) && isPid(pid));
}

/** The process that registered `name` with the tracker of `state`. */
export function ownerPidOf(state: TrackerState, name: string): number {
  const pid = state.owners && Object.prototype.hasOwnProperty.call(state.owners, name) ? state.owners[name] : undefined;
  return pid ?? state.creatorPid;
}

/** Every valid state file in `dir`, with its path. Anything else is skipped. */
export function readStates(dir: string | undefined): Array<TrackerState & { file: string }> {
  if (dir === undefined) return [];
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const states: Array<TrackerState & { file: string }> = [];
  for (const entry of entries) {
    const match = /^(\d+)\.json$/.exec(entry); // temp files end in .tmp
    if (!match) continue;
    const file = path.join(dir, entry);
    const text = readOwnFile(file);
    if (text === undefined) continue;
    try {
      const value: unknown = JSON.parse(text);
      if (isState(value) && value.trackerPid === Number(match[1])) states.push({ ...value, file });
    } catch {
      // malformed
    }
  }
  return states;
}

/** True while `pid` runs (a zombie counts as gone on Linux). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as { code?: string }).code !== 'EPERM') return false; // EPERM: alive, another user's
  }
  if (process.platform === 'linux') {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
    } catch {
      return false;
    }
  }
  return true;
}
