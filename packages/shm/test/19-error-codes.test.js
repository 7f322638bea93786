'use strict';
// The error codes shmkit defines are listed in three places that must agree:
// the ShmErrorCode union (lib/core/errors.ts), the README's error table, and
// the code that throws them (lib/**/*.ts, src/*.cc). Read from the sources,
// so a code added in one place and forgotten in another fails here.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { PACKAGE } = require('./helpers');

const SHM_CODE = /ERR_SHM_[A-Z0-9_]+/g;

function union() {
  const source = fs.readFileSync(path.join(PACKAGE, 'lib', 'core', 'errors.ts'), 'utf8');
  const m = /export type ShmErrorCode =([^;]*);/.exec(source);
  assert.ok(m, 'ShmErrorCode is declared in lib/core/errors.ts');
  return new Set(m[1].match(SHM_CODE));
}

function readmeTable() {
  const readme = fs.readFileSync(path.join(PACKAGE, 'README.md'), 'utf8');
  const start = readme.indexOf('\n### Errors\n');
  assert.ok(start >= 0, 'the README has an Errors section');
  const end = readme.indexOf('\n#', start + 1);
  const rows = readme.slice(start, end).split('\n').filter((line) => line.startsWith('| `'));
  assert.ok(rows.length > 5, 'the Errors section has a table');
  return new Set(rows.flatMap((row) => row.split('|')[1].match(SHM_CODE) ?? []));
}

/** Every ERR_SHM_ string literal in the TypeScript and C++ sources, with where it is. */
function thrown() {
  const found = new Map();
  const walk = (dir, ext) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file, ext);
      else if (entry.name.endsWith(ext)) {
        for (const m of fs.readFileSync(file, 'utf8').matchAll(/['"](ERR_SHM_[A-Z0-9_]+)['"]/g)) {
          if (!found.has(m[1])) found.set(m[1], path.relative(PACKAGE, file));
        }
      }
    }
  };
  walk(path.join(PACKAGE, 'lib'), '.ts');
  walk(path.join(PACKAGE, 'src'), '.cc');
  return found;
}

test('the ShmErrorCode union and the README error table list the same ERR_SHM_ codes', () => {
  const types = union();
  const docs = readmeTable();
  assert.deepEqual([...types].filter((c) => !docs.has(c)).sort(), [], 'in ShmErrorCode but not in the README table');
  assert.deepEqual([...docs].filter((c) => !types.has(c)).sort(), [], 'in the README table but not in ShmErrorCode');
});

test('every ERR_SHM_ code the sources throw is in ShmErrorCode', () => {
  const types = union();
  const missing = [...thrown()].filter(([code]) => !types.has(code)).map(([code, file]) => `${code} (${file})`);
  assert.deepEqual(missing, []);
});
