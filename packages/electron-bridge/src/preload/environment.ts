/** The checks exposeShm() makes before anything else, each with a message that says how to fix it. */
import { codedError } from '../core/errors';

/** The flags Electron sets on a preload's `process`. */
export interface PreloadProcess {
  /** 'renderer' in a preload (and page); 'browser' in the main process; absent in plain Node. */
  type?: string | undefined;
  sandboxed?: boolean | undefined;
  contextIsolated?: boolean | undefined;
}

/** ERR_SHM_BRIDGE_NOT_PRELOAD unless this runs in a renderer (a window's preload). */
export function checkInPreload(proc: PreloadProcess | undefined): void {
  if (proc?.type === 'renderer') return;
  const where =
    proc?.type === 'browser'
      ? "Electron's main process: the host is createHost() from '@shmkit/electron-bridge/main'"
      : proc?.type !== undefined
        ? `an Electron ${String(proc.type)} process`
        : "plain Node (no Electron): for Node programs use createNodeHost() and connect() from '@shmkit/electron-bridge/node'";
  throw codedError('ERR_SHM_BRIDGE_NOT_PRELOAD', `exposeShm() runs in a window's preload script; this is ${where}`);
}

/** The zero-copy preload's checks: in a preload, not sandboxed, with context isolation. */
export function checkPreloadEnvironment(proc: PreloadProcess | undefined): void {
  checkInPreload(proc);
  if (proc?.sandboxed === true) {
    throw codedError(
      'ERR_SHM_BRIDGE_SANDBOXED',
      'exposeShm(): this preload is sandboxed (process.sandboxed is true), and a sandboxed preload cannot load ' +
        "@shmkit/shm's native addon to map shared memory. For this window use the copy path: " +
        "exposeShm() from '@shmkit/electron-bridge/preload/sandboxed' in a bundled preload, or sandboxedPreloadPath " +
        "from '@shmkit/electron-bridge/main' as its preload. For zero-copy, create it with webPreferences " +
        '{ preload, sandbox: false, contextIsolation: true, nodeIntegration: false }, and load only trusted local ' +
        'content in it (see "Threat model" in the README of @shmkit/electron-bridge).',
    );
  }
  checkContextIsolated(proc);
}

/** ERR_SHM_BRIDGE_NO_CONTEXT_ISOLATION unless context isolation is on (both preloads need contextBridge). */
export function checkContextIsolated(proc: PreloadProcess | undefined): void {
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
