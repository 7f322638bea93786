'use strict';
// drawTo in real Chromium, run from a CDP isolated world (like Electron's preload world) onto a canvas
// the page made; pixels are read back from the page's own world.

const assert = require('node:assert/strict');
const { describe: plainDescribe, it: plainIt } = require('node:test');
const { startServer, launch, openPage, value, browserTestApi } = require('./browser/harness.js');
// Chromium missing: every test below is reported skipped, with the reason
const { describe, it, before, after, beforeEach, afterEach } = browserTestApi();

const BPP = { rgba8: 4, bgra8: 4, rgb8: 3, gray8: 1 };
const PAD = 0xee; // padding bytes: must never show

/** The frame bytes (with stride padding) and the RGBA the canvas must show, computed here in Node. */
function pattern({ format, width, height, stride, seed = 0, opaque = false }) {
  const bpp = BPP[format];
  const bytes = new Array((height - 1) * stride + width * bpp + (stride - width * bpp)).fill(PAD);
  const rgba = [];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const px = [];
      for (let c = 0; c < bpp; c++) px.push((x * 37 + y * 101 + c * 53 + seed * 17 + 11) & 255);
      if (opaque && bpp === 4) px[3] = 255;
      px.forEach((v, c) => (bytes[y * stride + x * bpp + c] = v));
      const [b0, b1, b2, b3] = px;
      if (format === 'rgba8') rgba.push(b0, b1, b2, b3);
      else if (format === 'bgra8') rgba.push(b2, b1, b0, b3);
      else if (format === 'rgb8') rgba.push(b0, b1, b2, 255);
      else rgba.push(b0, b0, b0, 255);
    }
  }
  return { bytes, rgba };
}

// Installed in the preload world: a source the test steers. `auto` publishes a new seq on every
// latest() (so every animation frame draws); otherwise seq changes only through set(). A frame whose
// seq is in `tear` is overwritten by the "writer" while it is read (its data getter bumps the writer's
// seq), so its stillValid() — the seqlock re-check — is false.
const INSTALL_SOURCE = `(opts) => {
  const frames = new Map();
  const src = {
    auto: opts.auto, seq: opts.startSeq ?? 0, writer: 0, frameKey: null, tear: new Set(), publishedAt: undefined,
    add(key, f) {
      const data = f.shared
        ? new Uint8Array(new WebAssembly.Memory({ initial: 1, maximum: 4, shared: true }).buffer, 64, f.bytes.length)
        : new Uint8Array(f.bytes.length);
      data.set(f.bytes);
      frames.set(key, { width: f.width, height: f.height, stride: f.stride, format: f.format, data });
    },
    latest() {
      if (this.frameKey === null) return null;
      if (this.auto) this.seq++;
      const seq = this.seq, self = this, f = frames.get(this.frameKey);
      this.writer = seq;
      return {
        seq, width: f.width, height: f.height, stride: f.stride, format: f.format, publishedAt: this.publishedAt,
        get data() { if (self.tear.has(seq)) self.writer++; return f.data; },
        stillValid() { return self.writer === seq; },
      };
    },
  };
  globalThis.src = src;
  return true;
}`;

const MAKE_CANVAS = `() => { const c = document.createElement('canvas'); c.id = 'c'; document.body.append(c); return true; }`;

const START = `(opts) => {
  const canvas = document.getElementById('c');
  const now = opts.fixedNow === undefined ? undefined : () => opts.fixedNow;
  globalThis.ctl = dom.drawTo(canvas, src, { mode: opts.mode, ...(now ? { now } : {}) });
  return ctl.stats;
}`;

const WAIT_STATS = `async ({ key, atLeast, timeoutMs = 10000 }) => {
  const t0 = performance.now();
  while (!(ctl.stats[key] >= atLeast)) {
    if (performance.now() - t0 > timeoutMs) throw new Error('timed out waiting for stats.' + key + ' >= ' + atLeast + ': ' + JSON.stringify(ctl.stats));
    await new Promise((r) => setTimeout(r, 10));
  }
  return ctl.stats;
}`;

/**
 * Page world: reads the canvas back. WebGL2: readPixels inside an animation-frame callback queued
 * after drawTo's (so it sees this frame's drawing before the buffer is presented and cleared); 2D:
 * getImageData.
 */
const READ_BACK = `(kind) => new Promise((resolve) => requestAnimationFrame(() => {
  const c = document.getElementById('c');
  const w = c.width, h = c.height;
  if (kind === '2d') { resolve({ w, h, px: Array.from(c.getContext('2d').getImageData(0, 0, w, h).data) }); return; }
  const gl = c.getContext('webgl2');
  const out = new Uint8Array(w * h * 4);
  gl.readPixels(0, 0, w, h, gl.RGBA, gl.UNSIGNED_BYTE, out);
  const px = [];
  for (let y = h - 1; y >= 0; y--) px.push(...out.subarray(y * w * 4, (y + 1) * w * 4));
  resolve({ w, h, px });
}))`;

plainDescribe('unpackLayout (plain Node: the pure part of the stride handling)', () => {
  const { unpackLayout } = require('../dist/dom/draw.js');
  plainIt('returns a (row length, alignment) GL steps exactly `stride` bytes with, and null only when none exists', () => {
    const glStride = (rowLength, bpp, alignment) => Math.ceil((rowLength * bpp) / alignment) * alignment;
    for (const bpp of [1, 3, 4]) {
      for (let width = 1; width <= 40; width++) {
        for (let stride = width * bpp; stride <= width * bpp + 24; stride++) {
          const layout = unpackLayout(stride, width, bpp);
          const exists = [1, 2, 4, 8].some((a) => {
            for (let r = width; r * bpp <= stride; r++) if (glStride(r, bpp, a) === stride) return true;
            return false;
          });
          if (layout === null) {
            assert.equal(exists, false, `bpp ${bpp} width ${width} stride ${stride}: a layout exists`);
          } else {
            assert.ok(layout.rowLength >= width);
            assert.equal(glStride(layout.rowLength, bpp, layout.alignment), stride, `bpp ${bpp} width ${width} stride ${stride}`);
          }
        }
      }
    }
  });
});


describe('drawTo in real Chromium (isolated world → page canvas)', () => {
  let server;
  let browser;
  let p;

  before(async () => {
    server = await startServer();
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });
  beforeEach(async () => {
    p = await openPage(browser, `${server.origin}/plain.html`);
    value(await p.main(MAKE_CANVAS));
  });
  afterEach(async () => {
    if (p) {
      await p.preload('() => globalThis.ctl?.stop()');
      assert.deepEqual(p.errors, [], 'no uncaught page errors');
      await p.close();
    }
  });

  const CASES = [
    { format: 'rgba8', width: 7, height: 5, stride: 7 * 4 + 8, note: 'row padding of 8 bytes' },
    { format: 'bgra8', width: 6, height: 4, stride: 6 * 4 + 4, note: 'swizzled in the shader' },
    { format: 'rgb8', width: 5, height: 4, stride: 16, note: 'stride 16 = 15 bytes aligned to 4 (UNPACK_ALIGNMENT)' },
    { format: 'rgb8', width: 5, height: 4, stride: 17, note: 'stride 17: no row length/alignment fits, row by row' },
    { format: 'gray8', width: 7, height: 3, stride: 9, note: 'R8 replicated to grey' },
    { format: 'rgba8', width: 9, height: 6, stride: 9 * 4, shared: true, note: 'view over a shared WebAssembly.Memory' },
  ];
  for (const c of CASES) {
    it(`webgl2: ${c.format} ${c.width}x${c.height} stride ${c.stride} shows the right pixels (${c.note})`, async () => {
      const { bytes, rgba } = pattern(c);
      value(await p.preload(INSTALL_SOURCE, { auto: true }));
      value(await p.preload(`(f) => { src.add('a', f); src.frameKey = 'a'; return true; }`, { ...c, bytes }));
      const started = value(await p.preload(START, { mode: 'auto' }));
      assert.equal(started.mode, 'webgl2');
      value(await p.preload(WAIT_STATS, { key: 'drawn', atLeast: 2 }));
      const shown = value(await p.main(READ_BACK, 'webgl2'));
      assert.equal(shown.w, c.width);
      assert.equal(shown.h, c.height);
      assert.deepEqual(shown.px, rgba);
      const stats = value(await p.preload('() => ctl.stats'));
      assert.equal(stats.torn, 0);
      assert.equal(stats.invalid, 0);
      assert.equal(stats.dropped, 0, 'a source that publishes once per animation frame drops nothing');
    });
  }

  for (const c of [
    { format: 'rgba8', width: 7, height: 5, stride: 7 * 4 + 8 },
    { format: 'bgra8', width: 6, height: 4, stride: 6 * 4 + 4 },
    { format: 'rgb8', width: 5, height: 4, stride: 17 },
    { format: 'gray8', width: 7, height: 3, stride: 9 },
  ]) {
    it(`2d (mode '2d'): ${c.format} stride ${c.stride} shows the right pixels`, async () => {
      const { bytes, rgba } = pattern({ ...c, opaque: true });
      value(await p.preload(INSTALL_SOURCE, { auto: true }));
      value(await p.preload(`(f) => { src.add('a', f); src.frameKey = 'a'; return true; }`, { ...c, bytes }));
      assert.equal(value(await p.preload(START, { mode: '2d' })).mode, '2d');
      value(await p.preload(WAIT_STATS, { key: 'drawn', atLeast: 1 }));
      assert.deepEqual(value(await p.main(READ_BACK, '2d')).px, rgba);
    });
  }

  it('auto falls back to 2d when the canvas already has a 2d context; webgl2 then fails with ERR_SHM_DRAW_CONTEXT', async () => {
    value(await p.main(`() => !!document.getElementById('c').getContext('2d')`));
    value(await p.preload(INSTALL_SOURCE, { auto: true }));
    const forced = await p.preload(START, { mode: 'webgl2' });
    assert.equal(forced.error?.code, 'ERR_SHM_DRAW_CONTEXT');
    const c = { format: 'bgra8', width: 4, height: 3, stride: 16 };
    const { bytes, rgba } = pattern({ ...c, opaque: true });
    value(await p.preload(`(f) => { src.add('a', f); src.frameKey = 'a'; return true; }`, { ...c, bytes }));
    assert.equal(value(await p.preload(START, { mode: 'auto' })).mode, '2d');
    value(await p.preload(WAIT_STATS, { key: 'drawn', atLeast: 1 }));
    assert.deepEqual(value(await p.main(READ_BACK, '2d')).px, rgba);
  });

  it('counts dropped frames from seq gaps and draws each new seq once', async () => {
    const c = { format: 'rgba8', width: 4, height: 4, stride: 16 };
    value(await p.preload(INSTALL_SOURCE, { auto: false, startSeq: 1 }));
    value(await p.preload(`(f) => { src.add('a', f); src.frameKey = 'a'; return true; }`, { ...c, bytes: pattern(c).bytes }));
    value(await p.preload(START, { mode: 'auto' }));
    let stats = value(await p.preload(WAIT_STATS, { key: 'drawn', atLeast: 1 }));
    await p.preload('() => new Promise((r) => setTimeout(r, 150))'); // ~9 animation frames, same seq
    stats = value(await p.preload('() => ctl.stats'));
    assert.equal(stats.drawn, 1, 'the same seq is not drawn again');
    value(await p.preload('() => { src.seq = 5; return true; }')); // 2, 3, 4 never seen
    stats = value(await p.preload(WAIT_STATS, { key: 'drawn', atLeast: 2 }));
    assert.equal(stats.dropped, 3);
    value(await p.preload('() => { src.seq = 6; return true; }'));
    stats = value(await p.preload(WAIT_STATS, { key: 'drawn', atLeast: 3 }));
    assert.equal(stats.dropped, 3);
    value(await p.preload('() => { src.seq = 2; return true; }')); // a new ring: seq went back, nothing dropped
    stats = value(await p.preload(WAIT_STATS, { key: 'drawn', atLeast: 4 }));
    assert.equal(stats.dropped, 3);
    assert.equal(stats.torn, 0);
  });

  for (const mode of ['webgl2', '2d']) {
    it(`${mode}: a frame overwritten during its upload counts as torn and is not drawn`, async () => {
      const c = { format: 'rgba8', width: 4, height: 4, stride: 16, opaque: true };
      const a = pattern({ ...c, seed: 1 });
      const b = pattern({ ...c, seed: 2 });
      assert.notDeepEqual(a.rgba, b.rgba);
      value(await p.preload(INSTALL_SOURCE, { auto: false, startSeq: 1 }));
      value(await p.preload(`(f) => { src.add('a', f.a); src.add('b', f.b); src.frameKey = 'a'; return true; }`, {
        a: { ...c, bytes: a.bytes },
        b: { ...c, bytes: b.bytes },
      }));
      value(await p.preload(START, { mode }));
      value(await p.preload(WAIT_STATS, { key: 'drawn', atLeast: 1 }));
      // Seq 2 shows pattern b, but the writer moves on while it is read. The canvas is read in the
      // same animation frame, right after drawTo's step (a callback queued after drawTo's).
      const sameFrame = value(await p.preload(`() => new Promise((resolve) => {
        src.tear.add(2); src.frameKey = 'b'; src.seq = 2;
        requestAnimationFrame(() => {
          const c = document.getElementById('c');
          let px;
          if (ctl.stats.mode === '2d') px = Array.from(c.getContext('2d').getImageData(0, 0, 4, 4).data);
          else {
            const gl = c.getContext('webgl2'); const out = new Uint8Array(64);
            gl.readPixels(0, 0, 4, 4, gl.RGBA, gl.UNSIGNED_BYTE, out);
            px = [];
            for (let y = 3; y >= 0; y--) px.push(...out.subarray(y * 16, y * 16 + 16));
          }
          resolve({ stats: ctl.stats, px });
        });
      })`));
      assert.equal(sameFrame.stats.torn, 1);
      assert.equal(sameFrame.stats.drawn, 1, 'the torn frame is not drawn');
      assert.notDeepEqual(sameFrame.px, b.rgba, 'the torn frame is not on the canvas');
      // 2D keeps its pixels: still frame 1 (a WebGL drawing buffer is cleared once presented)
      if (mode === '2d') assert.deepEqual(sameFrame.px, a.rgba);
      await p.preload('() => new Promise((r) => setTimeout(r, 100))');
      const after = value(await p.preload('() => ctl.stats'));
      assert.equal(after.torn, 1, 'counted once');
      assert.equal(after.drawn, 1);
      assert.equal(after.dropped, 0);
      // the next, valid publishes draw b
      value(await p.preload(`() => { src.seq = 3; src.auto = true; return true; }`));
      value(await p.preload(WAIT_STATS, { key: 'drawn', atLeast: 3 }));
      assert.deepEqual(value(await p.main(READ_BACK, mode)).px, b.rgba);
    });
  }

  it('skips unusable frames (counted as invalid, with a coded lastError) and keeps drawing', async () => {
    const c = { format: 'rgba8', width: 4, height: 4, stride: 16 };
    value(await p.preload(INSTALL_SOURCE, { auto: false, startSeq: 1 }));
    value(await p.preload(`(f) => { src.add('ok', f.ok); src.add('short', f.short); src.add('odd', f.odd); src.frameKey = 'short'; return true; }`, {
      ok: { ...c, bytes: pattern(c).bytes },
      short: { ...c, stride: 8, bytes: pattern(c).bytes }, // stride < width * 4
      odd: { ...c, format: 'yuv420', bytes: pattern(c).bytes },
    }));
    value(await p.preload(START, { mode: 'auto' }));
    let stats = value(await p.preload(WAIT_STATS, { key: 'invalid', atLeast: 1 }));
    assert.equal(stats.lastError.code, 'ERR_INVALID_ARG_VALUE');
    value(await p.preload(`() => { src.frameKey = 'odd'; src.seq = 2; return true; }`));
    stats = value(await p.preload(WAIT_STATS, { key: 'invalid', atLeast: 2 }));
    value(await p.preload(`() => { src.frameKey = 'ok'; src.seq = 3; return true; }`));
    stats = value(await p.preload(WAIT_STATS, { key: 'drawn', atLeast: 1 }));
    assert.equal(stats.invalid, 2);
    assert.equal(stats.drawn, 1);
  });

  it('follows a change of size and format mid-stream (new texture, canvas resized)', async () => {
    const first = { format: 'rgba8', width: 4, height: 4, stride: 16 };
    const second = { format: 'gray8', width: 6, height: 3, stride: 8 };
    value(await p.preload(INSTALL_SOURCE, { auto: true }));
    value(await p.preload(`(f) => { src.add('a', f.a); src.add('b', f.b); src.frameKey = 'a'; return true; }`, {
      a: { ...first, bytes: pattern(first).bytes },
      b: { ...second, bytes: pattern(second).bytes },
    }));
    value(await p.preload(START, { mode: 'auto' }));
    value(await p.preload(WAIT_STATS, { key: 'drawn', atLeast: 2 }));
    assert.deepEqual(value(await p.main(READ_BACK, 'webgl2')).px, pattern(first).rgba);
    const drawn = value(await p.preload(`() => { src.frameKey = 'b'; return ctl.stats.drawn; }`));
    value(await p.preload(WAIT_STATS, { key: 'drawn', atLeast: drawn + 2 }));
    const shown = value(await p.main(READ_BACK, 'webgl2'));
    assert.deepEqual([shown.w, shown.h], [6, 3]);
    assert.deepEqual(shown.px, pattern(second).rgba);
  });

  it('a source that throws is reported in lastError (its code kept) and the loop goes on', async () => {
    const c = { format: 'rgba8', width: 4, height: 4, stride: 16 };
    value(await p.preload(INSTALL_SOURCE, { auto: true }));
    value(await p.preload(`(f) => {
      src.add('a', f); src.frameKey = 'a';
      const latest = src.latest.bind(src);
      let calls = 0;
      src.latest = () => { if (++calls <= 3) throw Object.assign(new Error('ring closed'), { code: 'ERR_SHM_CLOSED' }); return latest(); };
      return true;
    }`, { ...c, bytes: pattern(c).bytes }));
    value(await p.preload(START, { mode: 'auto' }));
    const stats = value(await p.preload(WAIT_STATS, { key: 'drawn', atLeast: 1 }));
    assert.equal(stats.lastError.code, 'ERR_SHM_CLOSED');
    assert.equal(stats.invalid, 0);
  });

  it('a frame whose fields throw is reported (ERR_SHM_DRAW_SOURCE) and the loop goes on', async () => {
    const c = { format: 'rgba8', width: 4, height: 4, stride: 16 };
    value(await p.preload(INSTALL_SOURCE, { auto: true }));
    value(await p.preload(`(f) => {
      src.add('a', f); src.frameKey = 'a';
      const latest = src.latest.bind(src);
      let calls = 0;
      src.latest = () => {
        const frame = latest();
        if (++calls > 2) return frame;
        return { ...frame, get data() { throw new Error('slot unmapped'); }, stillValid: frame.stillValid };
      };
      return true;
    }`, { ...c, bytes: pattern(c).bytes }));
    value(await p.preload(START, { mode: 'auto' }));
    const stats = value(await p.preload(WAIT_STATS, { key: 'drawn', atLeast: 1 }));
    assert.equal(stats.lastError?.code, 'ERR_SHM_DRAW_SOURCE');
    assert.match(stats.lastError.message, /slot unmapped/);
  });

  it('reports publish-to-upload latency on the clock of options.now, and fps', async () => {
    const c = { format: 'gray8', width: 4, height: 4, stride: 4 };
    value(await p.preload(INSTALL_SOURCE, { auto: true }));
    value(await p.preload(`(f) => { src.add('a', f); src.frameKey = 'a'; src.publishedAt = 990; return true; }`, { ...c, bytes: pattern(c).bytes }));
    value(await p.preload(START, { mode: 'auto', fixedNow: 1000 }));
    const stats = value(await p.preload(WAIT_STATS, { key: 'fps', atLeast: 1, timeoutMs: 5000 }));
    assert.equal(stats.latencyMs, 10);
    assert.ok(stats.drawn >= stats.fps * 0.5, `fps ${stats.fps} matches drawn ${stats.drawn} over ~1 s`);
  });

  it('survives WebGL context loss: counts it, redraws the same frame after restore', async () => {
    const c = { format: 'bgra8', width: 5, height: 3, stride: 20 };
    const { bytes, rgba } = pattern(c);
    value(await p.preload(INSTALL_SOURCE, { auto: false, startSeq: 1 }));
    value(await p.preload(`(f) => { src.add('a', f); src.frameKey = 'a'; return true; }`, { ...c, bytes }));
    value(await p.preload(START, { mode: 'auto' }));
    value(await p.preload(WAIT_STATS, { key: 'drawn', atLeast: 1 }));
    value(await p.main(`() => { globalThis.lose = document.getElementById('c').getContext('webgl2').getExtension('WEBGL_lose_context'); lose.loseContext(); return true; }`));
    value(await p.preload(`async () => { const t0 = performance.now(); while (!ctl.stats.contextLost) { if (performance.now() - t0 > 5000) throw new Error('no contextlost'); await new Promise((r) => setTimeout(r, 10)); } return true; }`));
    value(await p.main(`() => { lose.restoreContext(); return true; }`));
    // same seq: drawn again only because the context came back
    const stats = value(await p.preload(WAIT_STATS, { key: 'drawn', atLeast: 2 }));
    assert.equal(stats.contextLost, false);
    value(await p.preload(`() => { src.auto = true; return true; }`));
    value(await p.preload(WAIT_STATS, { key: 'drawn', atLeast: 4 }));
    assert.deepEqual(value(await p.main(READ_BACK, 'webgl2')).px, rgba);
  });

  it('2d: on contextlost (a synthetic event: Chromium offers no way to lose a 2D context on purpose) it pauses without forbidding the restore, and redraws on contextrestored', async () => {
    const c = { format: 'rgba8', width: 4, height: 4, stride: 16, opaque: true };
    value(await p.preload(INSTALL_SOURCE, { auto: false, startSeq: 1 }));
    value(await p.preload(`(f) => { src.add('a', f); src.frameKey = 'a'; return true; }`, { ...c, bytes: pattern(c).bytes }));
    value(await p.preload(START, { mode: '2d' }));
    value(await p.preload(WAIT_STATS, { key: 'drawn', atLeast: 1 }));
    const lost = value(await p.main(`async () => {
      const e = new Event('contextlost', { cancelable: true });
      document.getElementById('c').dispatchEvent(e);
      return e.defaultPrevented;
    }`));
    assert.equal(lost, false, 'a cancelled 2D contextlost would forbid the restore');
    const during = value(await p.preload(`async () => { src.seq = 2; await new Promise((r) => setTimeout(r, 150)); return ctl.stats; }`));
    assert.equal(during.contextLost, true);
    assert.equal(during.drawn, 1, 'nothing is drawn while the context is lost');
    value(await p.main(`() => { document.getElementById('c').dispatchEvent(new Event('contextrestored')); return true; }`));
    const after = value(await p.preload(WAIT_STATS, { key: 'drawn', atLeast: 2 }));
    assert.equal(after.contextLost, false);
    assert.deepEqual(value(await p.main(READ_BACK, '2d')).px, pattern(c).rgba);
  });

  it('stop() ends the loop (idempotent) and leaves the canvas usable by the page', async () => {
    const c = { format: 'rgba8', width: 4, height: 4, stride: 16 };
    value(await p.preload(INSTALL_SOURCE, { auto: true }));
    value(await p.preload(`(f) => { src.add('a', f); src.frameKey = 'a'; return true; }`, { ...c, bytes: pattern(c).bytes }));
    value(await p.preload(START, { mode: 'auto' }));
    value(await p.preload(WAIT_STATS, { key: 'drawn', atLeast: 2 }));
    const stopped = value(await p.preload(`async () => {
      ctl.stop(); ctl.stop();
      const calls = { n: 0 }; const latest = src.latest.bind(src); src.latest = () => { calls.n++; return latest(); };
      const before = ctl.stats.drawn;
      await new Promise((r) => setTimeout(r, 200));
      return { before, after: ctl.stats.drawn, calls: calls.n };
    }`));
    assert.equal(stopped.after, stopped.before);
    assert.equal(stopped.calls, 0, 'latest() is no longer called');
    const pageGl = value(await p.main(`() => { const gl = document.getElementById('c').getContext('webgl2'); gl.clearColor(0, 1, 0, 1); gl.clear(gl.COLOR_BUFFER_BIT); return gl.isContextLost(); }`));
    assert.equal(pageGl, false);
  });

  it('stop() deletes every GL object drawTo made (textures of earlier sizes too)', async () => {
    const a = { format: 'rgba8', width: 4, height: 4, stride: 16 };
    const b = { format: 'rgb8', width: 3, height: 2, stride: 9 };
    // count creations and deletions through this world's WebGL2 prototype (the one drawTo calls)
    value(await p.preload(`() => {
      const proto = WebGL2RenderingContext.prototype;
      globalThis.glObjects = new Set();
      for (const kind of ['Texture', 'Program', 'VertexArray', 'Shader', 'Buffer', 'Framebuffer']) {
        const create = proto['create' + kind], del = proto['delete' + kind];
        proto['create' + kind] = function (...args) { const o = create.apply(this, args); if (o) glObjects.add(o); return o; };
        proto['delete' + kind] = function (o) { glObjects.delete(o); return del.call(this, o); };
      }
      return true;
    }`));
    value(await p.preload(INSTALL_SOURCE, { auto: true }));
    value(await p.preload(`(f) => { src.add('a', f.a); src.add('b', f.b); src.frameKey = 'a'; return true; }`, {
      a: { ...a, bytes: pattern(a).bytes },
      b: { ...b, bytes: pattern(b).bytes },
    }));
    value(await p.preload(START, { mode: 'auto' }));
    value(await p.preload(WAIT_STATS, { key: 'drawn', atLeast: 2 }));
    const drawn = value(await p.preload(`() => { src.frameKey = 'b'; return ctl.stats.drawn; }`));
    value(await p.preload(WAIT_STATS, { key: 'drawn', atLeast: drawn + 2 }));
    const live = value(await p.preload(`() => { const before = glObjects.size; ctl.stop(); return { before, after: glObjects.size }; }`));
    assert.ok(live.before >= 3, `drawTo holds a program, a vertex array and a texture (${live.before})`);
    assert.equal(live.after, 0, 'nothing left after stop()');
  });

  it('rejects bad arguments with codes', async () => {
    const r = value(await p.preload(`() => {
      const codes = [];
      const canvas = document.getElementById('c');
      for (const args of [[null, { latest() {} }], [canvas, {}], [canvas, { latest() { return null; } }, { mode: 'webgpu' }], [canvas, { latest() { return null; } }, { now: 5 }]]) {
        try { dom.drawTo(...args); codes.push('none'); } catch (e) { codes.push(e.code); }
      }
      return codes;
    }`));
    assert.deepEqual(r, ['ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_VALUE', 'ERR_INVALID_ARG_TYPE']);
  });
});
