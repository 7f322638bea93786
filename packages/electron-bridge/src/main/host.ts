/**
 * The main-process host: the core's BridgeHost over the IPC transport, with Electron's words for
 * peers: a BrowserWindow, a WebContentsView (in a BaseWindow or a BrowserWindow) or a WebContents,
 * whose webContents is the peer; 'app' for segments that live until the host closes. Child processes
 * it starts (`spawn()`, `fork()`: a Python back end, a Node worker) are peers too, over their own
 * channel, under the same rules.
 */
import type { ChildProcess, ForkOptions, SpawnOptions } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { WebContents } from 'electron';
import type { FrameRing, SharedMemory } from '@shmkit/shm';
import { BridgeHost, type CreatedInfo, type HostOptions } from '../core/host';
import { codedError, type CodedError } from '../core/errors';
import type { SegmentKind } from '../core/protocol';
import { ChildTransport, forkPeer, spawnPeer } from '../node/children';
import { mainModules } from './electron';
import { originPredicate } from './sender';
import { ElectronTransport } from './transport';
import { MainTransport, type MainPeer } from './with-children';
import type { IpcMainLike, OriginAllowlist, Peer, WebContentsLike, WindowLookup } from '../shapes';

export type { Peer } from '../shapes';
export type { CreatedInfo } from '../core/host';

/** A window, view or webContents, or a child process the host started (`spawn()`, `fork()`). */
export type AnyPeer = Peer | ChildProcess;

/** What ShmHost emits (about the child processes it started). */
export interface ShmHostEvents {
  /**
   * A peer created a segment or a FrameRing it writes (`kind: 'frame-ring'`: only children can) in its
   * own namespace. Runs before the peer's reply is sent: grant it here (`host.grant(info.name, window,
   * { namespace: peer })`) and the grant is in place when the creator hears it succeeded. `peer` is the
   * ChildProcess, or the window, view or webContents (as the app knows it) whose page created it.
   */
  'segment-created': (peer: AnyPeer, info: CreatedInfo) => void;
  /**
   * The host ended a child's bridge channel because of it: ERR_SHM_BRIDGE_PROTOCOL (a malformed frame)
   * or ERR_SHM_BRIDGE_LIMIT (it did not read what the host sent). Its segments are unlinked; the
   * process itself is left running.
   */
  'peer-error': (child: ChildProcess, error: CodedError) => void;
}

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

/** Who a segment's life follows: a window or view (unlinked when its webContents is destroyed), a child process (when it exits) or the app (until release/close). */
export type Owner = AnyPeer | 'app';

export interface CreateOptions {
  /** Default 'app'. */
  owner?: Owner | undefined;
  /** Reserve the pages now: a full /dev/shm is ENOSPC here, never a SIGBUS later. Default true. */
  populate?: boolean | undefined;
  /** Pages that may attach: 'all' (every window and view of an allowed origin, now and later) or a list. Default none. */
  share?: 'all' | readonly AnyPeer[] | undefined;
  /** Whether the `share` grants are read-only. Default false (true for frame rings). */
  readonly?: boolean | undefined;
}

export interface FrameRingOptions extends CreateOptions {
  slots: number;
  slotBytes: number;
}

/** Names a segment a page created (in its window's or view's namespace) in grant, revoke and release. */
export interface NamespaceOption {
  /** The window, view or child process whose page or program created the segment; default the app's namespace. */
  namespace?: AnyPeer | 'app' | undefined;
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
  grants: { peer: AnyPeer; readonly: boolean }[];
  /** `copy`: the page reads through the main process (a sandboxed window's preload); otherwise it maps the segment (zero-copy). */
  attachments: { peer: AnyPeer; handle: number; readonly: boolean; copy: boolean }[];
}

export class ShmHost {
  readonly #transport: ElectronTransport;
  readonly #children: ChildTransport;
  readonly #core: BridgeHost<MainPeer>;
  readonly #events: EventEmitter;

  /** Use createHost(). (Private: its declaration names no Electron type.) */
  private constructor(transport: ElectronTransport, children: ChildTransport, core: BridgeHost<MainPeer>, events: EventEmitter) {
    this.#transport = transport;
    this.#children = children;
    this.#core = core;
    this.#events = events;
  }

  /**
   * `child_process.spawn()` of any program (`spawn('python3', ['producer.py'])`), which becomes a peer:
   * it finds its bridge channel as the descriptor named by SHMKIT_BRIDGE_FD (Python: `shmkit.connect()`;
   * docs/bridge-protocol.md). Its stdio defaults to pipes; no Node IPC channel is opened.
   */
  spawn(command: string, args?: readonly string[], options?: SpawnOptions): ChildProcess {
    this.#checkOpen();
    return spawnPeer(this.#children, command, args, options);
  }

  /** `child_process.fork()` of a Node module, which becomes a peer (it calls `connect()` of `@shmkit/electron-bridge/node`). */
  fork(modulePath: string, args?: readonly string[], options?: ForkOptions): ChildProcess {
    this.#checkOpen();
    return forkPeer(this.#children, modulePath, args, options);
  }

  on<K extends keyof ShmHostEvents>(event: K, listener: ShmHostEvents[K]): this {
    this.#events.on(event, listener);
    return this;
  }

  off<K extends keyof ShmHostEvents>(event: K, listener: ShmHostEvents[K]): this {
    this.#events.off(event, listener);
    return this;
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
  grant(name: string, peer: AnyPeer, options: { readonly?: boolean | undefined } & NamespaceOption = {}): void {
    this.#core.grant(name, this.#peer(peer), this.#namespaced(options));
  }

  /** Ends `peer`'s access to `name`: its handles are closed and its page gets 'revoked'. */
  revoke(name: string, peer: AnyPeer, options: NamespaceOption = {}): void {
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
  peerBytes(peer?: AnyPeer): number {
    return peer === undefined ? this.#core.peerBytes() : this.#core.peerBytes(this.#peer(peer));
  }

  segments(): SegmentInfo[] {
    const known = (p: MainPeer): AnyPeer => (this.#children.has(p) ? p : (this.#transport.objectOf(p as WebContents) ?? (p as WebContents)));
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

  /**
   * Unlinks every segment (pages and children get 'revoked'), removes the IPC handler and every listener
   * it bound, and ends every child's bridge channel (the children keep running). Idempotent.
   */
  close(): void {
    this.#core.close();
  }

  /** createHost()'s way in (the constructor is private so that its Electron types stay out of the declarations). */
  private static make(transport: ElectronTransport, children: ChildTransport, core: BridgeHost<MainPeer>, events: EventEmitter): ShmHost {
    return new ShmHost(transport, children, core, events);
  }

  #checkOpen(): void {
    if (this.#core.closed) throw codedError('ERR_SHM_BRIDGE_CLOSED', 'the host is closed');
  }

  /**
   * A child this host started, as is; a window's, view's or webContents' webContents (binding its
   * lifecycle); the value itself if it is none or not live (the core refuses it).
   */
  #peer(value: AnyPeer): MainPeer {
    if (this.#children.has(value)) return value;
    return this.#transport.register(value as Peer) ?? (value as unknown as WebContents);
  }

  /** Core options with `namespace` as a peer ('host' for the app's). */
  #namespaced<O extends NamespaceOption>(options: O): Omit<O, 'namespace'> & { namespace: MainPeer | 'host' } {
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
    let peers: 'all' | MainPeer[] | undefined;
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
  const events = new EventEmitter();
  const children = new ChildTransport((child, error) => {
    if (events.listenerCount('peer-error') > 0) events.emit('peer-error', child, error);
  });
  const core = new BridgeHost<MainPeer>(new MainTransport(transport, children), hostOptions, {
    created: (peer, info) => {
      if (events.listenerCount('segment-created') === 0) return;
      const known = children.has(peer) ? peer : (transport.objectOf(peer as WebContents) ?? peer);
      events.emit('segment-created', known, { ...info });
    },
  });
  return ShmHost['make'](transport, children, core, events);
}
