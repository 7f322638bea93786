'use strict';
// The sandboxed window's preload (dist/sandboxed-preload.js, the self-contained bundle) in real Chromium:
// it runs as it is in a CDP isolated world — the same kind of world as Electron's preload world — whose
// require() knows only 'electron', a STAND-IN of Electron's IPC (test/browser/ipc-stand-in.js) carrying
// its requests to a real host in this process (real segments and a real FrameRing). It draws frames it
// gets by copy into the page's canvas (WebGL2 and 2D), hands the page a snapshot by transfer, refuses
// shared(), counts drops exactly, and no OS name reaches it.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startServer, launch, openPage, value, browserTestApi } = require('./browser/harness.js');
// Chromium missing: every test below is reported skipped, with the reason
const { describe, it, before, after } = browserTestApi();
const { isolatedPreload } = require('./browser/ipc-stand-in.js');
const { DIST, hostOptions, checkNoLeaks } = require('./fixtures/node-helpers');
const { StandInBrowserWindow, StandInIpcMain } = require('./fixtures/electron-stand-ins');

checkNoLeaks();

const { createHost, sandboxedPreloadPath } = require(path.join(DIST, 'main'));

const W = 64;
const H = 48;
/** Frame k: every pixel (k, 255 - k, k * 3, 255). */
function frame(k) {
  const px = new Uint8Array(W * H * 4);
  for (let i = 0; i < px.length; i += 4) px.set([k & 255, (255 - k) & 255, (k * 3) & 255, 255], i);
  return px;
}

/**
 * The preload's world reads the canvas back (it shares the page's canvas and WebGL context), inside
 * an animation frame in which drawTo drew a new frame (its callback runs first): for WebGL2 before the
 * buffer is presented and cleared (preserveDrawingBuffer is false).
 */
const READ_BACK = `({ kind, expect }) => new Promise((resolve, reject) => {
  const c = document.getElementById('c');
  const w = c.width, h = c.height;
  let newest = -1;
  const off = stream.onFrame((info) => { newest = info.frameNumber; });
  let before = stream.stats().draw.drawn;
  let frames = 0;
  const look = () => {
    const drawn = stream.stats().draw.drawn;
    if (drawn > before && newest === expect) {
      off();
      if (kind === '2d') { resolve({ w, h, px: Array.from(c.getContext('2d').getImageData(0, 0, 2, 1).data) }); return; }
      const gl = c.getContext('webgl2');
      const out = new Uint8Array(4 * 2);
      gl.readPixels(0, h - 1, 2, 1, gl.RGBA, gl.UNSIGNED_BYTE, out);
      resolve({ w, h, px: Array.from(out) });
      return;
    }
    before = drawn;
    if (++frames > 600) { off(); reject(new Error('frame ' + expect + ' was not drawn')); }
    else requestAnimationFrame(look);
  };
  requestAnimationFrame(look);
})`;


describe('the sandboxed preload bundle in real Chromium (copy path)', () => {
  let server;
  let browser;

  before(async () => {
    server = await startServer();
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  for (const mode of ['webgl2', '2d']) {
    it(`draws frames it gets by copy into the page's canvas (${mode}), drops counted exactly; snapshot by transfer; shared() refused; no OS name`, async () => {
      const p = await openPage(browser, `${server.origin}/plain.html`);
      const ipcMain = new StandInIpcMain();
      const options = hostOptions();
      const host = createHost({ ipcMain, BrowserWindow: StandInBrowserWindow, allowedOrigins: ['file://'], ...options });
      const window = new StandInBrowserWindow();
      const ring = host.createFrameRing('video', { share: [window], slots: 3, slotBytes: W * H * 4 });
      const data = host.create('data', 10_000, { share: [window] });
      data.buf.fill(9);
      data.buf[9999] = 1;
      try {
        const world = await isolatedPreload({ cdp: p.cdp, worldName: `shmkit-sandboxed-${mode}`, ipcMain, window });
        // the bundle, as it is: it calls exposeShm() itself
        const keys = value(await world.run('(src) => { (0, eval)(src); return Object.keys(globalThis.exposed); }', fs.readFileSync(sandboxedPreloadPath, 'utf8')));
        assert.deepEqual(keys, ['shm']);
        value(await p.main(`() => { const c = document.createElement('canvas'); c.id = 'c'; document.body.append(c); return true; }`));
        const started = value(await world.run(`async (mode) => {
          const shm = globalThis.exposed.shm;
          globalThis.stream = await shm.frames('video');
          await stream.drawTo(document.getElementById('c'), { mode });
          return { path: shm.path, streamPath: stream.path };
        }`, mode));
        assert.deepEqual(started, { path: 'copy', streamPath: 'copy' });

        // publish: one frame, then bursts while the page draws
        let published = 0;
        ring.write(frame(published++), { width: W, height: H, pixelFormat: 'rgba8' });
        const waitStats = (predicate) => world.run(`async (src) => {
          const ok = eval(src);
          const t0 = performance.now();
          while (!ok(stream.stats())) {
            if (performance.now() - t0 > 15000) throw new Error('timed out: ' + JSON.stringify(stream.stats()));
            await new Promise((r) => setTimeout(r, 10));
          }
          return stream.stats();
        }`, predicate);
        value(await waitStats('(s) => s.ring.received === 1 && s.draw && s.draw.drawn >= 1'));
        for (let burst = 0; burst < 4; burst++) {
          for (let i = 0; i < 5; i++) ring.write(frame(published++), { width: W, height: H, pixelFormat: 'rgba8' });
          const expected = published;
          value(await waitStats(`(s) => s.ring.received + s.ring.dropped === ${expected}`));
        }
        const stats = value(await waitStats(`(s) => s.draw.drawn >= 2`));
        assert.equal(stats.ring.received + stats.ring.dropped, published, 'every frame received or counted as dropped');
        assert.ok(stats.ring.dropped > 0, 'bursts faster than the pulls were dropped');
        assert.equal(stats.draw.mode, mode);
        // the newest frame is on the page's canvas: publish one more and read it back where it is drawn
        const reading = world.run(READ_BACK, { kind: mode, expect: published });
        await new Promise((resolve) => setTimeout(resolve, 50));
        ring.write(frame(published++), { width: W, height: H, pixelFormat: 'rgba8' });
        const shown = value(await reading);
        assert.deepEqual({ w: shown.w, h: shown.h }, { w: W, h: H });
        assert.deepEqual(shown.px.slice(0, 4), [...frame(published - 1).subarray(0, 4)], 'the newest frame is drawn');

        // a segment: read by copy, snapshot moved to the page, shared() refused
        const handled = value(await world.run(`async () => {
          const h = await globalThis.exposed.shm.attach('data');
          const head = Array.from(await h.read(9998, 2));
          const offer = await h.snapshot();
          let shared = null;
          try { await h.shared(); } catch (e) { shared = e.code; }
          return { path: h.path, head, offer, shared };
        }`));
        assert.equal(handled.path, 'copy');
        assert.deepEqual(handled.head, [9, 1]);
        assert.equal(handled.shared, 'ERR_SHM_BRIDGE_SHARED_UNAVAILABLE');
        const received = value(await p.main(`async (offer) => {
          const renderer = await import('/dom/renderer/index.js');
          const { buffer } = await renderer.receiveTransfer(window, offer, { timeoutMs: 5000 });
          const u8 = new Uint8Array(buffer);
          return { length: buffer.byteLength, first: u8[0], last: u8[u8.length - 1] };
        }`, handled.offer));
        assert.deepEqual(received, { length: 10_000, first: 9, last: 1 });

        // what the sandboxed renderer was sent: never an OS name
        const sent = JSON.stringify(world.messages, (k, v) => (v instanceof Uint8Array ? '<bytes>' : v));
        assert.doesNotMatch(sent, new RegExp(options.osNamePrefix));
        assert.ok(host.segments().every((s) => s.attachments.every((a) => a.copy)), 'the host sees copy attachments');
        value(await world.run(`async () => { stream.stop(); await stream.close(); return true; }`));
      } finally {
        window.close();
        host.close();
        ring.close();
        await p.close();
      }
    });
  }
});
