/**
 * The child's side: `const client = await connect()` in a process started by `host.fork()` or
 * `host.spawn()`. Segments resolve to @shmkit/shm objects mapped in this process (zero-copy `buf`); a
 * `revoked` event closes them (their views read as length 0) before its listeners run. The bridge's
 * channel keeps the child alive while the client is open: call `client.close()` when done (the host
 * then treats this child as gone: the segments it created are unlinked).
 */
import { FrameRing, SharedMemory } from '@shmkit/shm';
import { BridgeClient, revokedWhileAttaching, type ClientEvents } from '../core/client';
import { codedError } from '../core/errors';
import type { AttachResult, HelloResult, ListEntry } from '../core/protocol';
import { FD_ENV, openInheritedChannel, SocketClientTransport } from './channel';

export interface ConnectOptions {
  /** Milliseconds to wait for each reply (and for the host's hello). Default 10000. */
  timeoutMs?: number | undefined;
}

type Mapping = SharedMemory | FrameRing;

export class NodeClient {
  readonly #client: BridgeClient;
  readonly #handles = new Map<Mapping, number>();
  /** What the host said in hello. */
  readonly host: HelloResult;

  /** @internal use connect() */
  constructor(client: BridgeClient, hello: HelloResult) {
    this.#client = client;
    this.host = hello;
  }

  /** Maps a segment this child owns or was granted. `readonly` omitted: as granted. */
  async attach(name: string, options: { readonly?: boolean | undefined } = {}): Promise<SharedMemory> {
    const result = await this.#client.attach(name, options);
    return this.#map(result, () => SharedMemory.attach(result.osName, { readonly: result.readonly }));
  }

  /** Creates a segment owned by this child (unlinked when it exits) and maps it read-write. */
  async create(name: string, size: number): Promise<SharedMemory> {
    const result = await this.#client.create(name, size);
    return this.#map(result, () => SharedMemory.attach(result.osName));
  }

  /** Attaches a reader to a FrameRing the host created (read-only unless asked and granted otherwise). */
  async attachFrameRing(name: string, options: { readonly?: boolean | undefined } = {}): Promise<FrameRing> {
    const result = await this.#client.attach(name, { readonly: options.readonly ?? true });
    if (result.kind !== 'frame-ring') {
      await this.#client.detach(result.handle).catch(() => undefined);
      throw codedError('ERR_INVALID_ARG_VALUE', `segment ${name} is not a FrameRing: use attach()`, TypeError);
    }
    return this.#map(result, () => FrameRing.attach(result.osName, { readonly: result.readonly }));
  }

  /**
   * Creates a FrameRing owned by this child (in its namespace; unlinked when it exits) and returns
   * its writer end: readers the host grants it to see this process as the writer (they get
   * ERR_SHM_RING_WRITER_GONE if it dies). The host must be told who may read it: it emits
   * `segment-created`, and the app grants the ring (`host.grant(name, peer, { namespace: child })`).
   */
  async createFrameRing(name: string, options: { slots: number; slotBytes: number }): Promise<FrameRing> {
    const result = await this.#client.createFrameRing(name, options);
    return this.#map(result, () => FrameRing.attach(result.osName, { writer: true }));
  }

  /** Closes a mapping this client handed out and tells the host. */
  async detach(mapping: Mapping): Promise<void> {
    const handle = this.#handles.get(mapping);
    if (handle === undefined) {
      throw codedError('ERR_SHM_BRIDGE_UNKNOWN_HANDLE', 'not a mapping of this client (or already detached)');
    }
    await this.#client.detach(handle);
  }

  /** Unlinks a segment this child owns. */
  release(name: string): Promise<void> {
    return this.#client.release(name);
  }

  list(): Promise<ListEntry[]> {
    return this.#client.list();
  }

  on<K extends keyof ClientEvents>(event: K, listener: ClientEvents[K]): this {
    this.#client.on(event, listener);
    return this;
  }

  off<K extends keyof ClientEvents>(event: K, listener: ClientEvents[K]): this {
    this.#client.off(event, listener);
    return this;
  }

  get closed(): boolean {
    return this.#client.closed;
  }

  /** Closes every mapping it handed out, tells the host, and ends the bridge channel (the host then treats this process as gone). Idempotent. */
  close(): void {
    this.#client.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #map<T extends Mapping>(result: AttachResult, open: () => T): T {
    let mapping: T;
    try {
      mapping = open();
    } catch (error) {
      // e.g. ENOENT: the owner went between the reply and the mapping; do not keep the attachment
      this.#client.detach(result.handle).catch(() => undefined);
      throw error;
    }
    this.#handles.set(mapping, result.handle);
    const revoked = this.#client.track(result.handle, () => {
      this.#handles.delete(mapping);
      mapping.close();
    });
    if (revoked === null) return mapping;
    // revoked in the same breath as the reply: the mapping is closed already
    throw revokedWhileAttaching(result.name, revoked);
  }
}

/**
 * Connects to the host that started this process (`host.fork()` / `host.spawn()`), over the channel
 * it passed as descriptor SHMKIT_BRIDGE_FD (taken once: a second connect() in the same process, and
 * processes this one starts, find none). Rejects with ERR_SHM_BRIDGE_NO_HOST when there is no such
 * channel or the host does not answer in time.
 */
export async function connect(options: ConnectOptions = {}): Promise<NodeClient> {
  if (options === null || typeof options !== 'object') throw codedError('ERR_INVALID_ARG_TYPE', 'options must be an object', TypeError);
  const socket = openInheritedChannel();
  if (socket === null) {
    throw codedError(
      'ERR_SHM_BRIDGE_NO_HOST',
      `this process has no bridge channel (no usable ${FD_ENV} descriptor): start it with host.fork() or host.spawn() ` +
        'from createNodeHost() of @shmkit/electron-bridge/node, and call connect() once',
    );
  }
  const client = new BridgeClient(new SocketClientTransport(socket), { timeoutMs: options.timeoutMs });
  try {
    const hello = await client.hello();
    return new NodeClient(client, hello);
  } catch (error) {
    client.close();
    const code = (error as { code?: unknown }).code;
    if (code === 'ERR_SHM_BRIDGE_TIMEOUT' || code === 'ERR_SHM_BRIDGE_CLOSED') {
      throw codedError(
        'ERR_SHM_BRIDGE_NO_HOST',
        `the parent process did not answer as a bridge host (${code}): start this process with host.fork() or host.spawn() from createNodeHost()`,
      );
    }
    throw error;
  }
}
