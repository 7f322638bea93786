/** The transport-free core of the bridge: host, registry, protocol, client, transport interfaces, errors. */
export { BridgeHost } from './host';
export type { CreateOptions, CreatedInfo, FrameRingOptions, HostHooks, HostOptions, NamespaceOption, Owner, SegmentInfo } from './host';
export { BridgeClient } from './client';
export type { ClientEvents, ClientOptions, RevokedInfo } from './client';
export type { Transport, TransportHandlers, ClientTransport, ClientTransportHandlers } from './transport';
export {
  PROTOCOL_VERSION,
  MAX_NAME_LENGTH,
  MAX_RING_SLOTS,
  ringSize,
  parseRequest,
  parseHostMessage,
  nameProblem,
} from './protocol';
export type {
  Request,
  RequestBody,
  Reply,
  HostMessage,
  RevokedEvent,
  RevokeReason,
  AttachResult,
  HelloResult,
  ListEntry,
  SegmentKind,
} from './protocol';
export { codedError, toWireError, fromWireError, BRIDGE_ERROR_CODES } from './errors';
export type { WireError, CodedError, BridgeErrorCode } from './errors';
