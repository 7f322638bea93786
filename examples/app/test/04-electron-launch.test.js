'use strict';
// What npm start checks before it launches Electron on Linux (lib/electron-binary.js sandboxCheck):
// root needs --no-sandbox; a system that restricts unprivileged user namespaces (Ubuntu 23.10+)
// needs chrome-sandbox setuid root, and gets the commands that fix it. Pure checks, fed what the
// system would say.
const test = require('node:test');
const assert = require('node:assert/strict');
const { sandboxCheck } = require('../lib/electron-binary');

const linux = process.platform === 'linux' ? false : 'the checks are for Linux';
const binary = '/opt/app/node_modules/electron/dist/electron';

test('as root: start with --no-sandbox, and say so', { skip: linux }, () => {
  const r = sandboxCheck(binary, { uid: 0 });
  assert.equal(r.noSandbox, true);
  assert.equal(r.fix, null);
  assert.match(r.note, /--no-sandbox/);
});

test('restricted user namespaces and a chrome-sandbox that is not setuid root: the fix, with the helper path', { skip: linux }, () => {
  const readFile = () => '1\n';
  const r = sandboxCheck(binary, { uid: 1000, readFile, stat: () => ({ uid: 1000, mode: 0o100755 }) });
  assert.equal(r.noSandbox, false);
  assert.match(r.fix, /chown root:root '\/opt\/app\/node_modules\/electron\/dist\/chrome-sandbox'/);
  assert.match(r.fix, /chmod 4755/);
  const missing = sandboxCheck(binary, { uid: 1000, readFile, stat: () => { throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' }); } });
  assert.notEqual(missing.fix, null);
});

test('nothing to fix: a setuid-root helper, or no restriction', { skip: linux }, () => {
  assert.deepEqual(sandboxCheck(binary, { uid: 1000, readFile: () => '1', stat: () => ({ uid: 0, mode: 0o104755 }) }), { noSandbox: false, fix: null, note: null });
  assert.deepEqual(sandboxCheck(binary, { uid: 1000, readFile: () => '0' }), { noSandbox: false, fix: null, note: null });
  assert.deepEqual(sandboxCheck(binary, { uid: 1000, readFile: () => { throw new Error('ENOENT'); } }), { noSandbox: false, fix: null, note: null });
});
