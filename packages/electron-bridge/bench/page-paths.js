#!/usr/bin/env node
'use strict';
// What each way from the preload's world to page code costs, measured in real Chromium (Debian's
// chromium, headless, SwiftShader for WebGL2) with the sender in a CDP isolated world (like Electron's
// preload world) and the receiver in the page's world. A program, not a test:
//
//   node packages/electron-bridge/bench/page-paths.js [--rounds 5] [--json out.json]
//
// Paths: copy (a structured clone — what contextBridge does to every buffer — and the snapshot's one
// copy `slice()`), transfer (ArrayBuffer in the transfer list), shared (a shared WebAssembly.Memory
// posted on a MessagePort), draw (texSubImage2D of a 1080p / 4K frame from a view, and drawTo's own
// upload time in situ; the 2D fallback for comparison). Medians of `--rounds` rounds after a warm-up.

const os = require('node:os');
const fs = require('node:fs');
const { execFileSync } = require('node:child_process');
const { skipReason, findChromium, startServer, launch, openPage, value } = require('../test/browser/harness.js');

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const ROUNDS = Number(opt('--rounds', 5));
const JSON_OUT = opt('--json', null);
const MiB = 1 << 20;

// Preload world: one channel to the page, set up once; the page stamps arrivals.
const SETUP_PRELOAD = `() => { const ch = new MessageChannel(); globalThis.port = ch.port1; postMessage({ bench: 'port' }, '*', [ch.port2]); return true; }`;
const SETUP_PAGE = `() => new Promise((resolve) => addEventListener('message', (e) => {
  if (e.data?.bench !== 'port' || !e.ports[0]) return;
  globalThis.arrivals = [];
  e.ports[0].onmessage = (m) => arrivals.push({ t: performance.now(), n: m.data.payload?.byteLength ?? m.data.payload?.buffer?.byteLength });
  resolve(true);
}))`;

// Preload world: posts one payload of `bytes` the given way; returns the send stamps.
const POST = `({ how, bytes }) => {
  let payload; const transfer = [];
  if (how === 'shared') { globalThis.mems ??= new Map(); if (!mems.has(bytes)) mems.set(bytes, new WebAssembly.Memory({ initial: bytes / 65536, maximum: bytes / 65536, shared: true })); payload = mems.get(bytes); }
  else { payload = new ArrayBuffer(bytes); new Uint8Array(payload).fill(7); if (how === 'transfer') transfer.push(payload); }
  const t0 = performance.now();
  port.postMessage({ payload }, transfer);
  const posted = performance.now();
  return { t0, postMs: posted - t0 };
}`;
const LAST_ARRIVAL = `async (count) => { while (arrivals.length < count) await new Promise((r) => setTimeout(r, 1)); return arrivals[count - 1]; }`;

// Preload world: the copies a non-transfer path makes, timed alone.
const COPIES = `({ bytes }) => {
  const u8 = new Uint8Array(bytes); u8.fill(3);
  let t = performance.now(); const c = structuredClone(u8.buffer); const cloneMs = performance.now() - t;
  t = performance.now(); const s = u8.slice(); const sliceMs = performance.now() - t;
  return { cloneMs, sliceMs, ok: c.byteLength === bytes && s.length === bytes };
}`;

// Preload world: texSubImage2D of one w x h rgba8 frame from a view over shared wasm memory; `sync`
// waits for the GPU side (gl.finish), else only the renderer's own (CPU) part is timed.
const UPLOAD = `({ w, h, frames }) => {
  const c = document.createElement('canvas'); c.width = w; c.height = h; document.body.append(c);
  const gl = c.getContext('webgl2', { antialias: false, depth: false, stencil: false });
  const mem = new WebAssembly.Memory({ initial: Math.ceil((w * h * 4) / 65536), maximum: Math.ceil((w * h * 4) / 65536), shared: true });
  const data = new Uint8Array(mem.buffer, 0, w * h * 4);
  const tex = gl.createTexture(); gl.bindTexture(gl.TEXTURE_2D, tex); gl.texStorage2D(gl.TEXTURE_2D, 1, gl.RGBA8, w, h);
  const cpu = [], synced = [];
  for (let i = 0; i < frames; i++) {
    data.fill(i & 255, 0, 4096);
    let t = performance.now();
    gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, w, h, gl.RGBA, gl.UNSIGNED_BYTE, data, 0);
    cpu.push(performance.now() - t);
    gl.finish();
    synced.push(performance.now() - t);
  }
  gl.deleteTexture(tex); c.remove();
  const med = (a) => a.slice(1).sort((x, y) => x - y)[Math.floor((a.length - 1) / 2)];
  return { renderer: gl.getParameter(gl.RENDERER), cpuMs: med(cpu), syncedMs: med(synced) };
}`;

// Preload world: drawTo for `ms` (3 s) on a w x h frame that changes every animation frame; the time from
// latest() to stillValid() is drawTo's own upload (texSubImage2D, or the 2D copy + conversion).
const DRAW_LOOP = `({ w, h, ms, mode, format }) => new Promise((resolve) => {
  const c = document.createElement('canvas'); document.body.append(c);
  const data = new Uint8Array(new WebAssembly.Memory({ initial: Math.ceil((w * h * 4) / 65536), maximum: Math.ceil((w * h * 4) / 65536), shared: true }).buffer, 0, w * h * 4);
  let seq = 0; const uploads = [];
  const source = { latest() {
    const t = performance.now(); seq++;
    return { seq, width: w, height: h, stride: w * 4, format, data, stillValid() { uploads.push(performance.now() - t); return true; } };
  } };
  const ctl = dom.drawTo(c, source, { mode });
  setTimeout(() => {
    const stats = ctl.stats; ctl.stop(); c.remove();
    const s = uploads.slice(1).sort((x, y) => x - y);
    resolve({ mode: stats.mode, fps: stats.fps, drawn: stats.drawn, uploadMs: s[Math.floor(s.length / 2)] ?? null });
  }, ms);
})`;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (x) => (x === null || x === undefined ? '–' : x < 10 ? x.toFixed(2) : x.toFixed(1));

async function main() {
  const reason = skipReason();
  if (reason) {
    console.error(`page-paths: ${reason}`);
    process.exit(2);
  }
  const version = execFileSync(findChromium(), ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  const server = await startServer();
  const browser = await launch({ sharedArrayBufferFeature: true });
  const results = { date: new Date().toISOString(), chromium: version, cpu: os.cpus()[0]?.model, cores: os.cpus().length, load: os.loadavg()[0], rounds: ROUNDS, post: [], copies: [], upload: [], drawTo: [] };
  try {
    const p = await openPage(browser, `${server.origin}/plain.html`);
    const ready = p.main(SETUP_PAGE);
    value(await p.preload(SETUP_PRELOAD));
    value(await ready);
    let count = 0;
    for (const bytes of [1 * MiB, 8 * MiB, 64 * MiB]) {
      for (const how of ['clone', 'transfer', 'shared']) {
        const rows = [];
        for (let round = 0; round <= ROUNDS; round++) {
          const sent = value(await p.preload(POST, { how, bytes }));
          const arrived = value(await p.main(LAST_ARRIVAL, ++count));
          if (arrived.n !== bytes) throw new Error(`${how}: ${arrived.n} bytes arrived, ${bytes} sent`);
          if (round > 0) rows.push({ postMs: sent.postMs, endToEndMs: arrived.t - sent.t0 });
        }
        results.post.push({ how, bytes, postMs: median(rows.map((r) => r.postMs)), endToEndMs: median(rows.map((r) => r.endToEndMs)) });
      }
      const copies = [];
      for (let round = 0; round <= ROUNDS; round++) copies.push(value(await p.preload(COPIES, { bytes })));
      results.copies.push({ bytes, cloneMs: median(copies.slice(1).map((c) => c.cloneMs)), sliceMs: median(copies.slice(1).map((c) => c.sliceMs)) });
    }
    for (const [name, w, h] of [['1080p', 1920, 1080], ['4K', 3840, 2160]]) {
      const up = value(await p.preload(UPLOAD, { w, h, frames: ROUNDS * 4 + 1 }));
      results.renderer = up.renderer;
      results.upload.push({ name, w, h, cpuMs: up.cpuMs, syncedMs: up.syncedMs });
      for (const [mode, format] of [['webgl2', 'rgba8'], ['webgl2', 'bgra8'], ['2d', 'rgba8'], ['2d', 'bgra8']]) {
        const d = value(await p.preload(DRAW_LOOP, { w, h, ms: 3000, mode, format }));
        results.drawTo.push({ name, mode: d.mode, format, fps: d.fps, drawn: d.drawn, uploadMs: d.uploadMs });
      }
    }
    await p.close();
  } finally {
    await browser.close();
    await server.close();
  }
  const lines = [];
  lines.push(`${results.date} · ${results.chromium} · ${results.cpu} × ${results.cores} · load ${results.load.toFixed(1)} · WebGL: ${results.renderer} · median of ${ROUNDS}`);
  lines.push('', '| payload | way | postMessage call (ms) | isolated world → page onmessage (ms) |', '|---|---|---|---|');
  for (const r of results.post) lines.push(`| ${r.bytes / MiB} MiB | ${r.how} | ${fmt(r.postMs)} | ${fmt(r.endToEndMs)} |`);
  lines.push('', '| payload | structuredClone (≈ one contextBridge copy) (ms) | slice() (snapshot\'s one copy) (ms) |', '|---|---|---|');
  for (const r of results.copies) lines.push(`| ${r.bytes / MiB} MiB | ${fmt(r.cloneMs)} | ${fmt(r.sliceMs)} |`);
  lines.push('', '| frame | texSubImage2D call (ms) | + gl.finish (ms) |', '|---|---|---|');
  for (const r of results.upload) lines.push(`| ${r.name} rgba8 (${((r.w * r.h * 4) / MiB).toFixed(1)} MiB) | ${fmt(r.cpuMs)} | ${fmt(r.syncedMs)} |`);
  lines.push('', '| frame | drawTo mode | format | upload in drawTo (ms, median) | fps (3 s, rAF-capped) |', '|---|---|---|---|---|');
  for (const r of results.drawTo) lines.push(`| ${r.name} | ${r.mode} | ${r.format} | ${fmt(r.uploadMs)} | ${fmt(r.fps)} |`);
  console.log(lines.join('\n'));
  if (JSON_OUT) fs.writeFileSync(JSON_OUT, JSON.stringify(results, null, 2) + '\n');
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
