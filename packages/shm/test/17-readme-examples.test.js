'use strict';
// Every code example of the two READMEs runs as written. JavaScript blocks run
// in a child process (`node -e`, or `--input-type=module` when the block
// imports) with '@shmkit/shm' resolvable: each must exit 0, write nothing to
// stderr, and leave no segment behind (test/fixtures/record-created.js
// records every segment the block creates, in any process it starts). Python
// blocks run against a segment Node made, on python3 and on CPython 3.13+ when
// installed: each must exit 0 without warnings, see Node's bytes and leave the
// segment in place (Python < 3.13 unlinks segments it merely attached to at
// exit unless the script unregisters them).
const { test, describe } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const helpers = require('./helpers');
const { runRecorded, assertCleanRun } = require('./recorded-run');
const { SharedMemory } = require('@shmkit/shm');

helpers.checkNoLeaks();

const ROOT = path.join(helpers.PACKAGE, '..', '..');
const READMES = [path.join(ROOT, 'README.md'), path.join(helpers.PACKAGE, 'README.md')];
/** The name Python snippets use for "the name Node printed"; the test substitutes its own. */
const PLACEHOLDER = 'psm_1a2b3c4d';

/** Fenced blocks of `lang` in a Markdown file, with their line numbers. */
function blocks(file, langs) {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const found = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w+)\s*$/.exec(lines[i]);
    if (!open) continue;
    const end = lines.indexOf('```', i + 1);
    assert.ok(end > i, `${file}:${i + 1}: unclosed code block`);
    if (langs.includes(open[1])) {
      found.push({ where: `${path.relative(ROOT, file)}:${i + 1}`, code: lines.slice(i + 1, end).join('\n') });
    }
    i = end;
  }
  return found;
}

/** The other CPython 3.8+ versions pyenv has (the examples promise 3.8-3.13), one per minor version. */
function otherPythons(seen) {
  // pyenv's layout (versions/*/bin/python3) is POSIX's; under Wine it would find Linux CPythons.
  if (helpers.WINDOWS) return [];
  const root = process.env.PYENV_ROOT || path.join(os.homedir(), '.pyenv');
  let versions = [];
  try {
    versions = fs.readdirSync(path.join(root, 'versions'));
  } catch {
    return [];
  }
  const found = [];
  for (const v of versions.sort()) {
    const m = /^3\.(\d+)\.\d+$/.exec(v);
    const command = path.join(root, 'versions', v, 'bin', 'python3');
    if (!m || Number(m[1]) < 8 || seen.includes(`3.${m[1]}`) || !fs.existsSync(command)) continue;
    seen.push(`3.${m[1]}`);
    found.push({ label: `CPython ${v} from pyenv`, command, skip: false });
  }
  return found;
}

describe('JavaScript examples of the READMEs run as written', () => {
  const js = READMES.flatMap((file) => blocks(file, ['js', 'javascript', 'mjs']));
  test('there are examples to run', () => assert.ok(js.length >= 6, `found ${js.length}`));
  for (const { where, code } of js) {
    // Windows has neither strategy (decision 0014): such an example would throw ERR_SHM_STRATEGY_UNAVAILABLE
    const strategy = /strategy: '(shared|overlay)'/.exec(code);
    test(where, strategy ? helpers.notOnWindows(`it shows the ${strategy[1]} strategy, which Windows does not have (decision 0014)`) : {}, async () => {
      const esm = /^\s*import\s/m.test(code);
      const result = await runRecorded([...(esm ? ['--input-type=module'] : []), '-e', code]);
      assertCleanRun(result, where);
      assert.ok(result.created.length > 0, `${where} created no segment: is it an example of shmkit?`);
    });
  }
});

describe('Python examples of the READMEs leave a segment Node made in place', () => {
  const python = READMES.flatMap((file) => blocks(file, ['python', 'py']));
  const python313 = helpers.findPython313();
  const interpreters = [
    { label: `python3 (${helpers.versionOf('python3') ?? 'missing'})`, command: 'python3', skip: !helpers.versionOf('python3') && 'python3 is not installed' },
    { label: `CPython 3.13+ (${python313 ?? 'not installed'})`, command: python313, skip: !python313 && 'no CPython 3.13+ under pyenv' },
    ...otherPythons([helpers.versionOf('python3'), python313 && helpers.versionOf(python313)]),
  ];
  test('there are examples to run', () => assert.ok(python.length >= 1));
  for (const { where, code } of python) {
    for (const py of interpreters) {
      test(`${where} on ${py.label}`, { skip: py.skip }, async () => {
        assert.equal(code.split(PLACEHOLDER).length, 2, `the example names the segment "${PLACEHOLDER}" once`);
        const shm = SharedMemory.create(4096, { name: helpers.uniqueName('readme-py') });
        try {
          shm.buf.set(Buffer.from('from node'));
          const result = await helpers.run(py.command, ['-c', code.replace(PLACEHOLDER, shm.name)]);
          assert.ok(helpers.exists(shm.name), `python's exit must not unlink the segment Node made\n${result.stderr}`);
          assert.equal(result.code, 0, result.stderr);
          assert.equal(result.stderr, '', 'python wrote to stderr (a resource-tracker warning?)');
          assert.match(result.stdout, /from/, 'python read the bytes Node wrote');
          shm.unlink(); // ENOENT here if Python had unlinked it
        } finally {
          shm.close();
          helpers.cleanup(shm.name);
        }
      });
    }
  }
});
