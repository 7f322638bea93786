'use strict';
// What `populate` costs: the time to create a segment and then write every
// byte of it once, with and without populate, for 64 MiB and 1 GiB segments
// in /dev/shm (medians of several runs; each segment is unlinked before the
// next). Run: node packages/shm/scripts/populate-cost.js
// It needs 1 GiB free in /dev/shm and in memory (populate refuses otherwise).
const { SharedMemory } = require('..');

const MiB = 1024 * 1024;
const cases = [
  { label: '64 MiB', size: 64 * MiB, runs: 15 },
  { label: '1 GiB', size: 1024 * MiB, runs: 5 },
];

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function measure(size, populate) {
  const t0 = process.hrtime.bigint();
  const shm = SharedMemory.create(size, { populate, track: false });
  const t1 = process.hrtime.bigint();
  shm.buf.fill(1);
  const t2 = process.hrtime.bigint();
  shm.close();
  shm.unlink();
  return { create: Number(t1 - t0) / 1e6, write: Number(t2 - t1) / 1e6 };
}

console.log('| size | populate | create (ms) | first write of every byte (ms) | total (ms) |');
console.log('|---|---|---|---|---|');
for (const { label, size, runs } of cases) {
  for (const populate of [false, true]) {
    measure(size, populate); // warm-up
    const results = Array.from({ length: runs }, () => measure(size, populate));
    const create = median(results.map((r) => r.create));
    const write = median(results.map((r) => r.write));
    const total = median(results.map((r) => r.create + r.write));
    console.log(`| ${label} | ${populate} | ${create.toFixed(1)} | ${write.toFixed(1)} | ${total.toFixed(1)} |`);
  }
}
