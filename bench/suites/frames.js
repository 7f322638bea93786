'use strict';
// Suite "frames": moving one frame from this process to another, with shmkit's
// FrameRing against what users would otherwise pick — child_process IPC
// ('advanced' and 'json' serialization), a Unix socket with length-prefixed
// frames, worker_threads postMessage with a transferred ArrayBuffer (an
// in-process reference) — and one memcpy of the frame (the physical limit).
//
// Every frame has content a receiver can check (see FrameSource): the producer
// renders frame n — writes every byte, as a renderer, decoder or capture would —
// and each receiver verifies the frame number and sums every word against the
// checksum, after its stamp and before it acknowledges; a wrong, stale or torn
// frame fails the run instead of passing as fast.
//
// Latency: the sender stamps (CLOCK_MONOTONIC, shared by every process on
// Linux) once the frame is produced, and the receiver stamps when it holds the
// whole frame. Producing is never timed; moving is, for every transport alike:
// - FrameRing, rendered in place: the producer renders into the slot it
//   acquired (how the ring is meant to be used, and what examples/app does),
//   stamps, publish()es; the reader stamps when it wakes and the slot's seqlock
//   says the frame is stable (zero-copy), and again after copying it out.
// - FrameRing, copy-in: the producer renders into its own buffer, stamps, then
//   copies the frame into the slot and publishes (ring.write()).
// - IPC, socket: the producer renders into its own buffer, stamps, sends it
//   from there; the receiver holds it in a buffer of its own.
// - one wake-up: a 64-byte frame rendered in place on the same ring between the
//   same two processes: publish → futex wake → the reader's waitAsync resolves
//   → seqlock read. The fixed cost under every ring frame.
// One frame in flight, a short pause between frames so every receiver starts
// asleep. Before each batch this process collects its garbage and waits until
// the machine is quiet (at most 15 % of the CPUs busy over 20 ms, 300 ms at
// most): a receiver still freeing the last 33 MiB frames, or a collector
// running on the other CPU, is not measured as part of the next transport.
// Transports are interleaved in rounds (each round measures every
// transport with a batch of frames, in a rotating order); ratios are computed
// per round and the median of the per-round ratios is reported.
//
// Throughput: the ring's writer publishes as fast as it can for a fixed time —
// copying a produced frame in, or rendering each frame in place — while a
// reader process copies out every frame it receives; frames the reader received
// per second (and how many it skipped or found torn), over several streams,
// with the conditions of each (load average at its start, CPU busy share, how
// often the reader found the next frame already published).
//
// Child roles (this same file, forked): --child-ring, --child-ipc, --child-socket;
// a worker_threads worker runs it with workerData.role === WORKER_ROLE.

const { fork } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { Worker, isMainThread, parentPort, workerData } = require('node:worker_threads');
const { summarize, now, fmt } = require('../lib/stats');
const { Names } = require('../lib/names');
const { collectGarbage, cpuTimes, settleMachine } = require('../lib/proc');


const KiB = 1024;
const MiB = 1024 * 1024;
const WORKER_ROLE = 'shmkit-bench-frames-worker';

const SIZES = {
  '1KiB': { key: '1KiB', label: '1 KiB', bytes: KiB },
  '1MiB': { key: '1MiB', label: '1 MiB', bytes: MiB },
  '8MiB': { key: '8MiB', label: '8 MiB (1920×1080 RGBA)', bytes: 1920 * 1080 * 4 },
  '33MiB': { key: '33MiB', label: '33 MiB (3840×2160 RGBA)', bytes: 3840 * 2160 * 4 },
};

// frames: latency frames per transport per size per round (after the warm-up round).
// json: { frames per round, rounds it is measured in (from the first), warm-up frames };
// sizes missing from json are not measured with JSON ('—').
const PRESETS = {
  tiny: {
    sizes: ['1KiB', '1MiB'],
    rounds: 1,
    warmup: 2,
    frames: { '1KiB': 5, '1MiB': 4 },
    json: { '1KiB': { frames: 2, rounds: 1, warmup: 1 } },
    memcpySamples: 5,
    streamSizes: ['1MiB'],
    streamSeconds: 0.3,
  },
  quick: {
    sizes: ['1KiB', '1MiB', '8MiB', '33MiB'],
    rounds: 8,
    warmup: 3,
    frames: { '1KiB': 20, '1MiB': 12, '8MiB': 8, '33MiB': 5 },
    json: {
      '1KiB': { frames: 4, rounds: Infinity, warmup: 1 },
      '1MiB': { frames: 2, rounds: Infinity, warmup: 1 },
    },
    memcpySamples: 10,
    streamSizes: ['8MiB', '33MiB'],
    streamSeconds: 1,
  },
  full: {
    sizes: ['1KiB', '1MiB', '8MiB', '33MiB'],
    rounds: 12,
    warmup: 5,
    frames: { '1KiB': 40, '1MiB': 24, '8MiB': 16, '33MiB': 10 },
    json: {
      '1KiB': { frames: 8, rounds: Infinity, warmup: 2 },
      '1MiB': { frames: 3, rounds: Infinity, warmup: 1 },
      '8MiB': { frames: 1, rounds: 4, warmup: 0 },
      '33MiB': { frames: 1, rounds: 3, warmup: 0 },
    },
    memcpySamples: 20,
    streamSizes: ['8MiB', '33MiB'],
    streamSeconds: 3,
  },
};

const GAP_MS = 1; // pause before each frame: the receiver is asleep when it comes
const ACK_TIMEOUT_MS = 20000; // a ring reader that stays silent this long has failed
const RING_SLOTS = 4; // as the README's 4K example

// The ring reader tells frames apart by their width.
const KIND_LATENCY = 1;
const KIND_STREAM = 2;
const KIND_SYNC = 3;

// Control segment (parent ↔ ring reader): Int32 words, then Float64 values at byte 64.
const CONTROL_BYTES = 128;
const CONTROL_WORDS = 16;
const CONTROL_VALUES = 8;
const C_ACK = 0; // reader increments and notifies after each latency or sync frame
const C_VERDICT = 1; // the last latency frame: V_OK, V_TORN or V_WRONG
const C_RECEIVED = 2; // stream counters, written by the reader on a sync frame
const C_DROPPED = 3;
const C_TORN = 4;
const C_WRONG = 5; // stream frames with the wrong number, plus 1 if the last one's checksum failed
const C_READY = 6; // stream frames after which the next one was already published (the reader did not sleep)
const C_FAULTS = 7; // the reader's minor page faults since the previous sync frame
const F_IN_PLACE = 0; // latency of the last latency frame, read in place (ms)
const F_COPIED = 1; // … and after copying it out (ms)
const F_WINDOW_START = 2; // stream window (CLOCK_MONOTONIC ms), written by the parent
const F_WINDOW_END = 3;
const F_FRAME = 4; // frame number of the last latency frame
const F_READER_CPU = 5; // the reader's CPU time (user + system, ms) since the previous sync frame
const F_USED = 6; // latency of the last latency frame, every word checked in place (ms): end to end
const F_CHECK = 7; // the reader's check alone, of its own copy of that frame (ms)
const V_OK = 0;
const V_TORN = 1;
const V_WRONG = 2;

const WAKE_BYTES = 64; // the frame of the "one wake-up" measurement

// Columns, in table order. A ring column and its "+ copy-out" come from the same frames.
const TRANSPORTS = [
  { id: 'ringInPlace', name: 'FrameRing, rendered in place (checked in place)', chart: 'FrameRing, rendered in place' },
  { id: 'ringInPlaceCopy', name: 'in place, copied out and checked', chart: 'FrameRing in place + copy-out' },
  { id: 'ringCopyIn', name: 'FrameRing, copy-in', chart: 'FrameRing, copy-in' },
  { id: 'ipcAdvanced', name: "IPC 'advanced' (GC before each batch)", chart: "IPC 'advanced'" },
  { id: 'ipcAdvancedPlain', name: "IPC 'advanced' from a plain process", chart: "IPC 'advanced', plain sender" },
  { id: 'ipcJson', name: "IPC 'json'", chart: "IPC 'json'" },
  { id: 'socket', name: 'Unix socket', chart: 'Unix socket' },
  { id: 'worker', name: 'worker transfer (in-process)', chart: 'worker (in-process)' },
  { id: 'memcpy', name: 'memcpy', chart: 'one memcpy' },
  { id: 'check', name: "the consumer's check alone (of its own copy, in the reader)", chart: "the consumer's check alone" },
  { id: 'wake', name: `one wake-up (${WAKE_BYTES} B ring frame, held: wake-up only)`, chart: 'one wake-up' },
];
// Measured alongside, reported in data and a note: a copy into a freshly
// allocated buffer, which a receiver that gets a new Buffer per frame pays
// (first-touch page faults; very expensive on some VMs); copy-in with the
// reader's copy-out; and copy-in's copy into the slot alone, which the writer
// times (a memcpy into memory the cache does not hold, unlike `memcpy`'s
// target, copied into again and again).
const REFERENCES = [
  { id: 'memcpyFresh', name: 'memcpy into a new buffer', chart: 'memcpy into a new buffer' },
  { id: 'ringCopyInCopy', name: 'FrameRing copy-in + copy-out', chart: 'FrameRing copy-in + copy-out' },
  { id: 'slotCopy', name: "copy-in's acquire() + copy into the slot (writer-timed)", chart: 'acquire + copy into the slot' },
  { id: 'ringInPlaceHeld', name: 'FrameRing in place, held (wake-up only: before a byte is read)', chart: 'FrameRing in place, held' },
];

// Stream variants: what the writer does per frame.
const STREAMS = [
  { id: 'copyIn', name: 'copy-in (writer copies a produced frame into the slot)' },
  { id: 'inPlace', name: 'rendered in place (writer renders each frame into the slot)' },
];

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const tick = () => new Promise((resolve) => setImmediate(resolve));

// ------------------------------------------------------------------ frame content

const { FrameSource, verifyFrame } = require('../lib/frame-source');

// ------------------------------------------------------------------ children

async function childRing(ringName, controlName, maxBytes) {
  const { FrameRing, SharedMemory, notify } = require('@shmkit/shm');
  const ring = FrameRing.attach(ringName);
  const control = SharedMemory.attach(controlName);
  const words = control.view(Int32Array, 0, CONTROL_WORDS);
  const values = control.view(Float64Array, CONTROL_WORDS * 4, CONTROL_VALUES);
  const mine = new Uint8Array(maxBytes); // the reader's own copy, pages touched up front
  const mineWords = new Uint32Array(mine.buffer, 0, 1);
  process.on('disconnect', () => process.exit(0));
  const frames = ring.frames({ includeLatest: false });
  process.send('ready');
  const acknowledge = () => {
    Atomics.add(words, C_ACK, 1);
    notify(control, C_ACK * 4);
  };
  let received = 0;
  let dropped = 0;
  let torn = 0;
  let wrong = 0;
  let ready = 0;
  let last = -1; // the frame number now in `mine` (stream frames), -1 if it was torn
  let lastLength = 0;
  let faults = process.resourceUsage().minorPageFault;
  let cpu = process.cpuUsage();
  for await (const frame of frames) {
    if (frame.width === KIND_LATENCY) {
      // Held: the reader woke and the seqlock says the slot is stable (zero-copy): the wake-up alone,
      // before a byte is read.
      const held = frame.valid() ? now() : NaN;
      // Used: every word checked in place (number and checksum), as every receiver does: end to end.
      const inPlaceWhy = verifyFrame(frame.data, frame.frameNumber);
      const used = now();
      // The other way to use it: copy it out, then check the copy (timed on its own, added to held).
      const c0 = now();
      const copy = mine.subarray(0, frame.byteLength);
      copy.set(frame.data);
      const c1 = now();
      const copyWhy = verifyFrame(copy, frame.frameNumber);
      const c2 = now();
      const copyUse = c2 - c0;
      // the check alone, in this process, on memory it owns (just copied: warm): the reference the
      // end-to-end figure is held to. Measured here, where the same code checks every frame: a check in
      // another process runs with another JIT history (on small frames first, 1.8× slower here).
      values[F_CHECK] = c2 - c1;
      // Stable until now: what was checked is what the writer published.
      const stable = frame.valid();
      values[F_IN_PLACE] = held - frame.timestamp;
      values[F_USED] = used - frame.timestamp;
      values[F_COPIED] = held - frame.timestamp + copyUse;
      values[F_FRAME] = frame.frameNumber;
      words[C_VERDICT] = !stable || Number.isNaN(held) ? V_TORN : inPlaceWhy === null && copyWhy === null ? V_OK : V_WRONG;
      acknowledge();
    } else if (frame.width === KIND_STREAM) {
      mine.set(frame.data); // the receiver copies every frame it gets
      const ok = frame.valid();
      const t = now();
      // every frame's number; the last one copied, if stable, word by word at the sync frame
      last = ok ? frame.frameNumber : -1;
      lastLength = frame.byteLength;
      if (t >= values[F_WINDOW_START] && t < values[F_WINDOW_END]) {
        if (ok) {
          received++;
          dropped += frame.dropped;
          if (mineWords[0] !== frame.frameNumber >>> 0) wrong++;
        } else {
          torn++; // overwritten while copying: not received
        }
        if (ring.publishCount - 1 > frame.frameNumber) ready++; // the next frame is already there: no sleep
      }
    } else if (frame.width === KIND_SYNC) {
      if (last >= 0 && verifyFrame(mine.subarray(0, lastLength), last) !== null) wrong++;
      const f = process.resourceUsage().minorPageFault;
      Atomics.store(words, C_RECEIVED, received);
      Atomics.store(words, C_DROPPED, dropped);
      Atomics.store(words, C_TORN, torn);
      Atomics.store(words, C_WRONG, wrong);
      Atomics.store(words, C_READY, ready);
      Atomics.store(words, C_FAULTS, f - faults);
      const spent = process.cpuUsage(cpu);
      values[F_READER_CPU] = (spent.user + spent.system) / 1000;
      received = dropped = torn = wrong = ready = 0;
      last = -1;
      faults = f;
      cpu = process.cpuUsage();
      acknowledge();
    }
  }
  ring.close();
  control.close();
  process.exit(0);
}

function childIpc(serialization) {
  process.on('disconnect', () => process.exit(0));
  process.on('message', (message) => {
    // 'json' delivers the Buffer as { type: 'Buffer', data: [...] }: the
    // receiver turns it back into bytes before it holds the frame.
    const frame = serialization === 'json' ? Buffer.from(message.frame.data) : message.frame;
    const held = now();
    const wrong = verifyFrame(frame, message.n); // every word, as every receiver does
    const used = now();
    process.send({ latency: used - message.t, held: held - message.t, bytes: frame.byteLength, n: message.n, wrong });
  });
  process.send('ready');
}

/**
 * The plain IPC sender: a process of its own (it never forces a garbage collection, and runs nothing
 * else) that renders each frame into its own Buffer when asked, stamps it and sends it with
 * child_process IPC ('advanced') to a receiver it forked, which checks it as every receiver does.
 * What an app that sends frames by IPC is: its serializer's buffers are freed only when V8 collects
 * them, so each big send may take fresh pages from the allocator.
 */
function childIpcSender() {
  const receiver = fork(__filename, ['--child-ipc', 'advanced'], { serialization: 'advanced', stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv: [] });
  const ready = new Promise((resolve) => receiver.once('message', resolve));
  const sources = new Map();
  const own = new Map();
  receiver.on('exit', () => process.exit(1));
  process.on('disconnect', () => {
    receiver.kill();
    process.exit(0);
  });
  process.on('message', async ({ bytes, n }) => {
    await ready;
    if (!sources.has(bytes)) {
      sources.set(bytes, new FrameSource(bytes));
      own.set(bytes, Buffer.alloc(bytes));
    }
    const frame = sources.get(bytes).render(own.get(bytes), n);
    const reply = new Promise((resolve) => receiver.once('message', resolve));
    receiver.send({ t: now(), n, frame });
    process.send(await reply);
  });
  ready.then(() => process.send('ready'));
}

// Socket frames: a header (u32 length, u32 frame number, f64 stamp), then the
// frame; replies: f64 latency (checked), u32 length, u32 frame number, u32 1 if verified, f64 latency (held).
const SOCKET_HEADER = 16;
const SOCKET_REPLY = 28;

function childSocket(socketPath) {
  const socket = net.connect(socketPath);
  const header = Buffer.alloc(SOCKET_HEADER);
  let headerHave = 0;
  let frame = null;
  let have = 0;
  let n = 0;
  let stamp = 0;
  socket.on('data', (chunk) => {
    let offset = 0;
    while (offset < chunk.length) {
      if (frame === null) {
        const k = Math.min(SOCKET_HEADER - headerHave, chunk.length - offset);
        chunk.copy(header, headerHave, offset, offset + k);
        headerHave += k;
        offset += k;
        if (headerHave < SOCKET_HEADER) return;
        headerHave = 0;
        n = header.readUInt32LE(4);
        stamp = header.readDoubleLE(8);
        frame = Buffer.allocUnsafe(header.readUInt32LE(0)); // the receiver's own contiguous frame
        have = 0;
      }
      const k = Math.min(frame.length - have, chunk.length - offset);
      chunk.copy(frame, have, offset, offset + k);
      have += k;
      offset += k;
      if (have === frame.length) {
        const held = now();
        const ok = verifyFrame(frame, n) === null;
        const used = now();
        const reply = Buffer.alloc(SOCKET_REPLY);
        reply.writeDoubleLE(used - stamp, 0);
        reply.writeUInt32LE(frame.length, 8);
        reply.writeUInt32LE(n, 12);
        reply.writeUInt32LE(ok ? 1 : 0, 16);
        reply.writeDoubleLE(held - stamp, 20);
        socket.write(reply);
        frame = null;
      }
    }
  });
  socket.on('end', () => process.exit(0));
  socket.on('error', () => process.exit(1));
  process.on('disconnect', () => process.exit(0));
}

function workerMain() {
  parentPort.on('message', (message) => {
    const held = now();
    const frame = new Uint8Array(message.buffer);
    const wrong = verifyFrame(frame, message.n);
    const used = now();
    parentPort.postMessage({ latency: used - message.t, held: held - message.t, bytes: frame.byteLength, n: message.n, wrong });
  });
  parentPort.postMessage('ready');
}

// ------------------------------------------------------------------ parent side

/** A forked child or a worker, whose death rejects whatever waits on it. */
class Peer {
  constructor(name, handle, kind) {
    this.name = name;
    this.handle = handle;
    this.kind = kind; // 'process' | 'worker'
    this.exited = false;
    this.stopping = false;
    this.controller = new AbortController();
    this.died = new Promise((_, reject) => {
      const fail = (error) => {
        if (!this.controller.signal.aborted) this.controller.abort(error);
        reject(error);
      };
      handle.once('exit', (code, signal) => {
        this.exited = true;
        fail(new Error(`frames: the ${name} ${kind === 'worker' ? 'worker' : 'process'} exited (code ${code}${signal ? `, signal ${signal}` : ''})`));
      });
      handle.once('error', (error) => fail(new Error(`frames: the ${name} ${kind}: ${error.message}`)));
    });
    this.died.catch(() => {});
  }

  /** `promise`, or this peer's death. Marked handled: a guarded promise nobody awaits any more never becomes an unhandled rejection. */
  guard(promise) {
    const guarded = Promise.race([promise, this.died]);
    guarded.catch(() => {});
    return guarded;
  }

  nextMessage() {
    return this.guard(new Promise((resolve) => this.handle.once('message', resolve)));
  }

  async ready(timeoutMs = 30000) {
    let timer;
    const late = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`frames: the ${this.name} did not start within ${timeoutMs} ms`)), timeoutMs);
    });
    let message;
    try {
      message = await Promise.race([this.nextMessage(), late]);
    } finally {
      clearTimeout(timer);
    }
    if (message !== 'ready') throw new Error(`frames: the ${this.name} sent ${JSON.stringify(message)} instead of ready`);
  }

  /** Sync kill, for the process 'exit' safety net. */
  killNow() {
    if (this.exited) return;
    try {
      if (this.kind === 'worker') this.handle.terminate();
      else this.handle.kill('SIGKILL');
    } catch {}
  }

  /** Ends the peer and waits (bounded) until it is gone; leaves no timer behind. */
  async stop() {
    if (this.exited) return;
    this.stopping = true;
    const gone = new Promise((resolve) => this.handle.once('exit', resolve));
    const timers = [];
    const after = (ms, action) =>
      new Promise((resolve) => {
        const timer = setTimeout(() => resolve(action && action()), ms);
        timer.unref();
        timers.push(timer);
      });
    try {
      if (this.kind === 'worker') {
        await Promise.race([this.handle.terminate(), after(2000)]);
      } else {
        this.handle.kill('SIGTERM');
        after(2000, () => this.handle.kill('SIGKILL'));
        await Promise.race([gone, after(4000)]);
      }
    } finally {
      for (const timer of timers) clearTimeout(timer);
    }
  }
}

function forkPeer(name, args, options = {}) {
  const child = fork(__filename, args, {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    execArgv: [],
    ...options,
  });
  return new Peer(name, child, 'process');
}

/** Median of round-by-round ratios num[r] / den[r] (each a round's median). */
function roundRatios(numRounds, denRounds) {
  const perRound = [];
  for (let r = 0; r < Math.min(numRounds.length, denRounds.length); r++) {
    const a = numRounds[r];
    const b = denRounds[r];
    if (typeof a === 'number' && typeof b === 'number' && Number.isFinite(a / b) && b > 0) perRound.push(a / b);
  }
  if (perRound.length === 0) return null;
  const s = summarize(perRound);
  return { median: s.median, p10: s.p10, p90: s.p90, rounds: perRound.length, perRound };
}

function median(samples) {
  return summarize(samples).median;
}

// formatting ---------------------------------------------------------------

function unitFor(ms) {
  return Number.isFinite(ms) && ms < 1 ? 'µs' : 'ms';
}
function inUnit(ms, unit) {
  return fmt(unit === 'µs' ? ms * 1000 : ms);
}
function latencyCell(summary) {
  if (!summary || summary.n === 0) return '—';
  const unit = unitFor(summary.median);
  const spread = summary.n > 1 ? ` (${inUnit(summary.p10, unit)}–${inUnit(summary.p90, unit)})` : '';
  return `${inUnit(summary.median, unit)} ${unit}${spread}`;
}
function ratioCell(ratio) {
  if (!ratio) return '—';
  const spread = ratio.rounds >= 3 ? ` (${fmt(ratio.p10)}–${fmt(ratio.p90)})` : '';
  return `${fmt(ratio.median)}×${spread}`;
}
function countText(x) {
  if (!Number.isFinite(x)) return '—';
  return Number.isInteger(x) ? String(x) : x.toFixed(1);
}
function percent(x) {
  return Number.isFinite(x) ? `${Math.round(x * 100)} %` : '—';
}
function fpsSpread(s) {
  if (!s || s.n === 0) return '—';
  return s.n > 1 ? `${fmt(s.median)} (${fmt(s.p10)}–${fmt(s.p90)}) [${fmt(s.min)}–${fmt(s.max)}]` : fmt(s.median);
}
/** A stream variant in a goal's figure: fps with its spread, and the conditions. */
function streamFigure(tp) {
  return (
    `${fpsSpread(tp.receivedFps)} fps, ${fmt(tp.publishedFps.median)} published, median ${countText(tp.dropped.median)} skipped and ${countText(tp.torn.median)} torn per stream, ` +
    `load average ${fmt(tp.loadAverage.min)}–${fmt(tp.loadAverage.max)} at the starts, other processes busy ${percent(tp.cpuOthers.median)} of the CPUs (max ${percent(tp.cpuOthers.max)}), ` +
    `the writer's time per frame ${msText(tp.writerFrameMs.median)} (${msText(tp.writerFrameMs.min)}–${msText(tp.writerFrameMs.max)})`
  );
}
function msText(ms) {
  const unit = unitFor(ms);
  return `${inUnit(ms, unit)} ${unit}`;
}

// the run --------------------------------------------------------------------

async function run(ctx = {}) {
  const presetName = ctx.preset || 'quick';
  const preset = PRESETS[presetName];
  if (!preset) throw new Error(`frames: unknown preset ${JSON.stringify(presetName)} (tiny, quick, full)`);
  const progress = (message) => {
    try {
      if (typeof ctx.progress === 'function') ctx.progress(message);
    } catch {}
  };
  const { FrameRing, SharedMemory, waitAsync } = require('@shmkit/shm');
  const started = now();
  const sizes = preset.sizes.map((key) => SIZES[key]);
  const maxBytes = Math.max(...sizes.map((s) => s.bytes));

  // state that cleanup needs
  const names = new Names('frames');
  const peers = [];
  let ring = null;
  let control = null;
  let server = null;
  let serverSocket = null;
  let socketPath = null;
  const safetyNet = () => {
    for (const peer of peers) peer.killNow();
    try {
      names.cleanup();
    } catch {}
    if (socketPath) fs.rmSync(socketPath, { force: true });
  };
  process.on('exit', safetyNet);

  try {
    progress(`preparing ${sizes.map((s) => s.label).join(', ')} (preset ${presetName})`);
    // Per size: the frame source, the producer's own buffer (where it renders a
    // frame it then copies or sends; pages touched up front) and a memcpy target.
    const sources = {};
    const own = {};
    const memcpyTargets = {};
    for (const size of sizes) {
      sources[size.key] = new FrameSource(size.bytes);
      own[size.key] = Buffer.alloc(size.bytes); // a Buffer: what IPC and sockets are given in practice
      memcpyTargets[size.key] = new Uint8Array(size.bytes);
    }
    const wakeSource = new FrameSource(WAKE_BYTES);
    let sent = 0; // frame numbers for the transports other than the ring

    // ---- the ring and its reader process
    ring = FrameRing.create({ name: names.name('ring'), slots: RING_SLOTS, slotBytes: maxBytes, populate: true });
    control = SharedMemory.create(CONTROL_BYTES, { name: names.name('control') });
    const words = control.view(Int32Array, 0, CONTROL_WORDS);
    const values = control.view(Float64Array, CONTROL_WORDS * 4, CONTROL_VALUES);

    // ---- the Unix socket's listening end
    socketPath = path.join(os.tmpdir(), `shmkit-bench-frames-${process.pid}-${crypto.randomBytes(4).toString('hex')}.sock`);
    fs.rmSync(socketPath, { force: true });
    server = net.createServer();
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, resolve);
    });

    progress('starting the receivers (ring reader, IPC advanced, IPC json, socket, worker)');
    const ringPeer = forkPeer('ring reader', ['--child-ring', ring.name, control.name, String(maxBytes)]);
    const ipcAdvancedPeer = forkPeer("IPC 'advanced' receiver", ['--child-ipc', 'advanced'], { serialization: 'advanced' });
    const ipcJsonPeer = forkPeer("IPC 'json' receiver", ['--child-ipc', 'json'], { serialization: 'json' });
    // one plain sender per frame size: a process that sent a bigger frame before has an allocator whose
    // mmap threshold has grown past this size (glibc), so its buffers would come back warm
    const ipcPlainPeers = Object.fromEntries(sizes.map((size) => [size.key, forkPeer(`plain IPC sender (${size.label})`, ['--child-ipc-sender'])]));
    const socketPeer = forkPeer('socket receiver', ['--child-socket', socketPath]);
    const workerPeer = new Peer('worker', new Worker(__filename, { workerData: { role: WORKER_ROLE }, execArgv: [] }), 'worker');
    peers.push(ringPeer, ipcAdvancedPeer, ipcJsonPeer, ...Object.values(ipcPlainPeers), socketPeer, workerPeer);
    const connection = socketPeer.guard(new Promise((resolve) => server.once('connection', resolve)));
    await Promise.all([ringPeer.ready(), ipcAdvancedPeer.ready(), ipcJsonPeer.ready(), ...Object.values(ipcPlainPeers).map((p) => p.ready()), workerPeer.ready()]);
    serverSocket = await connection;

    // socket replies: SOCKET_REPLY bytes each
    const socketReplies = [];
    let socketWake = null;
    let socketError = null;
    let pendingReply = Buffer.alloc(0);
    serverSocket.on('data', (chunk) => {
      pendingReply = pendingReply.length ? Buffer.concat([pendingReply, chunk]) : chunk;
      while (pendingReply.length >= SOCKET_REPLY) {
        socketReplies.push({
          latency: pendingReply.readDoubleLE(0),
          bytes: pendingReply.readUInt32LE(8),
          n: pendingReply.readUInt32LE(12),
          wrong: pendingReply.readUInt32LE(16) === 1 ? null : 'the frame fails verification',
          held: pendingReply.readDoubleLE(20),
        });
        pendingReply = pendingReply.subarray(SOCKET_REPLY);
      }
      if (socketWake) socketWake();
    });
    serverSocket.on('error', (error) => {
      socketError = error;
      if (socketWake) socketWake();
    });

    // ---- one measurement function per transport: (size, count) → samples (ms)

    async function waitAck(before) {
      while (Atomics.load(words, C_ACK) === before) {
        // a reader that dies aborts the wait and rejects with its exit status
        const result = await ringPeer.guard(waitAsync(control, C_ACK * 4, before, ACK_TIMEOUT_MS, { signal: ringPeer.controller.signal }));
        if (result === 'timed-out' && Atomics.load(words, C_ACK) === before) {
          throw new Error(`frames: the ring reader did not acknowledge within ${ACK_TIMEOUT_MS} ms`);
        }
      }
    }

    /**
     * The ring, one frame at a time. In place: the producer renders into the
     * slot it acquired, then stamps and publishes. Copy-in: it renders into its
     * own buffer, stamps, copies into the slot and publishes. `source` renders
     * the frame (the size's, or the wake-up's 64 bytes); `ids` name the columns
     * of the reader's in-place and copied-out stamps.
     */
    function ringMeasure(mode, ids, sourceFor) {
      return async (size, count) => {
        const source = sourceFor(size);
        const mine = own[size.key];
        const held = [];
        const used = [];
        const checks = [];
        const copied = [];
        const copyTimes = []; // copy-in: the writer's copy into the slot, timed by the writer
        for (let i = 0; i < count; i++) {
          await sleep(GAP_MS);
          const before = Atomics.load(words, C_ACK);
          const n = ring.publishCount; // the number publish() gives this frame
          let slot;
          let t;
          if (mode === 'inPlace') {
            slot = ring.acquire();
            source.render(slot.data, n);
            t = now();
          } else {
            source.render(mine, n);
            t = now();
            slot = ring.acquire();
            slot.data.set(mine.subarray(0, source.bytes));
            copyTimes.push(now() - t);
          }
          ring.publish(slot, { width: KIND_LATENCY, height: 1, byteLength: source.bytes, timestamp: t });
          await waitAck(before);
          if (values[F_FRAME] !== n) throw new Error(`frames: the ring reader acknowledged frame ${values[F_FRAME]} instead of ${n}`);
          const verdict = Atomics.load(words, C_VERDICT);
          if (verdict !== V_OK) throw new Error(`frames: the ring reader got frame ${n} ${verdict === V_TORN ? 'torn' : 'wrong (verification failed)'}`);
          held.push(values[F_IN_PLACE]);
          used.push(values[F_USED]);
          copied.push(values[F_COPIED]);
          checks.push(values[F_CHECK]);
        }
        const result = {};
        if (ids.held) result[ids.held] = held;
        if (ids.used) result[ids.used] = used;
        if (ids.copied) result[ids.copied] = copied;
        if (ids.check) result[ids.check] = checks;
        if (ids.copy) result[ids.copy] = copyTimes;
        return result;
      };
    }

    /** Checks a receiver's reply for the frame sent; its latency. */
    function checked(name, reply, n, bytes) {
      if (reply.wrong) throw new Error(`frames: ${name} got a wrong frame ${n}: ${reply.wrong}`);
      if (reply.n !== n || reply.bytes !== bytes) {
        throw new Error(`frames: ${name} answered for frame ${reply.n} of ${reply.bytes} bytes instead of frame ${n} of ${bytes}`);
      }
      return reply.latency;
    }

    /** The producer renders frame n into its own buffer (not timed); then the sender stamps and sends it from there. */
    function produce(size) {
      const n = sent++ >>> 0;
      return { n, frame: sources[size.key].render(own[size.key], n) };
    }

    function ipcMeasure(peer) {
      return async (size, count) => {
        const samples = [];
        for (let i = 0; i < count; i++) {
          await sleep(GAP_MS);
          const { n, frame } = produce(size);
          const reply = peer.nextMessage();
          peer.handle.send({ t: now(), n, frame });
          samples.push(checked(peer.name, await reply, n, size.bytes));
        }
        return samples;
      };
    }

    /** The plain sender renders, stamps and sends frame n to its own receiver; its reply is the receiver's. */
    async function measureIpcPlain(size, count) {
      const ipcPlainPeer = ipcPlainPeers[size.key];
      const samples = [];
      for (let i = 0; i < count; i++) {
        await sleep(GAP_MS);
        const n = sent++ >>> 0;
        const reply = ipcPlainPeer.nextMessage();
        ipcPlainPeer.handle.send({ bytes: size.bytes, n });
        samples.push(checked(ipcPlainPeer.name, await reply, n, size.bytes));
      }
      return samples;
    }

    async function nextSocketReply() {
      for (;;) {
        if (socketError) throw socketError;
        if (socketReplies.length > 0) return socketReplies.shift();
        await socketPeer.guard(new Promise((resolve) => (socketWake = resolve)));
        socketWake = null;
      }
    }

    async function measureSocket(size, count) {
      const samples = [];
      for (let i = 0; i < count; i++) {
        await sleep(GAP_MS);
        const { n, frame } = produce(size);
        const head = Buffer.alloc(SOCKET_HEADER);
        head.writeUInt32LE(size.bytes, 0);
        head.writeUInt32LE(n, 4);
        head.writeDoubleLE(now(), 8);
        serverSocket.write(head);
        serverSocket.write(frame); // the buffer is not rendered into again before the reply
        samples.push(checked('the socket receiver', await nextSocketReply(), n, size.bytes));
      }
      return samples;
    }

    async function measureWorker(size, count) {
      const samples = [];
      for (let i = 0; i < count; i++) {
        await sleep(GAP_MS);
        // A fresh buffer per frame (transferring gives it away), rendered into before the stamp.
        const n = sent++ >>> 0;
        const buffer = new ArrayBuffer(size.bytes);
        sources[size.key].render(new Uint8Array(buffer), n);
        const reply = workerPeer.nextMessage();
        workerPeer.handle.postMessage({ t: now(), n, buffer }, [buffer]);
        samples.push(checked('the worker', await reply, n, size.bytes));
      }
      return samples;
    }

    async function measureMemcpy(size, count) {
      const source = own[size.key];
      const target = memcpyTargets[size.key];
      // small frames: time a burst and divide, so the clock's own cost vanishes
      const repeat = Math.max(1, Math.floor((256 * KiB) / size.bytes));
      const samples = [];
      for (let i = 0; i < count; i++) {
        const t = now();
        for (let k = 0; k < repeat; k++) target.set(source);
        samples.push((now() - t) / repeat);
      }
      return samples;
    }

    async function measureMemcpyFresh(size, count) {
      const source = own[size.key];
      const repeat = Math.max(1, Math.floor((256 * KiB) / size.bytes));
      const samples = [];
      for (let i = 0; i < count; i++) {
        const t = now();
        for (let k = 0; k < repeat; k++) new Uint8Array(new ArrayBuffer(size.bytes)).set(source);
        samples.push((now() - t) / repeat);
      }
      return samples;
    }

    const transports = [
      {
        id: 'ringInPlace',
        label: 'FrameRing, rendered in place',
        measure: ringMeasure('inPlace', { used: 'ringInPlace', held: 'ringInPlaceHeld', copied: 'ringInPlaceCopy', check: 'check' }, (size) => sources[size.key]),
        essential: true,
      },
      {
        id: 'ringCopyIn',
        label: 'FrameRing, copy-in',
        measure: ringMeasure('copyIn', { used: 'ringCopyIn', copied: 'ringCopyInCopy', copy: 'slotCopy' }, (size) => sources[size.key]),
        essential: true,
      },
      { id: 'wake', label: 'one wake-up', measure: ringMeasure('inPlace', { held: 'wake' }, () => wakeSource), essential: true },
      { id: 'ipcAdvanced', label: "IPC 'advanced'", measure: ipcMeasure(ipcAdvancedPeer) },
      // the same, sent by a plain process of its own (childIpcSender): no forced GC, nothing else run
      { id: 'ipcAdvancedPlain', label: "IPC 'advanced' from a plain process", measure: measureIpcPlain },
      { id: 'ipcJson', label: "IPC 'json'", measure: ipcMeasure(ipcJsonPeer) },
      { id: 'socket', label: 'Unix socket', measure: measureSocket },
      { id: 'worker', label: 'worker transfer', measure: measureWorker },
      { id: 'memcpy', label: 'memcpy', measure: measureMemcpy },
      { id: 'memcpyFresh', label: 'memcpy into a new buffer', measure: measureMemcpyFresh },
    ];

    /** Frames of this transport at this size in round r (0 = warm-up). */
    function countFor(transport, size, r) {
      if (transport.id === 'memcpy') return r === 0 ? 3 : preset.memcpySamples;
      if (transport.id === 'memcpyFresh') return r === 0 ? 1 : 2;
      if (transport.id === 'ipcJson') {
        const j = preset.json[size.key];
        if (!j) return 0;
        if (r === 0) return j.warmup;
        return r <= j.rounds ? j.frames : 0;
      }
      return r === 0 ? preset.warmup : preset.frames[size.key];
    }

    // ---- throughput: the writer publishes flat out for `seconds`
    async function syncCounters() {
      const before = Atomics.load(words, C_ACK);
      const slot = ring.acquire();
      ring.publish(slot, { width: KIND_SYNC, height: 1, byteLength: 0, timestamp: now() });
      await waitAck(before);
      return {
        received: Atomics.load(words, C_RECEIVED),
        dropped: Atomics.load(words, C_DROPPED),
        torn: Atomics.load(words, C_TORN),
        wrong: Atomics.load(words, C_WRONG),
        ready: Atomics.load(words, C_READY),
        readerFaults: Atomics.load(words, C_FAULTS),
      };
    }

    /**
     * One stream. copyIn: the frame was produced once, elsewhere; per frame the
     * writer stamps its number and copies it into the slot. inPlace: per frame
     * the writer renders the frame into the slot.
     */
    async function stream(size, seconds, mode) {
      const source = sources[size.key];
      const mine = source.render(own[size.key], 0);
      const mineWords = new Uint32Array(mine.buffer, mine.byteOffset, 1); // the frame number (outside the checksum)
      await syncCounters(); // resets the reader's counters (and its CPU time)
      const loadAverage = os.loadavg()[0];
      const cpuBefore = cpuTimes();
      const writerCpu = process.cpuUsage();
      const spanStart = now();
      const start = now() + 5;
      const end = start + seconds * 1000;
      values[F_WINDOW_START] = start;
      values[F_WINDOW_END] = end;
      while (now() < start);
      let published = 0;
      const frameTimes = []; // the writer's acquire + render or copy, per frame
      for (;;) {
        const t = now();
        if (t >= end) break;
        const n = ring.publishCount;
        const slot = ring.acquire();
        if (mode === 'inPlace') source.render(slot.data, n);
        else {
          mineWords[0] = n;
          slot.data.set(mine);
        }
        frameTimes.push(now() - t);
        ring.publish(slot, { width: KIND_STREAM, height: 1, byteLength: size.bytes, timestamp: t });
        published++;
        if (published % 4 === 0) {
          await tick(); // keep this process responsive (a dead reader is noticed)
          if (ringPeer.exited) break;
        }
      }
      const counters = await syncCounters();
      const cpuAfter = cpuTimes();
      const spent = process.cpuUsage(writerCpu);
      const span = now() - spanStart;
      if (counters.wrong > 0) throw new Error(`frames: the ring reader got ${counters.wrong} wrong frame(s) in a ${size.label} ${mode} stream`);
      // Shares of all CPUs over the stream (sync frame to sync frame): busy, and
      // busy with anything but this process and the reader (contention).
      const busy = cpuBefore && cpuAfter ? cpuAfter.busy - cpuBefore.busy : NaN;
      const all = cpuBefore && cpuAfter ? busy + cpuAfter.idle - cpuBefore.idle : NaN;
      const cpuBusy = all > 0 ? busy / all : null;
      const ours = ((spent.user + spent.system) / 1000 + values[F_READER_CPU]) / (span * os.cpus().length);
      const seen = counters.received + counters.torn;
      return {
        mode,
        seconds,
        published,
        publishedFps: published / seconds,
        received: counters.received,
        receivedFps: counters.received / seconds,
        dropped: counters.dropped,
        torn: counters.torn,
        // conditions
        loadAverage,
        cpuBusy,
        cpuOthers: cpuBusy === null ? null : Math.max(0, cpuBusy - ours),
        readerFoundNextReady: seen > 0 ? counters.ready / seen : null,
        readerFaults: counters.readerFaults,
        writerFrameMs: median(frameTimes),
      };
    }

    // ---- rounds
    // perRound[sizeKey][transportId][r - 1] = samples of round r (a hole where not measured)
    const perRound = {};
    for (const size of sizes) {
      perRound[size.key] = {};
      for (const t of [...TRANSPORTS, ...REFERENCES]) perRound[size.key][t.id] = [];
    }
    const throughputRounds = {}; // [sizeKey][mode] = one result per round
    for (const key of preset.streamSizes) throughputRounds[key] = Object.fromEntries(STREAMS.map((m) => [m.id, []]));
    const errors = {};
    const settleWaits = []; // ms waited for a quiet machine before each batch

    for (let r = 0; r <= preset.rounds; r++) {
      const tag = r === 0 ? 'warm-up' : `round ${r}/${preset.rounds}`;
      for (const size of sizes) {
        // rotate the order each round, so no transport always follows the same one
        const order = transports.map((_, i) => transports[(i + r) % transports.length]);
        for (const transport of order) {
          if (errors[transport.id]) continue;
          const count = countFor(transport, size, r);
          if (!count) continue;
          progress(`${tag}, ${size.label}: ${transport.label} × ${count}`);
          if (!transport.noGc) collectGarbage();
          settleWaits.push(await settleMachine());
          let result;
          try {
            result = await transport.measure(size, count);
          } catch (error) {
            if (transport.essential || ringPeer.exited) throw error;
            errors[transport.id] = error.message;
            progress(`${transport.label} failed and is left out from now on: ${error.message}`);
            continue;
          }
          if (r === 0) continue;
          if (Array.isArray(result)) perRound[size.key][transport.id][r - 1] = result;
          else for (const [id, samples] of Object.entries(result)) perRound[size.key][id][r - 1] = samples;
        }
      }
      for (const key of preset.streamSizes) {
        const size = SIZES[key];
        const seconds = r === 0 ? Math.min(0.2, preset.streamSeconds) : preset.streamSeconds;
        // the variants alternate which goes first
        for (let i = 0; i < STREAMS.length; i++) {
          const mode = STREAMS[(i + r) % STREAMS.length].id;
          progress(`${tag}, ${size.label}: FrameRing ${mode} stream for ${seconds} s`);
          const result = await stream(size, seconds, mode);
          if (r > 0) throughputRounds[key][mode].push(result);
        }
      }
    }

    // ---- summaries
    const latency = {};
    const roundMedians = {};
    const ratios = {};
    for (const size of sizes) {
      latency[size.key] = {};
      roundMedians[size.key] = {};
      for (const t of [...TRANSPORTS, ...REFERENCES]) {
        const rounds = Array.from({ length: preset.rounds }, (_, i) => perRound[size.key][t.id][i] || null);
        const all = rounds.filter(Boolean).flat();
        latency[size.key][t.id] = all.length ? summarize(all) : null;
        roundMedians[size.key][t.id] = rounds.map((samples) => (samples ? median(samples) : null));
      }
      const m = roundMedians[size.key];
      // one wake-up plus one memcpy of the frame, round by round: what copy-in should cost
      const sumOf = (...lists) => lists[0].map((_, i) => (lists.every((l) => typeof l[i] === 'number') ? lists.reduce((a, l) => a + l[i], 0) : null));
      // what shared memory should cost end to end: the consumer's check (in one process) plus one wake-up;
      // copy-in adds one memcpy of the frame
      const checkPlusWake = sumOf(m.check, m.wake);
      const memcpyPlusWake = sumOf(m.memcpy, m.check, m.wake);
      ratios[size.key] = {
        ipcAdvancedOverInPlace: roundRatios(m.ipcAdvanced, m.ringInPlace),
        ipcAdvancedPlainOverInPlace: roundRatios(m.ipcAdvancedPlain, m.ringInPlace),
        inPlaceOverCheckPlusWake: roundRatios(m.ringInPlace, checkPlusWake),
        heldOverWake: roundRatios(m.ringInPlaceHeld, m.wake),
        ipcJsonOverInPlace: roundRatios(m.ipcJson, m.ringInPlace),
        socketOverInPlace: roundRatios(m.socket, m.ringInPlace),
        workerOverInPlace: roundRatios(m.worker, m.ringInPlace),
        inPlaceOverWake: roundRatios(m.ringInPlace, m.wake),
        copyInOverMemcpy: roundRatios(m.ringCopyIn, m.memcpy),
        copyInOverMemcpyPlusWake: roundRatios(m.ringCopyIn, memcpyPlusWake),
        memcpyFreshOverMemcpy: roundRatios(m.memcpyFresh, m.memcpy),
      };
    }
    const throughput = {}; // [sizeKey][mode]
    for (const [key, modes] of Object.entries(throughputRounds)) {
      throughput[key] = {};
      for (const [mode, rounds] of Object.entries(modes)) {
        const of = (field) => summarize(rounds.map((x) => x[field]).filter((x) => typeof x === 'number'));
        throughput[key][mode] = {
          bytes: SIZES[key].bytes,
          seconds: preset.streamSeconds,
          receivedFps: of('receivedFps'),
          publishedFps: of('publishedFps'),
          dropped: of('dropped'),
          torn: of('torn'),
          loadAverage: of('loadAverage'),
          cpuBusy: of('cpuBusy'),
          cpuOthers: of('cpuOthers'),
          readerFoundNextReady: of('readerFoundNextReady'),
          writerFrameMs: of('writerFrameMs'),
          rounds,
        };
      }
    }

    // ---- goals
    const goals = [];
    const short = (size) => size.label.split(' (')[0];
    const notMeasured = (id) => (errors[id] ? `not measured: ${errors[id]}` : `not measured in the ${presetName} preset`);
    const r8 = ratios['8MiB'];
    const l8 = latency['8MiB'];
    // verdicts on pooled medians (every frame of every round), the headline's statistic; per-round ratios show the spread
    const pooledOver = (l, num, ...den) => (l && l[num] && den.every((d) => l[d]) ? l[num].median / den.reduce((acc, d) => acc + l[d].median, 0) : NaN);
    const e2e8 = pooledOver(l8, 'ringInPlace', 'check', 'wake');
    goals.push({
      goal: '8 MiB end to end (rendered in place; the consumer checks every word in place) within 1.3× of the same check done in one process + one wake-up (pooled medians)',
      met: Number.isFinite(e2e8) ? e2e8 <= 1.3 : null,
      figure: Number.isFinite(e2e8)
        ? `${fmt(e2e8)}×: ${latencyCell(l8.ringInPlace)} vs ${msText(l8.check.median)} + ${msText(l8.wake.median)} (per-round ratios ${ratioCell(r8.inPlaceOverCheckPlusWake)}). ` +
          `The same work by IPC 'advanced': ${fmt(pooledOver(l8, 'ipcAdvanced', 'ringInPlace'))}× as long with this process's garbage collected before each batch, ${fmt(pooledOver(l8, 'ipcAdvancedPlain', 'ringInPlace'))}× from a plain sender process (${latencyCell(l8.ipcAdvanced)}; ${latencyCell(l8.ipcAdvancedPlain)}); ` +
          `a Unix socket ${fmt(pooledOver(l8, 'socket', 'ringInPlace'))}× (${latencyCell(l8.socket)}). Wake-up only (held in place, before a byte is read): ${latencyCell(l8.ringInPlaceHeld)}`
        : notMeasured('ringInPlace'),
    });
    const copyInSizes = ['8MiB', '33MiB'].filter((k) => Number.isFinite(pooledOver(latency[k], 'ringCopyIn', 'memcpy', 'check', 'wake')));
    goals.push({
      goal: 'FrameRing copy-in end to end within 1.5× of (one memcpy of the frame + the check + one wake-up), 8 MiB and 33 MiB (pooled medians)',
      met: copyInSizes.length === 2 ? copyInSizes.every((k) => pooledOver(latency[k], 'ringCopyIn', 'memcpy', 'check', 'wake') <= 1.5) : null,
      figure: copyInSizes.length
        ? copyInSizes
            .map((k) => {
              const l = latency[k];
              return (
                `${short(SIZES[k])} ${fmt(pooledOver(l, 'ringCopyIn', 'memcpy', 'check', 'wake'))}× (${msText(l.ringCopyIn.median)} vs ${msText(l.memcpy.median)} + ${msText(l.check.median)} + ${msText(l.wake.median)}; ` +
                `per-round ${ratioCell(ratios[k].copyInOverMemcpyPlusWake)}; the writer's copy into the slot alone took ${msText(l.slotCopy.median)}, where \`memcpy\` copies into memory the cache may still hold)`
              );
            })
            .join(', ')
        : notMeasured('ringCopyIn'),
    });
    const tp33 = throughput['33MiB'];
    goals.push({
      goal: '33 MiB (4K RGBA) stream at ≥ 120 fps between two processes',
      met: tp33 ? tp33.copyIn.receivedFps.median >= 120 : null,
      figure: tp33
        ? `copy-in ${streamFigure(tp33.copyIn)}; rendered in place ${streamFigure(tp33.inPlace)} (frames received and copied out per second, over ${tp33.copyIn.rounds.length} streams of ${tp33.copyIn.seconds} s each)`
        : `not measured in the ${presetName} preset`,
    });

    // ---- markdown
    const jsonSizes = Object.keys(preset.json).filter((k) => preset.json[k] && preset.sizes.includes(k));
    const lines = [];
    lines.push(
      `Each transport carries the same frame from this process to a receiving process, one frame in flight with a ${GAP_MS} ms pause between frames, ` +
        `in ${preset.rounds > 1 ? `${preset.rounds} rounds that interleave the transports` : 'one round'} after a warm-up round. ` +
        'The producer renders each frame (every byte written, with its number and a checksum) and is not timed. **Latency is end to end: from the producer\'s CLOCK_MONOTONIC stamp once the frame is produced ' +
        'to the receiver having used it — checked its number and summed every word against the checksum — the same work for every transport.** ' +
        '"Rendered in place": rendered into the FrameRing slot it acquired, stamped, publish()ed; the reader checks it in the slot (zero-copy). ' +
        '"Copied out and checked": the reader copies it out, then checks the copy. "Copy-in": rendered into the producer\'s own buffer, stamped, copied into the slot, published, checked in place. ' +
        "IPC and socket send the frame from the producer's own buffer (IPC 'json': Buffer.from of the received array first; socket: assembled in a new Buffer); " +
        'worker: rendered into a fresh ArrayBuffer, transferred to a worker thread of this process. ' +
        "IPC 'advanced' twice: from this process, which collects its garbage before each batch (its allocator has just been handed its memory back: the cheaper case), and from a plain sender process per frame size that never forces a collection and sends nothing else: the two ends of a range. " +
        `References: "the consumer's check alone" is the same check by the ring's reader process on its own copy of each frame (memory it owns, just copied: warm); "one wake-up" is a ${WAKE_BYTES}-byte frame rendered in place on the same ring between the same two processes, held (publish → futex wake → waitAsync resolves → seqlock read), ` +
        'and "held" (below the table) is the same for the big frames: the wake-up only, before a byte is read — not a delivery. A wrong frame fails the run. ' +
        `Before each batch this process collected its garbage and waited for a quiet machine (≤ 15 % of the CPUs busy over 20 ms; waited ${fmt(summarize(settleWaits).median)} ms median, ${fmt(summarize(settleWaits).max)} ms at most, over ${settleWaits.length} batches). ` +
        'Cells are median (p10–p90) over all frames of all rounds (pooled); the goals are judged on pooled medians; ratios in the second table are the median (p10–p90) of per-round ratios, for the spread.',
    );
    lines.push('');
    lines.push(`| frame | ${TRANSPORTS.map((t) => t.name).join(' | ')} |`);
    lines.push(`|---|${TRANSPORTS.map(() => '---').join('|')}|`);
    for (const size of sizes) {
      const cells = TRANSPORTS.map((t) => {
        if (errors[t.id] && !latency[size.key][t.id]) return 'failed';
        return latencyCell(latency[size.key][t.id]);
      });
      lines.push(`| ${size.label} | ${cells.join(' | ')} |`);
    }
    lines.push('');
    lines.push(
      "| frame | IPC 'advanced' / in place | IPC 'advanced', plain / in place | IPC 'json' / in place | socket / in place | worker / in place | in place / (check + one wake-up) | copy-in / (memcpy + check + one wake-up) | held in place / one wake-up | in place, held (wake-up only) |",
    );
    lines.push('|---|---|---|---|---|---|---|---|---|---|');
    for (const size of sizes) {
      const q = ratios[size.key];
      const cells = [
        q.ipcAdvancedOverInPlace,
        q.ipcAdvancedPlainOverInPlace,
        q.ipcJsonOverInPlace,
        q.socketOverInPlace,
        q.workerOverInPlace,
        q.inPlaceOverCheckPlusWake,
        q.copyInOverMemcpyPlusWake,
        q.heldOverWake,
      ];
      lines.push(`| ${size.label} | ${cells.map(ratioCell).join(' | ')} | ${latencyCell(latency[size.key].ringInPlaceHeld)} |`);
    }
    lines.push('');
    if (Object.keys(throughput).length > 0) {
      lines.push(
        `The stream rows: the writer publishes flat out into a ${RING_SLOTS}-slot ring while a reader process copies out every frame it receives (checking every frame's number, and the last frame of each stream word by word); ` +
          'one stream per variant per round, the variants alternating. Conditions per stream: the 1-minute load average at its start (this run\'s own processes included), the share of all CPUs busy during it, and of that the share busy with anything but the writer and the reader (other processes: contention), ' +
          'how often the reader, done with a frame, found the next one already published (so it did not sleep), ' +
          "and the writer's time to fill a slot (a copy or a render of the frame: it follows the memory bandwidth the machine gives this run).",
      );
      lines.push('');
      lines.push('| FrameRing stream | writer | received fps: median (p10–p90) [min–max] | published fps | skipped per stream | torn per stream | load average at start | CPUs busy: all (others, max others) | reader found next frame ready | writer time per frame: median [min–max] |');
      lines.push('|---|---|---|---|---|---|---|---|---|---|');
      for (const [key, modes] of Object.entries(throughput)) {
        for (const m of STREAMS) {
          const tp = modes[m.id];
          lines.push(
            `| ${SIZES[key].label}, ${tp.rounds.length} × ${tp.seconds} s | ${m.name} | ${fpsSpread(tp.receivedFps)} | ${fmt(tp.publishedFps.median)} | ` +
              `${countText(tp.dropped.median)} | ${countText(tp.torn.median)} | ${fmt(tp.loadAverage.min)}–${fmt(tp.loadAverage.max)} | ` +
              `${percent(tp.cpuBusy.median)} (${percent(tp.cpuOthers.median)}, ${percent(tp.cpuOthers.max)}) | ${percent(tp.readerFoundNextReady.median)} | ` +
              `${msText(tp.writerFrameMs.median)} [${msText(tp.writerFrameMs.min)}–${msText(tp.writerFrameMs.max)}] |`,
          );
        }
      }
      lines.push('');
    }
    const notes = [];
    const missingJson = sizes.filter((s) => !jsonSizes.includes(s.key)).map(short);
    if (missingJson.length) notes.push(`IPC 'json' not measured at ${missingJson.join(', ')} in this preset (about 14 s per 33 MiB frame).`);
    const fewJson = jsonSizes.filter((k) => Number.isFinite(preset.json[k].rounds) && preset.json[k].rounds < preset.rounds);
    if (fewJson.length) {
      notes.push(`IPC 'json' at ${fewJson.map((k) => `${short(SIZES[k])} (${Math.min(preset.json[k].rounds, preset.rounds)} rounds × ${preset.json[k].frames} frame)`).join(', ')} only.`);
    }
    const withCopyOut = sizes.filter((s) => latency[s.key].ringCopyInCopy && latency[s.key].slotCopy);
    if (withCopyOut.length) {
      notes.push(
        "Copy-in: the writer's acquire() and copy into the slot alone (timed by the writer) took " +
          withCopyOut.map((s) => `${msText(latency[s.key].slotCopy.median)} at ${short(s)}`).join(', ') +
          ' (the memcpy column copies into a buffer it copied into just before, which the cache may still hold); with the reader\'s copy-out, copy-in took ' +
          withCopyOut.map((s) => `${msText(latency[s.key].ringCopyInCopy.median)} at ${short(s)}`).join(', ') +
          '.',
      );
    }
    const big = sizes.filter((s) => s.bytes >= MiB && latency[s.key].memcpyFresh && latency[s.key].memcpy);
    if (big.length) {
      notes.push(
        'A copy into a freshly allocated buffer (allocation, zeroing and page faults included), which a receiver that gets a new Buffer per frame pays, took ' +
          big.map((s) => `${msText(latency[s.key].memcpyFresh.median)} at ${short(s)} (${fmt(ratios[s.key].memcpyFreshOverMemcpy.median)}× a copy into reused memory)`).join(', ') +
          ' on this machine.',
      );
    }
    for (const [id, message] of Object.entries(errors)) notes.push(`${id} failed: ${message}`);
    if (notes.length) lines.push(notes.join(' '));
    const markdown = lines.join('\n');

    // ---- chart
    const chart = {
      title: 'Moving a frame between two processes: latency by frame size (median)',
      xLabel: 'frame size (bytes)',
      yLabel: 'latency (ms)',
      series: TRANSPORTS.map((t) => ({
        name: t.chart,
        points: sizes.filter((s) => latency[s.key][t.id]).map((s) => [s.bytes, latency[s.key][t.id].median]),
      })).filter((s) => s.points.length > 0),
    };

    const elapsedSeconds = (now() - started) / 1000;
    progress(`done in ${elapsedSeconds.toFixed(1)} s`);
    const cpus = os.cpus();
    const data = {
      preset: presetName,
      date: new Date().toISOString(),
      machine: { cpus: cpus.length, model: cpus[0] && cpus[0].model, memoryGiB: Math.round(os.totalmem() / 2 ** 30) },
      node: process.version,
      elapsedSeconds,
      settleWaitMs: summarize(settleWaits),
      config: {
        rounds: preset.rounds,
        warmupFrames: preset.warmup,
        framesPerRound: preset.frames,
        json: Object.fromEntries(Object.entries(preset.json).map(([k, v]) => [k, { ...v, rounds: Number.isFinite(v.rounds) ? v.rounds : preset.rounds }])),
        memcpySamplesPerRound: preset.memcpySamples,
        gapMs: GAP_MS,
        ringSlots: RING_SLOTS,
        ringSlotBytes: maxBytes,
        streamSizes: preset.streamSizes,
        streamSeconds: preset.streamSeconds,
        streamVariants: STREAMS,
        wakeBytes: WAKE_BYTES,
      },
      sizes: sizes.map((s) => ({ key: s.key, label: s.label, bytes: s.bytes })),
      transports: [...TRANSPORTS, ...REFERENCES].map((t) => ({ id: t.id, name: t.chart })),
      latencyMs: latency,
      roundMediansMs: roundMedians,
      ratios,
      throughput,
      errors,
    };
    const headlines = [];
    if (Number.isFinite(e2e8)) {
      headlines.push({
        key: 'frames.8mib',
        text:
          `An 8 MiB frame (1080p RGBA) from one process to another, end to end — rendered in place in a FrameRing slot, every word checked by the consumer: ${latencyCell(l8.ringInPlace)}, ` +
          `${fmt(e2e8)}× the same check done in one process plus one wake-up; the same work by child_process IPC takes ${fmt(pooledOver(l8, 'ipcAdvanced', 'ringInPlace'))}–${fmt(pooledOver(l8, 'ipcAdvancedPlain', 'ringInPlace'))}× as long ` +
          `(a sender whose garbage was just collected – a plain sender process), a Unix socket ${fmt(pooledOver(l8, 'socket', 'ringInPlace'))}× (pooled medians)`,
      });
    }
    return { markdown, data: JSON.parse(JSON.stringify(data)), goals, chart, headlines };
  } finally {
    // Closing the ring ends the reader's frames(); then every receiver is stopped.
    if (ring) {
      try {
        ring.close();
      } catch {}
    }
    if (serverSocket) serverSocket.destroy();
    await Promise.all(peers.map((peer) => peer.stop().catch(() => {})));
    if (server) await new Promise((resolve) => server.close(() => resolve()));
    if (socketPath) fs.rmSync(socketPath, { force: true });
    if (control) {
      try {
        control.close();
      } catch {}
    }
    names.cleanup(); // the ring and the control segment, by their exact names
    process.removeListener('exit', safetyNet);
  }
}

module.exports = {
  id: 'frames',
  title: 'Moving a frame between two processes',
  run,
};

// ------------------------------------------------------------------ roles

if (!isMainThread && workerData && workerData.role === WORKER_ROLE) {
  workerMain();
} else if (require.main === module) {
  const role = process.argv[2];
  if (role === '--child-ring') {
    childRing(process.argv[3], process.argv[4], Number(process.argv[5])).catch((error) => {
      console.error(error);
      process.exit(1);
    });
  } else if (role === '--child-ipc-sender') {
    childIpcSender();
  } else if (role === '--child-ipc') {
    childIpc(process.argv[3]);
  } else if (role === '--child-socket') {
    childSocket(process.argv[3]);
  } else {
    // Standalone: node bench/suites/frames.js [tiny|quick|full]
    module.exports
      .run({ preset: role || 'quick', progress: (m) => process.stderr.write(`${m}\n`) })
      .then((r) => {
        console.log(r.markdown);
        console.log(JSON.stringify(r.goals, null, 2));
      })
      .catch((error) => {
        console.error(error);
        process.exitCode = 1;
      });
  }
}
