'use strict';
// The `shmkit` command-line tool (bin/shmkit.js → lib/cli/shmkit.ts): ls, rm, gc, usage errors.
// Real processes: creators are child scripts whose trackers publish their
// registries; every CLI run and every creator gets a private TMPDIR, so the
// tracker state files (and so `gc`) only ever see what this file made. Only
// names this file made are asserted about; other segments may exist.
// Windows (verified under Wine): ls by name and size, rm refused, gc with
// nothing to collect; what needs the tracker or /dev/shm skips with its reason.
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const helpers = require('./helpers');
const { pidAlive: alive, pollUntil } = require('./helpers');
const { SharedMemory } = require('@shmkit/shm');

helpers.checkNoLeaks();

const CLI = path.join(helpers.PACKAGE, 'bin', 'shmkit.js');
const NODE_PATH = path.resolve(helpers.PACKAGE, '..', '..', 'node_modules');
const TMPDIR = fs.mkdtempSync(path.join(os.tmpdir(), 'shmkit-cli-test-'));
const STATE_DIR = path.join(TMPDIR, `shmkit-${os.userInfo().uid}`, 'trackers');
const children = new Set();

after(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  fs.rmSync(TMPDIR, { recursive: true, force: true });
});



function cli(...args) {
  return helpers.run(process.execPath, [CLI, ...args], { env: { TMPDIR, XDG_RUNTIME_DIR: '' } });
}

async function lsJson() {
  const result = await cli('ls', '--json');
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout);
}

async function entry(name) {
  return (await lsJson()).find((s) => s.name === name);
}

/** A child that creates `name` (tracked) of `size` bytes, reports its tracker's pid and waits. */
function startCreator(name, size) {
  const child = spawn(
    process.execPath,
    [
      '-e',
      `
      const { SharedMemory } = require('@shmkit/shm');
      const tracker = require(${JSON.stringify(path.join(helpers.PACKAGE, 'dist', 'lifecycle', 'tracker.js'))});
      SharedMemory.create(${size}, { name: ${JSON.stringify(name)}, track: true });
      process.stdout.write(JSON.stringify({ tracker: tracker.trackerPid() }) + '\\n');
      setInterval(() => {}, 1000);
      `,
    ],
    { cwd: helpers.PACKAGE, env: { ...process.env, NODE_PATH, TMPDIR, XDG_RUNTIME_DIR: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  const closed = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stderr })));
  const first = new Promise((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (d) => {
      stdout += d;
      if (stdout.includes('\n')) resolve(JSON.parse(stdout.slice(0, stdout.indexOf('\n'))));
    });
    closed.then((r) => reject(new Error(`creator ended (code ${r.code}, signal ${r.signal})\n${r.stderr}`)));
  });
  return { child, closed, first };
}

test('ls --json lists a tracked segment with its size and its live creator; the table shows it too', helpers.notOnWindows('the owner column comes from the crash tracker, which Windows has no need of (the twin below lists by name and size)'), async () => {
  const name = helpers.uniqueName('cli-ls');
  const creator = startCreator(name, 12345);
  const { tracker } = await creator.first;
  assert.equal(typeof tracker, 'number');
  // The tracker publishes its registry shortly after the REGISTER line.
  await pollUntil(async () => (await entry(name))?.tracked === true, 'the segment to show as tracked');
  const seg = await entry(name);
  assert.equal(seg.size, 12345);
  assert.equal(seg.ownerPid, creator.child.pid);
  assert.equal(seg.ownerAlive, true);
  assert.equal(seg.trackerPid, tracker);
  assert.equal(seg.trackerAlive, true);
  assert.equal(typeof seg.mtime, 'string');
  assert.ok(Number.isInteger(seg.ageSeconds) && seg.ageSeconds >= 0);
  assert.ok(fs.existsSync(path.join(STATE_DIR, `${tracker}.json`)));

  const human = await cli('ls');
  assert.equal(human.code, 0, human.stderr);
  const row = human.stdout.split('\n').find((line) => line.startsWith(name + ' '));
  assert.ok(row && row.includes(String(creator.child.pid)), human.stdout);

  // An untracked segment is listed as such.
  const plain = helpers.uniqueName('cli-ls-plain');
  const shm = SharedMemory.create(64, { name: plain, track: false });
  try {
    const p = await entry(plain);
    assert.equal(p.tracked, false);
    assert.equal(p.ownerPid, null);
    assert.equal(p.size, 64);
  } finally {
    shm.close();
    shm.unlink();
  }

  // The creator dies: its tracker unlinks the segment and removes its state file.
  creator.child.kill('SIGKILL');
  await creator.closed;
  await pollUntil(() => !helpers.exists(name), 'the tracker to unlink the segment');
  await pollUntil(() => !alive(tracker), 'the tracker to exit');
  assert.ok(!fs.existsSync(path.join(STATE_DIR, `${tracker}.json`)), 'the state file is removed');
  assert.equal(await entry(name), undefined);
});

test('rm unlinks the named segments; a missing name fails the run but the others are still removed', helpers.notOnWindows('no name can be removed there (the twin below: rm is refused)'), async () => {
  const a = helpers.uniqueName('cli-rm-a');
  const b = helpers.uniqueName('cli-rm-b');
  const missing = helpers.uniqueName('cli-rm-missing');
  for (const name of [a, b]) SharedMemory.create(8, { name, track: false }).close();
  try {
    const one = await cli('rm', a);
    assert.equal(one.code, 0, one.stderr);
    assert.ok(!helpers.exists(a));

    SharedMemory.create(8, { name: a, track: false }).close();
    const result = await cli('rm', '--json', a, missing, b);
    assert.equal(result.code, 1);
    assert.ok(result.stderr.length > 0);
    assert.ok(!helpers.exists(a) && !helpers.exists(b), 'the others were removed');
    assert.deepEqual(
      JSON.parse(result.stdout).map((r) => [r.name, r.removed, r.error]),
      [
        [a, true, null],
        [missing, false, 'ENOENT'],
        [b, true, null],
      ],
    );
  } finally {
    helpers.cleanup(a);
    helpers.cleanup(b);
  }
});

test('gc unlinks a tracked segment whose tracker and then creator were SIGKILLed (after --dry-run shows it)', helpers.notOnWindows('no tracker there; the twin below: gc has nothing to collect'), async () => {
  const name = helpers.uniqueName('cli-gc');
  try {
    const creator = startCreator(name, 4096);
    const { tracker } = await creator.first;
    await pollUntil(async () => (await entry(name))?.tracked === true, 'the segment to show as tracked');
    process.kill(tracker, 'SIGKILL');
    await pollUntil(() => !alive(tracker), 'the tracker to die');
    creator.child.kill('SIGKILL');
    const result = await creator.closed;
    assert.equal(result.signal, 'SIGKILL');
    assert.ok(helpers.exists(name), 'nothing cleaned up after the creator');

    const seg = await entry(name);
    assert.equal(seg.tracked, true);
    assert.equal(seg.ownerPid, creator.child.pid);
    assert.equal(seg.ownerAlive, false);
    assert.equal(seg.trackerAlive, false);

    const dry = await cli('gc', '--dry-run', '--json');
    assert.equal(dry.code, 0, dry.stderr);
    const planned = JSON.parse(dry.stdout);
    assert.equal(planned.dryRun, true);
    assert.deepEqual(
      planned.segments.filter((s) => s.name === name).map((s) => [s.ownerPid, s.trackerPid, s.removed]),
      [[creator.child.pid, tracker, false]],
    );
    assert.ok(planned.stateFiles.some((f) => f.trackerPid === tracker));
    assert.ok(helpers.exists(name), '--dry-run changes nothing');
    assert.ok(fs.existsSync(path.join(STATE_DIR, `${tracker}.json`)));

    const human = await cli('gc', '--dry-run');
    assert.equal(human.code, 0, human.stderr);
    assert.ok(human.stdout.includes(name));

    const done = await cli('gc', '--json');
    assert.equal(done.code, 0, done.stderr);
    const collected = JSON.parse(done.stdout);
    assert.deepEqual(
      collected.segments.filter((s) => s.name === name).map((s) => s.removed),
      [true],
    );
    assert.ok(!helpers.exists(name), 'gc unlinked it');
    assert.ok(!fs.existsSync(path.join(STATE_DIR, `${tracker}.json`)), 'the stale state file is gone');

    const again = await cli('gc', '--json');
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(JSON.parse(again.stdout).segments, []);
  } finally {
    helpers.cleanup(name);
  }
});

test('gc leaves a segment whose creator is alive even if its tracker was killed', helpers.notOnWindows('no tracker there'), async () => {
  const name = helpers.uniqueName('cli-gc-live');
  const creator = startCreator(name, 64);
  try {
    const { tracker } = await creator.first;
    await pollUntil(async () => (await entry(name))?.tracked === true, 'the segment to show as tracked');
    process.kill(tracker, 'SIGKILL');
    await pollUntil(() => !alive(tracker), 'the tracker to die');
    const done = await cli('gc', '--json');
    assert.equal(done.code, 0, done.stderr);
    assert.ok(!JSON.parse(done.stdout).segments.some((s) => s.name === name));
    assert.ok(helpers.exists(name), 'the live creator keeps its segment');
  } finally {
    creator.child.kill('SIGKILL');
    await creator.closed;
    helpers.cleanup(name);
    // Its state file is stale now; collect it (the segment is gone, so nothing else happens).
    await cli('gc');
  }
});

test('usage errors exit 2; --help exits 0', async () => {
  for (const args of [
    [],
    ['frob'],
    ['ls', '--frob'],
    ['ls', 'extra'],
    ['rm'],
    ['rm', 'a/b'],
    ['rm', ''],
    ['ls', '--dry-run'],
  ]) {
    const result = await cli(...args);
    assert.equal(result.code, 2, `shmkit ${args.join(' ')}`);
    assert.ok(result.stderr.length > 0);
    assert.equal(result.stdout, '');
  }
  const help = await cli('--help');
  assert.equal(help.code, 0);
  assert.ok(help.stdout.length > 0);
});

test('the built CLI starts with a shebang and is the package bin', () => {
  assert.ok(fs.readFileSync(CLI, 'utf8').startsWith('#!/usr/bin/env node\n'));
  const pkg = require('../package.json');
  assert.equal(pkg.bin.shmkit, 'bin/shmkit.js');
});

test('ls escapes control characters of names in the table (the JSON keeps them, escaped by JSON)', helpers.notOnWindows('it plants a name in /dev/shm'), async () => {
  // Any user can make such a name in /dev/shm; shmkit itself refuses them.
  const name = helpers.remember(`${helpers.uniqueName('cli-esc')}-\x1b]0;pwned\x07\x1b[2J\t\u00e9`);
  fs.writeFileSync(path.join('/dev/shm', name), 'x');
  try {
    const human = await cli('ls');
    assert.equal(human.code, 0, human.stderr);
    assert.ok(!/[\x00-\x08\x0b-\x1f\x7f-\x9f]/.test(human.stdout), `raw control characters in ${JSON.stringify(human.stdout)}`);
    assert.ok(human.stdout.includes('\\x1b]0;pwned\\x07\\x1b[2J\\t'), human.stdout);
    const json = (await lsJson()).find((s) => s.name === name);
    assert.ok(json, 'the JSON has the exact name');
  } finally {
    helpers.cleanup(name);
  }
});

test('gc removes the socket or FIFO of a SIGKILLed tracker', helpers.notOnWindows('no tracker there'), async () => {
  const name = helpers.uniqueName('cli-gc-channel');
  try {
    const creator = startCreator(name, 64);
    const { tracker } = await creator.first;
    await pollUntil(async () => (await entry(name))?.tracked === true, 'the segment to show as tracked');
    const channels = () => fs.readdirSync(STATE_DIR).filter((f) => f.includes(String(tracker)) && !f.endsWith('.json'));
    await pollUntil(() => channels().length > 0, "the tracker's socket or FIFO");
    process.kill(tracker, 'SIGKILL');
    await pollUntil(() => !alive(tracker), 'the tracker to die');
    creator.child.kill('SIGKILL');
    await creator.closed;
    assert.ok(channels().length > 0, 'a SIGKILLed tracker leaves its channel');
    const done = await cli('gc', '--json');
    assert.equal(done.code, 0, done.stderr);
    assert.deepEqual(channels(), [], 'gc removed it');
    assert.ok(!helpers.exists(name));
  } finally {
    helpers.cleanup(name);
  }
});

/** A TMPDIR whose shmkit state directory another user (nobody) made first, world-writable. */
function plantedTmpdir() {
  const tmp = fs.mkdtempSync(path.join(TMPDIR, 'planted-'));
  const base = path.join(tmp, `shmkit-${os.userInfo().uid}`);
  const trackers = path.join(base, 'trackers');
  fs.mkdirSync(trackers, { recursive: true });
  for (const d of [base, trackers]) {
    fs.chmodSync(d, 0o777);
    fs.chownSync(d, 65534, 65534);
  }
  return { tmp, base, trackers };
}

test("gc refuses a state directory another user made (a planted state file cannot make it unlink a live segment)", helpers.notOnWindows('no tracker state there'), async () => {
  const name = helpers.uniqueName('cli-planted');
  const shm = SharedMemory.create(64, { name, track: false });
  try {
    const { tmp, base, trackers } = plantedTmpdir();
    // Dead pids: a tracker and a creator that never existed.
    const state = { creatorPid: 999999, trackerPid: 999998, names: [name], owners: { [name]: 999999 }, updated: Date.now() };
    fs.writeFileSync(path.join(trackers, '999998.json'), JSON.stringify(state));
    const result = await helpers.run(process.execPath, [CLI, 'gc', '--json'], { env: { TMPDIR: tmp, XDG_RUNTIME_DIR: '' } });
    assert.ok(helpers.exists(name), 'the live segment survives');
    assert.equal(result.code, 1, result.stdout);
    assert.ok(result.stderr.includes('ERR_SHM_UNSAFE_DIRECTORY') && result.stderr.includes(base), result.stderr);
    const ls = await helpers.run(process.execPath, [CLI, 'ls', '--json'], { env: { TMPDIR: tmp, XDG_RUNTIME_DIR: '' } });
    assert.equal(ls.code, 1);
    assert.ok(ls.stderr.includes('ERR_SHM_UNSAFE_DIRECTORY'), ls.stderr);
  } finally {
    shm.close();
    helpers.cleanup(name);
  }
});

test('state files are untrusted input: malformed ones, bad names and symlinks are ignored', helpers.notOnWindows('no tracker state there'), async () => {
  const name = helpers.uniqueName('cli-badstate');
  const shm = SharedMemory.create(64, { name, track: false });
  const victim = path.join(TMPDIR, 'victim.json');
  try {
    fs.mkdirSync(STATE_DIR, { recursive: true, mode: 0o700 });
    const dead = { creatorPid: 999999, trackerPid: 999997, updated: Date.now() };
    fs.writeFileSync(victim, JSON.stringify({ ...dead, names: [name], owners: { [name]: 999999 } }));
    fs.symlinkSync(victim, path.join(STATE_DIR, '999997.json'));
    fs.writeFileSync(path.join(STATE_DIR, '999996.json'), JSON.stringify({ ...dead, trackerPid: 999996, names: ['../x', name], owners: { '../x': 1 } }));
    fs.writeFileSync(path.join(STATE_DIR, '999995.json'), '{"creatorPid":');
    const result = await cli('gc', '--json');
    assert.ok(helpers.exists(name), 'no segment unlinked on the word of a symlinked or malformed state file');
    assert.ok(fs.existsSync(victim), 'the symlink target is untouched');
  } finally {
    shm.close();
    helpers.cleanup(name);
    for (const f of ['999997.json', '999996.json', '999995.json']) fs.rmSync(path.join(STATE_DIR, f), { force: true });
  }
});

test('Windows: ls lists a segment another process holds, by name and size (no owner, no age); rm is refused with exit 2; gc has nothing to collect', { skip: !helpers.WINDOWS && 'Windows only (the Linux forms are the tests above)' }, async () => {
  const name = helpers.uniqueName('cli-win');
  const creator = helpers.startScript(
    `const { SharedMemory } = require('@shmkit/shm');
    SharedMemory.create(5000, { name: ${JSON.stringify(name)} });
    process.stdout.write('{}\\n');
    setInterval(() => {}, 1000);`,
    { env: { ...process.env, NODE_PATH } },
  );
  try {
    await creator.line();
    const listed = await cli('ls', '--json');
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stderr, /Windows records no creator and no age/, 'it says what it cannot list');
    const entry = JSON.parse(listed.stdout).find((s) => s.name === name);
    assert.deepEqual(entry, {
      name, size: 8192, mtime: null, ageSeconds: null,
      tracked: false, ownerPid: null, ownerAlive: null, trackerPid: null, trackerAlive: null,
    }, 'whole pages, nothing Windows does not record');
    const human = await cli('ls');
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /^NAME +SIZE\n/);
    assert.match(human.stdout, new RegExp(`^${name} +8\\.0 KiB$`, 'm'));
    assert.ok(!JSON.parse(listed.stdout).some((s) => s.name.startsWith('shmkit_wq_')), "shmkit's waiter tables are not segments");

    const rm = await cli('rm', name);
    assert.equal(rm.code, 2, 'unsupported there');
    assert.match(rm.stderr, /no segment can be removed on Windows/);
    assert.ok(helpers.exists(name), 'still there');
    for (const args of [['gc'], ['gc', '--json'], ['gc', '--dry-run']]) {
      const gc = await cli(...args);
      assert.equal(gc.code, 0, gc.stderr);
      if (args[1] === '--json') assert.deepEqual(JSON.parse(gc.stdout), { dryRun: false, segments: [], stateFiles: [], channels: [] });
      else assert.match(gc.stdout, /nothing to collect/);
    }
  } finally {
    creator.child.kill();
    await creator.closed;
  }
  await pollUntil(() => !helpers.exists(name), 'the segment to go with its creator');
});
