/**
 * The one file that loads the native addon and types it. Everything else in
 * shmkit goes through the functions exported here, which turn the addon's raw
 * errors into Node system errors.
 */
import { constants as bufferConstants } from 'node:buffer';
import * as path from 'node:path';
import { errnoOf, shmError, systemError } from './errors';
import { memoryRoom, setProcRoot, spaceReport, type MemoryRoom, type RawSpace } from './space';

/** Strategy numbers as the addon takes them (src/mapping.h). */
export const enum StrategyCode {
  Auto = 0,
  External = 1,
  Overlay = 2,
  Copy = 3,
  Shared = 4,
}

export type ResolvedStrategy = 'external' | 'overlay' | 'copy' | 'shared';

export type WaitResult = 'ok' | 'not-equal' | 'timed-out';
/** What the addon reports for an asynchronous wait (src/futex.cc). */
export type AsyncWaitResult = WaitResult | 'closed' | 'cancelled' | 'fault';

/** Windows: handles to a process (and one of its threads), opened once (src/win32/process.cc). */
export interface ProcessWatch {
  /** False once the process, or the thread if one was named, has ended. */
  alive(): boolean;
  close(): void;
}

/** A native mapping (src/mapping.h). */
export interface NativeMapping {
  /**
   * The ArrayBuffer holding the segment (a SharedArrayBuffer for `shared`), or
   * undefined for `copy` or after close.
   */
  readonly buffer: ArrayBuffer | undefined;
  /** Where the segment starts inside `buffer`. */
  readonly byteOffset: number;
  readonly size: number;
  readonly strategy: ResolvedStrategy;
  readonly closed: boolean;
  /**
   * False when an overlay buffer had been detached by someone else (its pages
   * were left alone). `detach: false` leaves an overlay's host attached (for a
   * host napi cannot detach); anonymous memory is restored under it either way.
   */
  close(detach?: boolean): boolean;
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
    allocate: (byteLength: number, shared: boolean) => ArrayBuffer | Uint8Array,
    maxView: number,
    memoryRoom: number,
  ) => NativeMapping;
  unlink(name: string): void;
  createUnmapped(name: string, mode: number, size: number, memoryRoom: number, callback: (error: unknown, result?: { size: number; allocated: number }) => void): void;
  unlinkAsync(name: string, callback: (error: unknown) => void): void;
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
  waitBackend(): { name: 'io_uring' | 'thread' | 'win32-events'; reason?: string };
  armedWaits(): Array<{ id: number; address: bigint }>;
  notify(mapping: NativeMapping, byteOffset: number, count: number): number;
  setTestingFlags(flags: {
    refuseExternal?: boolean;
    failOverlay?: boolean;
    failThreads?: boolean;
    waitSliceMs?: number;
    noWaitv?: boolean;
    noUring?: boolean;
  }): void;
  socketListen?(path: string, backlog: number): number;
  socketConnect?(path: string, sendTimeoutMs: number): number;
  socketSend?(fd: number, text: string): void;
  socketReceive?(fd: number, waitMs: number): string | null;
  socketClose?(fd: number): void;
  socketPeer?(fd: number): { uid: number; pid: number };
  socketAcceptPending?(fd: number): number[];
  /** Windows only (src/win32/process.cc). */
  segmentExists?(name: string): boolean;
  listSegments?(): string[];
  holdSegment?(name: string): void;
  segmentSize?(name: string): number;
  currentThreadId?(): number;
  ProcessWatch?: new (pid: number, tid: number, startedAtMs: number) => ProcessWatch;
  readonly pageSize: number;
  readonly maxNameLength: number;
  readonly supported: boolean;
}

interface RawError {
  errno?: number;
  syscall?: string;
  path?: string;
  detail?: string;
  /** A populate that did not fit (ENOSPC, ENOMEM): the filesystem as it was. */
  space?: RawSpace;
  message: string;
}

function load(): RawBinding {
  const root = path.join(__dirname, '..', '..');
  // node-gyp-build picks the addon: a local build (build/Release, build/Debug) first, else the
  // prebuilt binary in prebuilds/<platform>-<arch>/ that fits this runtime, libc and arch.
  const failures: string[] = [];
  let file: string | undefined;
  try {
    file = (require('node-gyp-build') as { path(dir: string): string }).path(root);
  } catch (error) {
    failures.push((error as Error).message.trim().split('\n')[0] ?? '');
  }
  if (file !== undefined) {
    try {
      return require(file) as RawBinding;
    } catch (error) {
      failures.push(`${file}: ${(error as Error).message}`);
    }
  }
  const lines = [
    'Could not load the shmkit native addon (@shmkit/shm).',
    ...failures.map((f) => `  ${f}`),
    'Possible solutions:',
    '- Build it: `npm_config_build_from_source=true npm rebuild @shmkit/shm` (needs python3, make and a C++17 compiler).',
    '- In Electron, load it from a preload with `sandbox: false`; sandboxed preloads cannot load addons.',
    `- Runtime: ${process.release.name} ${process.version} on ${process.platform}-${process.arch}; Node-API 9 or later is required.`,
  ];
  const error = new Error(lines.join('\n')) as Error & { code: string };
  error.code = 'ERR_SHM_ADDON_NOT_FOUND';
  throw error;
}

const raw: RawBinding = load();

function rethrow(error: unknown, room?: MemoryRoom): never {
  const e = error as RawError;
  // Raw addon errors carry a positive errno and no code; anything else (a
  // system error thrown by allocateOverlay, a TypeError) passes through.
  if (e && typeof e.errno === 'number' && e.errno > 0 && typeof e.syscall === 'string' && !('code' in e)) {
    const converted = systemError(e.errno, e.syscall, e.path ?? '', e.message, e.detail);
    if (e.space !== undefined) converted.space = spaceReport(e.space, room);
    throw converted;
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
  grow(delta: number | bigint): number | bigint;
}
type MemoryDescriptor = { initial: number | bigint; maximum: number | bigint; shared?: boolean; address?: 'i64' };
declare const WebAssembly: { Memory: new (descriptor: MemoryDescriptor) => WasmMemory } | undefined;

const WASM_PAGE = 65536;
/** wasm32 memories stop at 4 GiB. */
const WASM32_MAX_PAGES = 65536;
/** V8's limit for memory64 memories (16 GiB); memory64 ships from Node 24 (V8 13). */
const WASM64_MAX_PAGES = 262144;

/** The largest typed array this runtime makes: 4 GiB on Node 20, 2^53−1 from Node 22. */
export const maxViewLength: number = bufferConstants.MAX_LENGTH;

let memory64: boolean | undefined;
function memory64Supported(): boolean {
  if (memory64 === undefined) {
    try {
      new WebAssembly!.Memory({ initial: 0n, maximum: 0n, address: 'i64' });
      memory64 = true;
    } catch {
      memory64 = false;
    }
  }
  return memory64;
}

/** The largest segment a WebAssembly.Memory can host here (4 GiB, 16 GiB with memory64), 0 without WebAssembly. */
export function wasmHostLimit(): number {
  if (typeof WebAssembly === 'undefined') return 0;
  return (memory64Supported() ? WASM64_MAX_PAGES : WASM32_MAX_PAGES) * WASM_PAGE;
}

/**
 * A fixed-size WebAssembly.Memory of at least `byteLength` bytes (wasm32, or
 * memory64 above 4 GiB where the runtime has it), or undefined when none can
 * host that size here. Throws V8's RangeError when the address space for
 * wasm memories is exhausted. `detach` detaches its views (non-shared only).
 */
function wasmMemory(byteLength: number, shared: boolean): OverlayHost | undefined {
  if (byteLength > wasmHostLimit()) return undefined;
  const pages = Math.max(1, Math.ceil(byteLength / WASM_PAGE));
  if (pages <= WASM32_MAX_PAGES) {
    const memory = new WebAssembly!.Memory({ initial: pages, maximum: pages, shared });
    return { memory, detach: () => memory.grow(0) };
  }
  const big = BigInt(pages);
  const memory = new WebAssembly!.Memory({ initial: big, maximum: big, address: 'i64', shared });
  return { memory, detach: () => memory.grow(0n) };
}

/**
 * Wasm hosts that failed for lack of address space: V8 answers such a failure
 * only after critical-memory-pressure garbage collections (about 160 ms with
 * 13,000 live memories). After one, no wasm host is tried again until a
 * wasm-hosted mapping of this thread has been closed (which frees address space).
 */
const wasmSpace = { exhausted: false };

/** @internal Called when a wasm-hosted mapping closes. */
export function wasmHostReleased(): void {
  wasmSpace.exhausted = false;
}

function tryWasmMemory(byteLength: number, shared: boolean): OverlayHost | undefined {
  if (wasmSpace.exhausted) return undefined;
  try {
    return wasmMemory(byteLength, shared);
  } catch {
    wasmSpace.exhausted = true;
    return undefined;
  }
}

/** Each WebAssembly.Memory reserves about 10 GiB of address space (guard regions). */
const ADDRESS_SPACE_HINT =
  'each WebAssembly.Memory reserves about 10 GiB of address space, so about 13,000 fit in a Node process on ' +
  "x64 and about 100 inside Electron's 1 TiB V8 sandbox; close segments you no longer need";

/**
 * Allocates the overlay strategy's host buffer (docs/decisions/0001). First
 * choice: the buffer of a fixed-size WebAssembly.Memory (memory64 above 4 GiB
 * where the runtime has it). Such a buffer cannot be detached by anyone but its
 * memory (transfer lists refuse or copy it, BYOB reads and transfer() refuse
 * it), it is 64 KiB-aligned, and its pages come from V8's page allocator, not
 * malloc. When that is impossible (over the wasm limit, or the address space
 * for wasm memories is exhausted) an ordinary ArrayBuffer one page larger is
 * used. Allocation happens in JavaScript so that failure is a catchable
 * RangeError (V8 aborts the process when an addon's allocation fails).
 */
function allocateOverlay(byteLength: number, name: string, host: OverlayHost, allowPlain: boolean): ArrayBuffer {
  if (!testing.plainOverlay) {
    const wasm = tryWasmMemory(byteLength, false);
    if (wasm !== undefined) {
      Object.assign(host, wasm);
      return wasm.memory!.buffer;
    }
  }
  if (!allowPlain) {
    // 'auto' never picks the plain host: a BYOB read could detach it (see
    // docs/decisions/0001); the caller falls back to the copy strategy.
    throw systemError(errnoOf('ENOMEM'), 'mmap', name, 'cannot allocate memory', 'no WebAssembly.Memory host');
  }
  try {
    return new ArrayBuffer(byteLength + pageSize);
  } catch {
    throw systemError(errnoOf('ENOMEM'), 'mmap', name, 'cannot allocate memory', 'overlay buffer');
  }
}

/**
 * Allocates the shared strategy's host: a fixed-size *shared*
 * WebAssembly.Memory, returned as a Uint8Array over its SharedArrayBuffer
 * (Node-API 9 cannot read a SharedArrayBuffer directly).
 */
function allocateShared(byteLength: number, name: string, host: OverlayHost): Uint8Array {
  if (typeof WebAssembly === 'undefined') {
    throw shmError(
      'ERR_SHM_STRATEGY_UNAVAILABLE',
      `cannot map '${name}' with strategy 'shared': this runtime has no WebAssembly (--jitless?)`,
    );
  }
  const limit = wasmHostLimit();
  if (byteLength > limit) {
    throw shmError(
      'ERR_SHM_TOO_LARGE',
      `cannot map '${name}' with strategy 'shared': a shared WebAssembly.Memory holds at most ${limit} bytes ` +
        `in ${process.release.name} ${process.version} (4 GiB for wasm32; 16 GiB with memory64, Node 24 and later); ` +
        "use strategy 'copy' or a smaller segment",
    );
  }
  let memory: WasmMemory | undefined;
  let failure = 'failed since, and no wasm-hosted segment of this thread was closed';
  if (!wasmSpace.exhausted) {
    try {
      memory = wasmMemory(byteLength, true)?.memory;
    } catch (error) {
      wasmSpace.exhausted = true;
      failure = (error as Error).message;
    }
  }
  if (memory === undefined) {
    throw shmError(
      'ERR_SHM_ADDRESS_SPACE',
      `cannot map '${name}' with strategy 'shared': no address space for another WebAssembly.Memory ` +
        `(${failure}); ${ADDRESS_SPACE_HINT}`,
    );
  }
  host.memory = memory;
  return new Uint8Array(memory.buffer);
}

/**
 * What hosts an overlay or shared mapping: a WebAssembly.Memory (`memory`;
 * `detach` detaches a non-shared one's views after close), or nothing for a
 * plain ArrayBuffer (`keyed` when napi cannot detach it, see shared-memory.ts).
 */
export interface OverlayHost {
  memory?: WasmMemory;
  detach?: () => void;
  keyed?: boolean;
}

/**
 * Opens (or creates) and maps a segment. Throws system errors. `host.memory`
 * is set when the mapping lives in a WebAssembly.Memory: after an overlay's
 * close(), call `host.detach()` to detach the views (its buffer is not
 * detachable otherwise).
 */
export function openMapping(args: OpenArgs, host: OverlayHost = {}): NativeMapping {
  checkPlatform();
  // Pages a populate allocates are memory: the addon refuses (ENOMEM) what this room cannot hold.
  const room = args.populate ? memoryRoom() : undefined;
  try {
    return new raw.Mapping(
      args.name,
      args.create,
      args.readonly,
      args.mode,
      args.size,
      args.strategy,
      args.populate,
      (byteLength: number, shared: boolean) =>
        shared
          ? allocateShared(byteLength, args.name, host)
          : allocateOverlay(byteLength, args.name, host, args.strategy === StrategyCode.Overlay),
      maxViewLength,
      room?.bytes ?? -1,
    );
  } catch (error) {
    rethrow(error, room);
  }
}

function checkPlatform(): void {
  if (!raw.supported) {
    throw shmError(
      'ERR_SHM_UNSUPPORTED_PLATFORM',
      `shmkit does not support ${process.platform}: POSIX shared memory or Windows named file mappings are required`,
    );
  }
}

/**
 * shm_unlink('/' + name). Throws system errors (ENOENT for a missing name). On Windows, where
 * no name can be removed, it lets go of this process's hold on the name (createUnmapped) and is
 * ENOENT only when no mapping of that name exists anywhere (src/platform.h).
 */
export function unlinkSegment(name: string): void {
  checkPlatform();
  try {
    raw.unlink(name);
  } catch (error) {
    rethrow(error);
  }
}

/**
 * Creates a segment and reserves its pages (with the room checks of a populate) on libuv's
 * threadpool, without mapping it. Rejects with system errors (EEXIST, ENOSPC with `space`, ENOMEM…).
 */
export function createUnmappedSegment(name: string, mode: number, size: number): Promise<{ size: number; allocated: number }> {
  checkPlatform();
  const room = memoryRoom();
  return new Promise((resolve, reject) => {
    raw.createUnmapped(name, mode, size, room?.bytes ?? -1, (error, result) => {
      if (error) {
        try {
          rethrow(error, room);
        } catch (converted) {
          reject(converted);
        }
      } else {
        resolve(result as { size: number; allocated: number });
      }
    });
  });
}

/** shm_unlink('/' + name) on libuv's threadpool (freeing a large segment's pages takes time). */
export function unlinkSegmentAsync(name: string): Promise<void> {
  checkPlatform();
  return new Promise((resolve, reject) => {
    raw.unlinkAsync(name, (error) => {
      if (!error) {
        resolve();
        return;
      }
      try {
        rethrow(error);
      } catch (converted) {
        reject(converted);
      }
    });
  });
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
  backend: raw.waitBackend,
  /** Pending io_uring waits the kernel holds on a futex (for tests). */
  armed: raw.armedWaits,
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
  receive: converted(raw.socketReceive ?? unsupportedSocket),
  close: converted(raw.socketClose ?? unsupportedSocket),
  peer: converted(raw.socketPeer ?? unsupportedSocket),
  acceptPending: converted(raw.socketAcceptPending ?? unsupportedSocket),
};

function windowsOnly(what: string): never {
  throw shmError('ERR_SHM_UNSUPPORTED_PLATFORM', `${what} exists only on Windows`);
}

/** What only the Windows addon has (src/win32/process.cc), for lib/ only. */
export const win32 = {
  /** Whether a mapping of that name is held by some process. */
  segmentExists: (name: string): boolean => (raw.segmentExists ?? (() => windowsOnly('segmentExists')))(name),
  /** The sections of this session's namespace (where bare names live), shmkit's waiter tables left out. */
  listSegments: (): string[] =>
    converted(raw.listSegments ?? (() => windowsOnly('listSegments')))().filter((name) => !name.startsWith('shmkit_wq_')),
  /** This process holds the mapping until unlinkSegment(name) (or its end): the manager's server. */
  holdSegment: (name: string): void => converted(raw.holdSegment ?? (() => windowsOnly('holdSegment')))(name),
  /** The size of mapping `name` as a view of it reports (whole pages). */
  segmentSize: (name: string): number => converted(raw.segmentSize ?? (() => windowsOnly('segmentSize')))(name),
  /** GetCurrentThreadId(). */
  currentThreadId: (): number => (raw.currentThreadId ?? (() => windowsOnly('currentThreadId')))(),
  /** Opens handles to process `pid` (and thread `tid` unless 0) started at `startedAtMs` or before. */
  watchProcess: (pid: number, tid: number, startedAtMs: number): ProcessWatch => {
    if (raw.ProcessWatch === undefined) windowsOnly('ProcessWatch');
    return new raw.ProcessWatch(pid, tid, startedAtMs);
  },
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
  setProcRoot(flags.procRoot);
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
  /** Make waitAsync use a thread per wait, as where io_uring is missing or disabled. */
  noUring?: boolean;
  /** Read /proc and /sys (populate's memory room, space.ts) below this directory. */
  procRoot?: string;
}

const testing = { plainOverlay: false };
