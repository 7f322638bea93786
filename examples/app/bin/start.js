#!/usr/bin/env node
'use strict';
/**
 * `npm start`: the Electron app where an Electron binary and a display exist; otherwise the same
 * scenario in the terminal over the bridge's Node transport, saying on its first line that it is
 * not the Electron app and why. Arguments after `--` go to either.
 */
const { spawn } = require('node:child_process');
const path = require('node:path');
const { findElectron, displayReason, sandboxCheck } = require('../lib/electron-binary');

const app = path.join(__dirname, '..');
const args = process.argv.slice(2);
const electron = findElectron();
const noDisplay = displayReason();
let child;
if (electron.path && !noDisplay && process.env.SHMKIT_APP_TERMINAL !== '1') {
  // Electron aborts at launch (no message of its own) where its sandbox cannot start: say why first.
  const sandbox = sandboxCheck(electron.path);
  const noSandbox = sandbox.noSandbox || process.env.SHMKIT_APP_NO_SANDBOX === '1';
  if (sandbox.fix && !noSandbox) {
    console.error(`cannot start the Electron app: ${sandbox.fix}`);
    process.exit(1);
  }
  if (sandbox.note) console.log(sandbox.note);
  console.log(`starting the Electron app (${electron.path})`);
  child = spawn(electron.path, [...(noSandbox ? ['--no-sandbox'] : []), app, ...args], { stdio: 'inherit' });
} else {
  const reason = electron.reason ?? (noDisplay || 'SHMKIT_APP_TERMINAL=1');
  child = spawn(process.execPath, [path.join(app, 'dist', 'terminal', 'host.js'), ...args, '--reason', reason], { stdio: 'inherit' });
}
// Ctrl-C reaches the child through the terminal's process group; only forward what would not.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => child.kill('SIGTERM'));
child.on('exit', (code, signal) => {
  process.exitCode = code ?? (signal ? 1 : 0);
});
