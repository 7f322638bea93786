/**
 * The bridge host over child processes: `createNodeHost()` in the parent; `host.fork()` (a Node
 * module) or `host.spawn()` (any program: Python, C++…) makes a child that is a peer. The bridge runs
 * on a channel of its own (channel.ts): a socket the child finds as descriptor `SHMKIT_BRIDGE_FD`,
 * carrying length-prefixed JSON frames the bridge parses itself (docs/bridge-protocol.md). A
 * malformed frame ends that one peer with a coded reason; Node's IPC channel (`process.send`, which
 * `fork()` still opens for the program's own messages) is never used by the bridge.
 *
 * A child is gone for the bridge when its channel closes or it exits, whichever comes first (SIGKILL
 * included): the segments it owns are unlinked then.
 */
import { fork, spawn, type ChildProcess, type ForkOptions, type SpawnOptions, type StdioOptions } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { FrameRing, SharedMemory } from '@shmkit/shm';
import { BridgeHost, type CreatedInfo, type CreateOptions, type FrameRingOptions, type HostOptions, type NamespaceOption, type SegmentInfo } from '../core/host';
import { codedError, type CodedError } from '../core/errors';
import type { HostMessage } from '../core/protocol';
import type { Transport, TransportHandlers } from '../core/transport';
import { FD_ENV, PeerChannel } from './channel';

/** What NodeHost emits. */
export interface NodeHostEvents {
  /**
   * The host ended a child's bridge channel because of the child: ERR_SHM_BRIDGE_PROTOCOL (a
   * malformed frame) or ERR_SHM_BRIDGE_LIMIT (it did not read what the host sent). The child is
   * gone for the bridge from then on (its segments are unlinked); the process itself is left running.
   */
  'peer-error': (child: ChildProcess, error: CodedError) => void;
  /**
   * A child created a segment or a FrameRing (`createFrameRing`: it is the writer) in its own
   * namespace. Nobody else sees it until the app grants it: `host.grant(info.name, other, { namespace: child })`.
   */
  'segment-created': (child: ChildProcess, info: CreatedInfo) => void;
}

class ChildTransport implements Transport<ChildProcess> {
  readonly #peers = new Map<ChildProcess, { channel: PeerChannel; unbind(): void }>();
  readonly #onPeerError: (child: ChildProcess, error: CodedError) => void;
  #handlers: TransportHandlers<ChildProcess> | null = null;
  #closing = false;

  constructor(onPeerError: (child: ChildProcess, error: CodedError) => void) {
    this.#onPeerError = onPeerError;
  }

  listen(handlers: TransportHandlers<ChildProcess>): void {
    this.#handlers = handlers;
  }

  add(child: ChildProcess, socket: Socket | null | undefined): void {
    let gone = false;
    const onGone = (reason: CodedError | null): void => {
      if (gone) return;
      gone = true;
      this.#peers.get(child)?.unbind();
      this.#peers.delete(child);
      channel?.end(null);
      this.#handlers?.gone(child);
      if (reason !== null && !this.#closing) this.#onPeerError(child, reason);
    };
    const onExit = () => onGone(null);
    // Without an 'error' listener a failed spawn would throw out of the event loop.
    const onError = () => {
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) onGone(null);
    };
    const channel = socket
      ? new PeerChannel(socket, {
          message: (data) => (gone ? true : (this.#handlers?.message(child, data) ?? true)),
          ended: (reason) => onGone(reason),
        })
      : null;
    child.on('exit', onExit);
    child.on('error', onError);
    this.#peers.set(child, {
      channel: channel as PeerChannel,
      unbind: () => {
        child.off('exit', onExit);
        // keep a no-op error listener: the program may never add one
      },
    });
    if (channel === null || child.pid === undefined) onGone(null);
  }

  send(peer: ChildProcess, message: HostMessage): void {
    this.#peers.get(peer)?.channel.send(message);
  }

  resume(peer: ChildProcess): void {
    this.#peers.get(peer)?.channel.resume();
  }

  accept(value: unknown): value is ChildProcess {
    const entry = this.#peers.get(value as ChildProcess);
    return entry !== undefined && !entry.channel.ended;
  }

  /** A child is a process: a ring it creates names it as the writer. */
  pidOf(peer: ChildProcess): number | undefined {
    return this.#peers.has(peer) ? peer.pid : undefined;
  }

  /** Bytes waiting to be sent to a child (it is not reading), for tests and monitoring. */
  unsentBytes(child: ChildProcess): number {
    return this.#peers.get(child)?.channel.unsentBytes ?? 0;
  }

  close(): void {
    this.#closing = true;
    this.#handlers = null;
    for (const [child, entry] of [...this.#peers]) {
      entry.unbind();
      this.#peers.delete(child);
      entry.channel.end(codedError('ERR_SHM_BRIDGE_CLOSED', 'the host closed'));
    }
  }
}

/** The stdio array for a child: the caller's (Node's default when absent), then the bridge's socket. */
function withBridgeStdio(stdio: StdioOptions | undefined, fallback: readonly (string | number | null | undefined)[], ipc: boolean): { stdio: unknown[]; fd: number } {
  let list: unknown[];
  if (stdio === undefined) list = [...fallback];
  else if (typeof stdio === 'string') list = [stdio, stdio, stdio];
  else if (Array.isArray(stdio)) list = [...stdio];
  else throw codedError('ERR_INVALID_ARG_TYPE', 'options.stdio must be a string or an array', TypeError);
  while (list.length < 3) list.push(undefined);
  if (ipc && !list.includes('ipc')) list.push('ipc');
  list.push('pipe');
  return { stdio: list, fd: list.length - 1 };
}

function checkObject(value: unknown, what: string): void {
  if (value !== undefined && (value === null || typeof value !== 'object')) {
    throw codedError('ERR_INVALID_ARG_TYPE', `${what} must be an object`, TypeError);
  }
}

/** A bridge host whose peers are child processes it started. */
export class NodeHost {
  readonly #events = new EventEmitter();
  readonly #transport = new ChildTransport((child, error) => {
    if (this.#events.listenerCount('peer-error') > 0) this.#events.emit('peer-error', child, error);
  });
  readonly #core: BridgeHost<ChildProcess>;

  constructor(options: HostOptions = {}) {
    this.#core = new BridgeHost(this.#transport, options, {
      created: (child, info) => {
        if (this.#events.listenerCount('segment-created') > 0) this.#events.emit('segment-created', child, { ...info });
      },
    });
  }

  /**
   * `child_process.fork()`, and the child becomes a peer of this host (it calls `connect()`). The
   * child's Node IPC channel is opened as fork() always does, for the program's own messages; the
   * bridge uses its own channel (appended to `stdio`).
   */
  fork(modulePath: string, args?: readonly string[], options?: ForkOptions): ChildProcess {
    this.#checkOpen();
    checkObject(options, 'options');
    const o = options ?? {};
    const fallback = o.silent ? ['pipe', 'pipe', 'pipe', 'ipc'] : ['inherit', 'inherit', 'inherit', 'ipc'];
    const { stdio, fd } = withBridgeStdio(o.stdio, fallback, true);
    const child = fork(modulePath, args ?? [], { ...o, stdio: stdio as StdioOptions, env: { ...(o.env ?? process.env), [FD_ENV]: String(fd) } });
    this.#transport.add(child, child.stdio[fd] as Socket | null);
    return child;
  }

  /**
   * `child_process.spawn()` of any program, which becomes a peer: it finds its bridge channel as the
   * descriptor named by the environment variable SHMKIT_BRIDGE_FD (docs/bridge-protocol.md). No Node
   * IPC channel is opened.
   */
  spawn(command: string, args?: readonly string[], options?: SpawnOptions): ChildProcess {
    this.#checkOpen();
    checkObject(options, 'options');
    const o = options ?? {};
    const { stdio, fd } = withBridgeStdio(o.stdio, ['pipe', 'pipe', 'pipe'], false);
    const child = spawn(command, args ?? [], { ...o, stdio: stdio as StdioOptions, env: { ...(o.env ?? process.env), [FD_ENV]: String(fd) } });
    this.#transport.add(child, child.stdio[fd] as Socket | null);
    return child;
  }

  /** Creates a segment and returns the host's mapping; see BridgeHost.create. */
  create(name: string, size: number, options?: CreateOptions<ChildProcess>): SharedMemory {
    return this.#core.create(name, size, options);
  }

  createFrameRing(name: string, options: FrameRingOptions<ChildProcess>): FrameRing {
    return this.#core.createFrameRing(name, options);
  }

  /** `options.namespace`: the child whose own segment `name` is (one it created). */
  grant(name: string, child: ChildProcess, options?: { readonly?: boolean | undefined } & NamespaceOption<ChildProcess>): void {
    this.#core.grant(name, child, options);
  }

  revoke(name: string, child: ChildProcess, options?: NamespaceOption<ChildProcess>): void {
    this.#core.revoke(name, child, options);
  }

  release(name: string, options?: NamespaceOption<ChildProcess>): void {
    this.#core.release(name, options);
  }

  segments(): SegmentInfo<ChildProcess>[] {
    return this.#core.segments();
  }

  get stats(): BridgeHost<ChildProcess>['stats'] {
    return this.#core.stats;
  }

  /** The limits in force, defaults filled in (budgets from the size of /dev/shm). */
  get limits(): BridgeHost<ChildProcess>['limits'] {
    return this.#core.limits;
  }

  /** Bytes reserved by segments children created: of `child`, or of all together. */
  peerBytes(child?: ChildProcess): number {
    return this.#core.peerBytes(child);
  }

  /** Bytes the host has queued for `child` that it has not read yet. */
  unsentBytes(child: ChildProcess): number {
    return this.#transport.unsentBytes(child);
  }

  on<K extends keyof NodeHostEvents>(event: K, listener: NodeHostEvents[K]): this {
    this.#events.on(event, listener);
    return this;
  }

  off<K extends keyof NodeHostEvents>(event: K, listener: NodeHostEvents[K]): this {
    this.#events.off(event, listener);
    return this;
  }

  get closed(): boolean {
    return this.#core.closed;
  }

  /**
   * Unlinks every segment (children get `revoked`), then ends every child's bridge channel (their
   * clients close with ERR_SHM_BRIDGE_CLOSED); the children keep running. Idempotent.
   */
  close(): void {
    this.#core.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #checkOpen(): void {
    if (this.#core.closed) throw codedError('ERR_SHM_BRIDGE_CLOSED', 'the host is closed');
  }
}

export function createNodeHost(options?: HostOptions): NodeHost {
  return new NodeHost(options);
}
