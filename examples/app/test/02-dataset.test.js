'use strict';
// The shared dataset: deterministic samples, a checksum every consumer agrees on, and the two
// computations the dataset pages plot.
const test = require('node:test');
const assert = require('node:assert/strict');
const { fill, sample, checksum, histogram, runningMean } = require('../dist/shared/dataset.js');

test('fill is deterministic and equals sample() at every index, from any start', () => {
  const a = new Float32Array(4096);
  const b = new Float32Array(4096);
  fill(a);
  fill(b);
  assert.deepEqual(a, b);
  for (const i of [0, 1, 777, 4095]) assert.equal(a[i], Math.fround(sample(i)));
  const tail = new Float32Array(96);
  fill(tail, 4000);
  assert.deepEqual(tail, a.subarray(4000));
});

test('fill reports progress in chunks and ends at the total', () => {
  const seen = [];
  fill(new Float32Array(10), 0, (done, total) => seen.push([done, total]), 4);
  assert.deepEqual(seen, [[4, 10], [8, 10], [10, 10]]);
});

test('the checksum changes with any word and with order', () => {
  const a = new Float32Array(1024);
  fill(a);
  const bytes = new Uint8Array(a.buffer);
  const c = checksum(bytes);
  const b = a.slice();
  b[500] = b[500] + 1;
  assert.notEqual(checksum(new Uint8Array(b.buffer)), c);
  const swapped = a.slice();
  [swapped[1], swapped[2]] = [swapped[2], swapped[1]];
  assert.notEqual(checksum(new Uint8Array(swapped.buffer)), c);
  assert.throws(() => checksum(bytes.subarray(1, 9)), { code: 'ERR_OUT_OF_RANGE' });
});

test('histogram counts every sample; the running mean covers whole windows', () => {
  const a = new Float32Array(1 << 16);
  fill(a);
  const h = histogram(a, 32);
  assert.equal(h.counts.reduce((s, v) => s + v, 0), a.length);
  assert.ok(h.min < h.max);
  const w = runningMean(a, 16);
  assert.equal(w.length, 16);
  for (const { mean, min, max } of w) assert.ok(min <= mean && mean <= max);
});
