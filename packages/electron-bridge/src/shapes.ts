/**
 * The parts of Electron's objects this package touches, as structural types. The package's published
 * declarations use these and never `import('electron')`: `electron` is an optional peer dependency,
 * and a project that type-checks without it installed (a Node program using ./node, a preload bundled
 * in a project of its own) must not fail with TS2307. Electron's own objects satisfy them:
 * test/fixtures/typecheck/electron-shapes.ts checks that against electron.d.ts.
 */

/** A webContents (a window's, a view's): Electron's `WebContents` is one. */
export interface WebContentsLike {
  readonly id: number;
  isDestroyed(): boolean;
}

/** Something that has a webContents: Electron's `BrowserWindow` and `WebContentsView` are. */
export interface WebContentsHolder {
  readonly webContents: WebContentsLike;
}

/** A page the host serves, as the app names it: a BrowserWindow, a WebContentsView, or a WebContents. */
export type Peer = WebContentsHolder | WebContentsLike;

/** The parts of `ipcMain` the host uses. */
export interface IpcMainLike {
  handle(channel: string, listener: (event: any, ...args: any[]) => unknown): void;
  removeHandler(channel: string): void;
}

/** `BrowserWindow.fromWebContents`, to give the app back the window of a webContents it did not name. */
export interface WindowLookup {
  fromWebContents(webContents: any): WebContentsHolder | null;
}

/** The parts of `app` that enableSharedArrayBuffer() uses. */
export interface AppLike {
  isReady(): boolean;
  readonly commandLine: {
    appendSwitch(the_switch: string, value?: string): void;
    getSwitchValue(the_switch: string): string;
  };
}

/** Origins allowed to use the host, as `webContents.mainFrame.origin` spells them, or a predicate. */
export type OriginAllowlist = readonly string[] | ((origin: string) => boolean);

/** The part of `contextBridge` the preloads use. */
export interface ContextBridgeLike {
  exposeInMainWorld(apiKey: string, api: any): void;
}

/** The parts of `ipcRenderer` the preloads use (Electron's own ipcRenderer is one). */
export interface IpcRendererLike {
  invoke(channel: string, ...args: any[]): Promise<any>;
  on(channel: string, listener: (event: unknown, ...args: any[]) => void): unknown;
  removeListener(channel: string, listener: (event: unknown, ...args: any[]) => void): unknown;
}
