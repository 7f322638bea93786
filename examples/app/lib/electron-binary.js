'use strict';
/**
 * Finds an Electron binary that is already on this machine, without ever starting a download
 * (`require('electron')` downloads the binary on first use from v42 on: never call it here).
 * Used by `npm start` (bin/start.js) and by the e2e specs, so both decide the same way.
 *
 * Returns { path } or { reason } — the reason is one line a user can act on.
 */
const fs = require('node:fs');
const path = require('node:path');

function electronPackageDir() {
  try {
    return path.dirname(require.resolve('electron/package.json', { paths: [__dirname] }));
  } catch {
    return null;
  }
}

function findElectron(env = process.env) {
  const dir = electronPackageDir();
  let relative = process.platform === 'darwin' ? 'Electron.app/Contents/MacOS/Electron' : process.platform === 'win32' ? 'electron.exe' : 'electron';
  if (dir && fs.existsSync(path.join(dir, 'path.txt'))) relative = fs.readFileSync(path.join(dir, 'path.txt'), 'utf8').trim();
  if (env.ELECTRON_OVERRIDE_DIST_PATH) {
    const candidate = path.join(env.ELECTRON_OVERRIDE_DIST_PATH, relative);
    if (fs.existsSync(candidate)) return { path: candidate };
    return { reason: `ELECTRON_OVERRIDE_DIST_PATH is set but ${candidate} does not exist` };
  }
  if (!dir) return { reason: 'the electron package is not installed (run npm install)' };
  const candidate = path.join(dir, 'dist', relative);
  if (fs.existsSync(candidate)) return { path: candidate };
  return {
    reason:
      'no Electron binary on this machine (electron ≥ 42 downloads it on first launch: run `npx install-electron` ' +
      'where the download is allowed, or point ELECTRON_OVERRIDE_DIST_PATH at an unpacked Electron)',
  };
}

/** Whether a window can be shown: a display on Linux, always elsewhere. */
function displayReason(env = process.env) {
  if (process.platform !== 'linux') return null;
  return env.DISPLAY || env.WAYLAND_DISPLAY ? null : 'no display (DISPLAY/WAYLAND_DISPLAY unset; try xvfb-run)';
}

module.exports = { findElectron, displayReason };
