'use strict';
// One source for every figure: each README line that quotes a benchmark figure carries the key of a
// headline of bench/RESULTS.md (`<!-- h:KEY -->`) and says exactly what that headline says (copied by
// bench/headlines.js). A figure typed by hand, or left behind by a new run, fails here.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { headlines, sync, QUOTING, ROOT } = require('../headlines');

test('every README quotes bench/RESULTS.md headlines exactly, and only existing ones', () => {
  const map = headlines();
  assert.ok(map.size > 0, 'bench/RESULTS.md has a Headlines list');
  let quoted = 0;
  for (const rel of QUOTING) {
    const before = fs.readFileSync(path.join(ROOT, rel), 'utf8');
    const { text, missing } = sync(before, map);
    assert.deepEqual(missing, [], `${rel} quotes headlines bench/RESULTS.md lacks`);
    assert.equal(text, before, `${rel}: a quoted figure differs from bench/RESULTS.md (node bench/headlines.js updates it)`);
    quoted += (before.match(/<!-- h:/g) ?? []).length;
  }
  assert.ok(quoted >= 4, `the READMEs quote the headlines (${quoted} found)`);
});

test('no README states a benchmark ratio or latency outside a quoted headline', () => {
  // figures of the kind the bench produces: "1.9× faster", "0.44 ms (p50)", "at 597 ms"
  const figure = /\d(\.\d+)?× (faster|as long|slower|lower)|\d+(\.\d+)? ms \(p50\)|\bp50\b.*\d+(\.\d+)? ms/;
  for (const rel of QUOTING) {
    const lines = fs.readFileSync(path.join(ROOT, rel), 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (line.includes('<!-- h:')) return;
      assert.doesNotMatch(line, figure, `${rel}:${i + 1} states a bench figure by hand: quote a headline instead`);
    });
  }
});
