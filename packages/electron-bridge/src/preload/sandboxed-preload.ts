/**
 * The ready-made preload of a sandboxed window: bundled into one self-contained file
 * (dist/sandboxed-preload.js, `sandboxedPreloadPath` from '@shmkit/electron-bridge/main') that needs
 * only `electron`, and exposes `window.shm` on the copy path with the defaults.
 */
import { exposeShm } from './sandboxed';

exposeShm();
