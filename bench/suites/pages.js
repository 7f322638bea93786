'use strict';
// Pages: one frame from the main process's segment into a window's WebGL2 texture, by each path a
// window can have: zero-copy (an unsandboxed window: its preload maps the segment), copy (a sandboxed
// window: @shmkit/electron-bridge's copy path, the host copies the newest frame and Electron's IPC
// carries it), and plain Electron IPC as its docs show it (webContents.send of the app's own frame
// buffer, ipcRenderer.on in the preload, a callback across contextBridge). Every path ends the same
// way: the page uploads the whole frame (texSubImage2D), so every row does the same work at the end.
//
// Each step is a real operation timed where it runs, because no Electron binary exists on our
// machines (the Electron specs print the overlay's figures where one does):
//   - main, the host's copy: the real BridgeHost answering a copy attachment's `frame` request from a
//     real FrameRing (it copies the frame into a buffer of its own);
//   - main → renderer, Electron's IPC: not Electron here. Chromium's Mojo sends anything over 64 KiB
//     through a fresh shared-memory region per message (../shared/reference/electron-facts.md), so its
//     cost is measured as that operation: a fresh segment made, the frame copied in, then closed
//     (@shmkit/shm, Node); and in the renderer, deserialising into a fresh ArrayBuffer: `slice()` of
//     the frame in Chromium;
//   - contextBridge's copies of an ArrayBuffer (serialize + deserialize): `structuredClone` in Chromium;
//   - the upload: texSubImage2D of the frame in headless Chromium (WebGL2 by SwiftShader: no GPU),
//     timed to gl.finish() so that every upload is complete and none waits on the one before.
// Sums of medians are a model of a path, not a measurement of Electron: the table says which figure
// is which.
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const { summarize, now, fmt } = require('../lib/stats');

const MiB = 1 << 20;
const PRESETS = {
  tiny: { sizes: [['320x180', 320, 180]], runs: 1, samples: 4 },
  quick: { sizes: [['1080p', 1920, 1080], ['4K', 3840, 2160]], runs: 3, samples: 12 },
  full: { sizes: [['1080p', 1920, 1080], ['4K', 3840, 2160]], runs: 5, samples: 30 },
};
const WARMUP = 3; // samples dropped at the start of every run, on every step alike

const BRIDGE_DIST = path.join(__dirname, '..', '..', 'packages', 'electron-bridge', 'dist');

/** Why the Chromium steps cannot run here, or null. */
function chromiumMissing() {
  const { skipReason } = require('../../packages/electron-bridge/test/browser/harness.js');
  return skipReason() || null;
}

/** Samples of `step()` (ms, after WARMUP) in each of `runs` runs, pooled. */
async function sampleRuns(runs, samples, step) {
  const pooled = [];
  for (let run = 0; run < runs; run++) {
    for (let i = 0; i < WARMUP + samples; i++) {
      const ms = await step(i);
      if (i >= WARMUP) pooled.push(ms);
    }
  }
  return pooled;
}

/**
 * The main process's side, in Node: the real host's `frame` reply to a copy attachment, and the
 * IPC's own copy (a fresh shared-memory region per message, filled). Also a copy into a buffer that
 * is already touched, to show what page faults cost on this machine.
 */
async function mainSide(width, height, preset) {
  const core = require(path.join(BRIDGE_DIST, 'core'));
  const { SharedMemory } = require('@shmkit/shm');
  const bytes = width * height * 4;
  const peer = { label: 'bench peer' };
  const transport = { binary: true, listen() {}, send() {}, accept: (value) => value === peer, close() {} };
  const host = new core.BridgeHost(transport, {});
  try {
    const ring = host.createFrameRing('video', { slots: 3, slotBytes: bytes, share: [peer] });
    const fill = new Uint8Array(bytes).fill(0x5a);
    let id = 1;
    const ask = async (body) => {
      const reply = await host.handleRequest(peer, { v: 1, id: id++, ...body });
      if (!reply.ok) throw new Error(`${reply.error.code}: ${reply.error.message}`);
      return reply.result;
    };
    const { handle } = await ask({ op: 'attach', name: 'video', copy: true });
    let last = -1;
    const hostCopy = await sampleRuns(preset.runs, preset.samples, async () => {
      const slot = ring.acquire();
      slot.data.set(fill); // the producer writes the whole frame
      ring.publish(slot, { width, height, pixelFormat: 'rgba8' });
      const t0 = now();
      const result = await ask({ op: 'frame', handle, after: last });
      const ms = now() - t0;
      if (result === null || result.bytes.byteLength !== bytes || result.bytes[bytes - 1] !== 0x5a) throw new Error('the host gave no whole frame');
      last = result.frameNumber;
      return ms;
    });
    const frame = new Uint8Array(bytes).fill(7);
    const ipcRegion = await sampleRuns(preset.runs, preset.samples, () => {
      const t0 = now();
      const region = SharedMemory.create(bytes, { track: false, populate: false });
      region.buf.set(frame);
      region.close();
      region.unlink();
      return now() - t0;
    });
    const warm = new Uint8Array(bytes);
    const warmCopy = await sampleRuns(preset.runs, preset.samples, () => {
      const t0 = now();
      warm.set(frame);
      return now() - t0;
    });
    return { hostCopy: summarize(hostCopy), ipcRegion: summarize(ipcRegion), warmCopy: summarize(warmCopy) };
  } finally {
    host.close();
  }
}

// In the page: one step, `samples` times after a warm-up, per run; returns the samples (ms).
const PAGE_STEP = `({ step, width, height, samples, warmup }) => {
  const bytes = width * height * 4;
  const c = globalThis.benchCanvas ??= Object.assign(document.createElement('canvas'), { width: 16, height: 16 });
  const gl = globalThis.benchGl ??= c.getContext('webgl2', { antialias: false, depth: false, stencil: false });
  if (!gl) throw new Error('no WebGL2 in this Chromium');
  globalThis.benchTextures ??= new Map();
  let tex = benchTextures.get(bytes);
  if (!tex) { tex = gl.createTexture(); gl.bindTexture(gl.TEXTURE_2D, tex); gl.texStorage2D(gl.TEXTURE_2D, 1, gl.RGBA8, width, height); benchTextures.set(bytes, tex); }
  gl.bindTexture(gl.TEXTURE_2D, tex);
  const pages = Math.ceil(bytes / 65536);
  const shared = new Uint8Array(new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true }).buffer, 0, bytes).fill(9);
  const frame = new Uint8Array(bytes).fill(5);
  const out = [];
  for (let i = 0; i < warmup + samples; i++) {
    frame[0] = i; shared[0] = i;
    let t0 = performance.now(), kept;
    if (step === 'deserialize') kept = frame.slice();
    else if (step === 'contextBridge') kept = structuredClone(frame.buffer);
    else if (step === 'upload-shared') { gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, width, height, gl.RGBA, gl.UNSIGNED_BYTE, shared, 0); gl.finish(); }
    else if (step === 'upload-fresh') {
      // a buffer the IPC just made (not timed): uploads read memory that was written a moment ago
      const fresh = frame.slice(); t0 = performance.now();
      gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, width, height, gl.RGBA, gl.UNSIGNED_BYTE, fresh, 0); gl.finish();
    } else throw new Error('unknown step ' + step);
    const ms = performance.now() - t0;
    if (kept && kept.byteLength !== bytes) throw new Error(step + ' lost bytes');
    if (i >= warmup) out.push(ms);
  }
  if (gl.getError() !== gl.NO_ERROR) throw new Error('WebGL error ' + gl.getError());
  const info = gl.getExtension('WEBGL_debug_renderer_info');
  return { samples: out, renderer: gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER) };
}`;

async function pageSide(browserPage, width, height, preset) {
  const { value } = require('../../packages/electron-bridge/test/browser/harness.js');
  const steps = {};
  let renderer;
  for (const step of ['deserialize', 'contextBridge', 'upload-shared', 'upload-fresh']) {
    const pooled = [];
    for (let run = 0; run < preset.runs; run++) {
      const r = value(await browserPage.main(PAGE_STEP, { step, width, height, samples: preset.samples, warmup: WARMUP }));
      pooled.push(...r.samples);
      renderer = r.renderer;
    }
    steps[step] = summarize(pooled);
  }
  return { steps, renderer };
}

const cell = (s) => (s ? `${fmt(s.median)} (${fmt(s.p10)}–${fmt(s.p90)})` : '—');

async function run({ preset: presetName, progress }) {
  const preset = PRESETS[presetName];
  const missing = chromiumMissing();
  const rows = [];
  let chromium = null;
  let renderer = null;
  let browser = null;
  let server = null;
  let page = null;
  try {
    if (!missing) {
      const { startServer, launch, openPage, findChromium } = require('../../packages/electron-bridge/test/browser/harness.js');
      chromium = execFileSync(findChromium(), ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
      server = await startServer();
      browser = await launch({ sharedArrayBufferFeature: true });
      page = await openPage(browser, `${server.origin}/plain.html`);
    }
    for (const [label, width, height] of preset.sizes) {
      progress(`${label}: the main process's steps (Node)`);
      const main = await mainSide(width, height, preset);
      let pageSteps = null;
      if (page) {
        progress(`${label}: the renderer's steps (Chromium)`);
        const r = await pageSide(page, width, height, preset);
        pageSteps = r.steps;
        renderer = r.renderer;
      }
      rows.push({ label, width, height, bytes: width * height * 4, main, page: pageSteps });
    }
  } finally {
    await page?.close();
    await browser?.close();
    await server?.close();
  }

  const lines = [
    'One frame from the main process into a window\'s WebGL2 texture, by the three paths a window can',
    'have, step by step (ms per frame, median and p10–p90 over every run). **Not Electron**: there is',
    'no Electron binary on our machines, so each step is the same operation timed on its own — the',
    'host\'s copy by the real `BridgeHost`, Electron\'s IPC as what Mojo does with a message over',
    '64 KiB (a fresh shared-memory region filled in main, then deserialised into a fresh ArrayBuffer:',
    '`slice()` in Chromium), contextBridge as `structuredClone` in Chromium, the upload as',
    '`texSubImage2D` + `gl.finish()` in headless Chromium' + (renderer ? ` (${renderer})` : '') + '. A path\'s total is the sum of its',
    'steps\' medians: a model. The Electron specs (`e2e/`) print the real figures where Electron runs.',
    '',
  ];
  if (missing) lines.push(`**The renderer's steps were skipped:** ${missing}`, '');
  for (const r of rows) {
    const m = r.main;
    const p = r.page ?? {};
    const sum = (...xs) => xs.reduce((a, s) => a + (s ? s.median : NaN), 0);
    const zero = sum(p['upload-shared']);
    const copy = sum(m.hostCopy, m.ipcRegion, p.deserialize, p['upload-fresh']);
    const plain = sum(m.ipcRegion, p.deserialize, p.contextBridge, p['upload-fresh']);
    const rendererShare = { zero, copy: sum(p.deserialize, p['upload-fresh']), plain: sum(p.deserialize, p.contextBridge, p['upload-fresh']) };
    const fps = (ms) => (Number.isFinite(ms) && ms > 0 ? fmt(Math.min(60, 1000 / ms)) : '—');
    lines.push(
      `**${r.label}** (${r.width}×${r.height} rgba8, ${fmt(r.bytes / MiB)} MiB)`,
      '',
      '| step | where | zero-copy (unsandboxed) | copy (sandboxed, this kit) | plain IPC + contextBridge |',
      '|---|---|---|---|---|',
      `| the host copies the newest frame out of the ring | main | — | ${cell(m.hostCopy)} | — (the app's own buffer) |`,
      `| IPC: a fresh shared-memory region, filled | main | — | ${cell(m.ipcRegion)} | ${cell(m.ipcRegion)} |`,
      `| IPC: deserialised into a fresh ArrayBuffer | renderer | — | ${cell(p.deserialize)} | ${cell(p.deserialize)} |`,
      `| contextBridge: serialise + deserialise | renderer | — | — (transferred to the page) | ${cell(p.contextBridge)} |`,
      `| upload into the page's texture | renderer | ${cell(p['upload-shared'])} | ${cell(p['upload-fresh'])} | ${cell(p['upload-fresh'])} |`,
      `| **total (model)** | | **${fmt(zero)}** | **${fmt(copy)}** | **${fmt(plain)}** |`,
      `| the renderer's share → fps it could draw (≤ 60) | | ${fmt(rendererShare.zero)} → ${fps(rendererShare.zero)} | ${fmt(rendererShare.copy)} → ${fps(rendererShare.copy)} | ${fmt(rendererShare.plain)} → ${fps(rendererShare.plain)} |`,
      '',
      `For scale: the same frame copied into a buffer that is already touched takes ${cell(m.warmCopy)} ms. The host's`,
      `copy is that fast when the allocator hands back memory it has touched, and pays a page fault per 4 KiB page when`,
      `its buffer is fresh (its p90: ≈ ${fmt(((m.hostCopy.p90 - m.warmCopy.median) * 1000) / (r.bytes / 4096))} µs per page here); every IPC step above makes a fresh buffer.`,
      '',
    );
    r.totals = { zeroCopy: zero, copy, plain, rendererShare };
  }
  lines.push(
    'Reading it: the zero-copy path costs the upload alone, which every path pays. The copy path adds',
    'the host\'s copy and the IPC\'s two; plain IPC swaps the host\'s copy for contextBridge\'s two. On this',
    'VM every fresh buffer is dominated by page faults; on hardware with cheap faults the copies cost',
    'about what the warm copy does. Sandboxed windows should be used for frames only where that cost',
    'fits the frame rate; the zero-copy path is for 4K streams.',
  );
  const headlines = missing
    ? []
    : rows.map((r) => {
        const fps = (ms) => (Number.isFinite(ms) && ms > 0 ? fmt(Math.min(60, 1000 / ms)) : '—');
        const s = r.totals.rendererShare;
        return {
          key: `pages.${r.label.toLowerCase()}`,
          text:
            `${r.label} into a window, the renderer's share of one frame (a model from steps timed in Chromium, not Electron): zero-copy ${fmt(s.zero)} ms (→ ${fps(s.zero)} fps), ` +
            `the sandboxed copy path ${fmt(s.copy)} ms (→ ${fps(s.copy)} fps), plain IPC through contextBridge ${fmt(s.plain)} ms (→ ${fps(s.plain)} fps)`,
        };
      });
  return { markdown: lines.join('\n'), data: { chromium, renderer, skipped: missing, rows }, goals: [], headlines };
}

module.exports = { id: 'pages', title: 'Pages: a frame into a window, zero-copy vs copy path vs plain IPC', run };
