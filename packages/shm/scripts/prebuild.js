#!/usr/bin/env node
'use strict';
// `npm run build:prebuilds` (run by prepack): the prebuilt addon for this platform, made by
// prebuildify into prebuilds/<platform>-<arch>/ (Node-API: one build serves every Node and
// Electron version). prebuildify moves the compiled file out of build/Release; it is copied back,
// so this checkout keeps loading its own build as before.
//
// Then the win32-x64 addon, cross-compiled with mingw-w64 (scripts/build-win32.sh: linked so that it
// imports only Windows' own DLLs, Node-API delay-loaded from the host executable, import table
// checked), into prebuilds/win32-x64/, where the same loader (node-gyp-build) finds it on Windows:
// `npm install` there compiles nothing. SHMKIT_PREBUILD_WIN32=1 makes a missing toolchain an error
// (for a release), =0 skips it; unset, it is built when x86_64-w64-mingw32-g++-posix is on PATH.
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.join(__dirname, '..');
const args = ['--napi', '--strip', '--tag-libc', '--target', process.versions.node];
const result = spawnSync(process.execPath, [require.resolve('prebuildify/bin.js'), ...args], { cwd: root, stdio: 'inherit' });
if (result.status !== 0) process.exit(result.status ?? 1);
const built = require('node-gyp-build').path(root);
fs.copyFileSync(built, path.join(root, 'build', 'Release', 'shmkit.node'));
console.log(`prebuilt ${path.relative(root, built)}`);

const win32 = process.env.SHMKIT_PREBUILD_WIN32;
const haveMingw = spawnSync('x86_64-w64-mingw32-g++-posix', ['--version'], { stdio: 'ignore' }).status === 0;
if (win32 === '0') {
  console.log('no win32-x64 prebuild: SHMKIT_PREBUILD_WIN32=0');
} else if (!haveMingw && win32 !== '1') {
  console.warn('no win32-x64 prebuild: x86_64-w64-mingw32-g++-posix is not installed (apt-get install g++-mingw-w64-x86-64); Windows users would compile from source');
} else {
  const cross = spawnSync('bash', [path.join(__dirname, 'build-win32.sh')], { cwd: root, stdio: 'inherit' });
  if (cross.status !== 0) process.exit(cross.status ?? 1);
}
