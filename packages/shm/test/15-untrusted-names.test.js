'use strict';
// Names in /dev/shm that are not shared-memory objects (src/segment.cc). Any
// local user can put a FIFO, a directory or a symlink there under a name
// another process will attach to. An attach must never block on such a name
// and must refuse it with a code, readonly or not, for SharedMemory.attach and
// FrameRing.attach alike.
//
// Every attach runs in a child process with a deadline, so a regression that
// blocks fails the test instead of hanging the suite.
const { test, describe } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const helpers = require('./helpers');

helpers.checkNoLeaks();

const NODE_PATH = path.resolve(helpers.PACKAGE, '..', '..', 'node_modules');
const LINUX = process.platform === 'linux' || 'names are files in /dev/shm on Linux only';

/**
 * Attaches to `name` in a child, once per option set, and returns what each
 * attempt gave: the error's code, or 'attached'. Fails if the child is still
 * blocked after `timeout` ms.
 */
async function attachInChild(name, attempts) {
  const source = `
    const { SharedMemory, FrameRing } = require('@shmkit/shm');
    const out = [];
    for (const [kind, options] of ${JSON.stringify(attempts)}) {
      try {
        const made = kind === 'ring' ? FrameRing.attach(${JSON.stringify(name)}, options)
                                     : SharedMemory.attach(${JSON.stringify(name)}, options);
        made.close();
        out.push('attached');
      } catch (error) {
        out.push(error.code ?? String(error));
      }
    }
    process.stdout.write(JSON.stringify(out));
  `;
  const result = await helpers.runNode(source, { env: { NODE_PATH }, timeout: 10_000 });
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout);
}

const EVERY_ATTACH = [
  ['shm', { readonly: true }],
  ['shm', { readonly: false }],
  ['shm', { readonly: true, strategy: 'copy' }],
  ['ring', {}],
  ['ring', { readonly: false }],
];

describe('an attach refuses what is not a shared-memory object, without blocking', { skip: LINUX !== true && LINUX }, () => {
  test('a FIFO is ERR_SHM_NOT_A_SEGMENT, readonly or not, and is left in place', async () => {
    const name = helpers.uniqueName('fifo');
    const made = spawnSync('mkfifo', ['-m', '0666', `/dev/shm/${name}`]);
    assert.equal(made.status, 0, String(made.stderr));
    try {
      const results = await attachInChild(name, EVERY_ATTACH);
      assert.deepEqual(results, Array(EVERY_ATTACH.length).fill('ERR_SHM_NOT_A_SEGMENT'));
      assert.ok(fs.lstatSync(`/dev/shm/${name}`).isFIFO(), 'the FIFO is not touched');
    } finally {
      helpers.cleanup(name);
    }
  });

  test('a directory is ERR_SHM_NOT_A_SEGMENT', async () => {
    const name = helpers.uniqueName('dir');
    fs.mkdirSync(`/dev/shm/${name}`);
    try {
      const results = await attachInChild(name, EVERY_ATTACH);
      // A directory cannot be opened for writing (glibc's shm_open reports EISDIR as EINVAL).
      assert.deepEqual(results, ['ERR_SHM_NOT_A_SEGMENT', 'EINVAL', 'ERR_SHM_NOT_A_SEGMENT', 'ERR_SHM_NOT_A_SEGMENT', 'EINVAL']);
    } finally {
      fs.rmdirSync(`/dev/shm/${name}`);
    }
  });

  test('a symlink is never followed (ELOOP), even to a real segment', async () => {
    const target = helpers.uniqueName('target');
    const name = helpers.uniqueName('link');
    fs.writeFileSync(`/dev/shm/${target}`, Buffer.alloc(4096));
    fs.symlinkSync(`/dev/shm/${target}`, `/dev/shm/${name}`);
    try {
      const results = await attachInChild(name, EVERY_ATTACH);
      assert.deepEqual(results, Array(EVERY_ATTACH.length).fill('ELOOP'));
    } finally {
      helpers.cleanup(name);
      helpers.cleanup(target);
    }
  });

  test('a regular segment still attaches every way (control)', async () => {
    const name = helpers.uniqueName('regular');
    const { FrameRing } = require('@shmkit/shm');
    const ring = FrameRing.create({ slots: 2, slotBytes: 16, name });
    try {
      const results = await attachInChild(name, EVERY_ATTACH);
      assert.deepEqual(results, Array(EVERY_ATTACH.length).fill('attached'));
      ring.close();
      ring.unlink();
    } finally {
      ring.close();
      helpers.cleanup(name);
    }
  });
});
