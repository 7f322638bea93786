#!/usr/bin/env node
'use strict';
// An independent check of the 8 MiB end-to-end headline (bench/suites/frames.js), written apart from
// the harness (no bench/lib, no suite code). One 8 MiB frame at a time from this process to a child:
// this process renders frame n (its number, a checksum, a body that changes with n), stamps
// CLOCK_MONOTONIC and hands it over; the child sums every word of it against the checksum, then
// stamps. The same work every way:
//   ring     rendered in a FrameRing slot, published; the child checks it in the slot
//   ipc      rendered in this process's Buffer, sent with child_process IPC ('advanced'); ipcGc: the
//            same, with this process's garbage collected before each batch (as the suite does)
//   check    the ring child's check of its own copy of each 8 MiB frame (no transport; the same
//            process and code as the ring's check, on memory it owns)
//   wake     a 64-byte frame through the same ring (the wake-up alone)
// Prints one JSON object with pooled medians (ms) and the ratios ring / (check + wake) and
// ipc / ring, each with the p10–p90 of its per-round ratios.
//
//   node bench/check/frame-8mib.js [--rounds 5] [--per-round 6]
const { fork } = require('node:child_process');
const { FrameRing, SharedMemory } = require('@shmkit/shm');

const BYTES = 1920 * 1080 * 4;
const ms = () => Number(process.hrtime.bigint()) / 1e6;

/** Every word after the 8-byte header, summed mod 2^32, against the header's checksum. */
function check(bytes, n) {
  if (bytes.byteOffset % 4 !== 0) bytes = new Uint8Array(bytes); // IPC's Buffer may sit unaligned: an aligned copy (as the suite does)
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 2);
  if (words[0] !== n >>> 0) return false;
  let sum = 0;
  for (let i = 2; i < words.length; i++) sum = (sum + words[i]) | 0;
  return sum >>> 0 === words[1];
}

/** Frame n into `dest`: the body is a window of a fixed table that slides with n. */
function renderer(bytes) {
  const bodyWords = (bytes >>> 2) - 2;
  const table = new Uint32Array(bodyWords + 1024);
  for (let i = 0; i < table.length; i++) table[i] = Math.imul(i + 1, 2654435761) >>> 0;
  return (dest, n) => {
    const words = new Uint32Array(dest.buffer, dest.byteOffset, bytes >>> 2);
    const start = (n * 7) % 1024;
    const body = table.subarray(start, start + bodyWords);
    words.set(body, 2);
    let sum = 0;
    for (let i = 0; i < body.length; i += 1) sum = (sum + body[i]) | 0; // rendering: not timed
    words[0] = n;
    words[1] = sum >>> 0;
  };
}

/**
 * The check's JIT warm-up, the same in both children, before any frame: small frames, so that V8
 * optimizes the whole function. A first call on 8 MiB compiles only its loop (on-stack replacement),
 * and Node 22's V8 then deoptimizes at the loop's exit on every later call: its check ran 5× slower
 * (10 ms against 1.5 ms, measured) and the ratios no longer compared transports.
 */
function warmCheck() {
  const small = new Uint8Array(64);
  const render = renderer(64);
  for (let n = 0; n < 2000; n++) {
    render(small, n);
    if (!check(small, n) || check(small, n + 1)) throw new Error('the check is wrong');
  }
}

if (process.argv[2] === '--ring-child') {
  warmCheck();
  const ring = FrameRing.attach(process.argv[3]);
  const mine = new Uint8Array(BYTES);
  process.on('disconnect', () => process.exit(0));
  (async () => {
    for await (const frame of ring.frames({ includeLatest: false })) {
      const ok = check(frame.data.subarray(0, frame.byteLength), frame.frameNumber);
      const t = ms();
      const valid = frame.valid();
      // the same check of a copy this process owns: the in-process reference
      const copy = mine.subarray(0, frame.byteLength);
      copy.set(frame.data.subarray(0, frame.byteLength));
      const c0 = ms();
      const okCopy = check(copy, frame.frameNumber);
      const checkMs = ms() - c0;
      process.send({ latency: t - frame.timestamp, checkMs, ok: ok && okCopy && valid });
    }
  })();
  process.send('ready');
} else if (process.argv[2] === '--ipc-child') {
  warmCheck();
  process.on('message', (m) => {
    const ok = check(m.frame, m.n);
    const t = ms();
    process.send({ latency: t - m.t, ok });
  });
  process.send('ready');
} else {
  main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}

function quantile(list, p) {
  const s = [...list].sort((a, b) => a - b);
  const i = p * (s.length - 1);
  const lo = Math.floor(i);
  return s[lo] + (s[Math.ceil(i)] - s[lo]) * (i - lo);
}

async function main() {
  const o = { rounds: 5, perRound: 6 };
  for (let i = 2; i < process.argv.length; i += 2) {
    const key = { '--rounds': 'rounds', '--per-round': 'perRound' }[process.argv[i]];
    const value = Number(process.argv[i + 1]);
    if (!key || !Number.isInteger(value) || value < 1) {
      console.error('usage: node bench/check/frame-8mib.js [--rounds N] [--per-round N]');
      process.exit(2);
    }
    o[key] = value;
  }
  require('node:v8').setFlagsFromString('--expose-gc');
  const gc = require('node:vm').runInNewContext('gc');
  const render = renderer(BYTES);
  const renderSmall = renderer(64);
  const ring = FrameRing.create({ slots: 3, slotBytes: BYTES, name: `chk${process.pid}_${Date.now().toString(36)}`, track: false });
  const ringChild = fork(__filename, ['--ring-child', ring.name], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const ipcChild = fork(__filename, ['--ipc-child'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], serialization: 'advanced' });
  const next = (child) => new Promise((resolve) => child.once('message', resolve));
  try {
    await Promise.all([next(ringChild), next(ipcChild)]);
    ring.unlink();
    const own = Buffer.alloc(BYTES);
    let n = 0;
    const pause = () => new Promise((resolve) => setTimeout(resolve, 2));
    let lastCheck = NaN;
    const viaRing = async (small) => {
      const k = ring.publishCount;
      const slot = ring.acquire();
      (small ? renderSmall : render)(slot.data, k);
      const reply = next(ringChild);
      ring.publish(slot, { byteLength: small ? 64 : BYTES, timestamp: ms() });
      const r = await reply;
      if (!r.ok) throw new Error(`ring frame ${k} failed its check`);
      if (!small) lastCheck = r.checkMs;
      return r.latency;
    };
    const viaIpc = async () => {
      const k = n++ >>> 0;
      render(own, k);
      const reply = next(ipcChild);
      ipcChild.send({ t: ms(), n: k, frame: own });
      const r = await reply;
      if (!r.ok) throw new Error(`IPC frame ${k} failed its check`);
      return r.latency;
    };
    const checks = [];
    const modes = {
      ring: async () => {
        const latency = await viaRing(false);
        checks.push(lastCheck);
        return latency;
      },
      wake: () => viaRing(true),
      ipc: viaIpc,
      ipcGc: viaIpc, // the same, with this process's garbage collected before each batch (below), as the suite does
    };
    const names = Object.keys(modes);
    for (const m of names) for (let i = 0; i < 3; i++) await modes[m](); // warm-up, each the same
    checks.length = 0;
    const all = Object.fromEntries([...names, 'check'].map((m) => [m, []]));
    const perRound = { ringOverCheckPlusWake: [], ipcOverRing: [], ipcGcOverRing: [] };
    for (let r = 0; r < o.rounds; r++) {
      const med = {};
      for (let k = 0; k < names.length; k++) {
        const m = names[(k + r) % names.length];
        const got = [];
        if (m === 'ipcGc') gc();
        for (let i = 0; i < o.perRound; i++) {
          await pause();
          got.push(await modes[m]());
        }
        all[m].push(...got);
        med[m] = quantile(got, 0.5);
        if (m === 'ring') {
          const mine = checks.splice(0);
          all.check.push(...mine);
          med.check = quantile(mine, 0.5);
        }
      }
      perRound.ringOverCheckPlusWake.push(med.ring / (med.check + med.wake));
      perRound.ipcOverRing.push(med.ipc / med.ring);
      perRound.ipcGcOverRing.push(med.ipcGc / med.ring);
    }
    const p = (m) => quantile(all[m], 0.5);
    const spread = (key, pooled) => ({ pooled, p10: quantile(perRound[key], 0.1), p90: quantile(perRound[key], 0.9) });
    console.log(
      JSON.stringify({
        bytes: BYTES,
        rounds: o.rounds,
        perRound: o.perRound,
        ringMs: p('ring'),
        ipcMs: p('ipc'),
        ipcGcMs: p('ipcGc'),
        checkMs: p('check'),
        wakeMs: p('wake'),
        ringOverCheckPlusWake: spread('ringOverCheckPlusWake', p('ring') / (p('check') + p('wake'))),
        ipcOverRing: spread('ipcOverRing', p('ipc') / p('ring')),
        ipcGcOverRing: spread('ipcGcOverRing', p('ipcGc') / p('ring')),
      }),
    );
  } finally {
    ringChild.kill();
    ipcChild.kill();
    ring.close();
    try {
      SharedMemory.unlink(ring.name);
    } catch {}
  }
}
