/** The preload's client transport: requests by ipcRenderer.invoke, events by ipcRenderer.on. */
import type { IpcRenderer, IpcRendererEvent } from 'electron';
import { PROTOCOL_VERSION, type Request } from '../core/protocol';
import type { ClientTransport, ClientTransportHandlers } from '../core/transport';
import { EVENT_CHANNEL, REQUEST_CHANNEL } from '../main/channels';

/** The parts of `ipcRenderer` the preload uses (Electron's own ipcRenderer is one). */
export interface IpcRendererLike {
  invoke: IpcRenderer['invoke'];
  on(channel: string, listener: (event: IpcRendererEvent, ...args: any[]) => void): unknown;
  removeListener(channel: string, listener: (event: IpcRendererEvent, ...args: any[]) => void): unknown;
}

export class IpcClientTransport implements ClientTransport {
  readonly #ipc: IpcRendererLike;
  #handlers: ClientTransportHandlers | null = null;
  readonly #onEvent = (_event: IpcRendererEvent, message: unknown) => this.#handlers?.message(message);

  constructor(ipcRenderer: IpcRendererLike) {
    this.#ipc = ipcRenderer;
  }

  listen(handlers: ClientTransportHandlers): void {
    this.#handlers = handlers;
    this.#ipc.on(EVENT_CHANNEL, this.#onEvent);
  }

  send(message: Request): void {
    this.#ipc.invoke(REQUEST_CHANNEL, message).then(
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
