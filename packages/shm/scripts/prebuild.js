#!/usr/bin/env node
'use strict';
// `npm run build:prebuilds` (run by prepack): the prebuilt addon for this platform, made by
// prebuildify into prebuilds/<platform>-<arch>/ (Node-API: one build serves every Node and
// Electron version). prebuildify moves the compiled file out of build/Release; it is copied back,
// so this checkout keeps loading its own build as before.
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
