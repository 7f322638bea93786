/**
 * Types of the DOM-side code of the bridge: plain web code (no Node, no Electron) that runs in the
 * preload's isolated world and touches only the DOM — drawing frames into a page's `<canvas>` and
 * handing memory to page code over a `MessagePort`. The same code runs in a browser test as it is.
 */

/** Pixel layouts `drawTo` understands. `bgra8` is swizzled in the shader (WebGL2) or while copying (2D). */
export type PixelFormat = 'rgba8' | 'bgra8' | 'rgb8' | 'gray8';

/** One readable frame, zero-copy over its slot. */
export interface FrameView {
  /** Sequence number of the publish; increases by one per published frame. */
  seq: number;
  width: number;
  height: number;
  /** Bytes from the start of one row to the next (>= width * bytes per pixel). */
  stride: number;
  format: PixelFormat;
  /** View over the slot payload (no copy); row r starts at data[r * stride]. */
  data: Uint8Array;
  /** When the frame was published, in ms on the clock of `DrawOptions.now`. */
  publishedAt?: number;
  /** Seqlock re-check, called after the upload: false means the writer overwrote the slot meanwhile (torn). */
  stillValid(): boolean;
}

/** What `drawTo` pulls from: `latest()` is called once per animation frame. */
export interface FrameSource {
  latest(): FrameView | null;
}

export interface DrawOptions {
  /** 'auto' (default): WebGL2, else the 2D canvas. '2d' forces the 2D path (one copy per frame). */
  mode?: 'auto' | 'webgl2' | '2d';
  /** Clock of `FrameView.publishedAt`; default `performance.timeOrigin + performance.now()` (epoch ms). */
  now?: () => number;
}

/** Live counters of a `drawTo` loop. */
export interface DrawStats {
  mode: 'webgl2' | '2d';
  /** Frames drawn per second over the last ~second. */
  fps: number;
  /** Frames uploaded and drawn. */
  drawn: number;
  /** Frames never seen: gaps in `seq` between two frames this loop took. */
  dropped: number;
  /** Frames uploaded but overwritten during the upload (`stillValid()` false): not drawn. */
  torn: number;
  /** Frames skipped because their fields were unusable (bad format, sizes, data too short); see `lastError`. */
  invalid: number;
  /** `now() - publishedAt` right after the upload of the last drawn frame; null until a frame with `publishedAt`. */
  latencyMs: number | null;
  /** True while the canvas's context is lost (drawing resumes, with the current frame, when the browser restores it). */
  contextLost: boolean;
  /** The last problem the loop met (an invalid frame, a source that threw), as a wire-shaped record. */
  lastError: { code: string; message: string } | null;
}

export interface DrawController {
  /** Stops the loop and releases the GL resources it made (idempotent; the canvas and its context stay the page's). */
  stop(): void;
  /** A snapshot of the counters at the time of reading. */
  readonly stats: DrawStats;
}

/** What the preload returns to the page for one handoff: plain data, so it crosses contextBridge. */
export interface Offer {
  token: string;
}

export interface OfferOptions {
  /** How long the offer waits for the page to claim it before it is dropped (default 10000 ms). */
  timeoutMs?: number;
}

export interface ReceiveOptions {
  /** How long to wait for the preload's answer (default 5000 ms); then ERR_SHM_HANDOFF_TIMEOUT. */
  timeoutMs?: number;
}

export interface SharedReceived {
  /** A view over exactly the offered range of the shared memory (the segment itself: no copy). */
  bytes: Uint8Array;
  /** The WebAssembly.Memory when one was offered (null when a bare SharedArrayBuffer was). */
  memory: WebAssembly.Memory | null;
  /** The SharedArrayBuffer behind `bytes`. */
  buffer: SharedArrayBuffer;
  meta: Record<string, unknown>;
}

export interface TransferReceived {
  /** The buffer the preload moved (it is detached there). */
  buffer: ArrayBuffer;
  meta: Record<string, unknown>;
}
