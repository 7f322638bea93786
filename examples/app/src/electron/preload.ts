/**
 * Preload of the windows that map shared memory (video, dataset, scratch): `sandbox: false`,
 * `contextIsolation: true`. It exposes the bridge as `window.shm` and the app's own small API as
 * `window.appInfo`: never ipcRenderer itself.
 */
import { contextBridge, ipcRenderer } from 'electron';
import { exposeShm } from '@shmkit/electron-bridge/preload';

exposeShm();
contextBridge.exposeInMainWorld('appInfo', {
  status: () => ipcRenderer.invoke('app:status'),
  metrics: () => ipcRenderer.invoke('app:metrics'),
});
