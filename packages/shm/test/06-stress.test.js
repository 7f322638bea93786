'use strict';
// Runs the stress program (test/stress/stress.js) in --quick mode once per
// buffer strategy, as a real child process: a crash (SIGSEGV), corruption of a
// segment or of ordinary heap memory, a leaked mapping or a leaked segment all
// show up as a non-zero exit and a FAIL summary. The names the program created
// come back through its journal and are checked gone by checkNoLeaks().
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { test } = require('node:test');
const { PACKAGE, RUN_PREFIX, checkNoLeaks, remember, run, notOnWindows } = require('./helpers');

checkNoLeaks();

const STRESS = path.join(PACKAGE, 'test', 'stress', 'stress.js');
const SUMMARY = /^stress summary: (OK|FAIL) .*$/m;

for (const strategy of ['auto', 'external', 'overlay', 'copy']) {
  // The stress program's cycles unlink names while they are mapped and re-create them at once, and
  // pair every strategy with overlay attachments: POSIX lifetimes and strategies. Windows keeps a name
  // while it is mapped (EEXIST on re-create) and has no overlay; its lifetime is tested in 25-windows.
  test(`stress --quick --transfer --strategy ${strategy}: no corruption, no crash, no leak`, notOnWindows('its cycles unlink and re-create names while mapped, and use overlay attachments (POSIX semantics; Windows lifetime: 25-windows)'), async () => {
    const journal = path.join(os.tmpdir(), `shmkit-06-stress-${process.pid}-${strategy}.journal`);
    const prefix = `${RUN_PREFIX}${process.pid}-stress-${strategy}-`;
    let result;
    try {
      result = await run(
        process.execPath,
        // --transfer: also try every way Node can detach or move a buffer.
        ['--expose-gc', STRESS, '--quick', '--transfer', '--strategy', strategy, '--journal', journal, '--prefix', prefix],
        { timeout: 120_000 },
      );
    } finally {
      // Every name the program made (it journals them before creating them).
      if (fs.existsSync(journal)) {
        for (const name of fs.readFileSync(journal, 'utf8').split('\n').filter(Boolean)) remember(name);
        fs.rmSync(journal, { force: true });
      }
    }
    const output = `--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
    const summary = result.stdout.match(SUMMARY);
    assert.ok(summary, `no summary line\n${output}`);
    assert.equal(result.signal, null, `stress program killed by ${result.signal}\n${output}`);
    assert.equal(result.code, 0, `stress program exited ${result.code}: ${summary[0]}\n${output}`);
    assert.equal(summary[1], 'OK', output);
    assert.match(summary[0], / failures=0 /);
    assert.match(summary[0], new RegExp(` strategies=${strategy}:\\d+ `));
    const cycles = Number(summary[0].match(/ cycles=(\d+) /)[1]);
    assert.ok(cycles >= 100, `only ${cycles} cycles ran\n${output}`);
    assert.match(result.stdout, new RegExp(`^\\[${strategy}\\] batch 1/`, 'm'), 'one progress line per batch');
  });
}
