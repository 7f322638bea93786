/**
 * The one place ./main loads Electron. Outside Electron's main process the `electron` package is not
 * Electron: in plain Node, `require('electron')` returns the path of its binary and, from v42, starts
 * downloading it. So nothing here requires it unless `process.type` is 'browser'.
 */
import type { App, BrowserWindow, IpcMain } from 'electron';
import { codedError } from '../core/errors';

export interface MainModules {
  app: App;
  ipcMain: IpcMain;
  BrowserWindow: typeof BrowserWindow;
}

/** Electron's main-process modules, or ERR_SHM_BRIDGE_NOT_MAIN (naming what to use instead) without touching the package. */
export function mainModules(what: string): MainModules {
  const type = (process as { type?: string }).type;
  if (type !== 'browser') {
    const where =
      type === 'renderer'
        ? "a renderer (a preload or a page): call exposeShm() from '@shmkit/electron-bridge/preload' there"
        : type !== undefined
          ? `an Electron ${type} process`
          : "plain Node, not Electron's main process: for Node programs use createNodeHost() from '@shmkit/electron-bridge/node'";
    throw codedError('ERR_SHM_BRIDGE_NOT_MAIN', `${what} runs in Electron's main process; this is ${where}`);
  }
  return require('electron') as MainModules;
}
