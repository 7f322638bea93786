/**
 * The per-user private directory where trackers keep their sockets and state
 * files and managers their sockets:
 *
 *   $XDG_RUNTIME_DIR/shmkit         when XDG_RUNTIME_DIR is set, absolute, and a
 *                                    directory of this user with mode 0700
 *   ${os.tmpdir()}/shmkit-<uid>      otherwise
 *
 * Nothing is used before it is verified (issue 8 item 1: another local user can
 * create `/tmp/shmkit-<uid>` first). Every directory on the way there must be a
 * real directory (no symlink in the private part), owned by root or this user;
 * one that others can write to must be sticky (like /tmp). The private
 * directories themselves must be owned by this user and have no permission bit
 * for group or others. Anything else is refused with ERR_SHM_UNSAFE_DIRECTORY,
 * naming the path, rather than used.
 *
 * @internal
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { shmError, type ShmError } from '../core/errors';

export interface UnsafeDirectoryError extends ShmError {
  path: string;
}

function euid(): number {
  return typeof process.geteuid === 'function' ? process.geteuid() : os.userInfo().uid;
}

function unsafe(dir: string, why: string): UnsafeDirectoryError {
  const error = shmError(
    'ERR_SHM_UNSAFE_DIRECTORY',
    `refusing to use ${dir}: ${why}. shmkit keeps its tracker and manager sockets and state there and ` +
      `needs it to be this user's own and private (uid ${euid()}, mode 0700); remove it or fix it ` +
      '(or set TMPDIR / XDG_RUNTIME_DIR to a private directory)',
  ) as UnsafeDirectoryError;
  error.path = dir;
  return error;
}

function describe(stat: fs.Stats): string {
  return `owner uid ${stat.uid}, mode ${(stat.mode & 0o7777).toString(8).padStart(4, '0')}`;
}

/** Every directory from the root down to `dir` (resolved) may lead only to this user's files. */
function checkAncestors(dir: string): string {
  let real: string;
  try {
    real = fs.realpathSync(dir);
  } catch (error) {
    throw unsafe(dir, `it cannot be resolved (${(error as { code?: string }).code ?? String(error)})`);
  }
  const uid = euid();
  let current = path.parse(real).root;
  const parts = real.slice(current.length).split(path.sep).filter(Boolean);
  for (let i = 0; i <= parts.length; i++) {
    if (i > 0) current = path.join(current, parts[i - 1]!);
    const stat = fs.lstatSync(current);
    if (!stat.isDirectory()) throw unsafe(current, 'it is not a directory');
    if (stat.uid !== 0 && stat.uid !== uid) throw unsafe(current, `another user owns it (${describe(stat)})`);
    if ((stat.mode & 0o022) !== 0 && (stat.mode & 0o1000) === 0) {
      throw unsafe(current, `others can write to it and it is not sticky (${describe(stat)})`);
    }
  }
  return real;
}

/** Makes `dir` (0700) unless it exists; then it must be this user's, private, and no symlink. */
function ensurePrivate(dir: string, create: boolean): boolean {
  if (create) {
    try {
      fs.mkdirSync(dir, { mode: 0o700 });
    } catch (error) {
      if ((error as { code?: string }).code !== 'EEXIST') throw error;
    }
  }
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(dir);
  } catch (error) {
    if (!create && (error as { code?: string }).code === 'ENOENT') return false;
    throw error;
  }
  if (stat.isSymbolicLink()) throw unsafe(dir, 'it is a symbolic link');
  if (!stat.isDirectory()) throw unsafe(dir, 'it is not a directory');
  if (stat.uid !== euid()) throw unsafe(dir, `another user owns it (${describe(stat)})`);
  if ((stat.mode & 0o077) !== 0) throw unsafe(dir, `group or others have access to it (${describe(stat)})`);
  return true;
}

/** $XDG_RUNTIME_DIR when it is usable as the spec describes it; else undefined. */
function runtimeDir(): string | undefined {
  const dir = process.env.XDG_RUNTIME_DIR;
  if (!dir || !path.isAbsolute(dir)) return undefined;
  try {
    const stat = fs.statSync(dir);
    if (stat.isDirectory() && stat.uid === euid() && (stat.mode & 0o077) === 0) return dir;
  } catch {
    // missing
  }
  return undefined;
}

/**
 * The verified private directory (`sub` inside it when given). With
 * `create: false`, undefined when it does not exist yet. Throws
 * ERR_SHM_UNSAFE_DIRECTORY (with `path`) for a directory that is not safe.
 */
export function privateDir(sub?: string, { create = true } = {}): string | undefined {
  const runtime = runtimeDir();
  const parent = checkAncestors(runtime ?? os.tmpdir());
  let dir = path.join(parent, runtime !== undefined ? 'shmkit' : `shmkit-${euid()}`);
  if (!ensurePrivate(dir, create)) return undefined;
  if (sub !== undefined) {
    dir = path.join(dir, sub);
    if (!ensurePrivate(dir, create)) return undefined;
  }
  return dir;
}

/**
 * Reads a small regular file of this user without following a symlink or
 * blocking on a FIFO; undefined for anything else.
 */
export function readOwnFile(file: string, maxBytes = 1 << 20): string | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile() || stat.uid !== euid() || stat.size > maxBytes) return undefined;
    return fs.readFileSync(fd, 'utf8');
  } catch {
    return undefined;
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes `text` to `file` atomically: a fresh O_EXCL | O_NOFOLLOW temp file (0600), then rename. */
export function writeOwnFile(file: string, text: string): void {
  const temp = `${file}.tmp`;
  try {
    fs.unlinkSync(temp); // a leftover of a killed writer (a symlink is removed, never followed)
  } catch {
    // none
  }
  const fd = fs.openSync(
    temp,
    fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW,
    0o600,
  );
  try {
    fs.writeSync(fd, text);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temp, file);
}
