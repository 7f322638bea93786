#!/usr/bin/env node
'use strict';
// An independent check of the wake-up headlines (bench/suites/wakeup.js), written apart from the
// harness (no bench/lib, no suite code): how long until another process's JavaScript runs after
//   async  notify() on a word it sleeps on in waitAsync()
//   ring   FrameRing.publish() of a 64-byte frame it awaits in frames()
//   pipe   one byte written into its stdin ('data' event)
// One-way: this process stamps CLOCK_MONOTONIC (process.hrtime) and wakes; the child stamps when
// its code runs and reports the stamp. Every mechanism gets the same warm-up, interleaved; then
// rounds in rotating order, a pause before each wake so the child sleeps. Prints one JSON object:
// { asyncUs, ringUs, pipeUs, pipeOverAsync, pipeOverRing } — pooled medians (µs) and their ratios,
// each ratio with the p10–p90 of the per-round ratios.
//
//   node bench/check/wake.js [--warmup 1500] [--rounds 8] [--per-round 50]
const { fork } = require('node:child_process');
const { SharedMemory, FrameRing, waitAsync, notify } = require('@shmkit/shm');

const ms = () => Number(process.hrtime.bigint()) / 1e6;

if (process.argv[2] === '--child') {
  const shm = SharedMemory.attach(process.argv[3]);
  const i32 = shm.view(Int32Array, 0, 4);
  const f64 = shm.view(Float64Array, 8, 3); // byte 64: stamps of async, ring, pipe
  const ring = FrameRing.attach(process.argv[4]);
  process.on('disconnect', () => process.exit(0));
  process.stdin.on('data', () => {
    f64[2] = ms();
    process.send('p');
  });
  (async () => {
    let seen = Atomics.load(i32, 0);
    for (;;) {
      await waitAsync(shm, 0, seen);
      const t = ms();
      const v = Atomics.load(i32, 0);
      if (v === seen) continue;
      seen = v;
      f64[0] = t;
      process.send('a');
    }
  })();
  (async () => {
    for await (const frame of ring.frames({ includeLatest: false })) {
      const t = ms();
      if (!frame.valid()) continue;
      f64[1] = t;
      process.send('r');
    }
  })();
  process.send('ready');
} else {
  main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}

function args() {
  const o = { warmup: 1500, rounds: 8, perRound: 50 };
  for (let i = 2; i < process.argv.length; i += 2) {
    const key = { '--warmup': 'warmup', '--rounds': 'rounds', '--per-round': 'perRound' }[process.argv[i]];
    const value = Number(process.argv[i + 1]);
    if (!key || !Number.isInteger(value) || value < 1) {
      console.error('usage: node bench/check/wake.js [--warmup N] [--rounds N] [--per-round N]');
      process.exit(2);
    }
    o[key] = value;
  }
  return o;
}

function quantile(list, p) {
  const s = [...list].sort((a, b) => a - b);
  const i = p * (s.length - 1);
  const lo = Math.floor(i);
  return s[lo] + (s[Math.ceil(i)] - s[lo]) * (i - lo);
}

async function main() {
  const o = args();
  const tag = `chk${process.pid}_${Date.now().toString(36)}`;
  const shm = SharedMemory.create(128, { name: `${tag}_c` });
  const ring = FrameRing.create({ slots: 4, slotBytes: 64, name: `${tag}_r`, track: false });
  const child = fork(__filename, ['--child', shm.name, ring.name], { stdio: ['pipe', 'ignore', 'inherit', 'ipc'] });
  try {
    const i32 = shm.view(Int32Array, 0, 4);
    const f64 = shm.view(Float64Array, 8, 3);
    const nextMessage = () => new Promise((resolve) => child.once('message', resolve));
    if ((await nextMessage()) !== 'ready') throw new Error('the child did not start');
    SharedMemory.unlink(shm.name);
    ring.unlink();
    const pause = () => new Promise((resolve) => setTimeout(resolve, 2));
    const wake = {
      async: async () => {
        const reply = nextMessage();
        const t0 = ms();
        Atomics.add(i32, 0, 1);
        notify(shm, 0);
        await reply;
        return f64[0] - t0;
      },
      ring: async () => {
        const reply = nextMessage();
        const slot = ring.acquire();
        const t0 = ms();
        ring.publish(slot, { byteLength: 64 });
        await reply;
        return f64[1] - t0;
      },
      pipe: async () => {
        const reply = nextMessage();
        const t0 = ms();
        child.stdin.write('x');
        await reply;
        return f64[2] - t0;
      },
    };
    const modes = Object.keys(wake);
    for (let i = 0; i < o.warmup; i++) {
      for (const m of modes) {
        await pause();
        await wake[m]();
      }
    }
    const all = Object.fromEntries(modes.map((m) => [m, []]));
    const perRound = { pipeOverAsync: [], pipeOverRing: [] };
    for (let r = 0; r < o.rounds; r++) {
      const med = {};
      for (let k = 0; k < modes.length; k++) {
        const m = modes[(k + r) % modes.length];
        const got = [];
        for (let i = 0; i < o.perRound; i++) {
          await pause();
          got.push(await wake[m]());
        }
        all[m].push(...got);
        med[m] = quantile(got, 0.5);
      }
      perRound.pipeOverAsync.push(med.pipe / med.async);
      perRound.pipeOverRing.push(med.pipe / med.ring);
    }
    const us = (m) => quantile(all[m], 0.5) * 1000;
    const ratio = (num, den, key) => ({ pooled: us(num) / us(den), p10: quantile(perRound[key], 0.1), p90: quantile(perRound[key], 0.9) });
    console.log(
      JSON.stringify({
        warmup: o.warmup,
        rounds: o.rounds,
        perRound: o.perRound,
        asyncUs: us('async'),
        ringUs: us('ring'),
        pipeUs: us('pipe'),
        pipeOverAsync: ratio('pipe', 'async', 'pipeOverAsync'),
        pipeOverRing: ratio('pipe', 'ring', 'pipeOverRing'),
      }),
    );
  } finally {
    child.kill();
    ring.close();
    shm.close();
    for (const name of [shm.name, ring.name]) {
      try {
        SharedMemory.unlink(name);
      } catch {}
    }
  }
}
