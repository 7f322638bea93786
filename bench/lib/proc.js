'use strict';
// Memory figures from /proc (Linux), for the memory and bridge suites: a process's status and Pss,
// and the machine's pages in use, read after the kernel has folded its per-CPU counters.
const fs = require('node:fs');

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The "Key:   123 kB" lines of a /proc file, as MiB numbers. */
function kbFields(file, keys) {
  const out = {};
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return out;
  }
  for (const key of keys) {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
    out[key] = m ? Number(m[1]) / 1024 : NaN;
  }
  return out;
}

const statusOf = (pid) => kbFields(`/proc/${pid}/status`, ['VmRSS', 'VmHWM', 'RssAnon', 'RssFile', 'RssShmem']);
const pssOf = (pid) => kbFields(`/proc/${pid}/smaps_rollup`, ['Pss', 'Pss_Anon', 'Pss_Shmem']);
const meminfo = () => kbFields('/proc/meminfo', ['MemAvailable', 'Shmem', 'MemFree', 'AnonPages', 'Cached', 'PageTables', 'KReclaimable', 'Percpu']);

/**
 * The kernel folds its per-CPU memory counters into /proc/meminfo every
 * vm.stat_interval (1 s): writing /proc/sys/vm/stat_refresh folds them now
 * (root only); otherwise wait for the next fold.
 */
let canRefresh = true;
async function foldCounters() {
  if (canRefresh) {
    try {
      fs.writeFileSync('/proc/sys/vm/stat_refresh', '1');
      return 'stat_refresh';
    } catch {
      canRefresh = false;
    }
  }
  await sleep(1100);
  return 'waited 1.1 s';
}

/** Machine-wide memory in use: anonymous pages plus shared memory (tmpfs, /dev/shm), each page once. */
const inUse = (m) => m.AnonPages + m.Shmem;

module.exports = { statusOf, pssOf, meminfo, foldCounters, inUse };
