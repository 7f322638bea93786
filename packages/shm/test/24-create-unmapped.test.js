'use strict';
// SharedMemory.createUnmapped() and unlinkAsync(): a segment made for other processes, its pages
// reserved, never mapped here, with the event loop free while the kernel zeroes the pages; and the
// unlink that frees them, off the event loop too. Tests that fill a filesystem run in a private tmpfs.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { SharedMemory } = require('../dist/index.js');
const { uniqueName, remember, checkNoLeaks, exists, run, NO_PRIVATE_TMPFS, inPrivateShm, PACKAGE, WINDOWS, CALLS, GENERATED } = require('./helpers');

checkNoLeaks();

const MiB = 1024 * 1024;
const linuxOnly = process.platform !== 'linux' && 'Linux: /dev/shm is where the pages show';

test('creates a segment with its pages reserved, maps nothing, and another process attaches it', { skip: linuxOnly }, async () => {
  const name = uniqueName('unmapped');
  const made = await SharedMemory.createUnmapped({ name, size: 3 * MiB + 1 });
  assert.equal(made.name, name);
  assert.equal(made.size, 3 * MiB + 1);
  assert.equal(made.allocated, fs.statSync(`/dev/shm/${name}`).blocks * 512);
  assert.ok(made.allocated >= 3 * MiB + 1, 'every page reserved (a sparse create would show 0)');
  assert.equal(fs.readFileSync('/proc/self/maps', 'utf8').includes(name), false, 'not mapped in this process');
  const r = await run(process.execPath, ['-e', `
    const { SharedMemory } = require('@shmkit/shm');
    const s = SharedMemory.attach(${JSON.stringify(name)});
    process.stdout.write(String(s.size + ':' + s.buf[s.size - 1]));
    s.close();`]);
  assert.equal(r.stdout, `${3 * MiB + 1}:0`, r.stderr);
  await SharedMemory.unlinkAsync(name);
  assert.equal(exists(name), false);
});

test('the event loop keeps turning while the pages are reserved and freed', { skip: linuxOnly }, async () => {
  const name = uniqueName('loop');
  let turns = 0;
  let on = true;
  const tick = () => {
    turns++;
    if (on) setImmediate(tick);
  };
  setImmediate(tick);
  const made = SharedMemory.createUnmapped({ name, size: 128 * MiB });
  const atCall = turns;
  await made;
  const afterCreate = turns;
  await SharedMemory.unlinkAsync(name);
  on = false;
  assert.equal(atCall, 0, 'the call returns before any work is done');
  assert.ok(afterCreate > 0, 'turns went on while the kernel reserved 128 MiB');
  assert.equal(exists(name), false);
});

test('errors: EEXIST, bad options, ENOENT on unlinkAsync; a failed create leaves nothing', async () => {
  const name = uniqueName('dup');
  const first = await SharedMemory.createUnmapped({ name, size: 4096 });
  await assert.rejects(SharedMemory.createUnmapped({ name, size: 4096 }), { code: 'EEXIST', syscall: CALLS.create, path: name });
  await assert.rejects(SharedMemory.createUnmapped({ name: uniqueName('x'), size: 0 }), { code: 'ERR_OUT_OF_RANGE' });
  await assert.rejects(SharedMemory.createUnmapped({ name: 'a/b', size: 1 }), { code: 'ERR_INVALID_ARG_VALUE' });
  await assert.rejects(SharedMemory.createUnmapped({ name: uniqueName('x'), size: 1, populate: true }), { code: 'ERR_INVALID_ARG_VALUE' });
  await assert.rejects(SharedMemory.createUnmapped(null), { code: 'ERR_INVALID_ARG_TYPE' });
  await assert.rejects(SharedMemory.createUnmapped({ name: uniqueName('x'), size: 1, mode: 0o1000 }), { code: 'ERR_OUT_OF_RANGE' });
  await SharedMemory.unlinkAsync(first.name);
  // Windows: the first let go of this process's hold, the last on it, so the segment is gone
  await assert.rejects(SharedMemory.unlinkAsync(first.name), { code: 'ENOENT', syscall: CALLS.unlink });
  await assert.rejects(SharedMemory.unlinkAsync('a/b'), { code: 'ERR_INVALID_ARG_VALUE' });
  // a generated name
  const generated = await SharedMemory.createUnmapped({ size: 10 });
  remember(generated.name);
  assert.match(generated.name, new RegExp(`^${GENERATED}[0-9a-f]{8}$`));
  await SharedMemory.unlinkAsync(generated.name);
});

// Windows: no tracker; the kernel closes the dead process's hold, the last handle, so the segment goes.
test('tracked like a create: unlinked when the process that made it dies without unlinking', async () => {
  const name = uniqueName('tracked');
  const r = await run(process.execPath, ['-e', `
    const { SharedMemory } = require('@shmkit/shm');
    SharedMemory.createUnmapped({ name: ${JSON.stringify(name)}, size: 8192 }).then(() => {
      process.stdout.write('made');
      process.kill(process.pid, 'SIGKILL');
    });`]);
  assert.equal(r.stdout, 'made');
  if (WINDOWS) assert.notEqual(r.code, 0, 'killed (TerminateProcess: an exit status, not a signal)');
  else assert.equal(r.signal, 'SIGKILL');
  const { pollUntil } = require('./helpers');
  await pollUntil(() => !exists(name), 'the tracker unlinks it', 10_000);
});

test('on a filesystem without room: ENOSPC before anything is allocated, with error.space, nothing left', { skip: NO_PRIVATE_TMPFS }, async () => {
  const result = await inPrivateShm(`
    const fs = require('node:fs');
    const { SharedMemory } = require(${JSON.stringify(PACKAGE)});
    const used = () => { const s = fs.statfsSync('/dev/shm'); return (s.blocks - s.bfree) * s.bsize; };
    (async () => {
      await SharedMemory.createUnmapped({ name: 'half', size: 40 * 1048576, track: false });
      const before = used();
      try {
        await SharedMemory.createUnmapped({ name: 'more', size: 30 * 1048576, track: false });
        console.log(JSON.stringify({ ok: true }));
      } catch (e) {
        console.log(JSON.stringify({ code: e.code, syscall: e.syscall, space: e.space, grew: used() - before, left: fs.existsSync('/dev/shm/more'), hint: /shm-size/.test(e.message) }));
      }
    })();`);
  assert.equal(result.code, 0, result.stderr);
  const [facts] = result.lines;
  assert.equal(facts.code, 'ENOSPC');
  assert.equal(facts.syscall, 'posix_fallocate');
  assert.equal(facts.grew, 0, 'refused before allocating a page');
  assert.equal(facts.left, false);
  assert.equal(facts.hint, true, "the message says Docker's --shm-size");
  assert.equal(facts.space.size, 64 * MiB);
  assert.ok(facts.space.available < 30 * MiB);
});
