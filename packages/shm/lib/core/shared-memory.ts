import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { markAsUntransferable } from 'node:worker_threads';
import {
  createUnmappedSegment,
  maxViewLength,
  openMapping,
  unlinkSegmentAsync,
  unlinkSegment,
  wasmHostReleased,
  StrategyCode,
  type NativeMapping,
  type OverlayHost,
  type ResolvedStrategy,
} from './binding';
import { atCaller, invalidArgType, invalidArgValue, outOfRange, shmError, withHint, type ShmSystemError } from './errors';
import { spaceHint } from './space';
import * as tracker from '../lifecycle/tracker';
import {
  validateInteger,
  validateName,
  validateOptions,
  validateUnmappedOptions,
  type CreateUnmappedOptions,
  type SharedMemoryAttachOptions,
  type SharedMemoryCreateOptions,
  type SharedMemoryOptions,
} from './validate';

export type { SharedMemoryOptions, SharedMemoryCreateOptions, SharedMemoryAttachOptions, StrategyOption, CreateUnmappedOptions } from './validate';
export type BufferStrategy = ResolvedStrategy;

/**
 * The WebAssembly.Memory behind a segment mapped with `strategy: 'shared'`
 * (typed structurally: the ES and Node type libraries have no WebAssembly).
 * Post it (or its buffer) to a worker or a page: it is the same memory there.
 */
export interface SharedWasmMemory {
  readonly buffer: SharedArrayBuffer;
  grow(delta: number): number;
}

/** Constructors `view()` accepts. */
export type ViewConstructor<T extends ArrayBufferView> = {
  new (buffer: ArrayBuffer, byteOffset?: number, length?: number): T;
  readonly BYTES_PER_ELEMENT?: number;
};

/** CPython's prefixes for generated names: 'wnsm_' on Windows, 'psm_' elsewhere. */
const GENERATED_PREFIX = process.platform === 'win32' ? 'wnsm_' : 'psm_';
const WINDOWS = process.platform === 'win32';
const GENERATED_ATTEMPTS = 100;

/** Views handed out keep their SharedMemory alive through this key. */
const kOwner = Symbol('shmkit.owner');
/** An overlay's buffer keeps its WebAssembly.Memory alive through this key. */
const kHost = Symbol('shmkit.host');

const STRATEGY_CODES = {
  auto: StrategyCode.Auto,
  external: StrategyCode.External,
  overlay: StrategyCode.Overlay,
  copy: StrategyCode.Copy,
  shared: StrategyCode.Shared,
} as const;

/**
 * Overlay and shared mappings sit on the pages of a buffer the addon holds
 * strongly. When the SharedMemory and every view it gave out are unreachable,
 * close the mapping so the buffer can be freed (with anonymous memory restored
 * first).
 */
const overlayCleanup = new FinalizationRegistry<{ mapping: NativeMapping; host: OverlayHost }>(({ mapping, host }) => {
  closeMapping(mapping, host, 'an unreachable SharedMemory');
});

function closeMapping(mapping: NativeMapping, host: OverlayHost, what: string): void {
  const wasOpen = !mapping.closed;
  // A keyed host (Node 24's markAsUntransferable) cannot be detached by napi.
  const clean = mapping.close(host.keyed !== true);
  // A WebAssembly.Memory's buffer is detached only by growing the memory; the
  // addon has already put anonymous memory back under it. A shared memory's
  // buffer is never detached (its views read zeros from now on).
  if (wasOpen && host.memory !== undefined) {
    if (mapping.strategy === 'overlay') host.detach?.();
    wasmHostReleased();
  }
  if (!clean) {
    process.emitWarning(
      `${what} used the overlay strategy and its ArrayBuffer had been detached or transferred ` +
        'before close(); its pages were left alone. Never transfer the buffer of a SharedMemory.',
      { code: 'SHMKIT_OVERLAY_DETACHED' },
    );
  }
}

/**
 * An overlay's ArrayBuffer must never be detached by anyone but close():
 * transferring it would hand pages that alias the segment to the allocator.
 * Marked untransferable, a buffer in a transfer list is copied (Node 20) or
 * refused with a DataCloneError (Node 22 and later); `transfer()` is shadowed
 * on the instance. From Node 24 the mark is a V8 detach key: nobody (BYOB
 * reads included) can detach the buffer any more, napi neither, so close()
 * must not try (returns true: keyed).
 */
function guardOverlayBuffer(buffer: ArrayBuffer): boolean {
  markAsUntransferable(buffer);
  const keyed = untransferableIsKeyed();
  const refuse = (): never => {
    throw shmError(
      'ERR_SHM_UNTRANSFERABLE',
      'the ArrayBuffer of a SharedMemory cannot be transferred; copy it (slice()) or close() the SharedMemory',
    );
  };
  for (const key of ['transfer', 'transferToFixedLength']) {
    Object.defineProperty(buffer, key, { value: refuse, writable: false, configurable: false, enumerable: false });
  }
  return keyed;
}

let keyedMark: boolean | undefined;
/** Does markAsUntransferable make a buffer undetachable (a V8 detach key, Node 24)? Probed once. */
function untransferableIsKeyed(): boolean {
  if (keyedMark === undefined) {
    const probe = new ArrayBuffer(8);
    markAsUntransferable(probe);
    const transfer = (ArrayBuffer.prototype as { transfer?: (this: ArrayBuffer) => ArrayBuffer }).transfer;
    if (typeof transfer !== 'function') {
      keyedMark = false; // Node 20: no JS detach at all; napi detaches freely
    } else {
      try {
        transfer.call(probe);
        keyedMark = false;
      } catch {
        keyedMark = true;
      }
    }
  }
  return keyedMark;
}

/** SHMKIT_COPY_FALLBACK is emitted once per reason. */
const copyFallbackWarned = new Set<string>();

/** Native mapping of each SharedMemory, for shmkit's own modules (wait/notify). */
const mappings = new WeakMap<SharedMemory, NativeMapping>();

/** @internal The native mapping behind `shm` (throws ERR_INVALID_ARG_TYPE for anything else). */
export function nativeMappingOf(shm: unknown, argName = 'shm'): NativeMapping {
  const mapping = typeof shm === 'object' && shm !== null ? mappings.get(shm as SharedMemory) : undefined;
  if (mapping === undefined) throw invalidArgType(argName, 'an instance of SharedMemory', shm);
  return mapping;
}

/** A name as JavaScript source, for messages that show code to run. */
function quoted(name: string): string {
  return name.includes("'") ? JSON.stringify(name) : `'${name.replace(/\\/g, '\\\\')}'`;
}

/** A name as a shell word, for messages that show a command to run. */
function shellWord(name: string): string {
  return /^[\w.@%+=:,-]+$/.test(name) ? name : `'${name.replace(/'/g, "'\\''")}'`;
}

/**
 * Says what to do about the system errors a newcomer meets first: a missing
 * name, a name taken, and a populate that does not fit in /dev/shm or memory.
 */
function explained(error: unknown, name: string, create: boolean): unknown {
  const code = (error as ShmSystemError | undefined)?.code;
  const space = (error as ShmSystemError | undefined)?.space;
  if (code !== undefined && space !== undefined) return withHint(error, spaceHint(code, space));
  if (code === 'ENOENT' && !create) {
    return withHint(
      error,
      `No segment is named ${quoted(name)}: check the name (\`shmkit ls\` lists the segments), ` +
        `or create it with { create: true, size }`,
    );
  }
  if (code === 'EEXIST' && create && WINDOWS) {
    return withHint(
      error,
      `A segment named ${quoted(name)} exists already: some process holds it open (on Windows a segment ` +
        `lives until every process has closed it); attach to it with SharedMemory.attach(${quoted(name)}), ` +
        `or omit the name to get a generated one`,
    );
  }
  if (code === 'EEXIST' && create) {
    return withHint(
      error,
      `A segment named ${quoted(name)} exists already, perhaps left by an earlier run that did not unlink it: ` +
        `\`shmkit ls\` shows who owns it and \`shmkit rm ${shellWord(name)}\` removes it; ` +
        `or attach to it with SharedMemory.attach(${quoted(name)}), or omit the name to get a generated one`,
    );
  }
  return error;
}

/** Runs `fn`; an error it throws gets a stack that starts at the caller of `entry`. */
function fromCaller<T>(entry: Function, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw atCaller(error, entry);
  }
}

/** `psm_` (Windows: `wnsm_`) + 8 random hex digits, the format Python's SharedMemory generates. */
export function generateName(): string {
  return GENERATED_PREFIX + randomBytes(4).toString('hex');
}

/**
 * A named block of shared memory, with the semantics of Python's
 * `multiprocessing.shared_memory.SharedMemory`.
 *
 * Lifecycle: each process that uses a segment calls `close()` when done with it
 * (idempotent; it detaches every buffer and view this object gave out, so stale
 * views read as length 0). Exactly one process calls `unlink()` to remove the
 * name; existing mappings keep working until they are closed. Close and unlink
 * may happen in either order. `using shm = …` closes at the end of the scope.
 * On Windows the segment goes when the last process closes it, and `unlink()`
 * does nothing (as in CPython).
 */
export class SharedMemory implements Disposable {
  readonly #name: string;
  readonly #size: number;
  readonly #mapping: NativeMapping;
  readonly #host: OverlayHost = {};
  readonly #track: boolean;
  readonly #readonly: boolean;
  #buf: Uint8Array | undefined;

  constructor(options: SharedMemoryOptions) {
    // Errors start at the caller's line, not inside shmkit (Python's positional
    // form, `new SharedMemory('name')`, is refused with what to write instead).
    const entry = new.target;
    const all = typeof options === 'string' ? [...arguments] : [options];
    const o = fromCaller(entry, () => validateOptions(options, all));
    const args = {
      create: o.create,
      readonly: o.readonly,
      mode: o.mode,
      size: o.size,
      strategy: STRATEGY_CODES[o.strategy],
      populate: o.populate,
    };
    // Only a creator is ever tracked: attaching never registers (CPython's worst bug).
    const track = o.track && o.create;
    let mapping: NativeMapping | undefined;
    let name = o.name;
    if (name !== undefined) {
      const given = name;
      mapping = fromCaller(entry, () => {
        try {
          return openTracked(track, { name: given, ...args }, this.#host);
        } catch (error) {
          throw explained(error, given, o.create);
        }
      });
    } else {
      // Generated names retry on EEXIST, like Python.
      for (let attempt = 0; attempt < GENERATED_ATTEMPTS && mapping === undefined; attempt++) {
        name = generateName();
        try {
          mapping = openTracked(track, { name, ...args }, this.#host);
        } catch (error) {
          if ((error as ShmSystemError).code !== 'EEXIST') throw atCaller(explained(error, name, true), entry);
        }
      }
      if (mapping === undefined || name === undefined) {
        throw atCaller(shmError('ERR_SHM_NAME_EXHAUSTED', `no free generated name after ${GENERATED_ATTEMPTS} attempts`), entry);
      }
    }
    this.#name = name;
    this.#mapping = mapping;
    this.#size = mapping.size;
    this.#track = track;
    this.#readonly = o.readonly;
    mappings.set(this, mapping);

    if (mapping.strategy === 'overlay' || mapping.strategy === 'shared') {
      const buffer = mapping.buffer as ArrayBuffer;
      if (this.#host.memory === undefined) this.#host.keyed = guardOverlayBuffer(buffer);
      // Every view, even one the user derives (subarray), keeps the buffer and
      // so the memory alive: after close() an asynchronous operation still
      // writing through a view lands in the memory's private pages, never in
      // pages returned to the system.
      // (A shared memory's SharedArrayBuffer is frozen, and holds the memory's
      // pages by itself: posted elsewhere, it keeps them after close(), as zeros.)
      else if (mapping.strategy === 'overlay') Object.defineProperty(buffer, kHost, { value: this.#host.memory });
      overlayCleanup.register(this, { mapping, host: this.#host }, this);
    }
    if (mapping.strategy === 'copy' && o.strategy === 'auto') {
      const tooLarge = mapping.size > maxViewLength;
      const reason = tooLarge ? 'size' : 'runtime';
      if (!copyFallbackWarned.has(reason)) {
        copyFallbackWarned.add(reason);
        process.emitWarning(
          (tooLarge
            ? `shmkit cannot map ${this.toString()} into an ArrayBuffer: ${process.release.name} ` +
              `${process.version} makes typed arrays of at most ${maxViewLength} bytes; `
            : 'shmkit could not map shared memory into an ArrayBuffer in this runtime; ') +
            'SharedMemory falls back to the copy strategy: `buf` and `view()` throw ' +
            'ERR_SHM_ZERO_COPY_UNAVAILABLE, use read() and write().',
          { code: 'SHMKIT_COPY_FALLBACK' },
        );
      }
    }
  }

  /** Creates a new segment of `size` bytes (name generated unless given). */
  static create(size: number, options?: Omit<SharedMemoryCreateOptions, 'create' | 'size'>): SharedMemory {
    return fromCaller(SharedMemory.create, () => {
      sugarOptions(options, { create: true, size }, 'SharedMemory.create(size, options)');
      return new SharedMemory({ ...options, create: true, size });
    });
  }

  /** Attaches to an existing segment by name, in this or any process. */
  static attach(name: string, options?: Omit<SharedMemoryAttachOptions, 'create' | 'name'>): SharedMemory {
    return fromCaller(SharedMemory.attach, () => {
      sugarOptions(options, { create: false, name }, 'SharedMemory.attach(name, options)');
      return new SharedMemory({ ...options, name });
    });
  }

  /**
   * Creates a segment for other processes to map, without mapping it here and
   * without blocking the event loop: the segment is made (`O_EXCL`), its pages
   * are reserved with the checks of `populate` (ENOSPC, ENOMEM before anything
   * is allocated; 1 GiB is the kernel zeroing 1 GiB, 0.1–0.3 s) and its
   * descriptor closed, on libuv's threadpool. Resolves with the name, the size
   * and `allocated`, the bytes the filesystem charged (whole pages; huge pages
   * where the filesystem uses them). Tracked like a create unless
   * `track: false`.
   */
  static async createUnmapped(options: CreateUnmappedOptions): Promise<{ name: string; size: number; allocated: number }> {
    const o = validateUnmappedOptions(options);
    const attempt = async (name: string) => {
      const token = o.track ? tracker.beforeCreate(name) : undefined;
      let done = false;
      try {
        const result = await createUnmappedSegment(name, o.mode, o.size);
        done = true;
        return { name, ...result };
      } finally {
        if (o.track) tracker.afterCreate(name, done, token as ReturnType<typeof tracker.beforeCreate>);
      }
    };
    if (o.name !== undefined) {
      const given = o.name;
      try {
        return await attempt(given);
      } catch (error) {
        throw explained(error, given, true);
      }
    }
    for (let i = 0; i < GENERATED_ATTEMPTS; i++) {
      try {
        return await attempt(generateName());
      } catch (error) {
        if ((error as ShmSystemError).code !== 'EEXIST') throw error;
      }
    }
    throw shmError('ERR_SHM_NAME_EXHAUSTED', `no free generated name after ${GENERATED_ATTEMPTS} attempts`);
  }

  /**
   * `unlink()` on libuv's threadpool: freeing a large segment's pages takes
   * time (about 70 ms a GiB on tmpfs) that need not stall the event loop.
   * Rejects with ENOENT if the name does not exist.
   */
  static async unlinkAsync(name: string): Promise<void> {
    const checked = validateName(name, 'name');
    try {
      await unlinkSegmentAsync(checked);
    } catch (error) {
      if ((error as ShmSystemError).code === 'ENOENT') tracker.unregister(checked);
      throw error;
    }
    tracker.unregister(checked);
  }

  /**
   * Removes a segment's name without attaching to it (`shm_unlink`). ENOENT if
   * it does not exist. On Windows (see `unlink()`): lets go of this process's
   * hold if it has one, else does nothing; ENOENT when no process holds it.
   */
  static unlink(name: string): void {
    unlinkTracked(validateName(name, 'name'));
  }

  /** The name, without a leading slash (Python's `.name`). Still answers after close. */
  get name(): string {
    return this.#name;
  }

  /**
   * The true size in bytes, from fstat (page-rounded on macOS; on Windows whole pages, as
   * VirtualQuery reports a view, as CPython reports it). Still answers after close.
   */
  get size(): number {
    return this.#size;
  }

  /** True once `close()` has run (or the mapping was released). */
  get closed(): boolean {
    return this.#mapping.closed;
  }

  /** How `buf` reaches the memory in this process: 'external', 'overlay', 'shared' or 'copy'. */
  get strategy(): BufferStrategy {
    return this.#mapping.strategy;
  }

  /**
   * With `strategy: 'shared'`, the shared WebAssembly.Memory the segment is
   * mapped into (`buf` is a view of its SharedArrayBuffer at `buf.byteOffset`);
   * null for the other strategies. Still answers after close(), when the
   * memory no longer holds the segment (it reads zeros).
   */
  get memory(): SharedWasmMemory | null {
    return this.#mapping.strategy === 'shared' ? (this.#host.memory as unknown as SharedWasmMemory) : null;
  }

  get readonly(): boolean {
    return this.#readonly;
  }

  get track(): boolean {
    return this.#track;
  }

  /**
   * A Uint8Array over exactly `size` bytes of the segment; the same object on
   * every access. Throws ERR_SHM_CLOSED after close().
   */
  get buf(): Uint8Array {
    if (this.#buf !== undefined && !this.#mapping.closed) return this.#buf;
    this.#buf = this.view(Uint8Array);
    return this.#buf;
  }

  /**
   * A typed view (Int32Array, Float64Array, DataView, …) over the segment.
   * `byteOffset` must be a multiple of the element size; `length` counts
   * elements (bytes for DataView) and defaults to the rest of the segment.
   * Int32Array views work with Atomics.load/store/add across processes.
   */
  view<T extends ArrayBufferView>(Ctor: ViewConstructor<T>, byteOffset = 0, length?: number): T {
    const buffer = this.#zeroCopyBuffer();
    if (typeof Ctor !== 'function' || !isViewConstructor(Ctor)) {
      throw invalidArgType('Ctor', 'a TypedArray constructor or DataView', Ctor);
    }
    const unit = Ctor.BYTES_PER_ELEMENT ?? 1;
    validateInteger('byteOffset', byteOffset, 0, this.#size);
    if (byteOffset % unit !== 0) {
      throw outOfRange('byteOffset', `a multiple of ${unit} for ${Ctor.name}`, byteOffset);
    }
    const room = Math.floor((this.#size - byteOffset) / unit);
    const count = length === undefined ? room : validateInteger('length', length, 0, room);
    const start = this.#mapping.byteOffset + byteOffset;
    // `new Buffer(…)` is deprecated (DEP0005): build Buffers with Buffer.from.
    const view =
      (Ctor as unknown) === Buffer ? (Buffer.from(buffer, start, count) as unknown as T) : new Ctor(buffer, start, count);
    Object.defineProperty(view, kOwner, { value: this, enumerable: false });
    return view;
  }

  /**
   * Copies `target.byteLength` bytes of the segment, from `offset`, into
   * `target`. Works with every strategy, including 'copy'. Returns the count.
   */
  read(target: ArrayBufferView, offset = 0): number {
    this.#checkOpen();
    if (!ArrayBuffer.isView(target)) throw invalidArgType('target', 'an ArrayBufferView', target);
    return this.#mapping.read(this.#copyOffset(offset, target.byteLength, 'target'), asBytes(target));
  }

  /**
   * Copies `source` into the segment at `offset`. Works with every strategy.
   * Returns the count. ERR_SHM_READONLY on a readonly attach.
   */
  write(source: ArrayBufferView, offset = 0): number {
    this.#checkOpen();
    if (this.#readonly) throw shmError('ERR_SHM_READONLY', `${this.toString()} is attached readonly`);
    if (!ArrayBuffer.isView(source)) throw invalidArgType('source', 'an ArrayBufferView', source);
    return this.#mapping.write(this.#copyOffset(offset, source.byteLength, 'source'), asBytes(source));
  }

  /**
   * Releases this process's mapping and descriptor. Idempotent and always
   * succeeds; every buffer and view handed out becomes length 0. The segment
   * itself lives on until unlinked.
   */
  close(): void {
    overlayCleanup.unregister(this);
    closeMapping(this.#mapping, this.#host, this.toString());
    this.#buf = undefined;
  }

  /**
   * Removes the segment's name (`shm_unlink`). Call it once across all
   * processes; a second call is ENOENT, as in Python. Mappings stay valid.
   * On Windows no name can be removed: a segment lives while any process
   * holds it and goes with the last close(), so this does nothing there (as
   * CPython's), except let go of a hold this process took with
   * createUnmapped; it never throws ENOENT there.
   */
  unlink(): void {
    try {
      unlinkTracked(this.#name);
    } catch (error) {
      if (!(WINDOWS && (error as ShmSystemError).code === 'ENOENT')) throw error;
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }

  toString(): string {
    return `SharedMemory(${pyRepr(this.#name)}, size=${this.#size})`;
  }

  toJSON(): { name: string; size: number } {
    return { name: this.#name, size: this.#size };
  }

  [inspect.custom](): string {
    return this.toString();
  }

  #checkOpen(): void {
    if (this.#mapping.closed) {
      throw shmError('ERR_SHM_CLOSED', `${this.toString()} is closed`);
    }
  }

  #zeroCopyBuffer(): ArrayBuffer {
    this.#checkOpen();
    const buffer = this.#mapping.buffer;
    if (buffer === undefined) {
      throw shmError(
        'ERR_SHM_ZERO_COPY_UNAVAILABLE',
        `${this.toString()} uses the copy strategy: no zero-copy buffer in this runtime; use read() and write()`,
      );
    }
    return buffer;
  }

  #copyOffset(offset: unknown, byteLength: number, what: 'source' | 'target'): number {
    const value = validateInteger('offset', offset, 0, this.#size);
    if (byteLength > this.#size) {
      throw outOfRange(`${what}.byteLength`, `<= ${this.#size}, the size of ${this.toString()}`, byteLength);
    }
    if (byteLength > this.#size - value) {
      const verb = what === 'source' ? `to write ${byteLength} bytes into` : `to read ${byteLength} bytes from`;
      throw outOfRange('offset', `<= ${this.#size - byteLength} ${verb} ${this.toString()}`, offset);
    }
    return value;
  }
}

/**
 * The options of SharedMemory.create/attach: an object or undefined. An
 * option the sugar sets itself (`fixed`: create and size, or create and name)
 * is refused when it says otherwise, rather than silently overridden; the
 * same value is accepted, so `SharedMemory.attach(name, shm.toJSON())` works.
 */
function sugarOptions(options: unknown, fixed: Record<string, unknown>, what: string): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw invalidArgType('options', 'of type object', options);
  }
  for (const [key, value] of Object.entries(fixed)) {
    const given = (options as Record<string, unknown>)[key];
    if (given !== undefined && given !== value) {
      throw invalidArgValue(`options.${key}`, given, `contradicts ${what}, which sets ${key} to ${String(value)}`);
    }
  }
}

/**
 * Opens a mapping; a tracked create tells the tracker the name before the
 * segment exists and the outcome after (lib/lifecycle/tracker.ts).
 */
function openTracked(track: boolean, args: Parameters<typeof openMapping>[0], host: OverlayHost): NativeMapping {
  if (!track) return openMapping(args, host);
  const token = tracker.beforeCreate(args.name);
  let mapping: NativeMapping | undefined;
  try {
    mapping = openMapping(args, host);
  } finally {
    tracker.afterCreate(args.name, mapping !== undefined, token);
  }
  return mapping;
}

/** Unlinks, then stops tracking the name if this process tracks it (close() never does). */
function unlinkTracked(name: string): void {
  try {
    unlinkSegment(name);
  } catch (error) {
    // Gone already (another process unlinked it): nothing left to clean up.
    if ((error as ShmSystemError).code === 'ENOENT') tracker.unregister(name);
    throw error;
  }
  tracker.unregister(name);
}

function asBytes(view: ArrayBufferView): Uint8Array {
  return view instanceof Uint8Array ? view : new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

const VIEW_CONSTRUCTORS: ReadonlySet<unknown> = new Set([
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
  DataView,
]);

function isViewConstructor(Ctor: unknown): boolean {
  if (VIEW_CONSTRUCTORS.has(Ctor) || Ctor === Buffer) return true;
  // Subclasses of the above (e.g. a user's class extending Uint8Array).
  let proto = Object.getPrototypeOf(Ctor);
  while (proto && proto !== Function.prototype) {
    if (VIEW_CONSTRUCTORS.has(proto)) return true;
    proto = Object.getPrototypeOf(proto);
  }
  return false;
}

function pyRepr(text: string): string {
  return text.includes("'") && !text.includes('"') ? `"${text}"` : `'${text.replace(/'/g, "\\'")}'`;
}
