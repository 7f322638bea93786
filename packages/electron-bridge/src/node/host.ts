/**
 * The bridge host over child_process IPC: `createNodeHost()` in the parent, `host.fork()` makes a
 * child that is a peer. Bridge messages travel inside `{ [ENVELOPE]: message }` on the ordinary IPC
 * channel, so the program's own messages on that channel are left alone (and ignored by the bridge).
 * A child is gone for the bridge when its IPC channel closes or it exits, whichever comes first
 * (SIGKILL included): the segments it owns are unlinked then.
 */
import { fork, type ChildProcess, type ForkOptions } from 'node:child_process';
import type { FrameRing, SharedMemory } from '@shmkit/shm';
import { BridgeHost, type CreateOptions, type FrameRingOptions, type HostOptions, type SegmentInfo } from '../core/host';
import { codedError } from '../core/errors';
import type { HostMessage } from '../core/protocol';
import type { Transport, TransportHandlers } from '../core/transport';

/** The key under which bridge messages travel on a child's IPC channel. */
export const ENVELOPE = '$shmkitBridge';

/** The bridge message inside an IPC message, or undefined for the program's own messages. */
export function unwrap(message: unknown): { found: boolean; data: unknown } {
  if (typeof message !== 'object' || message === null || !Object.prototype.hasOwnProperty.call(message, ENVELOPE)) {
    return { found: false, data: undefined };
  }
  return { found: true, data: (message as Record<string, unknown>)[ENVELOPE] };
}

class ChildTransport implements Transport<ChildProcess> {
  readonly #peers = new Map<ChildProcess, () => void>();
  #handlers: TransportHandlers<ChildProcess> | null = null;

  listen(handlers: TransportHandlers<ChildProcess>): void {
    this.#handlers = handlers;
  }

  add(child: ChildProcess): void {
    let gone = false;
    const onMessage = (message: unknown): void => {
      const { found, data } = unwrap(message);
      if (found && !gone) this.#handlers?.message(child, data);
    };
    const onGone = (): void => {
      if (gone) return;
      gone = true;
      unbind();
      this.#handlers?.gone(child);
    };
    // An 'error' listener is needed anyway: without one a failed send or spawn would throw.
    const onError = (): void => {
      if (!child.connected) onGone();
    };
    const unbind = (): void => {
      this.#peers.delete(child);
      child.off('message', onMessage);
      child.off('disconnect', onGone);
      child.off('exit', onGone);
      // keep a no-op error listener: the program may never add one, and a late EPIPE must not crash it
    };
    child.on('message', onMessage);
    child.on('disconnect', onGone);
    child.on('exit', onGone);
    child.on('error', onError);
    this.#peers.set(child, unbind);
    if (!child.connected) onGone();
  }

  send(peer: ChildProcess, message: HostMessage): void {
    if (!this.#peers.has(peer) || !peer.connected) return;
    try {
      peer.send({ [ENVELOPE]: message }, (error) => {
        void error; // the child went meanwhile: 'disconnect'/'exit' report it
      });
    } catch {
      // channel closed between the check and the send
    }
  }

  accept(value: unknown): value is ChildProcess {
    return this.#peers.has(value as ChildProcess) && (value as ChildProcess).connected;
  }

  close(): void {
    for (const unbind of [...this.#peers.values()]) unbind();
    this.#handlers = null;
  }
}

/** A bridge host whose peers are child processes it forked. */
export class NodeHost {
  readonly #transport = new ChildTransport();
  readonly #core: BridgeHost<ChildProcess>;

  constructor(options: HostOptions = {}) {
    this.#core = new BridgeHost(this.#transport, options);
  }

  /** `child_process.fork()`, and the child becomes a peer of this host (it calls `connect()`). */
  fork(modulePath: string, args?: readonly string[], options?: ForkOptions): ChildProcess {
    if (this.#core.closed) throw codedError('ERR_SHM_BRIDGE_CLOSED', 'the host is closed');
    const child = fork(modulePath, args ?? [], options ?? {});
    this.#transport.add(child);
    return child;
  }

  /** Creates a segment and returns the host's mapping; see BridgeHost.create. */
  create(name: string, size: number, options?: CreateOptions<ChildProcess>): SharedMemory {
    return this.#core.create(name, size, options);
  }

  createFrameRing(name: string, options: FrameRingOptions<ChildProcess>): FrameRing {
    return this.#core.createFrameRing(name, options);
  }

  grant(name: string, child: ChildProcess, options?: { readonly?: boolean | undefined }): void {
    this.#core.grant(name, child, options);
  }

  revoke(name: string, child: ChildProcess): void {
    this.#core.revoke(name, child);
  }

  release(name: string): void {
    this.#core.release(name);
  }

  segments(): SegmentInfo<ChildProcess>[] {
    return this.#core.segments();
  }

  get stats(): BridgeHost<ChildProcess>['stats'] {
    return this.#core.stats;
  }

  get closed(): boolean {
    return this.#core.closed;
  }

  /** Unlinks every segment (children get `revoked`) and stops listening; children keep running. Idempotent. */
  close(): void {
    this.#core.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

export function createNodeHost(options?: HostOptions): NodeHost {
  return new NodeHost(options);
}
