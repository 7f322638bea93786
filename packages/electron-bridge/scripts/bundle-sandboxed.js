'use strict';
// Bundles the sandboxed window's preload into one self-contained file (dist/sandboxed-preload.js): a
// sandboxed preload's require() knows only 'electron' and a few built-ins, so the file must carry all
// of its code. It is built from the TypeScript sources; only 'electron' stays a require().
const path = require('node:path');
const { buildSync } = require('esbuild');

const root = path.join(__dirname, '..');
const result = buildSync({
  entryPoints: [path.join(root, 'src', 'preload', 'sandboxed-preload.ts')],
  outfile: path.join(root, 'dist', 'sandboxed-preload.js'),
  bundle: true,
  platform: 'browser',
  format: 'cjs',
  target: 'es2022',
  external: ['electron'],
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
  banner: {
    js: '/* @shmkit/electron-bridge — the preload of a sandboxed window (copy path): self-contained, needs only electron. MIT License. */',
  },
});
// Nothing of Node, and not the addon, may have slipped in.
const inputs = Object.keys(result.metafile.inputs);
const foreign = inputs.filter((file) => !file.startsWith('src/'));
if (foreign.length > 0) {
  console.error(`bundle-sandboxed: unexpected inputs ${foreign.join(', ')}`);
  process.exit(1);
}
