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

/**
 * What Electron's own sandbox needs on Linux before it can launch, and what to do about it. Electron
 * aborts at launch (a crash, not an error message) when:
 * - it runs as root without --no-sandbox (Chromium refuses to sandbox as root): `noSandbox` says to
 *   pass --no-sandbox (development only: the renderers are then not sandboxed);
 * - unprivileged user namespaces are restricted (Ubuntu 23.10+ AppArmor:
 *   kernel.apparmor_restrict_unprivileged_userns = 1) and its chrome-sandbox helper is not setuid root
 *   (npm installs it as the user's): `fix` gives the commands.
 * Returns { noSandbox: boolean, fix: string | null, note: string | null }.
 */
function sandboxCheck(binary, { uid = process.getuid?.(), readFile = (f) => fs.readFileSync(f, 'utf8'), stat = fs.statSync } = {}) {
  if (process.platform !== 'linux') return { noSandbox: false, fix: null, note: null };
  if (uid === 0) {
    return {
      noSandbox: true,
      fix: null,
      note: 'running as root: Electron will not start its sandbox as root, so the app is started with --no-sandbox (development only: its renderers are not sandboxed)',
    };
  }
  let restricted = false;
  try {
    restricted = readFile('/proc/sys/kernel/apparmor_restrict_unprivileged_userns').trim() === '1';
  } catch {
    // no such switch: user namespaces are not restricted this way
  }
  if (!restricted) return { noSandbox: false, fix: null, note: null };
  const helper = path.join(path.dirname(binary), 'chrome-sandbox');
  let setuidRoot = false;
  try {
    const st = stat(helper);
    setuidRoot = st.uid === 0 && (st.mode & 0o4000) !== 0;
  } catch {
    // missing helper: reported below
  }
  if (setuidRoot) return { noSandbox: false, fix: null, note: null };
  return {
    noSandbox: false,
    note: null,
    fix:
      `this system restricts unprivileged user namespaces (AppArmor, Ubuntu 23.10+), so Electron needs its sandbox helper setuid root, ` +
      `and ${helper} is not. Fix it once with:\n  sudo chown root:root '${helper}' && sudo chmod 4755 '${helper}'\n` +
      'or install an AppArmor profile for Electron, or (development only) run with SHMKIT_APP_NO_SANDBOX=1 to pass --no-sandbox',
  };
}

/** Whether a window can be shown: a display on Linux, always elsewhere. */
function displayReason(env = process.env) {
  if (process.platform !== 'linux') return null;
  return env.DISPLAY || env.WAYLAND_DISPLAY ? null : 'no display (DISPLAY/WAYLAND_DISPLAY unset; try xvfb-run)';
}

module.exports = { findElectron, displayReason, sandboxCheck };
