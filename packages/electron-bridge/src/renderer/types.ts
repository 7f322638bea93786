/**
 * What page code sees. `window.shm` is the bridge `exposeShm()` puts there through contextBridge:
 * every method that can fail returns a Promise that rejects with a plain `{ name, code, message }`
 * record (contextBridge would keep only the message of a real Error). `getShm()` from
 * '@shmkit/electron-bridge/renderer' wraps it with real Errors and receives snapshots and shared
 * memory on their MessagePort. No OS name ever appears here.
 */
import type { FrameInfo } from '../core/protocol.js';
import type { DrawOptions, DrawStats, Offer, SharedReceived, TransferReceived } from '../dom/types.js';

export type { DrawOptions, DrawStats, Offer, SharedReceived, TransferReceived };

/** An error as it crosses contextBridge. */
export interface ShmWireError {
  name: string;
  code: string;
  message: string;
}

/** Why a handle was closed for you. */
export type ShmRevokeReason = 'owner-gone' | 'released' | 'revoked' | 'grant-changed' | 'host-closed';

export interface ShmRevokedInfo {
  /** The logical name of the segment. */
  name: string;
  reason: ShmRevokeReason;
}

/** One segment this window may attach (from `list()`). */
export interface ShmSegmentEntry {
  name: string;
  size: number;
  kind: 'segment' | 'frame-ring';
  /** This window may attach it read-only only. */
  readonly: boolean;
  /** This window owns it (created it with `create()`, or the main process made the window its owner). */
  owned: boolean;
}

/** Frame metadata for `onFrame` (no pixels); `dropped`: frames this listener missed since the previous call. */
export type ShmFrameInfo = FrameInfo;

/** `latest()` of a frame stream: the metadata and a copy of the pixels. */
export interface ShmFrameCopy extends Omit<ShmFrameInfo, 'dropped'> {
  data: Uint8Array;
}

/** Counters of a frame stream: the drawing loop's (null before drawTo) and the reader's. */
export interface ShmStreamStats {
  draw: DrawStats | null;
  /** Frames the reader took, skipped and rejected as torn. */
  ring: { received: number; dropped: number; rejected: number };
}

/** `drawTo` options as they cross contextBridge (the clock stays the preload's). */
export type ShmDrawOptions = Pick<DrawOptions, 'mode'>;

/**
 * How a window reaches the bytes: 'zero-copy' (its preload maps the segment: a `sandbox: false`
 * window) or 'copy' (the main process copies them for it: a sandboxed window).
 */
export type ShmPath = 'zero-copy' | 'copy';

/** A segment handle, as `window.shm` returns it. */
export interface ShmBridgeHandle {
  readonly name: string;
  readonly size: number;
  readonly readonly: boolean;
  readonly path: ShmPath;
  /** A copy of `length` bytes at `offset` (for small ranges: each call copies twice, once across contextBridge). */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Copies `bytes` into the segment at `offset`; resolves to the count. ERR_SHM_READONLY on a read-only handle. */
  write(offset: number, bytes: ArrayBufferView): Promise<number>;
  /** One copy of the whole segment, moved (transferred) to the page: claim it with receiveTransfer(window, offer). */
  snapshot(): Promise<Offer>;
  /**
   * The segment itself over a shared WebAssembly.Memory: claim it with receiveShared(window, offer).
   * On the copy path, ERR_SHM_BRIDGE_SHARED_UNAVAILABLE.
   */
  shared(): Promise<Offer>;
  /** Unmaps and tells the host; idempotent. */
  close(): Promise<void>;
}

/** A FrameRing stream, as `window.shm.frames()` returns it. */
export interface ShmBridgeFrameStream {
  readonly name: string;
  /** 'copy': frames are copied by the main process, one per animation frame at most, the newest each time. */
  readonly path: ShmPath;
  /** Draws the newest frame into `canvas` on every animation frame, from the preload (no JavaScript copy). Replaces an earlier drawTo. */
  drawTo(canvas: HTMLCanvasElement, options?: ShmDrawOptions): Promise<void>;
  /** Stops drawing (the stream stays open). */
  stop(): void;
  stats(): ShmStreamStats;
  /** Calls `listener` with the metadata of each new frame; returns the unsubscribe function. */
  onFrame(listener: (info: ShmFrameInfo) => void): () => void;
  /** The newest frame, copied; null before the first. */
  latest(): Promise<ShmFrameCopy | null>;
  /** Stops drawing and listening, unmaps, tells the host; idempotent. */
  close(): Promise<void>;
}

/** `window.shm`. */
export interface ShmBridge {
  readonly version: 1;
  /** The path every handle of this window takes. */
  readonly path: ShmPath;
  attach(name: string, options?: { readonly?: boolean }): Promise<ShmBridgeHandle>;
  /** A segment owned by this window: unlinked when the window closes. */
  create(name: string, size: number): Promise<ShmBridgeHandle>;
  frames(name: string): Promise<ShmBridgeFrameStream>;
  list(): Promise<ShmSegmentEntry[]>;
  /** Unlinks a segment this window owns. */
  release(name: string): Promise<void>;
  /** A grant ended or the owner went away (the handles are closed by then). Returns the unsubscribe function. */
  on(event: 'revoked', listener: (info: ShmRevokedInfo) => void): () => void;
}
