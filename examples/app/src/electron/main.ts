/**
 * The example app's Electron main process: it owns the segments (a FrameRing of synthetic video and
 * a large read-only dataset), serves the pages from local files through `protocol.handle`, and
 * opens the windows: a video window (zero-copy), a sandboxed video view (a WebContentsView in a
 * BaseWindow, on the copy path), two dataset windows and a status panel.
 *
 *   electron examples/app [--preset 1080p|4k|small] [--fps N] [--dataset-mib M] [--source node|python]
 *
 * With `--source python` the video comes from a Python process the host starts as a bridge peer
 * (python/producer.py): it creates the ring in its own namespace and renders into it; the video window
 * and view open when the ring exists, granted it read-only.
 *
 * Security choices (Electron's checklist, and why we depart from it where we do):
 * - Pages are local content only, served from `app://bundle/` (a standard, secure scheme registered
 *   here), with a content security policy that allows only the app's own scripts and workers.
 * - `contextIsolation: true` and `nodeIntegration: false` everywhere: page code never sees Node.
 * - `sandbox: false` only on the zero-copy video and dataset windows: their preload loads @shmkit/shm,
 *   a native addon, which a sandboxed preload cannot. They load only this app's own pages. The status
 *   window keeps the sandbox (its preload only uses `ipcRenderer`), and so does the second video view,
 *   which gets its frames by copy through the main process (the bridge's sandboxed preload).
 * - SharedArrayBuffer: the pages are served cross-origin isolated (COOP/COEP), and the feature switch
 *   is set too, so `shared()` works either way.
 * - Every IPC request of the app's own (status, metrics) checks its sender's origin, as the bridge does.
 */
import * as path from 'node:path';
import * as fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import { app, BaseWindow, BrowserWindow, ipcMain, net, protocol, webContents as allWebContents, WebContentsView, type IpcMainInvokeEvent, type WebContents } from 'electron';
import type { ChildProcess } from 'node:child_process';
import { createHost, enableSharedArrayBuffer, type AnyPeer, type ShmHost } from '@shmkit/electron-bridge/main';
import { fillDataset, produceVideo, type Producer } from '../host/producer';
import { findPython, startPythonProducer, type PythonProducer } from '../host/python-source';
import { PRESETS } from '../shared/pattern';
import { parseOptions } from '../host/options';

const ORIGIN = 'app://bundle';
const APP_DIR = path.join(__dirname, '..', '..');
/** URL path prefix → folder: the pages, their compiled scripts, and the bridge's browser build. */
const ROOTS: Record<string, string> = {
  '/pages/': path.join(APP_DIR, 'pages'),
  '/js/': path.join(APP_DIR, 'dist', 'pages'),
  '/bridge/': path.join(path.dirname(require.resolve('@shmkit/electron-bridge/package.json')), 'dist', 'browser'),
};
const CSP = "default-src 'none'; script-src 'self'; worker-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'";

const options = parseOptions(process.argv.slice(app.isPackaged ? 1 : 2), { strict: false });
const { width, height } = PRESETS[options.preset];

protocol.registerSchemesAsPrivileged([
  { scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true } },
]);
enableSharedArrayBuffer(app); // before 'ready': Chromium reads its switches at startup

/** Serves app://bundle/<root>/<file> from the roots above; anything else is 404 (no path escapes). */
async function serve(request: Request): Promise<Response> {
  const url = new URL(request.url);
  if (url.host !== 'bundle') return new Response('not found', { status: 404 });
  for (const [prefix, dir] of Object.entries(ROOTS)) {
    if (!url.pathname.startsWith(prefix)) continue;
    const file = path.join(dir, decodeURIComponent(url.pathname.slice(prefix.length)));
    if (!file.startsWith(dir + path.sep) || !fs.existsSync(file)) break;
    const response = await net.fetch(pathToFileURL(file).toString());
    const headers = new Headers(response.headers);
    headers.set('Content-Security-Policy', CSP);
    headers.set('Cross-Origin-Opener-Policy', 'same-origin');
    headers.set('Cross-Origin-Embedder-Policy', 'require-corp');
    headers.set('Cross-Origin-Resource-Policy', 'same-origin');
    if (file.endsWith('.js')) headers.set('Content-Type', 'text/javascript');
    return new Response(response.body, { status: response.status, headers });
  }
  return new Response('not found', { status: 404 });
}

const SHM_PRELOAD = path.join(__dirname, 'preload.js');
const STATUS_PRELOAD = path.join(__dirname, 'status-preload.js');
/** The sandboxed view's preload, bundled into one file (scripts/bundle-preload.js). */
const SANDBOXED_PRELOAD = path.join(__dirname, 'sandboxed-preload.bundle.js');

/** Local content only: no navigation away, no new windows from page code. */
function keepLocal(webContents: WebContents): void {
  webContents.on('will-navigate', (event, url) => {
    if (!url.startsWith(`${ORIGIN}/`)) event.preventDefault();
  });
  webContents.setWindowOpenHandler(() => ({ action: 'deny' }));
}

/**
 * The second video view: a WebContentsView in a BaseWindow (no BrowserWindow: the bridge serves it as
 * its webContents), sandboxed, so its page gets the frames by copy through the main process.
 */
function openSandboxedView(title: string, bounds: { x: number; y: number; width: number; height: number }): WebContentsView {
  const base = new BaseWindow({ ...bounds, title, backgroundColor: '#111318' });
  const view = new WebContentsView({
    webPreferences: { preload: SANDBOXED_PRELOAD, sandbox: true, contextIsolation: true, nodeIntegration: false },
  });
  base.contentView.addChildView(view);
  const fit = () => {
    const { width, height } = base.getContentBounds();
    view.setBounds({ x: 0, y: 0, width, height });
  };
  fit();
  base.on('resize', fit);
  // A BaseWindow does not destroy its views' webContents: close it, so the bridge sees the page go.
  base.on('closed', () => {
    if (!view.webContents.isDestroyed()) view.webContents.close();
  });
  keepLocal(view.webContents);
  void view.webContents.loadURL(`${ORIGIN}/pages/video.html?view=sandboxed`);
  return view;
}

function openWindow(page: string, title: string, mapsMemory: boolean, bounds: { x: number; y: number; width: number; height: number }): BrowserWindow {
  const win = new BrowserWindow({
    ...bounds,
    title,
    backgroundColor: '#111318',
    webPreferences: {
      preload: mapsMemory ? SHM_PRELOAD : STATUS_PRELOAD,
      contextIsolation: true,
      nodeIntegration: false,
      // The shm preload loads a native addon: only windows that map memory leave the sandbox.
      sandbox: !mapsMemory,
    },
  });
  keepLocal(win.webContents);
  void win.loadURL(`${ORIGIN}/pages/${page}`);
  return win;
}

function fromApp(event: IpcMainInvokeEvent): boolean {
  return event.senderFrame !== null && event.senderFrame.origin === ORIGIN;
}

let host: ShmHost | undefined;

/** How the status panel names a peer: a page the host serves (a window, a view, or its webContents), or a child process. */
function pageLabel(peer: AnyPeer, withTitle = false): string {
  if (isChild(peer)) return `${peer === pythonProducer?.child ? 'Python producer' : 'child process'} ${peer.pid ?? '?'}`;
  // segments() gives back the object the app named, typed by its shape: Electron's own by its id
  const { id } = 'webContents' in peer ? peer.webContents : peer;
  return withTitle ? `window ${id} (${allWebContents.fromId(id)?.getTitle() ?? 'closed'})` : `window ${id}`;
}
let producer: Producer | undefined;
let pythonProducer: PythonProducer | undefined;
let scratchCount = 0;

function isChild(peer: AnyPeer): peer is ChildProcess {
  return 'kill' in peer && 'pid' in peer;
}

async function start(): Promise<void> {
  protocol.handle('app', serve);
  host = createHost({ allowedOrigins: [ORIGIN] });

  const status = openWindow('status.html', 'shmkit — segments', false, { x: 40, y: 40, width: 720, height: 420 });
  const openVideo = (): [BrowserWindow, WebContentsView] => [
    openWindow('video.html', `shmkit — video ${options.preset}${options.source === 'python' ? ' from Python' : ''}`, true, { x: 780, y: 40, width: 960, height: 600 }),
    openSandboxedView(`shmkit — video ${options.preset}, sandboxed (copy path)`, { x: 1100, y: 360, width: 640, height: 400 }),
  ];
  if (options.source === 'python') {
    const python = findPython();
    if ('reason' in python) throw Object.assign(new Error(python.reason), { code: 'ERR_PYTHON_UNAVAILABLE' });
    const shmHost = host;
    const py = startPythonProducer((command, args, o) => shmHost.spawn(command, args, o), python, { width, height, fps: options.fps });
    pythonProducer = py;
    // The ring is the producer's (in its namespace, unlinked when it exits): the video pages open when it
    // exists, each granted it read-only before its preload first asks.
    shmHost.on('segment-created', (peer, info) => {
      if (peer !== py.child || info.name !== 'video' || info.kind !== 'frame-ring') return;
      for (const page of openVideo()) shmHost.grant('video', page, { namespace: py.child, readonly: true });
    });
    py.ready.then(
      (r) => console.log(`shmkit example app: video rendered by Python ${r.python} (pid ${r.pid}) ${r.numpy ? 'with NumPy' : 'with the standard library'}`),
      failed,
    );
    void py.exited.then((exit) => {
      if (exit.code !== 0 && !quitting) console.error(`shmkit example app: the Python producer exited (${exit.signal ?? `code ${exit.code}`}): ${exit.stderr.trim()}`);
    });
  } else {
    const ring = host.createFrameRing('video', { owner: 'app', share: 'all', slots: 4, slotBytes: width * height * 4 });
    producer = produceVideo(ring, width, height, options.fps);
    openVideo();
  }

  const dataset = host.create('dataset', options.datasetMiB * 1048576, { owner: 'app', share: 'all', readonly: true });
  let datasetState: { done: number; total: number; checksum: number | null } = { done: 0, total: 1, checksum: null };
  fillDataset(dataset, (done, total) => {
    datasetState = { ...datasetState, done, total };
  })
    .then((sum) => {
      datasetState = { ...datasetState, checksum: sum };
      openWindow('dataset.html?view=histogram', 'shmkit — dataset: histogram', true, { x: 40, y: 500, width: 640, height: 420 });
      openWindow('dataset.html?view=mean', 'shmkit — dataset: running mean', true, { x: 700, y: 500, width: 640, height: 420 });
    })
    .catch(failed);

  ipcMain.handle('app:status', (event) => {
    if (!fromApp(event) || !host) return null;
    return {
      dataset: datasetState,
      video: { preset: options.preset, width, height, fps: options.fps, published: producer?.published ?? pythonProducer?.published ?? 0 },
      segments: host.segments().map((s) => ({
        name: s.name,
        size: s.size,
        kind: s.kind,
        owner: s.owner === 'app' ? 'app' : pageLabel(s.owner, true),
        shareAll: s.shareAll,
        grants: s.grants.map((g) => ({ window: pageLabel(g.peer), readonly: g.readonly })),
        attachments: s.attachments.map((a) => ({ window: pageLabel(a.peer), readonly: a.readonly, path: a.copy ? 'copy' : 'zero-copy' })),
        // What the OS says, next to what the host says: the panel shows they agree.
        inDevShm: process.platform === 'linux' ? fs.existsSync(`/dev/shm/${s.osName}`) : null,
      })),
    };
  });
  ipcMain.handle('app:metrics', (event) => {
    if (!fromApp(event)) return null;
    const pid = event.sender.getOSProcessId();
    const metrics = app.getAppMetrics();
    const mine = metrics.find((m) => m.pid === pid);
    const main = metrics.find((m) => m.type === 'Browser');
    return {
      renderer: mine ? { cpuPercent: mine.cpu.percentCPUUsage, workingSetKiB: mine.memory.workingSetSize, privateKiB: mine.memory.privateBytes ?? null } : null,
      main: main ? { cpuPercent: main.cpu.percentCPUUsage, workingSetKiB: main.memory.workingSetSize } : null,
    };
  });
  ipcMain.handle('app:open-scratch', (event) => {
    if (!fromApp(event)) return null;
    scratchCount++;
    openWindow(`scratch.html?name=scratch-${scratchCount}`, `shmkit — scratch ${scratchCount}`, true, { x: 120 + 30 * scratchCount, y: 120 + 30 * scratchCount, width: 480, height: 240 });
    return `scratch-${scratchCount}`;
  });
  status.on('closed', () => app.quit());
  // For the e2e specs only (e2e/specs/electron.spec.ts reads the host from the main process).
  if (process.env.SHMKIT_E2E === '1') Object.assign(globalThis, { shmkitExample: { host, dataset } });
}

/**
 * A failure while starting (here or in the work start() began) would otherwise be an unhandled
 * rejection, which Electron's main process only logs: the app would stay half open. Say what failed,
 * let go of what was made, and exit non-zero.
 */
function failed(error: unknown): void {
  console.error('shmkit example app: could not start:', error);
  try {
    producer?.stop();
    pythonProducer?.stop();
    host?.close();
  } finally {
    app.exit(1);
  }
}

app.whenReady().then(start).catch(failed);

app.on('window-all-closed', () => app.quit());
let quitting = false;
app.on('will-quit', () => {
  quitting = true;
  producer?.stop();
  pythonProducer?.stop();
  host?.close(); // unlinks every segment the app still owns
});
