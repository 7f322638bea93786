/**
 * Handing memory from the preload's isolated world to page code without a copy.
 *
 * contextBridge copies every buffer and refuses SharedArrayBuffer, but both worlds share the window
 * and may post to it. The protocol, per offer (one random token):
 *   1. preload, offer*(): makes a MessageChannel and posts the payload on its first port at once (a
 *      shared WebAssembly.Memory / SharedArrayBuffer: the same memory; an ArrayBuffer: in the transfer
 *      list, moved and detached here). So a page that may not receive shared memory fails here, now.
 *      Resolves `{ token }` (plain data: crosses contextBridge).
 *   2. page, receive*(): listens on the window, then posts `{ shmkit, kind: 'claim', token }` on it.
 *   3. preload: on that claim (from this window, with its token, once) posts the second port on the
 *      window: `{ shmkit, kind: 'port', token }` + the port. The queued payload arrives on it.
 * `window.postMessage` reaches every world's listeners, the sender's own too: each side reacts only
 * to the other side's kind, from its own window, with its token. Everything the page posts is
 * untrusted and checked; the payload on the private port is checked by the page too.
 */
import { codedError, type CodedError } from '../core/errors.js';
import type { Offer, OfferOptions, ReceiveOptions, SharedReceived, TransferReceived } from './types.js';

const PROTOCOL = 'shmkit-handoff/1';
const TOKEN_PATTERN = /^[0-9a-f]{32}$/;
const DEFAULT_OFFER_TIMEOUT_MS = 10_000;
const DEFAULT_RECEIVE_TIMEOUT_MS = 5_000;
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** The message of ERR_SHM_SAB_UNAVAILABLE: both ways to allow it. */
export const SAB_UNAVAILABLE_MESSAGE =
  'this page may not receive a SharedArrayBuffer (it is not cross-origin isolated and the ' +
  'SharedArrayBuffer feature is off). Fix one of: (1) in the main process, before app "ready", call ' +
  "app.commandLine.appendSwitch('enable-features', 'SharedArrayBuffer') (enableSharedArrayBuffer() " +
  'from @shmkit/electron-bridge/main does it); or (2) serve the page cross-origin isolated, with the ' +
  "headers 'Cross-Origin-Opener-Policy: same-origin' and 'Cross-Origin-Embedder-Policy: require-corp' " +
  '(for app pages, through protocol.handle; file:// cannot send headers)';

type Tag = (value: unknown) => string;
const tagOf: Tag = (value) => Object.prototype.toString.call(value);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkWindow(win: unknown): asserts win is Window {
  if (
    !isRecord(win) ||
    typeof win.postMessage !== 'function' ||
    typeof win.addEventListener !== 'function' ||
    typeof win.removeEventListener !== 'function'
  ) {
    throw codedError('ERR_INVALID_ARG_TYPE', 'The "win" argument must be a Window', TypeError);
  }
}

function checkTimeout(value: unknown, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > MAX_TIMEOUT_MS) {
    throw codedError('ERR_OUT_OF_RANGE', `${name} must be a number in (0, ${MAX_TIMEOUT_MS}] (got ${String(value)})`, RangeError);
  }
  return value;
}

function checkOptions(value: unknown): Record<string, unknown> {
  if (value === undefined) return {};
  if (!isRecord(value)) throw codedError('ERR_INVALID_ARG_TYPE', 'The "opts" argument must be an object', TypeError);
  return value;
}

/** meta must be a plain, structured-cloneable object (it is posted to the page). */
function checkMeta(meta: unknown): Record<string, unknown> {
  if (!isRecord(meta)) throw codedError('ERR_INVALID_ARG_TYPE', 'The "meta" argument must be a plain object', TypeError);
  try {
    structuredClone(meta);
  } catch (error) {
    throw codedError('ERR_INVALID_ARG_VALUE', `The "meta" argument cannot be posted: ${String((error as Error)?.message ?? error)}`);
  }
  return meta;
}

function newToken(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The SharedArrayBuffer behind a shared WebAssembly.Memory or itself; throws for anything else. */
function sharedBufferOf(memory: unknown): SharedArrayBuffer {
  if (tagOf(memory) === '[object SharedArrayBuffer]') return memory as SharedArrayBuffer;
  if (tagOf(memory) === '[object WebAssembly.Memory]') {
    const buffer: unknown = (memory as WebAssembly.Memory).buffer;
    if (tagOf(buffer) === '[object SharedArrayBuffer]') return buffer as SharedArrayBuffer;
    throw codedError(
      'ERR_INVALID_ARG_VALUE',
      'The "memory" argument must be a shared WebAssembly.Memory (created with shared: true): a non-shared one cannot be posted',
    );
  }
  throw codedError('ERR_INVALID_ARG_TYPE', 'The "memory" argument must be a shared WebAssembly.Memory or a SharedArrayBuffer', TypeError);
}

/** Step 3: waits for the page's claim of `token`, then hands it `channel.port2`. Drops the offer after `timeoutMs`. */
function awaitClaim(win: Window, token: string, channel: MessageChannel, timeoutMs: number): void {
  const onMessage = (event: MessageEvent): void => {
    if (event.source !== win) return;
    const data: unknown = event.data;
    if (!isRecord(data) || data.shmkit !== PROTOCOL || data.kind !== 'claim' || data.token !== token) return;
    done();
    win.postMessage({ shmkit: PROTOCOL, kind: 'port', token }, { targetOrigin: '*', transfer: [channel.port2] });
    channel.port1.close(); // what was posted on it is already queued for port2
  };
  const timer = setTimeout(() => {
    done();
    channel.port1.close();
    channel.port2.close(); // drops the queued payload with it
  }, timeoutMs);
  const done = (): void => {
    clearTimeout(timer);
    win.removeEventListener('message', onMessage);
  };
  win.addEventListener('message', onMessage);
}

/**
 * Preload world: offers `range` of a shared memory to the page, which gets a view over the same bytes.
 * Rejects with ERR_SHM_SAB_UNAVAILABLE when this page may not receive shared memory.
 */
export async function offerShared(
  win: Window,
  memory: WebAssembly.Memory | SharedArrayBuffer,
  range: { byteOffset: number; byteLength: number },
  meta: Record<string, unknown>,
  opts?: OfferOptions,
): Promise<Offer> {
  checkWindow(win);
  const buffer = sharedBufferOf(memory);
  if (!isRecord(range)) throw codedError('ERR_INVALID_ARG_TYPE', 'The "range" argument must be { byteOffset, byteLength }', TypeError);
  const { byteOffset, byteLength } = range;
  if (
    !Number.isSafeInteger(byteOffset) ||
    !Number.isSafeInteger(byteLength) ||
    byteOffset < 0 ||
    byteLength < 0 ||
    byteOffset + byteLength > buffer.byteLength
  ) {
    throw codedError(
      'ERR_OUT_OF_RANGE',
      `range { byteOffset: ${String(byteOffset)}, byteLength: ${String(byteLength)} } must lie within the memory's ${buffer.byteLength} bytes`,
      RangeError,
    );
  }
  const checkedMeta = checkMeta(meta);
  const timeoutMs = checkTimeout(checkOptions(opts).timeoutMs, DEFAULT_OFFER_TIMEOUT_MS, 'opts.timeoutMs');
  const token = newToken();
  const channel = new MessageChannel();
  try {
    channel.port1.postMessage({ shmkit: PROTOCOL, kind: 'shared', token, memory, byteOffset, byteLength, meta: checkedMeta });
  } catch (error) {
    channel.port1.close();
    channel.port2.close();
    // meta was cloned above, so a DataCloneError here is about the shared memory.
    if ((error as Error)?.name === 'DataCloneError') throw codedError('ERR_SHM_SAB_UNAVAILABLE', SAB_UNAVAILABLE_MESSAGE);
    throw error;
  }
  awaitClaim(win, token, channel, timeoutMs);
  return { token };
}

/** Preload world: moves `buffer` to the page (detached here at once; never cloned). */
export async function offerTransfer(
  win: Window,
  buffer: ArrayBuffer,
  meta: Record<string, unknown>,
  opts?: OfferOptions,
): Promise<Offer> {
  checkWindow(win);
  if (tagOf(buffer) !== '[object ArrayBuffer]') {
    throw codedError('ERR_INVALID_ARG_TYPE', 'The "buffer" argument must be an ArrayBuffer', TypeError);
  }
  if ((buffer as ArrayBuffer & { detached?: boolean }).detached === true) {
    throw codedError('ERR_INVALID_ARG_VALUE', 'The "buffer" argument is detached (already transferred)');
  }
  const checkedMeta = checkMeta(meta);
  const timeoutMs = checkTimeout(checkOptions(opts).timeoutMs, DEFAULT_OFFER_TIMEOUT_MS, 'opts.timeoutMs');
  const token = newToken();
  const channel = new MessageChannel();
  channel.port1.postMessage({ shmkit: PROTOCOL, kind: 'transfer', token, buffer, meta: checkedMeta }, [buffer]);
  awaitClaim(win, token, channel, timeoutMs);
  return { token };
}

/** Steps 2 and 3 on the page side: claims `offer` and resolves with the checked payload from its port. */
function receive<T>(
  win: Window,
  offer: Offer,
  opts: ReceiveOptions | undefined,
  kind: 'shared' | 'transfer',
  accept: (data: Record<string, unknown>) => T,
): Promise<T> {
  let timeoutMs: number;
  try {
    checkWindow(win);
    if (!isRecord(offer) || typeof offer.token !== 'string' || !TOKEN_PATTERN.test(offer.token)) {
      throw codedError('ERR_INVALID_ARG_VALUE', 'The "offer" argument must be an offer returned by the preload');
    }
    timeoutMs = checkTimeout(checkOptions(opts).timeoutMs, DEFAULT_RECEIVE_TIMEOUT_MS, 'opts.timeoutMs');
  } catch (error) {
    return Promise.reject(error);
  }
  const token = offer.token;
  return new Promise<T>((resolve, reject) => {
    let port: MessagePort | null = null;
    const finish = (error: CodedError | null, value?: T): void => {
      clearTimeout(timer);
      win.removeEventListener('message', onWindow);
      if (port) {
        port.onmessage = null;
        port.onmessageerror = null;
        port.close();
      }
      if (error) reject(error);
      else resolve(value as T);
    };
    const timer = setTimeout(
      () =>
        finish(
          codedError(
            'ERR_SHM_HANDOFF_TIMEOUT',
            `no ${kind} payload for this offer within ${timeoutMs} ms (the offer expired, was already claimed, or came from another window)`,
          ),
        ),
      timeoutMs,
    );
    const onPort = (event: MessageEvent): void => {
      const data: unknown = event.data;
      if (!isRecord(data) || data.shmkit !== PROTOCOL || data.kind !== kind || data.token !== token || !isRecord(data.meta)) {
        finish(codedError('ERR_SHM_BRIDGE_PROTOCOL', `malformed ${kind} payload on the handoff port`));
        return;
      }
      let value: T;
      try {
        value = accept(data);
      } catch (error) {
        finish(error as CodedError);
        return;
      }
      finish(null, value);
    };
    const onWindow = (event: MessageEvent): void => {
      if (event.source !== win || port) return;
      const data: unknown = event.data;
      if (!isRecord(data) || data.shmkit !== PROTOCOL || data.kind !== 'port' || data.token !== token) return;
      if (event.ports.length !== 1) return;
      port = event.ports[0]!;
      win.removeEventListener('message', onWindow);
      port.onmessage = onPort;
      // A payload this page cannot deserialize (shared memory in a page that may not hold it).
      port.onmessageerror = () => finish(codedError('ERR_SHM_SAB_UNAVAILABLE', SAB_UNAVAILABLE_MESSAGE));
    };
    win.addEventListener('message', onWindow);
    win.postMessage({ shmkit: PROTOCOL, kind: 'claim', token }, '*');
  });
}

/** Page world: receives what `offerShared` offered: a view over the same memory (no copy; Atomics work). */
export function receiveShared(win: Window, offer: Offer, opts?: ReceiveOptions): Promise<SharedReceived> {
  return receive(win, offer, opts, 'shared', (data) => {
    const memory = tagOf(data.memory) === '[object WebAssembly.Memory]' ? (data.memory as WebAssembly.Memory) : null;
    const buffer: unknown = memory ? memory.buffer : data.memory;
    const { byteOffset, byteLength } = data;
    if (
      tagOf(buffer) !== '[object SharedArrayBuffer]' ||
      !Number.isSafeInteger(byteOffset) ||
      !Number.isSafeInteger(byteLength) ||
      (byteOffset as number) < 0 ||
      (byteLength as number) < 0 ||
      (byteOffset as number) + (byteLength as number) > (buffer as SharedArrayBuffer).byteLength
    ) {
      throw codedError('ERR_SHM_BRIDGE_PROTOCOL', 'malformed shared payload on the handoff port (memory or range)');
    }
    const sab = buffer as SharedArrayBuffer;
    return {
      bytes: new Uint8Array(sab, byteOffset as number, byteLength as number),
      memory,
      buffer: sab,
      meta: data.meta as Record<string, unknown>,
    };
  });
}

/** Page world: receives the buffer `offerTransfer` moved here. */
export function receiveTransfer(win: Window, offer: Offer, opts?: ReceiveOptions): Promise<TransferReceived> {
  return receive(win, offer, opts, 'transfer', (data) => {
    if (tagOf(data.buffer) !== '[object ArrayBuffer]') {
      throw codedError('ERR_SHM_BRIDGE_PROTOCOL', 'malformed transfer payload on the handoff port (buffer)');
    }
    return { buffer: data.buffer as ArrayBuffer, meta: data.meta as Record<string, unknown> };
  });
}
