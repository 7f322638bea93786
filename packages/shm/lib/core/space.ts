/**
 * Room for a `populate`: how much memory this process may still fill, and
 * what to tell a user whose reservation did not fit.
 *
 * Pages of /dev/shm are RAM (tmpfs), and tmpfs allocates a reservation page
 * by page until it runs out: only a request larger than its *total* size is
 * refused at once. So before a populate reserves anything, the addon checks
 * the segment's own filesystem (fstatfs: ENOSPC) and the memory room computed
 * here (ENOMEM):
 *
 * - the machine: MemAvailable + SwapFree (/proc/meminfo);
 * - this process's memory cgroup and each of its ancestors, where a limit is
 *   set: the limit minus what the cgroup uses that cannot simply be dropped
 *   (usage − inactive file cache). cgroup v2: memory.max, memory.current;
 *   v1: memory.limit_in_bytes, memory.usage_in_bytes. tmpfs pages are charged
 *   to the cgroup of the process that allocates them.
 *
 * The smallest of these is the room. Where none can be read (not Linux, no
 * /proc) the room is unknown and only the filesystem is checked.
 *
 * @internal
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Reads a text file, or undefined when it cannot be read. */
export type Reader = (file: string) => string | undefined;

/** The memory a populate may still take, and which bound that is. */
export interface MemoryRoom {
  bytes: number;
  /** 'system': MemAvailable + SwapFree; 'cgroup': this process's memory cgroup (`cgroup` is its directory). */
  limit: 'system' | 'cgroup';
  cgroup?: string;
}

/**
 * The filesystem facts on an ENOSPC or ENOMEM from a populate
 * (`error.space`). No segment names: safe to pass on to less trusted code.
 */
export interface SpaceReport {
  /** Mount point of the filesystem that holds the segments ('/dev/shm'). */
  path: string;
  /** Its type ('tmpfs'). */
  type: string;
  /** Its size in bytes; 0 when it has no size limit (tmpfs size=0). */
  size: number;
  used: number;
  /** Bytes this user may still take (statfs f_bavail). */
  available: number;
  /** Bytes the call had to allocate, rounded up to the filesystem's block. */
  requested: number;
  /** Bytes of memory this process may still fill, null where unknown (see MemoryRoom). */
  memoryAvailable: number | null;
  /** Which bound `memoryAvailable` is: the machine's or this process's memory cgroup. */
  memoryLimit: 'system' | 'cgroup' | null;
}

/** The addon's raw facts (src/mapping.cc SpaceObject). */
export interface RawSpace {
  size: number;
  free: number;
  available: number;
  requested: number;
  memoryRoom: number;
  fsType: number;
  devMajor: number;
  devMinor: number;
}

const testing: { root: string } = { root: '' };

/** @internal For shmkit's tests: read /proc and /sys below `root` instead. */
export function setProcRoot(root: string | undefined): void {
  testing.root = root ?? '';
}

const readText: Reader = (file) => {
  try {
    return fs.readFileSync(testing.root + file, 'latin1');
  } catch {
    return undefined;
  }
};

/** /proc/meminfo's MemAvailable and SwapFree, in bytes. */
export function parseMeminfo(text: string): { available?: number; swapFree?: number } {
  const out: { available?: number; swapFree?: number } = {};
  for (const line of text.split('\n')) {
    const match = /^(MemAvailable|SwapFree):\s+(\d+)(?:\s+kB)?\s*$/.exec(line);
    if (!match) continue;
    const bytes = Number(match[2]) * 1024;
    if (match[1] === 'MemAvailable') out.available = bytes;
    else out.swapFree = bytes;
  }
  return out;
}

/** A line of /proc/self/mountinfo. */
export interface Mount {
  major: number;
  minor: number;
  /** The directory of the filesystem mounted here ('/' unless a bind mount). */
  root: string;
  point: string;
  type: string;
  superOptions: string[];
}

/** mountinfo escapes space, tab, newline and backslash as octal. */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

export function parseMountinfo(text: string): Mount[] {
  const mounts: Mount[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    const dash = fields.indexOf('-');
    if (dash < 6 || fields.length < dash + 4) continue;
    const dev = /^(\d+):(\d+)$/.exec(fields[2]!);
    if (!dev) continue;
    mounts.push({
      major: Number(dev[1]),
      minor: Number(dev[2]),
      root: unescape(fields[3]!),
      point: unescape(fields[4]!),
      type: fields[dash + 1]!,
      superOptions: fields[dash + 3]!.split(','),
    });
  }
  return mounts;
}

/** This process's cgroups from /proc/self/cgroup: the v2 path and the v1 memory controller's path. */
export function parseCgroups(text: string): { v2?: string; v1Memory?: string } {
  const out: { v2?: string; v1Memory?: string } = {};
  for (const line of text.split('\n')) {
    const match = /^(\d+):([^:]*):(\/.*)$/.exec(line);
    if (!match) continue;
    if (match[1] === '0' && match[2] === '') out.v2 = match[3]!;
    else if (match[2]!.split(',').includes('memory')) out.v1Memory = match[3]!;
  }
  return out;
}

/** Values at or above this are "no limit" (v1 reports about 2^63). */
const UNLIMITED = 2 ** 60;

function readNumber(read: Reader, file: string): number | undefined {
  const text = read(file)?.trim();
  if (text === undefined || !/^\d+$/.test(text)) return undefined;
  return Number(text);
}

function statField(text: string | undefined, key: string): number | undefined {
  const match = text === undefined ? null : new RegExp(`^${key} (\\d+)$`, 'm').exec(text);
  return match ? Number(match[1]) : undefined;
}

/**
 * The room the cgroup at `dir` and each ancestor up to the hierarchy's mount
 * point `top` leave: the smallest limit − (usage − inactive file cache), with
 * the directory that sets it; undefined where no level has a limit.
 */
function cgroupRoom(read: Reader, top: string, dir: string, v2: boolean): { bytes: number; dir: string } | undefined {
  const [limitFile, usageFile, inactiveKey] = v2
    ? ['memory.max', 'memory.current', 'inactive_file']
    : ['memory.limit_in_bytes', 'memory.usage_in_bytes', 'total_inactive_file'];
  let best: { bytes: number; dir: string } | undefined;
  for (let current = dir; ; current = path.posix.dirname(current)) {
    const limit = readNumber(read, `${current}/${limitFile}`); // 'max' (v2): no limit
    const usage = readNumber(read, `${current}/${usageFile}`);
    if (limit !== undefined && limit < UNLIMITED && usage !== undefined) {
      const inactive = statField(read(`${current}/memory.stat`), inactiveKey) ?? 0;
      const bytes = Math.max(0, limit - Math.max(0, usage - inactive));
      if (best === undefined || bytes < best.bytes) best = { bytes, dir: current };
    }
    if (current === top || current.length <= top.length) break;
  }
  return best;
}

/** Where the cgroup `cgroupPath` lives in the hierarchy mounted as `mount`. */
function cgroupDir(mount: Mount, cgroupPath: string): string {
  // A mount of a sub-tree (a container without a cgroup namespace) shows it at its mount point.
  const root = mount.root === '/' ? '' : mount.root;
  const relative = root !== '' && (cgroupPath === root || cgroupPath.startsWith(`${root}/`)) ? cgroupPath.slice(root.length) : cgroupPath;
  return path.posix.join(mount.point, relative);
}

/** The memory a populate may still take here, or undefined where nothing says. */
export function memoryRoom(read: Reader = readText): MemoryRoom | undefined {
  let room: MemoryRoom | undefined;
  const meminfo = parseMeminfo(read('/proc/meminfo') ?? '');
  if (meminfo.available !== undefined) room = { bytes: meminfo.available + (meminfo.swapFree ?? 0), limit: 'system' };
  const groups = parseCgroups(read('/proc/self/cgroup') ?? '');
  if (groups.v2 === undefined && groups.v1Memory === undefined) return room;
  for (const mount of parseMountinfo(read('/proc/self/mountinfo') ?? '')) {
    const v2 = mount.type === 'cgroup2' && groups.v2 !== undefined;
    const v1 = mount.type === 'cgroup' && mount.superOptions.includes('memory') && groups.v1Memory !== undefined;
    if (!v2 && !v1) continue;
    const found = cgroupRoom(read, mount.point, cgroupDir(mount, (v2 ? groups.v2 : groups.v1Memory)!), v2);
    if (found !== undefined && (room === undefined || found.bytes < room.bytes)) {
      room = { bytes: found.bytes, limit: 'cgroup', cgroup: found.dir };
    }
  }
  return room;
}

const TMPFS_MAGIC = 0x01021994;

/** The memory room each report was checked against (its cgroup directory is for the message only). */
const rooms = new WeakMap<SpaceReport, MemoryRoom>();

/** The public `error.space` for the addon's raw facts. */
export function spaceReport(raw: RawSpace, room: MemoryRoom | undefined): SpaceReport {
  const mounts = parseMountinfo(readText('/proc/self/mountinfo') ?? '').filter(
    (m) => m.major === raw.devMajor && m.minor === raw.devMinor,
  );
  const mount = mounts.find((m) => m.point === '/dev/shm') ?? mounts[mounts.length - 1];
  const report: SpaceReport = {
    path: mount?.point ?? '/dev/shm',
    type: mount?.type ?? (raw.fsType === TMPFS_MAGIC ? 'tmpfs' : 'unknown'),
    size: raw.size,
    used: raw.size - raw.free,
    available: raw.available,
    requested: raw.requested,
    memoryAvailable: raw.memoryRoom >= 0 ? raw.memoryRoom : null,
    memoryLimit: raw.memoryRoom >= 0 ? (room?.limit ?? null) : null,
  };
  if (room !== undefined) rooms.set(report, room);
  return report;
}

/** Bytes for people: `1.5 MiB`. */
export function formatSize(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** The `count` largest entries of `dir` by the space they take (allocated blocks). */
function largestEntries(dir: string, count: number): string {
  let entries: Array<[string, number]>;
  try {
    entries = fs.readdirSync(dir).map((name): [string, number] => {
      const stat = fs.lstatSync(path.join(dir, name), { throwIfNoEntry: false });
      return [name, stat === undefined ? 0 : stat.blocks * 512];
    });
  } catch {
    return '';
  }
  const listed = entries
    .filter(([, bytes]) => bytes > 0)
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, bytes]) => `${JSON.stringify(name)} ${formatSize(bytes)}`);
  if (listed.length === 0) return '';
  return `; the largest entries: ${listed.join(', ')}${entries.length > count ? ` (of ${entries.length})` : ''}`;
}

/** What to tell the user about a populate that did not fit (`code` ENOSPC or ENOMEM). */
export function spaceHint(code: string, space: SpaceReport): string {
  const cgroup = rooms.get(space)?.cgroup;
  const fsFacts =
    `${space.path} (${space.type}, ` +
    (space.size > 0
      ? `size ${formatSize(space.size)}, ${formatSize(space.used)} used, ${formatSize(space.available)} free)`
      : 'no size limit)');
  const requested = `the ${formatSize(space.requested)} requested do not fit in`;
  const why =
    code === 'ENOSPC'
      ? `${requested} ${fsFacts}`
      : `${requested} memory: pages of ${space.path} are RAM, and ` +
        (space.memoryLimit === 'cgroup'
          ? `this process's memory cgroup${cgroup ? ` (${cgroup})` : ''} allows ` +
            `${formatSize(space.memoryAvailable ?? 0)} more (its limit minus what it uses)`
          : `the machine has ${formatSize(space.memoryAvailable ?? 0)} available (MemAvailable + SwapFree)`) +
        `; ${fsFacts}`;
  return (
    `populate reserves every page at create, and nothing was reserved: ${why}` +
    `${largestEntries(space.path, 5)}. ` +
    'Docker gives a container a 64 MiB /dev/shm by default, the usual cause: `docker run --shm-size=1g …` ' +
    '(compose: `shm_size`) makes it larger' +
    (code === 'ENOMEM' ? ', and `--memory` sets the container\'s memory limit' : '') +
    '; `shmkit ls` lists the segments'
  );
}
