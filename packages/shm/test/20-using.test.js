'use strict';
// What the README says about `using`: TypeScript's output for it (target
// ES2022, as this package compiles) closes a SharedMemory at the end of the
// scope on this Node; the raw syntax runs where the runtime has it.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const ts = require('typescript');
const helpers = require('./helpers');

helpers.checkNoLeaks();

const SOURCE = `
const { SharedMemory } = require('@shmkit/shm');
let kept;
{
  using shm = SharedMemory.create(8, { name: process.argv[1] });
  kept = shm;
  shm.buf[0] = 1;
  console.log('inside', shm.closed);
}
console.log('after', kept.closed);
kept.unlink();
`;

function nativeUsing() {
  try {
    new Function('{ using x = null; }');
    return true;
  } catch {
    return false;
  }
}

async function runScript(code) {
  const name = helpers.uniqueName('using');
  const result = await helpers.run(process.execPath, ['-e', code, name]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, 'inside false\nafter true\n');
  assert.equal(helpers.exists(name), false);
}

test('TypeScript output of `using` (target ES2022) closes the segment at the end of the scope', async () => {
  const { outputText } = ts.transpileModule(SOURCE, {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS },
  });
  assert.doesNotMatch(outputText, /\busing shm\b/, 'TypeScript lowered the declaration');
  await runScript(outputText);
});

test(`raw \`using\` on Node ${process.versions.node}`, { skip: !nativeUsing() && `Node ${process.versions.node} has no \`using\` (a SyntaxError)` }, async () => {
  await runScript(SOURCE);
});
