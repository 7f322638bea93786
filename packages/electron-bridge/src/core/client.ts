/**
 * The peer's protocol client, shared by the Node child's `connect()` and the Electron preload:
 * request ids and reply correlation, a timeout per request (ERR_SHM_BRIDGE_TIMEOUT), error replies
 * rebuilt with their `code`, and `revoked` events. It maps nothing itself: the caller maps the OS
 * name of an AttachResult with @shmkit/shm and registers how to close it with `track(handle, …)`;
 * when a `revoked` event names that handle the client closes it before the listeners run.
 */
import { codedError, fromWireError, type CodedError } from './errors';
import {
  isAttachResult,
  isFrameResult,
  isPlainObject,
  MAX_COPY_BYTES,
  MAX_RING_SLOTS,
  nameProblem,
  parseHostMessage,
  PROTOCOL_VERSION,
  type AttachResult,
  type FrameResult,
  type HelloResult,
  type ListEntry,
  type Op,
  type Request,
  type RequestBody,
  type ResultOf,
  type RevokeReason,
} from './protocol';
import type { ClientTransport } from './transport';

export interface ClientOptions {
  /** Milliseconds before a request fails with ERR_SHM_BRIDGE_TIMEOUT. Default 10000. */
  timeoutMs?: number | undefined;
}

/** What `revoked` listeners receive. The handles were closed before the listeners run. */
export interface RevokedInfo {
  name: string;
  reason: RevokeReason;
  handles: number[];
}

export interface ClientEvents {
  revoked: (info: RevokedInfo) => void;
  /**
   * The channel to the host is gone (or close() was called). `reason` when the host ended it because
   * of this peer (ERR_SHM_BRIDGE_PROTOCOL for a malformed frame, ERR_SHM_BRIDGE_LIMIT for a peer that
   * did not read) or the host's stream broke; undefined for a plain close.
   */
  closed: (reason?: CodedError) => void;
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: CodedError): void;
  timer: ReturnType<typeof setTimeout>;
  op: Op;
}


function argError(code: string, message: string, Ctor: TypeErrorConstructor | RangeErrorConstructor = TypeError): CodedError {
  return codedError(code, message, Ctor);
}

/**
 * The error an attach fails with when its handle was revoked before the attach could track it (a
 * revoked event that overtook the attach's reply; `BridgeClient.track` returned the reason).
 */
export function revokedWhileAttaching(name: string, reason: RevokeReason): CodedError {
  const code =
    reason === 'revoked' || reason === 'grant-changed' ? 'ERR_SHM_BRIDGE_NOT_GRANTED' : reason === 'host-closed' ? 'ERR_SHM_BRIDGE_CLOSED' : 'ERR_SHM_BRIDGE_NOT_FOUND';
  return codedError(code, `segment ${name} was revoked (${reason}) while it was being attached`);
}

export class BridgeClient {
  readonly #transport: ClientTransport;
  readonly #timeoutMs: number;
  readonly #pending = new Map<number, Pending>();
  readonly #handles = new Map<number, () => void>();
  /** Handles revoked before they were tracked (the event overtook the attach continuation), bounded. */
  readonly #revokedEarly = new Map<number, RevokeReason>();
  readonly #listeners: { [K in keyof ClientEvents]: Set<ClientEvents[K]> } = { revoked: new Set(), closed: new Set() };
  #nextId = 1;
  #closed = false;
  /** Entries in one page of the host's list reply (from hello); undefined: the host does not page. */
  #listPageSize: number | undefined;

  constructor(transport: ClientTransport, options: ClientOptions = {}) {
    const timeoutMs = options.timeoutMs ?? 10_000;
    if (typeof timeoutMs !== 'number' || !(timeoutMs > 0)) {
      throw argError('ERR_OUT_OF_RANGE', `options.timeoutMs must be a positive number, got ${String(timeoutMs)}`, RangeError);
    }
    this.#transport = transport;
    this.#timeoutMs = timeoutMs;
    transport.listen({ message: (data) => this.#receive(data), closed: (reason) => this.#shutdown(reason) });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Number of requests awaiting a reply. */
  get pending(): number {
    return this.#pending.size;
  }

  on<K extends keyof ClientEvents>(event: K, listener: ClientEvents[K]): this {
    if (!(event in this.#listeners)) throw argError('ERR_INVALID_ARG_VALUE', `unknown event ${String(event)}`);
    if (typeof listener !== 'function') throw argError('ERR_INVALID_ARG_TYPE', 'listener must be a function');
    (this.#listeners[event] as Set<ClientEvents[K]>).add(listener);
    return this;
  }

  off<K extends keyof ClientEvents>(event: K, listener: ClientEvents[K]): this {
    (this.#listeners[event] as Set<ClientEvents[K]> | undefined)?.delete(listener);
    return this;
  }

  /**
   * Registers how to close the mapping of `handle` (on revoked, detach and close()). Returns null, or
   * the reason when the handle was already revoked (a `revoked` event can arrive in the same read as
   * the attach reply, before the caller could track it): then `close` has been called already.
   */
  track(handle: number, close: () => void): RevokeReason | null {
    const reason = this.#revokedEarly.get(handle);
    if (reason !== undefined || this.#closed) {
      this.#revokedEarly.delete(handle);
      close();
      return reason ?? 'host-closed';
    }
    this.#handles.set(handle, close);
    return null;
  }

  /** Sends one request and resolves with its result, or rejects with the coded error of the reply. */
  request<O extends Op>(body: Extract<RequestBody, { op: O }>): Promise<ResultOf[O]> {
    if (this.#closed) return Promise.reject(codedError('ERR_SHM_BRIDGE_CLOSED', 'the bridge client is closed'));
    const id = this.#nextId++;
    const message = { v: PROTOCOL_VERSION, id, ...body } as Request;
    return new Promise<ResultOf[O]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        // The host may still carry it out. Requests are served in order, so a cancel sent now is served
        // after it, and undoes exactly what it did (nothing, if it failed): a retry finds the name free.
        if (body.op === 'attach' || body.op === 'create' || body.op === 'createFrameRing') this.#sendCancel(id);
        reject(codedError('ERR_SHM_BRIDGE_TIMEOUT', `no reply to ${body.op} from the host within ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer, op: body.op });
      try {
        this.#transport.send(message);
      } catch (error) {
        clearTimeout(timer);
        this.#pending.delete(id);
        reject(codedError('ERR_SHM_BRIDGE_CLOSED', `cannot reach the host: ${(error as Error)?.message ?? String(error)}`));
      }
    });
  }

  async hello(): Promise<HelloResult> {
    const hello = await this.request<'hello'>({ op: 'hello' });
    const size = (hello as Partial<HelloResult> | null)?.listPageSize;
    // Hosts before paging send no page size and never page.
    if (typeof size === 'number' && Number.isSafeInteger(size) && size > 0) this.#listPageSize = size;
    return hello;
  }

  /**
   * Asks for a segment; `readonly` undefined means "as granted". The caller maps `osName` and calls
   * track(); with `copy: true` it maps nothing and uses read/write/frame instead (the copy path).
   */
  attach(name: string, options: { readonly?: boolean | undefined; copy?: boolean | undefined } = {}): Promise<AttachResult> {
    const problem = nameProblem(name);
    if (problem) return Promise.reject(argError('ERR_INVALID_ARG_VALUE', `name ${problem}`));
    if (options === null || typeof options !== 'object') return Promise.reject(argError('ERR_INVALID_ARG_TYPE', 'options must be an object'));
    const { readonly, copy } = options;
    if (readonly !== undefined && typeof readonly !== 'boolean') {
      return Promise.reject(argError('ERR_INVALID_ARG_TYPE', 'options.readonly must be a boolean'));
    }
    const body: Extract<RequestBody, { op: 'attach' }> = { op: 'attach', name };
    if (readonly !== undefined) body.readonly = readonly;
    if (copy === true) body.copy = true;
    return this.request<'attach'>(body).then((r) => this.#checkAttach(r));
  }

  /** Creates a segment owned by this peer (unlinked when this peer goes) and attaches it read-write (`copy`: as a copy attachment). */
  create(name: string, size: number, options: { copy?: boolean | undefined } = {}): Promise<AttachResult> {
    const problem = nameProblem(name);
    if (problem) return Promise.reject(argError('ERR_INVALID_ARG_VALUE', `name ${problem}`));
    if (typeof size !== 'number') return Promise.reject(argError('ERR_INVALID_ARG_TYPE', 'size must be a number'));
    if (!Number.isSafeInteger(size) || size < 1) {
      return Promise.reject(argError('ERR_OUT_OF_RANGE', `size must be a positive safe integer, got ${size}`, RangeError));
    }
    const body: Extract<RequestBody, { op: 'create' }> = { op: 'create', name, size };
    if (options?.copy === true) body.copy = true;
    return this.request<'create'>(body).then((r) => this.#checkAttach(r));
  }

  /**
   * Creates a FrameRing owned by this peer, formatted with this peer's process as its writer, and
   * attaches it read-write. Only a peer process the host can watch may (a child started with
   * fork()/spawn(); ERR_SHM_BRIDGE_RING_UNAVAILABLE otherwise).
   */
  createFrameRing(name: string, options: { slots: number; slotBytes: number }): Promise<AttachResult> {
    const problem = nameProblem(name);
    if (problem) return Promise.reject(argError('ERR_INVALID_ARG_VALUE', `name ${problem}`));
    if (options === null || typeof options !== 'object') return Promise.reject(argError('ERR_INVALID_ARG_TYPE', 'options must be an object with slots and slotBytes'));
    const { slots, slotBytes } = options;
    if (typeof slots !== 'number' || !Number.isSafeInteger(slots) || slots < 2 || slots > MAX_RING_SLOTS) {
      return Promise.reject(argError('ERR_OUT_OF_RANGE', `options.slots must be an integer from 2 to ${MAX_RING_SLOTS}, got ${String(slots)}`, RangeError));
    }
    if (typeof slotBytes !== 'number' || !Number.isSafeInteger(slotBytes) || slotBytes < 1) {
      return Promise.reject(argError('ERR_OUT_OF_RANGE', `options.slotBytes must be a positive safe integer, got ${String(slotBytes)}`, RangeError));
    }
    return this.request<'createFrameRing'>({ op: 'createFrameRing', name, slots, slotBytes }).then((r) => this.#checkAttach(r));
  }

  /**
   * The copy path: `length` bytes at `offset` of a copy attachment, copied by the host into a buffer of
   * exactly that size (reads over MAX_COPY_BYTES are split into several requests).
   */
  async read(handle: number, offset: number, length: number): Promise<Uint8Array> {
    if (length <= MAX_COPY_BYTES) return this.#readOne(handle, offset, length);
    const out = new Uint8Array(length);
    for (let done = 0; done < length; done += MAX_COPY_BYTES) {
      out.set(await this.#readOne(handle, offset + done, Math.min(MAX_COPY_BYTES, length - done)), done);
    }
    return out;
  }

  async #readOne(handle: number, offset: number, length: number): Promise<Uint8Array> {
    const result = await this.request<'read'>({ op: 'read', handle, offset, length });
    const bytes = isPlainObject(result) ? result.bytes : undefined;
    if (!(bytes instanceof Uint8Array) || bytes.byteLength !== length) throw codedError('ERR_SHM_BRIDGE_PROTOCOL', 'malformed read result from the host');
    return bytes;
  }

  /** The copy path: writes `bytes` at `offset` of a copy attachment; resolves to the count (split over MAX_COPY_BYTES). */
  async write(handle: number, offset: number, bytes: Uint8Array): Promise<number> {
    if (bytes.byteLength <= MAX_COPY_BYTES) return this.#writeOne(handle, offset, bytes);
    let written = 0;
    for (let done = 0; done < bytes.byteLength; done += MAX_COPY_BYTES) {
      written += await this.#writeOne(handle, offset + done, bytes.subarray(done, done + MAX_COPY_BYTES));
    }
    return written;
  }

  async #writeOne(handle: number, offset: number, bytes: Uint8Array): Promise<number> {
    const n = await this.request<'write'>({ op: 'write', handle, offset, bytes });
    if (typeof n !== 'number') throw codedError('ERR_SHM_BRIDGE_PROTOCOL', 'malformed write result from the host');
    return n;
  }

  /** The copy path: the newest frame of a copy attachment of a ring after frame number `after` (-1: any), or null. */
  async frame(handle: number, after: number): Promise<FrameResult | null> {
    const result = await this.request<'frame'>({ op: 'frame', handle, after });
    if (!isFrameResult(result)) throw codedError('ERR_SHM_BRIDGE_PROTOCOL', 'malformed frame result from the host');
    return result;
  }

  /** Closes the mapping registered for `handle` and tells the host. */
  async detach(handle: number): Promise<void> {
    this.#closeHandle(handle);
    await this.request<'detach'>({ op: 'detach', handle });
  }

  /** Unlinks a segment this peer owns; its grantees get `revoked`. */
  async release(name: string): Promise<void> {
    const problem = nameProblem(name);
    if (problem) throw argError('ERR_INVALID_ARG_VALUE', `name ${problem}`);
    await this.request<'release'>({ op: 'release', name });
  }

  /** The segments this peer may attach, sorted by name (every page of the host's paged reply). */
  async list(): Promise<ListEntry[]> {
    const all: ListEntry[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await this.request<'list'>(after === undefined ? { op: 'list' } : { op: 'list', after });
      if (!Array.isArray(page)) throw codedError('ERR_SHM_BRIDGE_PROTOCOL', 'malformed list reply from the host');
      all.push(...page);
      const last = page.at(-1) as ListEntry | undefined;
      // A short page is the last. A host that keeps sending full pages must move forward.
      if (page.length === 0 || last === undefined || typeof last.name !== 'string' || (after !== undefined && last.name <= after)) return all;
      if (page.length < (this.#listPageSize ?? Infinity)) return all;
      after = last.name;
    }
  }

  /** Closes every tracked mapping, tells the host (best effort), fails pending requests; idempotent. */
  close(): void {
    if (this.#closed) return;
    for (const handle of [...this.#handles.keys()]) {
      this.#closeHandle(handle);
      try {
        this.#transport.send({ v: PROTOCOL_VERSION, id: this.#nextId++, op: 'detach', handle });
      } catch {
        // the channel is gone: the host drops our attachments when it sees us go
      }
    }
    this.#shutdown();
  }

  #checkAttach(result: unknown): AttachResult {
    if (!isAttachResult(result)) throw codedError('ERR_SHM_BRIDGE_PROTOCOL', 'malformed attach result from the host');
    return result;
  }

  #closeHandle(handle: number): void {
    const close = this.#handles.get(handle);
    if (!close) return;
    this.#handles.delete(handle);
    try {
      close();
    } catch {
      // closing a mapping is idempotent and does not fail; a caller's closer that throws must not stop the others
    }
  }

  #rememberRevoked(handle: number, reason: RevokeReason): void {
    this.#revokedEarly.set(handle, reason);
    if (this.#revokedEarly.size > 1024) this.#revokedEarly.delete(this.#revokedEarly.keys().next().value as number);
  }

  #shutdown(reason?: CodedError): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const handle of [...this.#handles.keys()]) this.#closeHandle(handle);
    const why = reason === undefined ? '' : ` (${reason.code}: ${reason.message})`;
    for (const [id, p] of this.#pending) {
      clearTimeout(p.timer);
      this.#pending.delete(id);
      p.reject(codedError('ERR_SHM_BRIDGE_CLOSED', `the channel to the host closed before the reply to ${p.op}${why}`));
    }
    try {
      this.#transport.close();
    } finally {
      if (reason === undefined) this.#emit('closed');
      else this.#emit('closed', reason);
    }
  }

  /** Tells the host to undo request `id`, which this client gave up on; its reply is not awaited. */
  #sendCancel(id: number): void {
    if (this.#closed) return;
    try {
      this.#transport.send({ v: PROTOCOL_VERSION, id: this.#nextId++, op: 'cancel', request: id });
    } catch {
      // the channel is gone: so is everything the request did (the host drops a gone peer's state)
    }
  }

  #receive(data: unknown): void {
    if (this.#closed) return;
    let message;
    try {
      message = parseHostMessage(data);
    } catch (error) {
      // A malformed message that still names a pending request fails that request; anything else is dropped.
      const id = isPlainObject(data) && typeof data.id === 'number' ? data.id : null;
      const p = id === null ? undefined : this.#pending.get(id);
      if (p && id !== null) {
        clearTimeout(p.timer);
        this.#pending.delete(id);
        p.reject(error as CodedError);
      }
      return;
    }
    if ('event' in message && message.event === 'disconnect') {
      // the host ends this channel because of us: its last word
      this.#shutdown(fromWireError(message.error));
      return;
    }
    if ('event' in message) {
      for (const handle of message.handles) {
        if (this.#handles.has(handle)) this.#closeHandle(handle);
        else this.#rememberRevoked(handle, message.reason);
      }
      this.#emit('revoked', { name: message.name, reason: message.reason, handles: message.handles });
      return;
    }
    if (message.id === null) return;
    const p = this.#pending.get(message.id);
    if (!p) return; // a reply to a request that timed out (cancelled), or to a cancel
    clearTimeout(p.timer);
    this.#pending.delete(message.id);
    if (message.ok) p.resolve(message.result);
    else p.reject(fromWireError(message.error));
  }

  #emit<K extends keyof ClientEvents>(event: K, ...args: Parameters<ClientEvents[K]>): void {
    for (const listener of [...this.#listeners[event]]) {
      try {
        (listener as (...a: unknown[]) => void)(...args);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}
