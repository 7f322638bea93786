/**
 * Preload of the status window: sandboxed (it maps no memory and loads no addon), so it may use only
 * `electron` itself. It exposes the app's status API as `window.appInfo`.
 */
import { contextBridge, ipcRenderer } from 'electron';

contextBridge.exposeInMainWorld('appInfo', {
  status: () => ipcRenderer.invoke('app:status'),
  metrics: () => ipcRenderer.invoke('app:metrics'),
  openScratch: () => ipcRenderer.invoke('app:open-scratch'),
});
