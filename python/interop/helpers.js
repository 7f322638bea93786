'use strict';
// Shared by the cross-language tests: the Pythons to run, a Python child with shmkit importable, unique
// segment names and cleanup by exact name.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');

const PYTHON_DIR = path.join(__dirname, '..');

/** The version of an interpreter (e.g. '3.11.7'), or null when it does not run. */
function versionOf(command) {
  const r = spawnSync(command, ['-c', 'import sys; print("%d.%d.%d" % sys.version_info[:3])'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/**
 * python3, then every other CPython ≥ 3.9 pyenv has (one per minor version): [{ label, command, version }].
 * The package promises 3.9+; CI has at least python3.
 */
function pythons() {
  const found = [];
  const seen = new Set();
  const add = (command, label) => {
    const version = versionOf(command);
    if (!version) return;
    const minor = version.split('.').slice(0, 2).join('.');
    if (seen.has(minor) || Number(minor.split('.')[1]) < 9 || !minor.startsWith('3.')) return;
    seen.add(minor);
    found.push({ label: `${label} (${version})`, command, version });
  };
  add('python3', 'python3');
  const root = process.env.PYENV_ROOT || path.join(os.homedir(), '.pyenv');
  let versions = [];
  try {
    versions = fs.readdirSync(path.join(root, 'versions')).sort();
  } catch {
    // no pyenv
  }
  for (const v of versions) if (/^3\.\d+\.\d+$/.test(v)) add(path.join(root, 'versions', v, 'bin', 'python3'), `CPython ${v} from pyenv`);
  return found;
}

const PYTHON = versionOf('python3') ? 'python3' : null;
const NO_PYTHON = PYTHON === null && 'python3 is not installed';

/** Whether an interpreter has NumPy. */
function hasNumpy(command = 'python3') {
  return spawnSync(command, ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;
}

/** Runs a Python snippet to its end: { code, signal, stdout, stderr, out } (out: its last stdout line as JSON). */
function runPython(code, args = [], options = {}) {
  return new Promise((resolve, reject) => {
    const child = startPython(code, args, options);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeout ?? 60_000);
    child.on('error', reject);
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      const lines = stdout.trim().split('\n').filter(Boolean);
      let out;
      try {
        out = lines.length ? JSON.parse(lines.at(-1)) : undefined;
      } catch {
        out = undefined;
      }
      resolve({ code: exitCode, signal, stdout, stderr, out });
    });
  });
}

/** Starts a Python snippet with shmkit importable (PYTHONPATH). */
function startPython(code, args = [], options = {}) {
  return spawn(options.python ?? PYTHON ?? 'python3', ['-c', code, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PYTHONPATH: PYTHON_DIR, ...(options.env ?? {}) },
  });
}

const made = new Set();
function uniqueName(tag) {
  const name = `shmkit_interop_${tag}_${process.pid}_${Math.random().toString(16).slice(2, 8)}`;
  made.add(name);
  return name;
}
const exists = (name) => fs.existsSync(`/dev/shm/${name}`);
function cleanup() {
  for (const name of made) {
    try {
      fs.unlinkSync(`/dev/shm/${name}`);
    } catch {
      // gone
    }
  }
  made.clear();
}

/** The deterministic content of frame k (u32 words), as the Python side makes it: word j = (k + 1) * 0x9e3779b1 + j. */
const frameBase = (k) => Math.imul(k + 1, 0x9e3779b1) >>> 0;
function checkFrame(bytes, k) {
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 2);
  const base = frameBase(k);
  for (let j = 0; j < words.length; j++) if (words[j] !== ((base + j) >>> 0)) return j;
  return -1;
}
function fillFrame(bytes, k) {
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 2);
  const base = frameBase(k);
  for (let j = 0; j < words.length; j++) words[j] = (base + j) >>> 0;
}
/** The same in Python (for snippets). */
const PY_FRAMES = `
import array
def frame_words(k, count):
    base = ((k + 1) * 0x9E3779B1) & 0xFFFFFFFF
    a = array.array('I', range(base, base + count)) if base + count <= 0xFFFFFFFF else array.array('I', ((base + j) & 0xFFFFFFFF for j in range(count)))
    return a
def check_frame(data, k):
    words = memoryview(data).cast('I')
    return words.tolist() == frame_words(k, len(words)).tolist()
`;

module.exports = { PYTHON, NO_PYTHON, PYTHON_DIR, pythons, versionOf, hasNumpy, runPython, startPython, uniqueName, exists, cleanup, checkFrame, fillFrame, PY_FRAMES };
