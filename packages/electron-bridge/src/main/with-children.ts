/**
 * The main process's transport when it serves child processes too (`ShmHost.spawn()`/`fork()`: a
 * Python or Node program as a peer, beside the windows): Electron's IPC for webContents, each child's
 * own channel for children. Messages go to the transport that serves the peer; copies (the copy path's
 * binary data) only to windows; a process id (for rings a peer writes) only for children.
 */
import type { ChildProcess } from 'node:child_process';
import type { WebContents } from 'electron';
import type { HostMessage } from '../core/protocol';
import type { Transport, TransportHandlers } from '../core/transport';
import type { ChildTransport } from '../node/children';
import type { ElectronTransport } from './transport';

export type MainPeer = WebContents | ChildProcess;

export class MainTransport implements Transport<MainPeer> {
  readonly #windows: ElectronTransport;
  readonly #children: ChildTransport;

  constructor(windows: ElectronTransport, children: ChildTransport) {
    this.#windows = windows;
    this.#children = children;
  }

  listen(handlers: TransportHandlers<MainPeer>): void {
    this.#windows.listen(handlers);
    this.#children.listen(handlers);
  }

  send(peer: MainPeer, message: HostMessage): void {
    // a child that is gone is no longer the children's: the windows' transport drops what it does not know
    if (this.#children.has(peer)) this.#children.send(peer, message);
    else this.#windows.send(peer as WebContents, message);
  }

  accept(value: unknown): value is MainPeer {
    return this.#children.has(value) ? this.#children.accept(value) : this.#windows.accept(value);
  }

  resume(peer: MainPeer): void {
    if (this.#children.has(peer)) this.#children.resume(peer);
  }

  /** Electron's IPC carries binary data (the copy path); a child's JSON channel does not. */
  binaryFor(peer: MainPeer): boolean {
    return !this.#children.has(peer);
  }

  pidOf(peer: MainPeer): number | undefined {
    return this.#children.has(peer) ? this.#children.pidOf(peer) : undefined;
  }

  close(): void {
    this.#windows.close();
    this.#children.close();
  }
}
