'use strict';
// The whole package type-checks against electron.d.ts (the `electron` devDependency's types; its binary is
// never downloaded), and so does a small usage of each public entry point (test/fixtures/typecheck, with
// @ts-expect-error lines that must stay errors) together with the JSDoc-typed Electron stand-ins.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const PKG = path.join(__dirname, '..');
const TSC = require.resolve('typescript/bin/tsc');

function tsc(project) {
  const result = spawnSync(process.execPath, [TSC, '--noEmit', '-p', project], { cwd: PKG, encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}`.trim() };
}

test('tsc --noEmit: the package (src: core, main, preload, renderer, dom) against electron.d.ts', () => {
  const { status, output } = tsc(path.join(PKG, 'tsconfig.json'));
  assert.equal(output, '');
  assert.equal(status, 0);
});

test('tsc --noEmit: usage of ./main, ./preload, ./renderer with Electron\'s real types, and the stand-ins\' JSDoc types', () => {
  const { status, output } = tsc(path.join(__dirname, 'fixtures', 'typecheck', 'tsconfig.json'));
  assert.equal(output, '');
  assert.equal(status, 0);
});
