/**
 * The two small interfaces the core talks through. The Node transport (src/node) implements them over
 * child_process IPC; the Electron skin over ipcMain / webContents.send / ipcRenderer.
 *
 * `P` is the transport's peer identity (a ChildProcess, a WebContents…): the host compares peers with
 * `===` and keys maps by them, so a transport must hand out one stable object per peer.
 */
import type { CodedError } from './errors';
import type { HostMessage, Request } from './protocol';

/** What the host gives the transport to call. */
export interface TransportHandlers<P> {
  /**
   * A raw, untrusted message from `peer` (the host validates it and replies through `send`, in
   * order, maybe later). Returns false when the host is busy with this peer: a transport that can
   * should deliver nothing more from it until `resume(peer)`.
   */
  message(peer: P, data: unknown): boolean;
  /** `peer` is gone for good (exit, kill, window closed, webContents destroyed): owner and grantee rules apply. */
  gone(peer: P): void;
  /** `peer`'s mappings died but it lives on (renderer crash, main-frame navigation): its attachments are dropped. */
  reset(peer: P): void;
}

/** The host's side of a transport. */
export interface Transport<P> {
  /** Called once by the host before anything else. */
  listen(handlers: TransportHandlers<P>): void;
  /** Sends a reply or event to a peer. Must not throw when the peer is gone (drop the message). */
  send(peer: P, message: HostMessage): void;
  /**
   * Whether `value` is a live peer of this transport. The host asks before making it an owner or a
   * grantee (ERR_SHM_BRIDGE_UNKNOWN_PEER otherwise); the transport binds the peer's gone/reset
   * notifications here at the latest.
   */
  accept(value: unknown): value is P;
  /** Called by host.close(): stop delivering messages and notifications, release listeners. */
  close(): void;
  /** The host may take `peer`'s messages again (after `message` returned false). Optional. */
  resume?(peer: P): void;
  /**
   * Whether messages may carry binary data (Uint8Array): the copy path's read, write and frame need
   * it. Electron's IPC does (structured clone); the Node channel's JSON frames do not.
   */
  readonly binary?: boolean;
  /** Whether `peer`'s messages may carry binary data, where it differs per peer (a transport of several kinds); else `binary`. */
  binaryFor?(peer: P): boolean;
  /**
   * The process id of `peer` (a child process), if it has one the host may watch: a FrameRing that
   * peer creates names it as the writer, so readers see the writer gone when that process is.
   */
  pidOf?(peer: P): number | undefined;
}

/** What a client gives its transport to call. */
export interface ClientTransportHandlers {
  /** A raw message from the host (the client validates it). */
  message(data: unknown): void;
  /**
   * The channel to the host is gone: pending requests fail with ERR_SHM_BRIDGE_CLOSED. `reason` when
   * the channel broke (a malformed frame from the host).
   */
  closed(reason?: CodedError): void;
}

/** The peer's side of a transport (a forked child's process.send, a preload's ipcRenderer). */
export interface ClientTransport {
  listen(handlers: ClientTransportHandlers): void;
  /** Sends one request. May throw if the channel is gone (the client fails that request with ERR_SHM_BRIDGE_CLOSED). */
  send(message: Request): void;
  /** Stops listening (called by client.close()). */
  close(): void;
}
