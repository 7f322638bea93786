'use strict';
// The Python package's own unit tests (python/tests, unittest, standard library only) on python3 and on
// every other CPython ≥ 3.9 installed (pyenv), with ResourceWarnings as errors.
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const { pythons, PYTHON_DIR, NO_PYTHON } = require('./helpers');

const found = pythons();
test('there is a Python to run the package on', { skip: NO_PYTHON }, () => assert.ok(found.length >= 1));

for (const py of found) {
  test(`python/tests on ${py.label}`, () => {
    const r = spawnSync(py.command, ['-W', 'error::ResourceWarning', '-m', 'unittest', 'discover', '-s', 'tests', '-t', '.'], {
      cwd: PYTHON_DIR,
      encoding: 'utf8',
      timeout: 180_000,
    });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    const ran = /Ran (\d+) tests?/.exec(r.stderr);
    assert.ok(ran && Number(ran[1]) >= 25, `ran the whole suite: ${r.stderr.slice(-300)}`);
    assert.match(r.stderr, /\nOK( \(skipped=\d+\))?\n/);
    assert.doesNotMatch(r.stderr, /resource_tracker|leaked/, 'no resource-tracker warning');
  });
}
