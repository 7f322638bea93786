/**
 * `shmkit`: list, remove and garbage-collect shared memory segments.
 *
 *   shmkit ls [--json]                 segments in /dev/shm (Linux), with owners
 *   shmkit rm NAME... [--json]         unlink the named segments
 *   shmkit gc [--dry-run] [--json] [NAME...]
 *                                      unlink tracked segments left by a dead
 *                                      creator whose tracker is gone too
 *
 * Owners come from the state files trackers publish (tracker-state.ts), read
 * only from the verified private directory (private-dir.ts): an unsafe one is
 * refused (ERR_SHM_UNSAFE_DIRECTORY, exit 1). Names in the table are escaped:
 * anyone can put terminal escape sequences in a /dev/shm name.
 * Exit codes: 0 ok, 1 an operation failed, 2 usage error or unsupported platform.
 *
 * Windows: `ls` lists the sections of this session's namespace (where bare
 * names such as shmkit's and CPython's live) with their size in whole pages;
 * Windows records no creator and no age for them (those columns are absent, null
 * in JSON), and Global\ names are not listed. `rm` is refused (exit 2): no name
 * can be removed there, a segment goes when the last process holding it closes
 * it. `gc` has nothing to collect (exit 0): a crashed process's handles are
 * closed by the kernel, and there is no tracker.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { unlinkSegment, win32 } from '../core/binding';
import { ownerPidOf, pidAlive, readStates, stateDir, type TrackerState } from '../lifecycle/tracker-state';
import { validateName } from '../core/validate';
import { formatSize } from '../core/space';

const SHM_DIR = '/dev/shm';

const HELP = `Usage: shmkit <command> [options]

Commands:
  ls                 list the shared memory segments in ${SHM_DIR} (Linux only),
                     with size, age and, for segments created with track: true,
                     the creating process and whether it is alive
  rm NAME...         unlink the named segments (names without a leading '/')
  gc [NAME...]       unlink tracked segments whose creator and tracker are both
                     dead (a killed tracker could not clean up), and remove stale
                     tracker state files and sockets; with NAMEs, only those segments

Options:
  --json             machine-readable output on stdout
  --dry-run          gc: print what would be done, change nothing
  -h, --help         this help
  -V, --version      the version of @shmkit/shm

Windows: ls lists the sections of this session's namespace by name and size
(Windows records no creator or age); rm is refused, since a segment there goes
when the last process holding it closes it; gc has nothing to collect.

Exit status: 0 success, 1 an operation failed, 2 usage error or unsupported platform.
`;

const WINDOWS = process.platform === 'win32';
const WINDOWS_LS_NOTE =
  "shmkit: Windows: the sections of this session's namespace (bare names, as shmkit and CPython make them), " +
  'by name and size in whole pages; Windows records no creator and no age for a section, and Global\\ names are not listed\n';
const WINDOWS_RM =
  'rm: no segment can be removed on Windows: a segment lives while any process holds it open and goes when ' +
  "the last one closes it (a crashed process's handles are closed by the kernel)";
const WINDOWS_GC =
  "nothing to collect: on Windows a segment goes with the last handle to it (a crashed process's are closed by the kernel), " +
  'and there is no tracker\n';

class UsageError extends Error {}

interface Args {
  command: string;
  names: string[];
  json: boolean;
  dryRun: boolean;
  help: boolean;
  version: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { command: '', names: [], json: false, dryRun: false, help: false, version: false };
  let positional = false;
  for (const arg of argv) {
    if (!positional && arg === '--') positional = true;
    else if (!positional && (arg === '-h' || arg === '--help')) args.help = true;
    else if (!positional && (arg === '-V' || arg === '--version')) args.version = true;
    else if (!positional && arg === '--json') args.json = true;
    else if (!positional && arg === '--dry-run') args.dryRun = true;
    else if (!positional && arg.startsWith('-') && arg !== '-') throw new UsageError(`unknown option ${arg}`);
    else if (args.command === '') args.command = arg;
    else args.names.push(arg);
  }
  if (args.help || args.version) return args;
  if (args.command === '') throw new UsageError('missing command');
  if (!['ls', 'rm', 'gc'].includes(args.command)) throw new UsageError(`unknown command ${JSON.stringify(args.command)}`);
  if (args.command === 'ls' && args.names.length > 0) throw new UsageError('ls takes no arguments');
  if (args.command === 'rm' && args.names.length === 0) throw new UsageError('rm needs at least one NAME');
  if (args.dryRun && args.command !== 'gc') throw new UsageError('--dry-run is for gc only');
  for (const name of args.names) {
    try {
      validateName(name, 'NAME');
    } catch (error) {
      throw new UsageError(`invalid segment name ${JSON.stringify(name)}: ${(error as Error).message}`);
    }
  }
  return args;
}

function requireLinux(): void {
  if (process.platform !== 'linux' && !WINDOWS) {
    throw new UsageError(`listing segments needs ${SHM_DIR}, which only Linux has (this is ${process.platform})`);
  }
}

interface Segment {
  name: string;
  size: number;
  /** null on Windows: not recorded there. */
  mtime: string | null;
  ageSeconds: number | null;
  tracked: boolean;
  ownerPid: number | null;
  ownerAlive: boolean | null;
  trackerPid: number | null;
  trackerAlive: boolean | null;
}

type State = TrackerState & { file: string; trackerAlive: boolean };

/** The verified state directory (undefined: none yet). Throws ERR_SHM_UNSAFE_DIRECTORY. */
function trackersDir(): string | undefined {
  return stateDir({ create: false });
}

function states(dir: string | undefined): State[] {
  return readStates(dir).map((s) => ({ ...s, trackerAlive: pidAlive(s.trackerPid) }));
}

/**
 * A name as the table shows it: printable ASCII as is, a backslash and
 * everything else (control characters, escape sequences, non-ASCII) escaped.
 */
function displayName(name: string): string {
  const named: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
  return name.replace(/[^\x20-\x5b\x5d-\x7e]/gu, (c) => {
    if (named[c] !== undefined) return named[c]!;
    const code = c.codePointAt(0)!;
    if (code <= 0xff) return `\\x${code.toString(16).padStart(2, '0')}`;
    return code <= 0xffff ? `\\u${code.toString(16).padStart(4, '0')}` : `\\u{${code.toString(16)}}`;
  });
}

/** The state that best describes `name`'s owner: a live tracker's, else the newest stale one. */
function ownerOf(name: string, all: State[]): State | undefined {
  let best: State | undefined;
  for (const s of all) {
    if (!s.names.includes(name)) continue;
    if (
      best === undefined ||
      (s.trackerAlive && !best.trackerAlive) ||
      (s.trackerAlive === best.trackerAlive && s.updated > best.updated)
    ) {
      best = s;
    }
  }
  return best;
}

/** Windows: the sections of this session's namespace, with their sizes (nothing else is recorded). */
function listWindowsSegments(): Segment[] {
  const segments: Segment[] = [];
  for (const name of win32.listSegments()) {
    let size: number;
    try {
      size = win32.segmentSize(name);
    } catch {
      continue; // gone meanwhile, or not ours to open
    }
    segments.push({
      name, size, mtime: null, ageSeconds: null,
      tracked: false, ownerPid: null, ownerAlive: null, trackerPid: null, trackerAlive: null,
    });
  }
  return segments.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function listSegments(all: State[]): Segment[] {
  requireLinux();
  if (WINDOWS) return listWindowsSegments();
  const now = Date.now();
  const segments: Segment[] = [];
  for (const entry of fs.readdirSync(SHM_DIR, { withFileTypes: true })) {
    if (!entry.isFile()) continue;
    let stat: fs.Stats;
    try {
      stat = fs.statSync(path.join(SHM_DIR, entry.name));
    } catch {
      continue; // unlinked meanwhile
    }
    const owner = ownerOf(entry.name, all);
    segments.push({
      name: entry.name,
      size: stat.size,
      mtime: stat.mtime.toISOString(),
      ageSeconds: Math.max(0, Math.floor((now - stat.mtimeMs) / 1000)),
      tracked: owner !== undefined,
      ownerPid: owner ? ownerPidOf(owner, entry.name) : null,
      ownerAlive: owner ? pidAlive(ownerPidOf(owner, entry.name)) : null,
      trackerPid: owner?.trackerPid ?? null,
      trackerAlive: owner?.trackerAlive ?? null,
    });
  }
  return segments.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function formatAge(s: number): string {
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

function out(text: string): void {
  process.stdout.write(text);
}

function cmdLs(args: Args): number {
  requireLinux();
  if (WINDOWS) {
    const segments = listWindowsSegments();
    process.stderr.write(WINDOWS_LS_NOTE);
    if (args.json) out(JSON.stringify(segments, null, 2) + '\n');
    else if (segments.length === 0) out('no segments in this session\'s namespace\n');
    else out(table(['NAME', 'SIZE'], segments.map((s) => [displayName(s.name), formatSize(s.size)])));
    return 0;
  }
  let status = 0;
  let all: State[] = [];
  try {
    all = states(trackersDir());
  } catch (error) {
    // List the segments anyway, without owners, and fail the run.
    reportUnsafe(error);
    status = 1;
  }
  const segments = listSegments(all);
  if (args.json) {
    out(JSON.stringify(segments, null, 2) + '\n');
    return status;
  }
  if (segments.length === 0) {
    out(`no segments in ${SHM_DIR}\n`);
    return status;
  }
  out(
    table(
      ['NAME', 'SIZE', 'AGE', 'OWNER'],
      segments.map((s) => [
        displayName(s.name),
        formatSize(s.size),
        formatAge(s.ageSeconds ?? 0),
        s.tracked ? `${s.ownerPid} (${s.ownerAlive ? 'alive' : 'dead'})` : '-',
      ]),
    ),
  );
  return status;
}

function reportUnsafe(error: unknown): void {
  const e = error as Error & { code?: string };
  if (e.code !== 'ERR_SHM_UNSAFE_DIRECTORY') throw error;
  process.stderr.write(`shmkit: [${e.code}] ${e.message}\n`);
}

/**
 * The sockets and FIFOs (older trackers) of dead trackers, and temp files of
 * dead writers, in the state directory: `tracker-<pid>.sock`, `tracker-<pid>.fifo`,
 * `spawn-<pid>-<hex>.sock`, `<pid>.json.tmp`.
 */
function staleChannels(dir: string): Array<{ file: string; pid: number }> {
  const found: Array<{ file: string; pid: number }> = [];
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch {
    return found;
  }
  for (const entry of entries) {
    const match = /^(?:tracker-(\d+)\.(?:sock|fifo)|spawn-(\d+)-[0-9a-f]+\.sock|(\d+)\.json\.tmp|tracker-\d+\.fifo\.(\d+)\.tmp)$/.exec(entry);
    if (!match) continue;
    const pid = Number(match[1] ?? match[2] ?? match[3] ?? match[4]);
    if (!pidAlive(pid)) found.push({ file: path.join(dir, entry), pid });
  }
  return found;
}

function cmdRm(args: Args): number {
  if (WINDOWS) throw new UsageError(WINDOWS_RM);
  let status = 0;
  const results: Array<{ name: string; removed: boolean; error: string | null }> = [];
  for (const name of args.names) {
    try {
      unlinkSegment(name);
      results.push({ name, removed: true, error: null });
      if (!args.json) out(`removed ${displayName(name)}\n`);
    } catch (error) {
      status = 1;
      const code = (error as { code?: string }).code ?? 'ERROR';
      results.push({ name, removed: false, error: code });
      const why = code === 'ENOENT' ? 'no such segment' : (error as Error).message;
      process.stderr.write(`shmkit: rm ${displayName(name)}: ${why}\n`);
    }
  }
  if (args.json) out(JSON.stringify(results, null, 2) + '\n');
  return status;
}

function cmdGc(args: Args): number {
  requireLinux();
  if (WINDOWS) {
    if (args.json) out(JSON.stringify({ dryRun: args.dryRun, segments: [], stateFiles: [], channels: [] }, null, 2) + '\n');
    else out(WINDOWS_GC);
    return 0;
  }
  let dir: string | undefined;
  try {
    dir = trackersDir();
  } catch (error) {
    reportUnsafe(error); // never act on what a directory others control says
    return 1;
  }
  const all = states(dir);
  const only = args.names.length > 0 ? new Set(args.names) : undefined;
  // A name listed by a live tracker or for a live creator may be in use, whatever
  // older stale files say about it.
  const claimed = new Set(
    all.flatMap((s) => s.names.filter((name) => s.trackerAlive || pidAlive(ownerPidOf(s, name)))),
  );
  const segments: Array<{ name: string; size: number; ownerPid: number; trackerPid: number; removed: boolean; error: string | null }> = [];
  const stateFiles: Array<{ file: string; trackerPid: number; removed: boolean; error: string | null }> = [];
  let status = 0;

  const stale = all.filter((s) => !s.trackerAlive);
  const keep = new Set<State>(); // stale files still naming a segment gc leaves
  for (const s of stale) {
    for (const name of s.names) {
      const ownerPid = ownerPidOf(s, name);
      const ownerAlive = pidAlive(ownerPid);
      let size: number;
      try {
        size = fs.statSync(path.join(SHM_DIR, name)).size;
      } catch {
        continue; // gone already
      }
      if (ownerAlive || claimed.has(name) || (only && !only.has(name)) || segments.some((x) => x.name === name)) {
        keep.add(s);
        continue;
      }
      const entry = { name, size, ownerPid, trackerPid: s.trackerPid, removed: false, error: null as string | null };
      if (!args.dryRun) {
        try {
          unlinkSegment(name);
          entry.removed = true;
        } catch (error) {
          const code = (error as { code?: string }).code ?? 'ERROR';
          if (code === 'ENOENT') {
            continue; // someone else got there first
          }
          entry.error = code;
          status = 1;
          keep.add(s);
          process.stderr.write(`shmkit: gc ${displayName(name)}: ${(error as Error).message}\n`);
        }
      }
      segments.push(entry);
    }
  }
  for (const s of stale) {
    if (keep.has(s)) continue;
    // With NAMEs, only state files that named one of them.
    if (only && !s.names.some((n) => only.has(n))) continue;
    const entry = { file: s.file, trackerPid: s.trackerPid, removed: false, error: null as string | null };
    if (!args.dryRun) {
      try {
        fs.unlinkSync(s.file);
        entry.removed = true;
      } catch (error) {
        const code = (error as { code?: string }).code ?? 'ERROR';
        if (code !== 'ENOENT') {
          entry.error = code;
          status = 1;
          process.stderr.write(`shmkit: gc ${s.file}: ${(error as Error).message}\n`);
        }
      }
    }
    stateFiles.push(entry);
  }
  const channels: Array<{ file: string; trackerPid: number; removed: boolean; error: string | null }> = [];
  for (const { file, pid } of only || dir === undefined ? [] : staleChannels(dir)) {
    const entry = { file, trackerPid: pid, removed: false, error: null as string | null };
    if (!args.dryRun) {
      try {
        fs.unlinkSync(file);
        entry.removed = true;
      } catch (error) {
        const code = (error as { code?: string }).code ?? 'ERROR';
        if (code === 'ENOENT') continue;
        entry.error = code;
        status = 1;
        process.stderr.write(`shmkit: gc ${file}: ${(error as Error).message}\n`);
      }
    }
    channels.push(entry);
  }

  if (args.json) {
    out(JSON.stringify({ dryRun: args.dryRun, segments, stateFiles, channels }, null, 2) + '\n');
  } else {
    const verb = args.dryRun ? 'would unlink' : 'unlinked';
    for (const s of segments) {
      if (s.error) continue;
      out(`${verb} ${displayName(s.name)} (${formatSize(s.size)}, creator ${s.ownerPid} and tracker ${s.trackerPid} dead)\n`);
    }
    for (const f of stateFiles) {
      if (f.error) continue;
      out(`${args.dryRun ? 'would remove' : 'removed'} stale tracker state ${f.file}\n`);
    }
    for (const c of channels) {
      if (c.error) continue;
      out(`${args.dryRun ? 'would remove' : 'removed'} stale tracker socket ${c.file}\n`);
    }
    if (segments.length === 0 && stateFiles.length === 0 && channels.length === 0) out('nothing to collect\n');
  }
  return status;
}

function main(argv: string[]): number {
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`shmkit: ${error.message}\nTry 'shmkit --help'.\n`);
    return 2;
  }
  if (args.help) {
    out(HELP);
    return 0;
  }
  if (args.version) {
    out(`${(JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version}\n`);
    return 0;
  }
  try {
    if (args.command === 'ls') return cmdLs(args);
    if (args.command === 'rm') return cmdRm(args);
    return cmdGc(args);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`shmkit: ${error.message}\n`);
      return 2;
    }
    process.stderr.write(`shmkit: ${(error as Error).message}\n`);
    return 1;
  }
}

process.exitCode = main(process.argv.slice(2));
