'use strict';
// The bench harness runs on its tiny preset and writes well-formed results.
// It checks shapes, never speeds: timing goals belong in the results page.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const RUN = path.join(__dirname, '..', 'run.js');
const SUITES = ['frames', 'lifecycle', 'pagefault', 'wakeup', 'memory', 'mappings', 'bridge', 'pages', 'python'];

function runBench(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [RUN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

test('bench --tiny runs every suite and writes results.json, RESULTS.md and latency.svg', async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'shmkit-bench-test-'));
  const before = new Set(fs.readdirSync('/dev/shm'));
  try {
    const result = await runBench(['--tiny', '--out', out]);
    assert.equal(result.code, 0, result.stderr);
    for (const id of SUITES) assert.match(result.stderr, new RegExp(`\\[\\d/${SUITES.length} ${id}\\]`), `progress for ${id}`);

    const json = JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8'));
    assert.equal(json.schema, 1);
    assert.equal(json.preset, 'tiny');
    assert.ok(!Number.isNaN(Date.parse(json.date)));
    assert.equal(typeof json.machine.cores, 'number');
    assert.match(json.versions.node, /^v\d+/);
    assert.equal(typeof json.versions.python, 'string');
    assert.deepEqual(json.suites.map((s) => s.id), SUITES);
    for (const suite of json.suites) {
      assert.equal(suite.error, undefined, `${suite.id} failed: ${suite.error}`);
      assert.equal(typeof suite.title, 'string');
      assert.ok(suite.markdown.includes('|'), `${suite.id} has a table`);
      assert.ok(suite.data && typeof suite.data === 'object', `${suite.id} has data`);
      assert.ok(Array.isArray(suite.goals));
      for (const g of suite.goals) {
        assert.equal(typeof g.goal, 'string');
        assert.ok(g.met === true || g.met === false || g.met === null, `${suite.id}: met is ${g.met}`);
        assert.equal(typeof g.figure, 'string');
      }
    }
    const goals = json.suites.flatMap((s) => s.goals).map((g) => g.goal);
    assert.ok(goals.some((g) => /8 MiB end to end/.test(g)), 'the end-to-end frame goal is reported');
    for (const suite of json.suites) {
      assert.ok(Array.isArray(suite.headlines), `${suite.id} has a headlines list`);
      for (const h of suite.headlines) assert.match(h.key, /^[a-z0-9._-]+$/, `${suite.id}: headline key ${h.key}`);
    }
    assert.ok(goals.some((g) => /CPython/.test(g)), 'the lifecycle goal is reported');

    const md = fs.readFileSync(path.join(out, 'RESULTS.md'), 'utf8');
    assert.match(md, /^# shmkit benchmark results/);
    assert.match(md, /## Goals/);
    assert.match(md, /## Headlines/);
    assert.match(md, /^- <!-- h:wakeup\.notify -->`notify` → `waitAsync`/m, 'the headlines are listed by key');
    for (const suite of json.suites) assert.ok(md.includes(`## ${suite.title}`), suite.title);
    assert.match(md, /!\[Latency versus frame size\]\(latency\.svg\)/);

    const svg = fs.readFileSync(path.join(out, 'latency.svg'), 'utf8');
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.ok((svg.match(/<polyline /g) ?? []).length >= 3, 'a line per transport');
    assert.match(svg, /<\/svg>\n$/);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
  const leftover = fs.readdirSync('/dev/shm').filter((n) => !before.has(n));
  assert.deepEqual(leftover, [], 'the benchmarks left segments behind');
});

test('bad arguments exit 2 with a usage line', async () => {
  const result = await runBench(['--only', 'nope']);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /usage: node bench\/run\.js/);
});
