'use strict';
// The runnable examples in packages/shm/examples, run as a user runs them:
// each must exit 0, print nothing on stderr and leave no segment behind
// (test/recorded-run.js records what every process it starts creates). The
// demo's "Python can attach too" line is run, on python3 and on CPython 3.13+
// when installed, while the demo waits.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const helpers = require('./helpers');
const { runRecorded, startRecorded, assertCleanRun } = require('./recorded-run');

helpers.checkNoLeaks();

const EXAMPLES = path.join(helpers.PACKAGE, 'examples');

test('wait-notify.js: two processes wake each other', async () => {
  const result = await runRecorded([path.join(EXAMPLES, 'wait-notify.js')]);
  assertCleanRun(result, 'wait-notify.js');
  assert.equal(result.created.length, 1);
  assert.match(result.stdout, /\[waiter +\d+\] woke up: word 0 is 1/);
  assert.match(result.stdout, /\[notifier +\d+\] woke up: the waiter \(pid \d+\) answered/);
});

test('frame-ring-writer.js starts frame-ring-reader.js, which reads frames until the writer closes', async () => {
  const result = await runRecorded([path.join(EXAMPLES, 'frame-ring-writer.js'), '20']);
  assertCleanRun(result, 'frame-ring-writer.js');
  assert.equal(result.created.length, 1);
  const summary = /the writer closed the ring: (\d+) frames read \(last #(\d+)\)/.exec(result.stdout);
  assert.ok(summary, result.stdout);
  assert.ok(Number(summary[1]) >= 1);
  assert.equal(Number(summary[2]), 19, 'the last frame published is the last one read');
});

test('manager.mjs (ESM): a client process creates through the owner\'s manager; shutdown unlinks both', async () => {
  const result = await runRecorded([path.join(EXAMPLES, 'manager.mjs')]);
  assertCleanRun(result, 'manager.mjs');
  assert.equal(result.created.length, 2, 'one segment by the owner, one by the client');
  assert.match(result.stdout, /now says "hello back from \d+"/);
  const generated = `${helpers.GENERATED}[0-9a-f]{8}`;
  assert.match(result.stdout, new RegExp(`the manager manages: ${generated}, ${generated}\n`));
});

test('the demo does not wait when stdin is not a terminal, and prints a python3 line', async () => {
  const result = await runRecorded([path.join(EXAMPLES, 'demo.js')]); // stdin: an ended pipe
  assertCleanRun(result, 'demo.js');
  assert.match(result.stdout, /^python3 -c "/m);
  assert.doesNotMatch(result.stdout, /press Enter/);
});

test('with --wait the demo keeps the segment until Enter, and its python3 line works (python3, and 3.13 when installed)', { timeout: 60_000, ...helpers.notOnWindows('it runs the python3 line with sh; no Windows CPython here') }, async () => {
  const demo = startRecorded([path.join(EXAMPLES, 'demo.js'), '--wait']);
  try {
    const command = await demo.line(/^python3 -c "/);
    await demo.line(/press Enter/);
    const name = /SharedMemory\('(psm_[0-9a-f]{8})'/.exec(command)[1];
    const python313 = helpers.findPython313();
    for (const python of ['python3', ...(python313 ? [python313] : [])]) {
      const run = await helpers.run('sh', ['-c', python + command.slice('python3'.length)]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stderr, '', `${python}: no resource-tracker warning`);
      assert.match(run.stdout, /^python reads: hello back from pid \d+; the counter is now 42$/m);
      assert.ok(helpers.exists(name), `${python} left the demo's segment in place`);
    }
    demo.child.stdin.end('\n');
    const result = await demo.finish();
    assertCleanRun(result, 'demo.js --wait');
    assert.deepEqual(result.created, [name]);
  } finally {
    await demo.kill();
  }
});
