/**
 * Error shapes used across shmkit. Tests and callers match on `code`, never on
 * message text.
 *
 * - OS failures are Node system errors: `code` (ENOENT, EEXIST, …), `errno`
 *   (negative, as Node reports it), `syscall` and `path` (the segment name).
 * - Bad arguments are TypeError/RangeError with Node's codes.
 * - shmkit's own states use `ERR_SHM_*` codes.
 */
import { constants } from 'node:os';
import { getSystemErrorMap, getSystemErrorName } from 'node:util';
import type { SpaceReport } from './space';

/** Every `code` shmkit itself defines (system errors use the OS's codes). */
export type ShmErrorCode =
  | 'ERR_SHM_CLOSED'
  | 'ERR_SHM_READONLY'
  | 'ERR_SHM_UNTRANSFERABLE'
  | 'ERR_SHM_UNSUPPORTED_PLATFORM'
  | 'ERR_SHM_STRATEGY_UNAVAILABLE'
  | 'ERR_SHM_ZERO_COPY_UNAVAILABLE'
  | 'ERR_SHM_MAP_FAILED'
  | 'ERR_SHM_NAME_EXHAUSTED'
  | 'ERR_SHM_WAIT_FAILED'
  | 'ERR_SHM_RING_STATE'
  | 'ERR_SHM_RING_FORMAT'
  | 'ERR_SHM_RING_WRITER_GONE'
  | 'ERR_SHM_LIST_FORMAT'
  | 'ERR_SHM_MANAGER_NOT_STARTED'
  | 'ERR_SHM_ADDON_NOT_FOUND'
  | 'ERR_SHM_NOT_A_SEGMENT'
  | 'ERR_SHM_TOO_LARGE'
  | 'ERR_SHM_ADDRESS_SPACE'
  | 'ERR_SHM_UNSAFE_DIRECTORY'
  | 'ERR_SHM_RUN_AS_NODE_DISABLED';

export interface ShmError extends Error {
  code: ShmErrorCode;
}

/** The shape of a Node system error as shmkit throws it. */
export interface ShmSystemError extends Error {
  code: string;
  errno: number;
  syscall: string;
  path: string;
  /**
   * On ENOSPC or ENOMEM from a populate (`syscall: 'posix_fallocate'`): the
   * filesystem's size, use and free space, the request and the memory room.
   * Names no segment: safe to pass on to less trusted code.
   */
  space?: SpaceReport;
}

export function shmError(code: ShmErrorCode, message: string): ShmError {
  const error = new Error(message) as ShmError;
  error.code = code;
  return error;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return `function ${value.name || '<anonymous>'}`;
  if (typeof value === 'object') {
    const ctor = (value as object).constructor;
    return ctor && ctor.name ? `an instance of ${ctor.name}` : 'an object';
  }
  if (typeof value === 'string') {
    const shown = value.length > 28 ? `${value.slice(0, 25)}...` : value;
    return `type string (${JSON.stringify(shown)})`;
  }
  return `type ${typeof value} (${String(value)})`;
}

export function invalidArgType(name: string, expected: string, actual: unknown): TypeError {
  const error = new TypeError(
    `The "${name}" argument must be ${expected}. Received ${describe(actual)}`,
  ) as TypeError & { code: string };
  error.code = 'ERR_INVALID_ARG_TYPE';
  return error;
}

export function invalidArgValue(name: string, value: unknown, reason: string): TypeError {
  const error = new TypeError(
    `The argument '${name}' ${reason}. Received ${describe(value)}`,
  ) as TypeError & { code: string };
  error.code = 'ERR_INVALID_ARG_VALUE';
  return error;
}

export function outOfRange(name: string, range: string, value: unknown): RangeError {
  const error = new RangeError(
    `The value of "${name}" is out of range. It must be ${range}. Received ${describe(value)}`,
  ) as RangeError & { code: string };
  error.code = 'ERR_OUT_OF_RANGE';
  return error;
}

/**
 * The positive error number of `code` in this platform's numbering, as the
 * addon reports it: the OS's errno on POSIX; on Windows libuv's numbers, the
 * ones util.getSystemErrorName knows there (os.constants.errno holds the C
 * runtime's, which it does not).
 */
export function errnoOf(code: keyof typeof constants.errno): number {
  if (process.platform !== 'win32') return constants.errno[code];
  for (const [negative, [name]] of getSystemErrorMap()) if (name === code) return -negative;
  return constants.errno[code];
}

/**
 * Builds a Node system error from the addon's raw error (`errno` positive as
 * the addon reports it, `syscall`, `path`). On Windows the description is
 * libuv's for the code (the addon's message is only a number there).
 */
export function systemError(
  errno: number,
  syscall: string,
  path: string,
  description: string,
  detail?: string,
): ShmSystemError {
  let code: string;
  try {
    code = getSystemErrorName(-errno);
  } catch {
    code = `E${errno}`;
  }
  if (process.platform === 'win32') description = getSystemErrorMap().get(-errno)?.[1] ?? description;
  const text = description.charAt(0).toLowerCase() + description.slice(1);
  const extra = detail ? ` (${detail})` : '';
  const error = new Error(`${code}: ${text}${extra}, ${syscall} '${path}'`) as ShmSystemError;
  error.code = code;
  error.errno = -errno;
  error.syscall = syscall;
  error.path = path;
  return error;
}

/**
 * Appends what to do to an error's message (the error keeps its class,
 * `code` and other fields). Returns the same error.
 */
export function withHint<E>(error: E, hint: string): E {
  if (error instanceof Error) error.message = `${error.message}. ${hint}`;
  return error;
}

/**
 * Restarts an error's stack at the caller of `entry` (a public function or
 * constructor of shmkit), so the first frame a user sees is their own call,
 * not shmkit's internals. Returns the same error.
 */
export function atCaller<E>(error: E, entry: Function): E {
  if (error instanceof Error && typeof Error.captureStackTrace === 'function') Error.captureStackTrace(error, entry);
  return error;
}
