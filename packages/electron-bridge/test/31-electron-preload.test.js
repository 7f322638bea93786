'use strict';
// Wiring of ./preload against STAND-INS of ipcRenderer / contextBridge (and of the main side's ipcMain /
// BrowserWindow, with a real host and real @shmkit/shm segments): exposeShm's environment errors, the
// no-host error, window.shm's handles and streams, errors as plain coded records without OS names, and
// revoked. The DOM side (drawTo, the MessagePort handoffs) is replaced by recording stand-ins here; it is
// tested in real Chromium by the 4x-browser tests. No Electron binary exists here: these are wiring
// tests, never the end-to-end test.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { FrameRing } = require('@shmkit/shm');
const { DIST, shmExists, hostOptions, checkNoLeaks, until, osSize } = require('./fixtures/node-helpers');
const { StandInBrowserWindow, StandInContextBridge, StandInIpcMain, StandInIpcRenderer } = require('./fixtures/electron-stand-ins');

const { createHost } = require(path.join(DIST, 'main'));
const { exposeShm } = require(path.join(DIST, 'preload'));

checkNoLeaks();

const PRELOAD = { type: 'renderer', sandboxed: false, contextIsolated: true };

/** Stand-in of the DOM-side functions: records what the preload hands them. */
function domStandIn() {
  const calls = [];
  return {
    calls,
    drawTo(canvas, source, options) {
      const controller = { stopped: false, stop() { this.stopped = true; }, stats: { mode: '2d', fps: 0, drawn: 0, dropped: 0, torn: 0, invalid: 0, latencyMs: null, contextLost: false, lastError: null } };
      calls.push({ fn: 'drawTo', canvas, source, options, controller });
      return controller;
    },
    async offerTransfer(win, buffer, meta) {
      calls.push({ fn: 'offerTransfer', win, buffer, meta });
      return { token: `t${calls.length}` };
    },
    async offerShared(win, memory, range, meta) {
      calls.push({ fn: 'offerShared', win, memory, range, meta });
      return { token: `s${calls.length}` };
    },
  };
}

/** A window with a preload that called exposeShm(); `page` is what page script sees as window.shm. */
function openWindow(ipcMain, options = {}) {
  const window = new StandInBrowserWindow({ origin: options.origin ?? 'file://' });
  const ipcRenderer = new StandInIpcRenderer(ipcMain, window.webContents);
  const contextBridge = new StandInContextBridge();
  const dom = domStandIn();
  const pageWindow = { stand_in: 'window' };
  const api = exposeShm({ ipcRenderer, contextBridge, process: PRELOAD, dom, window: pageWindow, timeoutMs: 2000, ...options.expose });
  return { window, ipcRenderer, contextBridge, dom, pageWindow, api, page: contextBridge.mainWorld.shm };
}

async function rejection(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('expected a rejection');
}

/** A page-side error: a plain { name, code, message } record (contextBridge would strip a real Error's code). */
function assertPageError(error, code) {
  assert.equal(Object.getPrototypeOf(error), Object.prototype, 'a plain record, not an Error');
  assert.deepEqual(Object.keys(error).sort(), ['code', 'message', 'name']);
  assert.equal(error.code, code, error.message);
}

function hostFor() {
  const ipcMain = new StandInIpcMain();
  const host = createHost({ ipcMain, BrowserWindow: StandInBrowserWindow, allowedOrigins: ['file://'], ...hostOptions() });
  return { ipcMain, host };
}

test('stand-ins: exposeShm in a sandboxed preload throws ERR_SHM_BRIDGE_SANDBOXED before touching IPC or the page', () => {
  const ipcMain = new StandInIpcMain();
  const window = new StandInBrowserWindow();
  const ipcRenderer = new StandInIpcRenderer(ipcMain, window.webContents);
  const contextBridge = new StandInContextBridge();
  assert.throws(() => exposeShm({ ipcRenderer, contextBridge, process: { type: 'renderer', sandboxed: true, contextIsolated: true } }), (error) => {
    assert.equal(error.code, 'ERR_SHM_BRIDGE_SANDBOXED');
    assert.match(error.message, /sandbox: false/, 'the message says the fix');
    assert.match(error.message, /preload\/sandboxed/, 'and the copy path for a sandboxed window');
    return true;
  });
  // outside a preload: the main process, plain Node
  assert.throws(() => exposeShm({ ipcRenderer, contextBridge, process: { type: 'browser' } }), { code: 'ERR_SHM_BRIDGE_NOT_PRELOAD' });
  assert.throws(() => exposeShm({ ipcRenderer, contextBridge, process: {} }), { code: 'ERR_SHM_BRIDGE_NOT_PRELOAD' });
  assert.deepEqual(contextBridge.mainWorld, {});
  assert.equal(ipcRenderer.eventNames().filter((e) => typeof e === 'string' && e.startsWith('shmkit')).length, 0);
  window.close();
});

test('stand-ins: exposeShm exposes one narrow window.shm: no ipcRenderer, no OS-level handles', () => {
  const { ipcMain, host } = hostFor();
  const { page, contextBridge, api, window } = openWindow(ipcMain);
  assert.deepEqual(Object.keys(contextBridge.mainWorld), ['shm']);
  assert.equal(page, api);
  assert.deepEqual(Object.keys(page).sort(), ['attach', 'create', 'frames', 'list', 'on', 'path', 'release', 'version']);
  assert.equal(page.path, 'zero-copy');
  const second = new StandInIpcRenderer(ipcMain, window.webContents);
  assert.throws(() => exposeShm({ ipcRenderer: second, contextBridge, process: PRELOAD, dom: {} }), /existing property/);
  assert.equal(second.listenerCount('shmkit:bridge:event'), 0, 'a bridge that could not be exposed stops listening');
  window.close();
  host.close();
});

test('stand-ins: exposeShm without context isolation throws ERR_SHM_BRIDGE_NO_CONTEXT_ISOLATION', () => {
  const ipcMain = new StandInIpcMain();
  const window = new StandInBrowserWindow();
  const ipcRenderer = new StandInIpcRenderer(ipcMain, window.webContents);
  const contextBridge = new StandInContextBridge();
  for (const proc of [{ type: 'renderer', sandboxed: false, contextIsolated: false }, { type: 'renderer', sandboxed: false }]) {
    assert.throws(() => exposeShm({ ipcRenderer, contextBridge, process: proc }), (error) => {
      assert.equal(error.code, 'ERR_SHM_BRIDGE_NO_CONTEXT_ISOLATION');
      assert.match(error.message, /contextIsolation/);
      return true;
    });
  }
  assert.deepEqual(contextBridge.mainWorld, {});
  window.close();
});

test('stand-ins: with no host in the main process every call rejects with ERR_SHM_BRIDGE_NO_HOST saying to call createHost()', async () => {
  const ipcMain = new StandInIpcMain(); // nobody called createHost(): invoke rejects "No handler registered"
  const { page, window } = openWindow(ipcMain);
  const error = await rejection(page.attach('x'));
  assertPageError(error, 'ERR_SHM_BRIDGE_NO_HOST');
  assert.match(error.message, /createHost\(/);
  assertPageError(await rejection(page.list()), 'ERR_SHM_BRIDGE_NO_HOST');
  window.close();

  // a main process that never answers: the hello times out
  const silent = new StandInIpcMain();
  silent.handle('shmkit:bridge', () => new Promise(() => {}));
  const deaf = openWindow(silent, { expose: { timeoutMs: 100 } });
  assertPageError(await rejection(deaf.page.attach('x')), 'ERR_SHM_BRIDGE_NO_HOST');
  deaf.window.close();
});

test('stand-ins: attach / read / write through window.shm reach the segment; the page never sees the OS name', async () => {
  const { ipcMain, host } = hostFor();
  const { page, window } = openWindow(ipcMain);
  const main = host.create('data', 4096, { share: 'all' });
  main.buf.set([1, 2, 3, 4], 100);

  const handle = await page.attach('data');
  assert.deepEqual({ name: handle.name, size: handle.size, readonly: handle.readonly }, { name: 'data', size: 4096, readonly: false });
  assert.deepEqual([...(await handle.read(100, 4))], [1, 2, 3, 4]);
  assert.equal(await handle.write(200, new Uint8Array([9, 8, 7])), 3);
  assert.deepEqual([...main.buf.subarray(200, 203)], [9, 8, 7]);

  assertPageError(await rejection(handle.read(4090, 100)), 'ERR_OUT_OF_RANGE');
  assertPageError(await rejection(handle.write(-1, new Uint8Array(1))), 'ERR_OUT_OF_RANGE');
  assertPageError(await rejection(handle.write(0, 'bytes')), 'ERR_INVALID_ARG_TYPE');
  assertPageError(await rejection(page.attach('missing')), 'ERR_SHM_BRIDGE_NOT_FOUND');
  assertPageError(await rejection(page.attach('bad/name')), 'ERR_INVALID_ARG_VALUE');

  await handle.close();
  await handle.close(); // idempotent
  const closedError = await rejection(handle.read(0, 1));
  assertPageError(closedError, 'ERR_SHM_CLOSED');
  assert.match(closedError.message, /data/, 'errors name the segment by its logical name');
  const seen = JSON.stringify([handle, await page.list(), await rejection(handle.read(5000, 1)), closedError]);
  assert.equal(seen.includes(main.name), false, 'no OS name in anything the page got');
  assert.equal(host.stats.attachments, 0, 'close() detached on the host');
  window.close();
  host.close();
});

test('stand-ins: a read-only grant attaches read-only; page writes are refused and never reach the segment', async () => {
  const { ipcMain, host } = hostFor();
  const { page, window } = openWindow(ipcMain);
  const main = host.create('ro', 4096, { share: [window], readonly: true });
  main.buf[0] = 42;
  assertPageError(await rejection(page.attach('ro', { readonly: false })), 'ERR_SHM_BRIDGE_READONLY');
  const handle = await page.attach('ro');
  assert.equal(handle.readonly, true);
  assertPageError(await rejection(handle.write(0, new Uint8Array([7]))), 'ERR_SHM_READONLY');
  assert.equal(main.buf[0], 42);
  window.close();
  host.close();
});

test('stand-ins: the owner window closing reaches the grantee page as revoked, after its handles are closed', async () => {
  const { ipcMain, host } = hostFor();
  const grantee = openWindow(ipcMain);
  const owner = new StandInBrowserWindow();
  const main = host.create('shared-by-owner', 4096, { owner, share: [grantee.window] });
  const handle = await grantee.page.attach('shared-by-owner');
  const revoked = [];
  const off = grantee.page.on('revoked', (info) => revoked.push({ info, readFails: handle.read(0, 1).then(() => false, (e) => e.code) }));
  owner.close();
  await until(() => revoked.length === 1, 5000, 'revoked');
  assert.deepEqual(revoked[0].info, { name: 'shared-by-owner', reason: 'owner-gone' });
  assert.equal(await revoked[0].readFails, 'ERR_SHM_CLOSED', 'handles are closed when the listener runs');
  await until(() => !shmExists(main.name), 5000, 'unlinked');
  off();
  grantee.window.close();
  host.close();
});

test('stand-ins: a revoked event that overtakes the attach reply still closes that handle (IPC events and invoke replies are not ordered)', async () => {
  const { ipcMain, host } = hostFor();
  const window = new StandInBrowserWindow();
  const ipcRenderer = new StandInIpcRenderer(ipcMain, window.webContents);
  const original = ipcRenderer.invoke.bind(ipcRenderer);
  ipcRenderer.invoke = async (channel, request, ...rest) => {
    const reply = await original(channel, request, ...rest);
    if (request.op === 'attach' && reply.ok) {
      // the host revoked it right after attaching, and the event arrives first
      host.revoke('raced', window);
      await new Promise((resolve) => setImmediate(resolve));
    }
    return reply;
  };
  const contextBridge = new StandInContextBridge();
  exposeShm({ ipcRenderer, contextBridge, process: PRELOAD, dom: {}, window: {}, timeoutMs: 2000 });
  const page = contextBridge.mainWorld.shm;
  const revoked = [];
  page.on('revoked', (info) => revoked.push(info));
  host.create('raced', 4096, { share: [window] });
  assertPageError(await rejection(page.attach('raced')), 'ERR_SHM_BRIDGE_NOT_GRANTED');
  assert.deepEqual(revoked, [{ name: 'raced', reason: 'revoked' }]);
  window.close();
  host.close();
});

test('stand-ins: window.shm.create makes a segment the window owns: unlinked when that window closes', {
  // The stand-in page lives in this process and keeps its own mapping after its window closes; on
  // Windows a mapping keeps the segment, and only a real renderer's end closes it. The same promise
  // across real processes runs there: 10-node-lifecycle.
  skip: process.platform === 'win32' && 'Windows: the in-process stand-in renderer never ends (see 10-node-lifecycle)',
}, async () => {
  const { ipcMain, host } = hostFor();
  const { page, window } = openWindow(ipcMain);
  const handle = await page.create('mine', 10000);
  await handle.write(0, new Uint8Array([5]));
  const [info] = host.segments();
  assert.equal(info.owner, window);
  assert.ok(shmExists(info.osName));
  assertPageError(await rejection(page.create('mine', 1)), 'ERR_SHM_BRIDGE_EXISTS');
  assert.equal(info.namespace, window, "in the window's own namespace");
  // another window may have a 'mine' of its own, cannot see this one, and is granted it by namespace
  const other = openWindow(ipcMain);
  assertPageError(await rejection(other.page.attach('mine')), 'ERR_SHM_BRIDGE_NOT_FOUND');
  host.grant('mine', other.window, { namespace: window, readonly: true });
  const seen = await other.page.attach('mine');
  assert.deepEqual([...(await seen.read(0, 1))], [5]);
  assert.throws(() => host.grant('mine', other.window), { code: 'ERR_SHM_BRIDGE_NOT_FOUND' }, "not in the app's namespace");
  window.close();
  await until(() => !shmExists(info.osName), 5000, 'unlinked with its window');
  assert.deepEqual(host.segments(), []);
  other.window.close();
  host.close();
});

test('stand-ins: snapshot() hands the DOM side one fresh ArrayBuffer with the bytes, to transfer; the page gets only the offer', async () => {
  const { ipcMain, host } = hostFor();
  const { page, window, dom, pageWindow } = openWindow(ipcMain);
  const main = host.create('snap', 5000, { share: 'all' });
  main.buf.fill(3);
  const handle = await page.attach('snap');
  const offer = await handle.snapshot();
  assert.deepEqual(offer, { token: 't1' });
  const [call] = dom.calls;
  assert.equal(call.fn, 'offerTransfer');
  assert.equal(call.win, pageWindow);
  assert.ok(call.buffer instanceof ArrayBuffer);
  assert.equal(call.buffer.byteLength, osSize(5000));
  assert.ok(new Uint8Array(call.buffer).every((b) => b === 3));
  assert.deepEqual(call.meta, { name: 'snap', size: osSize(5000), readonly: false });
  window.close();
  host.close();
});

test('stand-ins: shared() maps the segment over a shared WebAssembly.Memory for offerShared (skips without strategy "shared")', async (t) => {
  const { SharedMemory } = require('@shmkit/shm');
  try {
    const probe = new SharedMemory({ create: true, size: 1, strategy: 'shared' });
    probe.close();
    probe.unlink();
  } catch (error) {
    if (error.code === 'ERR_INVALID_ARG_VALUE') return t.skip("@shmkit/shm has no strategy 'shared' yet (branch mapping)");
    if (error.code === 'ERR_SHM_STRATEGY_UNAVAILABLE') return t.skip(`no strategy 'shared' here: ${error.message}`);
    throw error;
  }
  const { ipcMain, host } = hostFor();
  const { page, window, dom } = openWindow(ipcMain);
  const main = host.create('sab', 65536, { share: 'all' });
  const handle = await page.attach('sab');
  await handle.shared();
  const call = dom.calls.find((c) => c.fn === 'offerShared');
  assert.ok(call.memory.buffer instanceof SharedArrayBuffer);
  const bytes = new Uint8Array(call.memory.buffer, call.range.byteOffset, call.range.byteLength);
  main.buf[10] = 77;
  assert.equal(bytes[10], 77, 'the same memory, no copy');
  bytes[11] = 78;
  assert.equal(main.buf[11], 78);
  window.close();
  host.close();
});

test('stand-ins: frames() gives a stream: drawTo gets a zero-copy, seqlock-checked source; latest() copies; onFrame gets metadata only', async () => {
  const { ipcMain, host } = hostFor();
  const { page, window, dom } = openWindow(ipcMain);
  const ring = host.createFrameRing('video', { share: 'all', slots: 3, slotBytes: 16 });
  assertPageError(await rejection(page.frames('nope')), 'ERR_SHM_BRIDGE_NOT_FOUND');
  host.create('plain', 4096, { share: 'all' });
  assertPageError(await rejection(page.frames('plain')), 'ERR_SHM_RING_FORMAT');
  assert.equal(host.segments().find((s) => s.name === 'plain').attachments.length, 0, 'the failed stream was detached');

  const stream = await page.frames('video');
  assert.equal(stream.name, 'video');
  assert.equal(await stream.latest(), null);
  const infos = [];
  stream.onFrame((info) => infos.push(info));

  const canvas = { stand_in: 'canvas' };
  await stream.drawTo(canvas, { mode: '2d' });
  const draw = dom.calls.find((c) => c.fn === 'drawTo');
  assert.equal(draw.canvas, canvas);
  assert.equal(draw.options.mode, '2d');
  assert.equal(typeof draw.options.now, 'function');
  assert.equal(draw.source.latest(), null);

  ring.write(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), { width: 2, height: 1, pixelFormat: 'rgba8' });
  const view = draw.source.latest();
  assert.deepEqual({ seq: view.seq, width: view.width, height: view.height, stride: view.stride, format: view.format }, { seq: 0, width: 2, height: 1, stride: 8, format: 'rgba8' });
  assert.deepEqual([...view.data], [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(view.stillValid(), true);
  // the view is the slot itself: the writer's next frames overwrite it, and the seqlock says so
  ring.write(new Uint8Array(8).fill(9), { width: 2, height: 1, pixelFormat: 'rgba8' });
  ring.write(new Uint8Array(8).fill(10), { width: 2, height: 1, pixelFormat: 'rgba8' });
  ring.write(new Uint8Array(8).fill(11), { width: 2, height: 1, pixelFormat: 'rgba8' });
  assert.equal(view.data[0], 11, 'zero-copy: the same slot');
  assert.equal(view.stillValid(), false, 'torn');

  const copy = await stream.latest();
  assert.equal(copy.frameNumber, 3);
  assert.deepEqual([...copy.data], new Array(8).fill(11));
  ring.write(new Uint8Array(8).fill(12), { width: 2, height: 1, pixelFormat: 'rgba8' });
  assert.equal(copy.data[0], 11, 'latest() is a copy');

  await until(() => infos.some((i) => i.frameNumber === 4), 5000, 'onFrame');
  assert.equal('data' in infos[0], false, 'metadata only');
  assert.deepEqual(Object.keys(infos[0]).sort(), ['byteLength', 'dropped', 'frameNumber', 'height', 'pixelFormat', 'stride', 'timestamp', 'width']);

  stream.stop();
  assert.equal(draw.controller.stopped, true);
  assert.equal(stream.stats().draw, null);
  await stream.close();
  assert.equal(draw.source.latest(), null, 'a closed stream draws nothing');
  window.close();
  host.close();
  ring.close();
});

test('stand-ins: onFrame() after the ring went and before `revoked` arrives neither throws nor shows the page an OS name', async () => {
  const { SharedMemory } = require('@shmkit/shm');
  const { ipcMain, host } = hostFor();
  const { page, window } = openWindow(ipcMain);
  const ring = host.createFrameRing('gone-soon', { share: 'all', slots: 2, slotBytes: 16 });
  const stream = await page.frames('gone-soon');
  // the window between release and the revoked event: the OS name is unlinked, the stream not yet closed
  SharedMemory.unlink(ring.name);
  let unsubscribe;
  try {
    unsubscribe = stream.onFrame(() => {});
  } catch (error) {
    assert.doesNotMatch(String(error?.message), new RegExp(ring.name), 'an OS name reached the page');
    assert.fail(`onFrame threw: ${error?.message}`);
  }
  assert.equal(typeof unsubscribe, 'function');
  unsubscribe();
  window.close();
  host.close();
  ring.close();
});

test('loading ./preload loads neither electron nor @shmkit/shm, and ./main not electron (a sandboxed preload gets the clear error, not a failed addon load)', () => {
  const { spawnSync } = require('node:child_process');
  const loadedBy = (entry) => {
    const script = `require(${JSON.stringify(path.join(DIST, entry))});
      process.stdout.write(JSON.stringify(Object.keys(require.cache).filter((k) => !k.startsWith(${JSON.stringify(DIST)}))));`;
    const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    return JSON.parse(result.stdout);
  };
  assert.deepEqual(loadedBy('preload'), []);
  const byMain = loadedBy('main');
  assert.deepEqual(byMain.filter((k) => /[\\/]node_modules[\\/]electron[\\/]/.test(k)), []);
  assert.ok(byMain.some((k) => /[\\/]shm[\\/]dist[\\/]index\.js$/.test(k)), 'the main process does load @shmkit/shm (the check can see it)');
});
