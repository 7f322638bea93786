/**
 * The transport-free host: it owns the segments (created with @shmkit/shm under random OS names that
 * only peers' preloads/children ever see), answers peers' requests, and applies the lifecycle rules:
 *
 * - owner peer gone → the segment is unlinked, the host's mapping closed, every other peer's
 *   attachments dropped and `revoked` sent to each peer that had access;
 * - grantee gone → its grants and attachments are dropped, nothing is unlinked;
 * - peer reset (renderer crash, main-frame navigation) → its attachments are dropped; its grants and
 *   owned segments stay while the peer lives;
 * - host-owned segments live until release() or close().
 *
 * Peer requests are validated by parseRequest; a bad one gets a coded error reply and changes nothing.
 * Segments a peer creates are created here (so the host can always unlink them) and the host's mapping
 * is closed at once: a process under Electron's memory cage can hold only about a hundred mappings.
 *
 * Against hostile or buggy peers (docs/decisions/0011-bridge-hostile-peers.md):
 * - space: every segment a peer creates counts against its byte budget and the budget of all peers
 *   together (defaults from the size of the filesystem behind /dev/shm), and its pages are reserved
 *   at create (`populate`), as are the host's own by default: a full filesystem is a coded ENOSPC at
 *   create time, never a SIGBUS when the host (or anyone) later touches a page;
 * - names: a peer's creations live in its own namespace, so it can neither take a name the app will
 *   use nor learn another peer's names: whatever a peer may not see is answered exactly as a missing
 *   name;
 * - size of replies: `list` is paged.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { FrameRing, pageSize, SharedMemory } from '@shmkit/shm';
import { codedError, toWireError, type CodedError } from './errors';
import {
  MAX_NAME_LENGTH,
  nameProblem,
  parseRequest,
  PROTOCOL_VERSION,
  requestIdOf,
  ringSize,
  type AttachResult,
  type ErrorReply,
  frameInfo,
  type FrameResult,
  LIST_PAGE_SIZE,
  type ListEntry,
  type Reply,
  type Request,
  type RevokeReason,
  type SegmentKind,
} from './protocol';
import { Registry, type Access, type Attachment, type Owner, type SegmentRecord } from './registry';
import type { Transport } from './transport';

export type { Owner } from './registry';

export interface HostOptions {
  /** Largest segment a peer may create, in bytes. Default 1 GiB. */
  maxCreateBytes?: number | undefined;
  /** Bytes the segments one peer creates may total. Default: a quarter of the shared-memory filesystem's size. */
  maxBytesPerPeer?: number | undefined;
  /** Bytes the segments all peers create may total. Default: half the shared-memory filesystem's size. */
  maxPeerBytes?: number | undefined;
  /** Segments one peer may create and hold at once. Default 256. */
  maxSegmentsPerPeer?: number | undefined;
  /** Attachments one peer may hold at once. Default 1024. */
  maxAttachmentsPerPeer?: number | undefined;
  /** Start of every OS name this host makes (1–10 letters, digits, `_`), followed by 16 random hex digits. Default 'sb_'. */
  osNamePrefix?: string | undefined;
}

export interface CreateOptions<P> {
  /** Who the segment's life follows: a peer (unlinked when it goes) or 'host' (until release/close). Default 'host'. */
  owner?: Owner<P> | undefined;
  /** Peers granted access now: 'all' (every peer, present and future) or a list. Default: none. */
  share?: 'all' | readonly P[] | undefined;
  /** Whether the `share` grants are read-only. Default false for segments, true for frame rings. */
  readonly?: boolean | undefined;
  /**
   * Reserve (and pre-fault) the pages now, so a full filesystem is ENOSPC here and never a SIGBUS when
   * the segment is touched later, in this process or a peer's. Default true.
   */
  populate?: boolean | undefined;
}

/** Names a segment of a peer's namespace in the host API (grant, revoke, release). */
export interface NamespaceOption<P> {
  /** The peer whose namespace the name is in (a segment that peer created); default the app's namespace. */
  namespace?: P | 'host' | undefined;
}

export interface FrameRingOptions<P> extends CreateOptions<P> {
  slots: number;
  slotBytes: number;
}

/** What a peer created: a segment, or a FrameRing it writes. */
export interface CreatedInfo {
  name: string;
  kind: SegmentKind;
  size: number;
}

/** Calls the host makes to its skin. */
export interface HostHooks<P> {
  /** A peer created a segment or a ring in its namespace (after the reply was decided, before it is sent). */
  created?(peer: P, info: CreatedInfo): void;
}

export interface SegmentInfo<P> {
  name: string;
  /** 'host' for the app's names; the peer that created the segment for a name in its namespace. */
  namespace: Owner<P>;
  /** The OS name (host side only; never reaches page script). */
  osName: string;
  size: number;
  kind: SegmentKind;
  owner: Owner<P>;
  shareAll: Access | null;
  grants: { peer: P; readonly: boolean }[];
  /** `copy`: a copy attachment (the peer reads, writes and takes frames through the host: a sandboxed window). */
  attachments: { peer: P; handle: number; readonly: boolean; copy: boolean }[];
}

/**
 * Size in bytes of the filesystem behind POSIX shared memory (Linux: /dev/shm, a tmpfs); where
 * segments are not files (macOS), half the machine's memory.
 */
export function sharedMemoryFilesystemSize(): number {
  if (process.platform === 'linux') {
    try {
      const { blocks, bsize } = fs.statfsSync('/dev/shm');
      if (blocks > 0 && bsize > 0) return blocks * bsize;
    } catch {
      // no /dev/shm: fall through
    }
  }
  return Math.floor(os.totalmem() / 2);
}

type Limits = {
  maxCreateBytes: number;
  maxBytesPerPeer: number;
  maxPeerBytes: number;
  maxSegmentsPerPeer: number;
  maxAttachmentsPerPeer: number;
};

function defaults(): Limits {
  const fsSize = sharedMemoryFilesystemSize();
  const page = pageSize;
  const floorPage = (n: number) => Math.max(page, Math.floor(n / page) * page);
  return {
    maxCreateBytes: 2 ** 30,
    maxBytesPerPeer: floorPage(fsSize / 4),
    maxPeerBytes: floorPage(fsSize / 2),
    maxSegmentsPerPeer: 256,
    maxAttachmentsPerPeer: 1024,
  };
}

function limitOption(options: HostOptions, key: keyof Limits, fallback: Limits): number {
  const value = options[key] ?? fallback[key];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw codedError('ERR_OUT_OF_RANGE', `options.${key} must be a positive safe integer, got ${String(value)}`, RangeError);
  }
  return value;
}

function prefixOption(options: HostOptions): string {
  const prefix = options.osNamePrefix ?? 'sb_';
  if (typeof prefix !== 'string') throw codedError('ERR_INVALID_ARG_TYPE', 'options.osNamePrefix must be a string', TypeError);
  if (!/^[A-Za-z0-9_]{1,10}$/.test(prefix)) {
    throw codedError('ERR_INVALID_ARG_VALUE', 'options.osNamePrefix must be 1-10 letters, digits or _', TypeError);
  }
  return prefix;
}

/** Checks that [offset, offset + length) lies within a segment of `size` bytes (ERR_OUT_OF_RANGE). */
function checkRange(size: number, offset: number, length: number): void {
  if (offset > size || length > size - offset) {
    throw codedError('ERR_OUT_OF_RANGE', `offset ${offset} and length ${length} reach past the segment's ${size} bytes`, RangeError);
  }
}

/** A raw message's request id, or null (never throws: reading a hostile object may). */
function safeRequestId(raw: unknown): number | null {
  try {
    return requestIdOf(raw);
  } catch {
    return null;
  }
}

function checkName(name: unknown): string {
  const problem = nameProblem(name);
  if (problem) {
    throw codedError(typeof name === 'string' ? 'ERR_INVALID_ARG_VALUE' : 'ERR_INVALID_ARG_TYPE', `name ${problem}`, TypeError);
  }
  return name as string;
}

/**
 * Requests of one peer are served one at a time, in order. While one is in flight (an asynchronous
 * operation), up to this many more wait; beyond, a request is refused at once with
 * ERR_SHM_BRIDGE_LIMIT. (A transport that can hold a peer's messages back, the Node channel, never
 * lets them pile up: it stops reading that peer until the host asks for more.)
 */
const MAX_QUEUED_PER_PEER = 64;
/** Successful attach/create requests remembered per peer, so that a `cancel` can undo them. */
const MAX_CANCELLABLE = 64;

/** What a successful attach or create did, for `cancel`. */
type Undo<P> = { kind: 'attach'; handle: number } | { kind: 'create'; record: SegmentRecord<P> };

/**
 * An unlink failure must not stop the lifecycle rules (this runs from transport notifications).
 * ENOENT: someone unlinked it behind our back (a peer process can, it runs as the same user).
 */
function unlinkFailed(error: unknown, osName: string, name: string): void {
  if ((error as CodedError)?.code === 'ENOENT') return;
  process.emitWarning(`could not unlink segment ${name} (${osName}): ${String((error as Error)?.message ?? error)}`, {
    code: 'SHMKIT_BRIDGE_UNLINK_FAILED',
  });
}

/** Unlinks on the threadpool (freeing a large segment's pages takes time); failures are warned about. */
function unlinkInBackground(osName: string, name: string): void {
  SharedMemory.unlinkAsync(osName).catch((error: unknown) => unlinkFailed(error, osName, name));
}

/** What a create will make, checked before anything is made. */
interface Plan<P> {
  name: string;
  space: Owner<P>;
  owner: Owner<P>;
  share: 'all' | readonly P[];
  access: Access;
  populate: boolean;
}

/** The bytes a segment takes in the filesystem: whole pages. */
function pageRounded(size: number): number {
  return Math.ceil(size / pageSize) * pageSize;
}

function formatBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(1)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  return `${Math.round(n / 1024)} KiB`;
}

/**
 * The error a peer gets when the OS refuses its create. It may reach page script: it keeps the code
 * and says why in the host's words, with no OS name and none of the OS message (which, for ENOSPC,
 * lists other segments).
 */
function peerCreateError(error: unknown, name: string, size: number): CodedError {
  const code = typeof (error as CodedError)?.code === 'string' ? (error as CodedError).code : 'ERR_SHM_BRIDGE_INTERNAL';
  let why: string;
  if (code === 'ENOSPC' || code === 'ENOMEM') {
    let room = '';
    try {
      const { bavail, blocks, bsize } = fs.statfsSync('/dev/shm');
      room = ` (${formatBytes(bavail * bsize)} free of ${formatBytes(blocks * bsize)})`;
    } catch {
      // no /dev/shm (macOS): no figures
    }
    why = code === 'ENOSPC' ? `the host's shared memory has no room for ${size} bytes${room}` : `the host has not enough memory for ${size} bytes${room}`;
  } else if (code === 'EMFILE' || code === 'ENFILE') {
    why = 'the host has too many open files';
  } else {
    why = `the host could not make it (${code})`;
  }
  return codedError(code, `cannot create segment ${name}: ${why}`);
}

export class BridgeHost<P extends object> {
  readonly #transport: Transport<P>;
  readonly #registry = new Registry<P>();
  /** Live peers that spoke to us or were named as owner/grantee: recipients of share-all `revoked`. */
  readonly #seen = new Set<P>();
  readonly #limits: Limits;
  readonly #prefix: string;
  readonly #hooks: HostHooks<P>;
  /** Peers with a request in flight, and the requests waiting behind it. */
  readonly #busy = new Map<P, unknown[]>();
  /** Per peer: what its recent successful attach/create requests did (by request id), for `cancel`. */
  readonly #cancellable = new Map<P, Map<number, Undo<P>>>();
  /** Bytes of peer creates in flight (counted against the budgets until they land): all, and per peer. */
  #pendingBytes = 0;
  readonly #pendingOf = new Map<P, number>();
  #closed = false;

  /** `hooks`: for the skins (NodeHost, ShmHost), which turn them into events of their own. */
  constructor(transport: Transport<P>, options: HostOptions = {}, hooks: HostHooks<P> = {}) {
    this.#hooks = hooks;
    if (options === null || typeof options !== 'object') throw codedError('ERR_INVALID_ARG_TYPE', 'options must be an object', TypeError);
    const fallback = defaults();
    this.#limits = {
      maxCreateBytes: limitOption(options, 'maxCreateBytes', fallback),
      maxBytesPerPeer: limitOption(options, 'maxBytesPerPeer', fallback),
      maxPeerBytes: limitOption(options, 'maxPeerBytes', fallback),
      maxSegmentsPerPeer: limitOption(options, 'maxSegmentsPerPeer', fallback),
      maxAttachmentsPerPeer: limitOption(options, 'maxAttachmentsPerPeer', fallback),
    };
    this.#prefix = prefixOption(options);
    this.#transport = transport;
    transport.listen({
      message: (peer, data) => this.#receive(peer, data),
      gone: (peer) => this.peerGone(peer),
      reset: (peer) => this.peerReset(peer),
    });
  }

  /**
   * One raw message from a peer: served now, or queued behind the peer's request in flight. Returns
   * false when the transport should hold this peer's next messages until `transport.resume(peer)`.
   */
  #receive(peer: P, data: unknown): boolean {
    const queue = this.#busy.get(peer);
    if (queue === undefined) return this.#serve(peer, [data]);
    if (queue.length >= MAX_QUEUED_PER_PEER) {
      const id = safeRequestId(data);
      this.#reply(peer, this.#errorReply(id, codedError('ERR_SHM_BRIDGE_LIMIT', `more than ${MAX_QUEUED_PER_PEER} requests of this peer are waiting: wait for replies`)));
      return false;
    }
    queue.push(data);
    return false;
  }

  /** Serves requests in order until one is asynchronous; the rest wait for it. Returns whether the peer is idle. */
  #serve(peer: P, pending: unknown[]): boolean {
    while (pending.length > 0) {
      const outcome = this.#handle(peer, pending.shift());
      if (!(outcome instanceof Promise)) {
        this.#reply(peer, outcome);
        continue;
      }
      this.#busy.set(peer, pending);
      outcome.then(
        (reply) => this.#settled(peer, reply),
        (error: unknown) => this.#settled(peer, this.#errorReply(null, error)),
      );
      return false;
    }
    return true;
  }

  #settled(peer: P, reply: Reply): void {
    this.#reply(peer, reply);
    const pending = this.#busy.get(peer);
    this.#busy.delete(peer);
    if (pending === undefined) return; // the peer went meanwhile
    if (this.#serve(peer, pending)) this.#transport.resume?.(peer);
  }

  #reply(peer: P, reply: Reply): void {
    try {
      this.#transport.send(peer, reply);
    } catch {
      // a transport must not throw for a gone peer; if one does, the reply is lost, the state is consistent
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Map sizes, for tests that check that nothing grows or leaks. */
  get stats(): { segments: number; peers: number; attachments: number; grants: number; seen: number } {
    return { ...this.#registry.counts, seen: this.#seen.size };
  }

  /** The limits in force (the options, with defaults filled in). */
  get limits(): Readonly<Limits> {
    return { ...this.#limits };
  }

  /** Bytes reserved by segments peers created: of `peer`, or of all peers together. */
  peerBytes(peer?: P): number {
    return peer === undefined ? this.#registry.peerBytes : this.#registry.bytesOf(peer);
  }

  /** Creates a segment (zero-filled) and returns the host's mapping of it. */
  create(name: string, size: number, options: CreateOptions<P> = {}): SharedMemory {
    this.#open();
    checkName(name);
    if (typeof size !== 'number') throw codedError('ERR_INVALID_ARG_TYPE', 'size must be a number', TypeError);
    if (!Number.isSafeInteger(size) || size < 1) throw codedError('ERR_OUT_OF_RANGE', `size must be a positive safe integer, got ${size}`, RangeError);
    const plan = this.#plan(name, options, false);
    const shm = new SharedMemory({ name: this.#osName(), create: true, size, track: true, populate: plan.populate });
    this.#register(plan, shm.name, shm.size, 'segment', () => {
      shm.close();
    });
    return shm;
  }

  /** Creates a FrameRing and returns its writer; peers attach readers (read-only by default). */
  createFrameRing(name: string, options: FrameRingOptions<P>): FrameRing {
    this.#open();
    checkName(name);
    if (options === null || typeof options !== 'object') throw codedError('ERR_INVALID_ARG_TYPE', 'options must be an object', TypeError);
    const plan = this.#plan(name, options, true);
    const ring = FrameRing.create({
      name: this.#osName(),
      slots: options.slots,
      slotBytes: options.slotBytes,
      track: true,
      populate: plan.populate,
    });
    this.#register(plan, ring.name, ring.shm.size, 'frame-ring', () => {
      ring.close();
    });
    return ring;
  }

  /**
   * Grants `peer` access to `name` (replacing an earlier grant). Downgrading to read-only revokes its
   * read-write attachments. `options.namespace` names a segment a peer created. Refused with
   * ERR_SHM_BRIDGE_EXISTS when `peer` already sees another segment by that name (its own, or one
   * granted earlier): it could never attach this one.
   */
  grant(name: string, peer: P, options: { readonly?: boolean | undefined } & NamespaceOption<P> = {}): void {
    this.#open();
    if (options === null || typeof options !== 'object') throw codedError('ERR_INVALID_ARG_TYPE', 'options must be an object', TypeError);
    const record = this.#find(name, options.namespace);
    this.#acceptPeer(peer, 'peer');
    const readonly = options.readonly ?? record.kind === 'frame-ring';
    if (typeof readonly !== 'boolean') throw codedError('ERR_INVALID_ARG_TYPE', 'options.readonly must be a boolean', TypeError);
    if (record.owner === peer) return;
    const other = this.#registry.otherNamed(peer, name, record);
    if (other !== undefined) {
      const whose = other.space === peer ? 'one it created' : other.space === 'host' ? "one of the app's" : "another peer's";
      throw codedError('ERR_SHM_BRIDGE_EXISTS', `that peer already sees another segment named ${name} (${whose}): it could not attach this one by name`);
    }
    this.#registry.setGrant(record, peer, readonly ? 'ro' : 'rw');
    if (readonly) {
      const handles = this.#registry.dropAttachmentsOf(record, peer, (a) => !a.readonly);
      if (handles.length > 0) this.#sendRevoked(peer, record.name, handles, 'grant-changed');
    }
  }

  /** Ends `peer`'s access to `name`: its attachments are dropped and it gets `revoked`. */
  revoke(name: string, peer: P, options: NamespaceOption<P> = {}): void {
    this.#open();
    if (options === null || typeof options !== 'object') throw codedError('ERR_INVALID_ARG_TYPE', 'options must be an object', TypeError);
    const record = this.#find(name, options.namespace);
    if (record.owner === peer) {
      throw codedError('ERR_INVALID_ARG_VALUE', 'cannot revoke the owner\'s access: release() the segment instead', TypeError);
    }
    const had = this.#registry.accessOf(record, peer) !== null;
    // a deny entry only for a live peer: a gone one's entry would never be dropped
    this.#registry.setGrant(record, peer, record.shareAll !== null && this.#transport.accept(peer) ? null : undefined);
    const handles = this.#registry.dropAttachmentsOf(record, peer);
    if (had || handles.length > 0) this.#sendRevoked(peer, record.name, handles, 'revoked');
  }

  /** Unlinks a segment now, whoever owns it: the host's mapping is closed and every peer with access gets `revoked`. */
  release(name: string, options: NamespaceOption<P> = {}): void {
    this.#open();
    if (options === null || typeof options !== 'object') throw codedError('ERR_INVALID_ARG_TYPE', 'options must be an object', TypeError);
    this.#destroy(this.#find(name, options.namespace), 'released');
  }

  segments(): SegmentInfo<P>[] {
    return this.#registry.all().map((r) => ({
      name: r.name,
      namespace: r.space,
      osName: r.osName,
      size: r.size,
      kind: r.kind,
      owner: r.owner,
      shareAll: r.shareAll,
      grants: [...r.grants].filter(([, a]) => a !== null).map(([peer, a]) => ({ peer, readonly: a === 'ro' })),
      attachments: [...r.attachments].map((a) => ({ peer: a.peer, handle: a.handle, readonly: a.readonly, copy: a.copy })),
    }));
  }

  /** Unlinks every segment (peers get `revoked`, reason 'host-closed') and closes the transport. Idempotent. */
  close(): void {
    if (this.#closed) return;
    for (const record of this.#registry.all()) this.#destroy(record, 'host-closed');
    this.#closed = true;
    this.#seen.clear();
    this.#transport.close();
  }

  /** The peer is gone for good: unlink what it owns, forget its grants and attachments. */
  peerGone(peer: P): void {
    this.#busy.delete(peer);
    this.#cancellable.delete(peer);
    for (const record of this.#registry.owned(peer)) this.#destroy(record, 'owner-gone', peer, { unlink: 'async' });
    this.#registry.dropAttachments(peer);
    this.#registry.dropGrants(peer);
    this.#seen.delete(peer);
  }

  /** The peer's mappings died but the peer lives on: drop its attachments only. */
  peerReset(peer: P): void {
    this.#registry.dropAttachments(peer);
  }

  /**
   * Answers one raw request from `peer`: at once, or (a create, which reserves its pages on the
   * threadpool) later. Transports deliver through `listen()`, which also keeps each peer's requests
   * in order; this is for callers that serve a single request. Never throws or rejects; a bad
   * request changes nothing.
   */
  handleRequest(peer: P, raw: unknown): Reply | Promise<Reply> {
    return this.#handle(peer, raw);
  }

  #handle(peer: P, raw: unknown): Reply | Promise<Reply> {
    let request: Request;
    try {
      if (this.#closed) throw codedError('ERR_SHM_BRIDGE_CLOSED', 'the host is closed');
      // A message read after its peer went (its exit seen first) must not leave state behind.
      if (!this.#transport.accept(peer)) throw codedError('ERR_SHM_BRIDGE_UNKNOWN_PEER', 'the asking peer is not live');
      request = parseRequest(raw, this.#limits.maxCreateBytes);
    } catch (error) {
      // Reading a hostile object can throw anything (a Proxy's trap): that is a malformed message too.
      const coded = typeof (error as Partial<CodedError>)?.code === 'string' ? error : codedError('ERR_SHM_BRIDGE_PROTOCOL', 'unreadable request');
      return this.#errorReply(safeRequestId(raw), coded);
    }
    const id = request.id;
    const success = (result: unknown): Reply => {
      // A peer the transport dropped while we served it (it stopped reading) is not kept as seen.
      if (this.#transport.accept(peer)) this.#seen.add(peer);
      return { v: PROTOCOL_VERSION, id, ok: true, result };
    };
    try {
      const result = this.#dispatch(peer, request);
      if (result instanceof Promise) return result.then(success, (error: unknown) => this.#errorReply(id, error));
      return success(result);
    } catch (error) {
      return this.#errorReply(id, error);
    }
  }

  /** Remembers what a successful attach/create did, so that a later `cancel` of its id can undo it. */
  #remember(peer: P, id: number, undo: Undo<P>): void {
    let map = this.#cancellable.get(peer);
    if (map === undefined) {
      map = new Map();
      this.#cancellable.set(peer, map);
    }
    map.set(id, undo);
    if (map.size > MAX_CANCELLABLE) map.delete(map.keys().next().value as number);
  }

  /**
   * Undoes what request `id` of this peer did, if it succeeded and is still there: its attachment
   * goes, or the segment it created is released. Requests are served in order, so the request has
   * been served by the time its cancel is. Unknown ids (failed, too old, never sent) undo nothing.
   */
  #cancel(peer: P, id: number): null {
    const undo = this.#cancellable.get(peer)?.get(id);
    if (undo === undefined) return null;
    this.#cancellable.get(peer)?.delete(id);
    if (undo.kind === 'attach') {
      const attachment = this.#registry.attachmentOf(peer, undo.handle);
      if (attachment) this.#registry.detach(attachment);
    } else if (this.#registry.get(undo.record.name, peer) === undo.record) {
      this.#destroy(undo.record, 'released', peer, { unlink: 'async' });
    }
    return null;
  }

  #dispatch(peer: P, request: Request): unknown {
    switch (request.op) {
      case 'hello':
        return {
          version: PROTOCOL_VERSION,
          maxNameLength: MAX_NAME_LENGTH,
          maxCreateBytes: this.#limits.maxCreateBytes,
          maxBytesPerPeer: this.#limits.maxBytesPerPeer,
          listPageSize: LIST_PAGE_SIZE,
        };
      case 'attach': {
        const record = this.#visible(peer, request.name);
        const access = this.#registry.accessOf(record, peer) as Access;
        const readonly = request.readonly ?? access === 'ro';
        if (!readonly && access === 'ro') {
          throw codedError('ERR_SHM_BRIDGE_READONLY', `segment ${request.name} is shared read-only with this peer: attach with readonly: true`);
        }
        const copy = request.copy === true;
        if (copy) this.#checkBinary(peer);
        this.#checkAttachQuota(peer);
        const result = this.#attachResult(record, peer, readonly, copy);
        this.#remember(peer, request.id, { kind: 'attach', handle: result.handle });
        return result;
      }
      case 'create':
        if (request.copy === true) this.#checkBinary(peer);
        return this.#createForPeer(peer, request.id, request.name, request.size, request.copy === true);
      case 'createFrameRing': {
        const writerPid = this.#transport.pidOf?.(peer);
        if (writerPid === undefined || !Number.isSafeInteger(writerPid) || writerPid < 1) {
          throw codedError(
            'ERR_SHM_BRIDGE_RING_UNAVAILABLE',
            'createFrameRing needs a peer the host can watch as the ring\'s writer: a child process started with fork() or spawn(); ' +
              'a window cannot write a ring (the app creates it with host.createFrameRing and grants it)',
          );
        }
        const ring = { slots: request.slots, slotBytes: request.slotBytes, writerPid };
        return this.#createForPeer(peer, request.id, request.name, ringSize(request.slots, request.slotBytes), false, ring);
      }
      case 'cancel':
        return this.#cancel(peer, request.request);
      case 'read': {
        const a = this.#copyAttachment(peer, request.handle);
        checkRange(a.segment.size, request.offset, request.length);
        const bytes = new Uint8Array(request.length); // owns its whole buffer: IPC sends exactly these bytes
        this.#mappingOf(a.segment).read(bytes, request.offset);
        return { bytes };
      }
      case 'write': {
        const a = this.#copyAttachment(peer, request.handle);
        if (a.readonly) throw codedError('ERR_SHM_BRIDGE_READONLY', `the handle of ${a.segment.name} is read-only`);
        checkRange(a.segment.size, request.offset, request.bytes.byteLength);
        return this.#mappingOf(a.segment).write(request.bytes, request.offset);
      }
      case 'frame':
        return this.#frameCopy(this.#copyAttachment(peer, request.handle), request.after);
      case 'detach': {
        const attachment = this.#registry.attachmentOf(peer, request.handle);
        if (!attachment) throw codedError('ERR_SHM_BRIDGE_UNKNOWN_HANDLE', `this peer holds no handle ${request.handle}`);
        this.#registry.detach(attachment);
        return null;
      }
      case 'release': {
        const record = this.#visible(peer, request.name);
        if (record.owner !== peer) throw codedError('ERR_SHM_BRIDGE_NOT_OWNER', `segment ${request.name} is not owned by this peer`);
        this.#destroy(record, 'released', peer, { unlink: 'async' });
        return null;
      }
      case 'list': {
        const entries: ListEntry[] = [];
        for (const r of this.#registry.visibleTo(peer)) {
          if (request.after !== undefined && r.name <= request.after) continue;
          const access = this.#registry.accessOf(r, peer);
          entries.push({ name: r.name, size: r.size, kind: r.kind, readonly: access === 'ro', owned: r.owner === peer });
        }
        entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        return entries.slice(0, LIST_PAGE_SIZE);
      }
    }
  }

  /**
   * The segment `name` means for `peer`. Whatever the peer may not see is answered exactly as a
   * missing name (same code, same message): a peer cannot learn that another peer's segment exists.
   */
  #visible(peer: P, name: string): SegmentRecord<P> {
    const record = this.#registry.resolve(peer, name);
    if (!record) throw codedError('ERR_SHM_BRIDGE_NOT_FOUND', `no segment named ${name}`);
    return record;
  }

  /**
   * A segment in `peer`'s namespace, within its budgets, its pages reserved now, on the threadpool:
   * reserving is the kernel zeroing pages (0.1-0.3 s a GiB), which must not stall a host that serves
   * every window. Nothing is mapped here. The peer's requests wait meanwhile (they are served in
   * order), so its state cannot change under this one; the app's can, and is checked again after.
   * `ring`: format it as a FrameRing whose writer is process `ring.writerPid` (the peer). Request `id`
   * is remembered, so that a `cancel` of it undoes the create.
   */
  async #createForPeer(peer: P, id: number, name: string, size: number, copy: boolean, ring?: { slots: number; slotBytes: number; writerPid: number }): Promise<AttachResult> {
    // A name the peer already sees is taken for it; anything it cannot see does not exist for it.
    if (this.#registry.resolve(peer, name)) throw codedError('ERR_SHM_BRIDGE_EXISTS', `a segment named ${name} exists`);
    const limits = this.#limits;
    if (this.#registry.createdCount(peer) >= limits.maxSegmentsPerPeer) {
      throw codedError('ERR_SHM_BRIDGE_LIMIT', `this peer holds ${limits.maxSegmentsPerPeer} segments it created, the limit: release some`);
    }
    const bytes = pageRounded(size);
    const mine = this.#registry.bytesOf(peer) + (this.#pendingOf.get(peer) ?? 0);
    if (mine + bytes > limits.maxBytesPerPeer) {
      throw codedError(
        'ERR_SHM_BRIDGE_LIMIT',
        `cannot create segment ${name}: this peer's segments would take ${mine + bytes} bytes, over its budget of ${limits.maxBytesPerPeer} (it holds ${mine})`,
      );
    }
    if (this.#registry.peerBytes + this.#pendingBytes + bytes > limits.maxPeerBytes) {
      // No figures: they would tell this peer how much the others use.
      throw codedError('ERR_SHM_BRIDGE_LIMIT', `cannot create segment ${name}: the host's budget for the segments of all peers has no room for ${bytes} bytes`);
    }
    this.#checkAttachQuota(peer);
    const osName = this.#osName();
    let made: { size: number; allocated: number };
    this.#pend(peer, bytes);
    try {
      // Reserved now: a full filesystem is ENOSPC here, never a SIGBUS in the host or a peer later.
      made = await SharedMemory.createUnmapped({ name: osName, size, track: true });
    } catch (error) {
      throw peerCreateError(error, name, size);
    } finally {
      this.#pend(peer, -bytes);
    }
    // Meanwhile the host may have closed, the peer gone, or the app given the peer a segment of that name.
    const refusal = this.#closed
      ? codedError('ERR_SHM_BRIDGE_CLOSED', 'the host is closed')
      : !this.#transport.accept(peer)
        ? codedError('ERR_SHM_BRIDGE_UNKNOWN_PEER', 'the asking peer is not live')
        : this.#registry.resolve(peer, name)
          ? codedError('ERR_SHM_BRIDGE_EXISTS', `a segment named ${name} exists`)
          : null;
    if (refusal !== null) {
      unlinkInBackground(osName, name);
      throw refusal;
    }
    if (ring) {
      // The header only (the pages are reserved): readers may attach and wait from now on.
      let shm: SharedMemory | null = null;
      try {
        shm = SharedMemory.attach(osName, { strategy: 'copy' });
        FrameRing.format(shm, ring);
      } catch (error) {
        unlinkInBackground(osName, name);
        throw peerCreateError(error, name, size);
      } finally {
        shm?.close();
      }
    }
    const plan = { name, space: peer, owner: peer, share: [], access: 'rw' as const, populate: true };
    // Charged what the filesystem allocated: whole pages, or huge pages on a huge=always tmpfs.
    const record = this.#register(plan, osName, made.size, ring ? 'frame-ring' : 'segment', null, Math.max(made.allocated, pageRounded(made.size)));
    const created = this.#hooks.created;
    if (created) {
      try {
        created(peer, { name, kind: record.kind, size: record.size });
      } catch (error) {
        // the app's listener failed: its error surfaces as any listener's would, outside the host's state
        queueMicrotask(() => {
          throw error;
        });
      }
    }
    const result = this.#attachResult(record, peer, false, copy);
    this.#remember(peer, id, { kind: 'create', record }); // a `cancel` of request `id` undoes it
    return result;
  }

  #pend(peer: P, bytes: number): void {
    this.#pendingBytes += bytes;
    const left = (this.#pendingOf.get(peer) ?? 0) + bytes;
    if (left > 0) this.#pendingOf.set(peer, left);
    else this.#pendingOf.delete(peer);
  }

  /** A random OS name (at most 26 characters: fits macOS's 30); peers' page script never sees it. */
  #osName(): string {
    return this.#prefix + randomBytes(8).toString('hex');
  }

  #checkAttachQuota(peer: P): void {
    if (this.#registry.attachmentCount(peer) >= this.#limits.maxAttachmentsPerPeer) {
      throw codedError('ERR_SHM_BRIDGE_LIMIT', `this peer holds ${this.#limits.maxAttachmentsPerPeer} attachments, the limit: detach some`);
    }
  }

  #attachResult(record: SegmentRecord<P>, peer: P, readonly: boolean, copy = false): AttachResult {
    const a = this.#registry.attach(record, peer, readonly, copy);
    // A copy attachment is never mapped by its peer, which is then not told where the segment is.
    const result: AttachResult = { handle: a.handle, name: record.name, osName: copy ? '' : record.osName, size: record.size, readonly, kind: record.kind };
    if (copy) result.copy = true;
    return result;
  }

  #checkBinary(peer: P): void {
    const binary = this.#transport.binaryFor ? this.#transport.binaryFor(peer) : this.#transport.binary === true;
    if (!binary) {
      throw codedError(
        'ERR_SHM_BRIDGE_COPY_UNAVAILABLE',
        "copy attachments need a transport that carries binary data (Electron's IPC); this peer can map segments itself: attach without copy",
      );
    }
  }

  /** `peer`'s attachment `handle`, which must be a copy attachment. */
  #copyAttachment(peer: P, handle: number): Attachment<P> {
    const attachment = this.#registry.attachmentOf(peer, handle);
    if (!attachment) throw codedError('ERR_SHM_BRIDGE_UNKNOWN_HANDLE', `this peer holds no handle ${handle}`);
    if (!attachment.copy) {
      throw codedError('ERR_SHM_BRIDGE_COPY_UNAVAILABLE', `handle ${handle} is not a copy attachment: map the segment, or attach with copy: true`);
    }
    return attachment;
  }

  /**
   * The host's mapping a copy attachment reads and writes through, opened on first use and closed
   * with the segment: a plain segment with the copy strategy (no address space of the host's V8
   * cage is taken), a frame ring as a reader.
   */
  #mappingOf(record: SegmentRecord<P>): { read(target: Uint8Array, offset: number): number; write(source: Uint8Array, offset: number): number } {
    if (record.copyMapping === null) {
      record.copyMapping =
        record.kind === 'frame-ring'
          ? FrameRing.attach(record.osName, { readonly: true })
          : SharedMemory.attach(record.osName, { strategy: 'copy' });
    }
    const mapping = record.copyMapping as SharedMemory | FrameRing;
    return mapping instanceof FrameRing ? mapping.shm : mapping;
  }

  /** The newest frame of a ring after `after`, copied (retried while the writer overwrites it), or null. */
  #frameCopy(attachment: Attachment<P>, after: number): FrameResult | null {
    const record = attachment.segment;
    if (record.kind !== 'frame-ring') {
      throw codedError('ERR_SHM_RING_FORMAT', `${record.name} is a plain segment, not a frame ring: use read()`);
    }
    this.#mappingOf(record);
    const ring = record.copyMapping as FrameRing;
    for (let attempt = 0; attempt < 8; attempt++) {
      const frame = ring.latest();
      if (frame === null || frame.frameNumber <= after) return null;
      const bytes = new Uint8Array(frame.byteLength); // owns its whole buffer: IPC sends exactly the frame
      bytes.set(frame.data.subarray(0, frame.byteLength));
      if (!frame.valid()) continue; // torn: the writer reused the slot while we copied
      return { ...frameInfo(frame, after < 0 ? 0 : frame.frameNumber - after - 1), bytes };
    }
    return null; // the writer kept overwriting the newest slot: the peer asks again on its next frame
  }

  #errorReply(id: number | null, error: unknown): ErrorReply {
    return { v: PROTOCOL_VERSION, id, ok: false, error: toWireError(error) };
  }

  #open(): void {
    if (this.#closed) throw codedError('ERR_SHM_BRIDGE_CLOSED', 'the host is closed');
  }

  /** A segment of the app's namespace, or of `namespace`'s (a peer) when given. */
  #find(name: string, namespace: unknown = 'host'): SegmentRecord<P> {
    checkName(name);
    if (namespace !== 'host' && !this.#transport.accept(namespace)) {
      // a gone peer's namespace is empty: its segments went with it
      throw codedError('ERR_SHM_BRIDGE_NOT_FOUND', `no segment named ${name} in that namespace (not a live peer)`);
    }
    const record = this.#registry.get(name, namespace as Owner<P>);
    if (!record) {
      throw codedError('ERR_SHM_BRIDGE_NOT_FOUND', `no segment named ${name}${namespace === 'host' ? '' : " in that peer's namespace"}`);
    }
    return record;
  }

  #acceptPeer(value: unknown, what: string): asserts value is P {
    if (!this.#transport.accept(value)) {
      throw codedError('ERR_SHM_BRIDGE_UNKNOWN_PEER', `${what} is not a live peer of this host's transport`);
    }
    this.#seen.add(value);
  }

  /** Checks everything about a host-side create before anything is made. */
  #plan(name: string, options: CreateOptions<P>, ring: boolean): Plan<P> {
    if (options === null || typeof options !== 'object') throw codedError('ERR_INVALID_ARG_TYPE', 'options must be an object', TypeError);
    // Only the app's own names can collide: peers create in namespaces of their own.
    if (this.#registry.get(name)) throw codedError('ERR_SHM_BRIDGE_EXISTS', `a segment named ${name} exists`);
    const owner = options.owner ?? 'host';
    if (owner !== 'host') this.#acceptPeer(owner, 'options.owner');
    const share = options.share ?? [];
    if (share !== 'all') {
      if (!Array.isArray(share)) throw codedError('ERR_INVALID_ARG_TYPE', "options.share must be 'all' or an array of peers", TypeError);
      share.forEach((p, i) => {
        this.#acceptPeer(p, `options.share[${i}]`);
        // as grant(): a peer that sees another segment by that name (its own, or one granted to it)
        // could never attach this one, or would lose that one
        if (this.#registry.resolve(p, name)) {
          throw codedError('ERR_SHM_BRIDGE_EXISTS', `options.share[${i}] already sees a segment named ${name}: it could not attach this one by name`);
        }
      });
    }
    const readonly = options.readonly ?? ring;
    if (typeof readonly !== 'boolean') throw codedError('ERR_INVALID_ARG_TYPE', 'options.readonly must be a boolean', TypeError);
    const populate = options.populate ?? true;
    if (typeof populate !== 'boolean') throw codedError('ERR_INVALID_ARG_TYPE', 'options.populate must be a boolean', TypeError);
    return { name, space: 'host', owner, share, access: readonly ? 'ro' : 'rw', populate };
  }

  #register(
    plan: Plan<P>,
    osName: string,
    size: number,
    kind: SegmentKind,
    closeHostMapping: (() => void) | null,
    bytes = pageRounded(size),
  ): SegmentRecord<P> {
    const record: SegmentRecord<P> = {
      name: plan.name,
      space: plan.space,
      osName,
      size,
      bytes,
      kind,
      owner: plan.owner,
      shareAll: plan.share === 'all' ? plan.access : null,
      grants: new Map(),
      attachments: new Set(),
      closeHostMapping,
      copyMapping: null,
    };
    this.#registry.add(record);
    if (plan.share !== 'all') for (const p of plan.share) if (p !== plan.owner) this.#registry.setGrant(record, p, plan.access);
    return record;
  }

  /**
   * Unlinks a segment, closes the host's mapping, and tells every peer that sees it by its name, and
   * every peer holding handles to it; `quiet` (the peer that asked, or the one that went) only if it
   * holds handles: those are closed on its side by the event. The registry forgets the segment at
   * once (nobody can attach it by name any more); `unlink: 'async'` (what peers cause: a release, a
   * window closing) frees its pages on the threadpool, so that a peer's create/release loop cannot
   * stall the host; the app's own calls (release(), close()) unlink before they return.
   */
  #destroy(record: SegmentRecord<P>, reason: RevokeReason, quiet?: P, how: { unlink: 'sync' | 'async' } = { unlink: 'sync' }): void {
    const notify = new Set<P>();
    const candidates = new Set<P>(record.grants.keys());
    if (record.owner !== 'host') candidates.add(record.owner as P);
    if (record.shareAll !== null) for (const peer of this.#seen) candidates.add(peer);
    for (const peer of candidates) if (peer !== quiet && this.#registry.resolve(peer, record.name) === record) notify.add(peer);
    const handles = this.#registry.remove(record);
    for (const peer of handles.keys()) notify.add(peer);
    try {
      if (how.unlink === 'async') unlinkInBackground(record.osName, record.name);
      else SharedMemory.unlink(record.osName);
    } catch (error) {
      unlinkFailed(error, record.osName, record.name);
    } finally {
      const close = record.closeHostMapping;
      record.closeHostMapping = null;
      close?.();
      const copyMapping = record.copyMapping;
      record.copyMapping = null;
      copyMapping?.close();
    }
    for (const peer of notify) this.#sendRevoked(peer, record.name, handles.get(peer) ?? [], reason);
  }

  #sendRevoked(peer: P, name: string, handles: number[], reason: RevokeReason): void {
    try {
      this.#transport.send(peer, { v: PROTOCOL_VERSION, event: 'revoked', name, handles, reason });
    } catch {
      // see listen(): a transport must not throw for a gone peer
    }
  }
}
