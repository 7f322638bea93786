/**
 * @shmkit/electron-bridge/preload/sandboxed — `window.shm` for a sandboxed window (Electron's default
 * since v20, and every window under `app.enableSandbox()`). A sandboxed preload cannot load a native
 * addon, so this one maps nothing: it gives the page the same API as `./preload`, on the **copy
 * path** (each handle's `path` is 'copy'). The main process reads, writes and copies frames for it,
 * under the same grants, read-only rules, quotas and lifetime as any window; `shared()` is refused
 * with ERR_SHM_BRIDGE_SHARED_UNAVAILABLE.
 *
 * Two ways to use it:
 * - as the window's preload file itself, unbundled: `webPreferences: { preload: sandboxedPreloadPath }`
 *   (`sandboxedPreloadPath` from '@shmkit/electron-bridge/main': a self-contained file that calls
 *   exposeShm() with the defaults);
 * - imported by a preload the app bundles: `import { exposeShm } from '@shmkit/electron-bridge/preload/sandboxed'`.
 *
 * It needs nothing but `electron` (contextBridge, ipcRenderer) and the DOM: no Node, no addon.
 */
import type { ShmBridge } from '../renderer/types';
import { buildBridge, checkOptions, type ExposeShmOptions } from './api';
import { copyFrameStream, copySegmentHandle, type CopyContext } from './copy-handles';
import { domFunctions } from './dom';
import { checkContextIsolated, checkInPreload, type PreloadProcess } from './environment';

export type { ExposeShmOptions } from './api';
export type { PreloadProcess } from './environment';
export type { ContextBridgeLike, IpcRendererLike } from '../shapes';
export type * from '../renderer/types';

/**
 * Exposes `window.shm` on the copy path and returns the same API for the preload's own use. Works in
 * any window with context isolation (sandboxed or not). Throws ERR_SHM_BRIDGE_NO_CONTEXT_ISOLATION
 * when context isolation is off; when no host answers, every call rejects with ERR_SHM_BRIDGE_NO_HOST.
 */
export function exposeShm(options: ExposeShmOptions = {}): ShmBridge {
  const proc = checkOptions(options).process ?? (globalThis as { process?: PreloadProcess }).process;
  checkInPreload(proc);
  checkContextIsolated(proc);
  const dom = options.dom ?? domFunctions;
  // A sandboxed preload's require() knows 'electron': buildBridge loads it, after these checks.
  return buildBridge<CopyContext>(options, {
    extend: (base) => ({ ...base, dom }),
    handles: { copy: true, segment: copySegmentHandle, stream: copyFrameStream },
  });
}
