'use strict';
// Runs example programs (README blocks, packages/shm/examples) as a user would
// and records every segment they create, in any process they start, through
// fixtures/record-created.js (preloaded with NODE_OPTIONS). Used by
// 17-readme-examples and 18-examples.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const helpers = require('./helpers');

const RECORDER = path.join(__dirname, 'fixtures', 'record-created.js');

/** A recording context: `env` for the child, `created()` the names it made so far. */
function recorder() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmkit-record-'));
  const file = path.join(dir, 'created.txt');
  fs.writeFileSync(file, '');
  return {
    env: {
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${RECORDER}`.trim(),
      SHMKIT_RECORD_CREATED: file,
    },
    created() {
      const names = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
      names.forEach(helpers.remember); // checkNoLeaks() cleans up and fails the file if any is left
      return names;
    },
    dispose() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs `node ...args` to completion; resolves with { code, signal, stdout, stderr, created }. */
async function runRecorded(args, options = {}) {
  const rec = recorder();
  try {
    const result = await helpers.run(process.execPath, args, {
      timeout: 30_000,
      ...options,
      env: { ...options.env, ...rec.env },
    });
    return { ...result, created: rec.created() };
  } finally {
    rec.dispose();
  }
}

/** Starts `node ...args` with piped stdio, recording; for programs the test talks to. */
function startRecorded(args, options = {}) {
  const rec = recorder();
  const child = spawn(process.execPath, args, {
    cwd: helpers.PACKAGE,
    ...options,
    env: { ...process.env, ...options.env, ...rec.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  const closed = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  return {
    child,
    stdout: () => stdout,
    /** Resolves with the stdout line matching `pattern`, once printed. */
    async line(pattern) {
      await helpers.pollUntil(() => stdout.split('\n').some((l) => pattern.test(l)) || child.exitCode !== null, `${pattern}`);
      const found = stdout.split('\n').find((l) => pattern.test(l));
      assert.ok(found, `the program ended without printing ${pattern}\n${stdout}\n${stderr}`);
      return found;
    },
    async finish() {
      const { code, signal } = await closed;
      const result = { code, signal, stdout, stderr, created: rec.created() };
      rec.dispose();
      return result;
    },
    /** Kills it if it still runs; what it created is remembered for checkNoLeaks(). Idempotent. */
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await closed;
      if (fs.existsSync(rec.env.SHMKIT_RECORD_CREATED)) {
        rec.created();
        rec.dispose();
      }
    },
  };
}

/** Exit 0, nothing on stderr, and no segment the program made is left. */
function assertCleanRun(result, what) {
  assert.equal(result.signal, null, `${what} was killed\n${result.stderr}`);
  assert.equal(result.code, 0, `${what} exited with ${result.code}\n${result.stdout}\n${result.stderr}`);
  assert.equal(result.stderr, '', `${what} wrote to stderr`);
  assert.deepEqual(result.created.filter(helpers.exists), [], `${what} left segments behind`);
}

module.exports = { runRecorded, startRecorded, assertCleanRun };
