'use strict';
// ./renderer in real Chromium, loaded by the page as the ES module dist/browser/renderer/index.js (no bundler),
// over a STAND-IN window.shm (what exposeShm() would expose; no Electron here) whose snapshot()/shared() return
// offers made by the DOM side in a CDP isolated world like the preload's: getShm() receives the moved buffer and
// the same shared memory, and rebuilds plain error records as Errors with their code.
const assert = require('node:assert/strict');
const { startServer, launch, openPage, value, browserTestApi } = require('./browser/harness.js');
// Chromium missing: every test below is reported skipped, with the reason
const { describe, it, before, after } = browserTestApi();

// Preload world: one snapshot buffer (moved) and one shared memory, offered; returns the two tokens.
const OFFERS = `async () => {
  const buffer = new ArrayBuffer(4096);
  new Uint8Array(buffer).fill(7);
  const snapshot = await dom.offerTransfer(window, buffer, { name: 'seg', size: 4096, readonly: false });
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  new Uint8Array(memory.buffer)[100] = 42;
  globalThis.mem = memory;
  const shared = await dom.offerShared(window, memory, { byteOffset: 0, byteLength: 4096 }, { name: 'seg', size: 4096, readonly: false });
  return { snapshot, shared, detached: buffer.byteLength };
}`;

// Page world: a stand-in window.shm with the bridge's shape, then the renderer module over it.
const PAGE = `async (offers) => {
  const record = (name, code, message) => ({ name, code, message });
  window.shm = {
    version: 1,
    attach: async (name) => {
      if (name !== 'seg') throw record('Error', 'ERR_SHM_BRIDGE_NOT_FOUND', 'no segment named ' + name);
      return {
        name: 'seg', size: 4096, readonly: false,
        read: async (offset, length) => { throw record('RangeError', 'ERR_OUT_OF_RANGE', 'length ' + length + ' too large'); },
        write: async () => 0,
        snapshot: async () => offers.snapshot,
        shared: async () => offers.shared,
        close: async () => undefined,
      };
    },
    create: async () => { throw record('Error', 'ERR_SHM_BRIDGE_EXISTS', 'exists'); },
    frames: async () => { throw record('Error', 'ERR_SHM_RING_FORMAT', 'not a ring'); },
    list: async () => [],
    release: async () => undefined,
    on: () => () => undefined,
  };
  const renderer = await import('/dom/renderer/index.js');
  const shm = renderer.getShm();
  const handle = await shm.attach('seg');
  const snapshot = await handle.snapshot({ timeoutMs: 5000 });
  const shared = await handle.shared({ timeoutMs: 5000 });
  shared.bytes[101] = 43;
  const caught = async (p) => p.then(() => null, (e) => ({ isError: e instanceof Error, ctor: e.constructor.name, code: e.code, message: e.message }));
  let notExposed = null;
  try { renderer.getShm(window, 'absent'); } catch (e) { notExposed = e.code; }
  return {
    exports: Object.keys(renderer).sort(),
    snapshot: { isArrayBuffer: snapshot instanceof ArrayBuffer, length: snapshot.byteLength, allSevens: new Uint8Array(snapshot).every((b) => b === 7) },
    shared: { sab: Object.prototype.toString.call(shared.buffer), length: shared.bytes.length, byte100: shared.bytes[100] },
    readError: await caught(handle.read(0, 1 << 20)),
    attachError: await caught(shm.attach('missing')),
    notExposed,
  };
}`;


describe('the renderer entry as a page module in real Chromium', () => {
  let server;
  let browser;
  let p;
  before(async () => {
    server = await startServer();
    browser = await launch({ sharedArrayBufferFeature: true });
    p = await openPage(browser, `${server.origin}/plain.html`);
  });
  after(async () => {
    await p?.close();
    await browser?.close();
    await server?.close();
  });

  it('getShm() receives the moved snapshot and the same shared memory, and rebuilds coded Errors', async () => {
    const offers = value(await p.preload(OFFERS));
    assert.equal(offers.detached, 0, 'the snapshot buffer was moved out of the preload world');
    const got = value(await p.main(PAGE, { snapshot: offers.snapshot, shared: offers.shared }));
    assert.deepEqual(got.exports, ['getShm', 'receiveShared', 'receiveTransfer']);
    assert.deepEqual(got.snapshot, { isArrayBuffer: true, length: 4096, allSevens: true });
    assert.deepEqual(got.shared, { sab: '[object SharedArrayBuffer]', length: 4096, byte100: 42 });
    assert.equal(value(await p.preload('() => new Uint8Array(mem.buffer)[101]')), 43, 'a page write reaches the preload: one memory');
    assert.deepEqual(got.readError, { isError: true, ctor: 'RangeError', code: 'ERR_OUT_OF_RANGE', message: 'length 1048576 too large' });
    assert.deepEqual(got.attachError, { isError: true, ctor: 'Error', code: 'ERR_SHM_BRIDGE_NOT_FOUND', message: 'no segment named missing' });
    assert.equal(got.notExposed, 'ERR_SHM_BRIDGE_NOT_EXPOSED');
    assert.deepEqual(p.errors, []);
  });
});
