'use strict';
// Wiring only, against a STAND-IN of the electron module (test/fixtures/electron-stand-in.js): a failure
// inside the main process's start() ends the app with a message and a non-zero exit, instead of an
// unhandled rejection that Electron only logs (leaving the app half open). Node is run with
// --unhandled-rejections=warn, which is how Electron's main process treats them.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const MAIN = path.join(__dirname, '..', 'dist', 'electron', 'main.js');
const STAND_IN = path.join(__dirname, 'fixtures', 'electron-stand-in.js');

for (const failing of ['protocol.handle', 'new BrowserWindow']) {
  test(`stand-in: ${failing} throwing inside start() prints the error and exits 1`, () => {
    const r = spawnSync(process.execPath, ['--unhandled-rejections=warn', '-r', STAND_IN, MAIN], {
      encoding: 'utf8',
      timeout: 20_000,
      env: { ...process.env, SHMKIT_STAND_IN_FAIL: failing },
    });
    assert.equal(r.signal, null, `the app did not end by itself (half open): ${r.stderr}`);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stdout, /app\.exit\(1\)/);
    assert.match(r.stderr, /could not start/);
    assert.match(r.stderr, new RegExp(`stand-in: ${failing.replace('.', '\\.')} failed`));
  });
}
