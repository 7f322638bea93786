/** The preload's client transport: requests by ipcRenderer.invoke, events by ipcRenderer.on. */
import { PROTOCOL_VERSION, type Request } from '../core/protocol';
import type { ClientTransport, ClientTransportHandlers } from '../core/transport';
import { EVENT_CHANNEL, REQUEST_CHANNEL } from '../main/channels';
import type { IpcRendererLike } from '../shapes';

export type { IpcRendererLike } from '../shapes';

/** A random id for this document (this preload's world), sent with every request: 128 bits, hex. */
export function newDocumentId(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export class IpcClientTransport implements ClientTransport {
  readonly #ipc: IpcRendererLike;
  /** Tells the host which document speaks: a new one replaces the old one's attachments. */
  readonly #document = newDocumentId();
  #handlers: ClientTransportHandlers | null = null;
  readonly #onEvent = (_event: unknown, message: unknown) => this.#handlers?.message(message);

  constructor(ipcRenderer: IpcRendererLike) {
    this.#ipc = ipcRenderer;
  }

  listen(handlers: ClientTransportHandlers): void {
    this.#handlers = handlers;
    this.#ipc.on(EVENT_CHANNEL, this.#onEvent);
  }

  send(message: Request): void {
    this.#ipc.invoke(REQUEST_CHANNEL, message, this.#document).then(
      (reply: unknown) => this.#handlers?.message(reply),
      (error: unknown) => {
        // invoke() rejects when no handler is registered (no host) or the main process failed the call.
        const text = String((error as Error)?.message ?? error);
        const code = /No handler registered/i.test(text) ? 'ERR_SHM_BRIDGE_NO_HOST' : 'ERR_SHM_BRIDGE_CLOSED';
        this.#handlers?.message({ v: PROTOCOL_VERSION, id: message.id, ok: false, error: { name: 'Error', code, message: text } });
      },
    );
  }

  close(): void {
    this.#ipc.removeListener(EVENT_CHANNEL, this.#onEvent);
    this.#handlers = null;
  }
}
