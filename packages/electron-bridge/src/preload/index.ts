/**
 * @shmkit/electron-bridge/preload — call `exposeShm()` in the preload of a window created with
 * `{ sandbox: false, contextIsolation: true }`. It puts a narrow `window.shm` in the page through
 * contextBridge (never ipcRenderer itself); the page never learns OS names.
 */
import type { ContextBridge } from 'electron';
import type * as Shm from '@shmkit/shm';
import { BridgeClient } from '../core/client';
import { codedError, toWireError, type CodedError, type WireError } from '../core/errors';
import type { AttachResult } from '../core/protocol';
import type { ShmBridge, ShmRevokedInfo } from '../renderer/types';
import type { DomFunctions } from './dom';
import { checkPreloadEnvironment, noHostError, type PreloadProcess } from './environment';
import { frameStream, segmentHandle, type HandleContext } from './handles';
import { IpcClientTransport, type IpcRendererLike } from './transport';

export type { PreloadProcess } from './environment';
export type { IpcRendererLike } from './transport';
export type * from '../renderer/types';

export interface ExposeShmOptions {
  /** The property of `window` to expose (default 'shm'). */
  key?: string | undefined;
  /** Milliseconds to wait for each reply of the host, the first included (default 5000). */
  timeoutMs?: number | undefined;
  /** Electron's `ipcRenderer`; default `require('electron').ipcRenderer`. */
  ipcRenderer?: IpcRendererLike | undefined;
  /** Electron's `contextBridge`; default `require('electron').contextBridge`. */
  contextBridge?: Pick<ContextBridge, 'exposeInMainWorld'> | undefined;
  /** The preload's `process` (its `sandboxed` and `contextIsolated` flags); default the global one. */
  process?: PreloadProcess | undefined;
  /** The page's window as the preload sees it; default `globalThis.window`. */
  window?: Window | undefined;
  /** The DOM-side functions (src/dom); default the package's. */
  dom?: DomFunctions | undefined;
}

/** Turns any failure into the record the page receives, with every OS name replaced by its logical name. */
function pageError(error: unknown, osNames: ReadonlyMap<string, string>): WireError {
  const wire = toWireError(error);
  let message = wire.message;
  for (const [osName, name] of osNames) message = message.split(osName).join(name);
  return { name: wire.name, code: wire.code, message };
}

/**
 * Exposes `window.shm` (or `window[options.key]`) and returns the same API for the preload's own use.
 * Throws ERR_SHM_BRIDGE_SANDBOXED or ERR_SHM_BRIDGE_NO_CONTEXT_ISOLATION (with the fix in the
 * message) before touching anything; when no host answers, every call rejects with ERR_SHM_BRIDGE_NO_HOST.
 */
export function exposeShm(options: ExposeShmOptions = {}): ShmBridge {
  if (options === null || typeof options !== 'object') {
    throw codedError('ERR_INVALID_ARG_TYPE', 'options must be an object', TypeError);
  }
  checkPreloadEnvironment(options.process ?? (globalThis.process as PreloadProcess | undefined));
  const key = options.key ?? 'shm';
  if (typeof key !== 'string' || key === '') throw codedError('ERR_INVALID_ARG_VALUE', 'options.key must be a non-empty string', TypeError);
  let { ipcRenderer, contextBridge } = options;
  if (ipcRenderer === undefined || contextBridge === undefined) {
    // Loaded only here, in a real preload: importing this module never touches Electron.
    const electron = require('electron') as { ipcRenderer: IpcRendererLike; contextBridge: ContextBridge };
    ipcRenderer ??= electron.ipcRenderer;
    contextBridge ??= electron.contextBridge;
  }
  // After the checks: a sandboxed preload fails with the message above, not with a failed addon load.
  const lib = require('@shmkit/shm') as typeof Shm;
  const dom = options.dom ?? (require('./dom') as typeof import('./dom')).domFunctions;
  const win = options.window ?? (globalThis as { window?: Window }).window;

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
  const ctx: HandleContext = { shm: lib, client, dom, window: win, guard };
  const opened = (result: AttachResult) => {
    osNames.set(result.osName, result.name);
    return result;
  };

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
    attach: (name, attachOptions = {}) =>
      guard(async () => {
        await ready;
        const readonly = attachOptions?.readonly;
        const result = opened(await client.attach(name, readonly === undefined ? {} : { readonly }));
        return segmentHandle(ctx, result);
      }),
    create: (name, size) =>
      guard(async () => {
        await ready;
        return segmentHandle(ctx, opened(await client.create(name, size)));
      }),
    frames: (name) =>
      guard(async () => {
        await ready;
        return frameStream(ctx, opened(await client.attach(name, { readonly: true })));
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
  win?.addEventListener?.('pagehide', () => client.close());
  return api;
}
