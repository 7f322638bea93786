'use strict';
// The package installs with pip from the repository with no package index (the in-tree build backend,
// no build requirements): a regular install and an editable one, each into a fresh virtual environment
// (or, where venv is unavailable, into a --target folder), then imported from there and used: a segment
// made by the installed package, attached by Node. Skipped, with the reason, where pip is missing.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { SharedMemory } = require('@shmkit/shm');
const { PYTHON, NO_PYTHON, PYTHON_DIR, uniqueName, cleanup } = require('./helpers');

const run = (command, args, options = {}) => spawnSync(command, args, { encoding: 'utf8', timeout: 180_000, ...options });
const noPip = NO_PYTHON || (run(PYTHON, ['-m', 'pip', '--version']).status === 0 ? false : `pip is not installed for ${PYTHON}`);
// a venv with pip needs ensurepip (Debian's python3-venv): else install with --target
const venvReason = noPip || (run(PYTHON, ['-c', 'import ensurepip, venv']).status === 0 ? false : 'python3 has no venv/ensurepip (Debian: apt-get install python3-venv)');

/** The script that uses the installed package: where it came from, and a segment Node attaches. */
const USE = `
import json, sys, shmkit, shmkit.bridge
seg = shmkit.Segment.create(4096, sys.argv[1], track=False)
seg.buf[:6] = b'pipped'
print(json.dumps({'version': shmkit.__version__, 'file': shmkit.__file__, 'typed': __import__('importlib.resources').resources.files('shmkit').joinpath('py.typed').is_file()}))
seg.close()
`;

function useInstalled(python, env, where) {
  const name = uniqueName('pip');
  try {
    const r = run(python, ['-c', USE, name], { env: { ...process.env, PYTHONPATH: '', ...env }, cwd: os.tmpdir() });
    assert.equal(r.status, 0, r.stderr);
    const info = JSON.parse(r.stdout.trim().split('\n').pop());
    assert.equal(info.version, '0.1.0');
    assert.ok(info.file.startsWith(where), `imported from ${info.file}, not from ${where}`);
    const shm = SharedMemory.attach(name);
    assert.equal(Buffer.from(shm.buf.subarray(0, 6)).toString(), 'pipped');
    shm.close();
    return info;
  } finally {
    cleanup(name);
  }
}

function tmp() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmkit-pip-'));
  test.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('pip install --no-index ./python into a fresh venv, then import and use it there', { skip: venvReason }, () => {
  const dir = tmp();
  const venv = path.join(dir, 'venv');
  const made = run(PYTHON, ['-m', 'venv', venv]);
  assert.equal(made.status, 0, made.stderr);
  const py = path.join(venv, 'bin', 'python');
  const pip = run(py, ['-m', 'pip', 'install', '--no-index', '--no-cache-dir', PYTHON_DIR]);
  assert.equal(pip.status, 0, `${pip.stdout}\n${pip.stderr}`);
  assert.match(pip.stdout, /Successfully installed shmkit-0\.1\.0/);
  const info = useInstalled(py, {}, venv);
  assert.equal(info.typed, true, 'py.typed is installed (the package is typed)');
  // the wheel holds the package only: no tests, no build backend, no Node files
  const shown = run(py, ['-m', 'pip', 'show', '-f', 'shmkit']);
  assert.equal(shown.status, 0, shown.stderr);
  const files = shown.stdout.split('Files:')[1].split('\n').map((l) => l.trim()).filter(Boolean);
  assert.ok(files.every((f) => f.startsWith('shmkit/') || f.startsWith('shmkit-0.1.0.dist-info/')), files.join(', '));
  assert.ok(files.includes('shmkit/bridge.py') && files.includes('shmkit/framering.py'));
});

test('pip install --no-index -e ./python (editable): the venv imports the tree itself', { skip: venvReason }, () => {
  const dir = tmp();
  const venv = path.join(dir, 'venv');
  assert.equal(run(PYTHON, ['-m', 'venv', venv]).status, 0);
  const py = path.join(venv, 'bin', 'python');
  const pip = run(py, ['-m', 'pip', 'install', '--no-index', '--no-cache-dir', '-e', PYTHON_DIR]);
  assert.equal(pip.status, 0, `${pip.stdout}\n${pip.stderr}`);
  useInstalled(py, {}, path.join(PYTHON_DIR, 'shmkit'));
});

test('pip install --no-index --target (no venv needed)', { skip: noPip }, () => {
  const dir = tmp();
  const target = path.join(dir, 'site');
  const pip = run(PYTHON, ['-m', 'pip', 'install', '--no-index', '--no-cache-dir', '--target', target, PYTHON_DIR]);
  assert.equal(pip.status, 0, `${pip.stdout}\n${pip.stderr}`);
  useInstalled(PYTHON, { PYTHONPATH: target }, target);
});
