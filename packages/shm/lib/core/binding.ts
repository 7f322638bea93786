/**
 * The one file that loads the native addon and types it. Everything else in
 * shmkit goes through the functions exported here, which turn the addon's raw
 * errors into Node system errors.
 */
import { constants } from 'node:os';
import * as path from 'node:path';
import { shmError, systemError } from './errors';

/** Strategy numbers as the addon takes them (src/mapping.h). */
export const enum StrategyCode {
  Auto = 0,
  External = 1,
  Overlay = 2,
  Copy = 3,
}

export type ResolvedStrategy = 'external' | 'overlay' | 'copy';

export type WaitResult = 'ok' | 'not-equal' | 'timed-out';
/** What the addon reports for an asynchronous wait (src/futex.cc). */
export type AsyncWaitResult = WaitResult | 'closed' | 'cancelled' | 'fault';

/** A native mapping (src/mapping.h). */
export interface NativeMapping {
  /** The ArrayBuffer holding the segment, or undefined for `copy` or after close. */
  readonly buffer: ArrayBuffer | undefined;
  /** Where the segment starts inside `buffer`. */
  readonly byteOffset: number;
  readonly size: number;
  readonly strategy: ResolvedStrategy;
  readonly closed: boolean;
  /** False when an overlay buffer had been detached by someone else (its pages were left alone). */
  close(): boolean;
  read(offset: number, target: ArrayBufferView): number;
  write(offset: number, source: ArrayBufferView): number;
}

interface RawBinding {
  Mapping: new (
    name: string,
    create: boolean,
    readonly: boolean,
    mode: number,
    size: number,
    strategy: StrategyCode,
    populate: boolean,
    allocate: (byteLength: number) => ArrayBuffer,
  ) => NativeMapping;
  unlink(name: string): void;
  fence(): void;
  wait(mapping: NativeMapping, byteOffset: number, expected: number, timeoutMs: number): WaitResult;
  waitAsync(
    mapping: NativeMapping,
    byteOffset: number,
    expected: number,
    timeoutMs: number,
    callback: (result: AsyncWaitResult) => void,
  ): number;
  cancelWait(id: number): void;
  notify(mapping: NativeMapping, byteOffset: number, count: number): number;
  setTestingFlags(flags: {
    refuseExternal?: boolean;
    failOverlay?: boolean;
    failThreads?: boolean;
    waitSliceMs?: number;
    noWaitv?: boolean;
  }): void;
  socketListen?(path: string, backlog: number): number;
  socketConnect?(path: string, sendTimeoutMs: number): number;
  socketSend?(fd: number, text: string): void;
  socketClose?(fd: number): void;
  socketPeer?(fd: number): { uid: number; pid: number };
  socketAcceptPending?(fd: number): number[];
  readonly pageSize: number;
  readonly maxNameLength: number;
  readonly supported: boolean;
}

interface RawError {
  errno?: number;
  syscall?: string;
  path?: string;
  detail?: string;
  message: string;
}

function load(): RawBinding {
  const root = path.join(__dirname, '..', '..');
  const candidates = [
    path.join(root, 'build', 'Release', 'shmkit.node'),
    path.join(root, 'build', 'Debug', 'shmkit.node'),
  ];
  const failures: string[] = [];
  for (const file of candidates) {
    try {
      return require(file) as RawBinding;
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      if (e.code === 'MODULE_NOT_FOUND') continue;
      failures.push(`${file}: ${e.message}`);
    }
  }
  const lines = [
    'Could not load the shmkit native addon (@shmkit/shm).',
    ...failures.map((f) => `  ${f}`),
    'Possible solutions:',
    '- Build it: `npm rebuild @shmkit/shm` (needs python3, make and a C++17 compiler).',
    '- In Electron, load it from a preload with `sandbox: false`; sandboxed preloads cannot load addons.',
    `- Runtime: ${process.release.name} ${process.version} on ${process.platform}-${process.arch}; Node-API 9 or later is required.`,
  ];
  const error = new Error(lines.join('\n')) as Error & { code: string };
  error.code = 'ERR_SHM_ADDON_NOT_FOUND';
  throw error;
}

const raw: RawBinding = load();

function rethrow(error: unknown): never {
  const e = error as RawError;
  // Raw addon errors carry a positive errno and no code; anything else (a
  // system error thrown by allocateOverlay, a TypeError) passes through.
  if (e && typeof e.errno === 'number' && e.errno > 0 && typeof e.syscall === 'string' && !('code' in e)) {
    throw systemError(e.errno, e.syscall, e.path ?? '', e.message, e.detail);
  }
  throw error;
}

export interface OpenArgs {
  name: string;
  create: boolean;
  readonly: boolean;
  mode: number;
  size: number;
  strategy: StrategyCode;
  populate: boolean;
}

/** The parts of WebAssembly.Memory used here (not in the ES or Node type libraries). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(delta: number): number;
}
declare const WebAssembly: {
  Memory: new (descriptor: { initial: number; maximum: number }) => WasmMemory;
};

const WASM_PAGE = 65536;
const WASM_MAX_PAGES = 65536; // 4 GiB: the wasm32 limit

/**
 * Allocates the overlay strategy's host buffer (docs/decisions/0001). First
 * choice: the buffer of a fixed-size WebAssembly.Memory. Such a buffer cannot
 * be detached by anyone but its memory (transfer lists copy it, BYOB reads and
 * transfer() refuse it), it is 64 KiB-aligned, and its pages come from V8's
 * page allocator, not malloc. When that is impossible (over 4 GiB, or the
 * address space for wasm memories is exhausted) an ordinary ArrayBuffer is
 * used. Allocation happens in JavaScript so that failure is a catchable
 * RangeError (V8 aborts the process when an addon's allocation fails).
 */
function allocateOverlay(byteLength: number, name: string, host: OverlayHost, allowPlain: boolean): ArrayBuffer {
  const pages = Math.ceil(byteLength / WASM_PAGE);
  if (pages <= WASM_MAX_PAGES && !testing.plainOverlay) {
    try {
      const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
      host.memory = memory;
      return memory.buffer;
    } catch {
      // Address space for wasm memories exhausted, or no WebAssembly (--jitless).
    }
  }
  if (!allowPlain) {
    // 'auto' never picks the plain host: a BYOB read could detach it (see
    // docs/decisions/0001); the caller falls back to the copy strategy.
    throw systemError(constants.errno.ENOMEM, 'mmap', name, 'cannot allocate memory', 'no WebAssembly.Memory host');
  }
  try {
    return new ArrayBuffer(byteLength);
  } catch {
    throw systemError(constants.errno.ENOMEM, 'mmap', name, 'cannot allocate memory', 'overlay buffer');
  }
}

/** What hosts an overlay mapping: a WebAssembly.Memory, or (undefined) a plain ArrayBuffer. */
export interface OverlayHost {
  memory?: WasmMemory;
}

/**
 * Opens (or creates) and maps a segment. Throws system errors. `host.memory`
 * is set when the overlay lives in a WebAssembly.Memory: after close(), call
 * `host.memory.grow(0)` to detach the views (its buffer is not detachable
 * otherwise).
 */
export function openMapping(args: OpenArgs, host: OverlayHost = {}): NativeMapping {
  checkPlatform();
  try {
    return new raw.Mapping(
      args.name,
      args.create,
      args.readonly,
      args.mode,
      args.size,
      args.strategy,
      args.populate,
      (byteLength: number) => allocateOverlay(byteLength, args.name, host, args.strategy === StrategyCode.Overlay),
    );
  } catch (error) {
    rethrow(error);
  }
}

function checkPlatform(): void {
  if (!raw.supported) {
    throw shmError(
      'ERR_SHM_UNSUPPORTED_PLATFORM',
      `shmkit does not support ${process.platform} yet: POSIX shared memory (Linux, macOS) is required`,
    );
  }
}

/** shm_unlink('/' + name). Throws system errors (ENOENT for a missing name). */
export function unlinkSegment(name: string): void {
  checkPlatform();
  try {
    raw.unlink(name);
  } catch (error) {
    rethrow(error);
  }
}

/** Wraps an addon function so that its raw errors become system errors. */
function converted<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R {
  return (...args: A): R => {
    try {
      return fn(...args);
    } catch (error) {
      rethrow(error);
    }
  };
}

/** The futex functions, for lib/wait.ts only. Errors are converted like the rest. */
export const futex = {
  wait: converted(raw.wait),
  waitAsync: converted(raw.waitAsync),
  cancel: raw.cancelWait,
  notify: converted(raw.notify),
};

function unsupportedSocket(): never {
  throw shmError('ERR_SHM_UNSUPPORTED_PLATFORM', `shmkit's tracker sockets need Unix domain sockets (not on ${process.platform})`);
}

/**
 * Unix stream sockets for the tracker and the manager (src/socket.h), for
 * lib/lifecycle only. Errors are system errors; a descriptor from `connect` is
 * closed when this environment is torn down unless closed before.
 */
export const socket = {
  listen: converted(raw.socketListen ?? unsupportedSocket),
  connect: converted(raw.socketConnect ?? unsupportedSocket),
  send: converted(raw.socketSend ?? unsupportedSocket),
  close: converted(raw.socketClose ?? unsupportedSocket),
  peer: converted(raw.socketPeer ?? unsupportedSocket),
  acceptPending: converted(raw.socketAcceptPending ?? unsupportedSocket),
};

/** A full memory barrier (std::atomic_thread_fence, seq_cst). */
export const fence: () => void = raw.fence;

export const pageSize: number = raw.pageSize;
export const maxNameLength: number = raw.maxNameLength;
export const platformSupported: boolean = raw.supported;

/**
 * For shmkit's own tests: make this thread behave as if external buffers were
 * refused (Electron's memory cage) and/or the overlay could not be made.
 * @internal
 */
export function setTestingFlags(flags: TestingFlags): void {
  raw.setTestingFlags(flags);
  testing.plainOverlay = flags.plainOverlay === true;
}

/** @internal */
export interface TestingFlags {
  /** Act as if external ArrayBuffers were refused (Electron's memory cage). */
  refuseExternal?: boolean;
  /** Make the overlay strategy fail. */
  failOverlay?: boolean;
  /** Host overlays in plain ArrayBuffers, as when no WebAssembly.Memory can be had. */
  plainOverlay?: boolean;
  /** Make starting a waitAsync thread fail, as when the process is out of threads. */
  failThreads?: boolean;
  /** Let waitAsync threads sleep in slices of this many ms (default 50). */
  waitSliceMs?: number;
  /** Let waitAsync threads sleep as on kernels without futex_waitv (Linux < 5.16). */
  noWaitv?: boolean;
}

const testing = { plainOverlay: false };
