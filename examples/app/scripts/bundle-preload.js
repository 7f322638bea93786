'use strict';
// Bundles the sandboxed view's preload (src/electron/sandboxed-preload.ts) into one file: a sandboxed
// preload's require() knows only 'electron' and a few built-ins, so everything else must be inside.
const path = require('node:path');
const { buildSync } = require('esbuild');

const root = path.join(__dirname, '..');
buildSync({
  entryPoints: [path.join(root, 'src', 'electron', 'sandboxed-preload.ts')],
  outfile: path.join(root, 'dist', 'electron', 'sandboxed-preload.bundle.js'),
  bundle: true,
  platform: 'browser',
  format: 'cjs',
  target: 'es2022',
  external: ['electron'],
  logLevel: 'warning',
});
