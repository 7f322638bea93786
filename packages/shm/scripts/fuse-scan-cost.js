'use strict';
// What reading the RunAsNode fuse costs (once per process, inside Electron,
// before the first tracker or manager is spawned): a 200 MB file in the
// temporary directory with the fuse wire at its very end (the worst case: the
// whole file is scanned), read 5 times (from the page cache after the first),
// then this Node binary, which has no wire. Run: node packages/shm/scripts/fuse-scan-cost.js
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { FUSE_SENTINEL, readRunAsNodeFuse } = require('../dist/lifecycle/helper-process.js');

const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'shmkit-fuse-')), 'electron');
const fd = fs.openSync(file, 'w');
const filler = Buffer.alloc(4 * 1024 * 1024, 0x41);
for (let i = 0; i < 50; i++) fs.writeSync(fd, filler);
fs.writeSync(fd, Buffer.concat([FUSE_SENTINEL, Buffer.from([1, 1, 0x30])]));
fs.closeSync(fd);

function timed(target) {
  const start = process.hrtime.bigint();
  const state = readRunAsNodeFuse(target);
  return `${state} in ${(Number(process.hrtime.bigint() - start) / 1e6).toFixed(1)} ms`;
}

try {
  for (let i = 0; i < 5; i++) console.log(`200 MB, wire at the end: ${timed(file)}`);
  console.log(`${process.execPath} (${(fs.statSync(process.execPath).size / 1e6).toFixed(0)} MB): ${timed(process.execPath)}`);
} finally {
  fs.rmSync(path.dirname(file), { recursive: true, force: true });
}
