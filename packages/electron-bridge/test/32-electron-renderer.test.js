'use strict';
// ./renderer, the page's side: getShm() over the window.shm a preload exposed (here through STAND-INS of
// contextBridge / ipcRenderer / ipcMain with a real host), and the rule that the page entry is plain web
// code: nothing it loads requires a Node built-in or electron.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { DIST, hostOptions, checkNoLeaks, osSize } = require('./fixtures/node-helpers');
const { StandInBrowserWindow, StandInContextBridge, StandInIpcMain, StandInIpcRenderer } = require('./fixtures/electron-stand-ins');

const { createHost } = require(path.join(DIST, 'main'));
const { exposeShm } = require(path.join(DIST, 'preload'));
const { getShm } = require(path.join(DIST, 'renderer'));

checkNoLeaks();

test('getShm() without an exposed window.shm says to call exposeShm() in the preload', () => {
  assert.throws(() => getShm({}), (error) => {
    assert.equal(error.code, 'ERR_SHM_BRIDGE_NOT_EXPOSED');
    assert.match(error.message, /exposeShm\(\)/);
    return true;
  });
});

test('stand-ins: getShm() rebuilds the plain error records of window.shm as Errors with their code and class', async () => {
  const ipcMain = new StandInIpcMain();
  const host = createHost({ ipcMain, BrowserWindow: StandInBrowserWindow, allowedOrigins: ['file://'], ...hostOptions() });
  const window = new StandInBrowserWindow();
  const contextBridge = new StandInContextBridge();
  exposeShm({ ipcRenderer: new StandInIpcRenderer(ipcMain, window.webContents), contextBridge, process: { type: 'renderer', sandboxed: false, contextIsolated: true }, dom: {}, window: {} });
  const shm = getShm(contextBridge.mainWorld);
  host.create('r', 64, { share: 'all' });
  const handle = await shm.attach('r');
  assert.equal(await handle.write(0, new Uint8Array([1, 2])), 2);
  assert.deepEqual([...(await handle.read(0, 2))], [1, 2]);
  await assert.rejects(shm.attach('missing'), (error) => error instanceof Error && error.code === 'ERR_SHM_BRIDGE_NOT_FOUND');
  await assert.rejects(handle.read(osSize(64) - 4, 10), (error) => error instanceof RangeError && error.code === 'ERR_OUT_OF_RANGE');
  await assert.rejects(shm.attach(''), (error) => error instanceof TypeError && error.code === 'ERR_INVALID_ARG_VALUE');
  window.close();
  host.close();
});

test('the renderer entry loads no Node built-in and no electron (bundlable page code)', () => {
  const seen = new Set();
  const stack = [path.join(DIST, 'renderer', 'index.js')];
  const requires = [];
  while (stack.length > 0) {
    const file = stack.pop();
    if (seen.has(file)) continue;
    seen.add(file);
    const text = fs.readFileSync(file, 'utf8');
    for (const [, spec] of text.matchAll(/require\(["']([^"']+)["']\)/g)) {
      if (spec.startsWith('.')) stack.push(require.resolve(path.resolve(path.dirname(file), spec)));
      else requires.push(`${path.relative(DIST, file)} → ${spec}`);
    }
  }
  assert.ok(seen.size >= 3, 'followed its imports');
  assert.deepEqual(requires, [], 'only relative imports of plain web code');
});
