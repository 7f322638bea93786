/**
 * The host's bookkeeping, with no I/O: segments by logical name, who owns each, who is granted what,
 * and which attachments (handles) each peer holds. The host (host.ts) does the mapping, unlinking and
 * messaging around it.
 *
 * Invariants: every attachment is indexed both in its segment and in its peer's state; a peer state
 * exists only while the peer holds an attachment or owns a segment (so probing with bad requests
 * never grows anything); handles are unique for the host's life and never reused.
 */
import type { SegmentKind } from './protocol';

/** `'host'` for segments owned by the host process / the app. */
export type Owner<P> = P | 'host';
export type Access = 'ro' | 'rw';

export interface Attachment<P> {
  handle: number;
  peer: P;
  readonly: boolean;
  segment: SegmentRecord<P>;
}

export interface SegmentRecord<P> {
  readonly name: string;
  readonly osName: string;
  readonly size: number;
  readonly kind: SegmentKind;
  readonly owner: Owner<P>;
  /** Access of every peer without an explicit entry in `grants`; null when not shared with all. */
  shareAll: Access | null;
  /** Explicit grants; `null` means denied (a revoke on a shared-with-all segment). */
  readonly grants: Map<P, Access | null>;
  readonly attachments: Map<number, Attachment<P>>;
  /** Closes the host's own mapping (idempotent); null once closed. */
  closeHostMapping: (() => void) | null;
}

interface PeerState<P> {
  readonly attachments: Map<number, Attachment<P>>;
  readonly owned: Set<SegmentRecord<P>>;
}

export class Registry<P> {
  readonly #segments = new Map<string, SegmentRecord<P>>();
  readonly #peers = new Map<P, PeerState<P>>();
  #nextHandle = 1;

  get(name: string): SegmentRecord<P> | undefined {
    return this.#segments.get(name);
  }

  has(name: string): boolean {
    return this.#segments.has(name);
  }

  all(): SegmentRecord<P>[] {
    return [...this.#segments.values()];
  }

  /** Sizes of every map, for tests that check nothing grows. */
  get counts(): { segments: number; peers: number; attachments: number; grants: number } {
    let attachments = 0;
    let grants = 0;
    for (const s of this.#segments.values()) {
      attachments += s.attachments.size;
      grants += s.grants.size;
    }
    return { segments: this.#segments.size, peers: this.#peers.size, attachments, grants };
  }

  add(record: SegmentRecord<P>): void {
    this.#segments.set(record.name, record);
    if (record.owner !== 'host') this.#peer(record.owner as P).owned.add(record);
  }

  /** Removes a segment with its grants and attachments; returns the attachments per peer (for `revoked`). */
  remove(record: SegmentRecord<P>): Map<P, number[]> {
    this.#segments.delete(record.name);
    const handles = new Map<P, number[]>();
    for (const a of record.attachments.values()) {
      const list = handles.get(a.peer) ?? [];
      list.push(a.handle);
      handles.set(a.peer, list);
      this.#unindex(a);
    }
    record.attachments.clear();
    if (record.owner !== 'host') {
      const state = this.#peers.get(record.owner as P);
      state?.owned.delete(record);
      this.#prune(record.owner as P);
    }
    return handles;
  }

  /** What `peer` may do with `record`: its own segment is read-write; else its grant or share-all. */
  accessOf(record: SegmentRecord<P>, peer: P): Access | null {
    if (record.owner === peer) return 'rw';
    if (record.grants.has(peer)) return record.grants.get(peer) ?? null;
    return record.shareAll;
  }

  attach(record: SegmentRecord<P>, peer: P, readonly: boolean): Attachment<P> {
    const attachment: Attachment<P> = { handle: this.#nextHandle++, peer, readonly, segment: record };
    record.attachments.set(attachment.handle, attachment);
    this.#peer(peer).attachments.set(attachment.handle, attachment);
    return attachment;
  }

  attachmentOf(peer: P, handle: number): Attachment<P> | undefined {
    return this.#peers.get(peer)?.attachments.get(handle);
  }

  detach(attachment: Attachment<P>): void {
    attachment.segment.attachments.delete(attachment.handle);
    this.#unindex(attachment);
  }

  attachmentCount(peer: P): number {
    return this.#peers.get(peer)?.attachments.size ?? 0;
  }

  ownedCount(peer: P): number {
    return this.#peers.get(peer)?.owned.size ?? 0;
  }

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
    for (const a of [...record.attachments.values()]) {
      if (a.peer === peer && (!only || only(a))) {
        this.detach(a);
        handles.push(a.handle);
      }
    }
    return handles;
  }

  /** Forgets `peer` in every grant (gone). */
  dropGrants(peer: P): void {
    for (const s of this.#segments.values()) s.grants.delete(peer);
  }

  #peer(peer: P): PeerState<P> {
    let state = this.#peers.get(peer);
    if (!state) {
      state = { attachments: new Map(), owned: new Set() };
      this.#peers.set(peer, state);
    }
    return state;
  }

  #unindex(a: Attachment<P>): void {
    this.#peers.get(a.peer)?.attachments.delete(a.handle);
    this.#prune(a.peer);
  }

  #prune(peer: P): void {
    const state = this.#peers.get(peer);
    if (state && state.attachments.size === 0 && state.owned.size === 0) this.#peers.delete(peer);
  }
}
