// STAND-IN for contextBridge, generic: Chromium has no contextBridge, so this carries what a preload
// exposes with `contextBridge.exposeInMainWorld(key, api)` in its isolated world to the page's world
// as proxies. Calls travel as DOM events (the two worlds share the DOM; dispatchEvent runs the other
// world's listener synchronously), with JSON details: functions are proxied by id in both directions
// (callbacks too), Uint8Arrays travel as base64, DOM elements by a data attribute, errors as
// { name, code, message } records, as contextBridge keeps them. It models no copying costs and no
// other contextBridge rule: it is a stand-in for tests, never Electron.
//
// `preloadSide()` runs in the isolated world (returns the `contextBridge` to give the preload);
// `pageSide()` runs in the page (as an init script: it defines window[key] when the preload exposes it).

function codec() {
  const toB64 = (u8) => { let s = ''; for (let i = 0; i < u8.length; i += 0x8000) s += String.fromCharCode(...u8.subarray(i, i + 0x8000)); return btoa(s); };
  const fromB64 = (b) => { const s = atob(b); const u8 = new Uint8Array(s.length); for (let i = 0; i < s.length; i++) u8[i] = s.charCodeAt(i); return u8; };
  let nextRef = 1;
  const refs = new Map();
  const ref = (value) => { const id = `r${nextRef++}`; refs.set(id, value); return id; };
  const encode = (value, remote) =>
    JSON.stringify(value, function (key, v) {
      const raw = this[key];
      if (typeof raw === 'function') return { $fn: ref(raw) };
      if (raw instanceof Uint8Array) return { $u8: toB64(raw) };
      if (raw instanceof ArrayBuffer) return { $ab: toB64(new Uint8Array(raw)) };
      if (raw instanceof Element) { raw.dataset.cbRef = raw.dataset.cbRef || ref(raw); return { $el: raw.dataset.cbRef }; }
      void remote;
      return v;
    });
  const decode = (text, call) =>
    JSON.parse(text, (key, v) => {
      if (!v || typeof v !== 'object') return v;
      if (typeof v.$fn === 'string') return (...args) => call(v.$fn, args);
      if (typeof v.$u8 === 'string') return fromB64(v.$u8);
      if (typeof v.$ab === 'string') return fromB64(v.$ab).buffer;
      if (typeof v.$el === 'string') return document.querySelector(`[data-cb-ref="${v.$el}"]`);
      return v;
    });
  return { refs, encode, decode };
}

/**
 * One side of the channel: `send(kind, payload)` dispatches to the other side and returns its
 * synchronous answer; promises answer later with a 'settle' message.
 */
function side(mine, theirs) {
  const { refs, encode, decode } = codec();
  let nextCall = 1;
  const waiting = new Map();
  let answer = null;
  const dispatch = (detail) => document.dispatchEvent(new CustomEvent(theirs, { detail }));
  const call = (fnRef, args) => {
    const id = nextCall++;
    answer = null;
    dispatch(JSON.stringify({ kind: 'call', id, fn: fnRef, args: encode(args) }));
    const got = answer;
    if (!got || got.id !== id) throw new Error('context-bridge stand-in: no answer');
    if (got.error) throw decode(got.error, call);
    if (got.pending) return new Promise((resolve, reject) => waiting.set(id, { resolve, reject }));
    return decode(got.value, call);
  };
  document.addEventListener(mine, (event) => {
    const msg = JSON.parse(event.detail);
    if (msg.kind === 'answer') { answer = msg; return; }
    if (msg.kind === 'settle') {
      const w = waiting.get(msg.id);
      waiting.delete(msg.id);
      if (msg.error) w.reject(decode(msg.error, call));
      else w.resolve(decode(msg.value, call));
      return;
    }
    if (msg.kind !== 'call') return;
    const fn = refs.get(msg.fn);
    const record = (e) => encode({ name: e?.name ?? 'Error', code: e?.code, message: String(e?.message ?? e) });
    let result;
    try {
      result = fn(...decode(msg.args, call));
    } catch (e) {
      dispatch(JSON.stringify({ kind: 'answer', id: msg.id, error: record(e) }));
      return;
    }
    if (result && typeof result.then === 'function') {
      dispatch(JSON.stringify({ kind: 'answer', id: msg.id, pending: true }));
      result.then(
        (v) => dispatch(JSON.stringify({ kind: 'settle', id: msg.id, value: encode(v ?? null) })),
        (e) => dispatch(JSON.stringify({ kind: 'settle', id: msg.id, error: record(e) })),
      );
      return;
    }
    dispatch(JSON.stringify({ kind: 'answer', id: msg.id, value: encode(result ?? null) }));
  });
  return { encode, decode, call, dispatch };
}

/** In the preload's isolated world: the contextBridge to hand the preload. */
function preloadSide() {
  const s = side('cb-to-preload', 'cb-to-page');
  const exposed = [];
  const announce = () => { for (const e of exposed) s.dispatch(JSON.stringify({ kind: 'expose', key: e.key, value: s.encode(e.api) })); };
  document.addEventListener('cb-page-ready', announce);
  return {
    exposeInMainWorld(key, api) {
      exposed.push({ key, api });
      announce();
    },
  };
}

/** In the page's world (an init script): defines window[key] for what the preload exposes. */
function pageSide() {
  const s = side('cb-to-page', 'cb-to-preload');
  document.addEventListener('cb-to-page', (event) => {
    const msg = JSON.parse(event.detail);
    if (msg.kind === 'expose' && !(msg.key in window)) window[msg.key] = Object.freeze(s.decode(msg.value, s.call));
  });
  document.dispatchEvent(new CustomEvent('cb-page-ready'));
}

if (typeof module !== 'undefined') module.exports = { codec, side, preloadSide, pageSide };
