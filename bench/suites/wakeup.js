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
// A fourth mechanism, FrameRing: the parent publishes a small frame and the
// child's `for await (… of reader.frames())` stamps when it holds it.
// The four run in every round in rotating order; ratios are per round.
//
// The floor: bench/native/wake-floor.c, built here with the machine's C
// compiler, measures the same one-way wake between two C processes (blocked
// in futex(), in read() on a pipe, in epoll_wait() on a pipe) in every round,
// so Node's figures are compared with the kernel's in the same run.
const { fork, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Worker, isMainThread, workerData, parentPort } = require('node:worker_threads');
const { SharedMemory, FrameRing, waitAsync, waitBackend, wait, notify } = require('@shmkit/shm');
const { summarize, now, fmt } = require('../lib/stats');
const { Names, unlinkQuietly } = require('../lib/names');

// warmup: wakes per mechanism before the first round, not recorded, the mechanisms interleaved. The
// pipe path keeps getting faster for about a thousand wakes (44 → 24 µs here), so every mechanism gets
// the same long warm-up; the report shows each one's drift over the quarters of the measured wakes.
const PRESETS = {
  tiny: { rounds: 3, perRound: 10, warmup: 20 },
  quick: { rounds: 12, perRound: 50, warmup: 1500 },
  full: { rounds: 20, perRound: 100, warmup: 3000 },
};
const PIPE_TIMEOUT_MS = 5000;

// control segment: int32 words, then float64 stamps
const WAKE_A = 0; // parent → child's waitAsync
const READY_A = 1; // child → parent (the child's acknowledgement)
const WAKE_S = 2; // parent → child's worker in wait()
const READY_S = 3;
const READY_R = 6; // child → parent: the frame number it holds
const STAMP_A = 4; // float64 index (byte 32)
const STAMP_S = 5; // float64 index (byte 40)
const STAMP_R = 6; // float64 index (byte 48)
const CONTROL_BYTES = 64;
const STOP = -1;


// syscall numbers for the "is it really asleep?" check (futex_waitv: 449 everywhere)
const SYSCALLS = {
  x64: { futex: [202], waitv: [449], epoll: [232, 281, 441] },
  arm64: { futex: [98], waitv: [449], epoll: [22, 441] },
};
const RING_SLOTS = 4;
const RING_PUBLISH_WORD = 40; // the ring's futex word (docs/frame-ring-layout.md)
const RING_SLOT_BYTES = 64;
const FLOOR_MODES = ['futex', 'pipe', 'epoll'];

// ------------------------------------------------------------ the C floor

/**
 * Builds bench/native/wake-floor.c into a temporary directory with the first
 * C (or C++) compiler found; { run(mode, samples) → ms[] } or { why }.
 */
function buildFloor() {
  const source = path.join(__dirname, '..', 'native', 'wake-floor.c');
  if (process.platform !== 'linux') return { why: 'Linux only' };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmkit-wake-floor-'));
  const binary = path.join(dir, 'wake-floor');
  const compilers = [process.env.CC && [process.env.CC], ['cc'], ['gcc'], ['g++', '-x', 'c++'], ['c++', '-x', 'c++']].filter(Boolean);
  const errors = [];
  for (const [cc, ...flags] of compilers) {
    try {
      execFileSync(cc, [...flags, '-O2', '-o', binary, source], { stdio: ['ignore', 'ignore', 'pipe'] });
      return {
        run(mode, samples) {
          const out = execFileSync(binary, [mode, String(samples)], { encoding: 'utf8', timeout: 120000 });
          return JSON.parse(out).samples.map((ns) => ns / 1e6);
        },
        cleanup() {
          fs.rmSync(dir, { recursive: true, force: true });
        },
      };
    } catch (error) {
      errors.push(`${cc}: ${error.code === 'ENOENT' ? 'not found' : String(error.stderr || error.message).trim().split('\n')[0]}`);
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
  return { why: `no C compiler could build bench/native/wake-floor.c (${errors.join('; ')})` };
}

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

/**
 * True if a thread of `pid` sleeps on one of `addresses`: in futex() on it,
 * or in futex_waitv() with it among the words (read from the process's
 * memory: 24 bytes a word, the address at offset 8).
 */
function blockedOnWord(pid, sys, addresses) {
  if (blockedIn(pid, sys.futex, { firstArgs: addresses })) return true;
  let tids;
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return false;
  }
  for (const t of tids) {
    let fields;
    try {
      fields = fs.readFileSync(`/proc/${pid}/task/${t}/syscall`, 'utf8').split(' ');
    } catch {
      continue;
    }
    if (!sys.waitv.includes(Number(fields[0]))) continue;
    const count = Math.min(Number(BigInt(fields[2])), 16);
    const table = Buffer.alloc(24 * count);
    let fd;
    try {
      fd = fs.openSync(`/proc/${pid}/mem`, 'r');
      fs.readSync(fd, table, 0, table.length, Number(BigInt(fields[1])));
    } catch {
      continue;
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
    for (let i = 0; i < count; i++) if (addresses.includes(table.readBigUInt64LE(24 * i + 8))) return true;
  }
  return false;
}

// ------------------------------------------------------------ the child

function childMain(name, ringName) {
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

  // a FrameRing reader: each frame carries its number; stamp when held
  const reader = FrameRing.attach(ringName);
  (async () => {
    for await (const frame of reader.frames({ includeLatest: false })) {
      const t = now();
      const k = frame.data[0] | (frame.data[1] << 8) | (frame.data[2] << 16);
      if (!frame.valid()) continue;
      f64[STAMP_R] = t;
      Atomics.store(i32, READY_R, k);
      notify(shm, READY_R * 4);
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
  worker.once('message', () => process.send({ attached: true, backend: waitBackend() }));
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
  const ringName = names.name('ring');

  const sys = process.platform === 'linux' ? SYSCALLS[process.arch] : undefined;
  const MODES = ['async', 'ring', 'sync', 'pipe'];
  const samples = Object.fromEntries(MODES.map((m) => [m, { oneWay: [], roundTrip: [] }]));
  const floorSamples = Object.fromEntries(FLOOR_MODES.map((m) => [m, []]));
  const roundRatios = {
    oneWayPipeOverAsync: [],
    oneWayPipeOverRing: [],
    oneWayPipeOverSync: [],
    roundTripPipeOverAsync: [],
    roundTripPipeOverSync: [],
    syncOverFloorFutex: [],
    asyncOverFloorEpoll: [],
    pipeOverFloorEpoll: [],
  };
  let verified = 0;
  let unverified = 0;
  const backends = { parent: waitBackend(), child: undefined };

  progress('building the C floor (bench/native/wake-floor.c)');
  const floor = buildFloor();

  let control = null;
  let ring = null;
  let child = null;
  let checked = false;
  const cleanups = [];
  try {
    control = new SharedMemory({ name, create: true, size: CONTROL_BYTES });
    ring = FrameRing.create({ slots: RING_SLOTS, slotBytes: RING_SLOT_BYTES, name: ringName, track: false });
    const i32 = control.view(Int32Array, 0, CONTROL_BYTES / 4);
    const f64 = control.view(Float64Array, 0, CONTROL_BYTES / 8);

    progress('starting the child (waitAsync, FrameRing.frames(), a worker in wait(), a pipe)');
    child = fork(__filename, ['--wakeup-child', name, ringName], { stdio: ['pipe', 'pipe', 'inherit', 'ipc'] });
    const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const hello = await Promise.race([
      new Promise((resolve) => child.once('message', resolve)),
      exited.then(({ code, signal }) => {
        throw new Error(`the wake-up child exited early (${signal || code})`);
      }),
      limit(20000).then(() => {
        throw new Error('the wake-up child did not start in 20 s');
      }),
    ]);
    backends.child = hello.backend;
    // Both of the child's threads are attached: the names are no longer
    // needed, and without them nothing can be left in /dev/shm.
    unlinkQuietly(name);
    unlinkQuietly(ringName);
    exited.then(({ code, signal }) => {
      if (child) child.died = `${signal || code}`;
    });

    // pipe replies; one watchdog for the whole run (no timer per wake: the other mechanisms' time
    // limits live in the kernel, with their wait)
    let pending = Buffer.alloc(0);
    let onReply = null;
    let onReplyFail = null;
    let pipeSince = 0;
    const watchdog = setInterval(() => {
      if (onReplyFail && now() - pipeSince > PIPE_TIMEOUT_MS) onReplyFail(new Error(`no pipe reply in ${PIPE_TIMEOUT_MS / 1000} s`));
    }, 500);
    watchdog.unref();
    cleanups.push(() => clearInterval(watchdog));
    child.stdout.on('data', (chunk) => {
      const t = now();
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      if (pending.length >= 8 && onReply) {
        const stamp = pending.readDoubleLE(0);
        pending = pending.subarray(8);
        const resolve = onReply;
        onReply = null;
        onReplyFail = null;
        resolve({ stamp, t });
      }
    });

    // "really asleep" checks; without /proc support, a fixed pause instead.
    // With io_uring a waitAsync is queued on the futex by the kernel before
    // the call returns: the child is asleep once its main thread is back in
    // epoll_wait after announcing. With threads, the waiting thread itself
    // must be seen in futex()/futex_waitv() on the word.
    let childBases = [];
    let childRingBases = [];
    let selfBases = [];
    let canCheck = Boolean(sys);
    if (canCheck) {
      try {
        childBases = mappingBases(child.pid, name);
        childRingBases = mappingBases(child.pid, ringName);
        selfBases = mappingBases('self', name);
        blockedIn(child.pid, sys.epoll, { tid: child.pid });
        canCheck = childBases.length >= 2 && childRingBases.length >= 1 && selfBases.length >= 1;
      } catch {
        canCheck = false;
      }
    }
    const at = (bases, byte) => bases.map((b) => b + BigInt(byte));
    const childUring = backends.child?.name === 'io_uring';
    const selfUring = backends.parent.name === 'io_uring';
    const loopIdle = () => blockedIn(child.pid, sys.epoll, { tid: child.pid });
    const childWaiting = (addresses) => loopIdle() && (childUring || blockedOnWord(child.pid, sys, addresses));
    const selfWaiting = (word) => selfUring || blockedOnWord('self', sys, at(selfBases, word * 4));
    const asleep = {
      async: () => childWaiting(at(childBases, WAKE_A * 4)) && selfWaiting(READY_A),
      ring: () => childWaiting(at(childRingBases, RING_PUBLISH_WORD)) && selfWaiting(READY_R),
      sync: () => blockedIn(child.pid, sys.futex, { firstArgs: at(childBases, WAKE_S * 4) }) && selfWaiting(READY_S),
      pipe: () => loopIdle(),
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

    let framesSent = 0;
    const once = async (mode) => {
      if (child.died) throw new Error(`the wake-up child died (${child.died})`);
      if (mode === 'pipe') {
        await settle(mode);
        const reply = new Promise((resolve, reject) => {
          onReply = resolve;
          onReplyFail = reject;
        });
        const t0 = now();
        pipeSince = t0;
        child.stdin.write(ONE_BYTE);
        const r = await reply;
        return { oneWay: r.stamp - t0, roundTrip: r.t - t0 };
      }
      if (mode === 'ring') {
        const k = ++framesSent;
        const pong = waitAsync(control, READY_R * 4, k - 1, 5000);
        pong.catch(() => {});
        await settle(mode);
        const slot = ring.acquire();
        slot.data[0] = k & 0xff;
        slot.data[1] = (k >> 8) & 0xff;
        slot.data[2] = (k >> 16) & 0xff;
        const t0 = now();
        ring.publish(slot, { byteLength: RING_SLOT_BYTES });
        const result = await pong;
        const t2 = now();
        if (result === 'timed-out' || Atomics.load(i32, READY_R) !== k) throw new Error(`no FrameRing acknowledgement of frame ${k} in 5 s`);
        return { oneWay: f64[STAMP_R] - t0, roundTrip: t2 - t0 };
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

    progress(`warm-up: ${preset.warmup} wakes per mechanism, interleaved${canCheck ? '' : ' (no /proc syscall check here: a 3 ms pause before each wake instead)'}`);
    for (let i = 0; i < preset.warmup; i++) {
      for (const mode of MODES) await once(mode);
      if (i % 250 === 249) progress(`warm-up: ${i + 1}/${preset.warmup}`);
    }
    verified = 0;
    unverified = 0;

    for (let round = 0; round < preset.rounds; round++) {
      progress(`round ${round + 1}/${preset.rounds} (${preset.perRound} wakes each${floor.run ? ', and the C floor' : ''})`);
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
      const floorRound = {};
      if (floor.run) {
        for (const mode of FLOOR_MODES) {
          const got = floor.run(mode, preset.perRound);
          floorSamples[mode].push(...got);
          floorRound[mode] = summarize(got).median;
        }
        roundRatios.syncOverFloorFutex.push(perRound.sync.oneWay / floorRound.futex);
        roundRatios.asyncOverFloorEpoll.push(perRound.async.oneWay / floorRound.epoll);
        roundRatios.pipeOverFloorEpoll.push(perRound.pipe.oneWay / floorRound.epoll);
      }
      roundRatios.oneWayPipeOverAsync.push(perRound.pipe.oneWay / perRound.async.oneWay);
      roundRatios.oneWayPipeOverRing.push(perRound.pipe.oneWay / perRound.ring.oneWay);
      roundRatios.oneWayPipeOverSync.push(perRound.pipe.oneWay / perRound.sync.oneWay);
      roundRatios.roundTripPipeOverAsync.push(perRound.pipe.roundTrip / perRound.async.roundTrip);
      roundRatios.roundTripPipeOverSync.push(perRound.pipe.roundTrip / perRound.sync.roundTrip);
    }
    checked = canCheck;
  } finally {
    for (const c of cleanups) c();
    if (control && !control.closed) {
      const i32 = control.view(Int32Array, 0, CONTROL_BYTES / 4);
      Atomics.store(i32, WAKE_A, STOP);
      Atomics.store(i32, WAKE_S, STOP);
      notify(control, WAKE_A * 4);
      notify(control, WAKE_S * 4);
    }
    if (ring) ring.close(); // the child's frames() ends
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
    unlinkQuietly(ringName);
    names.cleanup(); // every name this run handed out
    if (floor.cleanup) floor.cleanup();
  }

  // ---- report
  const data = {
    preset: ctx.preset,
    node: process.version,
    rounds: preset.rounds,
    wakesPerRound: preset.perRound,
    waitBackend: backends,
    asleepCheck: checked ? '/proc/<pid>/task/*/syscall' : 'none (3 ms pause)',
    verifiedAsleep: verified,
    notVerifiedAfter200ms: unverified,
    unit: 'ms',
    oneWay: Object.fromEntries(MODES.map((m) => [m, summarize(samples[m].oneWay)])),
    roundTrip: Object.fromEntries(MODES.map((m) => [m, summarize(samples[m].roundTrip)])),
    floor: floor.run ? Object.fromEntries(FLOOR_MODES.map((m) => [m, summarize(floorSamples[m])])) : { notMeasured: floor.why },
    ratios: Object.fromEntries(Object.entries(roundRatios).map(([k, v]) => [k, summarize(v)])),
    warmupWakesPerMechanism: preset.warmup,
  };
  // the verdicts' statistic: pooled medians (every measured wake of every round), the headline's too
  data.pooledRatios = {
    oneWayPipeOverAsync: data.oneWay.pipe.median / data.oneWay.async.median,
    oneWayPipeOverRing: data.oneWay.pipe.median / data.oneWay.ring.median,
    oneWayPipeOverSync: data.oneWay.pipe.median / data.oneWay.sync.median,
    roundTripPipeOverAsync: data.roundTrip.pipe.median / data.roundTrip.async.median,
  };
  // has each mechanism stopped getting faster? medians of the four quarters of its measured wakes, in order
  const quarters = (list) => [0, 1, 2, 3].map((q) => summarize(list.slice(Math.floor((q * list.length) / 4), Math.floor(((q + 1) * list.length) / 4))).median);
  data.driftOneWay = Object.fromEntries(MODES.map((m) => [m, quarters(samples[m].oneWay)]));

  const us = (x) => (Number.isFinite(x) ? `${fmt(x * 1000)} µs` : '—');
  const cell = (s) => `${us(s.median)} (${us(s.p10)}–${us(s.p90)})`;
  const ratio = (s) => (s.n ? `${fmt(s.median)}× (${fmt(s.p10)}–${fmt(s.p90)})` : '—');
  const backendText = (b) => (b ? `${b.name}${b.reason ? ` (${b.reason})` : ''}` : 'unknown');
  const LABEL = {
    async: '`notify` → `waitAsync` (event loop)',
    ring: '`FrameRing.publish()` → `frames()` (event loop)',
    sync: '`notify` → `wait()` in a worker thread',
    pipe: 'one byte through a pipe (`data` event)',
  };
  const FLOOR_LABEL = {
    futex: 'C floor: `FUTEX_WAKE` → a process blocked in `futex()`',
    pipe: 'C floor: one byte → a process blocked in `read()`',
    epoll: 'C floor: one byte → a process blocked in `epoll_wait()` (an event loop with nothing to run)',
  };
  const lines = [
    `After ${preset.warmup} warm-up wakes per mechanism (interleaved, not recorded), a child process is woken ${preset.perRound} times per mechanism per round, ${preset.rounds} rounds, mechanisms in rotating order; ` +
      (checked
        ? 'before every wake the parent waits until `/proc/<pid>/task/*/syscall` shows the child asleep: its main thread in `epoll_wait` (pipe; and with io_uring, where the kernel holds the wait from the moment `waitAsync()` returns) or its waiting thread in `futex()`/`futex_waitv()` on the very word (`wait()`, and `waitAsync` on the thread backend), and for round trips its own waiting thread too. '
        : 'before every wake the parent pauses 3 ms after the child announced it was about to sleep. ') +
      'One-way: parent stamps CLOCK_MONOTONIC, wakes; the child stamps when its JavaScript runs. Round trip: the child answers the same way and the parent stamps when its JavaScript runs. ' +
      `\`waitAsync\` backend: parent ${backendText(backends.parent)}, child ${backendText(backends.child)}. ` +
      (floor.run
        ? `In every round the C floor (\`bench/native/wake-floor.c\`: two C processes, the same stamps, the same "really asleep" check) takes ${preset.perRound} samples per kind.`
        : `C floor not measured: ${floor.why}.`),
    '',
    '| mechanism | one-way: median (p10–p90) | round trip: median (p10–p90) |',
    '|---|---|---|',
  ];
  for (const m of MODES) {
    lines.push(`| ${LABEL[m]} | ${cell(data.oneWay[m])} | ${cell(data.roundTrip[m])} |`);
  }
  if (floor.run) for (const m of FLOOR_MODES) lines.push(`| ${FLOOR_LABEL[m]} | ${cell(data.floor[m])} | — |`);
  const pooled = (x) => (Number.isFinite(x) ? `**${fmt(x)}×**` : '—');
  lines.push(
    '',
    'Drift: the one-way median of each quarter of the measured wakes, in the order they were made (a mechanism still getting faster would fall from left to right).',
    '',
    '| mechanism | 1st quarter | 2nd | 3rd | 4th |',
    '|---|---|---|---|---|',
    ...MODES.map((m) => `| ${LABEL[m]} | ${data.driftOneWay[m].map(us).join(' | ')} |`),
    '',
    '| ratio | one-way: pooled medians | one-way: per-round ratios, median (p10–p90) | round trip: pooled | round trip: per-round |',
    '|---|---|---|---|---|',
    `| pipe / notify→waitAsync (above 1: notify is faster) | ${pooled(data.pooledRatios.oneWayPipeOverAsync)} | ${ratio(data.ratios.oneWayPipeOverAsync)} | ${pooled(data.pooledRatios.roundTripPipeOverAsync)} | ${ratio(data.ratios.roundTripPipeOverAsync)} |`,
    `| pipe / FrameRing publish→frames() | ${pooled(data.pooledRatios.oneWayPipeOverRing)} | ${ratio(data.ratios.oneWayPipeOverRing)} | — | — |`,
    `| pipe / notify→wait() in a worker | ${pooled(data.pooledRatios.oneWayPipeOverSync)} | ${ratio(data.ratios.oneWayPipeOverSync)} | — | ${ratio(data.ratios.roundTripPipeOverSync)} |`,
  );
  if (floor.run) {
    lines.push(
      `| wait() in a worker / C futex floor (below 1 impossible) | ${pooled(data.oneWay.sync.median / data.floor.futex.median)} | ${ratio(data.ratios.syncOverFloorFutex)} | — | — |`,
      `| notify→waitAsync / C epoll floor | ${pooled(data.oneWay.async.median / data.floor.epoll.median)} | ${ratio(data.ratios.asyncOverFloorEpoll)} | — | — |`,
      `| pipe to an event loop / C epoll floor | ${pooled(data.oneWay.pipe.median / data.floor.epoll.median)} | ${ratio(data.ratios.pipeOverFloorEpoll)} | — | — |`,
    );
  }
  if (checked && unverified > 0) lines.push('', `${unverified} of ${verified + unverified} wakes went out without the sleep confirmed (200 ms limit).`);
  // where the time goes (medians): the kernel's wake (the C floor), Node's way to the callback, frames()'s own steps
  const o = data.oneWay;
  lines.push(
    '',
    'Where the time goes (one-way medians): ' +
      (floor.run ? `the kernel wakes a process blocked in \`epoll_wait()\` in ${us(data.floor.epoll.median)} and one blocked in \`futex()\` in ${us(data.floor.futex.median)} (the C floor); ` : '') +
      `a pipe's byte reaches JavaScript in ${us(o.pipe.median)}; \`notify\` reaches a \`waitAsync\` callback in ${us(o.async.median)} ` +
      `(${backendText(backends.child)}: the completion is read on the event loop, then the promise resolves); ` +
      `\`frames()\` adds ${us(o.ring.median - o.async.median)} to that (its async iterator, the seqlock read of the slot, the frame object).`,
  );

  const r = data.ratios;
  const goals = [
    {
      goal: `\`notify\` → \`waitAsync\` one-way at or below a pipe's after equal warm-up (pooled medians: pipe / notify ≥ 1.0×)`,
      met: Number.isFinite(data.pooledRatios.oneWayPipeOverAsync) ? data.pooledRatios.oneWayPipeOverAsync >= 1 : undefined,
      figure: `${fmt(data.pooledRatios.oneWayPipeOverAsync)}×: ${cell(data.oneWay.async)} vs pipe ${cell(data.oneWay.pipe)}, ${preset.warmup} warm-up wakes each (per-round ratios ${ratio(r.oneWayPipeOverAsync)}; backend ${backendText(backends.child)})`,
    },
    {
      goal: "`FrameRing.frames()` delivers at or below a pipe's one-way latency after equal warm-up (pooled medians: pipe / ring ≥ 1.0×)",
      met: Number.isFinite(data.pooledRatios.oneWayPipeOverRing) ? data.pooledRatios.oneWayPipeOverRing >= 1 : undefined,
      figure: `${fmt(data.pooledRatios.oneWayPipeOverRing)}×: ${cell(data.oneWay.ring)} vs pipe ${cell(data.oneWay.pipe)} (per-round ratios ${ratio(r.oneWayPipeOverRing)}); frames() adds ${us(data.oneWay.ring.median - data.oneWay.async.median)} to a waitAsync wake`,
    },
    {
      goal: '`wait()` in a worker within 3× of the C futex floor measured in the same run',
      met: floor.run ? data.oneWay.sync.median / data.floor.futex.median <= 3 : undefined,
      figure: floor.run ? `${fmt(data.oneWay.sync.median / data.floor.futex.median)}× (pooled medians): ${cell(data.oneWay.sync)} vs C ${cell(data.floor.futex)} (per-round ratios ${ratio(r.syncOverFloorFutex)})` : `not measured: ${floor.why}`,
    },
  ];
  const headlines = [
    {
      key: 'wakeup.notify',
      text:
        `\`notify\` → \`waitAsync\` in another process: ${us(o.async.median)} one way (p10–p90 ${us(o.async.p10)}–${us(o.async.p90)}), against ${us(o.pipe.median)} for a byte through a pipe to an event loop, ` +
        `after ${preset.warmup} warm-up wakes each: the pipe takes ${fmt(data.pooledRatios.oneWayPipeOverAsync)}× as long (pooled medians; per-round ratios ${ratio(r.oneWayPipeOverAsync)})`,
    },
    {
      key: 'wakeup.frames',
      text:
        `\`FrameRing.publish()\` → \`frames()\` in another process: ${us(o.ring.median)} one way, the pipe ${fmt(data.pooledRatios.oneWayPipeOverRing)}× that ` +
        `(${data.pooledRatios.oneWayPipeOverRing >= 1 ? 'at or below a pipe' : 'slower than a warm pipe'}; \`frames()\` adds ${us(o.ring.median - o.async.median)} to a \`waitAsync\` wake)`,
    },
  ];
  return { markdown: lines.join('\n'), data, goals, headlines };
}

const ONE_BYTE = Buffer.from([1]);

if (!isMainThread && workerData && workerData.role === 'wakeup-worker') {
  workerMain(workerData.name);
} else if (isMainThread && require.main === module && process.argv[2] === '--wakeup-child') {
  childMain(process.argv[3], process.argv[4]);
}

module.exports = {
  id: 'wakeup',
  title: 'Wake-up latency: notify and FrameRing against a pipe and the C floor',
  run,
};
