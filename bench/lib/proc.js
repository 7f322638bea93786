'use strict';
// Figures from /proc (Linux): for the memory and bridge suites a process's status and Pss and the
// machine's pages in use, read after the kernel has folded its per-CPU counters; for the frames
// suite the machine's CPU time, and a wait for a quiet machine.
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

/** Linux: CPU time (jiffies, every CPU) busy and idle since boot, from /proc/stat; null elsewhere. */
function cpuTimes() {
  try {
    const f = fs.readFileSync('/proc/stat', 'latin1').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal
    return { busy: f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] || 0), idle: f[3] + f[4] };
  } catch {
    return null;
  }
}

/**
 * Waits until the machine is quiet: what the last measurement left running
 * (a garbage collector freeing a 33 MiB frame, a receiver still copying) must
 * not be measured as part of the next. Quiet: at most `busyFraction` of all
 * CPUs busy over a 20 ms window, this process's own wait included; gives up
 * after `maxMs`. Returns the milliseconds waited.
 */
async function settleMachine({ busyFraction = 0.15, maxMs = 300 } = {}) {
  const start = Date.now();
  for (;;) {
    const a = cpuTimes();
    if (!a) return 0;
    await sleep(20);
    const b = cpuTimes();
    const busy = b.busy - a.busy;
    const total = busy + b.idle - a.idle;
    if (total <= 0 || busy / total <= busyFraction || Date.now() - start >= maxMs) return Date.now() - start;
  }
}

/** A full garbage collection of this process (the flag can be set at run time). */
const collectGarbage = (() => {
  try {
    require('node:v8').setFlagsFromString('--expose-gc');
    return require('node:vm').runInNewContext('gc');
  } catch {
    return () => {};
  }
})();

module.exports = {
  collectGarbage,
  statusOf,
  pssOf,
  meminfo,
  foldCounters,
  inUse,
  cpuTimes,
  settleMachine,
};
