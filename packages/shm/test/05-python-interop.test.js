'use strict';
// Interop with CPython's multiprocessing.shared_memory: the same segment seen
// from Node and from Python, created on either side. Python runs
// test/fixtures/shm_peer.py. `python3` always runs (it is 3.11 on project
// machines, where attaching scripts must unregister from the resource tracker);
// a pyenv CPython 3.13+ also runs the same cases, with track=False, when it is
// installed, and is skipped otherwise.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawn, spawnSync } = require('node:child_process');
const os = require('node:os');
const path = require('node:path');
const helpers = require('./helpers');
const { SharedMemory, generateName, pageSize } = require('@shmkit/shm');

helpers.checkNoLeaks();

const PEER = path.join(__dirname, 'fixtures', 'shm_peer.py');
const PSM_NAME = /^psm_[0-9a-f]{8}$/;
const SIZE = 3 * pageSize + 5; // several pages, not a multiple of the page size
const TIMEOUT_MS = 30_000;



const { versionOf, findPython313 } = require('./helpers');
const python3Version = versionOf('python3');
const python313 = findPython313();
/**
 * The interpreter `python3` runs, resolved once: a pyenv shim re-resolves it
 * on every start (seconds each on a loaded machine, and this file starts
 * Python about 25 times).
 */
const python3Executable =
  (python3Version && spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).stdout.trim()) ||
  'python3';
const INTERPRETERS = [
  {
    label: `python3 (${python3Version ?? 'missing'})`,
    command: python3Executable,
    skip: python3Version ? false : 'python3 is not installed',
  },
  {
    label: 'CPython 3.13+ from pyenv, track=False',
    command: python313,
    skip: python313 ? false : 'no CPython 3.13+ under pyenv (optional; CI has only python3)',
  },
];

function pattern(length, seed) {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 13 + seed) & 0xff;
  return bytes;
}

const hex = (bytes) => Buffer.from(bytes).toString('hex');

/** Runs one shm_peer.py command to completion; resolves with its JSON output. */
async function peer(py, command) {
  const result = await helpers.run(py.command, [PEER, JSON.stringify(command)], { timeout: TIMEOUT_MS });
  assert.equal(result.signal, null, result.stderr);
  assert.equal(result.code, 0, `python exited with ${result.code}\n${result.stderr}`);
  // No tracebacks, no resource-tracker warnings about leaked segments.
  assert.equal(result.stderr, '', 'python wrote to stderr');
  return JSON.parse(result.stdout.trim().split('\n').pop());
}

/**
 * Starts `serve`: Python creates a segment the plain way (tracked) and waits.
 * `created` resolves with its first line; `finish()` lets it read, close and
 * unlink, and resolves with its second line.
 */
function serve(py, command) {
  const child = spawn(py.command, [PEER, JSON.stringify({ ...command, op: 'serve' })], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const lines = [];
  const waiting = [];
  const flush = () => {
    while (lines.length && waiting.length) waiting.shift().resolve(lines.shift());
  };
  let ended = null;
  const endedError = () => new Error(`python ended (code ${ended.code}, signal ${ended.signal})\n${stderr}`);
  const exited = new Promise((resolve) => {
    child.on('close', (code, signal) => {
      ended = { code, signal };
      while (waiting.length) waiting.shift().reject(endedError());
      resolve(ended);
    });
  });
  child.on('error', (e) => waiting.forEach((w) => w.reject(e)));
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  child.stdout.setEncoding('utf8').on('data', (d) => {
    stdout += d;
    let nl;
    while ((nl = stdout.indexOf('\n')) >= 0) {
      lines.push(JSON.parse(stdout.slice(0, nl)));
      stdout = stdout.slice(nl + 1);
    }
    flush();
  });
  const nextLine = () =>
    new Promise((resolve, reject) => {
      if (ended && !lines.length) return reject(endedError());
      waiting.push({ resolve, reject });
      flush();
    });
  return {
    created: nextLine(),
    async finish() {
      const line = nextLine();
      child.stdin.end('go\n');
      const reads = await line;
      const { code, signal } = await exited;
      assert.equal(signal, null, stderr);
      assert.equal(code, 0, stderr);
      assert.equal(stderr, '', 'python wrote to stderr');
      return reads;
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      return exited;
    },
  };
}

function assertSystemError(error, code, syscall, name) {
  assert.equal(error.code, code);
  assert.equal(error.errno, -os.constants.errno[code]);
  assert.equal(error.syscall, syscall);
  assert.equal(error.path, name);
  return true;
}

for (const py of INTERPRETERS) {
  test(`interop with ${py.label}`, { timeout: 60_000 }, async (t) => {
    if (py.skip) {
      t.skip(py.skip);
      return;
    }
    for (const naming of ['given', 'generated']) {
      await t.test(`Node creates (${naming} name); Python attaches, checks size and bytes, writes back`, async () => {
        const shm =
          naming === 'given'
            ? SharedMemory.create(SIZE, { name: helpers.uniqueName('node-made') })
            : SharedMemory.create(SIZE);
        const name = helpers.remember(shm.name);
        try {
          if (naming === 'generated') assert.match(name, PSM_NAME);
          shm.buf.set(pattern(SIZE, 5));
          const expected = pattern(SIZE, 5);
          const out = await peer(py, {
            op: 'attach',
            name,
            reads: [
              [0, 16],
              [pageSize - 8, 16],
              [SIZE - 16, 16],
            ],
            writes: [
              [0, 'cafebabe'],
              [2 * pageSize + 1, hex('from python')],
              [SIZE - 3, 'a1b2c3'],
            ],
          });
          assert.equal(out.name, name);
          assert.equal(out.size, SIZE);
          assert.equal(out.buflen, SIZE);
          assert.deepEqual(out.reads, [
            hex(expected.subarray(0, 16)),
            hex(expected.subarray(pageSize - 8, pageSize + 8)),
            hex(expected.subarray(SIZE - 16)),
          ]);

          // Python has exited and its resource tracker with it: the segment is still here.
          assert.ok(helpers.exists(name), "python's exit must not have unlinked Node's segment");
          expected.set(Buffer.from('cafebabe', 'hex'), 0);
          expected.set(Buffer.from('from python'), 2 * pageSize + 1);
          expected.set(Buffer.from('a1b2c3', 'hex'), SIZE - 3);
          assert.deepEqual(Buffer.from(shm.buf), expected);
          shm.close();
          shm.unlink();
          assert.equal(helpers.exists(name), false);
        } finally {
          shm.close();
          helpers.cleanup(name);
        }
      });

      await t.test(`Python creates (${naming} name) and keeps it; Node attaches, checks, writes; Python sees it`, async () => {
        const given = naming === 'given' ? helpers.uniqueName('py-made') : null;
        const server = serve(py, {
          name: given,
          size: SIZE,
          writes: [
            [0, hex(pattern(64, 7))],
            [SIZE - 5, 'deadbeef01'],
          ],
          reads: [
            [8, 12],
            [pageSize, 4],
            [SIZE - 5, 5],
          ],
        });
        let name = given;
        try {
          const created = await server.created;
          name = helpers.remember(created.name);
          if (given) assert.equal(name, given);
          else assert.match(name, PSM_NAME);
          assert.equal(created.size, SIZE);

          const shm = SharedMemory.attach(name);
          try {
            assert.equal(shm.size, SIZE);
            assert.equal(shm.buf.length, SIZE);
            assert.deepEqual(Buffer.from(shm.buf.subarray(0, 64)), pattern(64, 7));
            assert.deepEqual(Buffer.from(shm.buf.subarray(64, SIZE - 5)), Buffer.alloc(SIZE - 69));
            assert.equal(hex(shm.buf.subarray(SIZE - 5)), 'deadbeef01');
            shm.buf.set(Buffer.from('hello python'), 8);
            new DataView(shm.buf.buffer, shm.buf.byteOffset).setUint32(pageSize, 0x01020304, true);
            shm.write(Buffer.from('end!!'), SIZE - 5);
          } finally {
            shm.close();
          }

          const { reads } = await server.finish();
          assert.deepEqual(reads, [hex('hello python'), '04030201', hex('end!!')]);
          // Python unlinked its own segment; Node agrees it is gone.
          assert.equal(helpers.exists(name), false);
          assert.throws(() => SharedMemory.attach(name), (e) => assertSystemError(e, 'ENOENT', 'shm_open', name));
        } finally {
          await server.kill();
          if (name) helpers.cleanup(name);
        }
      });

      await t.test(`Python creates (${naming} name) and exits; Node attaches, writes; a later Python sees it`, async () => {
        const given = naming === 'given' ? helpers.uniqueName('py-left') : null;
        let name = given;
        try {
          const created = await peer(py, {
            op: 'create',
            name: given,
            size: SIZE,
            writes: [[pageSize, hex('left by python')]],
          });
          name = helpers.remember(created.name);
          if (given) assert.equal(name, given);
          else assert.match(name, PSM_NAME);
          assert.equal(created.size, SIZE);
          assert.ok(helpers.exists(name));

          const shm = SharedMemory.attach(name);
          try {
            assert.equal(shm.size, SIZE);
            assert.equal(Buffer.from(shm.buf.subarray(pageSize, pageSize + 14)).toString(), 'left by python');
            shm.buf.set(Buffer.from('node was here'), 3);
          } finally {
            shm.close();
          }

          const seen = await peer(py, { op: 'attach', name, reads: [[3, 13], [pageSize, 14]], unlink: true });
          assert.equal(seen.size, SIZE);
          assert.deepEqual(seen.reads, [hex('node was here'), hex('left by python')]);
          assert.equal(helpers.exists(name), false, 'python unlinked it');
        } finally {
          if (name) helpers.cleanup(name);
        }
      });
    }

    await t.test('Node attaching a name Python never created is ENOENT', async () => {
      const made = helpers.uniqueName('py-real');
      const never = helpers.uniqueName('py-never');
      try {
        await peer(py, { op: 'create', name: made, size: 32 });
        assert.throws(() => SharedMemory.attach(never), (e) => assertSystemError(e, 'ENOENT', 'shm_open', never));
        assert.throws(
          () => SharedMemory.attach(never, { readonly: true }),
          (e) => assertSystemError(e, 'ENOENT', 'shm_open', never),
        );
        assert.equal(helpers.exists(never), false);
        // The name Python did create attaches fine, and Node can unlink it.
        const shm = SharedMemory.attach(made);
        assert.equal(shm.size, 32);
        shm.close();
        SharedMemory.unlink(made);
        assert.equal(helpers.exists(made), false);
      } finally {
        helpers.cleanup(made);
      }
    });

    await t.test('Python attaching a name Node unlinked (or never made) is FileNotFoundError', async () => {
      const name = helpers.uniqueName('node-unlinked');
      const shm = SharedMemory.create(64, { name });
      try {
        shm.buf.set(Buffer.from('still mapped'));
        const before = await peer(py, { op: 'attach', name, reads: [[0, 12]] });
        assert.deepEqual(before.reads, [hex('still mapped')]);

        shm.unlink();
        const after = await peer(py, { op: 'attach', name });
        assert.deepEqual(after, { error: 'FileNotFoundError', errno: os.constants.errno.ENOENT, filename: `/${name}` });
        assert.equal(helpers.exists(name), false);
        // Node's mapping is unaffected by the unlink and the failed attach.
        assert.equal(Buffer.from(shm.buf.subarray(0, 12)).toString(), 'still mapped');

        const never = helpers.uniqueName('never');
        const missing = await peer(py, { op: 'attach', name: never });
        assert.equal(missing.error, 'FileNotFoundError');
        assert.equal(missing.errno, os.constants.errno.ENOENT);
        assert.equal(helpers.exists(never), false);
      } finally {
        shm.close();
        helpers.cleanup(name);
      }
    });

    await t.test("creating a name the other side already created is EEXIST both ways, and the owner's segment survives", async () => {
      const pyName = helpers.uniqueName('py-owned');
      const nodeName = helpers.uniqueName('node-owned');
      const mine = SharedMemory.create(128, { name: nodeName });
      try {
        await peer(py, { op: 'create', name: pyName, size: 48, writes: [[0, hex('python owns this')]] });
        assert.throws(
          () => SharedMemory.create(48, { name: pyName }),
          (e) => assertSystemError(e, 'EEXIST', 'shm_open', pyName),
        );
        assert.throws(
          () => new SharedMemory({ name: pyName, create: true, size: 4096 }),
          (e) => assertSystemError(e, 'EEXIST', 'shm_open', pyName),
        );
        const check = await peer(py, { op: 'attach', name: pyName, reads: [[0, 16]] });
        assert.equal(check.size, 48, "the failed create must not resize Python's segment");
        assert.deepEqual(check.reads, [hex('python owns this')]);

        mine.buf.set(Buffer.from('node owns this'));
        const clash = await peer(py, { op: 'create', name: nodeName, size: 128 });
        assert.deepEqual(clash, { error: 'FileExistsError', errno: os.constants.errno.EEXIST, filename: `/${nodeName}` });
        assert.ok(helpers.exists(nodeName));
        assert.equal(Buffer.from(mine.buf.subarray(0, 14)).toString(), 'node owns this');

        SharedMemory.unlink(pyName);
        mine.close();
        mine.unlink();
      } finally {
        mine.close();
        helpers.cleanup(pyName);
        helpers.cleanup(nodeName);
      }
    });

    await t.test("generated names have Python's format on both sides", async () => {
      const nodeNames = Array.from({ length: 20 }, () => generateName());
      nodeNames.forEach((n) => assert.match(n, PSM_NAME));
      const pyNames = [];
      try {
        for (let i = 0; i < 2; i++) {
          const out = await peer(py, { op: 'create', name: null, size: 8 });
          pyNames.push(helpers.remember(out.name));
          assert.match(out.name, PSM_NAME);
        }
        assert.notEqual(pyNames[0], pyNames[1]);
        for (const n of pyNames) {
          SharedMemory.unlink(n);
          assert.equal(helpers.exists(n), false);
        }
      } finally {
        pyNames.forEach(helpers.cleanup);
      }
    });
  });
}
