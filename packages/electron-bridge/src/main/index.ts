/**
 * @shmkit/electron-bridge/main — for Electron's main process: the host that owns segments, serves
 * the windows' preloads over IPC and ties each segment's life to its owner window.
 */
export { createHost, ShmHost } from './host';
export type { CreateHostOptions, CreateOptions, FrameRingOptions, NamespaceOption, Owner, Peer, SegmentInfo } from './host';
export { enableSharedArrayBuffer } from './switches';
export type { OriginAllowlist } from './sender';
export { REQUEST_CHANNEL, EVENT_CHANNEL } from './channels';
export { codedError, type CodedError, type WireError, type BridgeErrorCode } from '../core/errors';
