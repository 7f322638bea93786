'use strict';
// Wiring of ./preload/sandboxed (the copy path of a sandboxed window) against STAND-INS of ipcRenderer
// / contextBridge and a real host (createHost over a stand-in ipcMain; real segments and rings): the same
// window.shm, every handle on path 'copy', bytes copied by the main process, no OS name anywhere,
// shared() refused with a code, frames pulled with exact drop accounting, and the same grants,
// read-only rules, revocation and lifetime as a zero-copy window. Also: the bundled
// dist/sandboxed-preload.js runs with a require() that knows only 'electron', as a sandboxed preload's.
// The DOM side of the copy path runs in real Chromium in 43-browser-sandboxed.test.js.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const { DIST, shmExists, hostOptions, checkNoLeaks, until } = require('./fixtures/node-helpers');
const { StandInBrowserWindow, StandInContextBridge, StandInIpcMain, StandInIpcRenderer } = require('./fixtures/electron-stand-ins');

const { createHost, sandboxedPreloadPath } = require(path.join(DIST, 'main'));
const { exposeShm } = require(path.join(DIST, 'preload', 'sandboxed'));

checkNoLeaks();

const SANDBOXED = { type: 'renderer', sandboxed: true, contextIsolated: true };

function setup() {
  const ipcMain = new StandInIpcMain();
  const options = hostOptions();
  const host = createHost({ ipcMain, BrowserWindow: StandInBrowserWindow, allowedOrigins: ['file://'], ...options });
  return { ipcMain, host, prefix: options.osNamePrefix };
}

function dom() {
  const calls = [];
  return {
    calls,
    drawTo(canvas, source, options) {
      const controller = { stop() { this.stopped = true; }, stats: { mode: '2d', fps: 0, drawn: 0, dropped: 0, torn: 0, invalid: 0, latencyMs: null, contextLost: false, lastError: null } };
      calls.push({ fn: 'drawTo', canvas, source, options, controller });
      return controller;
    },
    async offerTransfer(win, buffer, meta) {
      calls.push({ fn: 'offerTransfer', buffer, meta });
      return { token: 't' };
    },
    async offerShared() {
      throw new Error('the copy path never offers shared memory');
    },
  };
}

/** A sandboxed window whose preload called exposeShm() of ./preload/sandboxed; every IPC message is recorded. */
function openWindow(ipcMain) {
  const window = new StandInBrowserWindow();
  const ipcRenderer = new StandInIpcRenderer(ipcMain, window.webContents);
  const seen = [];
  const invoke = ipcRenderer.invoke.bind(ipcRenderer);
  ipcRenderer.invoke = async (...args) => {
    const reply = await invoke(...args);
    seen.push(reply);
    return reply;
  };
  window.webContents.on('stand-in:to-renderer', (channel, args) => seen.push(args));
  const contextBridge = new StandInContextBridge();
  const d = dom();
  const win = { stand_in: 'window' }; // no requestAnimationFrame: the stream pulls on a timer
  exposeShm({ ipcRenderer, contextBridge, process: SANDBOXED, dom: d, window: win, timeoutMs: 2000 });
  return { window, page: contextBridge.mainWorld.shm, dom: d, seen };
}

const rejection = (promise) => promise.then(() => assert.fail('expected a rejection'), (error) => error);

test('stand-ins: a sandboxed window gets window.shm on the copy path: read, write, snapshot by copy; shared() refused; no OS name anywhere', async () => {
  const { ipcMain, host, prefix } = setup();
  const { window, page, dom: d, seen } = openWindow(ipcMain);
  assert.equal(page.path, 'copy');
  const shm = host.create('data', 4096, { share: [window] });
  shm.buf.set([10, 20, 30], 0);
  const handle = await page.attach('data');
  assert.equal(handle.path, 'copy');
  assert.deepEqual([...(await handle.read(0, 3))], [10, 20, 30]);
  assert.equal(await handle.write(100, new Uint8Array(new ArrayBuffer(1 << 20), 0, 2).fill(7)), 2, 'a small view of a large buffer');
  assert.deepEqual([...shm.buf.subarray(100, 102)], [7, 7]);
  const offer = await handle.snapshot();
  assert.deepEqual(offer, { token: 't' });
  const transferred = d.calls.find((c) => c.fn === 'offerTransfer');
  assert.equal(transferred.buffer.byteLength, 4096, 'the page gets a buffer of exactly the segment');
  assert.deepEqual([...new Uint8Array(transferred.buffer, 0, 3)], [10, 20, 30]);
  const shared = await rejection(handle.shared());
  assert.equal(shared.code, 'ERR_SHM_BRIDGE_SHARED_UNAVAILABLE');
  assert.equal((await rejection(handle.read(4000, 200))).code, 'ERR_OUT_OF_RANGE');
  // what the main process sees: a copy attachment
  assert.deepEqual(host.segments()[0].attachments.map((a) => [a.peer, a.copy]), [[window, true]]);
  // no reply or event carried an OS name
  const osName = host.segments()[0].osName;
  assert.ok(osName.startsWith(prefix));
  assert.doesNotMatch(JSON.stringify(seen, (k, v) => (v instanceof Uint8Array ? '<bytes>' : v)), new RegExp(prefix), 'no OS name reached the sandboxed renderer');
  await handle.close();
  assert.equal((await rejection(handle.read(0, 1))).code, 'ERR_SHM_CLOSED');
  window.close();
  host.close();
});

test('stand-ins: the same rules as a zero-copy window: read-only grants, revocation, a created segment that goes with its window', async () => {
  const { ipcMain, host } = setup();
  const { window, page } = openWindow(ipcMain);
  host.create('ro', 64, { share: [window], readonly: true });
  const ro = await page.attach('ro');
  assert.equal(ro.readonly, true);
  assert.equal((await rejection(ro.write(0, new Uint8Array([1])))).code, 'ERR_SHM_READONLY');
  assert.equal((await rejection(page.attach('ro', { readonly: false }))).code, 'ERR_SHM_BRIDGE_READONLY');
  assert.equal((await rejection(page.attach('nope'))).code, 'ERR_SHM_BRIDGE_NOT_FOUND');
  const revoked = [];
  page.on('revoked', (info) => revoked.push(info));
  host.revoke('ro', window);
  await until(() => revoked.length === 1, 2000, 'revoked');
  assert.deepEqual(revoked[0], { name: 'ro', reason: 'revoked' });
  assert.equal((await rejection(ro.read(0, 1))).code, 'ERR_SHM_CLOSED', 'the handle is closed by then');
  const mine = await page.create('mine', 1000);
  assert.equal(mine.path, 'copy');
  await mine.write(999, new Uint8Array([42]));
  assert.deepEqual([...(await mine.read(999, 1))], [42]);
  const osName = host.segments().find((s) => s.name === 'mine').osName;
  window.close();
  await until(() => !shmExists(osName), 5000, 'unlinked with its window');
  host.close();
});

test('stand-ins: frames by copy: pulled while drawing or listened to, newest each time, drops counted exactly, latest() copies', async () => {
  const { ipcMain, host } = setup();
  const { window, page, dom: d } = openWindow(ipcMain);
  const ring = host.createFrameRing('video', { share: 'all', slots: 3, slotBytes: 64 });
  assert.equal((await rejection(page.frames('nope'))).code, 'ERR_SHM_BRIDGE_NOT_FOUND');
  host.create('plain', 64, { share: 'all' });
  assert.equal((await rejection(page.frames('plain'))).code, 'ERR_SHM_RING_FORMAT');
  const stream = await page.frames('video');
  assert.equal(stream.path, 'copy');
  assert.equal(await stream.latest(), null);
  const infos = [];
  const off = stream.onFrame((info) => infos.push(info));
  await stream.drawTo({ stand_in: 'canvas' }, { mode: '2d' });
  const source = d.calls.find((c) => c.fn === 'drawTo').source;
  assert.equal(source.latest(), null, 'nothing received yet');
  let published = 0;
  const publish = () => ring.write(new Uint8Array(16).fill(published++ & 255), { width: 2, height: 2, pixelFormat: 'rgba8' });
  // counting starts with the first frame the stream gets (frame 0 here)
  publish();
  await until(() => stream.stats().ring.received === 1, 3000, 'the first frame');
  // bursts between pulls: whatever the stream cannot take is skipped and counted
  for (let burst = 0; burst < 5; burst++) {
    for (let i = 0; i < 7; i++) publish();
    await until(() => stream.stats().ring.received + stream.stats().ring.dropped === published, 3000, `burst ${burst} accounted`);
  }
  const { received, dropped } = stream.stats().ring;
  assert.equal(received + dropped, published, 'every published frame was either received or counted as dropped');
  assert.ok(dropped > 0, 'frames published between pulls were dropped');
  assert.equal(infos.length, received);
  assert.equal(infos.reduce((n, i) => n + i.dropped, 0), dropped);
  const view = source.latest();
  assert.equal(view.seq, published - 1, "the draw loop's source holds the newest frame");
  assert.deepEqual([...view.data], new Array(16).fill((published - 1) & 255));
  assert.equal(view.stillValid(), true, 'a private copy is never torn');
  const copy = await stream.latest();
  assert.equal(copy.frameNumber, published - 1);
  assert.equal(copy.data.byteLength, 16);
  off();
  stream.stop();
  await stream.close();
  assert.equal(source.latest(), null, 'a closed stream draws nothing');
  window.close();
  host.close();
  ring.close();
});

test('stand-ins: exposeShm of ./preload/sandboxed refuses no context isolation, and outside a preload says where it is', () => {
  const contextBridge = new StandInContextBridge();
  const ipcRenderer = { invoke: async () => ({}), on() {}, removeListener() {} };
  assert.throws(() => exposeShm({ ipcRenderer, contextBridge, process: { type: 'renderer', contextIsolated: false } }), { code: 'ERR_SHM_BRIDGE_NO_CONTEXT_ISOLATION' });
  assert.throws(() => exposeShm({ ipcRenderer, contextBridge, process: { type: 'browser' } }), { code: 'ERR_SHM_BRIDGE_NOT_PRELOAD' });
  assert.throws(() => exposeShm({ ipcRenderer, contextBridge, process: undefined }), { code: 'ERR_SHM_BRIDGE_NOT_PRELOAD' });
  assert.deepEqual(contextBridge.mainWorld, {}, 'nothing exposed');
});

test('the bundled sandboxed preload is self-contained: it runs with a require() that knows only electron, and exposes window.shm', async () => {
  assert.equal(sandboxedPreloadPath, path.join(DIST, 'sandboxed-preload.js'));
  const source = fs.readFileSync(sandboxedPreloadPath, 'utf8');
  const { ipcMain, host } = setup();
  const window = new StandInBrowserWindow();
  const ipcRenderer = new StandInIpcRenderer(ipcMain, window.webContents);
  const contextBridge = new StandInContextBridge();
  const required = [];
  // A sandboxed preload's require(): electron (and events, timers, url); nothing from node_modules, no fs.
  const sandboxRequire = (id) => {
    required.push(id);
    if (id === 'electron') return { ipcRenderer, contextBridge };
    throw new Error(`module not found: ${id} (a sandboxed preload cannot require it)`);
  };
  const context = vm.createContext({
    require: sandboxRequire,
    process: { type: 'renderer', sandboxed: true, contextIsolated: true },
    window: { stand_in: 'window' },
    setTimeout,
    clearTimeout,
    queueMicrotask,
    performance,
    crypto: globalThis.crypto,
    TextDecoder,
    console,
  });
  // Electron's IPC hands the renderer objects of its own realm: so does this stand-in.
  const inRealm = vm.runInContext(`(function clone(v) {
    if (v === null || typeof v !== 'object') return v;
    if (ArrayBuffer.isView(v)) return new Uint8Array(v);
    if (Array.isArray(v)) return v.map(clone);
    const out = {};
    for (const k of Object.keys(v)) out[k] = clone(v[k]);
    return out;
  })`, context);
  const invoke = ipcRenderer.invoke.bind(ipcRenderer);
  ipcRenderer.invoke = async (...args) => inRealm(await invoke(...args));
  vm.runInContext(source, context, { filename: 'sandboxed-preload.js' });
  assert.deepEqual(required, ['electron']);
  const page = contextBridge.mainWorld.shm;
  assert.equal(page.path, 'copy');
  host.create('x', 64, { share: 'all' }).buf[0] = 5;
  const handle = await page.attach('x');
  assert.equal((await handle.read(0, 1))[0], 5);
  window.close();
  host.close();
});
