/**
 * The copy path's handles (a sandboxed window: its preload cannot load the addon, so it maps nothing).
 * Every byte comes through the main process, on the path with the fewest copies Electron offers: the
 * host copies from the segment into a buffer that owns its whole backing store, Electron's IPC moves
 * it to this preload (`ipcRenderer.invoke`'s reply), and from here it is transferred to the page
 * (snapshot) or uploaded into the page's canvas (drawTo), never cloned again in JavaScript. `read()`
 * and `latest()` cross contextBridge, which copies once more: keep them for small things.
 *
 * Frames are pulled, not pushed: while a stream draws or has listeners, it asks for the newest frame
 * once per animation frame, with one request in flight at most, so frames arrive at the rate the window
 * draws and those it cannot take are skipped and counted (`dropped`), as a zero-copy reader counts them.
 */
import { codedError } from '../core/errors';
import { frameInfo, type AttachResult, type FrameResult } from '../core/protocol';
import type { DrawController, FrameSource, PixelFormat } from '../dom/types';
import type { ShmBridgeFrameStream, ShmBridgeHandle, ShmDrawOptions, ShmFrameCopy, ShmFrameInfo, ShmStreamStats } from '../renderer/types';
import type { BaseContext } from './api';
import type { DomFunctions } from './dom';
import { checkRange, needWindow, track } from './common';

/** What the copy handles need: the base context and the DOM functions (no addon). */
export interface CopyContext extends BaseContext {
  dom: DomFunctions;
}

const DRAWABLE: ReadonlySet<string> = new Set<PixelFormat>(['rgba8', 'bgra8', 'rgb8', 'gray8']);

function closedError(name: string): Error {
  return codedError('ERR_SHM_CLOSED', `the handle of ${name} is closed`);
}

/** `bytes` as a Uint8Array that owns its whole buffer: IPC would send all of a view's buffer otherwise. */
function exactly(bytes: ArrayBufferView): Uint8Array {
  const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return view.byteOffset === 0 && view.byteLength === view.buffer.byteLength ? view : view.slice();
}

/** The buffer of `bytes` when it is exactly theirs (a transfer moves it), else a copy. */
function ownBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer
    ? bytes.buffer
    : (bytes.slice().buffer as ArrayBuffer);
}

/** A segment handle on the copy path. */
export function copySegmentHandle(ctx: CopyContext, result: AttachResult): ShmBridgeHandle {
  const { client } = ctx;
  const { name, size, readonly, handle } = result;
  let closed = false;
  track(ctx, result, () => {
    closed = true;
  });
  const open = () => {
    if (closed) throw closedError(name);
  };
  const meta = { name, size, readonly };
  return {
    name,
    size,
    readonly,
    path: 'copy',
    read: (offset, length) =>
      ctx.guard(() => {
        open();
        checkRange(size, offset, length);
        return client.read(handle, offset, length);
      }),
    write: (offset, bytes) =>
      ctx.guard(() => {
        open();
        if (!ArrayBuffer.isView(bytes)) throw codedError('ERR_INVALID_ARG_TYPE', 'bytes must be a TypedArray or DataView', TypeError);
        if (readonly) throw codedError('ERR_SHM_READONLY', `the handle of ${name} is read-only`);
        checkRange(size, offset, bytes.byteLength);
        return client.write(handle, offset, exactly(bytes));
      }),
    snapshot: () =>
      ctx.guard(async () => {
        const win = needWindow(ctx);
        open();
        const bytes = await client.read(handle, 0, size);
        return ctx.dom.offerTransfer(win, ownBuffer(bytes), meta);
      }),
    shared: () =>
      ctx.guard(() => {
        throw codedError(
          'ERR_SHM_BRIDGE_SHARED_UNAVAILABLE',
          `shared() needs the preload to map ${name}, which a sandboxed preload cannot: this window is on the copy path ` +
            '(read, write, snapshot and frames are copied by the main process). For the segment itself, create the window ' +
            'with webPreferences { sandbox: false } and the zero-copy preload (@shmkit/electron-bridge/preload)',
        );
      }),
    close: () => ctx.guard(() => (closed ? undefined : client.detach(handle))),
  };
}


/** The next turn of the window's drawing (an animation frame), or a timer where there is no window. */
function nextFrame(win: Window | undefined, fn: () => void): void {
  if (win && typeof win.requestAnimationFrame === 'function') win.requestAnimationFrame(() => fn());
  else setTimeout(fn, 16);
}

/** A frame stream on the copy path. */
export function copyFrameStream(ctx: CopyContext, result: AttachResult): ShmBridgeFrameStream {
  const { client } = ctx;
  const { handle, name } = result;
  if (result.kind !== 'frame-ring') {
    client.detach(handle).catch(() => undefined);
    throw codedError('ERR_SHM_RING_FORMAT', `${name} is a plain segment, not a frame ring: use attach()`);
  }
  let closed = false;
  let drawing: DrawController | null = null;
  const listeners = new Set<(info: ShmFrameInfo) => void>();
  /** The newest frame received, and the counters of what came. */
  let newest: FrameResult | null = null;
  const counts = { received: 0, dropped: 0, rejected: 0 };
  let inFlight = false;
  let pulling = false;

  const wanted = () => !closed && (drawing !== null || listeners.size > 0);
  const pull = () => {
    if (inFlight || !wanted()) return;
    inFlight = true;
    client.frame(handle, newest?.frameNumber ?? -1).then(
      (frame) => {
        inFlight = false;
        if (frame === null || closed) return;
        counts.received++;
        counts.dropped += frame.dropped;
        newest = frame;
        const info = frameInfo(frame, frame.dropped);
        for (const listener of [...listeners]) {
          try {
            listener(info);
          } catch {
            // a page listener's failure is the page's
          }
        }
      },
      () => {
        inFlight = false; // the stream was revoked or the host went: `revoked` tells the page
      },
    );
  };
  const tick = () => {
    if (!wanted()) {
      pulling = false;
      return;
    }
    pull();
    nextFrame(ctx.window, tick);
  };
  const start = () => {
    if (pulling || !wanted()) return;
    pulling = true;
    tick();
  };
  const source: FrameSource = {
    latest: () => {
      const frame = newest;
      if (closed || frame === null || typeof frame.pixelFormat !== 'string' || !DRAWABLE.has(frame.pixelFormat)) return null;
      return {
        seq: frame.frameNumber,
        width: frame.width,
        height: frame.height,
        stride: frame.stride,
        format: frame.pixelFormat as PixelFormat,
        data: frame.bytes,
        publishedAt: frame.timestamp,
        stillValid: () => true, // a private copy: nobody overwrites it
      };
    },
  };
  const stopDrawing = () => {
    drawing?.stop();
    drawing = null;
  };
  track(ctx, result, () => {
    closed = true;
    stopDrawing();
    listeners.clear();
    newest = null;
  });
  const now = () => performance.timeOrigin + performance.now(); // the clock FrameRing stamps frames with
  return {
    name,
    path: 'copy',
    drawTo: (canvas, options: ShmDrawOptions = {}) =>
      ctx.guard(() => {
        if (closed) throw closedError(name);
        const mode = options?.mode;
        stopDrawing();
        drawing = ctx.dom.drawTo(canvas, source, mode === undefined ? { now } : { mode, now });
        start();
      }),
    stop: stopDrawing,
    stats: (): ShmStreamStats => ({ draw: drawing === null ? null : { ...drawing.stats }, ring: { ...counts } }),
    onFrame: (listener) => {
      if (typeof listener !== 'function' || closed) return () => undefined;
      listeners.add(listener);
      start();
      return () => {
        listeners.delete(listener);
      };
    },
    latest: () =>
      ctx.guard(async (): Promise<ShmFrameCopy | null> => {
        if (closed) throw closedError(name);
        const frame = await client.frame(handle, -1);
        if (frame === null) return null;
        const { dropped: _dropped, ...info } = frameInfo(frame, 0);
        return { ...info, data: frame.bytes };
      }),
    close: () => ctx.guard(() => (closed ? undefined : client.detach(handle))),
  };
}
