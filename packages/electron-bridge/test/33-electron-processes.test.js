'use strict';
// The Electron adapters across REAL processes: the main side (stand-in ipcMain / BrowserWindow with a real host)
// runs here; each "renderer" is a forked Node process whose preload calls exposeShm() with a stand-in
// ipcRenderer carried over child_process IPC (test/fixtures/electron-renderer-child.js). The segments, the
// renderer's mappings and the bytes are real; Electron's processes are stand-ins (no binary here): a wiring
// test, never the end-to-end test.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { fork } = require('node:child_process');
const { DIST, shmExists, hostOptions, checkNoLeaks, until } = require('./fixtures/node-helpers');
const { StandInBrowserWindow, StandInIpcMain } = require('./fixtures/electron-stand-ins');

const { createHost, EVENT_CHANNEL } = require(path.join(DIST, 'main'));

checkNoLeaks();

/** The main process's side: a stand-in ipcMain and a real host. */
function mainSide() {
  const ipcMain = new StandInIpcMain();
  return { ipcMain, host: createHost({ ipcMain, BrowserWindow: StandInBrowserWindow, allowedOrigins: ['file://'], ...hostOptions() }) };
}

/** Ends a renderer process and waits for it. */
async function stop(renderer) {
  renderer.child.kill();
  await renderer.exited;
}

/** A window whose renderer is a real child process (a new renderer for `window` when given: a reload). */
async function openRendererProcess(ipcMain, window = new StandInBrowserWindow()) {
  const child = fork(path.join(__dirname, 'fixtures', 'electron-renderer-child.js'), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const results = new Map();
  let nextCommand = 1;
  child.on('message', async (m) => {
    if (m.type === 'invoke') {
      try {
        const value = await ipcMain.invokeFrom(window.webContents, window.webContents.mainFrame, m.channel, m.args);
        if (child.connected) child.send({ type: 'reply', id: m.id, ok: true, value });
      } catch (error) {
        if (child.connected) child.send({ type: 'reply', id: m.id, ok: false, message: error.message });
      }
    } else if (m.type === 'result') {
      results.get(m.id)(m);
    }
  });
  const forward = (channel, args) => {
    if (child.connected) child.send({ type: 'event', channel, args });
  };
  window.webContents.on('stand-in:to-renderer', forward);
  child.on('exit', () => window.webContents.off('stand-in:to-renderer', forward));
  await new Promise((resolve) => child.on('message', (m) => m.type === 'ready' && resolve()));
  const command = (name, args = {}) =>
    new Promise((resolve, reject) => {
      const id = nextCommand++;
      results.set(id, (m) => (m.ok ? resolve(m.value) : reject(Object.assign(new Error(m.error.message), { code: m.error.code }))));
      child.send({ type: 'command', id, command: name, args });
    });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  return { window, child, command, exited };
}

test('stand-ins, real processes: a renderer process attaches through exposeShm and its writes reach the main process\'s mapping', async () => {
  const { ipcMain, host } = mainSide();
  const r = await openRendererProcess(ipcMain);
  const main = host.create('xproc', 4096, { share: [r.window] });
  main.buf.set([10, 20, 30], 0);
  assert.deepEqual(await r.command('attach', { name: 'xproc' }), { name: 'xproc', size: 4096, readonly: false });
  assert.deepEqual(await r.command('read', { name: 'xproc', offset: 0, length: 3 }), [10, 20, 30]);
  await r.command('write', { name: 'xproc', offset: 100, bytes: [7, 7, 7] });
  assert.deepEqual([...main.buf.subarray(100, 103)], [7, 7, 7], 'the same pages in two processes');
  main.buf[0] = 99;
  assert.deepEqual(await r.command('read', { name: 'xproc', offset: 0, length: 1 }), [99]);
  await stop(r);
  r.window.close();
  host.close();
});

test('stand-ins, real processes: the owner window closing unlinks, and the grantee renderer gets revoked with its mapping closed', async () => {
  const { ipcMain, host } = mainSide();
  const r = await openRendererProcess(ipcMain);
  const owner = new StandInBrowserWindow();
  const main = host.create('owned-x', 4096, { owner, share: [r.window] });
  await r.command('attach', { name: 'owned-x' });
  owner.close();
  await until(() => !shmExists(main.name), 5000, 'unlinked with its owner');
  await until(async () => (await r.command('revoked')).length === 1, 5000, 'revoked in the renderer');
  assert.deepEqual(await r.command('revoked'), [{ name: 'owned-x', reason: 'owner-gone' }]);
  await assert.rejects(r.command('read', { name: 'owned-x', offset: 0, length: 1 }), { code: 'ERR_SHM_CLOSED' });
  await stop(r);
  r.window.close();
  host.close();
});

test('stand-ins, real processes: a renderer killed (render-process-gone) loses its attachments, not its grant; a new renderer attaches again', async () => {
  const { ipcMain, host } = mainSide();
  const r = await openRendererProcess(ipcMain);
  const main = host.create('crashy', 4096, { owner: r.window });
  await r.command('attach', { name: 'crashy' });
  assert.equal(host.stats.attachments, 1);
  r.child.kill('SIGKILL');
  await r.exited;
  r.window.webContents.crash('killed'); // what Electron reports when the renderer process dies
  assert.equal(host.stats.attachments, 0);
  assert.ok(shmExists(main.name), 'the window still owns it');
  assert.equal(r.window.webContents.sent.filter((s) => s.channel === EVENT_CHANNEL).length, 0, 'a reset revokes nothing');

  // the window reloads: a new renderer process for the same webContents attaches again under the kept grant
  const again = await openRendererProcess(ipcMain, r.window);
  await again.command('attach', { name: 'crashy' });
  assert.equal(host.stats.attachments, 1);
  await stop(again);
  r.window.close();
  await until(() => !shmExists(main.name), 5000, 'unlinked with its owner');
  host.close();
});
