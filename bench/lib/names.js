'use strict';
// Segment names for the benchmarks: unique per run (pid + random), and every
// name handed out is remembered so that cleanup() unlinks exactly those. Names
// are global to the machine and other runs may be alive: nothing here sweeps
// /dev/shm by prefix.
const crypto = require('node:crypto');
const { SharedMemory } = require('@shmkit/shm');

function unlinkQuietly(name) {
  try {
    SharedMemory.unlink(name);
  } catch (error) {
    if (error.code !== 'ENOENT') throw error;
  }
}

class Names {
  constructor(tag) {
    this.prefix = `shmkb_${process.pid}_${crypto.randomBytes(3).toString('hex')}_${tag}`;
    this.made = new Set();
  }

  /** A unique name for this run, remembered for cleanup(). */
  name(suffix) {
    const name = `${this.prefix}_${suffix}`;
    this.made.add(name);
    return name;
  }

  /** Unlinks every name handed out that still exists (after a failure, say). */
  cleanup() {
    for (const name of this.made) unlinkQuietly(name);
  }
}

module.exports = { Names, unlinkQuietly };
