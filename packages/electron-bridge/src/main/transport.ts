/**
 * The host's transport over Electron IPC. Requests arrive through `ipcMain.handle(REQUEST_CHANNEL)`
 * (so a reply reaches exactly the frame that asked); events go out with
 * `webContents.send(EVENT_CHANNEL)`. Peers are WebContents: a BrowserWindow's, a WebContentsView's
 * (in a BaseWindow or a BrowserWindow), or one the app names directly. A webContents becomes a peer
 * when the host names it (or its window or view) as owner or grantee, or when its main frame first
 * asks and its type is 'window' or 'browserView' (never a <webview> guest, an offscreen or a
 * background page). Registering binds the webContents' own lifecycle:
 *
 * - webContents 'destroyed'                           → gone (owner and grantee rules apply)
 * - webContents 'render-process-gone'                 → reset (the renderer's mappings died with it)
 * - a new document speaks                             → reset (the old page's attachments go)
 *
 * A new document is known for certain only when it speaks: each preload sends a random id of its
 * document with every request (the second argument of invoke). Navigation events are no guide:
 * 'did-start-navigation' fires before 'will-navigate' / beforeunload can cancel the navigation, so a
 * cancelled one (a download, a beforeunload that says no) would drop attachments the page still
 * uses. Requests of a document that has been replaced are refused.
 *
 * Every request's sender is checked first (src/main/sender.ts); a refused one gets an error reply
 * and never reaches the core.
 */
import type { IpcMainInvokeEvent, WebContents } from 'electron';
import { codedError, toWireError } from '../core/errors';
import { isPlainObject, PROTOCOL_VERSION, requestIdOf, type ErrorReply, type HostMessage } from '../core/protocol';
import type { Transport, TransportHandlers } from '../core/transport';
import { REQUEST_CHANNEL, EVENT_CHANNEL } from './channels';
import { checkSender } from './sender';
import type { IpcMainLike, Peer, WindowLookup } from '../shapes';

export type { IpcMainLike, WindowLookup } from '../shapes';
/**
 * What the app names as a peer: a BrowserWindow, a WebContentsView, or a WebContents itself. The peer
 * is its webContents; the app gets back the object it used.
 */
export type PeerLike = Peer;

/** The webContents types that may use the host: windows' and views' (not <webview> guests, offscreen, background pages). */
const SERVED_TYPES: ReadonlySet<string> = new Set(['window', 'browserView']);

/** The webContents of a window, a view, or a webContents; null for anything else. */
export function webContentsOf(value: unknown): WebContents | null {
  if (value === null || typeof value !== 'object') return null;
  const v = value as { webContents?: unknown; isDestroyed?: unknown; mainFrame?: unknown; send?: unknown };
  const candidate = 'mainFrame' in v && typeof v.send === 'function' ? v : v.webContents;
  if (candidate === null || typeof candidate !== 'object') return null;
  const wc = candidate as WebContents;
  return typeof wc.isDestroyed === 'function' && typeof wc.send === 'function' && typeof wc.on === 'function' ? wc : null;
}

type Resolve = (reply: HostMessage) => void;

interface PeerEntry {
  /** The object the app knows this peer by (the one it named, or the webContents' BrowserWindow). */
  object: PeerLike;
  /** invoke()s awaiting the core's reply, by request id. */
  pending: Map<number, Resolve>;
  /** The id of the document that spoke last (null: none yet), and those it replaced (bounded). */
  document: string | null;
  retired: Set<string>;
  unbind(): void;
}

/** A document id as preloads make them: 8–64 letters, digits, '-' or '_'. */
const DOCUMENT_ID = /^[A-Za-z0-9_-]{8,64}$/;
/** Replaced document ids remembered per window, to refuse their late requests. */
const MAX_RETIRED = 32;

/** The `op` of a raw request, if it is a plain object with a string op (for the detached-frame rule). */
function opOf(raw: unknown): string | null {
  if (!isPlainObject(raw)) return null;
  const desc = Object.getOwnPropertyDescriptor(raw, 'op');
  return desc && 'value' in desc && typeof desc.value === 'string' ? desc.value : null;
}

function errorReply(id: number | null, error: unknown): ErrorReply {
  return { v: PROTOCOL_VERSION, id, ok: false, error: toWireError(error) };
}

export class ElectronTransport implements Transport<WebContents> {
  /** Electron's IPC structured-clones: replies and requests may carry Uint8Arrays (the copy path). */
  readonly binary = true;
  readonly #ipcMain: IpcMainLike;
  readonly #windows: WindowLookup;
  readonly #allowed: (origin: string) => boolean;
  readonly #peers = new Map<WebContents, PeerEntry>();
  #handlers: TransportHandlers<WebContents> | null = null;
  /** The invoke being handled right now: catches a synchronous reply that has no usable id. */
  #current: { peer: WebContents; resolve: Resolve } | null = null;

  constructor(ipcMain: IpcMainLike, windows: WindowLookup, allowed: (origin: string) => boolean) {
    this.#ipcMain = ipcMain;
    this.#windows = windows;
    this.#allowed = allowed;
  }

  listen(handlers: TransportHandlers<WebContents>): void {
    try {
      this.#ipcMain.handle(REQUEST_CHANNEL, (event, data, document) => this.#invoke(event, data, document));
    } catch (error) {
      // Electron: "Attempted to register a second handler for 'shmkit:bridge'"
      throw codedError(
        'ERR_SHM_BRIDGE_HOST_EXISTS',
        `another host already serves this ipcMain (${(error as Error)?.message}): create one host per app, or close() the first`,
      );
    }
    this.#handlers = handlers;
  }

  send(peer: WebContents, message: HostMessage): void {
    if ('event' in message) {
      if (!this.#peers.has(peer) || peer.isDestroyed()) return;
      try {
        peer.send(EVENT_CHANNEL, message);
      } catch {
        // destroyed between the check and the send: the page is gone, and so is the event's point
      }
      return;
    }
    const entry = this.#peers.get(peer);
    const resolve = message.id === null ? undefined : entry?.pending.get(message.id);
    if (resolve && message.id !== null) {
      entry?.pending.delete(message.id);
      resolve(message);
    } else if (this.#current?.peer === peer) {
      this.#current.resolve(message);
    }
    // otherwise the asking page is gone (its invoke died with it): the reply is dropped
  }

  accept(value: unknown): value is WebContents {
    return this.#peers.has(value as WebContents) && !(value as WebContents).isDestroyed();
  }

  /**
   * Makes a window, a view or a webContents a peer (idempotent) and returns its webContents; null if
   * it is not one or is destroyed. `object` is what the app gets back for it in segments().
   */
  register(value: PeerLike): WebContents | null {
    const webContents = webContentsOf(value);
    if (webContents === null || webContents.isDestroyed()) return null;
    if ((value as { isDestroyed?: () => boolean }).isDestroyed?.() === true) return null;
    const known = this.#peers.get(webContents);
    if (known) {
      // the app's own words win over a lookup (a view, rather than the window it sits in)
      if (value !== webContents || known.object === webContents) known.object = value;
      return webContents;
    }
    const gone = () => this.#gone(webContents);
    const crashed = () => this.#reset(webContents);
    webContents.on('destroyed', gone);
    webContents.on('render-process-gone', crashed);
    this.#peers.set(webContents, {
      object: value,
      pending: new Map(),
      document: null,
      retired: new Set(),
      unbind: () => {
        webContents.off('destroyed', gone);
        webContents.off('render-process-gone', crashed);
      },
    });
    return webContents;
  }

  /** The object the app knows a registered webContents by. */
  objectOf(webContents: WebContents): PeerLike | undefined {
    return this.#peers.get(webContents)?.object;
  }

  close(): void {
    this.#ipcMain.removeHandler(REQUEST_CHANNEL);
    for (const webContents of [...this.#peers.keys()]) this.#forget(webContents);
    this.#handlers = null;
  }

  /**
   * A known webContents: registered, or a window's or a view's (registered now, known to the app as
   * its BrowserWindow when it has one, else as itself).
   */
  #known(webContents: WebContents): boolean {
    if (this.#peers.has(webContents)) return true;
    let type: string;
    try {
      type = webContents.getType();
    } catch {
      return false;
    }
    if (!SERVED_TYPES.has(type)) return false;
    const window = this.#windows.fromWebContents(webContents);
    const object = window != null && window.webContents === webContents ? window : webContents;
    return this.register(object) === webContents;
  }

  #invoke(event: IpcMainInvokeEvent, data: unknown, document?: unknown): Promise<HostMessage> | HostMessage {
    const id = requestIdOf(data);
    let peer: WebContents;
    let detached: boolean;
    try {
      // A document being unloaded (its frame detached) may still give resources up, never take any.
      const op = opOf(data);
      ({ sender: peer, detached } = checkSender(event, (wc) => this.#known(wc), this.#allowed, { detachedMay: op === 'detach' || op === 'release' }));
    } catch (error) {
      return errorReply(id, error);
    }
    const handlers = this.#handlers;
    const entry = this.#peers.get(peer);
    if (handlers === null || entry === undefined) {
      return errorReply(id, codedError('ERR_SHM_BRIDGE_CLOSED', 'the shmkit host is closed'));
    }
    try {
      this.#document(peer, entry, document, detached);
    } catch (error) {
      return errorReply(id, error);
    }
    if (id !== null && entry.pending.has(id)) {
      return errorReply(id, codedError('ERR_SHM_BRIDGE_PROTOCOL', `request id ${id} is already in flight`, TypeError));
    }
    return new Promise<HostMessage>((resolve) => {
      let answered = false;
      const once: Resolve = (reply) => {
        if (answered) return;
        answered = true;
        if (id !== null) entry.pending.delete(id);
        resolve(reply);
      };
      if (id !== null) entry.pending.set(id, once);
      this.#current = { peer, resolve: once };
      try {
        handlers.message(peer, data);
      } catch (error) {
        once(errorReply(id, error));
      } finally {
        this.#current = null;
      }
      if (id === null) once(errorReply(null, codedError('ERR_SHM_BRIDGE_PROTOCOL', 'a request needs a usable id', TypeError)));
    });
  }

  /**
   * Checks the document id a request came with: the first one, the current one, or a new document
   * (the old one's attachments go: reset). A replaced document's requests are refused. A detached
   * frame (a document being unloaded) never introduces a document: only the current one may speak
   * from there, otherwise an old renderer could reset, and lock out, the live page.
   */
  #document(peer: WebContents, entry: PeerEntry, document: unknown, detached: boolean): void {
    if (typeof document !== 'string' || !DOCUMENT_ID.test(document)) {
      throw codedError(
        'ERR_SHM_BRIDGE_PROTOCOL',
        "a request needs its document's id (the preload of @shmkit/electron-bridge sends it): update the preload to this version",
        TypeError,
      );
    }
    if (entry.document === document) return;
    if (detached || entry.retired.has(document)) {
      throw codedError('ERR_SHM_BRIDGE_NOT_MAIN_FRAME', 'request refused: the document that sent it has been replaced by a newer one');
    }
    if (entry.document !== null) {
      entry.retired.add(entry.document);
      if (entry.retired.size > MAX_RETIRED) entry.retired.delete(entry.retired.values().next().value as string);
      this.#reset(peer);
    }
    entry.document = document;
  }

  #reset(webContents: WebContents): void {
    const entry = this.#peers.get(webContents);
    if (!entry) return;
    this.#failPending(entry);
    this.#handlers?.reset(webContents);
  }

  #gone(webContents: WebContents): void {
    if (!this.#peers.has(webContents)) return;
    this.#forget(webContents);
    this.#handlers?.gone(webContents);
  }

  #forget(webContents: WebContents): void {
    const entry = this.#peers.get(webContents);
    if (!entry) return;
    entry.unbind();
    this.#failPending(entry);
    this.#peers.delete(webContents);
  }

  #failPending(entry: PeerEntry): void {
    for (const [id, resolve] of [...entry.pending]) {
      resolve(errorReply(id, codedError('ERR_SHM_BRIDGE_CLOSED', 'the page that asked is gone')));
    }
    entry.pending.clear();
  }
}
