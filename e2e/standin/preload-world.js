// The preload's side for the page specs, run in a CDP isolated world (the kind of world Electron
// runs a preload in). It uses the bridge's DOM-side code as it is (drawTo, offerShared,
// offerTransfer from /bridge/dom/) and the app's own pattern and dataset code; what Electron's main
// process would provide (the FrameRing, the dataset segment) is produced here in the same shapes:
// a frame source of rotating slots with a sequence check, and the dataset in a shared
// WebAssembly.Memory. Requests come from the contextBridge stand-in (page-world.js).
import { drawTo, offerShared, offerTransfer } from '/bridge/dom/index.js';
import { PatternRenderer, PRESETS } from '/js/shared/pattern.js';
import { fill } from '/js/shared/dataset.js';

export function install({ preset = 'small', fps = 60, datasetMiB = 16 } = {}) {
  const { width, height } = PRESETS[preset];
  const frameBytes = width * height * 4;
  const now = () => performance.timeOrigin + performance.now();

  // Video: 3 slots, the producer renders into the next one in place, like a FrameRing writer.
  const renderer = new PatternRenderer(width, height);
  const slots = [0, 1, 2].map(() => ({ data: new Uint8Array(frameBytes), seq: -1, publishedAt: 0 }));
  let published = 0;
  const produce = () => {
    const slot = slots[published % slots.length];
    slot.seq = -1; // being written: a reader holding it sees it torn
    renderer.render(slot.data, published);
    slot.seq = published;
    slot.publishedAt = now();
    published++;
  };
  produce();
  setInterval(produce, 1000 / fps);
  const ring = { received: 0, dropped: 0, rejected: 0, last: -1 };
  const source = {
    latest() {
      const slot = slots[(published - 1) % slots.length];
      const seq = slot.seq;
      if (seq < 0) return null;
      if (seq !== ring.last) {
        if (ring.last >= 0) ring.dropped += Math.max(0, seq - ring.last - 1);
        ring.received++;
        ring.last = seq;
      }
      return { seq, width, height, stride: width * 4, format: 'rgba8', data: slot.data, publishedAt: slot.publishedAt, stillValid: () => slot.seq === seq };
    },
  };

  // Dataset: one shared wasm memory, filled once, here at install (the page's script waits for it, as
  // an Electron window opens after its main process filled the segment).
  const bytes = datasetMiB * 1048576;
  const memory = new WebAssembly.Memory({ initial: bytes / 65536, maximum: bytes / 65536, shared: true });
  fill(new Float32Array(memory.buffer, 0, bytes / 4));

  const handles = new Map();
  const streams = new Map();
  let nextHandle = 1;
  const ops = {
    attach(name, options) {
      if (name !== 'dataset') throw { name: 'Error', code: 'ERR_SHM_BRIDGE_NOT_FOUND', message: `no segment named ${name}` };
      const id = nextHandle++;
      handles.set(id, { name, readonly: true });
      void options;
      return { id, name, size: bytes, readonly: true };
    },
    read(id, offset, length) {
      if (!handles.has(id)) throw { name: 'Error', code: 'ERR_SHM_BRIDGE_UNKNOWN_HANDLE', message: 'unknown handle' };
      return Array.from(new Uint8Array(memory.buffer, offset, length));
    },
    shared(id) {
      if (!handles.has(id)) throw { name: 'Error', code: 'ERR_SHM_BRIDGE_UNKNOWN_HANDLE', message: 'unknown handle' };
      return offerShared(window, memory, { byteOffset: 0, byteLength: bytes }, { name: 'dataset', readonly: true });
    },
    snapshot(id) {
      if (!handles.has(id)) throw { name: 'Error', code: 'ERR_SHM_BRIDGE_UNKNOWN_HANDLE', message: 'unknown handle' };
      const copy = new ArrayBuffer(bytes);
      new Uint8Array(copy).set(new Uint8Array(memory.buffer, 0, bytes));
      return offerTransfer(window, copy, { name: 'dataset' });
    },
    close(id) {
      handles.delete(id);
      streams.get(id)?.controller?.stop();
      streams.delete(id);
    },
    frames(name) {
      if (name !== 'video') throw { name: 'Error', code: 'ERR_SHM_BRIDGE_NOT_FOUND', message: `no segment named ${name}` };
      const id = nextHandle++;
      streams.set(id, { controller: null });
      return { id, name };
    },
    drawTo(id, canvasId, options) {
      const stream = streams.get(id);
      const canvas = document.querySelector(`canvas[data-standin-canvas="${canvasId}"]`);
      if (!stream || !canvas) throw { name: 'Error', code: 'ERR_INVALID_ARG_VALUE', message: 'unknown stream or canvas' };
      stream.controller?.stop();
      stream.controller = drawTo(canvas, source, { mode: options.mode ?? 'auto', now });
    },
    stop(id) {
      streams.get(id)?.controller?.stop();
    },
    stats(id) {
      const c = streams.get(id)?.controller;
      return { draw: c ? { ...c.stats } : null, ring: { received: ring.received, dropped: ring.dropped, rejected: ring.rejected } };
    },
    latest() {
      return null;
    },
    list() {
      return [
        { name: 'video', size: frameBytes * 3, kind: 'frame-ring', readonly: true, owned: false },
        { name: 'dataset', size: bytes, kind: 'segment', readonly: true, owned: false },
      ];
    },
  };

  const reply = (message) => document.dispatchEvent(new CustomEvent('shmkit-standin-reply', { detail: JSON.stringify(message) }));
  const asWire = (e) => ({ name: e?.name ?? 'Error', code: e?.code ?? 'ERR_SHM_BRIDGE_INTERNAL', message: String(e?.message ?? e) });
  document.addEventListener('shmkit-standin-request', (event) => {
    const { id, op, args, sync } = JSON.parse(event.detail);
    const fn = ops[op];
    if (!fn) return reply({ id, async: !sync, error: { name: 'Error', code: 'ERR_SHM_BRIDGE_PROTOCOL', message: `unknown op ${op}` } });
    if (sync) {
      try {
        reply({ id, value: fn(...args) });
      } catch (e) {
        reply({ id, error: asWire(e) });
      }
      return;
    }
    Promise.resolve()
      .then(() => fn(...args))
      .then(
        (value) => reply({ id, async: true, value: value ?? null }),
        (e) => reply({ id, async: true, error: asWire(e) }),
      );
  });
  const announce = () => document.dispatchEvent(new CustomEvent('shmkit-standin-ready'));
  document.addEventListener('shmkit-standin-hello', announce);
  announce();
  return { width, height, bytes };
}
