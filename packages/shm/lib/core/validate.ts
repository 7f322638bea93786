/**
 * Argument checks for SharedMemory: first the shape (an options object, no
 * unknown option), then Python's order: size < 0, then create with size 0,
 * then a missing name when attaching. Type errors for a field come before its
 * range errors. Everything here runs before any system call, so bad input
 * never creates anything.
 */
import { maxNameLength } from './binding';
import { errnoOf, invalidArgType, invalidArgValue, outOfRange, systemError } from './errors';

export type StrategyOption = 'auto' | 'external' | 'overlay' | 'copy' | 'shared';

/** Options common to creating and attaching. */
interface CommonOptions {
  /**
   * Unlink the segment if this process ends without unlinking it (crash
   * cleanup by the tracker). Defaults to `create`; attaching never tracks.
   */
  track?: boolean | undefined;
  /** Permission bits for a created segment, before the umask. Default 0o600. */
  mode?: number | undefined;
  /**
   * Pre-fault the pages now (MAP_POPULATE). On create the pages are also
   * reserved, so a full /dev/shm is ENOSPC (not enough memory: ENOMEM) here,
   * with `error.space`, instead of SIGBUS on first touch; nothing is allocated
   * before the room is checked. On attach, the pages a sparse segment lacks are
   * prefaulted (allocated) only when they fit.
   */
  populate?: boolean | undefined;
  /**
   * How `buf` reaches the memory. 'auto' (default) picks 'external' on Node and
   * 'overlay' where external buffers are refused (Electron); 'copy' exposes no
   * `buf`, only `read()`/`write()`. Forcing one is mostly for tests. 'shared'
   * (never picked by 'auto') maps the segment into a shared WebAssembly.Memory
   * (`shm.memory`; `buf` over its SharedArrayBuffer) that can be posted to
   * workers and pages.
   */
  strategy?: StrategyOption | undefined;
}

/** `new SharedMemory({ create: true, size, … })`: a new segment. */
export interface SharedMemoryCreateOptions extends CommonOptions {
  /** Create a new segment (fails with EEXIST if the name exists). */
  create: true;
  /** Bytes to create: an integer from 1 to 2^53 − 1. */
  size: number;
  /**
   * The segment's name, without a leading slash (Python's `.name`). Omit it
   * to get a generated `psm_xxxxxxxx` name.
   */
  name?: string | null | undefined;
  /** Creating is never readonly. */
  readonly?: false | undefined;
}

/** `new SharedMemory({ name, … })`: attach to an existing segment. */
export interface SharedMemoryAttachOptions extends CommonOptions {
  /** Attach (the default). */
  create?: false | undefined;
  /** The segment's name, without a leading slash (Python's `.name`). */
  name: string;
  /** Ignored when attaching, as in Python: the true size is read from the segment. */
  size?: number | undefined;
  /**
   * Attach without the right to change the shared bytes. Writes from this process
   * land in private copy-on-write pages and never reach the segment (and never
   * crash it). Pages this process never wrote keep following other processes'
   * writes; a page it did write becomes its private copy and stops following.
   */
  readonly?: boolean | undefined;
}

/**
 * The options of `new SharedMemory(options)`: `{ create: true, size }` (a
 * name is optional) or `{ name }` to attach. Unknown options are refused
 * (ERR_INVALID_ARG_VALUE), so a misspelt one never goes unnoticed.
 */
export type SharedMemoryOptions = SharedMemoryCreateOptions | SharedMemoryAttachOptions;

/** Every option `new SharedMemory()` knows. */
type AnyOptions = Partial<Record<keyof SharedMemoryCreateOptions | keyof SharedMemoryAttachOptions, unknown>>;

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

const STRATEGIES: readonly StrategyOption[] = ['auto', 'external', 'overlay', 'copy', 'shared'];
const OPTION_NAMES: readonly (keyof AnyOptions)[] = ['name', 'create', 'size', 'track', 'readonly', 'mode', 'populate', 'strategy'];

function optionalBoolean(options: AnyOptions, key: keyof AnyOptions): boolean | undefined {
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
 * characters without '/' (nor, on Windows, '\\', which separates a name from its
 * namespace there), and not '.' or '..'. Stricter than the OS on purpose:
 * such names behave the same on Linux, macOS, Windows and in Python.
 */
export function validateName(name: unknown, argName = 'options.name'): string {
  if (typeof name !== 'string') throw invalidArgType(argName, 'of type string', name);
  if (name.length === 0) throw invalidArgValue(argName, name, 'must not be empty');
  if (name.includes('\0')) throw invalidArgValue(argName, name, 'must not contain NUL characters');
  if (name.includes('/')) {
    throw invalidArgValue(argName, name, "must not contain '/' (give the name without the leading slash)");
  }
  if (process.platform === 'win32' && name.includes('\\')) {
    throw invalidArgValue(argName, name, "must not contain '\\' on Windows (it separates a namespace from a name there)");
  }
  if (!/^[\x20-\x7e]+$/.test(name)) {
    throw invalidArgValue(argName, name, 'must contain only printable ASCII characters');
  }
  if (name === '.' || name === '..') throw invalidArgValue(argName, name, "must not be '.' or '..'");
  if (name.length > maxNameLength) {
    throw systemError(
      errnoOf('ENAMETOOLONG'),
      process.platform === 'win32' ? 'CreateFileMappingW' : 'shm_open',
      name,
      'file name too long',
      `at most ${maxNameLength} characters on ${process.platform}`,
    );
  }
  return name;
}

/** Edit distance with adjacent transpositions ('nmae' is 1 from 'name'). */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]) as number[][];
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * Refuses options `known` does not list (ERR_INVALID_ARG_VALUE), naming the
 * closest known one: a misspelt option must not be silently ignored.
 */
function refuseUnknownOptions(options: object, known: readonly string[], what: string, argName = 'options'): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const closest = known
      .map((k) => ({ k, d: distance(key.toLowerCase(), k.toLowerCase()) }))
      .filter(({ d }) => d <= 2)
      .sort((x, y) => x.d - y.d)[0];
    const hint = closest ? `did you mean '${closest.k}'?` : `the options are ${known.map((k) => `'${k}'`).join(', ')}`;
    throw invalidArgValue(`${argName}.${key}`, (options as Record<string, unknown>)[key], `is not an option of ${what} (${hint})`);
  }
}

/** `new SharedMemory('name')` is Python's positional form: say what to write instead. */
function positionalForm(args: readonly unknown[]): string {
  const [name, create, size] = args;
  const quoted = JSON.stringify(name).replace(/^"(.*)"$/, (_, inner: string) => (inner.includes("'") ? `"${inner}"` : `'${inner}'`));
  if (create === true && typeof size === 'number') {
    return `to create, call SharedMemory.create(${size}, { name: ${quoted} }) or new SharedMemory({ name: ${quoted}, create: true, size: ${size} })`;
  }
  return `to attach, call SharedMemory.attach(${quoted}) or new SharedMemory({ name: ${quoted} }); to create, SharedMemory.create(size, { name: ${quoted} })`;
}

/**
 * Checks the options of `new SharedMemory()`. `args` are all the
 * constructor's arguments, to explain Python's positional form.
 */
export function validateOptions(options: unknown, args: readonly unknown[] = [options]): ValidatedOptions {
  if (typeof options === 'string') {
    const error = invalidArgType('options', 'of type object', options);
    error.message += `. shmkit takes an options object, not Python's positional arguments: ${positionalForm(args)}`;
    throw error;
  }
  if (options === undefined) options = {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw invalidArgType('options', 'of type object', options);
  }
  refuseUnknownOptions(options, OPTION_NAMES, 'SharedMemory');
  const o = options as AnyOptions;

  const create = optionalBoolean(o, 'create') ?? false;

  // Python's order: a negative size is refused even when attaching; creating needs at least 1.
  let size = 0;
  if (o.size !== undefined) {
    size = validateInteger('options.size', o.size, create ? 1 : 0, Number.MAX_SAFE_INTEGER);
  } else if (create) {
    throw outOfRange('options.size', `an integer >= 1 and <= ${Number.MAX_SAFE_INTEGER} when creating a segment`, o.size);
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
    if (!STRATEGIES.includes(o.strategy as StrategyOption)) {
      throw invalidArgValue('options.strategy', o.strategy, `must be one of ${STRATEGIES.join(', ')}`);
    }
    strategy = o.strategy as StrategyOption;
  }

  return { name, create, size, track, readonly, mode, populate, strategy };
}

/** The options of `SharedMemory.createUnmapped()`. */
export interface CreateUnmappedOptions {
  /** Generated (`psm_` + 8 hex digits, retried on EEXIST) when omitted. */
  name?: string | undefined;
  size: number;
  /** Permission bits (the umask applies). Default 0o600. */
  mode?: number | undefined;
  /** Crash cleanup, as for a create: unlinked if this process dies without unlinking it. Default true. */
  track?: boolean | undefined;
}

/** Checks the options of `SharedMemory.createUnmapped()`: a create's, without what only a mapping has. */
export function validateUnmappedOptions(options: unknown): ValidatedOptions {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw invalidArgType('options', 'of type object', options);
  }
  refuseUnknownOptions(options, ['name', 'size', 'mode', 'track'], 'SharedMemory.createUnmapped');
  return validateOptions({ ...options, create: true });
}
