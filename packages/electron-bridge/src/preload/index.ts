/**
 * @shmkit/electron-bridge/preload — call `exposeShm()` in the preload of a window created with
 * `{ sandbox: false, contextIsolation: true }`. It puts a narrow `window.shm` in the page through
 * contextBridge (never ipcRenderer itself); the page never learns OS names.
 */
import type * as Shm from '@shmkit/shm';
import type { ShmBridge } from '../renderer/types';
import { buildBridge, checkOptions, type ExposeShmOptions } from './api';
import { checkPreloadEnvironment, type PreloadProcess } from './environment';
import { frameStream, segmentHandle, type HandleContext } from './handles';

export type { ExposeShmOptions } from './api';
export type { PreloadProcess } from './environment';
export type { ContextBridgeLike, IpcRendererLike } from '../shapes';
export type * from '../renderer/types';

/**
 * Exposes `window.shm` (or `window[options.key]`) and returns the same API for the preload's own use.
 * Throws ERR_SHM_BRIDGE_SANDBOXED or ERR_SHM_BRIDGE_NO_CONTEXT_ISOLATION (with the fix in the
 * message) before touching anything; when no host answers, every call rejects with ERR_SHM_BRIDGE_NO_HOST.
 */
export function exposeShm(options: ExposeShmOptions = {}): ShmBridge {
  checkPreloadEnvironment(checkOptions(options).process ?? (globalThis.process as PreloadProcess | undefined));
  // After the checks: a sandboxed preload fails with the message above, not with a failed addon load.
  const lib = require('@shmkit/shm') as typeof Shm;
  const dom = options.dom ?? (require('./dom') as typeof import('./dom')).domFunctions;
  return buildBridge<HandleContext>(options, {
    extend: (base) => ({ ...base, shm: lib, dom }),
    handles: { copy: false, segment: segmentHandle, stream: frameStream },
  });
}
