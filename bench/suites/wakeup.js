'use strict';
// Wake-up latency between two processes: shmkit's notify() waking a
// waitAsync() (and a sync wait() in a worker thread) against one byte written
// into a pipe.
//
// One child process serves all three. Before every timed wake the child has
// announced that it is about to sleep, and the parent waits until it really
// is: /proc/<pid>/task/*/syscall shows a thread blocked in futex() on the
// very word (waitAsync, wait) or the child's main thread blocked in
// epoll_wait (pipe). Then the parent stamps CLOCK_MONOTONIC and wakes it; the
// child stamps when its code runs (the waitAsync promise resolves, wait()
// returns, the 'data' event fires). One-way = child stamp − parent stamp.
// Round trip: the child answers the same way it was woken (notify on a word
// the parent's own waitAsync sleeps on, verified asleep too; one byte back
// through its stdout pipe), and the parent stamps when its code runs.
// The three run in every round in rotating order; ratios are per round.
const { fork } = require('node:child_process');
const fs = require('node:fs');
const { Worker, isMainThread, workerData, parentPort } = require('node:worker_threads');
const { SharedMemory, waitAsync, wait, notify } = require('@shmkit/shm');
const { summarize, now, fmt } = require('../lib/stats');
const { Names, unlinkQuietly } = require('../lib/names');

const PRESETS = {
  tiny: { rounds: 3, perRound: 10 },
  quick: { rounds: 12, perRound: 50 },
  full: { rounds: 20, perRound: 100 },
};
const WARMUP = 5; // wakes per mode before the first round, not recorded

// control segment: int32 words, then float64 stamps
const WAKE_A = 0; // parent → child's waitAsync
const READY_A = 1; // child → parent (the child's acknowledgement)
const WAKE_S = 2; // parent → child's worker in wait()
const READY_S = 3;
const STAMP_A = 4; // float64 index (byte 32)
const STAMP_S = 5; // float64 index (byte 40)
const CONTROL_BYTES = 64;
const STOP = -1;


// syscall numbers for the "is it really asleep?" check
const SYSCALLS = {
  x64: { futex: [202], epoll: [232, 281, 441] },
  arm64: { futex: [98], epoll: [22, 441] },
};

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
/** A sleep that does not keep the process alive (for time limits). */
const limit = (ms) => new Promise((resolve) => setTimeout(resolve, ms).unref());

// ------------------------------------------------------------ /proc checks

/** Start addresses of every mapping of /dev/shm/<name> in process `pid` ('self' too). */
function mappingBases(pid, name) {
  const bases = [];
  for (const line of fs.readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n')) {
    const file = line.split(/\s+/)[5];
    if (file === `/dev/shm/${name}`) bases.push(BigInt(`0x${line.slice(0, line.indexOf('-'))}`));
  }
  return bases;
}

/**
 * True if a thread of `pid` is blocked in one of `numbers`; `tid` restricts
 * it to one thread, `firstArgs` to calls whose first argument is one of them
 * (the futex word's address).
 */
function blockedIn(pid, numbers, { tid, firstArgs } = {}) {
  let tids;
  try {
    tids = tid ? [String(tid)] : fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return false; // the process is gone
  }
  for (const t of tids) {
    let text;
    try {
      text = fs.readFileSync(`/proc/${pid}/task/${t}/syscall`, 'utf8');
    } catch {
      continue; // the thread ended meanwhile
    }
    const [nr, arg0] = text.split(' ');
    if (!numbers.includes(Number(nr))) continue;
    if (!firstArgs) return true;
    let address;
    try {
      address = BigInt(arg0);
    } catch {
      continue;
    }
    if (firstArgs.includes(address)) return true;
  }
  return false;
}

// ------------------------------------------------------------ the child

function childMain(name) {
  const shm = SharedMemory.attach(name);
  const i32 = shm.view(Int32Array, 0, CONTROL_BYTES / 4);
  const f64 = shm.view(Float64Array, 0, CONTROL_BYTES / 8);
  process.on('disconnect', () => process.exit(0));

  // pipe: one byte in on stdin, the stamp back (8 bytes) on stdout
  process.stdin.on('data', () => {
    const t = now();
    const reply = Buffer.allocUnsafe(8);
    reply.writeDoubleLE(t, 0);
    process.stdout.write(reply);
  });

  // futex: a waitAsync loop on WAKE_A
  (async () => {
    let seq = Atomics.load(i32, WAKE_A);
    for (;;) {
      await waitAsync(shm, WAKE_A * 4, seq);
      const t = now();
      const v = Atomics.load(i32, WAKE_A);
      if (v === STOP) return;
      if (v === seq) continue;
      seq = v;
      f64[STAMP_A] = t;
      Atomics.store(i32, READY_A, seq); // the announcement and, for the parent, the pong
      notify(shm, READY_A * 4);
    }
  })().catch((error) => {
    console.error(error);
    process.exit(1);
  });

  // a worker thread sleeping in the synchronous wait() on WAKE_S
  const worker = new Worker(__filename, { workerData: { role: 'wakeup-worker', name } });
  worker.on('error', (error) => {
    console.error(error);
    process.exit(1);
  });
  worker.once('message', () => process.send({ attached: true }));
}

function workerMain(name) {
  const shm = SharedMemory.attach(name);
  const i32 = shm.view(Int32Array, 0, CONTROL_BYTES / 4);
  const f64 = shm.view(Float64Array, 0, CONTROL_BYTES / 8);
  parentPort.postMessage('attached');
  let seq = Atomics.load(i32, WAKE_S);
  for (;;) {
    wait(shm, WAKE_S * 4, seq);
    const t = now();
    const v = Atomics.load(i32, WAKE_S);
    if (v === STOP) break;
    if (v === seq) continue;
    seq = v;
    f64[STAMP_S] = t;
    Atomics.store(i32, READY_S, seq);
    notify(shm, READY_S * 4);
  }
  shm.close();
}

// ------------------------------------------------------------ the parent

async function run(ctx) {
  const preset = PRESETS[ctx.preset] || PRESETS.quick;
  const progress = (m) => ctx.progress(m);
  const names = new Names('wk');
  const name = names.name('ctl');

  const sys = process.platform === 'linux' ? SYSCALLS[process.arch] : undefined;
  const MODES = ['async', 'sync', 'pipe'];
  const samples = Object.fromEntries(MODES.map((m) => [m, { oneWay: [], roundTrip: [] }]));
  const roundRatios = { oneWayPipeOverAsync: [], oneWayPipeOverSync: [], roundTripPipeOverAsync: [], roundTripPipeOverSync: [] };
  let verified = 0;
  let unverified = 0;

  let control = null;
  let child = null;
  let checked = false;
  try {
    control = new SharedMemory({ name, create: true, size: CONTROL_BYTES });
    const i32 = control.view(Int32Array, 0, CONTROL_BYTES / 4);
    const f64 = control.view(Float64Array, 0, CONTROL_BYTES / 8);

    progress('starting the child (waitAsync, a worker in wait(), a pipe)');
    child = fork(__filename, ['--wakeup-child', name], { stdio: ['pipe', 'pipe', 'inherit', 'ipc'] });
    const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    await Promise.race([
      new Promise((resolve) => child.once('message', resolve)),
      exited.then(({ code, signal }) => {
        throw new Error(`the wake-up child exited early (${signal || code})`);
      }),
      limit(20000).then(() => {
        throw new Error('the wake-up child did not start in 20 s');
      }),
    ]);
    // Both of the child's threads are attached: the name is no longer needed,
    // and without it nothing can be left in /dev/shm whatever happens next.
    unlinkQuietly(name);
    exited.then(({ code, signal }) => {
      if (child) child.died = `${signal || code}`;
    });

    // pipe replies
    let pending = Buffer.alloc(0);
    let onReply = null;
    child.stdout.on('data', (chunk) => {
      const t = now();
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      if (pending.length >= 8 && onReply) {
        const stamp = pending.readDoubleLE(0);
        pending = pending.subarray(8);
        const resolve = onReply;
        onReply = null;
        resolve({ stamp, t });
      }
    });

    // "really asleep" checks; without /proc support, a fixed pause instead
    let childBases = [];
    let selfBases = [];
    let canCheck = Boolean(sys);
    if (canCheck) {
      try {
        childBases = mappingBases(child.pid, name);
        selfBases = mappingBases('self', name);
        blockedIn(child.pid, sys.epoll, { tid: child.pid });
        canCheck = childBases.length >= 2 && selfBases.length >= 1;
      } catch {
        canCheck = false;
      }
    }
    const at = (bases, word) => bases.map((b) => b + BigInt(word * 4));
    const asleep = {
      async: () => blockedIn(child.pid, sys.futex, { firstArgs: at(childBases, WAKE_A) }) && blockedIn('self', sys.futex, { firstArgs: at(selfBases, READY_A) }),
      sync: () => blockedIn(child.pid, sys.futex, { firstArgs: at(childBases, WAKE_S) }) && blockedIn('self', sys.futex, { firstArgs: at(selfBases, READY_S) }),
      pipe: () => blockedIn(child.pid, sys.epoll, { tid: child.pid }),
    };
    const settle = async (mode) => {
      if (!canCheck) {
        await sleep(3);
        return;
      }
      await sleep(1);
      for (let i = 0; i < 200; i++) {
        if (child.died) throw new Error(`the wake-up child died (${child.died})`);
        if (asleep[mode]()) {
          verified++;
          return;
        }
        await sleep(1);
      }
      unverified++;
    };

    const once = async (mode) => {
      if (child.died) throw new Error(`the wake-up child died (${child.died})`);
      if (mode === 'pipe') {
        await settle(mode);
        const reply = new Promise((resolve) => (onReply = resolve));
        const t0 = now();
        child.stdin.write(ONE_BYTE);
        const r = await Promise.race([reply, limit(5000).then(() => null)]);
        if (!r) throw new Error('no pipe reply in 5 s');
        return { oneWay: r.stamp - t0, roundTrip: r.t - t0 };
      }
      const [W, R, S] = mode === 'async' ? [WAKE_A, READY_A, STAMP_A] : [WAKE_S, READY_S, STAMP_S];
      const k = Atomics.load(i32, W);
      if (Atomics.load(i32, R) !== k) throw new Error('the child is out of step');
      const pong = waitAsync(control, R * 4, k, 5000);
      pong.catch(() => {}); // if we fail before awaiting it, close() rejects it
      await settle(mode);
      const t0 = now();
      Atomics.store(i32, W, k + 1);
      notify(control, W * 4);
      const result = await pong;
      const t2 = now();
      if (result === 'timed-out' || Atomics.load(i32, R) !== k + 1) throw new Error(`no ${mode} acknowledgement in 5 s`);
      return { oneWay: f64[S] - t0, roundTrip: t2 - t0 };
    };

    progress(`warm-up${canCheck ? '' : ' (no /proc syscall check here: a 3 ms pause before each wake instead)'}`);
    for (const mode of MODES) for (let i = 0; i < WARMUP; i++) await once(mode);
    verified = 0;
    unverified = 0;

    for (let round = 0; round < preset.rounds; round++) {
      progress(`round ${round + 1}/${preset.rounds} (${preset.perRound} wakes each)`);
      const order = MODES.map((_, k) => MODES[(k + round) % MODES.length]);
      const perRound = {};
      for (const mode of order) {
        const got = { oneWay: [], roundTrip: [] };
        for (let i = 0; i < preset.perRound; i++) {
          const r = await once(mode);
          got.oneWay.push(r.oneWay);
          got.roundTrip.push(r.roundTrip);
        }
        samples[mode].oneWay.push(...got.oneWay);
        samples[mode].roundTrip.push(...got.roundTrip);
        perRound[mode] = { oneWay: summarize(got.oneWay).median, roundTrip: summarize(got.roundTrip).median };
      }
      roundRatios.oneWayPipeOverAsync.push(perRound.pipe.oneWay / perRound.async.oneWay);
      roundRatios.oneWayPipeOverSync.push(perRound.pipe.oneWay / perRound.sync.oneWay);
      roundRatios.roundTripPipeOverAsync.push(perRound.pipe.roundTrip / perRound.async.roundTrip);
      roundRatios.roundTripPipeOverSync.push(perRound.pipe.roundTrip / perRound.sync.roundTrip);
    }
    checked = canCheck;
  } finally {
    if (control && !control.closed) {
      const i32 = control.view(Int32Array, 0, CONTROL_BYTES / 4);
      Atomics.store(i32, WAKE_A, STOP);
      Atomics.store(i32, WAKE_S, STOP);
      notify(control, WAKE_A * 4);
      notify(control, WAKE_S * 4);
    }
    if (child) {
      const gone = child.exitCode !== null || child.signalCode !== null;
      if (!gone) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        if (child.connected) child.disconnect();
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(timer);
      }
    }
    if (control) control.close();
    unlinkQuietly(name);
    names.cleanup(); // every name this run handed out
  }

  // ---- report
  const data = {
    preset: ctx.preset,
    node: process.version,
    rounds: preset.rounds,
    wakesPerRound: preset.perRound,
    asleepCheck: checked ? '/proc/<pid>/task/*/syscall' : 'none (3 ms pause)',
    verifiedAsleep: verified,
    notVerifiedAfter200ms: unverified,
    unit: 'ms',
    oneWay: Object.fromEntries(MODES.map((m) => [m, summarize(samples[m].oneWay)])),
    roundTrip: Object.fromEntries(MODES.map((m) => [m, summarize(samples[m].roundTrip)])),
    ratios: Object.fromEntries(Object.entries(roundRatios).map(([k, v]) => [k, summarize(v)])),
  };

  const us = (x) => (Number.isFinite(x) ? `${fmt(x * 1000)} µs` : '—');
  const cell = (s) => `${us(s.median)} (${us(s.p10)}–${us(s.p90)})`;
  const ratio = (s) => (s.n ? `${fmt(s.median)}× (${fmt(s.p10)}–${fmt(s.p90)})` : '—');
  const LABEL = {
    async: '`notify` → `waitAsync` (event loop)',
    sync: '`notify` → `wait()` in a worker thread',
    pipe: 'one byte through a pipe (`data` event)',
  };
  const lines = [
    `A child process is woken ${preset.perRound} times per mechanism per round, ${preset.rounds} rounds, mechanisms in rotating order; ` +
      (checked
        ? 'before every wake the parent waits until `/proc/<pid>/task/*/syscall` shows the child blocked in `futex()` on the very word (or its main thread in `epoll_wait` for the pipe), and for round trips its own waiting thread too. '
        : 'before every wake the parent pauses 3 ms after the child announced it was about to sleep. ') +
      'One-way: parent stamps CLOCK_MONOTONIC, wakes; the child stamps when its JavaScript runs. Round trip: the child answers the same way and the parent stamps when its JavaScript runs.',
    '',
    '| mechanism | one-way: median (p10–p90) | round trip: median (p10–p90) |',
    '|---|---|---|',
  ];
  for (const m of MODES) {
    lines.push(`| ${LABEL[m]} | ${cell(data.oneWay[m])} | ${cell(data.roundTrip[m])} |`);
  }
  lines.push(
    '',
    '| ratio (median of per-round ratios; above 1: notify is faster) | one-way | round trip |',
    '|---|---|---|',
    `| pipe / notify→waitAsync | ${ratio(data.ratios.oneWayPipeOverAsync)} | ${ratio(data.ratios.roundTripPipeOverAsync)} |`,
    `| pipe / notify→wait() in a worker | ${ratio(data.ratios.oneWayPipeOverSync)} | ${ratio(data.ratios.roundTripPipeOverSync)} |`,
  );
  if (checked && unverified > 0) lines.push('', `${unverified} of ${verified + unverified} wakes went out without the sleep confirmed (200 ms limit).`);
  return { markdown: lines.join('\n'), data, goals: [] };
}

const ONE_BYTE = Buffer.from([1]);

if (!isMainThread && workerData && workerData.role === 'wakeup-worker') {
  workerMain(workerData.name);
} else if (isMainThread && require.main === module && process.argv[2] === '--wakeup-child') {
  childMain(process.argv[3]);
}

module.exports = {
  id: 'wakeup',
  title: 'Wake-up latency: notify against a pipe round trip',
  run,
};
