/**
 * The bridge's wire protocol: versioned request/reply messages between a peer (a renderer's preload,
 * a forked Node child) and the host, plus host-initiated events. Everything here is plain data that
 * survives JSON, structured clone and Electron IPC.
 *
 * Peers are untrusted: `parseRequest` validates every field (own data properties of a plain object
 * only, no unknown keys, types, integer ranges, name syntax) before the host looks at anything, and
 * throws a coded error that the host turns into an error reply. Replies and events from the host are
 * checked by `parseHostMessage` on the client side the same way.
 */
import { codedError, type CodedError, type WireError } from './errors';

export const PROTOCOL_VERSION = 1;

/** Logical segment names: 1–128 characters, letters/digits first, then letters, digits, `._:-`. */
export const MAX_NAME_LENGTH = 128;
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;

/**
 * What a peer may ask. `readonly` absent on attach means "as granted". `copy: true` on attach and
 * create asks for a **copy attachment**: the peer will not map the segment (a sandboxed preload
 * cannot) but reads, writes and takes frames by copy through the host with `read`, `write` and
 * `frame`; its reply carries no OS name. Those three ops need a transport that carries binary data
 * (Electron's IPC).
 */
export type Request =
  | { v: 1; id: number; op: 'hello' }
  | { v: 1; id: number; op: 'attach'; name: string; readonly?: boolean; copy?: boolean }
  | { v: 1; id: number; op: 'create'; name: string; size: number; copy?: boolean }
  | { v: 1; id: number; op: 'createFrameRing'; name: string; slots: number; slotBytes: number }
  | { v: 1; id: number; op: 'detach'; handle: number }
  | { v: 1; id: number; op: 'release'; name: string }
  | { v: 1; id: number; op: 'list'; after?: string }
  | { v: 1; id: number; op: 'cancel'; request: number }
  | { v: 1; id: number; op: 'read'; handle: number; offset: number; length: number }
  | { v: 1; id: number; op: 'write'; handle: number; offset: number; bytes: Uint8Array }
  | { v: 1; id: number; op: 'frame'; handle: number; after: number };

/** Slots a ring a peer creates may have (as @shmkit/shm's FrameRing.create allows). */
export const MAX_RING_SLOTS = 2 ** 20;

/** The segment size of a FrameRing (docs/frame-ring-layout.md): the header page(s), then the slots. */
export function ringSize(slots: number, slotBytes: number): number {
  const page = 4096;
  const up = (n: number) => Math.ceil(n / page) * page;
  return up(128 + 64 * slots) + up(slotBytes) * slots;
}

/** Largest `read` or `write` of one request; larger ones are split by the client. */
export const MAX_COPY_BYTES = 64 * 1024 * 1024;

export type Op = Request['op'];
export type RequestOf<O extends Op> = Extract<Request, { op: O }>;
/** A request as the client builds it: without `v` and `id`. */
export type RequestBody = Request extends infer R ? (R extends Request ? Omit<R, 'v' | 'id'> : never) : never;

export type SegmentKind = 'segment' | 'frame-ring';

/** The reply to hello. */
export interface HelloResult {
  version: 1;
  maxNameLength: number;
  /** Largest size a peer may create, in bytes. */
  maxCreateBytes: number;
  /** Bytes the segments this peer creates may total (its budget). */
  maxBytesPerPeer: number;
  /** Entries in one reply to list (a full page means: ask again with `after`). */
  listPageSize: number;
}

/** The reply to attach and create: what the peer's process needs to map the segment. */
export interface AttachResult {
  /** Identifies this attachment in detach and in `revoked` events. */
  handle: number;
  name: string;
  /**
   * The OS name to map with @shmkit/shm. For the preload/child only: never hand it to page script.
   * Empty for a copy attachment (the peer does not map it, and is not told where it is).
   */
  osName: string;
  /** A copy attachment (`copy: true`): read, write and frame through the host. */
  copy?: boolean;
  size: number;
  readonly: boolean;
  kind: SegmentKind;
}

/** One entry of the reply to list: what this peer may attach. */
export interface ListEntry {
  name: string;
  size: number;
  kind: SegmentKind;
  /** True when this peer may only attach read-only. */
  readonly: boolean;
  /** True when this peer owns the segment. */
  owned: boolean;
}

/** A frame's metadata, as pages and peers get it (no pixels). */
export interface FrameInfo {
  frameNumber: number;
  width: number;
  height: number;
  stride: number;
  pixelFormat: string | number;
  /** Publish time in epoch milliseconds. */
  timestamp: number;
  byteLength: number;
  /** Frames this reader missed since the previous one it got (0 for the first). */
  dropped: number;
}

/** A frame's metadata from anything that has it (a FrameRing frame, a FrameResult). */
export function frameInfo(frame: Omit<FrameInfo, 'dropped'>, dropped: number): FrameInfo {
  const { frameNumber, width, height, stride, pixelFormat, timestamp, byteLength } = frame;
  return { frameNumber, width, height, stride, pixelFormat, timestamp, byteLength, dropped };
}

/** The reply to `frame`: the newest frame after `after`, copied, or null when there is none yet. */
export interface FrameResult extends FrameInfo {
  /** The payload: `byteLength` bytes, in a buffer of exactly that size. */
  bytes: Uint8Array;
}

export interface ResultOf {
  hello: HelloResult;
  attach: AttachResult;
  create: AttachResult;
  createFrameRing: AttachResult;
  detach: null;
  release: null;
  list: ListEntry[];
  cancel: null;
  /** The bytes read, in a buffer of exactly `length` bytes. */
  read: { bytes: Uint8Array };
  /** Bytes written. */
  write: number;
  frame: FrameResult | null;
}

/** Why a grant or attachment ended. */
export type RevokeReason =
  | 'owner-gone' // the owning peer closed, crashed away or exited: the segment is unlinked
  | 'released' // the host (or the owning peer) released the segment: unlinked
  | 'revoked' // the host revoked this peer's grant
  | 'grant-changed' // a read-write attachment whose grant became read-only
  | 'host-closed'; // host.close()

export interface SuccessReply {
  v: 1;
  id: number;
  ok: true;
  result: unknown;
}
export interface ErrorReply {
  v: 1;
  /** null when the request had no usable id. */
  id: number | null;
  ok: false;
  error: WireError;
}
export type Reply = SuccessReply | ErrorReply;

/** Sent by the host when a peer's access to a segment ends; the listed handles are dead. */
export interface RevokedEvent {
  v: 1;
  event: 'revoked';
  name: string;
  handles: number[];
  reason: RevokeReason;
}

/**
 * The host's last message on a channel it ends because of the peer (Node transport): a malformed
 * frame, a peer that does not read. The channel closes after it.
 */
export interface DisconnectEvent {
  v: 1;
  event: 'disconnect';
  error: WireError;
}

export type HostMessage = Reply | RevokedEvent | DisconnectEvent;

/** Entries in one reply to list, sorted by name; a peer asks for the next page with `after` (the last name it got). */
export const LIST_PAGE_SIZE = 256;

const REVOKE_REASONS: readonly RevokeReason[] = ['owner-gone', 'released', 'revoked', 'grant-changed', 'host-closed'];

const FIELDS: Record<Op, readonly string[]> = {
  hello: [],
  attach: ['name', 'readonly', 'copy'],
  create: ['name', 'size', 'copy'],
  createFrameRing: ['name', 'slots', 'slotBytes'],
  detach: ['handle'],
  release: ['name'],
  list: ['after'],
  cancel: ['request'],
  read: ['handle', 'offset', 'length'],
  write: ['handle', 'offset', 'bytes'],
  frame: ['handle', 'after'],
};
const REQUIRED: Record<Op, readonly string[]> = {
  hello: [],
  attach: ['name'],
  create: ['name', 'size'],
  createFrameRing: ['name', 'slots', 'slotBytes'],
  detach: ['handle'],
  release: ['name'],
  list: [],
  cancel: ['request'],
  read: ['handle', 'offset', 'length'],
  write: ['handle', 'offset', 'bytes'],
  frame: ['handle', 'after'],
};

function protocolError(message: string): CodedError {
  return codedError('ERR_SHM_BRIDGE_PROTOCOL', message, TypeError);
}

/** A plain object (prototype Object.prototype or null), not an array, a class instance, a proxy-able exotic. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * The own data properties of a plain object as a null-prototype record, refusing accessors,
 * symbol keys and keys outside `allowed`: nothing of the peer's object runs or is inherited.
 */
function ownFields(value: Record<string, unknown>, allowed: ReadonlySet<string>, what: string): Record<string, unknown> {
  if (Object.getOwnPropertySymbols(value).length > 0) throw protocolError(`${what} has symbol keys`);
  const keys = Object.getOwnPropertyNames(value);
  if (keys.length > allowed.size) throw protocolError(`${what} has ${keys.length} keys, at most ${allowed.size} allowed`);
  const out: Record<string, unknown> = Object.create(null);
  for (const key of keys) {
    if (!allowed.has(key)) throw protocolError(`${what} has an unknown key ${JSON.stringify(key.slice(0, 40))}`);
    const desc = Object.getOwnPropertyDescriptor(value, key);
    if (!desc || !('value' in desc)) throw protocolError(`${what}.${key} is not a data property`);
    out[key] = desc.value;
  }
  return out;
}

/** Checks a logical segment name (wire or local); the code is the caller's. */
export function nameProblem(name: unknown): string | null {
  if (typeof name !== 'string') return `must be a string, got ${typeof name}`;
  if (name.length === 0) return 'must not be empty';
  if (name.length > MAX_NAME_LENGTH) return `must be at most ${MAX_NAME_LENGTH} characters, got ${name.length}`;
  if (!NAME_PATTERN.test(name)) return 'must start with a letter or digit and contain only letters, digits and . _ : -';
  return null;
}

function isId(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** The request id of a raw message if it has a usable one (for the error reply), else null. */
export function requestIdOf(raw: unknown): number | null {
  if (!isPlainObject(raw)) return null;
  const desc = Object.getOwnPropertyDescriptor(raw, 'id');
  return desc && 'value' in desc && isId(desc.value) ? desc.value : null;
}

const REQUEST_KEYS = new Set(['v', 'id', 'op', 'name', 'readonly', 'size', 'handle', 'after', 'request', 'copy', 'offset', 'length', 'bytes', 'slots', 'slotBytes']);

/**
 * Validates a raw request from a peer. Throws ERR_SHM_BRIDGE_PROTOCOL (shape, types, ranges, names)
 * or ERR_SHM_BRIDGE_VERSION. `maxSize` bounds `size` of create.
 */
export function parseRequest(raw: unknown, maxSize: number): Request {
  if (!isPlainObject(raw)) throw protocolError('a request must be a plain object');
  const f = ownFields(raw, REQUEST_KEYS, 'the request');
  if (f.v !== PROTOCOL_VERSION) {
    if (typeof f.v === 'number') {
      throw codedError('ERR_SHM_BRIDGE_VERSION', `protocol version ${String(f.v)} is not supported (this host speaks ${PROTOCOL_VERSION})`);
    }
    throw protocolError('request.v must be the protocol version number');
  }
  if (!isId(f.id)) throw protocolError('request.id must be a non-negative safe integer');
  const op = f.op;
  if (typeof op !== 'string' || !Object.prototype.hasOwnProperty.call(FIELDS, op)) {
    throw protocolError('request.op must be one of ' + Object.keys(FIELDS).join(', '));
  }
  const allowed = FIELDS[op as Op];
  for (const key of Object.keys(f)) {
    if (key !== 'v' && key !== 'id' && key !== 'op' && !allowed.includes(key)) {
      throw protocolError(`request.${key} is not a field of ${op}`);
    }
  }
  for (const key of REQUIRED[op as Op]) {
    if (!(key in f)) throw protocolError(`request.${key} is required for ${op}`);
  }
  if ('name' in f) {
    const problem = nameProblem(f.name);
    if (problem) throw protocolError(`request.name ${problem}`);
  }
  if ('after' in f && op === 'list') {
    const problem = nameProblem(f.after);
    if (problem) throw protocolError(`request.after ${problem}`);
  }
  if ('after' in f && op === 'frame' && !(typeof f.after === 'number' && Number.isSafeInteger(f.after) && f.after >= -1)) {
    throw protocolError('request.after must be -1 or a frame number');
  }
  if ('copy' in f && typeof f.copy !== 'boolean') throw protocolError('request.copy must be a boolean');
  if ('offset' in f && !isId(f.offset)) throw protocolError('request.offset must be a non-negative safe integer');
  if ('length' in f && !(isId(f.length) && f.length <= MAX_COPY_BYTES)) {
    throw protocolError(`request.length must be an integer from 0 to ${MAX_COPY_BYTES} (split larger reads)`);
  }
  if ('bytes' in f) {
    if (!(f.bytes instanceof Uint8Array)) throw protocolError('request.bytes must be a Uint8Array');
    if (f.bytes.byteLength > MAX_COPY_BYTES) throw protocolError(`request.bytes must be at most ${MAX_COPY_BYTES} bytes (split larger writes)`);
  }
  if ('readonly' in f && typeof f.readonly !== 'boolean') throw protocolError('request.readonly must be a boolean');
  if ('size' in f) {
    if (typeof f.size !== 'number' || !Number.isSafeInteger(f.size) || f.size < 1) {
      throw protocolError('request.size must be a positive safe integer');
    }
    if (f.size > maxSize) throw codedError('ERR_SHM_BRIDGE_LIMIT', `request.size ${f.size} is over this host's limit of ${maxSize} bytes`, RangeError);
  }
  if ('slots' in f && !(isId(f.slots) && f.slots >= 2 && f.slots <= MAX_RING_SLOTS)) {
    throw protocolError(`request.slots must be an integer from 2 to ${MAX_RING_SLOTS}`);
  }
  if ('slotBytes' in f && !(isId(f.slotBytes) && f.slotBytes >= 1)) throw protocolError('request.slotBytes must be a positive safe integer');
  if (op === 'createFrameRing') {
    const size = ringSize(f.slots as number, f.slotBytes as number);
    if (!Number.isSafeInteger(size) || size > maxSize) {
      throw codedError('ERR_SHM_BRIDGE_LIMIT', `a ring of ${String(f.slots)} slots of ${String(f.slotBytes)} bytes takes ${size} bytes, over this host's limit of ${maxSize}`, RangeError);
    }
  }
  if ('handle' in f && !(isId(f.handle) && f.handle >= 1)) throw protocolError('request.handle must be a positive safe integer');
  if ('request' in f && !isId(f.request)) throw protocolError('request.request must be the id of an earlier request');
  // Rebuild: the host only ever sees an object it made.
  const req: Record<string, unknown> = { v: PROTOCOL_VERSION, id: f.id, op };
  for (const key of allowed) if (key in f) req[key] = f[key];
  return req as unknown as Request;
}

function isWireError(value: unknown): value is WireError {
  if (!isPlainObject(value)) return false;
  return typeof value.name === 'string' && typeof value.code === 'string' && typeof value.message === 'string';
}

/** Validates a raw message from the host (client side). Throws ERR_SHM_BRIDGE_PROTOCOL. */
export function parseHostMessage(raw: unknown): HostMessage {
  if (!isPlainObject(raw)) throw protocolError('a host message must be a plain object');
  if (raw.v !== PROTOCOL_VERSION) {
    throw codedError('ERR_SHM_BRIDGE_VERSION', `host message of protocol version ${String(raw.v)} (this client speaks ${PROTOCOL_VERSION})`);
  }
  if (raw.event === 'revoked') {
    const { name, handles, reason } = raw;
    if (typeof name !== 'string' || !Array.isArray(handles) || !handles.every(isId) || !REVOKE_REASONS.includes(reason as RevokeReason)) {
      throw protocolError('malformed revoked event');
    }
    return { v: 1, event: 'revoked', name, handles: [...(handles as number[])], reason: reason as RevokeReason };
  }
  if (raw.event === 'disconnect') {
    if (!isWireError(raw.error)) throw protocolError('malformed disconnect event');
    return { v: 1, event: 'disconnect', error: raw.error };
  }
  if (raw.ok === true && isId(raw.id)) return { v: 1, id: raw.id, ok: true, result: raw.result };
  if (raw.ok === false && (raw.id === null || isId(raw.id)) && isWireError(raw.error)) {
    return { v: 1, id: raw.id as number | null, ok: false, error: raw.error };
  }
  throw protocolError('malformed host message');
}

/** Checks the result of attach/create from the host. */
export function isAttachResult(value: unknown): value is AttachResult {
  if (!isPlainObject(value)) return false;
  return (
    isId(value.handle) &&
    typeof value.name === 'string' &&
    typeof value.osName === 'string' &&
    isId(value.size) &&
    typeof value.readonly === 'boolean' &&
    (value.kind === 'segment' || value.kind === 'frame-ring')
  );
}

/** Checks the result of frame from the host (null: no newer frame yet). */
export function isFrameResult(value: unknown): value is FrameResult | null {
  if (value === null) return true;
  if (!isPlainObject(value)) return false;
  return (
    isId(value.frameNumber) &&
    isId(value.width) &&
    isId(value.height) &&
    isId(value.stride) &&
    (typeof value.pixelFormat === 'string' || typeof value.pixelFormat === 'number') &&
    typeof value.timestamp === 'number' &&
    isId(value.byteLength) &&
    isId(value.dropped) &&
    value.bytes instanceof Uint8Array &&
    value.bytes.byteLength === value.byteLength
  );
}
