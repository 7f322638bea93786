'use strict';
// The package as a user installs it: CommonJS and ESM entries, its types.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { run, checkNoLeaks } = require('./helpers');

checkNoLeaks();

test('require and import give the same SharedMemory class (one addon instance)', async () => {
  const cjs = require('@shmkit/shm');
  const esm = await import('@shmkit/shm');
  assert.equal(typeof cjs.SharedMemory, 'function');
  assert.equal(esm.SharedMemory, cjs.SharedMemory);
  assert.equal(esm.pageSize, cjs.pageSize);
  assert.ok(cjs.maxNameLength >= 30);
  assert.equal(cjs.platformSupported, true);
});

test('the published types describe the API (tsc --noEmit on test/types/usage.ts)', async () => {
  const tsc = require.resolve('typescript/bin/tsc');
  const result = await run(process.execPath, [tsc, '-p', path.join(__dirname, 'types', 'tsconfig.json')]);
  assert.equal(result.code, 0, result.stdout + result.stderr);
});

test('subpaths other than the entry are not exported', () => {
  assert.throws(() => require('@shmkit/shm/dist/core/binding.js'), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' });
});
