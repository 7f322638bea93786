'use strict';
// Cross-process behaviour: real child processes (`node -e`) attach to the
// parent's segments by name. Where two processes must take turns, they hand
// off through words in shared memory (a writable control segment when the
// segment under test is attached readonly); waits have a safety deadline and
// give up early when the child has already exited, but nothing asserts timing.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { setTimeout: sleep } = require('node:timers/promises');
const helpers = require('./helpers');
const { SharedMemory, pageSize } = require('@shmkit/shm');

helpers.checkNoLeaks();

const ENOENT = helpers.sysErrno('ENOENT');
const EEXIST = helpers.sysErrno('EEXIST');
const EINVAL = helpers.sysErrno('EINVAL');
const { WINDOWS, notOnWindows, segSize, CALLS } = helpers;
// Windows keeps a segment while any process holds it, and unlink() removes no name there: the
// Windows form of these promises is in 25-windows.test.js.
const LIFETIME = notOnWindows('unlink() removes no name there (its lifetime: 25-windows)');
const DEADLINE_MS = 15_000;

// `node -e` resolves '@shmkit/shm' from its working directory; NODE_PATH makes
// the workspace's copy resolvable wherever the tests are started from.
const NODE_PATH = path.resolve(helpers.PACKAGE, '..', '..', 'node_modules');

// Shared by every child script. `V` holds the variables the test passes in.
const PRELUDE = `
'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { SharedMemory } = require('@shmkit/shm');
const V = JSON.parse(process.env.SHMKIT_TEST_VARS);
function report(value) { process.stdout.write(JSON.stringify(value) + '\\n'); }
function errorFields(e) {
  return { code: e.code, errno: e.errno, syscall: e.syscall, path: e.path };
}
function attempt(fn) {
  try { fn(); return null; } catch (e) { return errorFields(e); }
}
const sleeper = new Int32Array(new SharedArrayBuffer(4));
function waitFor(view, index, value) {
  const end = Date.now() + ${DEADLINE_MS};
  while (Atomics.load(view, index) !== value) {
    if (Date.now() > end) { console.error('child: timed out waiting'); process.exit(3); }
    Atomics.wait(sleeper, 0, 0, 1);
  }
}
`;

/** Runs a child script with PRELUDE; resolves with { code, signal, stdout, stderr, out }. */
async function child(body, vars = {}) {
  const result = await helpers.runNode(PRELUDE + body, {
    env: { NODE_PATH, SHMKIT_TEST_VARS: JSON.stringify(vars) },
  });
  const lines = result.stdout.trim().split('\n').filter(Boolean);
  result.out = lines.length ? JSON.parse(lines[lines.length - 1]) : undefined;
  return result;
}

function assertExitedCleanly(result) {
  assert.equal(result.signal, null, `child was killed by ${result.signal}\n${result.stderr}`);
  assert.equal(result.code, 0, `child exited with ${result.code}\n${result.stderr}`);
}

/** Starts a child and tracks whether it has ended, for waitFor(). */
function startChild(body, vars) {
  const handle = { done: false };
  handle.promise = child(body, vars).finally(() => {
    handle.done = true;
  });
  return handle;
}

/** Waits until view[index] === value; fails early if `handle`'s child ended. */
async function waitFor(view, index, value, handle, what) {
  const end = Date.now() + DEADLINE_MS;
  while (Atomics.load(view, index) !== value) {
    if (handle.done) {
      const r = await handle.promise;
      assert.fail(`child ended (code ${r.code}, signal ${r.signal}) before ${what}\n${r.stderr}`);
    }
    if (Date.now() > end) assert.fail(`gave up waiting for ${what}`);
    await sleep(2);
  }
}

function pattern(length, seed) {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + seed) & 0xff;
  return bytes;
}

function assertNoEntry(error, name) {
  assert.equal(error.code, 'ENOENT');
  assert.equal(error.errno, ENOENT);
  assert.equal(error.syscall, CALLS.attach);
  assert.equal(error.path, name);
  return true;
}

for (const strategy of ['auto', 'external', 'overlay', 'copy']) {
  test(`a child attaches by name (strategy ${strategy}), writes and closes; the parent sees the write`, strategy === 'overlay' ? notOnWindows('no overlay strategy there (decision 0014)') : {}, async () => {
    const name = helpers.uniqueName('child-write');
    const size = 3 * pageSize + 5;
    const shm = SharedMemory.create(size, { name });
    try {
      shm.buf.set(pattern(size, 1));
      const result = await child(
        `
        const shm = SharedMemory.attach(V.name, { strategy: V.strategy });
        const mine = Buffer.alloc(V.size);
        shm.read(mine);
        const sawParent = mine.toString('hex');
        const reply = Buffer.alloc(V.size);
        for (let i = 0; i < V.size; i++) reply[i] = (i * 7 + 200) & 0xff;
        if (V.strategy === 'copy') shm.write(reply);
        else shm.buf.set(reply);
        const info = { size: shm.size, name: shm.name, strategy: shm.strategy, sawParent };
        shm.close();
        info.closed = shm.closed;
        report(info);
        `,
        { name, size, strategy },
      );
      assertExitedCleanly(result);
      assert.equal(result.out.size, segSize(size));
      assert.equal(result.out.name, name);
      assert.equal(result.out.closed, true);
      if (strategy !== 'auto') assert.equal(result.out.strategy, strategy);
      assert.equal(result.out.sawParent, pattern(size, 1).toString('hex'));

      const expected = Buffer.alloc(size);
      for (let i = 0; i < size; i++) expected[i] = (i * 7 + 200) & 0xff;
      assert.deepEqual(Buffer.from(shm.buf.subarray(0, size)), expected);
      assert.ok(helpers.exists(name), 'the child closing must not remove the segment');
      shm.close();
      shm.unlink();
      assert.equal(helpers.exists(name), false);
    } finally {
      shm.close();
      helpers.cleanup(name);
    }
  });
}

test('the parent unlinks while a child is still mapped: both keep sharing data', LIFETIME, async () => {
  const name = helpers.uniqueName('unlink-while-mapped');
  const shm = SharedMemory.create(2 * pageSize, { name });
  try {
    const ctl = shm.view(Int32Array, 0, 4);
    const data = shm.buf.subarray(64);
    data.set(Buffer.from('before-unlink'));
    const handle = startChild(
      `
      const shm = SharedMemory.attach(V.name);
      const ctl = shm.view(Int32Array, 0, 4);
      const data = shm.buf.subarray(64);
      const first = Buffer.from(data.subarray(0, 13)).toString();
      Atomics.store(ctl, 0, 1);              // attached
      waitFor(ctl, 0, 2);                    // the parent has unlinked and written
      const second = Buffer.from(data.subarray(0, 12)).toString();
      const existsAfterUnlink = fs.existsSync('/dev/shm/' + V.name);
      const reattach = attempt(() => SharedMemory.attach(V.name).close());
      data.set(Buffer.from('child-after-unlink'), 100);
      Atomics.add(ctl, 1, 5);
      Atomics.store(ctl, 0, 3);              // written
      shm.close();
      report({ first, second, existsAfterUnlink, reattach });
      `,
      { name },
    );
    await waitFor(ctl, 0, 1, handle, 'the child attached');
    shm.unlink();
    assert.equal(helpers.exists(name), false);
    data.set(Buffer.from('after-unlink'));
    Atomics.store(ctl, 0, 2);
    const result = await handle.promise;
    assertExitedCleanly(result);
    assert.equal(result.out.first, 'before-unlink');
    assert.equal(result.out.second, 'after-unlink');
    assert.equal(result.out.existsAfterUnlink, false);
    assertNoEntry(result.out.reattach, name);
    assert.equal(Atomics.load(ctl, 0), 3);
    assert.equal(Atomics.load(ctl, 1), 5);
    assert.equal(Buffer.from(data.subarray(100, 118)).toString(), 'child-after-unlink');
  } finally {
    shm.close();
    helpers.cleanup(name);
  }
});

test('the creator closes and unlinks while a child is mapped: the child keeps working', LIFETIME, async () => {
  const name = helpers.uniqueName('creator-gone');
  const ctlName = helpers.uniqueName('creator-gone-ctl');
  const shm = SharedMemory.create(pageSize, { name });
  const ctlShm = SharedMemory.create(64, { name: ctlName });
  try {
    const ctl = ctlShm.view(Int32Array);
    shm.buf.set(Buffer.from('from-the-creator'));
    const handle = startChild(
      `
      const shm = SharedMemory.attach(V.name);
      const ctl = SharedMemory.attach(V.ctlName).view(Int32Array);
      Atomics.store(ctl, 0, 1);
      waitFor(ctl, 0, 2);                    // the creator has closed and unlinked
      const gone = !fs.existsSync('/dev/shm/' + V.name);
      const creatorData = Buffer.from(shm.buf.subarray(0, 16)).toString();
      shm.buf.set(Buffer.from('child-still-writes'), 200);
      const back = Buffer.alloc(18);
      shm.read(back, 200);                   // through the mapping, not the view
      const counter = shm.view(Int32Array, 512, 1);
      Atomics.add(counter, 0, 41);
      Atomics.add(counter, 0, 1);
      const result = { gone, creatorData, back: back.toString(), counter: Atomics.load(counter, 0), size: shm.size };
      shm.close();
      report(result);
      `,
      { name, ctlName },
    );
    await waitFor(ctl, 0, 1, handle, 'the child attached');
    shm.close();
    shm.unlink();
    assert.equal(helpers.exists(name), false);
    Atomics.store(ctl, 0, 2);
    const result = await handle.promise;
    assertExitedCleanly(result);
    assert.deepEqual(result.out, {
      gone: true,
      creatorData: 'from-the-creator',
      back: 'child-still-writes',
      counter: 42,
      size: pageSize,
    });
    assert.throws(() => SharedMemory.attach(name), (e) => assertNoEntry(e, name));
  } finally {
    shm.close();
    ctlShm.close();
    helpers.cleanup(name);
    helpers.cleanup(ctlName);
  }
});

test('a child closes first, then the parent unlinks; re-attaching is ENOENT everywhere', LIFETIME, async () => {
  const name = helpers.uniqueName('close-then-unlink');
  const shm = SharedMemory.create(128, { name });
  try {
    const result = await child(
      `
      const shm = SharedMemory.attach(V.name);
      shm.buf.set(Buffer.from('closed-first'));
      shm.close();
      report({ closed: shm.closed, name: shm.name, size: shm.size });
      `,
      { name },
    );
    assertExitedCleanly(result);
    assert.deepEqual(result.out, { closed: true, name, size: 128 });
    assert.ok(helpers.exists(name));
    assert.equal(Buffer.from(shm.buf.subarray(0, 12)).toString(), 'closed-first');

    shm.close();
    shm.unlink();
    assert.equal(helpers.exists(name), false);
    assert.throws(() => SharedMemory.attach(name), (e) => assertNoEntry(e, name));
    assert.throws(() => SharedMemory.attach(name, { readonly: true }), (e) => assertNoEntry(e, name));
    assert.throws(() => shm.unlink(), (e) => {
      assert.equal(e.code, 'ENOENT');
      assert.equal(e.errno, ENOENT);
      assert.equal(e.syscall, 'shm_unlink');
      assert.equal(e.path, name);
      return true;
    });

    const again = await child(`report(attempt(() => SharedMemory.attach(V.name).close()));`, { name });
    assertExitedCleanly(again);
    assertNoEntry(again.out, name);
  } finally {
    shm.close();
    helpers.cleanup(name);
  }
});

test("a child's failed attach to a missing name is ENOENT, exits normally and leaves live segments alone", async () => {
  const live = helpers.uniqueName('live');
  const missing = helpers.uniqueName('missing');
  const shm = SharedMemory.create(256, { name: live });
  try {
    shm.buf.set(pattern(256, 9));
    const result = await child(
      `
      report({
        plain: attempt(() => SharedMemory.attach(V.missing)),
        readonly: attempt(() => SharedMemory.attach(V.missing, { readonly: true })),
        sized: attempt(() => new SharedMemory({ name: V.missing, size: 256 })),
        created: fs.existsSync('/dev/shm/' + V.missing),
      });
      `,
      { missing },
    );
    assertExitedCleanly(result);
    assertNoEntry(result.out.plain, missing);
    assertNoEntry(result.out.readonly, missing);
    assertNoEntry(result.out.sized, missing);
    assert.equal(result.out.created, false, 'a failed attach must not create the name');
    assert.equal(helpers.exists(missing), false);

    assert.ok(helpers.exists(live));
    assert.deepEqual(Buffer.from(shm.buf.subarray(0, 256)), pattern(256, 9));
    const other = SharedMemory.attach(live);
    try {
      assert.equal(other.size, segSize(256));
      other.buf[0] = 0xab;
      assert.equal(shm.buf[0], 0xab);
    } finally {
      other.close();
    }
    shm.close();
    shm.unlink();
  } finally {
    shm.close();
    helpers.cleanup(live);
  }
});

test("a child's failed create on a live name (EEXIST) leaves the owner's segment intact", async () => {
  const name = helpers.uniqueName('eexist');
  const shm = SharedMemory.create(512, { name });
  try {
    shm.buf.set(pattern(512, 3));
    const result = await child(
      `
      report({
        bigger: attempt(() => SharedMemory.create(4 * 4096, { name: V.name })),
        same: attempt(() => new SharedMemory({ name: V.name, create: true, size: 512 })),
      });
      `,
      { name },
    );
    assertExitedCleanly(result);
    for (const e of [result.out.bigger, result.out.same]) {
      assert.deepEqual(e, { code: 'EEXIST', errno: EEXIST, syscall: CALLS.create, path: name });
    }
    assert.ok(helpers.exists(name));
    if (!WINDOWS) assert.equal(fs.statSync(path.join('/dev/shm', name)).size, 512, 'the size must be untouched');
    assert.deepEqual(Buffer.from(shm.buf.subarray(0, 512)), pattern(512, 3));
    const again = SharedMemory.attach(name);
    try {
      assert.equal(again.size, segSize(512), 'the size must be untouched');
      assert.deepEqual(Buffer.from(again.buf.subarray(0, 512)), pattern(512, 3));
    } finally {
      again.close();
    }
    shm.close();
    shm.unlink();
  } finally {
    shm.close();
    helpers.cleanup(name);
  }
});

test("a child's failed attach to an existing but empty segment leaves it in place", { skip: process.platform !== 'linux' && 'needs /dev/shm' }, async () => {
  // Someone else's zero-length object (e.g. created but not yet sized): it
  // cannot be mapped, and the failure must not unlink it (CPython gh-153279).
  const name = helpers.uniqueName('empty');
  const file = path.join('/dev/shm', name);
  fs.writeFileSync(file, '', { flag: 'wx', mode: 0o600 });
  try {
    const result = await child(`report(attempt(() => SharedMemory.attach(V.name)));`, { name });
    assertExitedCleanly(result);
    assert.deepEqual(result.out, { code: 'EINVAL', errno: EINVAL, syscall: 'mmap', path: name });
    assert.ok(helpers.exists(name), 'a failed attach must not unlink the segment');
    assert.equal(fs.statSync(file).size, 0);
  } finally {
    helpers.cleanup(name);
  }
});

test('a child that attaches and exits without closing (normally, or SIGKILLed) leaves the segment intact', async () => {
  const name = helpers.uniqueName('child-exit');
  const shm = SharedMemory.create(64, { name });
  try {
    const normal = await child(
      `
      const shm = SharedMemory.attach(V.name);
      shm.buf.set(Buffer.from('exit-normally'));
      report({ attached: true });   // no close(): process exit releases the mapping
      `,
      { name },
    );
    assertExitedCleanly(normal);
    assert.ok(helpers.exists(name), 'a normal exit must not unlink an attached segment');
    assert.equal(Buffer.from(shm.buf.subarray(0, 13)).toString(), 'exit-normally');

    const killed = await child(
      `
      const shm = SharedMemory.attach(V.name);
      const counter = shm.view(Int32Array, 16, 1);
      Atomics.add(counter, 0, 7);
      shm.buf.set(Buffer.from('killed'), 32);
      process.kill(process.pid, 'SIGKILL');
      `,
      { name },
    );
    // Windows: process.kill(self) is TerminateProcess, seen as a non-zero exit code, not a signal.
    if (WINDOWS) assert.notEqual(killed.code, 0, killed.stderr);
    else assert.equal(killed.signal, 'SIGKILL', killed.stderr);
    assert.ok(helpers.exists(name), 'SIGKILL of an attached process must not unlink the segment');
    assert.equal(Atomics.load(shm.view(Int32Array, 16, 1), 0), 7);
    assert.equal(Buffer.from(shm.buf.subarray(32, 38)).toString(), 'killed');

    // Still a working segment for newcomers.
    const later = await child(
      `
      const shm = SharedMemory.attach(V.name);
      report({ size: shm.size, text: Buffer.from(shm.buf.subarray(0, 13)).toString() });
      shm.close();
      `,
      { name },
    );
    assertExitedCleanly(later);
    assert.deepEqual(later.out, { size: segSize(64), text: 'exit-normally' });
    shm.close();
    shm.unlink();
  } finally {
    shm.close();
    helpers.cleanup(name);
  }
});

test('Atomics.add on an Int32Array view from several processes gives the exact total', async () => {
  const name = helpers.uniqueName('atomics');
  const shm = SharedMemory.create(64, { name });
  const ROUNDS = 200_000;
  const PARTIES = 3; // two children and this process
  try {
    const words = shm.view(Int32Array);
    const body = `
      const shm = SharedMemory.attach(V.name, { strategy: V.strategy });
      const words = shm.view(Int32Array);
      Atomics.add(words, 0, 1);              // ready
      const end = Date.now() + ${DEADLINE_MS};
      while (Atomics.load(words, 0) < V.parties) {
        if (Date.now() > end) { console.error('child: no start'); process.exit(3); }
      }
      for (let i = 0; i < V.rounds; i++) Atomics.add(words, 1, 1);
      Atomics.add(words, 2, 1);              // done
      report({ strategy: shm.strategy });
      shm.close();
    `;
    const a = child(body, { name, rounds: ROUNDS, parties: PARTIES, strategy: 'external' });
    const other = WINDOWS ? 'external' : 'overlay'; // no overlay on Windows (decision 0014)
    const b = child(body, { name, rounds: ROUNDS, parties: PARTIES, strategy: other });

    // This process takes part too, synchronously, once everyone is ready.
    Atomics.add(words, 0, 1);
    const end = Date.now() + DEADLINE_MS;
    while (Atomics.load(words, 0) < PARTIES) {
      if (Date.now() > end) break; // a child failed to start: its result says why
    }
    if (Atomics.load(words, 0) >= PARTIES) {
      for (let i = 0; i < ROUNDS; i++) Atomics.add(words, 1, 1);
    }

    const results = await Promise.all([a, b]);
    results.forEach(assertExitedCleanly);
    assert.deepEqual(results.map((r) => r.out.strategy), ['external', other]);
    assert.equal(Atomics.load(words, 2), 2);
    assert.equal(Atomics.load(words, 1), PARTIES * ROUNDS);
    shm.close();
    shm.unlink();
  } finally {
    shm.close();
    helpers.cleanup(name);
  }
});

test("a readonly attach in a child sees the parent's later writes; its own writes never reach the segment", async () => {
  const name = helpers.uniqueName('readonly');
  const ctlName = helpers.uniqueName('readonly-ctl');
  const size = 2 * pageSize;
  const shm = SharedMemory.create(size, { name });
  const ctlShm = SharedMemory.create(64, { name: ctlName });
  try {
    const ctl = ctlShm.view(Int32Array);
    shm.buf.set(Buffer.from('first'), 0);
    const handle = startChild(
      `
      const ro = SharedMemory.attach(V.name, { readonly: true });
      const ctl = SharedMemory.attach(V.ctlName).view(Int32Array);
      const seen = { readonly: ro.readonly, size: ro.size };
      seen.initial = Buffer.from(ro.buf.subarray(0, 5)).toString();
      // Stray writes on the second page: buf, a typed view, Atomics; write() refuses.
      ro.buf.fill(0xee, V.pageSize);
      Atomics.store(ro.view(Int32Array, V.pageSize, 1), 0, 123456);
      try { ro.write(Buffer.from('private'), V.pageSize + 64); } catch (e) { seen.writeCode = e.code; }
      ro.buf.set(Buffer.from('private'), V.pageSize + 64);
      const own = Buffer.alloc(7);
      ro.read(own, V.pageSize + 64);
      seen.ownWriteLocal = own.toString();
      seen.ownWordLocal = Atomics.load(ro.view(Int32Array, V.pageSize, 1), 0);
      Atomics.store(ctl, 0, 1);              // wrote
      waitFor(ctl, 0, 2);                    // the parent has written again
      seen.later = Buffer.from(ro.buf.subarray(0, 6)).toString();
      // A page this process wrote is its private copy now: it stops following
      // the writer (docs/decisions/0002-readonly.md).
      seen.writtenPage = Buffer.from(ro.buf.subarray(V.pageSize + 200, V.pageSize + 211)).toString('hex');
      ro.close();
      seen.closed = ro.closed;
      report(seen);
      `,
      { name, ctlName, pageSize },
    );
    await waitFor(ctl, 0, 1, handle, 'the readonly child wrote');
    assert.deepEqual(Buffer.from(shm.buf.subarray(pageSize)), Buffer.alloc(pageSize), 'readonly writes leaked');
    shm.buf.set(Buffer.from('second'), 0);
    shm.buf.set(Buffer.from('parent-late'), pageSize + 200);
    Atomics.store(ctl, 0, 2);
    const result = await handle.promise;
    assertExitedCleanly(result);
    assert.deepEqual(result.out, {
      readonly: true,
      size,
      initial: 'first',
      writeCode: 'ERR_SHM_READONLY',
      ownWriteLocal: 'private',
      ownWordLocal: 123456,
      later: 'second',
      writtenPage: 'ee'.repeat(11),
      closed: true,
    });
    // After the child is gone: the segment is whole and unchanged by it.
    assert.ok(helpers.exists(name));
    if (!WINDOWS) assert.equal(fs.statSync(path.join('/dev/shm', name)).size, size);
    const secondPage = Buffer.alloc(pageSize);
    secondPage.write('parent-late', 200);
    assert.deepEqual(Buffer.from(shm.buf.subarray(pageSize)), secondPage);
    assert.equal(Buffer.from(shm.buf.subarray(0, 6)).toString(), 'second');
    shm.close();
    shm.unlink();
  } finally {
    shm.close();
    ctlShm.close();
    helpers.cleanup(name);
    helpers.cleanup(ctlName);
  }
});

test('serialising (toJSON, name) and re-attaching shares writes both ways', async (t) => {
  const name = helpers.uniqueName('serialise');
  const shm = SharedMemory.create(100, { name });
  t.after(() => {
    shm.close();
    helpers.cleanup(name);
  });

  const json = JSON.stringify(shm);
  assert.deepEqual(JSON.parse(json), { name, size: segSize(100) });

  await t.test('in this process, by toJSON and by name', () => {
    const byJson = SharedMemory.attach(JSON.parse(json).name, JSON.parse(json));
    const byName = SharedMemory.attach(shm.name);
    try {
      assert.equal(byJson.size, segSize(100));
      assert.equal(byName.size, segSize(100));
      shm.buf[0] = 11;
      assert.equal(byJson.buf[0], 11);
      assert.equal(byName.buf[0], 11);
      byJson.buf[1] = 22;
      assert.equal(shm.buf[1], 22);
      assert.equal(byName.buf[1], 22);
      byName.buf[2] = 33;
      assert.equal(shm.buf[2], 33);
      assert.equal(byJson.buf[2], 33);
    } finally {
      byJson.close();
      byName.close();
    }
    assert.equal(shm.buf[1], 22, 'closing a copy leaves the original working');
  });

  await t.test('across processes, through JSON on stdin and back on stdout', async () => {
    shm.buf.set(Buffer.from('parent->child'), 10);
    const result = await helpers.runNode(
      `
      const { SharedMemory } = require('@shmkit/shm');
      let input = '';
      process.stdin.setEncoding('utf8').on('data', (d) => (input += d)).on('end', () => {
        const desc = JSON.parse(input);
        const shm = SharedMemory.attach(desc.name, desc);
        const seen = Buffer.from(shm.buf.subarray(10, 23)).toString();
        shm.buf.set(Buffer.from('child->parent'), 40);
        process.stdout.write(JSON.stringify({ seen, self: shm }) + '\\n');
        shm.close();
      });
      `,
      { input: json, env: { NODE_PATH } },
    );
    assertExitedCleanly(result);
    const out = JSON.parse(result.stdout);
    assert.equal(out.seen, 'parent->child');
    assert.deepEqual(out.self, { name, size: segSize(100) });
    assert.equal(Buffer.from(shm.buf.subarray(40, 53)).toString(), 'child->parent');

    // The child's own serialisation attaches to the same memory.
    const back = SharedMemory.attach(out.self.name);
    try {
      assert.equal(Buffer.from(back.buf.subarray(40, 53)).toString(), 'child->parent');
      back.buf[99] = 0x5a;
      assert.equal(shm.buf[99], 0x5a);
    } finally {
      back.close();
    }
  });

  shm.close();
  shm.unlink();
  assert.throws(() => SharedMemory.attach(JSON.parse(json).name), (e) => assertNoEntry(e, name));
});
