/**
 * Preload of the sandboxed video view (a WebContentsView in a BaseWindow, `sandbox: true`, Electron's
 * default): it cannot load a native addon, so it takes the bridge's copy path
 * ('@shmkit/electron-bridge/preload/sandboxed': the main process copies the frames for it). An app
 * that has its own sandboxed preload bundles it, as this one is (esbuild, into one file that needs
 * only `electron`: dist/electron/sandboxed-preload.bundle.js). It exposes `window.shm` and the app's
 * small API as `window.appInfo`, never ipcRenderer itself.
 */
import { contextBridge, ipcRenderer } from 'electron';
import { exposeShm } from '@shmkit/electron-bridge/preload/sandboxed';

exposeShm();
contextBridge.exposeInMainWorld('appInfo', {
  status: () => ipcRenderer.invoke('app:status'),
  metrics: () => ipcRenderer.invoke('app:metrics'),
});
