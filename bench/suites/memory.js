'use strict';
// Memory: what a second process that reads the same 512 MiB costs, when it
// attaches to a shmkit segment against when it receives the bytes through
// child_process IPC ('advanced' serialization).
//
// Each case has a producer process that holds the data (a segment it created
// and filled; a Buffer it filled) and a consumer process:
//   shm: the reader attaches to the segment by name and reads every page;
//   ipc: the producer forks the receiver and child.send()s it the Buffer; the
//        receiver keeps it and reads every page, then garbage-collects.
// This process only orchestrates: at each step, with both children idle, it
// reads the consumer's /proc/<pid>/status (VmRSS, VmHWM, RssAnon, RssFile,
// RssShmem), both children's /proc/<pid>/status and smaps_rollup (Pss) and
// the machine's /proc/meminfo (AnonPages + Shmem: pages in use, each once;
// MemAvailable). The cases alternate, one of each per round.
const { fork } = require('node:child_process');
// loaded on first use: the IPC children never need it (and start faster)
const shmkit = () => require('@shmkit/shm');
const { summarize, now, fmt } = require('../lib/stats');
const { Names, unlinkQuietly } = require('../lib/names');
const { statusOf, pssOf, meminfo, foldCounters, inUse } = require('../lib/proc');

const MiB = 1 << 20;
// machineWide: whether to read /proc/meminfo (at 32 MiB the machine's own
// movement is of the same order)
const PRESETS = {
  tiny: { bytes: 32 * MiB, rounds: 1, machineWide: false },
  quick: { bytes: 512 * MiB, rounds: 1, machineWide: true },
  full: { bytes: 512 * MiB, rounds: 3, machineWide: true },
};
const PAGE = 4096;
const PATTERN = 0x5a;


const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));


function touchAll(buf) {
  let sum = 0;
  for (let i = 0; i < buf.length; i += PAGE) sum += buf[i];
  return sum;
}
const expectedSum = (bytes) => Math.ceil(bytes / PAGE) * PATTERN;

// ------------------------------------------------------------ children

function exitWithParent() {
  process.on('disconnect', () => process.exit(0));
}

/** process.send() that never throws or emits 'error' when the parent is gone. */
function tell(message) {
  if (process.connected) process.send(message, () => {});
}

/** shm producer: creates the segment, fills it, holds it until disconnected. */
function shmProducer(name, bytes) {
  exitWithParent();
  const { SharedMemory } = shmkit();
  const shm = new SharedMemory({ name, create: true, size: bytes });
  process.on('exit', () => {
    shm.close();
    try {
      SharedMemory.unlink(name);
    } catch {
      // the orchestrator unlinked it already
    }
  });
  shm.buf.fill(PATTERN);
  tell({ phase: 'ready' });
}

/** shm reader: attaches on 'attach', reads every page on 'read'. */
function shmReader(name) {
  exitWithParent();
  let shm = null;
  process.on('message', (m) => {
    if (m === 'attach') {
      const t0 = now();
      shm = shmkit().SharedMemory.attach(name);
      tell({ phase: 'attached', ms: now() - t0 });
    } else if (m === 'read') {
      const t0 = now();
      const sum = touchAll(shm.buf);
      tell({ phase: 'read', ms: now() - t0, ok: sum === expectedSum(shm.size), size: shm.size });
    }
  });
  tell({ phase: 'idle' });
}

/** ipc producer: fills a Buffer, forks the receiver, sends it on 'send'. */
function ipcProducer(bytes) {
  exitWithParent();
  const receiver = fork(__filename, ['--memory-ipc-receiver'], {
    serialization: 'advanced',
    execArgv: ['--expose-gc'],
  });
  const data = Buffer.alloc(bytes, PATTERN); // while the receiver boots
  process.on('exit', () => receiver.kill('SIGKILL'));
  receiver.on('exit', (code, signal) => {
    tell({ phase: 'error', error: `the receiver exited (${signal || code})` });
  });
  receiver.on('message', (m) => {
    if (m.phase === 'settled') {
      global.gc(); // the producer's serialisation buffers too
      setTimeout(() => tell(m), 100);
    } else tell(m);
  });
  process.on('message', (m) => {
    if (m === 'send') {
      const sentAt = now();
      receiver.send(data, (error) => {
        if (error) tell({ phase: 'error', error: String(error) });
      });
      tell({ phase: 'sending', sentAt });
    } else if (m === 'settle') receiver.send('settle', () => {});
  });
}

/** ipc receiver: keeps what it receives and reads every page; GC on 'settle'. */
function ipcReceiver() {
  exitWithParent();
  let kept = null;
  process.on('message', (m) => {
    if (m === 'settle') {
      global.gc();
      global.gc();
      setTimeout(() => {
        const usage = process.memoryUsage(); // what JavaScript still holds, against RSS
        tell({ phase: 'settled', holding: kept ? kept.length : 0, arrayBuffersMiB: usage.arrayBuffers / MiB, heapUsedMiB: usage.heapUsed / MiB });
      }, 100);
      return;
    }
    const receivedAt = now();
    kept = m;
    const t0 = now();
    const sum = touchAll(kept);
    tell({ phase: 'received', receivedAt, readMs: now() - t0, ok: sum === expectedSum(kept.length), size: kept.length });
  });
  tell({ phase: 'idle', pid: process.pid });
}

// ------------------------------------------------------------ orchestration

/** A forked child whose messages can be awaited one phase at a time. */
function spawnChild(args, options = {}) {
  const child = fork(__filename, args, options);
  const queue = [];
  const waiters = [];
  let failure = null;
  const fail = (error) => {
    failure = failure || error;
    while (waiters.length) waiters.shift().reject(failure);
  };
  child.on('message', (m) => {
    if (m && m.phase === 'error') return fail(new Error(m.error));
    const w = waiters.shift();
    if (w) w.resolve(m);
    else queue.push(m);
  });
  child.on('exit', (code, signal) => fail(new Error(`${args[0]} exited (${signal || code})`)));
  child.on('error', fail);
  child.next = (phase, timeoutMs = 120000) => {
    const got = queue.length
      ? Promise.resolve(queue.shift())
      : failure
        ? Promise.reject(failure)
        : new Promise((resolve, reject) => waiters.push({ resolve, reject }));
    let timer;
    const limit = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${args[0]}: no '${phase}' in ${timeoutMs} ms`)), timeoutMs);
    });
    return Promise.race([got, limit]).then((m) => {
      clearTimeout(timer);
      if (m.phase !== phase) throw new Error(`${args[0]}: expected '${phase}', got '${m.phase}'`);
      return m;
    }, (error) => {
      clearTimeout(timer);
      throw error;
    });
  };
  child.stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    if (child.connected) child.disconnect();
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  return child;
}

/** Let the children settle and the kernel's counters catch up, then read them. */
async function snapshot(consumerPid, producerPid, machineWide) {
  await sleep(50);
  if (!machineWide) return { consumer: statusOf(consumerPid), producer: statusOf(producerPid), machine: null };
  const folded = await foldCounters();
  return { consumer: statusOf(consumerPid), producer: statusOf(producerPid), machine: meminfo(), folded };
}


/** How much the machine-wide figures move on their own: spreads of readings 300 ms apart. */
async function machineNoise() {
  const readings = [];
  for (let i = 0; i < 4; i++) {
    if (i) await sleep(300);
    await foldCounters();
    readings.push(meminfo());
  }
  const spread = (f) => Math.max(...readings.map(f)) - Math.min(...readings.map(f));
  return { memAvailable: spread((m) => m.MemAvailable), inUse: spread(inUse) };
}

async function shmCase(names, { bytes, machineWide }, progress) {
  const name = names.name('seg');
  let producer = null;
  let reader = null;
  try {
    progress('shm: the producer creates and fills the segment');
    producer = spawnChild(['--memory-shm-producer', name, String(bytes)]);
    reader = spawnChild(['--memory-shm-reader', name]); // boots meanwhile, attaches when told
    await Promise.all([producer.next('ready'), reader.next('idle')]);
    const before = await snapshot(reader.pid, producer.pid, machineWide);
    progress('shm: the reader attaches and reads every page');
    reader.send('attach');
    const attached = await reader.next('attached');
    unlinkQuietly(name); // both have it mapped: nothing can be left behind now
    const afterAttach = await snapshot(reader.pid, producer.pid, machineWide);
    reader.send('read');
    const read = await reader.next('read');
    if (!read.ok || read.size !== bytes) throw new Error('the reader saw the wrong bytes');
    const after = await snapshot(reader.pid, producer.pid, machineWide);
    return {
      before,
      afterAttach,
      after,
      consumerPss: pssOf(reader.pid),
      producerPss: pssOf(producer.pid),
      producerStatus: statusOf(producer.pid),
      deliverMs: attached.ms,
      readMs: read.ms,
    };
  } finally {
    if (reader) await reader.stop();
    if (producer) await producer.stop();
    unlinkQuietly(name);
  }
}

async function ipcCase({ bytes, machineWide }, progress) {
  let producer = null;
  try {
    progress('ipc: the producer fills a Buffer and forks the receiver');
    producer = spawnChild(['--memory-ipc-producer', String(bytes)], { execArgv: ['--expose-gc'] });
    const idle = await producer.next('idle');
    const receiverPid = idle.pid;
    const before = await snapshot(receiverPid, producer.pid, machineWide);
    progress(`ipc: child.send() of ${bytes / MiB} MiB ('advanced')`);
    producer.send('send');
    const sending = await producer.next('sending');
    const received = await producer.next('received', 600000);
    if (!received.ok || received.size !== bytes) throw new Error('the receiver got the wrong bytes');
    const onReceipt = await snapshot(receiverPid, producer.pid, machineWide);
    progress('ipc: garbage collection in both');
    producer.send('settle');
    const settled = await producer.next('settled');
    if (settled.holding !== bytes) throw new Error('the receiver lost the data');
    const after = await snapshot(receiverPid, producer.pid, machineWide);
    return {
      before,
      onReceipt,
      after,
      consumerPss: pssOf(receiverPid),
      producerPss: pssOf(producer.pid),
      producerStatus: statusOf(producer.pid),
      deliverMs: received.receivedAt - sending.sentAt,
      readMs: received.readMs,
      arrayBuffersMiB: settled.arrayBuffersMiB,
      heapUsedMiB: settled.heapUsedMiB,
    };
  } finally {
    if (producer) await producer.stop(); // the receiver follows its parent
  }
}

// ------------------------------------------------------------ the suite

async function run(ctx) {
  const preset = PRESETS[ctx.preset] || PRESETS.quick;
  const progress = (m) => ctx.progress(m);
  const names = new Names('mem');
  const rounds = [];
  let noise = null;
  try {
    if (preset.machineWide) {
      progress('how much /proc/meminfo moves on its own');
      noise = await machineNoise();
    }
    for (let round = 0; round < preset.rounds; round++) {
      progress(`round ${round + 1}/${preset.rounds}, ${preset.bytes / MiB} MiB`);
      const r = {};
      const order = round % 2 === 0 ? ['shm', 'ipc'] : ['ipc', 'shm'];
      for (const c of order) {
        r[c] = c === 'shm' ? await shmCase(names, preset, progress) : await ipcCase(preset, progress);
        await sleep(preset.machineWide ? 300 : 50); // let freed memory settle before the next case
      }
      rounds.push(r);
    }
  } finally {
    names.cleanup(); // every name this run handed out
  }

  // ---- summaries over rounds
  const pick = (c, f) => summarize(rounds.map((r) => f(r[c])));
  const drop = (x) => (x.after.machine ? x.before.machine.MemAvailable - x.after.machine.MemAvailable : NaN);
  const inUseGrowth = (x) => (x.after.machine ? inUse(x.after.machine) - inUse(x.before.machine) : NaN);
  const ownAnonGrowth = (x) =>
    x.after.consumer.RssAnon - x.before.consumer.RssAnon + (x.after.producer.RssAnon - x.before.producer.RssAnon);
  const cases = {};
  for (const c of ['shm', 'ipc']) {
    cases[c] = {
      rssBefore: pick(c, (x) => x.before.consumer.VmRSS),
      rssAfter: pick(c, (x) => x.after.consumer.VmRSS),
      rssAnonAfter: pick(c, (x) => x.after.consumer.RssAnon),
      rssShmemAfter: pick(c, (x) => x.after.consumer.RssShmem),
      rssFileAfter: pick(c, (x) => x.after.consumer.RssFile),
      peakRss: pick(c, (x) => x.after.consumer.VmHWM),
      rssOnReceipt: c === 'ipc' ? pick(c, (x) => x.onReceipt.consumer.VmRSS) : undefined,
      rssAfterAttach: c === 'shm' ? pick(c, (x) => x.afterAttach.consumer.VmRSS) : undefined,
      consumerPss: pick(c, (x) => x.consumerPss.Pss),
      consumerPssShmem: pick(c, (x) => x.consumerPss.Pss_Shmem),
      consumerPssAnon: pick(c, (x) => x.consumerPss.Pss_Anon),
      producerRss: pick(c, (x) => x.producerStatus.VmRSS),
      producerPss: pick(c, (x) => x.producerPss.Pss),
      producerPssShmem: pick(c, (x) => x.producerPss.Pss_Shmem),
      producerPssAnon: pick(c, (x) => x.producerPss.Pss_Anon),
      memAvailableDrop: pick(c, drop),
      machineShmemDelta: pick(c, (x) => (x.after.machine ? x.after.machine.Shmem - x.before.machine.Shmem : NaN)),
      inUseGrowth: pick(c, inUseGrowth),
      // what the two processes' own private memory explains of that growth;
      // the rest is other processes (or noise)
      ownAnonGrowth: pick(c, ownAnonGrowth),
      unexplained: pick(c, (x) => inUseGrowth(x) - ownAnonGrowth(x)),
      deliverMs: pick(c, (x) => x.deliverMs),
      readMs: pick(c, (x) => x.readMs),
      arrayBuffersAfter: c === 'ipc' ? pick(c, (x) => x.arrayBuffersMiB) : undefined,
    };
  }
  const data = {
    preset: ctx.preset,
    node: process.version,
    bytes: preset.bytes,
    rounds: preset.rounds,
    unit: 'MiB (times in ms)',
    cases,
    machineWide: preset.machineWide,
    machineNoise: noise,
    raw: rounds,
  };

  const size = `${preset.bytes / MiB} MiB`;
  const mib = (s) => (s && s.n ? `${fmt(s.median)} MiB` : '—');
  const mibSpread = (s) => (s && s.n ? (s.n > 2 ? `${fmt(s.median)} MiB (${fmt(s.p10)}–${fmt(s.p90)})` : mib(s)) : '—');
  const msCell = (s) => (s && s.n ? `${fmt(s.median)} ms` : '—');
  const S = cases.shm;
  const I = cases.ipc;
  const lines = [
    `A producer process holds ${size} (a segment it created and filled; a Buffer it filled); a consumer process gets the same bytes and reads every page: by attaching to the segment, or by receiving the Buffer through \`child.send()\` with \`serialization: 'advanced'\` (kept; both processes then garbage-collect). ` +
      `With both processes idle, the orchestrator reads the consumer's \`/proc/<pid>/status\`, both processes' \`smaps_rollup\` (Pss)${preset.machineWide ? ' and `/proc/meminfo` (per-CPU counters folded first)' : ''}; ` +
      `${preset.rounds} round${preset.rounds > 1 ? 's, one of each case per round, order alternating; medians' : ', one of each case'}. "Before": the consumer started and idle; "after": it holds the data and has read every page.`,
    '',
    `| consumer of ${size} | RSS before | RSS after | after: RssAnon / RssShmem | peak RSS (VmHWM) | Pss after | machine-wide: AnonPages + Shmem growth | getting the data | reading every page |`,
    '|---|---|---|---|---|---|---|---|---|',
    `| attached to the shmkit segment | ${mib(S.rssBefore)} | ${mib(S.rssAfter)} | ${mib(S.rssAnonAfter)} / ${mib(S.rssShmemAfter)} | ${mib(S.peakRss)} | ${mib(S.consumerPss)} | ${mibSpread(S.inUseGrowth)} | attach: ${msCell(S.deliverMs)} | ${msCell(S.readMs)} |`,
    `| received by child_process IPC ('advanced') | ${mib(I.rssBefore)} | ${mib(I.rssAfter)} (on receipt: ${mib(I.rssOnReceipt)}) | ${mib(I.rssAnonAfter)} / ${mib(I.rssShmemAfter)} | ${mib(I.peakRss)} | ${mib(I.consumerPss)} | ${mibSpread(I.inUseGrowth)} | send → message: ${msCell(I.deliverMs)} | ${msCell(I.readMs)} |`,
    '',
    `RSS counts every resident page a process maps, shared or not: the segment reader's RSS grows by the whole ${size} as the IPC receiver's does, but as RssShmem, pages the producer counts in its RSS too (${mib(S.producerRss)}), so adding up RSS across processes counts them twice. ` +
      `They exist once machine-wide. Pss divides each shared page among the processes that map it: of the segment (Pss_Shmem) the reader is charged ${mib(S.consumerPssShmem)} and the producer ${mib(S.producerPssShmem)}, one copy between them; with IPC each has its own (Pss_Anon: receiver ${mib(I.consumerPssAnon)}, producer ${mib(I.producerPssAnon)}). ` +
      '(The "Pss after" column also includes each process\'s share of the Node binary and libraries, which depends on how many Node processes are running.)' +
      (I.rssAnonAfter.median > I.arrayBuffersAfter.median * 1.5
        ? ` After garbage collection the receiver's JavaScript holds ${mib(I.arrayBuffersAfter)} of ArrayBuffers, yet its RssAnon stays at ${mib(I.rssAnonAfter)}: the memory that carried the message is no longer referenced by JavaScript but has not gone back to the system (with \`MALLOC_MMAP_THRESHOLD_=65536\` most of it does: glibc's heap keeps it).`
        : ''),
  ];
  if (preset.machineWide) {
    // Neither case changes Shmem while it is measured, and the two processes'
    // RssAnon growth is their private memory: growth beyond that (and beyond
    // the idle noise) is another process at work.
    const tolerance = Math.max(3 * noise.inUse, 0.1 * (preset.bytes / MiB));
    const disturbed = ['shm', 'ipc'].filter((c) => Math.abs(cases[c].unexplained.median) > tolerance);
    data.machineWideDisturbed = disturbed;
    lines.push(
      '',
      `Machine-wide, the kernel's count of pages in use (AnonPages + Shmem in /proc/meminfo, each page once however many processes map it) grew by ${mib(S.inUseGrowth)} while the reader attached and read the segment and by ${mib(I.inUseGrowth)} while the receiver got its copy; ` +
        `the two processes' own RssAnon growth accounts for ${mib(S.ownAnonGrowth)} and ${mib(I.ownAnonGrowth)} of it (idle, the figure moved by up to ${fmt(noise.inUse)} MiB within one second before the run).` +
        (disturbed.length
          ? ` **Disturbed:** during the ${disturbed.join(' and ')} case other processes changed it by more than ${fmt(tolerance)} MiB beyond that; rerun on a quiet machine.`
          : '') +
        ` Free memory (MemAvailable) fell by ${mib(S.memAvailableDrop)} and ${mib(I.memAvailableDrop)}, but here it is not a measurement: idle it moved by up to ${fmt(noise.memAvailable)} MiB in a second, and after large frees it lags by hundreds of MiB (pages parked on per-CPU free lists or being reported to the hypervisor).`,
    );
  } else {
    lines.push('', `Machine-wide (/proc/meminfo) not measured at ${size}: the machine's own movement is of the same order (use the quick or full preset).`);
  }
  return { markdown: lines.join('\n'), data, goals: [] };
}

if (require.main === module) {
  const [role, a, b] = process.argv.slice(2);
  if (role === '--memory-shm-producer') shmProducer(a, Number(b));
  else if (role === '--memory-shm-reader') shmReader(a);
  else if (role === '--memory-ipc-producer') ipcProducer(Number(a));
  else if (role === '--memory-ipc-receiver') ipcReceiver();
}

module.exports = {
  id: 'memory',
  title: 'Memory: a reader of a 512 MiB segment',
  run,
};
