/**
 * Argument checks for SharedMemory, in Python's order: size < 0, then
 * create with size 0, then a missing name when attaching. Type errors for a
 * field come before its range errors. Everything here runs before any system
 * call, so bad input never creates anything.
 */
import { constants } from 'node:os';
import { maxNameLength } from './binding';
import { invalidArgType, invalidArgValue, outOfRange, systemError } from './errors';

export type StrategyOption = 'auto' | 'external' | 'overlay' | 'copy';

export interface SharedMemoryOptions {
  /**
   * The segment's name, without a leading slash (Python's `.name`). Omit it
   * with `create: true` to get a generated `psm_xxxxxxxx` name.
   */
  name?: string | null | undefined;
  /** Create a new segment (fails with EEXIST if the name exists). Default false. */
  create?: boolean | undefined;
  /** Bytes to create. Required (> 0) with `create`; ignored when attaching, as in Python. */
  size?: number | undefined;
  /**
   * Unlink the segment if this process dies without unlinking it. Accepted now;
   * crash cleanup arrives with the lifecycle work. Defaults to `create`.
   */
  track?: boolean | undefined;
  /**
   * Attach without the right to change the shared bytes. Writes from this process
   * land in private copy-on-write pages and never reach the segment (and never
   * crash it). Pages this process never wrote keep following other processes'
   * writes; a page it did write becomes its private copy and stops following.
   */
  readonly?: boolean | undefined;
  /** Permission bits for a created segment, before the umask. Default 0o600. */
  mode?: number | undefined;
  /**
   * Pre-fault the pages now (MAP_POPULATE; on create the pages are also reserved,
   * so a full /dev/shm is ENOSPC here instead of SIGBUS on first touch).
   */
  populate?: boolean | undefined;
  /**
   * How `buf` reaches the memory. 'auto' (default) picks 'external' on Node and
   * 'overlay' where external buffers are refused (Electron); 'copy' exposes no
   * `buf`, only `read()`/`write()`. Forcing one is mostly for tests.
   */
  strategy?: StrategyOption | undefined;
}

export interface ValidatedOptions {
  name: string | undefined;
  create: boolean;
  size: number;
  track: boolean;
  readonly: boolean;
  mode: number;
  populate: boolean;
  strategy: StrategyOption;
}

const STRATEGIES: readonly StrategyOption[] = ['auto', 'external', 'overlay', 'copy'];

function optionalBoolean(options: SharedMemoryOptions, key: keyof SharedMemoryOptions): boolean | undefined {
  const value = options[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw invalidArgType(`options.${key}`, 'of type boolean', value);
  return value;
}

/** Checks an integer-valued number: type, then NaN/fraction/range. */
export function validateInteger(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw outOfRange(name, `an integer >= ${min} and <= ${max}`, value);
  }
  return value;
}

/**
 * Checks a segment name. Names must be 1..maxNameLength printable ASCII
 * characters without '/', and not '.' or '..'. Stricter than the OS on purpose:
 * such names behave the same on Linux, macOS and in Python.
 */
export function validateName(name: unknown, argName = 'options.name'): string {
  if (typeof name !== 'string') throw invalidArgType(argName, 'of type string', name);
  if (name.length === 0) throw invalidArgValue(argName, name, 'must not be empty');
  if (name.includes('\0')) throw invalidArgValue(argName, name, 'must not contain NUL characters');
  if (name.includes('/')) {
    throw invalidArgValue(argName, name, "must not contain '/' (give the name without the leading slash)");
  }
  if (!/^[\x20-\x7e]+$/.test(name)) {
    throw invalidArgValue(argName, name, 'must contain only printable ASCII characters');
  }
  if (name === '.' || name === '..') throw invalidArgValue(argName, name, "must not be '.' or '..'");
  if (name.length > maxNameLength) {
    throw systemError(
      constants.errno.ENAMETOOLONG,
      'shm_open',
      name,
      'file name too long',
      `at most ${maxNameLength} characters on ${process.platform}`,
    );
  }
  return name;
}

export function validateOptions(options: unknown): ValidatedOptions {
  if (options === undefined) options = {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw invalidArgType('options', 'of type object', options);
  }
  const o = options as SharedMemoryOptions;

  const create = optionalBoolean(o, 'create') ?? false;

  let size = 0;
  if (o.size !== undefined) {
    size = validateInteger('options.size', o.size, 0, Number.MAX_SAFE_INTEGER);
  }
  if (create && size === 0) {
    throw outOfRange('options.size', 'an integer > 0 when creating a segment', o.size);
  }

  let name: string | undefined;
  if (o.name === undefined || o.name === null) {
    if (!create) {
      throw invalidArgValue('options.name', o.name, 'is required when attaching (create is false)');
    }
  } else {
    name = validateName(o.name);
  }

  const readonly = optionalBoolean(o, 'readonly') ?? false;
  if (readonly && create) {
    throw invalidArgValue('options.readonly', readonly, 'cannot be combined with create: true');
  }
  const mode = o.mode === undefined ? 0o600 : validateInteger('options.mode', o.mode, 0, 0o777);
  const populate = optionalBoolean(o, 'populate') ?? false;
  const track = optionalBoolean(o, 'track') ?? create;

  let strategy: StrategyOption = 'auto';
  if (o.strategy !== undefined) {
    if (typeof o.strategy !== 'string') throw invalidArgType('options.strategy', 'of type string', o.strategy);
    if (!STRATEGIES.includes(o.strategy)) {
      throw invalidArgValue('options.strategy', o.strategy, `must be one of ${STRATEGIES.join(', ')}`);
    }
    strategy = o.strategy;
  }

  return { name, create, size, track, readonly, mode, populate, strategy };
}
