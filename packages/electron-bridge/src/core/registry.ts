/**
 * The host's bookkeeping, with no I/O: segments by namespace and logical name, who owns each, who is
 * granted what, which attachments (handles) each peer holds, and the bytes peers have created. The
 * host (host.ts) does the mapping, unlinking and messaging around it.
 *
 * Namespaces (docs/decisions/0011-bridge-hostile-peers.md): the app's names (segments the host
 * creates) are one namespace; every peer's own creations are a namespace of that peer. A peer sees a
 * name in this order: its own namespace, then the app's segments it may access, then other peers'
 * segments the host granted it (`resolve`). Whatever it may not see does not exist for it.
 *
 * Invariants: every attachment is indexed both in its segment and in its peer's state; a grant of a
 * segment of a peer's namespace is indexed in the grantee's state (`foreign`) by name, at most one per
 * name; a peer state exists only while the peer holds an attachment, owns a segment or holds such a
 * grant (so probing with bad requests never grows anything); `peerBytes` is the sum of `bytes` over
 * every peer namespace. Handles are numbered per peer (1, 2, …) and never reused for that peer: a
 * peer learns nothing about others' activity from them, and a late `revoked` naming an old handle can
 * never close a newer mapping.
 */
import type { SegmentKind } from './protocol';

/** `'host'` for segments owned by the host process / the app. */
export type Owner<P> = P | 'host';
export type Access = 'ro' | 'rw';

export interface Attachment<P> {
  handle: number;
  peer: P;
  readonly: boolean;
  /** A copy attachment: the peer reads, writes and takes frames through the host instead of mapping. */
  copy: boolean;
  segment: SegmentRecord<P>;
}

export interface SegmentRecord<P> {
  readonly name: string;
  /** Whose namespace the name is in: 'host' (the app's) or the peer that created the segment. */
  readonly space: Owner<P>;
  readonly osName: string;
  readonly size: number;
  /** The bytes it takes in the filesystem (size rounded up to whole pages), counted against budgets. */
  readonly bytes: number;
  readonly kind: SegmentKind;
  /** Who the segment's life follows. A segment of a peer's namespace is always owned by that peer. */
  readonly owner: Owner<P>;
  /** Access of every peer without an explicit entry in `grants`; null when not shared with all. */
  shareAll: Access | null;
  /** Explicit grants; `null` means denied (a revoke on a shared-with-all segment). Change through Registry.setGrant. */
  readonly grants: Map<P, Access | null>;
  readonly attachments: Set<Attachment<P>>;
  /** Closes the host's own mapping (idempotent); null once closed. */
  closeHostMapping: (() => void) | null;
  /** The host's mapping for copy attachments, opened on first use; closed with the segment. */
  copyMapping: CopyMapping | null;
}

/** What the host reads and writes copy attachments through (@shmkit/shm objects, typed loosely here). */
export interface CopyMapping {
  close(): void;
}

interface PeerState<P> {
  readonly attachments: Map<number, Attachment<P>>;
  /** Segments whose life follows this peer (its namespace, and app segments created with it as owner). */
  readonly owned: Set<SegmentRecord<P>>;
  /** This peer's namespace: what it created, by name. */
  readonly own: Map<string, SegmentRecord<P>>;
  /** Segments of other peers' namespaces granted to this peer, by name. */
  readonly foreign: Map<string, SegmentRecord<P>>;
  /** Sum of `bytes` of `own`. */
  bytes: number;
}

export class Registry<P extends object> {
  /** The app's namespace. */
  readonly #app = new Map<string, SegmentRecord<P>>();
  readonly #peers = new Map<P, PeerState<P>>();
  /** The last handle number given to each peer (kept while the peer object lives, so never reused). */
  readonly #lastHandle = new WeakMap<P, number>();
  #peerBytes = 0;

  /** A segment of the app's namespace (space 'host') or of a peer's namespace. */
  get(name: string, space: Owner<P> = 'host'): SegmentRecord<P> | undefined {
    return space === 'host' ? this.#app.get(name) : this.#peers.get(space)?.own.get(name);
  }

  /** What `name` means for `peer`: its own segment, else an app segment it may access, else another peer's segment granted to it. */
  resolve(peer: P, name: string): SegmentRecord<P> | undefined {
    const state = this.#peers.get(peer);
    const own = state?.own.get(name);
    if (own) return own;
    const app = this.#app.get(name);
    if (app && this.accessOf(app, peer) !== null) return app;
    const foreign = state?.foreign.get(name);
    return foreign && this.accessOf(foreign, peer) !== null ? foreign : undefined;
  }

  /** A segment other than `record` that `peer` sees (or would, once granted `record`) by `name`: a grant of `record` would be shadowed or shadow it. */
  otherNamed(peer: P, name: string, record: SegmentRecord<P>): SegmentRecord<P> | undefined {
    const state = this.#peers.get(peer);
    const own = state?.own.get(name);
    if (own && own !== record) return own;
    const app = this.#app.get(name);
    if (app && app !== record && this.accessOf(app, peer) !== null) return app;
    const foreign = state?.foreign.get(name);
    if (foreign && foreign !== record && this.accessOf(foreign, peer) !== null) return foreign;
    return undefined;
  }

  /** Every segment `peer` can name, each name once (the one `resolve` gives). */
  visibleTo(peer: P): SegmentRecord<P>[] {
    const out = new Map<string, SegmentRecord<P>>();
    const state = this.#peers.get(peer);
    for (const [name, r] of state?.own ?? []) out.set(name, r);
    for (const [name, r] of this.#app) if (!out.has(name) && this.accessOf(r, peer) !== null) out.set(name, r);
    for (const [name, r] of state?.foreign ?? []) if (!out.has(name) && this.accessOf(r, peer) !== null) out.set(name, r);
    return [...out.values()];
  }

  all(): SegmentRecord<P>[] {
    const out = [...this.#app.values()];
    for (const state of this.#peers.values()) out.push(...state.own.values());
    return out;
  }

  /** Sizes of every map, for tests that check nothing grows. */
  get counts(): { segments: number; peers: number; attachments: number; grants: number } {
    let attachments = 0;
    let grants = 0;
    let segments = 0;
    for (const s of this.all()) {
      segments++;
      attachments += s.attachments.size;
      grants += s.grants.size;
    }
    return { segments, peers: this.#peers.size, attachments, grants };
  }

  /** Bytes of every peer namespace together. */
  get peerBytes(): number {
    return this.#peerBytes;
  }

  /** Bytes of `peer`'s namespace. */
  bytesOf(peer: P): number {
    return this.#peers.get(peer)?.bytes ?? 0;
  }

  /** Segments in `peer`'s namespace. */
  createdCount(peer: P): number {
    return this.#peers.get(peer)?.own.size ?? 0;
  }

  add(record: SegmentRecord<P>): void {
    if (record.space === 'host') {
      this.#app.set(record.name, record);
    } else {
      const state = this.#peer(record.space as P);
      state.own.set(record.name, record);
      state.bytes += record.bytes;
      this.#peerBytes += record.bytes;
    }
    if (record.owner !== 'host') this.#peer(record.owner as P).owned.add(record);
  }

  /** Removes a segment with its grants and attachments; returns the attachments per peer (for `revoked`). */
  remove(record: SegmentRecord<P>): Map<P, number[]> {
    if (record.space === 'host') {
      this.#app.delete(record.name);
    } else {
      const state = this.#peers.get(record.space as P);
      if (state?.own.get(record.name) === record) {
        state.own.delete(record.name);
        state.bytes -= record.bytes;
        this.#peerBytes -= record.bytes;
      }
    }
    const handles = new Map<P, number[]>();
    for (const a of record.attachments) {
      const list = handles.get(a.peer) ?? [];
      list.push(a.handle);
      handles.set(a.peer, list);
      this.#unindex(a);
    }
    record.attachments.clear();
    for (const peer of [...record.grants.keys()]) this.setGrant(record, peer, undefined);
    if (record.owner !== 'host') {
      this.#peers.get(record.owner as P)?.owned.delete(record);
      this.#prune(record.owner as P);
    }
    if (record.space !== 'host') this.#prune(record.space as P);
    return handles;
  }

  /**
   * Sets `peer`'s explicit grant of `record`: an access, null (denied), or undefined (no entry). Keeps
   * the grantee's index of other peers' segments by name.
   */
  setGrant(record: SegmentRecord<P>, peer: P, access: Access | null | undefined): void {
    const foreign = record.space !== 'host' && record.space !== peer;
    if (access === undefined) {
      record.grants.delete(peer);
      if (foreign) {
        const state = this.#peers.get(peer);
        if (state?.foreign.get(record.name) === record) state.foreign.delete(record.name);
        this.#prune(peer);
      }
      return;
    }
    record.grants.set(peer, access);
    if (foreign) this.#peer(peer).foreign.set(record.name, record);
  }

  /** What `peer` may do with `record`: its own segment is read-write; else its grant or share-all. */
  accessOf(record: SegmentRecord<P>, peer: P): Access | null {
    if (record.owner === peer) return 'rw';
    if (record.grants.has(peer)) return record.grants.get(peer) ?? null;
    return record.shareAll;
  }

  attach(record: SegmentRecord<P>, peer: P, readonly: boolean, copy = false): Attachment<P> {
    const handle = (this.#lastHandle.get(peer) ?? 0) + 1;
    this.#lastHandle.set(peer, handle);
    const attachment: Attachment<P> = { handle, peer, readonly, copy, segment: record };
    record.attachments.add(attachment);
    this.#peer(peer).attachments.set(attachment.handle, attachment);
    return attachment;
  }

  attachmentOf(peer: P, handle: number): Attachment<P> | undefined {
    return this.#peers.get(peer)?.attachments.get(handle);
  }

  detach(attachment: Attachment<P>): void {
    attachment.segment.attachments.delete(attachment);
    this.#unindex(attachment);
  }

  attachmentCount(peer: P): number {
    return this.#peers.get(peer)?.attachments.size ?? 0;
  }

  /** Segments whose life follows `peer`. */
  owned(peer: P): SegmentRecord<P>[] {
    return [...(this.#peers.get(peer)?.owned ?? [])];
  }

  /** Drops every attachment of `peer` (reset, gone); returns them. */
  dropAttachments(peer: P): Attachment<P>[] {
    const state = this.#peers.get(peer);
    if (!state) return [];
    const dropped = [...state.attachments.values()];
    for (const a of dropped) this.detach(a);
    return dropped;
  }

  /** Drops `peer`'s attachments of one segment; returns their handles. */
  dropAttachmentsOf(record: SegmentRecord<P>, peer: P, only?: (a: Attachment<P>) => boolean): number[] {
    const handles: number[] = [];
    for (const a of [...record.attachments]) {
      if (a.peer === peer && (!only || only(a))) {
        this.detach(a);
        handles.push(a.handle);
      }
    }
    return handles;
  }

  /** Forgets `peer` in every grant (gone). */
  dropGrants(peer: P): void {
    for (const s of this.all()) if (s.grants.has(peer)) this.setGrant(s, peer, undefined);
  }

  #peer(peer: P): PeerState<P> {
    let state = this.#peers.get(peer);
    if (!state) {
      state = { attachments: new Map(), owned: new Set(), own: new Map(), foreign: new Map(), bytes: 0 };
      this.#peers.set(peer, state);
    }
    return state;
  }

  #unindex(a: Attachment<P>): void {
    this.#peers.get(a.peer)?.attachments.delete(a.handle);
    this.#prune(a.peer);
  }

  #prune(peer: P): void {
    const s = this.#peers.get(peer);
    if (s && s.attachments.size === 0 && s.owned.size === 0 && s.own.size === 0 && s.foreign.size === 0) this.#peers.delete(peer);
  }
}
