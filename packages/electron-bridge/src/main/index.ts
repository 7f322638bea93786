/**
 * @shmkit/electron-bridge/main — for Electron's main process: the host that owns segments, serves
 * the preloads of windows and views over IPC and ties each segment's life to its owner's webContents.
 */
import * as path from 'node:path';
export { createHost, ShmHost } from './host';
export type { AnyPeer, CreatedInfo, CreateHostOptions, CreateOptions, FrameRingOptions, NamespaceOption, Owner, Peer, SegmentInfo, ShmHostEvents } from './host';
export { enableSharedArrayBuffer } from './switches';
export type { AppLike, IpcMainLike, OriginAllowlist, WebContentsHolder, WebContentsLike, WindowLookup } from '../shapes';
export { REQUEST_CHANNEL, EVENT_CHANNEL } from './channels';
export { codedError, type CodedError, type WireError, type BridgeErrorCode } from '../core/errors';

/**
 * The ready-made preload of a sandboxed window (a self-contained file that needs only `electron`):
 * `new BrowserWindow({ webPreferences: { preload: sandboxedPreloadPath } })` gives the page
 * `window.shm` on the copy path.
 */
export const sandboxedPreloadPath: string = path.join(__dirname, '..', 'sandboxed-preload.js');
