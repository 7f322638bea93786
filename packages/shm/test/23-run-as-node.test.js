'use strict';
// The tracker and the manager's server are `process.execPath` run as Node
// (ELECTRON_RUN_AS_NODE=1). A packaged Electron app that disabled the
// RunAsNode fuse would start a copy of itself instead (issue 16 item 11):
// inside Electron the fuse is read before spawning; everywhere, a helper that
// does not greet its spawner in time is killed with its process group, and
// the spawner falls back (crash cleanup: only at a normal exit; the manager:
// a coded error). Fake "apps" stand in for such a binary: scripts that record
// that they started and then sleep, ignoring ELECTRON_RUN_AS_NODE.
const { test, describe, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const helpers = require('./helpers');
const { pidAlive: alive, pollUntil } = require('./helpers');
const helper = require('../dist/lifecycle/helper-process.js');

helpers.checkNoLeaks();

const NODE_PATH = path.resolve(helpers.PACKAGE, '..', '..', 'node_modules');
const HELPER = path.join(helpers.PACKAGE, 'dist', 'lifecycle', 'helper-process.js');
const SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'shmkit-fuse-'));
after(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** A file of `before` filler bytes, the sentinel, then `wire` (version, length, fuses), then `afterBytes` more. */
function craft(name, { before = 1000, wire = [1, 3, 0x31, 0x30, 0x31], afterBytes = 1000, sentinel = SENTINEL } = {}) {
  const file = path.join(scratch, name);
  fs.writeFileSync(
    file,
    Buffer.concat([Buffer.alloc(before, 0x41), Buffer.from(sentinel, 'latin1'), Buffer.from(wire), Buffer.alloc(afterBytes, 0x42)]),
  );
  return file;
}

describe('the RunAsNode fuse, read from the binary as @electron/fuses writes it', () => {
  test('enabled, disabled, removed; another wire version is unknown', () => {
    assert.equal(helper.readRunAsNodeFuse(craft('enabled', { wire: [1, 2, 0x31, 0x30] })), 'enabled');
    assert.equal(helper.readRunAsNodeFuse(craft('disabled', { wire: [1, 2, 0x30, 0x31] })), 'disabled');
    assert.equal(helper.readRunAsNodeFuse(craft('removed', { wire: [1, 1, 0x72] })), 'removed');
    assert.equal(helper.readRunAsNodeFuse(craft('v2', { wire: [2, 1, 0x30] })), 'unknown');
    assert.equal(helper.readRunAsNodeFuse(craft('empty-wire', { wire: [1, 0] })), 'unknown');
    assert.equal(helper.readRunAsNodeFuse(craft('cut', { wire: [], afterBytes: 0 })), 'unknown', 'the wire is cut off by the end of the file');
  });

  test('no sentinel (not Electron, or older than 12): undefined; a near miss is no sentinel', () => {
    assert.equal(helper.readRunAsNodeFuse(craft('none', { sentinel: '' })), undefined);
    assert.equal(helper.readRunAsNodeFuse(craft('near', { sentinel: SENTINEL.slice(0, -1) + 'Y' })), undefined);
    assert.equal(helper.readRunAsNodeFuse(process.execPath), undefined, 'node itself has no fuse wire');
    assert.throws(() => helper.readRunAsNodeFuse(path.join(scratch, 'missing')), { code: 'ENOENT' });
  });

  test('a sentinel split across two chunks, at every split point, and the first of two', () => {
    const chunk = 64;
    for (let split = 1; split < SENTINEL.length; split++) {
      const file = craft(`split-${split}`, { before: chunk * 3 - split, wire: [1, 1, 0x30] });
      assert.equal(helper.readRunAsNodeFuse(file, chunk), 'disabled', `split after ${split} bytes`);
    }
    assert.equal(helper.readRunAsNodeFuse(craft('at-end', { before: chunk * 2 - SENTINEL.length, wire: [1, 1, 0x30] }), chunk), 'disabled');
    // A universal macOS binary has one wire per slice: the first is read, as @electron/fuses reads it.
    const two = path.join(scratch, 'two');
    fs.writeFileSync(two, Buffer.concat([fs.readFileSync(craft('first', { wire: [1, 1, 0x30] })), fs.readFileSync(craft('second', { wire: [1, 1, 0x31] }))]));
    assert.equal(helper.readRunAsNodeFuse(two, chunk), 'disabled');
  });

  test('where the wire is: the executable, or on macOS the app bundle\'s Electron Framework (helpers included)', () => {
    assert.equal(helper.fuseFile('/opt/App/app', 'linux'), '/opt/App/app');
    const framework = '/Applications/My App.app/Contents/Frameworks/Electron Framework.framework/Electron Framework';
    assert.equal(helper.fuseFile('/Applications/My App.app/Contents/MacOS/My App', 'darwin'), framework);
    assert.equal(
      helper.fuseFile('/Applications/My App.app/Contents/Frameworks/My App Helper.app/Contents/MacOS/My App Helper', 'darwin'),
      framework,
    );
    assert.equal(helper.fuseFile('/usr/local/bin/electron', 'darwin'), '/usr/local/bin/electron');
  });
});

/**
 * A fake app: ignores ELECTRON_RUN_AS_NODE, writes its pid to `log` when it
 * starts, and sleeps. `prefix` goes at the top of the file (a fuse wire).
 */
function fakeApp(name, prefix = '') {
  const log = path.join(scratch, `${name}.log`);
  const file = path.join(scratch, name);
  fs.writeFileSync(file, `#!/bin/sh\n# ${prefix}\necho $$ >> '${log}'\nexec sleep 600\n`, { mode: 0o755 });
  return { file, log, started: () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean).map(Number) : []) };
}

const PRELUDE = `
'use strict';
const fs = require('node:fs');
const { SharedMemory, SharedMemoryManager } = require('@shmkit/shm');
const helper = require(${JSON.stringify(HELPER)});
const V = JSON.parse(process.env.SHMKIT_TEST_VARS);
const codes = [];
process.on('warning', (w) => codes.push([w.code, w.message]));
function report(value) { process.stdout.write(JSON.stringify(value) + '\\n'); }
async function managerStart() {
  const m = new SharedMemoryManager();
  try {
    await m.start();
    return { started: m.pid };
  } catch (error) {
    return { code: error.code, message: error.message, running: m.running };
  }
}
`;

/** A child script (its own process tree: no inherited tracker). */
function startChild(body, vars) {
  const env = { ...process.env, NODE_PATH, SHMKIT_TEST_VARS: JSON.stringify(vars) };
  delete env.SHMKIT_TRACKER_SOCKET;
  return helpers.startScript(PRELUDE + body, { env });
}

describe('a process.execPath that does not run as Node', helpers.notOnWindows('the fake app is a shell script, and the tracker these tests watch does not exist there (the greeting code is the same on every platform)'), () => {
  test('the tracker: the create works, the fake app is killed after no greeting, one warning, cleanup at the normal exit', async () => {
    const app = fakeApp('fake-tracker');
    const name = helpers.uniqueName('fake-tracker');
    const handle = startChild(
      `
      helper.greeting.timeoutMs = 1000;
      process.execPath = V.app;
      const shm = SharedMemory.create(64, { name: V.name });
      shm.buf[0] = 7;
      const until = Date.now() + 30000;
      const timer = setInterval(() => {
        if (codes.length === 0 && Date.now() < until) return;
        clearInterval(timer);
        const again = SharedMemory.create(64, { name: V.name + '-2' }); // no second spawn: one warning
        again.close();
        setTimeout(() => {
          report({ codes, track: shm.track, byte: shm.buf[0], socket: process.env.SHMKIT_TRACKER_SOCKET ?? null });
          // exits without unlinking either segment
        }, 100);
      }, 20);
      `,
      { app: app.file, name },
    );
    helpers.remember(`${name}-2`);
    const out = await handle.line();
    assert.equal(out.codes.length, 1, JSON.stringify(out.codes));
    const [code, message] = out.codes[0];
    assert.equal(code, 'SHMKIT_TRACKER_UNAVAILABLE');
    for (const fact of ['RunAsNode', app.file, 'said nothing within 1000 ms']) assert.ok(message.includes(fact), message);
    assert.deepEqual([out.track, out.byte, out.socket], [true, 7, null]);
    const result = await handle.closed;
    assert.equal(result.code, 0, result.stderr);
    assert.equal(app.started().length, 1, 'the fake app was started once (the handshake caught it, not the fuse)');
    await pollUntil(() => !alive(app.started()[0]), 'the fake app to be killed');
    assert.ok(!helpers.exists(name) && !helpers.exists(`${name}-2`), 'unlinked in-process at the normal exit');
    assert.ok(result.stderr.includes('SHMKIT_TRACKER_LEAKED'), result.stderr);
  });

  test('a process that exits before the greeting was due still kills what it spawned', async () => {
    const app = fakeApp('fake-exit');
    const name = helpers.uniqueName('fake-exit');
    const handle = startChild(
      `
      process.execPath = V.app;
      SharedMemory.create(64, { name: V.name }); // then exit at once
      `,
      { app: app.file, name },
    );
    const result = await handle.exited; // (not closed: a fake app left alive would hold its stderr)
    assert.equal(result.code, 0, handle.stderr);
    await pollUntil(() => app.started().length === 1, 'the fake app to have started');
    await pollUntil(() => !alive(app.started()[0]), 'the fake app to be killed');
    assert.ok(!helpers.exists(name));
  });

  test('the manager: start() rejects with ETIMEDOUT naming the fuse, and the fake app is killed', async () => {
    const app = fakeApp('fake-manager');
    const handle = startChild(
      `
      helper.greeting.timeoutMs = 1000;
      process.execPath = V.app;
      managerStart().then(report);
      `,
      { app: app.file },
    );
    const out = await handle.line();
    assert.equal(out.code, 'ETIMEDOUT');
    assert.equal(out.running, false);
    assert.ok(out.message.includes('RunAsNode'), out.message);
    assert.equal((await handle.closed).code, 0);
    assert.equal(app.started().length, 1);
    await pollUntil(() => !alive(app.started()[0]), 'the fake app to be killed');
  });

  test('inside Electron with the fuse disabled: nothing is spawned; the tracker warns at once, the manager refuses', async () => {
    // An "Electron binary" whose fuse wire says RunAsNode disabled ('0'), then 'r' for the next fuse.
    const app = fakeApp('fake-electron', `${SENTINEL}\x01\x020r`);
    assert.equal(helper.readRunAsNodeFuse(app.file), 'disabled');
    const name = helpers.uniqueName('fuse-off');
    const handle = startChild(
      `
      Object.defineProperty(process, 'versions', { value: { ...process.versions, electron: '99.0.0' } });
      process.execPath = V.app;
      const shm = SharedMemory.create(64, { name: V.name });
      setImmediate(async () => {
        const tracked = codes.slice();
        report({ tracked, track: shm.track, manager: await managerStart() });
        shm.unlink();
      });
      `,
      { app: app.file, name },
    );
    const out = await handle.line();
    assert.equal(out.tracked.length, 1, JSON.stringify(out.tracked));
    assert.equal(out.tracked[0][0], 'SHMKIT_TRACKER_UNAVAILABLE');
    assert.ok(out.tracked[0][1].includes(`the RunAsNode fuse of ${app.file} is disabled`), out.tracked[0][1]);
    assert.equal(out.track, true);
    assert.equal(out.manager.code, 'ERR_SHM_RUN_AS_NODE_DISABLED');
    assert.ok(out.manager.message.includes('RunAsNode'), out.manager.message);
    assert.equal((await handle.closed).code, 0);
    assert.deepEqual(app.started(), [], 'the app was never started');
  });

  test('inside Electron, a binary whose fuse is not disabled (here node itself, which has no wire): the tracker and the manager start as before', async () => {
    const name = helpers.uniqueName('fuse-on');
    const handle = startChild(
      `
      Object.defineProperty(process, 'versions', { value: { ...process.versions, electron: '99.0.0' } });
      const tracker = require(V.tracker);
      const shm = SharedMemory.create(64, { name: V.name });
      const timer = setInterval(async () => {
        if (!tracker.trackerConfirmed()) return; // the tracker has greeted
        clearInterval(timer);
        const manager = await managerStart();
        report({ codes, manager: typeof manager.started });
        shm.unlink();
        process.exit(0);
      }, 10);
      `,
      { name, tracker: path.join(helpers.PACKAGE, 'dist', 'lifecycle', 'tracker.js') },
    );
    const out = await handle.line();
    assert.deepEqual(out, { codes: [], manager: 'number' });
    assert.equal((await handle.closed).code, 0);
  });
});
