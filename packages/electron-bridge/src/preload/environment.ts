/** The checks exposeShm() makes before anything else, each with a message that says how to fix it. */
import { codedError } from '../core/errors';

/** The two flags Electron sets on a preload's `process`. */
export interface PreloadProcess {
  sandboxed?: boolean | undefined;
  contextIsolated?: boolean | undefined;
}

export function checkPreloadEnvironment(proc: PreloadProcess | undefined): void {
  if (proc?.sandboxed === true) {
    throw codedError(
      'ERR_SHM_BRIDGE_SANDBOXED',
      'exposeShm(): this preload is sandboxed (process.sandboxed is true), and a sandboxed preload cannot load ' +
        "@shmkit/shm's native addon to map shared memory. Create this window with webPreferences " +
        '{ preload, sandbox: false, contextIsolation: true, nodeIntegration: false }, and load only trusted local ' +
        'content in it (see "Threat model" in the README of @shmkit/electron-bridge).',
    );
  }
  if (proc?.contextIsolated !== true) {
    throw codedError(
      'ERR_SHM_BRIDGE_NO_CONTEXT_ISOLATION',
      'exposeShm(): context isolation is off (process.contextIsolated is not true): contextBridge cannot expose ' +
        "window.shm, and page scripts would share the preload's world and its Node access. Remove " +
        "contextIsolation: false from this window's webPreferences (it is on by default).",
    );
  }
}

/** ERR_SHM_BRIDGE_NO_HOST, for a hello nobody answered. */
export function noHostError(detail: string): Error {
  return codedError(
    'ERR_SHM_BRIDGE_NO_HOST',
    `no shmkit host answered in the main process (${detail}): call createHost({ allowedOrigins }) from ` +
      "'@shmkit/electron-bridge/main' in the main process before this window loads, and make sure this " +
      "page's origin is in allowedOrigins",
  );
}
