/**
 * @shmkit/electron-bridge/renderer — page code. Plain web code (no Node, no Electron): bundle it
 * with the page. `getShm()` wraps the `window.shm` that the preload's exposeShm() exposed: errors
 * become real Errors with their `code` again, `snapshot()` resolves to the ArrayBuffer moved to the
 * page, and `shared()` to a Uint8Array over the segment itself (no copy).
 */
import { codedError, fromWireError } from '../core/errors.js';
import { receiveShared, receiveTransfer } from '../dom/handoff.js';
import type { ReceiveOptions, SharedReceived } from '../dom/types.js';
import type {
  ShmBridge,
  ShmBridgeFrameStream,
  ShmBridgeHandle,
  ShmFrameInfo,
  ShmRevokedInfo,
  ShmStreamStats,
} from './types.js';

export type * from './types.js';

declare global {
  interface Window {
    /** Put there by exposeShm() in the window's preload. Prefer getShm() (real Errors, received buffers). */
    shm: ShmBridge;
  }
}

/** An Error with a stable `code`: match on `code`, never on the message. */
export interface ShmError extends Error {
  code: string;
}

/** A segment handle: as window.shm's, with the snapshot and the shared memory received. */
export interface ShmHandle extends Omit<ShmBridgeHandle, 'snapshot' | 'shared'> {
  /** One copy of the whole segment, moved to this page (never cloned). */
  snapshot(options?: ReceiveOptions): Promise<ArrayBuffer>;
  /**
   * The segment itself: `bytes` is a Uint8Array over a SharedArrayBuffer mapped onto it (no copy;
   * Atomics work; workers can share it). Needs SharedArrayBuffer sending (enableSharedArrayBuffer()
   * in the main process, or a cross-origin isolated page): else ERR_SHM_SAB_UNAVAILABLE. On a
   * read-only handle, page writes stay in this process and never reach the segment.
   */
  shared(options?: ReceiveOptions): Promise<SharedReceived>;
}

/** A FrameRing stream: as window.shm's, with `stats` as a live getter. */
export interface ShmFrameStream extends Omit<ShmBridgeFrameStream, 'stats'> {
  /** Live counters (read anew at each access). */
  readonly stats: ShmStreamStats;
}

/** The page's API: window.shm's, with real Errors and the wrapped handles and streams. */
export interface Shm extends Omit<ShmBridge, 'version' | 'attach' | 'create' | 'frames'> {
  attach(name: string, options?: { readonly?: boolean }): Promise<ShmHandle>;
  create(name: string, size: number): Promise<ShmHandle>;
  frames(name: string): Promise<ShmFrameStream>;
}

function isWireRecord(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    !(value instanceof Error) &&
    typeof (value as { code?: unknown }).code === 'string' &&
    typeof (value as { message?: unknown }).message === 'string'
  );
}

/** Awaits a bridge call and rethrows its plain error record as a real Error with the same code. */
async function call<T>(promise: Promise<T>): Promise<T> {
  try {
    return await promise;
  } catch (error) {
    throw isWireRecord(error) ? fromWireError(error) : error;
  }
}

/**
 * Checks a listener here, in the page: a synchronous throw across contextBridge would keep only its
 * message, so the page gets a real coded Error instead.
 */
function checkListener(listener: unknown, what: string): void {
  if (typeof listener !== 'function') throw codedError('ERR_INVALID_ARG_TYPE', `${what}: the listener must be a function`, TypeError);
}

/**
 * Subscriptions by listener: each crossing of contextBridge makes a new proxy of the page's function,
 * so the preload cannot tell one listener given twice from two; registering the same one again here
 * returns its first unsubscribe and it fires once.
 */
function once<L extends object>(subscriptions: Map<L, () => void>, listener: L, subscribe: () => () => void): () => void {
  const known = subscriptions.get(listener);
  if (known) return known;
  const remove = subscribe();
  const unsubscribe = () => {
    if (subscriptions.get(listener) !== unsubscribe) return;
    subscriptions.delete(listener);
    remove();
  };
  subscriptions.set(listener, unsubscribe);
  return unsubscribe;
}

function wrapHandle(win: Window, raw: ShmBridgeHandle): ShmHandle {
  return {
    name: raw.name,
    size: raw.size,
    readonly: raw.readonly,
    path: raw.path,
    read: (offset, length) => call(raw.read(offset, length)),
    write: (offset, bytes) => call(raw.write(offset, bytes)),
    snapshot: async (options) => (await receiveTransfer(win, await call(raw.snapshot()), options)).buffer,
    shared: async (options) => receiveShared(win, await call(raw.shared()), options),
    close: () => call(raw.close()),
  };
}

function wrapStream(raw: ShmBridgeFrameStream): ShmFrameStream {
  const subscriptions = new Map<(info: ShmFrameInfo) => void, () => void>();
  return {
    name: raw.name,
    path: raw.path,
    drawTo: (canvas, options) => call(raw.drawTo(canvas, options)),
    stop: () => raw.stop(),
    get stats() {
      return raw.stats();
    },
    onFrame: (listener) => {
      checkListener(listener, 'onFrame');
      return once(subscriptions, listener, () => raw.onFrame(listener));
    },
    latest: () => call(raw.latest()),
    close: () => call(raw.close()),
  };
}

/**
 * The page's API over `window[key]` (default `window.shm`). Throws ERR_SHM_BRIDGE_NOT_EXPOSED when
 * the preload did not expose it.
 */
export function getShm(win: Window = window, key = 'shm'): Shm {
  const raw = (win as unknown as Record<string, ShmBridge | undefined>)[key];
  if (raw == null || typeof raw.attach !== 'function') {
    throw codedError(
      'ERR_SHM_BRIDGE_NOT_EXPOSED',
      `window.${key} is missing: call exposeShm() in this window's preload: from '@shmkit/electron-bridge/preload' ` +
        "(webPreferences: { preload, sandbox: false, contextIsolation: true }: zero-copy), or, in a sandboxed window, " +
        "from '@shmkit/electron-bridge/preload/sandboxed' (or use sandboxedPreloadPath from '@shmkit/electron-bridge/main' as the preload: copy path)",
    );
  }
  const revoked = new Map<(info: ShmRevokedInfo) => void, () => void>();
  return {
    path: raw.path,
    attach: async (name, options) => wrapHandle(win, await call(raw.attach(name, options))),
    create: async (name, size) => wrapHandle(win, await call(raw.create(name, size))),
    frames: async (name) => wrapStream(await call(raw.frames(name))),
    list: () => call(raw.list()),
    release: (name) => call(raw.release(name)),
    on: (event, listener) => {
      if (event !== 'revoked') throw codedError('ERR_INVALID_ARG_VALUE', `on(event, listener): the only event is 'revoked', got ${String(event)}`, TypeError);
      checkListener(listener, "on('revoked')");
      return once(revoked, listener, () => raw.on(event, listener));
    },
  };
}

export { receiveShared, receiveTransfer };
