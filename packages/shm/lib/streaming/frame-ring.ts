/**
 * FrameRing: a single-producer, many-consumer ring of frame slots in one
 * shared-memory segment, for streaming video frames between processes at
 * memory speed. The binary layout is documented, versioned and readable from
 * any language: docs/frame-ring-layout.md.
 *
 * Each slot is guarded by a seqlock word, so a reader never uses a torn or
 * overwritten frame without knowing it (`frame.valid()`); the writer never
 * waits for readers; a slow reader skips to the newest frame and counts the
 * frames it dropped. Readers sleep on a futex word until the writer publishes.
 */
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';
import { fence, win32, type ProcessWatch } from '../core/binding';
import { atCaller, invalidArgType, invalidArgValue, outOfRange, shmError } from '../core/errors';
import { SharedMemory, type SharedMemoryOptions } from '../core/shared-memory';
import { validateInteger } from '../core/validate';
import { notify, waitAsync } from './wait';

const MAGIC = 0x474e5246; // 'FRNG'
const VERSION = 1;
const HEADER_BYTES = 128;
const SLOT_HEADER_BYTES = 64;
const ALIGN = 4096;

// Header offsets (bytes).
const H_MAGIC = 0;
const H_VERSION = 4;
const H_HEADER_BYTES = 6;
const H_SLOT_COUNT = 8;
const H_SLOT_HEADER_BYTES = 12;
const H_SLOT_BYTES = 16;
const H_SLOT_STRIDE = 24;
const H_PAYLOAD_OFFSET = 32;
const H_PUBLISH_WORD = 40;
const H_WRITER_PID = 44;
const H_WRITER_STATE = 48;
const H_LATEST_SLOT = 52;
const H_PUBLISH_COUNT = 56;
const H_WRITER_START = 64;
const H_WRITER_TID = 72;

// Slot header offsets (bytes, relative to the slot header).
const S_SEQ = 0;
const S_PIXEL_FORMAT = 4;
const S_FRAME_NUMBER = 8;
const S_TIMESTAMP = 16;
const S_WIDTH = 24;
const S_HEIGHT = 28;
const S_STRIDE = 32;
const S_BYTE_LENGTH = 40;

const WRITER_OPEN = 1;
const WRITER_CLOSED = 2;

/** The largest process or thread id a header may name (pid_t is a positive int32). */
const MAX_ID = 0x7fffffff;

/** How often a reader waiting for a frame checks that the writer still exists. */
const LIVENESS_INTERVAL_MS = 500;

export const PIXEL_FORMATS = {
  raw: 0,
  rgba8: 1,
  bgra8: 2,
  rgb8: 3,
  gray8: 4,
  yuv420p: 5,
  nv12: 6,
} as const;
export type PixelFormat = keyof typeof PIXEL_FORMATS;
const FORMAT_NAMES = new Map<number, PixelFormat>(
  Object.entries(PIXEL_FORMATS).map(([name, code]) => [code, name as PixelFormat]),
);

export interface FrameMeta {
  width?: number | undefined;
  height?: number | undefined;
  /** Bytes per row; default width × bytes per pixel (byteLength for raw and application formats). */
  stride?: number | undefined;
  /** A name from PIXEL_FORMATS, or a numeric code ≥ 256 of the application's. Default 'raw'. */
  pixelFormat?: PixelFormat | number | undefined;
  /** Milliseconds; default performance.timeOrigin + performance.now(). */
  timestamp?: number | undefined;
  /** Payload bytes in use; default the whole slot. */
  byteLength?: number | undefined;
}

/** A frame as a reader sees it: metadata plus a zero-copy view of the payload. */
export interface Frame {
  readonly frameNumber: number;
  readonly timestamp: number;
  readonly width: number;
  readonly height: number;
  readonly stride: number;
  /** The name, or the numeric code for codes shmkit does not name. */
  readonly pixelFormat: PixelFormat | number;
  readonly byteLength: number;
  /** The payload, in place in shared memory: check `valid()` after using it. */
  readonly data: Uint8Array;
  /** Frames skipped since the previous frame this reader received (frames() only). */
  readonly dropped: number;
  /** True while the writer has not started to overwrite this slot (seqlock check). */
  valid(): boolean;
}

/** A slot handed out by `acquire()`, to fill and `publish()`. */
export interface WritableSlot {
  readonly index: number;
  /** The whole payload area of the slot (slotBytes bytes), writable. */
  readonly data: Uint8Array;
}

export interface FrameRingCreateOptions {
  /** Number of slots, ≥ 2. More slots give slow readers longer before a frame is overwritten. */
  slots: number;
  /** Capacity of each slot in bytes. */
  slotBytes: number;
  /** Segment name; generated (psm_…) if omitted. */
  name?: string | undefined;
  /** Pre-fault the pages (recommended for large frames). Default true. */
  populate?: boolean | undefined;
  mode?: number | undefined;
  strategy?: SharedMemoryOptions['strategy'];
  /** Unlink the ring if the writer's process dies without unlinking it (crash cleanup). Default true. */
  track?: boolean | undefined;
}

export interface FrameRingAttachOptions {
  /**
   * Attach readonly (default true): this reader can never change frames other
   * readers see. Set false to attach read-write.
   */
  readonly?: boolean | undefined;
  strategy?: SharedMemoryOptions['strategy'];
  /**
   * Attach the ring's writer end instead of a reader (default false): for a
   * ring another process formatted for this one (`FrameRing.format()` with
   * `writerPid` = this process; a bridge host does this for a peer's
   * `createFrameRing`). Refused with ERR_SHM_RING_STATE when the header names
   * another writer or the ring was closed. One writer end per ring.
   */
  writer?: boolean | undefined;
}

export interface FrameRingGeometry {
  /** Number of slots, ≥ 2. */
  slots: number;
  /** Capacity of each slot in bytes, ≥ 1. */
  slotBytes: number;
}

export interface FrameRingFormatOptions extends FrameRingGeometry {
  /** The process that will write the ring (default this one). Readers watch it: when it is gone, so is the writer. */
  writerPid?: number | undefined;
  /** Linux: the writer's thread id, or 0 (default) for "the process is the writer". */
  writerTid?: number | undefined;
  /** When the writer's process started, ms since the Unix epoch; 0 (default) when not known. */
  writerStartTime?: number | undefined;
}

export interface FramesOptions {
  /** Ends the iteration (the pending wait is cancelled) when aborted. */
  signal?: AbortSignal | undefined;
  /** Start with the newest frame already published (default true), or only new ones. */
  includeLatest?: boolean | undefined;
}

/**
 * Linux: the id of the calling thread (gettid), so a reader can tell that a
 * writer on a worker thread is gone while its process lives on. Windows: the
 * thread id of a worker (GetCurrentThreadId), 0 on the main thread (its end is
 * the process's). 0 elsewhere.
 */
function currentThreadId(): number {
  if (process.platform === 'win32') return isMainThread ? 0 : win32.currentThreadId();
  if (process.platform !== 'linux') return 0;
  try {
    const tid = Number(/\/task\/(\d+)$/.exec(readlinkSync('/proc/thread-self'))?.[1]);
    return Number.isSafeInteger(tid) && tid > 0 && tid <= MAX_ID ? tid : 0;
  } catch {
    return 0; // no /proc
  }
}

/** Linux: a process that has exited but was not yet reaped still answers kill(pid, 0). */
function isZombie(pid: number): boolean {
  if (process.platform !== 'linux') return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state === 'Z' || state === 'X';
  } catch {
    return false;
  }
}

/** A slot's fields as read under its seqlock. */
interface RawFrame {
  seqIndex: number;
  seq: number;
  index: number;
  pixelFormat: number;
  frameNumber: number;
  timestamp: number;
  width: number;
  height: number;
  stride: number;
  byteLength: number;
}

function roundUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

/**
 * A reader's attach of a name that does not exist: the hint SharedMemory gives (create it with
 * `{ create: true, size }`) is wrong for a ring, which only its writer makes, with FrameRing.create().
 */
function ringMissing(error: unknown, name: string): unknown {
  if (!(error instanceof Error) || (error as { code?: unknown }).code !== 'ENOENT') return error;
  const cut = error.message.indexOf('. No segment is named');
  const base = cut >= 0 ? error.message.slice(0, cut) : error.message;
  error.message =
    `${base}. No frame ring is named ${JSON.stringify(name)}: check the name (\`shmkit ls\` lists the segments); ` +
    'a ring exists once its writer has made it with FrameRing.create({ slots, slotBytes }), so start the writer first';
  return error;
}

/** A ring's geometry checked, with its segment size (docs/frame-ring-layout.md). */
function checkGeometry(options: FrameRingGeometry): { slots: number; slotBytes: number; size: number } {
  if (options === null || typeof options !== 'object') throw invalidArgType('options', 'of type object', options);
  const slots = validateInteger('options.slots', options.slots, 2, 2 ** 20);
  const slotBytes = validateInteger('options.slotBytes', options.slotBytes, 1, Number.MAX_SAFE_INTEGER);
  const size = roundUp(HEADER_BYTES + SLOT_HEADER_BYTES * slots, ALIGN) + roundUp(slotBytes, ALIGN) * slots;
  if (!Number.isSafeInteger(size)) throw outOfRange('options.slotBytes', 'small enough for slots × slotBytes to fit', slotBytes);
  return { slots, slotBytes, size };
}

/** A new ring's header, magic included; writerState 0. */
function headerBytes(g: { slots: number; slotBytes: number }, writerPid: number, writerTid: number, writerStart: number): Uint8Array {
  const bytes = new Uint8Array(HEADER_BYTES);
  const h = new DataView(bytes.buffer);
  h.setUint32(H_MAGIC, MAGIC, true);
  h.setUint16(H_VERSION, VERSION, true);
  h.setUint16(H_HEADER_BYTES, HEADER_BYTES, true);
  h.setUint32(H_SLOT_COUNT, g.slots, true);
  h.setUint32(H_SLOT_HEADER_BYTES, SLOT_HEADER_BYTES, true);
  h.setBigUint64(H_SLOT_BYTES, BigInt(g.slotBytes), true);
  h.setBigUint64(H_SLOT_STRIDE, BigInt(roundUp(g.slotBytes, ALIGN)), true);
  h.setBigUint64(H_PAYLOAD_OFFSET, BigInt(roundUp(HEADER_BYTES + SLOT_HEADER_BYTES * g.slots, ALIGN)), true);
  h.setUint32(H_WRITER_PID, writerPid, true);
  h.setFloat64(H_WRITER_START, writerStart, true);
  h.setUint32(H_WRITER_TID, writerTid, true);
  return bytes;
}

/** Writes the header of a new ring through its buffer (the magic last: a reader attaching mid-way sees no ring). writerState stays 0. */
function writeHeader(shm: SharedMemory, g: { slots: number; slotBytes: number }, writerPid: number, writerTid: number, writerStart: number): void {
  const header = headerBytes(g, writerPid, writerTid, writerStart);
  shm.buf.set(header.subarray(4), 4);
  Atomics.store(shm.view(Int32Array, 0, 1), 0, MAGIC | 0);
}

/** What a ring end reads from the header once, at create or attach. */
interface Geometry {
  slotCount: number;
  slotBytes: number;
  stride: number;
  payloadOffset: number;
  writerPid: number;
  writerTid: number;
}

/**
 * Reads and checks the header against docs/frame-ring-layout.md and the
 * segment's size. The header was written by another process and may say
 * anything: nothing is allocated and no field is used before every field has
 * passed. Throws ERR_SHM_RING_FORMAT.
 */
function readGeometry(shm: SharedMemory): Geometry {
  const refuse = (why: string) => shmError('ERR_SHM_RING_FORMAT', `${shm} ${why}`);
  const size = shm.size;
  if (size < HEADER_BYTES) throw refuse('is too small to be a FrameRing');
  const h = shm.view(DataView, 0, HEADER_BYTES);
  if (h.getUint32(H_MAGIC, true) !== MAGIC) throw refuse('is not a FrameRing (bad magic)');
  const version = h.getUint16(H_VERSION, true);
  if (version !== VERSION) throw refuse(`has FrameRing layout version ${version}; this reader knows ${VERSION}`);
  const inconsistent = (field: string, value: number | bigint) =>
    refuse(`has an inconsistent FrameRing header (${field} = ${value})`);
  const headerBytes = h.getUint16(H_HEADER_BYTES, true);
  if (headerBytes !== HEADER_BYTES) throw inconsistent('headerBytes', headerBytes);
  const slotHeaderBytes = h.getUint32(H_SLOT_HEADER_BYTES, true);
  if (slotHeaderBytes !== SLOT_HEADER_BYTES) throw inconsistent('slotHeaderBytes', slotHeaderBytes);
  const slotCount = h.getUint32(H_SLOT_COUNT, true);
  if (slotCount < 2) throw inconsistent('slotCount', slotCount);
  // The 64-bit fields are compared as BigInt against the size (≤ 2^53) before
  // they become numbers, so no huge value can round into range.
  const big = BigInt(size);
  const slotBytes = h.getBigUint64(H_SLOT_BYTES, true);
  if (slotBytes < 1n || slotBytes > big) throw inconsistent('slotBytes', slotBytes);
  const stride = h.getBigUint64(H_SLOT_STRIDE, true);
  if (stride !== BigInt(roundUp(Number(slotBytes), ALIGN))) throw inconsistent('slotStride', stride);
  const payloadOffset = h.getBigUint64(H_PAYLOAD_OFFSET, true);
  if (payloadOffset !== BigInt(roundUp(HEADER_BYTES + SLOT_HEADER_BYTES * slotCount, ALIGN))) {
    throw inconsistent('payloadOffset', payloadOffset);
  }
  if (payloadOffset + stride * BigInt(slotCount) > big) {
    throw refuse(`is too small for its FrameRing header (${slotCount} slots of ${stride} bytes from ${payloadOffset}, in ${size} bytes)`);
  }
  // kill(0, 0) and kill(-1, 0) succeed for ever: a pid must name one process.
  const writerPid = h.getUint32(H_WRITER_PID, true);
  if (writerPid < 1 || writerPid > MAX_ID) throw inconsistent('writerPid', writerPid);
  const writerTid = h.getUint32(H_WRITER_TID, true);
  if (writerTid > MAX_ID) throw inconsistent('writerTid', writerTid);
  const writerState = Atomics.load(shm.view(Int32Array, H_WRITER_STATE, 1), 0);
  if (writerState < 0 || writerState > WRITER_CLOSED) throw inconsistent('writerState', writerState);
  const publishCount = Atomics.load(shm.view(BigInt64Array, H_PUBLISH_COUNT, 1), 0);
  if (publishCount < 0n || publishCount > BigInt(Number.MAX_SAFE_INTEGER)) throw inconsistent('publishCount', publishCount);
  const latestSlot = h.getUint32(H_LATEST_SLOT, true);
  if (publishCount > 0n && latestSlot >= slotCount) throw inconsistent('latestSlot', latestSlot);
  return {
    slotCount,
    slotBytes: Number(slotBytes),
    stride: Number(stride),
    payloadOffset: Number(payloadOffset),
    writerPid,
    writerTid,
  };
}

function bytesPerPixel(format: number): number | undefined {
  switch (format) {
    case PIXEL_FORMATS.rgba8:
    case PIXEL_FORMATS.bgra8:
      return 4;
    case PIXEL_FORMATS.rgb8:
      return 3;
    case PIXEL_FORMATS.gray8:
    case PIXEL_FORMATS.yuv420p:
    case PIXEL_FORMATS.nv12:
      return 1;
    default:
      return undefined;
  }
}


/**
 * Either end of a ring. `FrameRing.create()` makes the writer's end;
 * `FrameRing.attach()` a reader's. Close each end with `close()`; the writer
 * (creator) also `unlink()`s when the stream is over.
 */
export class FrameRing implements Disposable {
  /** The segment holding the ring. */
  readonly shm: SharedMemory;
  readonly slotCount: number;
  readonly slotBytes: number;
  readonly isWriter: boolean;
  readonly #header: Int32Array;
  readonly #header64: BigInt64Array;
  readonly #slotWords: Int32Array; // seq words, one every 16 int32s
  readonly #slotView: DataView;
  readonly #stride: number;
  readonly #payloadOffset: number;
  // Read once, at attach: a header rewritten later cannot make a reader wait
  // on another process (or on kill(0, 0), which succeeds for ever).
  readonly #writerPid: number;
  readonly #writerTid: number;
  /** Windows readers: handles to the writer's process and thread, opened at attach. */
  #writerWatch: ProcessWatch | undefined;
  #acquired: number = -1;
  #received = 0;
  #dropped = 0;
  #rejected = 0;
  #lastDelivered = -1;

  private constructor(shm: SharedMemory, isWriter: boolean) {
    this.shm = shm;
    this.isWriter = isWriter;
    const g = readGeometry(shm);
    this.slotCount = g.slotCount;
    this.slotBytes = g.slotBytes;
    this.#stride = g.stride;
    this.#payloadOffset = g.payloadOffset;
    this.#writerPid = g.writerPid;
    this.#writerTid = g.writerTid;
    if (!isWriter && process.platform === 'win32') {
      // Windows never gives a process's id to another while a handle to it is open: from now on
      // this handle is the writer, whatever happens to its pid (src/win32/process.cc).
      const started = shm.view(DataView, 0, HEADER_BYTES).getFloat64(H_WRITER_START, true);
      this.#writerWatch = win32.watchProcess(g.writerPid, g.writerTid, started);
    }
    this.#header = shm.view(Int32Array, 0, HEADER_BYTES / 4);
    this.#header64 = shm.view(BigInt64Array, 0, HEADER_BYTES / 8);
    this.#slotWords = shm.view(Int32Array, HEADER_BYTES, (SLOT_HEADER_BYTES / 4) * this.slotCount);
    this.#slotView = shm.view(DataView, HEADER_BYTES, SLOT_HEADER_BYTES * this.slotCount);
  }

  /** The segment size a ring of this geometry takes (docs/frame-ring-layout.md). */
  static sizeFor(geometry: FrameRingGeometry): number {
    return checkGeometry(geometry).size;
  }

  /**
   * Writes a ring's header into `shm` (writable, at least `sizeFor()` bytes,
   * its header still zero), for a writer that may be another process: that
   * process then opens the writer end with `FrameRing.attach(name, { writer: true })`.
   * The ring is open (readers may attach and wait) from now on; a reader sees
   * the writer gone when process `writerPid` is. Throws ERR_SHM_RING_STATE if
   * `shm` already holds something, ERR_OUT_OF_RANGE if it is too small.
   */
  static format(shm: SharedMemory, options: FrameRingFormatOptions): void {
    if (!(shm instanceof SharedMemory)) throw invalidArgType('shm', 'a SharedMemory', shm);
    const g = checkGeometry(options);
    const writerPid = validateInteger('options.writerPid', options.writerPid ?? process.pid, 1, MAX_ID);
    const writerTid = validateInteger('options.writerTid', options.writerTid ?? 0, 0, MAX_ID);
    const start = options.writerStartTime ?? 0;
    if (typeof start !== 'number' || !Number.isFinite(start) || start < 0) throw outOfRange('options.writerStartTime', 'a time in ms ≥ 0', start);
    if (shm.readonly) throw shmError('ERR_SHM_READONLY', `${shm} is read-only: a ring is formatted through a writable mapping`);
    if (shm.size < g.size) throw outOfRange('shm.size', `≥ ${g.size} (FrameRing.sizeFor) for ${g.slots} slots of ${g.slotBytes} bytes`, shm.size);
    // Through read()/write(): any buffer strategy will do (a host maps with 'copy').
    const existing = new Uint8Array(HEADER_BYTES);
    shm.read(existing, 0);
    if (existing.some((b) => b !== 0)) {
      throw shmError('ERR_SHM_RING_STATE', `${shm} is not blank: format() writes a ring only into a new segment`);
    }
    const header = headerBytes(g, writerPid, writerTid, start);
    header.fill(0, 0, 4);
    shm.write(header, 0); // all but the magic
    fence();
    shm.write(new Uint8Array(new Uint32Array([MAGIC]).buffer), H_MAGIC); // the magic last
    fence();
    shm.write(new Uint8Array(new Uint32Array([WRITER_OPEN]).buffer), H_WRITER_STATE);
  }

  /** Creates a ring and becomes its writer. */
  static create(options: FrameRingCreateOptions): FrameRing {
    if (options === null || typeof options !== 'object') throw invalidArgType('options', 'of type object', options);
    const { slots, slotBytes, size } = checkGeometry(options);
    let shm: SharedMemory;
    try {
      // populate (the default) reserves the slots now: a full /dev/shm is ENOSPC
      // (or ENOMEM) here, with error.space, never a SIGBUS while publishing.
      shm = new SharedMemory({
        name: options.name,
        create: true,
        size,
        populate: options.populate ?? true,
        mode: options.mode,
        strategy: options.strategy,
        track: options.track,
      });
    } catch (error) {
      throw atCaller(error, FrameRing.create);
    }
    try {
      writeHeader(shm, { slots, slotBytes }, process.pid, currentThreadId(), Date.now() - performance.now());
      const ring = new FrameRing(shm, true);
      Atomics.store(ring.#header, H_WRITER_STATE / 4, WRITER_OPEN);
      return ring;
    } catch (error) {
      shm.close();
      shm.unlink();
      throw error;
    }
  }

  /** Attaches to a ring by name: as a reader, or (`writer: true`) as the writer a ring was formatted for. */
  static attach(name: string, options: FrameRingAttachOptions = {}): FrameRing {
    if (options === null || typeof options !== 'object') throw invalidArgType('options', 'of type object', options);
    const writer = options.writer ?? false;
    if (typeof writer !== 'boolean') throw invalidArgType('options.writer', 'of type boolean', writer);
    if (writer && options.readonly === true) throw invalidArgValue('options.readonly', true, 'must be false or absent for the writer end');
    let shm: SharedMemory;
    try {
      shm = SharedMemory.attach(name, { readonly: writer ? false : (options.readonly ?? true), strategy: options.strategy });
    } catch (error) {
      throw atCaller(ringMissing(error, name), FrameRing.attach);
    }
    try {
      const ring = new FrameRing(shm, writer);
      if (writer) ring.#checkWriterEnd();
      return ring;
    } catch (error) {
      shm.close();
      throw atCaller(error, FrameRing.attach);
    }
  }

  get name(): string {
    return this.shm.name;
  }

  /** Frames published so far. */
  get publishCount(): number {
    return Number(Atomics.load(this.#header64, H_PUBLISH_COUNT / 8));
  }

  /** Reader statistics: frames received by frames()/latest(), skipped, and rejected as torn. */
  get stats(): { received: number; dropped: number; rejected: number } {
    return { received: this.#received, dropped: this.#dropped, rejected: this.#rejected };
  }

  /** The writer's process id, as the header gave it at attach. */
  get writerPid(): number {
    return this.#writerPid;
  }

  /**
   * False once the writer closed the ring, or its process no longer exists,
   * or (Linux) the thread that created the ring has ended: a writer on a
   * worker thread that was terminated.
   */
  get writerAlive(): boolean {
    if (this.shm.closed) return false;
    if (Atomics.load(this.#header, H_WRITER_STATE / 4) === WRITER_CLOSED) return false;
    if (this.#writerWatch !== undefined) return this.#writerWatch.alive();
    const pid = this.#writerPid;
    try {
      process.kill(pid, 0);
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'EPERM';
    }
    if (isZombie(pid)) return false;
    const tid = this.#writerTid;
    return tid === 0 || tid === pid || process.platform !== 'linux' || existsSync(`/proc/${pid}/task/${tid}`);
  }

  /** True once the writer closed the ring cleanly. */
  get writerClosed(): boolean {
    return Atomics.load(this.#header, H_WRITER_STATE / 4) === WRITER_CLOSED;
  }

  /** The writer end opened by attach(): this process must be the one the header names, and the ring open. */
  #checkWriterEnd(): void {
    if (this.#writerPid !== process.pid) {
      throw shmError('ERR_SHM_RING_STATE', `${this.name}'s writer is process ${this.#writerPid}, not this one (${process.pid})`);
    }
    if (this.writerClosed) throw shmError('ERR_SHM_RING_STATE', `${this.name} was closed by its writer`);
  }

  /** Writer: the next slot to fill. Readers reject it until publish(). */
  acquire(): WritableSlot {
    this.#checkWriter();
    if (this.#acquired >= 0) throw shmError('ERR_SHM_RING_STATE', 'a slot is already acquired: publish() it first');
    const index = this.publishCount % this.slotCount;
    const seqIndex = (index * SLOT_HEADER_BYTES) / 4 + S_SEQ / 4;
    const seq = Atomics.load(this.#slotWords, seqIndex);
    Atomics.store(this.#slotWords, seqIndex, (seq & 1) === 0 ? seq + 1 : seq + 2); // odd: being written
    fence(); // no payload write may become visible before the odd sequence word
    this.#acquired = index;
    return { index, data: this.#payload(index, this.slotBytes) };
  }

  /** Writer: makes the acquired slot the newest frame and wakes the readers. Returns its frame number. */
  publish(slot: WritableSlot, meta: FrameMeta = {}): number {
    this.#checkWriter();
    if (slot === null || typeof slot !== 'object' || slot.index !== this.#acquired) {
      throw shmError('ERR_SHM_RING_STATE', 'publish() takes the slot returned by the last acquire()');
    }
    const m = this.#checkMeta(meta);
    const index = slot.index;
    const frameNumber = this.publishCount;
    const base = index * SLOT_HEADER_BYTES;
    const v = this.#slotView;
    v.setUint32(base + S_PIXEL_FORMAT, m.pixelFormat, true);
    v.setBigUint64(base + S_FRAME_NUMBER, BigInt(frameNumber), true);
    v.setFloat64(base + S_TIMESTAMP, m.timestamp, true);
    v.setUint32(base + S_WIDTH, m.width, true);
    v.setUint32(base + S_HEIGHT, m.height, true);
    v.setUint32(base + S_STRIDE, m.stride, true);
    v.setBigUint64(base + S_BYTE_LENGTH, BigInt(m.byteLength), true);
    const seqIndex = base / 4 + S_SEQ / 4;
    Atomics.add(this.#slotWords, seqIndex, 1); // even: stable
    Atomics.store(this.#header, H_LATEST_SLOT / 4, index);
    Atomics.add(this.#header64, H_PUBLISH_COUNT / 8, 1n);
    Atomics.add(this.#header, H_PUBLISH_WORD / 4, 1);
    this.#acquired = -1;
    notify(this.shm, H_PUBLISH_WORD);
    return frameNumber;
  }

  /** Writer: acquire(), copy `bytes` in, publish(). Returns the frame number. */
  write(bytes: ArrayBufferView, meta: FrameMeta = {}): number {
    if (!ArrayBuffer.isView(bytes)) throw invalidArgType('bytes', 'an ArrayBufferView', bytes);
    if (bytes.byteLength > this.slotBytes) {
      throw outOfRange('bytes.byteLength', `<= slotBytes (${this.slotBytes})`, bytes.byteLength);
    }
    const full = { byteLength: bytes.byteLength, ...meta };
    this.#checkMeta(full); // before acquire(): a bad meta must not leave the slot taken
    const slot = this.acquire();
    slot.data.set(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    return this.publish(slot, full);
  }

  /**
   * Reader: the newest complete frame (zero-copy), or null if none has been
   * published. Call `frame.valid()` after using `frame.data`.
   */
  latest(): Frame | null {
    this.#checkOpen();
    const raw = this.#readNewest();
    return raw === null ? null : this.#deliver(raw);
  }

  /**
   * Reader: every new frame, as it is published; a slow consumer skips to the
   * newest (`frame.dropped` counts the skipped ones). Sleeps on the ring's
   * futex word between frames, without polling. Ends when the writer closes
   * the ring or `signal` aborts; throws ERR_SHM_RING_WRITER_GONE if the
   * writer's process disappears without closing.
   */
  frames(options: FramesOptions = {}): AsyncGenerator<Frame, void, undefined> {
    // Checked and positioned now, not at the first next(): a frame published
    // between frames() and the first next() is not skipped by includeLatest.
    this.#checkOpen();
    if (options === null || typeof options !== 'object') throw invalidArgType('options', 'of type object', options);
    const { signal } = options;
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      throw invalidArgType('options.signal', 'an instance of AbortSignal', signal);
    }
    if (options.includeLatest === false) this.#lastDelivered = Math.max(this.#lastDelivered, this.publishCount - 1);
    return this.#frames(signal);
  }

  async *#frames(signal: AbortSignal | undefined): AsyncGenerator<Frame, void, undefined> {
    // Whether the writer's process exists is checked only when no frame came
    // for a while (a wait timed out, or on entry): it costs a system call and
    // a /proc read, which must stay off the path of a frame.
    let checkLiveness = true;
    while (!signal?.aborted && !this.shm.closed) {
      const word = Atomics.load(this.#header, H_PUBLISH_WORD / 4);
      // The writer's state is read before looking for a frame, so a frame
      // published just before the writer closed is still delivered.
      const closed = this.writerClosed;
      let frame = this.#next();
      if (frame === null && closed) return;
      if (frame === null && checkLiveness && !this.writerAlive) {
        // A frame published before the writer died is visible by now.
        frame = this.#next();
        // writerAlive is also false once the writer has closed: a close that came after `closed`
        // was read above ends the stream as any close does, never as a writer gone
        if (frame === null && this.writerClosed) return;
        if (frame === null) {
          throw shmError('ERR_SHM_RING_WRITER_GONE', `the writer of ${this.name} (pid ${this.writerPid}) is gone`);
        }
      }
      if (frame !== null) {
        yield frame;
        continue;
      }
      try {
        const result = await waitAsync(this.shm, H_PUBLISH_WORD, word, LIVENESS_INTERVAL_MS, { signal });
        checkLiveness = result === 'timed-out';
      } catch (error) {
        const e = error as { name?: string; code?: string };
        if (e.name === 'AbortError' || (e.code === 'ERR_SHM_CLOSED' && this.shm.closed)) return;
        throw error;
      }
    }
  }

  /** Writer: marks the ring closed (readers' frames() end) and closes the segment. Readers: closes. */
  close(): void {
    this.#writerWatch?.close();
    if (this.shm.closed) return;
    if (this.isWriter) {
      Atomics.store(this.#header, H_WRITER_STATE / 4, WRITER_CLOSED);
      Atomics.add(this.#header, H_PUBLISH_WORD / 4, 1);
      notify(this.shm, H_PUBLISH_WORD);
    }
    this.shm.close();
  }

  /** Removes the ring's name (the writer does this when the stream is over). */
  unlink(): void {
    this.shm.unlink();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  toString(): string {
    return `FrameRing('${this.name}', slots=${this.slotCount}, slotBytes=${this.slotBytes})`;
  }

  /** The newest frame newer than the last one delivered, or null. */
  #next(): Frame | null {
    if (this.publishCount - 1 <= this.#lastDelivered) return null;
    const raw = this.#readNewest();
    if (raw === null || raw.frameNumber <= this.#lastDelivered) return null;
    return this.#deliver(raw);
  }

  /** The newest published slot, read under its seqlock; null if none is stable now. */
  #readNewest(): RawFrame | null {
    for (let attempt = 0; attempt < 64; attempt++) {
      if (this.publishCount === 0) return null;
      const index = Atomics.load(this.#header, H_LATEST_SLOT / 4);
      if (index < 0 || index >= this.slotCount) throw shmError('ERR_SHM_RING_FORMAT', 'latestSlot out of range');
      const raw = this.#readSlot(index);
      if (raw !== null) return raw;
    }
    return null; // the writer kept overwriting under us: no stable frame right now
  }

  #readSlot(index: number): RawFrame | null {
    const base = index * SLOT_HEADER_BYTES;
    const seqIndex = base / 4 + S_SEQ / 4;
    const s1 = Atomics.load(this.#slotWords, seqIndex);
    if (s1 & 1) return null;
    const v = this.#slotView;
    const raw: RawFrame = {
      seqIndex,
      seq: s1,
      index,
      pixelFormat: v.getUint32(base + S_PIXEL_FORMAT, true),
      frameNumber: Number(v.getBigUint64(base + S_FRAME_NUMBER, true)),
      timestamp: v.getFloat64(base + S_TIMESTAMP, true),
      width: v.getUint32(base + S_WIDTH, true),
      height: v.getUint32(base + S_HEIGHT, true),
      stride: v.getUint32(base + S_STRIDE, true),
      byteLength: Number(v.getBigUint64(base + S_BYTE_LENGTH, true)),
    };
    fence(); // the reads above complete before the sequence word is read again
    if (Atomics.load(this.#slotWords, seqIndex) !== s1 || raw.byteLength > this.slotBytes) return null;
    return raw;
  }

  /** Turns a stable slot into a Frame and counts it (and the frames skipped before it). */
  #deliver(raw: RawFrame): Frame {
    const previous = this.#lastDelivered;
    const dropped = previous >= 0 && raw.frameNumber > previous + 1 ? raw.frameNumber - previous - 1 : 0;
    if (raw.frameNumber > previous) {
      this.#lastDelivered = raw.frameNumber;
      this.#received++;
      this.#dropped += dropped;
    }
    const words = this.#slotWords;
    const shm = this.shm;
    const onTorn = () => this.#rejected++;
    return {
      frameNumber: raw.frameNumber,
      timestamp: raw.timestamp,
      width: raw.width,
      height: raw.height,
      stride: raw.stride,
      pixelFormat: FORMAT_NAMES.get(raw.pixelFormat) ?? raw.pixelFormat,
      byteLength: raw.byteLength,
      data: this.#payload(raw.index, raw.byteLength),
      dropped,
      valid(): boolean {
        if (!shm.closed) fence(); // the caller's reads of data complete first
        const ok = !shm.closed && Atomics.load(words, raw.seqIndex) === raw.seq;
        if (!ok) onTorn();
        return ok;
      },
    };
  }

  /**
   * A view of `length` bytes of slot `index`'s payload. Made by shm.view() on
   * each call, never sliced from a cached view: a view shmkit hands out keeps
   * its SharedMemory (and so the mapping) alive through the owner link, which
   * subarray() would not carry.
   */
  #payload(index: number, length: number): Uint8Array {
    return this.shm.view(Uint8Array, this.#payloadOffset + index * this.#stride, length);
  }

  #checkOpen(): void {
    if (this.shm.closed) throw shmError('ERR_SHM_CLOSED', `${this} is closed`);
  }

  #checkWriter(): void {
    this.#checkOpen();
    if (!this.isWriter) throw shmError('ERR_SHM_RING_STATE', 'only the writer (FrameRing.create) can publish');
  }

  #checkMeta(meta: FrameMeta): Required<{ [K in keyof FrameMeta]: number }> {
    if (meta === null || typeof meta !== 'object') throw invalidArgType('meta', 'of type object', meta);
    let pixelFormat = 0;
    if (meta.pixelFormat !== undefined) {
      if (typeof meta.pixelFormat === 'string') {
        const code = PIXEL_FORMATS[meta.pixelFormat];
        if (code === undefined) {
          throw invalidArgValue('meta.pixelFormat', meta.pixelFormat, `must be one of ${Object.keys(PIXEL_FORMATS).join(', ')}`);
        }
        pixelFormat = code;
      } else {
        pixelFormat = validateInteger('meta.pixelFormat', meta.pixelFormat, 0, 0xffffffff);
        if (pixelFormat < 256 && !FORMAT_NAMES.has(pixelFormat)) {
          throw invalidArgValue('meta.pixelFormat', pixelFormat, 'is a code reserved by shmkit (applications use 256 and up)');
        }
      }
    }
    const u32 = (name: string, value: unknown, fallback: number) =>
      value === undefined ? fallback : validateInteger(`meta.${name}`, value, 0, 0xffffffff);
    const width = u32('width', meta.width, 0);
    const height = u32('height', meta.height, 0);
    const byteLength =
      meta.byteLength === undefined ? this.slotBytes : validateInteger('meta.byteLength', meta.byteLength, 0, this.slotBytes);
    const bpp = bytesPerPixel(pixelFormat);
    const stride = u32('stride', meta.stride, bpp !== undefined ? width * bpp : Math.min(byteLength, 0xffffffff));
    if (stride > 0xffffffff) throw outOfRange('meta.width', 'small enough for width × bytes per pixel to fit 32 bits', width);
    let timestamp: number;
    if (meta.timestamp === undefined) timestamp = performance.timeOrigin + performance.now();
    else if (typeof meta.timestamp !== 'number') throw invalidArgType('meta.timestamp', 'of type number', meta.timestamp);
    else timestamp = meta.timestamp;
    return { width, height, stride, pixelFormat, timestamp, byteLength };
  }
}
