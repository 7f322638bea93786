'use strict';
// Shared test helpers. Every segment a test makes has a name from uniqueName()
// (or is passed to remember()), and every file calls checkNoLeaks() so its
// segments are verified gone when it ends. 99-no-leaks.test.js then checks the
// whole run by prefix (it only reads /dev/shm; nothing sweeps it).
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { after } = require('node:test');
const { spawn } = require('node:child_process');

// node --test runs every test file as a child of one runner process, so the
// parent pid identifies this run among others on the machine.
const PACKAGE = path.join(__dirname, '..');

const RUN_PREFIX = `shmkit-test-${process.ppid}-`;
const made = new Set();

function uniqueName(tag = 'seg') {
  const name = `${RUN_PREFIX}${process.pid}-${tag}-${crypto.randomBytes(4).toString('hex')}`;
  made.add(name);
  return name;
}

/** Remember a name made elsewhere (generated psm_ names, Python's names). */
function remember(name) {
  made.add(name);
  return name;
}

function exists(name) {
  return fs.existsSync(path.join('/dev/shm', name));
}

/** Unlinks a name if it still exists; for cleanup after a failing test. */
function cleanup(name) {
  try {
    fs.unlinkSync(path.join('/dev/shm', name));
  } catch (error) {
    if (error.code !== 'ENOENT') throw error;
  }
}

function checkNoLeaks() {
  after(() => {
    const leaked = [...made].filter(exists);
    leaked.forEach(cleanup);
    assert.deepEqual(leaked, [], 'segments left behind by this test file');
  });
}

/**
 * Runs a Node or Python script as a child process and resolves with
 * { code, signal, stdout, stderr }. `input` is written to stdin.
 */
function run(command, args, { input, env, timeout = 60_000, cwd = PACKAGE } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd, // `node -e` resolves '@shmkit/shm' from its working directory
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} timed out\n${stderr}`));
    }, timeout);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

/** Runs `node -e <source>` with the package resolvable as @shmkit/shm. */
function runNode(source, options) {
  return run(process.execPath, ['-e', source], options);
}

module.exports = { RUN_PREFIX, PACKAGE, uniqueName, remember, exists, cleanup, checkNoLeaks, run, runNode };
