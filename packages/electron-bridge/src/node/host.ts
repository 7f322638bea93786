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
import type { ChildProcess, ForkOptions, SpawnOptions } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { FrameRing, SharedMemory } from '@shmkit/shm';
import { BridgeHost, type CreatedInfo, type CreateOptions, type FrameRingOptions, type HostOptions, type NamespaceOption, type SegmentInfo } from '../core/host';
import { codedError, type CodedError } from '../core/errors';
import { ChildTransport, forkPeer, spawnPeer } from './children';

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
    return forkPeer(this.#transport, modulePath, args, options);
  }

  /**
   * `child_process.spawn()` of any program, which becomes a peer: it finds its bridge channel as the
   * descriptor named by the environment variable SHMKIT_BRIDGE_FD (docs/bridge-protocol.md). No Node
   * IPC channel is opened.
   */
  spawn(command: string, args?: readonly string[], options?: SpawnOptions): ChildProcess {
    this.#checkOpen();
    return spawnPeer(this.#transport, command, args, options);
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
