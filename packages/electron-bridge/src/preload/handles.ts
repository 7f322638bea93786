/**
 * What the preload hands to the page for one attachment: a segment handle or a frame stream, built
 * on the preload's own mapping (@shmkit/shm). Everything crossing to the page is plain data or a
 * function; pixels are drawn from here, shared memory and snapshots leave over a MessagePort.
 */
import type * as Shm from '@shmkit/shm';
import type { FrameRing, SharedMemory } from '@shmkit/shm';
import { codedError, type CodedError } from '../core/errors';
import { frameInfo, type AttachResult } from '../core/protocol';
import type { DrawController, FrameSource, FrameView, PixelFormat } from '../dom/types';
import type {
  ShmBridgeFrameStream,
  ShmBridgeHandle,
  ShmDrawOptions,
  ShmFrameCopy,
  ShmFrameInfo,
  ShmStreamStats,
} from '../renderer/types';
import type { BaseContext } from './api';
import { checkRange, needWindow, track } from './common';
import type { DomFunctions } from './dom';

/** What the zero-copy handles need from exposeShm(): the base, the addon, the DOM functions. */
export interface HandleContext extends BaseContext {
  shm: typeof Shm;
  dom: DomFunctions;
}

/** Maps an attach result and returns the page's handle; the mapping is closed on close(), revoked or detach. */
export function segmentHandle(ctx: HandleContext, result: AttachResult): ShmBridgeHandle {
  const { shm: lib, client } = ctx;
  let mapping: SharedMemory;
  try {
    mapping = new lib.SharedMemory({ name: result.osName, readonly: result.readonly });
  } catch (error) {
    client.detach(result.handle).catch(() => undefined);
    throw error;
  }
  let shared: SharedMapping | null = null;
  const closeAll = () => {
    mapping.close();
    shared?.shm.close();
  };
  track(ctx, result, closeAll);
  const { name, size, readonly } = result;
  const meta = { name, size, readonly };
  return {
    name,
    size,
    readonly,
    path: 'zero-copy',
    read: (offset, length) =>
      ctx.guard(() => {
        checkRange(size, offset, length);
        const target = new Uint8Array(length);
        mapping.read(target, offset);
        return target;
      }),
    write: (offset, bytes) =>
      ctx.guard(() => {
        if (!ArrayBuffer.isView(bytes)) {
          throw codedError('ERR_INVALID_ARG_TYPE', 'bytes must be a TypedArray or DataView', TypeError);
        }
        checkRange(size, offset, bytes.byteLength);
        return mapping.write(bytes, offset);
      }),
    snapshot: () =>
      ctx.guard(() => {
        const win = needWindow(ctx);
        const buffer = new ArrayBuffer(size);
        mapping.read(new Uint8Array(buffer), 0);
        return ctx.dom.offerTransfer(win, buffer, meta);
      }),
    shared: () =>
      ctx.guard(() => {
        const win = needWindow(ctx);
        if (shared === null || shared.shm.closed) {
          if (mapping.closed) throw codedError('ERR_SHM_CLOSED', `the handle of ${name} is closed`);
          shared = mapShared(lib, result);
        }
        const { shm: view, memory } = shared;
        return ctx.dom.offerShared(win, memory, { byteOffset: view.buf.byteOffset, byteLength: size }, meta);
      }),
    close: () => ctx.guard(() => (mapping.closed ? undefined : client.detach(result.handle))),
  };
}

/** The segment over a shared WebAssembly.Memory (its buffer a SharedArrayBuffer the page can receive). */
interface SharedMapping {
  shm: SharedMemory;
  memory: WebAssembly.Memory;
}

function mapShared(lib: typeof Shm, result: AttachResult): SharedMapping {
  let shm: SharedMemory;
  try {
    // 'shared' is @shmkit/shm's strategy for this; versions without it refuse the value.
    shm = new lib.SharedMemory({ name: result.osName, readonly: result.readonly, strategy: 'shared' as never });
  } catch (error) {
    if ((error as CodedError).code === 'ERR_INVALID_ARG_VALUE') {
      throw codedError(
        'ERR_SHM_BRIDGE_SHARED_UNAVAILABLE',
        "shared() needs @shmkit/shm with strategy 'shared' (mapping over a shared WebAssembly.Memory); the installed version has none: update @shmkit/shm",
      );
    }
    throw error;
  }
  const memory = (shm as { memory?: unknown }).memory;
  if (!(memory instanceof WebAssembly.Memory)) {
    shm.close();
    throw codedError('ERR_SHM_BRIDGE_SHARED_UNAVAILABLE', 'the shared mapping has no WebAssembly.Memory');
  }
  return { shm, memory };
}

const DRAWABLE: ReadonlySet<string> = new Set<PixelFormat>(['rgba8', 'bgra8', 'rgb8', 'gray8']);

/** drawTo's source over a ring reader: a zero-copy view of the newest slot, checked by its seqlock after use. */
export function frameSource(ring: FrameRing): FrameSource {
  return {
    latest(): FrameView | null {
      if (ring.shm.closed) return null;
      const frame = ring.latest();
      if (frame === null || typeof frame.pixelFormat !== 'string' || !DRAWABLE.has(frame.pixelFormat)) return null;
      return {
        seq: frame.frameNumber,
        width: frame.width,
        height: frame.height,
        stride: frame.stride,
        format: frame.pixelFormat as PixelFormat,
        data: frame.data,
        publishedAt: frame.timestamp,
        stillValid: () => frame.valid(),
      };
    },
  };
}


/** Maps a frame ring's reader and returns the page's stream. */
export function frameStream(ctx: HandleContext, result: AttachResult): ShmBridgeFrameStream {
  const { shm: lib, client } = ctx;
  let ring: FrameRing;
  try {
    if (result.kind !== 'frame-ring') {
      throw codedError('ERR_SHM_RING_FORMAT', `${result.name} is a plain segment, not a frame ring: use attach()`);
    }
    ring = lib.FrameRing.attach(result.osName, { readonly: true });
  } catch (error) {
    client.detach(result.handle).catch(() => undefined);
    throw error;
  }
  let drawing: DrawController | null = null;
  /** The onFrame reader: a reader of its own, so drawing and listening do not steal frames from each other. */
  let listening: { ring: FrameRing; abort: AbortController; listeners: Set<(info: ShmFrameInfo) => void> } | null = null;
  const stopListening = () => {
    if (listening === null) return;
    listening.abort.abort();
    listening.ring.close();
    listening = null;
  };
  const stopDrawing = () => {
    drawing?.stop();
    drawing = null;
  };
  track(ctx, result, () => {
    stopDrawing();
    stopListening();
    ring.close();
  });
  const now = () => performance.timeOrigin + performance.now(); // the clock FrameRing stamps frames with
  return {
    name: result.name,
    path: 'zero-copy',
    drawTo: (canvas, options: ShmDrawOptions = {}) =>
      ctx.guard(() => {
        if (ring.shm.closed) throw codedError('ERR_SHM_CLOSED', `the stream of ${result.name} is closed`);
        const mode = options?.mode;
        stopDrawing();
        drawing = ctx.dom.drawTo(canvas, frameSource(ring), mode === undefined ? { now } : { mode, now });
      }),
    stop: stopDrawing,
    stats: (): ShmStreamStats => ({ draw: drawing === null ? null : { ...drawing.stats }, ring: ring.stats }),
    onFrame: (listener) => {
      if (typeof listener !== 'function') return () => undefined;
      if (listening === null && !ring.shm.closed) {
        let reader: FrameRing;
        try {
          reader = lib.FrameRing.attach(result.osName, { readonly: true });
        } catch {
          // The ring is gone (released or its owner gone; `revoked` is on its way): as on a closed
          // stream, nothing will come. This is synchronous and crosses contextBridge as a bare message,
          // so it must not throw, least of all with the OS name in the message.
          return () => undefined;
        }
        const own = { ring: reader, abort: new AbortController(), listeners: new Set<(info: ShmFrameInfo) => void>() };
        listening = own;
        void (async () => {
          try {
            for await (const frame of own.ring.frames({ signal: own.abort.signal })) {
              const info = frameInfo(frame, frame.dropped);
              for (const l of [...own.listeners]) {
                try {
                  l(info);
                } catch {
                  // a page listener's failure is the page's
                }
              }
            }
          } catch {
            // the writer went away or the stream was closed: revoked tells the page
          }
        })();
      }
      const current = listening;
      current?.listeners.add(listener);
      return () => {
        current?.listeners.delete(listener);
      };
    },
    latest: () =>
      ctx.guard((): ShmFrameCopy | null => {
        for (let attempt = 0; attempt < 8; attempt++) {
          const frame = ring.latest();
          if (frame === null) return null;
          const data = frame.data.slice();
          if (frame.valid()) {
            const { dropped: _dropped, ...info } = frameInfo(frame, 0);
            return { ...info, data };
          }
        }
        return null; // the writer kept overwriting the newest slot while we copied it
      }),
    close: () => ctx.guard(() => (ring.shm.closed ? undefined : client.detach(result.handle))),
  };
}
