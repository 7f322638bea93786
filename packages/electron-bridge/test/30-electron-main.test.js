'use strict';
// Wiring of ./main against STAND-INS of ipcMain / BrowserWindow / webContents (test/fixtures/electron-stand-ins.js;
// no Electron binary exists here): which events the host binds, what each lifecycle event does to real
// @shmkit/shm segments (checked in /dev/shm), and the sender / frame / origin checks. These complement a
// real Electron end-to-end test; they never replace it.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { DIST, shmExists, hostOptions, checkNoLeaks, until } = require('./fixtures/node-helpers');
const { StandInApp, StandInBrowserWindow, StandInIpcMain, StandInIpcRenderer, StandInWebContents, StandInWebContentsView, StandInWebFrameMain } = require('./fixtures/electron-stand-ins');

const main = require(path.join(DIST, 'main'));
const { createHost, enableSharedArrayBuffer, REQUEST_CHANNEL, EVENT_CHANNEL } = main;

checkNoLeaks();

const LIFECYCLE = [
  ['window', 'closed'],
  ['webContents', 'destroyed'],
  ['webContents', 'render-process-gone'],
  ['webContents', 'did-start-navigation'], // no longer bound: a new document is known when it speaks
];

function setup(extra = {}) {
  const ipcMain = new StandInIpcMain();
  const host = createHost({ ipcMain, BrowserWindow: StandInBrowserWindow, allowedOrigins: ['file://'], ...hostOptions(), ...extra });
  return { ipcMain, host };
}

/** A raw request from `window`'s main frame (or `frame`) and current document (or `doc`), as its preload would invoke it. */
let nextId = 1;
function ask(ipcMain, window, body, frame = window.webContents.mainFrame, doc = window.webContents.documentId) {
  return ipcMain.invokeFrom(window.webContents, frame, REQUEST_CHANNEL, [{ v: 1, id: nextId++, ...body }, doc]);
}

function listeners(window) {
  return LIFECYCLE.map(([on, event]) => (on === 'window' ? window : window.webContents).listenerCount(event));
}

function revokedEvents(window) {
  return window.webContents.sent.filter((s) => s.channel === EVENT_CHANNEL).map((s) => s.args[0]);
}

test('stand-ins: the host registers one invoke handler, binds the lifecycle events of the windows it names, and close() undoes both', () => {
  const { ipcMain, host } = setup();
  assert.deepEqual([...ipcMain.handlers.keys()], [REQUEST_CHANNEL]);
  const owner = new StandInBrowserWindow();
  const other = new StandInBrowserWindow();
  assert.deepEqual(listeners(owner), [0, 0, 0, 0]);
  host.create('bound', 4096, { owner, share: [other] });
  assert.deepEqual(listeners(owner), [0, 1, 1, 0], "the webContents' destroyed and render-process-gone (a window's close destroys it)");
  assert.deepEqual(listeners(other), [0, 1, 1, 0]);
  host.create('bound-2', 4096, { owner, share: [other] });
  assert.deepEqual(listeners(owner), [0, 1, 1, 0], 'bound once per window');
  host.close();
  assert.deepEqual([...ipcMain.handlers.keys()], []);
  assert.deepEqual(listeners(owner), [0, 0, 0, 0]);
  assert.deepEqual(listeners(other), [0, 0, 0, 0]);
  host.close(); // idempotent
});

test('stand-ins: closing the owner window unlinks its segment, closes the main mapping, and revokes the grantees', async () => {
  const { ipcMain, host } = setup();
  const owner = new StandInBrowserWindow();
  const grantee = new StandInBrowserWindow();
  const shm = host.create('owned', 8192, { owner, share: [grantee] });
  const osName = shm.name;
  const reply = await ask(ipcMain, grantee, { op: 'attach', name: 'owned' });
  assert.equal(reply.ok, true, JSON.stringify(reply));
  assert.ok(shmExists(osName));

  owner.close();
  await until(() => !shmExists(osName), 5000, 'the name is gone from /dev/shm (freed off the event loop)');
  assert.equal(shm.closed, true, "the main process's mapping is closed");
  assert.deepEqual(host.segments(), []);
  const events = revokedEvents(grantee);
  assert.equal(events.length, 1);
  assert.deepEqual(events[0], { v: 1, event: 'revoked', name: 'owned', handles: [reply.result.handle], reason: 'owner-gone' });
  assert.deepEqual(listeners(owner), [0, 0, 0, 0], "a closed window's listeners are removed");
  host.close();
  grantee.close();
});

test('stand-ins: a destroyed webContents (window still open) counts as its window going', async () => {
  const { host } = setup();
  const owner = new StandInBrowserWindow();
  const shm = host.create('wc-owned', 4096, { owner });
  owner.webContents.destroy();
  await until(() => !shmExists(shm.name), 5000, 'unlinked');
  host.close();
});

test('stand-ins: a grantee window closing drops its grants and attachments and unlinks nothing', async () => {
  const { ipcMain, host } = setup();
  const grantee = new StandInBrowserWindow();
  const shm = host.create('kept', 4096, { share: [grantee], readonly: true });
  assert.equal((await ask(ipcMain, grantee, { op: 'attach', name: 'kept' })).ok, true);
  assert.equal(host.segments()[0].grants.length, 1);
  assert.equal(host.segments()[0].attachments.length, 1);
  grantee.close();
  const [info] = host.segments();
  assert.deepEqual(info.grants, []);
  assert.deepEqual(info.attachments, []);
  assert.ok(shmExists(shm.name), 'nothing is unlinked');
  assert.equal(shm.closed, false);
  host.close();
  assert.equal(shmExists(shm.name), false, 'host.close() unlinks app-owned segments');
});

test('stand-ins: render-process-gone drops the attachments only; the grant and the owned segments stay', async () => {
  const { ipcMain, host } = setup();
  const window = new StandInBrowserWindow();
  const owned = host.create('crash-owned', 4096, { owner: window });
  const shared = host.create('crash-shared', 4096, { share: [window] });
  assert.equal((await ask(ipcMain, window, { op: 'attach', name: 'crash-owned' })).ok, true);
  assert.equal((await ask(ipcMain, window, { op: 'attach', name: 'crash-shared' })).ok, true);
  assert.equal(host.stats.attachments, 2);

  window.webContents.crash();
  assert.equal(host.stats.attachments, 0, 'attachments dropped');
  assert.ok(shmExists(owned.name) && shmExists(shared.name), 'nothing unlinked');
  assert.equal(host.segments().find((s) => s.name === 'crash-shared').grants[0].peer, window, 'grant kept');
  // The reloaded page may attach again.
  assert.equal((await ask(ipcMain, window, { op: 'attach', name: 'crash-shared' })).ok, true);
  window.close();
  await until(() => !shmExists(owned.name), 5000, 'the owned segment still follows the window');
  host.close();
});

test('stand-ins: attachments go when a new document speaks, not when a navigation starts: a cancelled navigation keeps them tracked', async () => {
  const { ipcMain, host } = setup();
  const window = new StandInBrowserWindow();
  const shm = host.create('nav', 4096, { owner: window });
  const first = await ask(ipcMain, window, { op: 'attach', name: 'nav' });
  assert.equal(first.ok, true);

  // did-start-navigation fires, then the navigation is cancelled (beforeunload, a download, the
  // app's will-navigate guard): the page keeps its mapping, and the host keeps tracking it
  window.webContents.navigate('file://', { cancelled: true });
  window.webContents.navigate('file://', { sameDocument: true });
  window.webContents.navigate('file://', { mainFrame: false });
  assert.equal(host.stats.attachments, 1, 'kept');
  host.release('nav');
  assert.deepEqual(revokedEvents(window).map((e) => [e.name, e.handles]), [['nav', [first.result.handle]]], 'the page is told: its handle was tracked');

  const again = host.create('nav2', 4096, { owner: window });
  assert.equal((await ask(ipcMain, window, { op: 'attach', name: 'nav2' })).ok, true);
  const oldDoc = window.webContents.documentId;
  const oldFrame = window.webContents.navigate('file://'); // commits a new document
  assert.equal(host.stats.attachments, 1, 'nothing happens until the new document speaks');
  // the old document's pagehide cleanup, from its detached frame, may still give things up
  const oldHandle = host.segments().find((s) => s.name === 'nav2').attachments[0].handle;
  assert.equal((await ask(ipcMain, window, { op: 'detach', handle: oldHandle }, oldFrame, oldDoc)).ok, true);
  assert.equal((await ask(ipcMain, window, { op: 'attach', name: 'nav2' }, undefined, oldDoc)).ok, true);
  // the new document speaks: the old one's attachments go
  assert.equal((await ask(ipcMain, window, { op: 'list' })).ok, true);
  assert.equal(host.stats.attachments, 0, "the old document's attachments dropped");
  // and the old document is refused from now on, even from a frame that looks current
  const late = await ask(ipcMain, window, { op: 'attach', name: 'nav2' }, undefined, oldDoc);
  assert.equal(late.error.code, 'ERR_SHM_BRIDGE_NOT_MAIN_FRAME');
  assert.equal(host.stats.attachments, 0);
  assert.ok(shmExists(again.name), 'the window still owns its segment');
  void shm;
  window.close();
  host.close();
});

test("stand-ins: a request from a detached or destroyed frame (an old document pending deletion) cannot take anything", async () => {
  const { ipcMain, host } = setup();
  const window = new StandInBrowserWindow();
  host.create('x', 4096, { share: 'all' });
  const doc = window.webContents.documentId;
  const oldFrame = window.webContents.navigate('file://');
  // an attach in flight while the navigation commits: same frameTreeNodeId and origin, but detached
  const stale = await ask(ipcMain, window, { op: 'attach', name: 'x' }, oldFrame, doc);
  assert.equal(stale.error.code, 'ERR_SHM_BRIDGE_NOT_MAIN_FRAME');
  const created = await ask(ipcMain, window, { op: 'create', name: 'y', size: 10 }, oldFrame, doc);
  assert.equal(created.error.code, 'ERR_SHM_BRIDGE_NOT_MAIN_FRAME');
  const destroyed = new StandInWebFrameMain({ origin: 'file://', frameTreeNodeId: window.webContents.mainFrame.frameTreeNodeId });
  destroyed.destroyed = true;
  assert.equal((await ask(ipcMain, window, { op: 'attach', name: 'x' }, destroyed)).error.code, 'ERR_SHM_BRIDGE_NOT_MAIN_FRAME');
  assert.deepEqual(host.stats.attachments, 0, 'no stale attachment');
  assert.equal(host.segments().length, 1);
  // a detached frame never introduces a document: an id the host has not seen, from there, is refused,
  // and the live document is neither reset nor locked out (an old renderer could otherwise do both)
  const live = window.webContents;
  host.create('live', 4096, { share: 'all' });
  assert.equal((await ask(ipcMain, window, { op: 'attach', name: 'live' })).ok, true);
  for (let i = 0; i < 3; i++) {
    const sneaky = await ask(ipcMain, window, { op: 'release', name: 'live' }, oldFrame, `unseen-document-${i}`);
    assert.equal(sneaky.error.code, 'ERR_SHM_BRIDGE_NOT_MAIN_FRAME');
  }
  assert.equal(host.stats.attachments, 1, 'the live document keeps its attachment');
  assert.equal((await ask(ipcMain, window, { op: 'list' })).ok, true, 'and is still served');
  void live;
  // requests without a document id (a preload of another version) are refused with a code
  const bare = await ipcMain.invokeFrom(window.webContents, window.webContents.mainFrame, REQUEST_CHANNEL, [{ v: 1, id: 7, op: 'list' }]);
  assert.equal(bare.error.code, 'ERR_SHM_BRIDGE_PROTOCOL');
  assert.equal(bare.id, 7);
  window.close();
  host.close();
});

test('stand-ins: requests are refused with a code, and change nothing, unless they come from a known window\'s main frame of an allowed origin', async () => {
  const { ipcMain, host } = setup();
  const window = new StandInBrowserWindow();
  host.create('guarded', 4096, { share: 'all' });
  const before = host.stats;

  // a <webview> guest, an offscreen contents, a background page: unknown senders
  let reply;
  for (const type of ['webview', 'offscreen', 'backgroundPage', 'remote']) {
    const stray = { webContents: new StandInWebContents('file://', type) };
    reply = await ask(ipcMain, stray, { op: 'attach', name: 'guarded' });
    assert.equal(reply.ok, false, type);
    assert.equal(reply.error.code, 'ERR_SHM_BRIDGE_UNKNOWN_SENDER', type);
  }

  // a subframe of a known window
  const sub = new StandInWebFrameMain({ origin: 'file://', parent: window.webContents.mainFrame });
  reply = await ask(ipcMain, window, { op: 'attach', name: 'guarded' }, sub);
  assert.equal(reply.error.code, 'ERR_SHM_BRIDGE_NOT_MAIN_FRAME');

  // a frame that navigated away before the request was handled (senderFrame null)
  reply = await ask(ipcMain, window, { op: 'attach', name: 'guarded' }, null);
  assert.equal(reply.error.code, 'ERR_SHM_BRIDGE_NOT_MAIN_FRAME');

  // a main frame of an origin not on the allowlist
  const web = new StandInBrowserWindow({ origin: 'https://example.com' });
  reply = await ask(ipcMain, web, { op: 'attach', name: 'guarded' });
  assert.equal(reply.error.code, 'ERR_SHM_BRIDGE_ORIGIN');

  // a known window that navigated to a disallowed origin loses access too
  window.webContents.navigate('https://example.com');
  reply = await ask(ipcMain, window, { op: 'attach', name: 'guarded' });
  assert.equal(reply.error.code, 'ERR_SHM_BRIDGE_ORIGIN');

  // a destroyed webContents
  const closed = new StandInBrowserWindow();
  closed.close();
  reply = await ask(ipcMain, closed, { op: 'attach', name: 'guarded' });
  assert.equal(reply.error.code, 'ERR_SHM_BRIDGE_UNKNOWN_SENDER');

  assert.deepEqual(host.stats, before, 'refused requests change nothing');
  // the reply carries the request's id so the preload's client can match it
  reply = await ipcMain.invokeFrom(web.webContents, web.webContents.mainFrame, REQUEST_CHANNEL, [{ v: 1, id: 4242, op: 'list' }, web.webContents.documentId]);
  assert.equal(reply.id, 4242);
  // and the allowed main frame gets through
  const good = new StandInBrowserWindow();
  reply = await ask(ipcMain, good, { op: 'attach', name: 'guarded' });
  assert.equal(reply.ok, true, JSON.stringify(reply));
  assert.equal(reply.result.osName.length > 0, true);
  for (const w of [window, web, good]) w.close();
  host.close();
});

test('stand-ins: malformed invokes get a coded error reply, never a throw or a hang', async () => {
  const { ipcMain, host } = setup();
  const window = new StandInBrowserWindow();
  for (const raw of [undefined, null, 42, 'attach', [], { v: 1 }, { v: 1, id: -1, op: 'list' }, { v: 2, id: 1, op: 'list' }, { v: 1, id: 1, op: 'nope' }]) {
    const reply = await ipcMain.invokeFrom(window.webContents, window.webContents.mainFrame, REQUEST_CHANNEL, [raw, window.webContents.documentId]);
    assert.equal(reply.ok, false);
    assert.match(reply.error.code, /^ERR_SHM_BRIDGE_(PROTOCOL|VERSION)$/);
  }
  assert.deepEqual(host.stats.attachments, 0);
  window.close();
  host.close();
});

test('stand-ins: createHost refuses a missing or malformed origin allowlist, and registers nothing then', () => {
  const ipcMain = new StandInIpcMain();
  const attempt = (allowedOrigins) => () => createHost({ ipcMain, BrowserWindow: StandInBrowserWindow, allowedOrigins });
  assert.throws(attempt(undefined), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(attempt('file://'), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(attempt([]), { code: 'ERR_INVALID_ARG_VALUE' });
  assert.throws(attempt(['null']), { code: 'ERR_INVALID_ARG_VALUE' });
  assert.throws(attempt(['*']), { code: 'ERR_INVALID_ARG_VALUE' });
  assert.throws(() => createHost({ ipcMain, BrowserWindow: StandInBrowserWindow, allowedOrigins: ['file://'], maxCreateBytes: -1 }), { code: 'ERR_OUT_OF_RANGE' });
  assert.equal(ipcMain.handlers.size, 0);
});

test('stand-ins: a second host on the same ipcMain is refused with a code; after close() a new one may start', () => {
  const { ipcMain, host } = setup();
  assert.throws(() => createHost({ ipcMain, BrowserWindow: StandInBrowserWindow, allowedOrigins: ['file://'], ...hostOptions() }), { code: 'ERR_SHM_BRIDGE_HOST_EXISTS' });
  host.close();
  const again = createHost({ ipcMain, BrowserWindow: StandInBrowserWindow, allowedOrigins: ['file://'], ...hostOptions() });
  again.close();
});

test('stand-ins: owners and grantees must be live windows; app-owned segments live until release() or close()', () => {
  const { host } = setup();
  const gone = new StandInBrowserWindow();
  gone.close();
  assert.throws(() => host.create('x', 4096, { owner: gone }), { code: 'ERR_SHM_BRIDGE_UNKNOWN_PEER' });
  assert.throws(() => host.create('x', 4096, { share: [gone] }), { code: 'ERR_SHM_BRIDGE_UNKNOWN_PEER' });
  assert.throws(() => host.create('x', 4096, { share: 'some' }), { code: 'ERR_INVALID_ARG_TYPE' });
  const a = host.create('app-a', 4096);
  const b = host.create('app-b', 4096, { owner: 'app' });
  assert.deepEqual(host.segments().map((s) => s.owner), ['app', 'app']);
  host.release('app-a');
  assert.equal(shmExists(a.name), false);
  assert.ok(shmExists(b.name));
  host.close();
  assert.equal(shmExists(b.name), false);
  assert.throws(() => host.create('y', 4096), { code: 'ERR_SHM_BRIDGE_CLOSED' });
});

test('stand-ins: grant / revoke by window reach the page as revoked events', async () => {
  const { ipcMain, host } = setup();
  const window = new StandInBrowserWindow();
  host.create('g', 4096);
  assert.equal((await ask(ipcMain, window, { op: 'attach', name: 'g' })).error.code, 'ERR_SHM_BRIDGE_NOT_FOUND');
  host.grant('g', window, { readonly: true });
  const reply = await ask(ipcMain, window, { op: 'attach', name: 'g' });
  assert.equal(reply.result.readonly, true);
  host.revoke('g', window);
  assert.deepEqual(revokedEvents(window).map((e) => [e.name, e.reason, e.handles]), [['g', 'revoked', [reply.result.handle]]]);
  window.close();
  host.close();
});

test('stand-ins: enableSharedArrayBuffer appends the feature switch before ready, merged with enabled features, once', () => {
  const app = new StandInApp(false);
  assert.equal(enableSharedArrayBuffer(app), true);
  assert.deepEqual(app.appended, [['enable-features', 'SharedArrayBuffer']]);
  assert.equal(enableSharedArrayBuffer(app), false, 'already there');
  const other = new StandInApp(false);
  other.commandLine.appendSwitch('enable-features', 'Foo,Bar');
  enableSharedArrayBuffer(other);
  assert.equal(other.commandLine.getSwitchValue('enable-features'), 'Foo,Bar,SharedArrayBuffer');
  assert.throws(() => enableSharedArrayBuffer(new StandInApp(true)), { code: 'ERR_SHM_BRIDGE_TOO_LATE' });
});

test('stand-ins: allowedOrigins as a predicate: only a strict true allows', async () => {
  const seen = [];
  const { ipcMain, host } = setup({ allowedOrigins: (origin) => (seen.push(origin), origin === 'app://bundle' ? true : 'yes') });
  host.create('p', 4096, { share: 'all' });
  const app = new StandInBrowserWindow({ origin: 'app://bundle' });
  const other = new StandInBrowserWindow({ origin: 'file://' });
  assert.equal((await ask(ipcMain, app, { op: 'attach', name: 'p' })).ok, true);
  assert.equal((await ask(ipcMain, other, { op: 'attach', name: 'p' })).error.code, 'ERR_SHM_BRIDGE_ORIGIN', 'a truthy non-true answer refuses');
  assert.deepEqual(seen, ['app://bundle', 'file://']);
  app.close();
  other.close();
  host.close();
});

test('stand-ins: a WebContentsView (in a BaseWindow: no BrowserWindow) is a peer: it asks on its own, owns, is granted, and its segments go with its webContents', async () => {
  const { ipcMain, host } = setup();
  const view = new StandInWebContentsView();
  const other = new StandInWebContentsView();
  host.create('for-all', 4096, { share: 'all' });
  // a view that asks before the app named it is served (its type is 'browserView') and known as its webContents
  const first = await ask(ipcMain, view, { op: 'attach', name: 'for-all' });
  assert.equal(first.ok, true, JSON.stringify(first.error));
  assert.equal(host.segments()[0].attachments[0].peer, view.webContents);
  // named by the app as a view: owner, grants, and segments() give the view back
  const owned = host.create('view-owned', 4096, { owner: view, share: [other] });
  assert.equal(host.segments().find((s) => s.name === 'view-owned').owner, view);
  assert.equal((await ask(ipcMain, other, { op: 'attach', name: 'view-owned' })).ok, true);
  host.grant('for-all', other, { readonly: true });
  assert.equal(host.segments().find((s) => s.name === 'for-all').grants[0].peer, other);
  // a webContents named directly works as well
  const bare = new StandInWebContentsView();
  host.create('bare', 64, { owner: bare.webContents });
  assert.equal(host.segments().find((s) => s.name === 'bare').owner, bare.webContents);
  // the view's page creates in its own namespace; the app addresses it by the view
  assert.equal((await ask(ipcMain, view, { op: 'create', name: 'mine', size: 64 })).ok, true);
  host.grant('mine', other, { namespace: view });
  assert.equal((await ask(ipcMain, other, { op: 'attach', name: 'mine' })).ok, true);
  // its BaseWindow closes: the webContents is destroyed, its segments go, the other view is told
  view.close();
  await until(() => !shmExists(owned.name), 5000, "the view's segment unlinked");
  assert.deepEqual(host.segments().map((s) => s.name).sort(), ['bare', 'for-all']);
  const events = other.webContents.sent.filter((m) => m.channel === EVENT_CHANNEL).map((m) => [m.args[0].name, m.args[0].reason]);
  assert.deepEqual(events.sort(), [['mine', 'owner-gone'], ['view-owned', 'owner-gone']]);
  bare.close();
  other.close();
  host.close();
});

test('outside Electron\'s main process, createHost() and enableSharedArrayBuffer() say where to go instead, and never load the electron package (which would start downloading its binary)', () => {
  const { spawnSync } = require('node:child_process');
  const script = `
    const main = require(${JSON.stringify(path.join(DIST, 'main'))});
    const codes = [];
    for (const call of [() => main.createHost({ allowedOrigins: ['file://'] }), () => main.enableSharedArrayBuffer()]) {
      try { call(); codes.push('no error'); } catch (e) { codes.push(e.code + ': ' + e.message); }
    }
    const loaded = Object.keys(require.cache).filter((k) => /[\\\\/]node_modules[\\\\/]electron[\\\\/]/.test(k));
    process.stdout.write(JSON.stringify({ codes, loaded }));`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', cwd: path.join(__dirname, '..') });
  const out = JSON.parse(r.stdout);
  assert.deepEqual(out.loaded, [], 'the electron package was never required');
  for (const text of out.codes) {
    assert.match(text, /^ERR_SHM_BRIDGE_NOT_MAIN: /);
    assert.match(text, /createNodeHost\(\)/, 'it names what to use in plain Node');
  }
  assert.doesNotMatch(r.stderr, /Downloading|electron/i);
});
