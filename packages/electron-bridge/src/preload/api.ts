/**
 * `window.shm`, assembled the same way for both paths a preload can take:
 *
 * - zero-copy (`./preload`, a `sandbox: false` window): the preload maps each segment with
 *   @shmkit/shm and draws or hands the page the memory itself;
 * - copy (`./preload/sandboxed`, a sandboxed window, whose preload cannot load the addon): the
 *   preload maps nothing; reads, writes, snapshots and frames are copied by the main process
 *   through the bridge's read/write/frame requests.
 *
 * The host applies the same grants, read-only rules, quotas, lifetime and sender checks to both:
 * only the handles differ (handles.ts, copy-handles.ts).
 */
import { BridgeClient } from '../core/client';
import { codedError, toWireError, type CodedError, type WireError } from '../core/errors';
import type { AttachResult } from '../core/protocol';
import type { ShmBridge, ShmBridgeFrameStream, ShmBridgeHandle, ShmRevokedInfo } from '../renderer/types';
import type { DomFunctions } from './dom';
import { noHostError, type PreloadProcess } from './environment';
import type { ContextBridgeLike, IpcRendererLike } from '../shapes';
import { IpcClientTransport } from './transport';

/** The options of both preloads' `exposeShm()`. */
export interface ExposeShmOptions {
  /** The property of `window` to expose (default 'shm'). */
  key?: string | undefined;
  /** Milliseconds to wait for each reply of the host, the first included (default 5000). */
  timeoutMs?: number | undefined;
  /** Electron's `ipcRenderer`; default `require('electron').ipcRenderer`. */
  ipcRenderer?: IpcRendererLike | undefined;
  /** Electron's `contextBridge`; default `require('electron').contextBridge`. */
  contextBridge?: ContextBridgeLike | undefined;
  /** The preload's `process` (its `type`, `sandboxed` and `contextIsolated`); default the global one. */
  process?: PreloadProcess | undefined;
  /** The page's window as the preload sees it; default `globalThis.window`. */
  window?: Window | undefined;
  /** The DOM-side functions (src/dom); default the package's. */
  dom?: DomFunctions | undefined;
}

/** ipcRenderer and contextBridge: the options', else Electron's (required only here, in a real preload). */
export function electronModules(options: ExposeShmOptions): { ipcRenderer: IpcRendererLike; contextBridge: ContextBridgeLike } {
  let { ipcRenderer, contextBridge } = options;
  if (ipcRenderer === undefined || contextBridge === undefined) {
    const electron = require('electron') as { ipcRenderer: IpcRendererLike; contextBridge: ContextBridgeLike };
    ipcRenderer ??= electron.ipcRenderer;
    contextBridge ??= electron.contextBridge;
  }
  return { ipcRenderer, contextBridge };
}

/** What the page's handles are built with: the client, the window, and the error scrubber. */
export interface BaseContext {
  client: BridgeClient;
  window: Window | undefined;
  /** Runs an operation and turns its failure into the page's plain error record. */
  guard<T>(fn: () => T | Promise<T>): Promise<T>;
}

/** One path's handles. */
export interface PathHandles<C extends BaseContext> {
  /** Ask the host for copy attachments (nothing is mapped here). */
  copy: boolean;
  segment(ctx: C, result: AttachResult): ShmBridgeHandle;
  stream(ctx: C, result: AttachResult): ShmBridgeFrameStream;
}

/** What makes one path: its context beyond the base (the addon, the DOM functions) and its handles. */
export interface PathOptions<C extends BaseContext> {
  extend(base: BaseContext): C;
  handles: PathHandles<C>;
}

/** Turns any failure into the record the page receives, with every OS name replaced by its logical name. */
function pageError(error: unknown, osNames: ReadonlyMap<string, string>): WireError {
  const wire = toWireError(error);
  let message = wire.message;
  for (const [osName, name] of osNames) message = message.split(osName).join(name);
  return { name: wire.name, code: wire.code, message };
}

/** The options object itself, checked before anything else. */
export function checkOptions(options: unknown): ExposeShmOptions {
  if (options === null || typeof options !== 'object') throw codedError('ERR_INVALID_ARG_TYPE', 'options must be an object', TypeError);
  return options as ExposeShmOptions;
}

/**
 * Builds `window.shm` on a new client, exposes it through contextBridge under `options.key`, and
 * returns it. Electron is required here, after the caller's checks. When no host answers the first
 * request, every call rejects with ERR_SHM_BRIDGE_NO_HOST.
 */
export function buildBridge<C extends BaseContext>(options: ExposeShmOptions, path: PathOptions<C>): ShmBridge {
  const key = options.key ?? 'shm';
  if (typeof key !== 'string' || key === '') throw codedError('ERR_INVALID_ARG_VALUE', 'options.key must be a non-empty string', TypeError);
  const { ipcRenderer, contextBridge } = electronModules(options);
  const window = options.window ?? (globalThis as { window?: Window }).window;
  const { handles } = path;
  const client = new BridgeClient(new IpcClientTransport(ipcRenderer), { timeoutMs: options.timeoutMs ?? 5000 });
  const ready: Promise<void> = client.hello().then(
    () => undefined,
    (error: CodedError) => {
      if (error.code === 'ERR_SHM_BRIDGE_TIMEOUT') throw noHostError('no reply to hello in time');
      if (error.code === 'ERR_SHM_BRIDGE_NO_HOST') throw noHostError('no handler for the bridge channel');
      throw error;
    },
  );
  ready.catch(() => undefined); // reported by every call instead

  const osNames = new Map<string, string>();
  const guard = async <T>(fn: () => T | Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      throw pageError(error, osNames);
    }
  };
  const ctx = path.extend({ client, window, guard });
  const opened = (result: AttachResult) => {
    if (result.osName !== '') osNames.set(result.osName, result.name);
    return result;
  };
  const copy = handles.copy ? { copy: true } : {};

  const revokedListeners = new Set<(info: ShmRevokedInfo) => void>();
  client.on('revoked', ({ name, reason }) => {
    for (const listener of [...revokedListeners]) {
      try {
        listener({ name, reason });
      } catch {
        // the page's listener failed: its problem, the others still run
      }
    }
  });

  const api: ShmBridge = {
    version: 1,
    path: handles.copy ? 'copy' : 'zero-copy',
    attach: (name, attachOptions = {}) =>
      guard(async () => {
        await ready;
        const readonly = attachOptions?.readonly;
        const result = opened(await client.attach(name, readonly === undefined ? copy : { readonly, ...copy }));
        return handles.segment(ctx, result);
      }),
    create: (name, size) =>
      guard(async () => {
        await ready;
        return handles.segment(ctx, opened(await client.create(name, size, copy)));
      }),
    frames: (name) =>
      guard(async () => {
        await ready;
        return handles.stream(ctx, opened(await client.attach(name, { readonly: true, ...copy })));
      }),
    list: () =>
      guard(async () => {
        await ready;
        return client.list();
      }),
    release: (name) =>
      guard(async () => {
        await ready;
        await client.release(name);
      }),
    on: (event, listener) => {
      if (event !== 'revoked' || typeof listener !== 'function') {
        throw codedError('ERR_INVALID_ARG_VALUE', "on(event, listener) takes 'revoked' and a function", TypeError);
      }
      revokedListeners.add(listener);
      return () => {
        revokedListeners.delete(listener);
      };
    },
  };
  try {
    contextBridge.exposeInMainWorld(key, api);
  } catch (error) {
    client.close(); // nothing may stay listening for a bridge that was never exposed
    throw error;
  }
  // The page is going away: unmap now instead of when the preload's world is collected.
  window?.addEventListener?.('pagehide', () => client.close());
  return api;
}
