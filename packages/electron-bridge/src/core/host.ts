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
 */
import { randomBytes } from 'node:crypto';
import { FrameRing, SharedMemory } from '@shmkit/shm';
import { codedError, toWireError, type CodedError } from './errors';
import {
  MAX_NAME_LENGTH,
  nameProblem,
  parseRequest,
  PROTOCOL_VERSION,
  requestIdOf,
  type AttachResult,
  type ErrorReply,
  type ListEntry,
  type Reply,
  type Request,
  type RevokeReason,
  type SegmentKind,
} from './protocol';
import { Registry, type Access, type Owner, type SegmentRecord } from './registry';
import type { Transport } from './transport';

export type { Owner } from './registry';

export interface HostOptions {
  /** Largest segment a peer may create, in bytes. Default 1 GiB. */
  maxCreateBytes?: number | undefined;
  /** Segments one peer may own at once. Default 256. */
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
}

export interface FrameRingOptions<P> extends CreateOptions<P> {
  slots: number;
  slotBytes: number;
}

export interface SegmentInfo<P> {
  name: string;
  /** The OS name (host side only; never reaches page script). */
  osName: string;
  size: number;
  kind: SegmentKind;
  owner: Owner<P>;
  shareAll: Access | null;
  grants: { peer: P; readonly: boolean }[];
  attachments: { peer: P; handle: number; readonly: boolean }[];
}

const DEFAULTS = { maxCreateBytes: 2 ** 30, maxSegmentsPerPeer: 256, maxAttachmentsPerPeer: 1024 };

function limitOption(options: HostOptions, key: keyof typeof DEFAULTS): number {
  const value = options[key] ?? DEFAULTS[key];
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

function checkName(name: unknown): string {
  const problem = nameProblem(name);
  if (problem) {
    throw codedError(typeof name === 'string' ? 'ERR_INVALID_ARG_VALUE' : 'ERR_INVALID_ARG_TYPE', `name ${problem}`, TypeError);
  }
  return name as string;
}

export class BridgeHost<P extends object> {
  readonly #transport: Transport<P>;
  readonly #registry = new Registry<P>();
  /** Live peers that spoke to us or were named as owner/grantee: recipients of share-all `revoked`. */
  readonly #seen = new Set<P>();
  readonly #limits: { [K in keyof typeof DEFAULTS]: number };
  readonly #prefix: string;
  #closed = false;

  constructor(transport: Transport<P>, options: HostOptions = {}) {
    if (options === null || typeof options !== 'object') throw codedError('ERR_INVALID_ARG_TYPE', 'options must be an object', TypeError);
    this.#limits = {
      maxCreateBytes: limitOption(options, 'maxCreateBytes'),
      maxSegmentsPerPeer: limitOption(options, 'maxSegmentsPerPeer'),
      maxAttachmentsPerPeer: limitOption(options, 'maxAttachmentsPerPeer'),
    };
    this.#prefix = prefixOption(options);
    this.#transport = transport;
    transport.listen({
      message: (peer, data) => {
        const reply = this.handleRequest(peer, data);
        try {
          transport.send(peer, reply);
        } catch {
          // a transport must not throw for a gone peer; if one does, the reply is lost, the state is consistent
        }
      },
      gone: (peer) => this.peerGone(peer),
      reset: (peer) => this.peerReset(peer),
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Map sizes, for tests that check that nothing grows or leaks. */
  get stats(): { segments: number; peers: number; attachments: number; grants: number; seen: number } {
    return { ...this.#registry.counts, seen: this.#seen.size };
  }

  /** Creates a segment (zero-filled) and returns the host's mapping of it. */
  create(name: string, size: number, options: CreateOptions<P> = {}): SharedMemory {
    this.#open();
    checkName(name);
    if (typeof size !== 'number') throw codedError('ERR_INVALID_ARG_TYPE', 'size must be a number', TypeError);
    if (!Number.isSafeInteger(size) || size < 1) throw codedError('ERR_OUT_OF_RANGE', `size must be a positive safe integer, got ${size}`, RangeError);
    const plan = this.#plan(name, options, false);
    const shm = new SharedMemory({ name: this.#osName(), create: true, size, track: true });
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
    const ring = FrameRing.create({ name: this.#osName(), slots: options.slots, slotBytes: options.slotBytes, track: true });
    this.#register(plan, ring.name, ring.shm.size, 'frame-ring', () => {
      ring.close();
    });
    return ring;
  }

  /** Grants `peer` access to `name` (replacing an earlier grant). Downgrading to read-only revokes its read-write attachments. */
  grant(name: string, peer: P, options: { readonly?: boolean | undefined } = {}): void {
    this.#open();
    const record = this.#find(name);
    this.#acceptPeer(peer, 'peer');
    if (options === null || typeof options !== 'object') throw codedError('ERR_INVALID_ARG_TYPE', 'options must be an object', TypeError);
    const readonly = options.readonly ?? record.kind === 'frame-ring';
    if (typeof readonly !== 'boolean') throw codedError('ERR_INVALID_ARG_TYPE', 'options.readonly must be a boolean', TypeError);
    if (record.owner === peer) return;
    record.grants.set(peer, readonly ? 'ro' : 'rw');
    if (readonly) {
      const handles = this.#registry.dropAttachmentsOf(record, peer, (a) => !a.readonly);
      if (handles.length > 0) this.#sendRevoked(peer, record.name, handles, 'grant-changed');
    }
  }

  /** Ends `peer`'s access to `name`: its attachments are dropped and it gets `revoked`. */
  revoke(name: string, peer: P): void {
    this.#open();
    const record = this.#find(name);
    if (record.owner === peer) {
      throw codedError('ERR_INVALID_ARG_VALUE', 'cannot revoke the owner\'s access: release() the segment instead', TypeError);
    }
    const had = this.#registry.accessOf(record, peer) !== null;
    // a deny entry only for a live peer: a gone one's entry would never be dropped
    if (record.shareAll !== null && this.#transport.accept(peer)) record.grants.set(peer, null);
    else record.grants.delete(peer);
    const handles = this.#registry.dropAttachmentsOf(record, peer);
    if (had || handles.length > 0) this.#sendRevoked(peer, record.name, handles, 'revoked');
  }

  /** Unlinks a segment now, whoever owns it: the host's mapping is closed and every peer with access gets `revoked`. */
  release(name: string): void {
    this.#open();
    this.#destroy(this.#find(name), 'released');
  }

  segments(): SegmentInfo<P>[] {
    return this.#registry.all().map((r) => ({
      name: r.name,
      osName: r.osName,
      size: r.size,
      kind: r.kind,
      owner: r.owner,
      shareAll: r.shareAll,
      grants: [...r.grants].filter(([, a]) => a !== null).map(([peer, a]) => ({ peer, readonly: a === 'ro' })),
      attachments: [...r.attachments.values()].map((a) => ({ peer: a.peer, handle: a.handle, readonly: a.readonly })),
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
    for (const record of this.#registry.owned(peer)) this.#destroy(record, 'owner-gone', peer);
    this.#registry.dropAttachments(peer);
    this.#registry.dropGrants(peer);
    this.#seen.delete(peer);
  }

  /** The peer's mappings died but the peer lives on: drop its attachments only. */
  peerReset(peer: P): void {
    this.#registry.dropAttachments(peer);
  }

  /** Answers one raw request from `peer`. Never throws; a bad request changes nothing. */
  handleRequest(peer: P, raw: unknown): Reply {
    let request: Request;
    try {
      if (this.#closed) throw codedError('ERR_SHM_BRIDGE_CLOSED', 'the host is closed');
      // A message read after its peer went (its exit seen first) must not leave state behind.
      if (!this.#transport.accept(peer)) throw codedError('ERR_SHM_BRIDGE_UNKNOWN_PEER', 'the asking peer is not live');
      request = parseRequest(raw, this.#limits.maxCreateBytes);
    } catch (error) {
      // Reading a hostile object can throw anything (a Proxy's trap): that is a malformed message too.
      const coded = typeof (error as Partial<CodedError>)?.code === 'string' ? error : codedError('ERR_SHM_BRIDGE_PROTOCOL', 'unreadable request');
      let id: number | null = null;
      try {
        id = requestIdOf(raw);
      } catch {
        // unreadable: no id
      }
      return this.#errorReply(id, coded);
    }
    try {
      const result = this.#dispatch(peer, request);
      this.#seen.add(peer);
      return { v: PROTOCOL_VERSION, id: request.id, ok: true, result };
    } catch (error) {
      return this.#errorReply(request.id, error);
    }
  }

  #dispatch(peer: P, request: Request): unknown {
    switch (request.op) {
      case 'hello':
        return { version: PROTOCOL_VERSION, maxNameLength: MAX_NAME_LENGTH, maxCreateBytes: this.#limits.maxCreateBytes };
      case 'attach': {
        const record = this.#registry.get(request.name);
        if (!record) throw codedError('ERR_SHM_BRIDGE_NOT_FOUND', `no segment named ${request.name}`);
        const access = this.#registry.accessOf(record, peer);
        if (access === null) throw codedError('ERR_SHM_BRIDGE_NOT_GRANTED', `segment ${request.name} is not shared with this peer`);
        const readonly = request.readonly ?? access === 'ro';
        if (!readonly && access === 'ro') {
          throw codedError('ERR_SHM_BRIDGE_READONLY', `segment ${request.name} is shared read-only with this peer: attach with readonly: true`);
        }
        this.#checkAttachQuota(peer);
        return this.#attachResult(record, peer, readonly);
      }
      case 'create': {
        if (this.#registry.has(request.name)) throw codedError('ERR_SHM_BRIDGE_EXISTS', `a segment named ${request.name} exists`);
        if (this.#registry.ownedCount(peer) >= this.#limits.maxSegmentsPerPeer) {
          throw codedError('ERR_SHM_BRIDGE_LIMIT', `this peer owns ${this.#limits.maxSegmentsPerPeer} segments, the limit`);
        }
        this.#checkAttachQuota(peer);
        const osName = this.#osName();
        let shm: SharedMemory;
        try {
          shm = new SharedMemory({ name: osName, create: true, size: request.size, track: true });
        } catch (error) {
          // The reply may reach page script: keep the code, never the OS name.
          const code = typeof (error as CodedError)?.code === 'string' ? (error as CodedError).code : 'ERR_SHM_BRIDGE_INTERNAL';
          const reason = String((error as Error)?.message ?? error).split(osName).join(request.name);
          throw codedError(code, `cannot create segment ${request.name}: ${reason}`);
        }
        const size = shm.size;
        shm.close();
        const record = this.#register({ name: request.name, owner: peer, share: [], access: 'rw' }, shm.name, size, 'segment', null);
        return this.#attachResult(record, peer, false);
      }
      case 'detach': {
        const attachment = this.#registry.attachmentOf(peer, request.handle);
        if (!attachment) throw codedError('ERR_SHM_BRIDGE_UNKNOWN_HANDLE', `this peer holds no handle ${request.handle}`);
        this.#registry.detach(attachment);
        return null;
      }
      case 'release': {
        const record = this.#registry.get(request.name);
        if (!record) throw codedError('ERR_SHM_BRIDGE_NOT_FOUND', `no segment named ${request.name}`);
        if (record.owner !== peer) throw codedError('ERR_SHM_BRIDGE_NOT_OWNER', `segment ${request.name} is not owned by this peer`);
        this.#destroy(record, 'released', peer);
        return null;
      }
      case 'list': {
        const entries: ListEntry[] = [];
        for (const r of this.#registry.all()) {
          const access = this.#registry.accessOf(r, peer);
          if (access !== null) entries.push({ name: r.name, size: r.size, kind: r.kind, readonly: access === 'ro', owned: r.owner === peer });
        }
        return entries;
      }
    }
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

  #attachResult(record: SegmentRecord<P>, peer: P, readonly: boolean): AttachResult {
    const a = this.#registry.attach(record, peer, readonly);
    return { handle: a.handle, name: record.name, osName: record.osName, size: record.size, readonly, kind: record.kind };
  }

  #errorReply(id: number | null, error: unknown): ErrorReply {
    return { v: PROTOCOL_VERSION, id, ok: false, error: toWireError(error) };
  }

  #open(): void {
    if (this.#closed) throw codedError('ERR_SHM_BRIDGE_CLOSED', 'the host is closed');
  }

  #find(name: string): SegmentRecord<P> {
    checkName(name);
    const record = this.#registry.get(name);
    if (!record) throw codedError('ERR_SHM_BRIDGE_NOT_FOUND', `no segment named ${name}`);
    return record;
  }

  #acceptPeer(value: unknown, what: string): asserts value is P {
    if (!this.#transport.accept(value)) {
      throw codedError('ERR_SHM_BRIDGE_UNKNOWN_PEER', `${what} is not a live peer of this host's transport`);
    }
    this.#seen.add(value);
  }

  /** Checks everything about a host-side create before anything is made. */
  #plan(name: string, options: CreateOptions<P>, ring: boolean): { name: string; owner: Owner<P>; share: 'all' | readonly P[]; access: Access } {
    if (options === null || typeof options !== 'object') throw codedError('ERR_INVALID_ARG_TYPE', 'options must be an object', TypeError);
    if (this.#registry.has(name)) throw codedError('ERR_SHM_BRIDGE_EXISTS', `a segment named ${name} exists`);
    const owner = options.owner ?? 'host';
    if (owner !== 'host') this.#acceptPeer(owner, 'options.owner');
    const share = options.share ?? [];
    if (share !== 'all') {
      if (!Array.isArray(share)) throw codedError('ERR_INVALID_ARG_TYPE', "options.share must be 'all' or an array of peers", TypeError);
      share.forEach((p, i) => this.#acceptPeer(p, `options.share[${i}]`));
    }
    const readonly = options.readonly ?? ring;
    if (typeof readonly !== 'boolean') throw codedError('ERR_INVALID_ARG_TYPE', 'options.readonly must be a boolean', TypeError);
    return { name, owner, share, access: readonly ? 'ro' : 'rw' };
  }

  #register(
    plan: { name: string; owner: Owner<P>; share: 'all' | readonly P[]; access: Access },
    osName: string,
    size: number,
    kind: SegmentKind,
    closeHostMapping: (() => void) | null,
  ): SegmentRecord<P> {
    const record: SegmentRecord<P> = {
      name: plan.name,
      osName,
      size,
      kind,
      owner: plan.owner,
      shareAll: plan.share === 'all' ? plan.access : null,
      grants: new Map(),
      attachments: new Map(),
      closeHostMapping,
    };
    if (plan.share !== 'all') for (const p of plan.share) if (p !== plan.owner) record.grants.set(p, plan.access);
    this.#registry.add(record);
    return record;
  }

  /** Unlinks a segment, closes the host's mapping, and tells every peer with access (except `skip`). */
  #destroy(record: SegmentRecord<P>, reason: RevokeReason, skip?: P): void {
    const notify = new Set<P>();
    if (record.owner !== 'host') notify.add(record.owner as P);
    for (const [peer, access] of record.grants) if (access !== null) notify.add(peer);
    if (record.shareAll !== null) for (const peer of this.#seen) if (record.grants.get(peer) !== null) notify.add(peer);
    const handles = this.#registry.remove(record);
    for (const peer of handles.keys()) notify.add(peer);
    try {
      SharedMemory.unlink(record.osName);
    } catch (error) {
      // ENOENT: someone unlinked it behind our back (a peer process can, it runs as the same user).
      // Anything else must not stop the lifecycle rules (this runs from transport notifications).
      if ((error as CodedError).code !== 'ENOENT') {
        process.emitWarning(`could not unlink segment ${record.name} (${record.osName}): ${String((error as Error)?.message ?? error)}`, {
          code: 'SHMKIT_BRIDGE_UNLINK_FAILED',
        });
      }
    } finally {
      const close = record.closeHostMapping;
      record.closeHostMapping = null;
      close?.();
    }
    notify.delete(skip as P);
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
