/**
 * @shmkit/electron-bridge/node: the bridge to child processes over a channel of its own
 * (docs/bridge-protocol.md), for Node programs and peers in other languages, and for testing the core
 * with real processes. Parent: `createNodeHost()`, `host.fork()` / `host.spawn()`; child: `await connect()`.
 */
export { createNodeHost, NodeHost } from './host';
export { connect, NodeClient } from './client';
export type { ConnectOptions } from './client';
export type { CreatedInfo, CreateOptions, FrameRingOptions, HostOptions, NamespaceOption, Owner, SegmentInfo } from '../core/host';
export type { NodeHostEvents } from './host';
export type { RevokedInfo, ClientEvents } from '../core/client';
export type { ListEntry, RevokeReason } from '../core/protocol';
export type { BridgeErrorCode, WireError } from '../core/errors';
