// STAND-IN for contextBridge (page world). In Electron, contextBridge proxies the preload's
// `window.shm` into the page. Chromium has no contextBridge, so this script (injected before the
// page's own scripts) defines `window.shm` and `window.appInfo` as thin proxies that call the
// isolated world synchronously through DOM events carrying JSON strings; the DOM-side code of the
// preload (drawTo, the MessagePort handoff) runs there, as it is. It carries no logic of its own.
(() => {
  let nextId = 1;
  const pending = new Map();
  let lastReply = null;
  document.addEventListener('shmkit-standin-reply', (event) => {
    lastReply = JSON.parse(event.detail);
    const p = pending.get(lastReply.id);
    if (p && lastReply.async) {
      pending.delete(lastReply.id);
      if (lastReply.error) p.reject(lastReply.error);
      else p.resolve(lastReply.value);
    }
  });
  const callSync = (op, args) => {
    const id = nextId++;
    lastReply = null;
    document.dispatchEvent(new CustomEvent('shmkit-standin-request', { detail: JSON.stringify({ id, op, args, sync: true }) }));
    if (!lastReply || lastReply.id !== id) throw new Error(`stand-in: no synchronous reply to ${op}`);
    if (lastReply.error) throw lastReply.error;
    return lastReply.value;
  };
  // The isolated world installs itself asynchronously (a module import): queue calls until then.
  // (The page specs hold the page's own script until it has, as Electron's preload is there first.)
  let markReady;
  const ready = new Promise((resolve) => (markReady = resolve));
  document.addEventListener('shmkit-standin-ready', () => markReady(), { once: true });
  document.dispatchEvent(new CustomEvent('shmkit-standin-hello'));
  const call = (op, args) =>
    ready.then(() => new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      document.dispatchEvent(new CustomEvent('shmkit-standin-request', { detail: JSON.stringify({ id, op, args }) }));
    }));
  const handle = (h) => ({
    name: h.name,
    size: h.size,
    readonly: h.readonly,
    read: (offset, length) => call('read', [h.id, offset, length]),
    write: () => Promise.reject({ name: 'Error', code: 'ERR_SHM_BRIDGE_READONLY', message: 'stand-in handles are read-only' }),
    snapshot: () => call('snapshot', [h.id]),
    shared: () => call('shared', [h.id]),
    close: () => call('close', [h.id]),
  });
  let canvases = 0;
  window.shm = Object.freeze({
    version: 1,
    attach: async (name, options) => handle(await call('attach', [name, options ?? {}])),
    create: (name) => Promise.reject({ name: 'Error', code: 'ERR_SHM_BRIDGE_NOT_GRANTED', message: `stand-in: create(${name}) is not offered` }),
    frames: async (name) => {
      const s = await call('frames', [name]);
      return {
        name: s.name,
        drawTo: (canvas, options) => {
          canvas.dataset.standinCanvas = String(++canvases);
          return call('drawTo', [s.id, canvas.dataset.standinCanvas, options ?? {}]);
        },
        stop: () => callSync('stop', [s.id]),
        stats: () => callSync('stats', [s.id]),
        onFrame: () => () => undefined,
        latest: () => call('latest', [s.id]),
        close: () => call('close', [s.id]),
      };
    },
    list: () => call('list', []),
    release: () => Promise.resolve(),
    on: () => () => undefined,
  });
  window.appInfo = Object.freeze({ status: async () => null, metrics: async () => null });
})();
