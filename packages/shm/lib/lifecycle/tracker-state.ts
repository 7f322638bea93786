/**
 * Where trackers publish their registries, for `shmkit ls` and `shmkit gc`.
 *
 * Each tracker keeps `${os.tmpdir()}/shmkit-<uid>/trackers/<trackerPid>.json`
 * = { creatorPid, trackerPid, names, owners, updated } (owners: the pid that
 * registered each name — the creator, or a child process of its tree) (written to a temp file and
 * renamed, so readers never see half a file), and removes it when it exits.
 * A file whose tracker is dead (SIGKILLed) is stale: it still names the
 * creator of the segments it lists.
 *
 * @internal
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface TrackerState {
  creatorPid: number;
  trackerPid: number;
  names: string[];
  /** The registering process of each name (absent in files of older trackers). */
  owners?: Record<string, number>;
  /** Milliseconds since the epoch. */
  updated: number;
}

/** The directory of the state files of this user's trackers. */
export function stateDir(): string {
  let uid: number | string = 'user';
  try {
    const info = os.userInfo();
    if (info.uid >= 0) uid = info.uid;
    else uid = info.username;
  } catch {
    // keep the fallback
  }
  return path.join(os.tmpdir(), `shmkit-${uid}`, 'trackers');
}

export function stateFile(trackerPid: number, dir = stateDir()): string {
  return path.join(dir, `${trackerPid}.json`);
}

function isState(value: unknown): value is TrackerState {
  const v = value as TrackerState;
  return (
    typeof v === 'object' &&
    v !== null &&
    Number.isInteger(v.creatorPid) &&
    Number.isInteger(v.trackerPid) &&
    Array.isArray(v.names) &&
    v.names.every((n) => typeof n === 'string') &&
    typeof v.updated === 'number' &&
    (v.owners === undefined ||
      (typeof v.owners === 'object' && v.owners !== null && Object.values(v.owners).every((p) => Number.isInteger(p))))
  );
}

/** The process that registered `name` with the tracker of `state`. */
export function ownerPidOf(state: TrackerState, name: string): number {
  const pid = state.owners && Object.prototype.hasOwnProperty.call(state.owners, name) ? state.owners[name] : undefined;
  return pid ?? state.creatorPid;
}

/** Every readable state file, with its path. Unreadable or malformed files are skipped. */
export function readStates(dir = stateDir()): Array<TrackerState & { file: string }> {
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const states: Array<TrackerState & { file: string }> = [];
  for (const entry of entries) {
    if (!/^\d+\.json$/.test(entry)) continue; // temp files end in .tmp
    const file = path.join(dir, entry);
    try {
      const value: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
      if (isState(value)) states.push({ ...value, file });
    } catch {
      // removed meanwhile, or not ours
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
