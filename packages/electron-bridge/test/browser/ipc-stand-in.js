'use strict';
// A STAND-IN of Electron's renderer IPC for a preload running in a CDP isolated world of real Chromium
// (the same kind of world as Electron's preload world), wired to a real host in this Node process
// (createHost over the stand-in ipcMain of test/fixtures/electron-stand-ins.js). It models what the
// bridge relies on and nothing more: invoke() resolves with the main process's reply, events arrive on
// ipcRenderer.on, Uint8Arrays survive (base64 inside JSON: the stand-in's own cost, not Electron's),
// and require() knows only 'electron'. It never replaces an Electron end-to-end test.

/** JSON with Uint8Arrays as { $u8: base64 }: Node side. */
function encode(value) {
  return JSON.stringify(value, (key, v) => (v instanceof Uint8Array ? { $u8: Buffer.from(v).toString('base64') } : v));
}
function decode(text) {
  return JSON.parse(text, (key, v) => (v && typeof v === 'object' && typeof v.$u8 === 'string' ? new Uint8Array(Buffer.from(v.$u8, 'base64')) : v));
}

/** The same, in the browser world; then `require`, `process`, and an 'electron' with ipcRenderer and contextBridge. */
const WORLD_SETUP = `() => {
  const toB64 = (u8) => { let s = ''; for (let i = 0; i < u8.length; i += 0x8000) s += String.fromCharCode(...u8.subarray(i, i + 0x8000)); return btoa(s); };
  const fromB64 = (b) => { const s = atob(b); const u8 = new Uint8Array(s.length); for (let i = 0; i < s.length; i++) u8[i] = s.charCodeAt(i); return u8; };
  const encode = (v) => JSON.stringify(v, (k, x) => (x instanceof Uint8Array ? { $u8: toB64(x) } : x));
  const decode = (t) => JSON.parse(t, (k, x) => (x && typeof x === 'object' && typeof x.$u8 === 'string' ? fromB64(x.$u8) : x));
  let nextId = 1;
  const pending = new Map();
  const listeners = new Map();
  globalThis.__shmkitIpcReply = (id, text) => {
    const p = pending.get(id);
    pending.delete(id);
    const { reply, error } = decode(text);
    if (error !== undefined) p.reject(new Error(error));
    else p.resolve(reply);
  };
  globalThis.__shmkitIpcEvent = (text) => {
    const { channel, args } = decode(text);
    for (const l of [...(listeners.get(channel) ?? [])]) l({}, ...args);
  };
  const ipcRenderer = {
    invoke: (channel, ...args) => new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      globalThis.__shmkitIpc(encode({ id, channel, args }));
    }),
    on: (channel, listener) => { if (!listeners.has(channel)) listeners.set(channel, new Set()); listeners.get(channel).add(listener); },
    removeListener: (channel, listener) => listeners.get(channel)?.delete(listener),
  };
  // contextBridge: kept in this world as globalThis.exposed, unless another stand-in takes its place
  const contextBridge = globalThis.__shmkitContextBridge ?? { exposeInMainWorld: (key, api) => { globalThis.exposed = globalThis.exposed ?? {}; globalThis.exposed[key] = api; } };
  globalThis.process = { type: 'renderer', sandboxed: true, contextIsolated: true };
  globalThis.require = (id) => { if (id === 'electron') return { ipcRenderer, contextBridge }; throw new Error('module not found: ' + id); };
  return true;
}`;

/**
 * Carries the world's invokes (binding `binding`) to `ipcMain` as if from `window`'s main frame, and
 * `window`'s events back; `contextId()` names the world's current execution context. Returns the
 * record of replies and events sent to the world.
 */
function wireIpc({ cdp, binding, contextId, ipcMain, window }) {
  const messages = [];
  const evaluate = (expression) => cdp.send('Runtime.evaluate', { contextId: contextId(), expression, awaitPromise: true, returnByValue: true });
  cdp.on('Runtime.bindingCalled', async ({ name, payload, executionContextId }) => {
    if (name !== binding || executionContextId !== contextId()) return;
    const { id, channel, args } = decode(payload);
    let out;
    try {
      out = { reply: await ipcMain.invokeFrom(window.webContents, window.webContents.mainFrame, channel, args) };
    } catch (error) {
      out = { error: String(error?.message ?? error) };
    }
    messages.push(out);
    await evaluate(`globalThis.__shmkitIpcReply(${id}, ${JSON.stringify(encode(out))})`).catch(() => undefined);
  });
  window.webContents.on('stand-in:to-renderer', (channel, args) => {
    messages.push({ channel, args });
    evaluate(`globalThis.__shmkitIpcEvent(${JSON.stringify(encode({ channel, args }))})`).catch(() => undefined);
  });
  return messages;
}

/**
 * Creates a fresh isolated world in `page`'s main frame with the IPC stand-in, wired to `window` (a
 * StandInBrowserWindow) of `ipcMain`. Returns { run(fn, arg), messages } where `messages` records every
 * reply and event sent to the world (to check what a sandboxed renderer learns).
 */
async function isolatedPreload({ cdp, worldName, ipcMain, window }) {
  await cdp.send('Runtime.enable');
  const binding = `__shmkitIpc`;
  await cdp.send('Runtime.addBinding', { name: binding, executionContextName: worldName });
  const { frameTree } = await cdp.send('Page.getFrameTree');
  const { executionContextId: contextId } = await cdp.send('Page.createIsolatedWorld', { frameId: frameTree.frame.id, worldName, grantUniveralAccess: false });
  const messages = wireIpc({ cdp, binding, contextId: () => contextId, ipcMain, window });
  const evaluate = (expression) => cdp.send('Runtime.evaluate', { contextId, expression, awaitPromise: true, returnByValue: true });
  const wrap = (fn, arg) =>
    `(async () => { try { return { value: await (${fn})(${JSON.stringify(arg ?? null)}) }; } ` +
    `catch (e) { return { error: { name: e && e.name, code: e && e.code, message: String(e && e.message) } }; } })()`;
  const run = async (fn, arg) => {
    const { result, exceptionDetails } = await evaluate(wrap(fn, arg));
    if (exceptionDetails) throw new Error(`evaluation failed: ${exceptionDetails.text} ${exceptionDetails.exception?.description ?? ''}`);
    return result.value;
  };
  await run(WORLD_SETUP);
  return { run, messages, contextId };
}

module.exports = { isolatedPreload, wireIpc, encode, decode, WORLD_SETUP };
