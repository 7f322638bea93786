/**
 * The main-process host: the core's BridgeHost over the IPC transport, with Electron's words for
 * peers: a BrowserWindow, a WebContentsView (in a BaseWindow or a BrowserWindow) or a WebContents,
 * whose webContents is the peer; 'app' for segments that live until the host closes.
 */
import type { WebContents } from 'electron';
import type { FrameRing, SharedMemory } from '@shmkit/shm';
import { BridgeHost, type HostOptions } from '../core/host';
import { codedError } from '../core/errors';
import type { SegmentKind } from '../core/protocol';
import { mainModules } from './electron';
import { originPredicate } from './sender';
import { ElectronTransport } from './transport';
import type { IpcMainLike, OriginAllowlist, Peer, WebContentsLike, WindowLookup } from '../shapes';

export type { Peer } from '../shapes';

export interface CreateHostOptions extends HostOptions {
  /**
   * Origins whose main frames may use the host, exactly as `webContents.mainFrame.origin` reports
   * them (`"file://"` for `loadFile()`, `"app://bundle"` for a standard scheme registered with
   * `protocol.registerSchemesAsPrivileged`), or a predicate. Required: there is no default.
   */
  allowedOrigins: OriginAllowlist;
  /** Electron's `ipcMain`; default: `require('electron').ipcMain`. */
  ipcMain?: IpcMainLike | undefined;
  /** Electron's `BrowserWindow` (for `fromWebContents`); default: `require('electron').BrowserWindow`. */
  BrowserWindow?: WindowLookup | undefined;
}

/** Who a segment's life follows: a window or view (unlinked when its webContents is destroyed) or the app (until release/close). */
export type Owner = Peer | 'app';

export interface CreateOptions {
  /** Default 'app'. */
  owner?: Owner | undefined;
  /** Reserve the pages now: a full /dev/shm is ENOSPC here, never a SIGBUS later. Default true. */
  populate?: boolean | undefined;
  /** Pages that may attach: 'all' (every window and view of an allowed origin, now and later) or a list. Default none. */
  share?: 'all' | readonly Peer[] | undefined;
  /** Whether the `share` grants are read-only. Default false (true for frame rings). */
  readonly?: boolean | undefined;
}

export interface FrameRingOptions extends CreateOptions {
  slots: number;
  slotBytes: number;
}

/** Names a segment a page created (in its window's or view's namespace) in grant, revoke and release. */
export interface NamespaceOption {
  /** The window or view whose page created the segment; default the app's namespace. */
  namespace?: Peer | 'app' | undefined;
}

export interface SegmentInfo {
  name: string;
  /** 'app' for the app's names; the window or view whose page created it otherwise. */
  namespace: Owner;
  /** The OS name, for the main process's own use (never sent to a page). */
  osName: string;
  size: number;
  kind: SegmentKind;
  owner: Owner;
  /** The access of every page without its own grant, when shared with 'all'. */
  shareAll: 'ro' | 'rw' | null;
  /** `peer`: the window, view or webContents, as the app named it (a BrowserWindow when the page first asked on its own). */
  grants: { peer: Peer; readonly: boolean }[];
  /** `copy`: the page reads through the main process (a sandboxed window's preload); otherwise it maps the segment (zero-copy). */
  attachments: { peer: Peer; handle: number; readonly: boolean; copy: boolean }[];
}

export class ShmHost {
  readonly #transport: ElectronTransport;
  readonly #core: BridgeHost<WebContents>;

  /** Use createHost(). (Private: its declaration names no Electron type.) */
  private constructor(transport: ElectronTransport, core: BridgeHost<WebContents>) {
    this.#transport = transport;
    this.#core = core;
  }

  get closed(): boolean {
    return this.#core.closed;
  }

  /** Sizes of the host's tables (segments, peers, attachments, grants): for tests and leak checks. */
  get stats(): BridgeHost<WebContentsLike>['stats'] {
    return this.#core.stats;
  }

  /** Creates a segment (zero-filled) and returns the main process's mapping of it (read-write). */
  create(name: string, size: number, options: CreateOptions = {}): SharedMemory {
    return this.#core.create(name, size, this.#coreOptions(options));
  }

  /** Creates a FrameRing and returns its writer; windows attach readers with `shm.frames(name)`. */
  createFrameRing(name: string, options: FrameRingOptions): FrameRing {
    if (options === null || typeof options !== 'object') {
      throw codedError('ERR_INVALID_ARG_TYPE', 'options must be an object', TypeError);
    }
    return this.#core.createFrameRing(name, { ...this.#coreOptions(options), slots: options.slots, slotBytes: options.slotBytes });
  }

  /**
   * Grants `peer` (a window, a view or a webContents) access to `name` (replacing its earlier grant);
   * a downgrade to read-only revokes its read-write handles. `namespace`: the window or view whose page
   * created the segment.
   */
  grant(name: string, peer: Peer, options: { readonly?: boolean | undefined } & NamespaceOption = {}): void {
    this.#core.grant(name, this.#peer(peer), this.#namespaced(options));
  }

  /** Ends `peer`'s access to `name`: its handles are closed and its page gets 'revoked'. */
  revoke(name: string, peer: Peer, options: NamespaceOption = {}): void {
    this.#core.revoke(name, this.#peer(peer), this.#namespaced(options));
  }

  /** Unlinks `name` now; every page with access gets 'revoked'. */
  release(name: string, options: NamespaceOption = {}): void {
    this.#core.release(name, this.#namespaced(options));
  }

  /** The limits in force (defaults filled in: budgets from the size of /dev/shm). */
  get limits(): BridgeHost<WebContentsLike>['limits'] {
    return this.#core.limits;
  }

  /** Bytes reserved by the segments pages created: of `peer`'s, or of all pages together. */
  peerBytes(peer?: Peer): number {
    return peer === undefined ? this.#core.peerBytes() : this.#core.peerBytes(this.#peer(peer));
  }

  segments(): SegmentInfo[] {
    const known = (wc: WebContents): Peer => this.#transport.objectOf(wc) ?? wc;
    return this.#core.segments().map((s) => ({
      name: s.name,
      namespace: s.namespace === 'host' ? 'app' : known(s.namespace),
      osName: s.osName,
      size: s.size,
      kind: s.kind,
      owner: s.owner === 'host' ? 'app' : known(s.owner),
      shareAll: s.shareAll,
      grants: s.grants.map((g) => ({ peer: known(g.peer), readonly: g.readonly })),
      attachments: s.attachments.map((a) => ({ peer: known(a.peer), handle: a.handle, readonly: a.readonly, copy: a.copy })),
    }));
  }

  /** Unlinks every segment (pages get 'revoked'), removes the IPC handler and every listener it bound. Idempotent. */
  close(): void {
    this.#core.close();
  }

  /** createHost()'s way in (the constructor is private so that its Electron types stay out of the declarations). */
  private static make(transport: ElectronTransport, core: BridgeHost<WebContents>): ShmHost {
    return new ShmHost(transport, core);
  }

  /** A window's, view's or webContents' webContents as a peer (binding its lifecycle); the value itself if it is none or not live (the core refuses it). */
  #peer(value: Peer): WebContents {
    return this.#transport.register(value) ?? (value as unknown as WebContents);
  }

  /** Core options with `namespace` as a peer ('host' for the app's). */
  #namespaced<O extends NamespaceOption>(options: O): Omit<O, 'namespace'> & { namespace: WebContents | 'host' } {
    if (options === null || typeof options !== 'object') {
      throw codedError('ERR_INVALID_ARG_TYPE', 'options must be an object', TypeError);
    }
    const { namespace = 'app', ...rest } = options;
    return { ...rest, namespace: namespace === 'app' ? 'host' : this.#peer(namespace) };
  }

  #coreOptions(options: CreateOptions) {
    if (options === null || typeof options !== 'object') {
      throw codedError('ERR_INVALID_ARG_TYPE', 'options must be an object', TypeError);
    }
    const { owner = 'app', share, readonly, populate } = options;
    let peers: 'all' | WebContents[] | undefined;
    if (share === 'all' || share === undefined) peers = share;
    else if (Array.isArray(share)) peers = share.map((w) => this.#peer(w));
    else throw codedError('ERR_INVALID_ARG_TYPE', "options.share must be 'all' or an array of windows, views or webContents", TypeError);
    return {
      owner: owner === 'app' ? ('host' as const) : this.#peer(owner),
      share: peers,
      readonly,
      populate,
    };
  }
}

/**
 * Starts the host: serves requests from the preloads of windows and views whose main frame has an
 * allowed origin. Create it before they load (their preloads say hello at once).
 */
export function createHost(options: CreateHostOptions): ShmHost {
  if (options === null || typeof options !== 'object') {
    throw codedError('ERR_INVALID_ARG_TYPE', 'options must be an object with allowedOrigins', TypeError);
  }
  const allowed = originPredicate(options.allowedOrigins);
  let { ipcMain, BrowserWindow } = options;
  if (ipcMain === undefined || BrowserWindow === undefined) {
    // Loaded only here, in a real main process: importing this module never touches Electron.
    const electron = mainModules('createHost()');
    ipcMain ??= electron.ipcMain;
    BrowserWindow ??= electron.BrowserWindow as WindowLookup;
  }
  const { allowedOrigins: _origins, ipcMain: _ipcMain, BrowserWindow: _windows, ...hostOptions } = options;
  // The core checks its options before the transport listens: a bad option registers nothing.
  const transport = new ElectronTransport(ipcMain, BrowserWindow, allowed);
  const core = new BridgeHost<WebContents>(transport, hostOptions);
  return ShmHost['make'](transport, core);
}
