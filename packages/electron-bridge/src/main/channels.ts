/** The IPC channels between the main-process host and the preloads (plain strings: no electron import). */

/** Requests: ipcRenderer.invoke(REQUEST_CHANNEL, request) → reply, served by ipcMain.handle. */
export const REQUEST_CHANNEL = 'shmkit:bridge';
/** Host-initiated events (revoked): webContents.send(EVENT_CHANNEL, event) → ipcRenderer.on. */
export const EVENT_CHANNEL = 'shmkit:bridge:event';
