'use strict';
// Suite "frames": moving one frame from this process to another, with shmkit's
// FrameRing against what users would otherwise pick — child_process IPC
// ('advanced' and 'json' serialization), a Unix socket with length-prefixed
// frames, worker_threads postMessage with a transferred ArrayBuffer (an
// in-process reference) — and one memcpy of the frame (the physical limit).
//
// Latency: the sender stamps (CLOCK_MONOTONIC, shared by every process on
// Linux) before it starts moving the frame — for the ring, before copying it
// into the slot — and the receiver stamps when it holds the whole frame: for
// the ring when it wakes and the slot's seqlock says the frame is stable
// (zero-copy), and again after copying it out. One frame in flight, a short
// pause between frames so every receiver starts asleep. Transports are
// interleaved in rounds (each round measures every transport with a batch of
// frames, in a rotating order); ratios are computed per round and the median
// of the per-round ratios is reported.
//
// Throughput: the ring's writer publishes as fast as it can for a fixed time
// while a reader process copies out every frame it receives; frames the
// reader received per second (and how many it skipped or found torn).
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

// Control segment (parent ↔ ring reader): Int32 words, then Float64 values at byte 32.
const CONTROL_BYTES = 64;
const C_ACK = 0; // reader increments and notifies after each latency or sync frame
const C_RECEIVED = 2; // stream counters, written by the reader on a sync frame
const C_DROPPED = 3;
const C_TORN = 4;
const F_IN_PLACE = 0; // latency of the last latency frame, read in place (ms)
const F_COPIED = 1; // … and after copying it out (ms)
const F_WINDOW_START = 2; // stream window (CLOCK_MONOTONIC ms), written by the parent
const F_WINDOW_END = 3;

// Columns, in table order. `ring` and `ringCopy` come from the same frames.
const TRANSPORTS = [
  { id: 'ring', name: 'FrameRing', chart: 'FrameRing (zero-copy)' },
  { id: 'ringCopy', name: 'FrameRing + copy-out', chart: 'FrameRing + copy-out' },
  { id: 'ipcAdvanced', name: "IPC 'advanced'", chart: "IPC 'advanced'" },
  { id: 'ipcJson', name: "IPC 'json'", chart: "IPC 'json'" },
  { id: 'socket', name: 'Unix socket', chart: 'Unix socket' },
  { id: 'worker', name: 'worker transfer (in-process)', chart: 'worker (in-process)' },
  { id: 'memcpy', name: 'memcpy', chart: 'one memcpy' },
];
// Measured alongside, reported in data and a note: a copy into a freshly
// allocated buffer, which a receiver that gets a new Buffer per frame pays
// (first-touch page faults; very expensive on some VMs).
const REFERENCES = [{ id: 'memcpyFresh', name: 'memcpy into a new buffer', chart: 'memcpy into a new buffer' }];

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const tick = () => new Promise((resolve) => setImmediate(resolve));

// ------------------------------------------------------------------ children

async function childRing(ringName, controlName, maxBytes) {
  const { FrameRing, SharedMemory, notify } = require('@shmkit/shm');
  const ring = FrameRing.attach(ringName);
  const control = SharedMemory.attach(controlName);
  const words = control.view(Int32Array, 0, 8);
  const values = control.view(Float64Array, 32, 4);
  const mine = Buffer.alloc(maxBytes); // the reader's own copy, pages touched up front
  process.on('disconnect', () => process.exit(0));
  const frames = ring.frames({ includeLatest: false });
  process.send('ready');
  let received = 0;
  let dropped = 0;
  let torn = 0;
  for await (const frame of frames) {
    if (frame.width === KIND_LATENCY) {
      // Zero-copy: the frame is usable in place as soon as the reader wakes
      // and the seqlock says the slot is stable.
      const inPlace = frame.valid() ? now() : NaN;
      mine.set(frame.data);
      const copied = frame.valid() ? now() : NaN;
      values[F_IN_PLACE] = inPlace - frame.timestamp;
      values[F_COPIED] = copied - frame.timestamp;
      Atomics.add(words, C_ACK, 1);
      notify(control, C_ACK * 4);
    } else if (frame.width === KIND_STREAM) {
      mine.set(frame.data); // the receiver copies every frame it gets
      const ok = frame.valid();
      const t = now();
      if (t >= values[F_WINDOW_START] && t < values[F_WINDOW_END]) {
        if (ok) {
          received++;
          dropped += frame.dropped;
        } else {
          torn++; // overwritten while copying: not received
        }
      }
    } else if (frame.width === KIND_SYNC) {
      Atomics.store(words, C_RECEIVED, received);
      Atomics.store(words, C_DROPPED, dropped);
      Atomics.store(words, C_TORN, torn);
      received = dropped = torn = 0;
      Atomics.add(words, C_ACK, 1);
      notify(control, C_ACK * 4);
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
    const t = now();
    process.send({ latency: t - message.t, bytes: frame.byteLength });
  });
  process.send('ready');
}

function childSocket(socketPath) {
  const socket = net.connect(socketPath);
  const header = Buffer.alloc(12); // u32 length, f64 stamp
  let headerHave = 0;
  let frame = null;
  let have = 0;
  let stamp = 0;
  socket.on('data', (chunk) => {
    let offset = 0;
    while (offset < chunk.length) {
      if (frame === null) {
        const n = Math.min(12 - headerHave, chunk.length - offset);
        chunk.copy(header, headerHave, offset, offset + n);
        headerHave += n;
        offset += n;
        if (headerHave < 12) return;
        headerHave = 0;
        stamp = header.readDoubleLE(4);
        frame = Buffer.allocUnsafe(header.readUInt32LE(0)); // the receiver's own contiguous frame
        have = 0;
      }
      const n = Math.min(frame.length - have, chunk.length - offset);
      chunk.copy(frame, have, offset, offset + n);
      have += n;
      offset += n;
      if (have === frame.length) {
        const t = now();
        const reply = Buffer.alloc(12);
        reply.writeDoubleLE(t - stamp, 0);
        reply.writeUInt32LE(frame.length, 8);
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
    const t = now();
    parentPort.postMessage({ latency: t - message.t, bytes: message.buffer.byteLength });
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

function makeSource(bytes) {
  const source = Buffer.allocUnsafe(bytes);
  crypto.randomFillSync(source); // pixel-like bytes: every value occurs (matters to JSON)
  return source;
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
  const segments = []; // names to unlink
  const peers = [];
  let ring = null;
  let control = null;
  let server = null;
  let serverSocket = null;
  let socketPath = null;
  const safetyNet = () => {
    for (const peer of peers) peer.killNow();
    for (const name of segments) {
      try {
        SharedMemory.unlink(name);
      } catch {}
    }
    if (socketPath) fs.rmSync(socketPath, { force: true });
  };
  process.on('exit', safetyNet);

  try {
    progress(`preparing ${sizes.map((s) => s.label).join(', ')} (preset ${presetName})`);
    const sources = {};
    const memcpyTargets = {};
    for (const size of sizes) {
      sources[size.key] = makeSource(size.bytes);
      memcpyTargets[size.key] = Buffer.alloc(size.bytes);
    }

    // ---- the ring and its reader process
    ring = FrameRing.create({ slots: RING_SLOTS, slotBytes: maxBytes });
    segments.push(ring.name);
    control = SharedMemory.create(CONTROL_BYTES);
    segments.push(control.name);
    const words = control.view(Int32Array, 0, 8);
    const values = control.view(Float64Array, 32, 4);

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
    const socketPeer = forkPeer('socket receiver', ['--child-socket', socketPath]);
    const workerPeer = new Peer('worker', new Worker(__filename, { workerData: { role: WORKER_ROLE }, execArgv: [] }), 'worker');
    peers.push(ringPeer, ipcAdvancedPeer, ipcJsonPeer, socketPeer, workerPeer);
    const connection = socketPeer.guard(new Promise((resolve) => server.once('connection', resolve)));
    await Promise.all([ringPeer.ready(), ipcAdvancedPeer.ready(), ipcJsonPeer.ready(), workerPeer.ready()]);
    serverSocket = await connection;

    // socket replies: 12 bytes each (f64 latency, u32 bytes)
    const socketReplies = [];
    let socketWake = null;
    let socketError = null;
    let pendingReply = Buffer.alloc(0);
    serverSocket.on('data', (chunk) => {
      pendingReply = pendingReply.length ? Buffer.concat([pendingReply, chunk]) : chunk;
      while (pendingReply.length >= 12) {
        socketReplies.push({ latency: pendingReply.readDoubleLE(0), bytes: pendingReply.readUInt32LE(8) });
        pendingReply = pendingReply.subarray(12);
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

    async function measureRing(size, count) {
      const source = sources[size.key];
      const inPlace = [];
      const copied = [];
      for (let i = 0; i < count; i++) {
        await sleep(GAP_MS);
        const before = Atomics.load(words, C_ACK);
        const t = now();
        const slot = ring.acquire();
        slot.data.set(source);
        ring.publish(slot, { width: KIND_LATENCY, height: 1, byteLength: size.bytes, timestamp: t });
        await waitAck(before);
        inPlace.push(values[F_IN_PLACE]);
        copied.push(values[F_COPIED]);
      }
      return { ring: inPlace, ringCopy: copied };
    }

    function ipcMeasure(peer) {
      return async (size, count) => {
        const source = sources[size.key];
        const samples = [];
        for (let i = 0; i < count; i++) {
          await sleep(GAP_MS);
          const reply = peer.nextMessage();
          peer.handle.send({ t: now(), frame: source });
          const r = await reply;
          if (r.bytes !== size.bytes) throw new Error(`frames: ${peer.name} received ${r.bytes} bytes instead of ${size.bytes}`);
          samples.push(r.latency);
        }
        return samples;
      };
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
      const source = sources[size.key];
      const samples = [];
      for (let i = 0; i < count; i++) {
        await sleep(GAP_MS);
        const head = Buffer.alloc(12);
        head.writeUInt32LE(size.bytes, 0);
        head.writeDoubleLE(now(), 4);
        serverSocket.write(head);
        serverSocket.write(source);
        const r = await nextSocketReply();
        if (r.bytes !== size.bytes) throw new Error(`frames: the socket delivered ${r.bytes} bytes instead of ${size.bytes}`);
        samples.push(r.latency);
      }
      return samples;
    }

    async function measureWorker(size, count) {
      const source = sources[size.key];
      const samples = [];
      for (let i = 0; i < count; i++) {
        await sleep(GAP_MS);
        // A fresh buffer per frame, filled before the stamp: what is timed is the hand-off.
        const buffer = new ArrayBuffer(size.bytes);
        new Uint8Array(buffer).set(source);
        const reply = workerPeer.nextMessage();
        workerPeer.handle.postMessage({ t: now(), buffer }, [buffer]);
        const r = await reply;
        if (r.bytes !== size.bytes) throw new Error(`frames: the worker received ${r.bytes} bytes instead of ${size.bytes}`);
        samples.push(r.latency);
      }
      return samples;
    }

    async function measureMemcpy(size, count) {
      const source = sources[size.key];
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
      const source = sources[size.key];
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
      { id: 'ring', label: 'FrameRing', measure: measureRing, essential: true },
      { id: 'ipcAdvanced', label: "IPC 'advanced'", measure: ipcMeasure(ipcAdvancedPeer) },
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
      };
    }

    async function stream(size, seconds) {
      const source = sources[size.key];
      await syncCounters(); // resets the reader's counters
      const start = now() + 5;
      const end = start + seconds * 1000;
      values[F_WINDOW_START] = start;
      values[F_WINDOW_END] = end;
      while (now() < start);
      let published = 0;
      for (;;) {
        const t = now();
        if (t >= end) break;
        const slot = ring.acquire();
        slot.data.set(source);
        ring.publish(slot, { width: KIND_STREAM, height: 1, byteLength: size.bytes, timestamp: t });
        published++;
        if (published % 4 === 0) {
          await tick(); // keep this process responsive (a dead reader is noticed)
          if (ringPeer.exited) break;
        }
      }
      const counters = await syncCounters();
      return {
        seconds,
        published,
        publishedFps: published / seconds,
        received: counters.received,
        receivedFps: counters.received / seconds,
        dropped: counters.dropped,
        torn: counters.torn,
      };
    }

    // ---- rounds
    // perRound[sizeKey][transportId][r - 1] = samples of round r (a hole where not measured)
    const perRound = {};
    for (const size of sizes) {
      perRound[size.key] = {};
      for (const t of [...TRANSPORTS, ...REFERENCES]) perRound[size.key][t.id] = [];
    }
    const throughputRounds = {};
    for (const key of preset.streamSizes) throughputRounds[key] = [];
    const errors = {};

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
        progress(`${tag}, ${size.label}: FrameRing stream for ${seconds} s`);
        const result = await stream(size, seconds);
        if (r > 0) throughputRounds[key].push(result);
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
      ratios[size.key] = {
        ipcAdvancedOverRing: roundRatios(m.ipcAdvanced, m.ring),
        ipcJsonOverRing: roundRatios(m.ipcJson, m.ring),
        socketOverRing: roundRatios(m.socket, m.ring),
        workerOverRing: roundRatios(m.worker, m.ring),
        ringOverMemcpy: roundRatios(m.ring, m.memcpy),
        ipcAdvancedOverRingCopy: roundRatios(m.ipcAdvanced, m.ringCopy),
        socketOverRingCopy: roundRatios(m.socket, m.ringCopy),
        ringCopyOverMemcpy: roundRatios(m.ringCopy, m.memcpy),
        memcpyFreshOverMemcpy: roundRatios(m.memcpyFresh, m.memcpy),
      };
    }
    const throughput = {};
    for (const [key, rounds] of Object.entries(throughputRounds)) {
      throughput[key] = {
        bytes: SIZES[key].bytes,
        seconds: preset.streamSeconds,
        receivedFps: summarize(rounds.map((x) => x.receivedFps)),
        publishedFps: summarize(rounds.map((x) => x.publishedFps)),
        dropped: summarize(rounds.map((x) => x.dropped)),
        torn: summarize(rounds.map((x) => x.torn)),
        rounds,
      };
    }

    // ---- goals
    const goals = [];
    const r8 = ratios['8MiB'];
    const ipc8 = r8 && r8.ipcAdvancedOverRing;
    goals.push({
      goal: "8 MiB frame: ≥ 50× lower latency than child_process IPC 'advanced'",
      met: ipc8 ? ipc8.median >= 50 : null,
      figure: ipc8
        ? `${fmt(ipc8.median)}× (median of ${ipc8.rounds} per-round ratios; ${msText(latency['8MiB'].ipcAdvanced.median)} vs ${msText(latency['8MiB'].ring.median)}; ` +
          `${fmt(r8.ipcAdvancedOverRingCopy.median)}× counting the reader's copy-out)`
        : errors.ipcAdvanced ? `not measured: ${errors.ipcAdvanced}` : `not measured in the ${presetName} preset`,
    });
    const sock8 = r8 && r8.socketOverRing;
    goals.push({
      goal: '8 MiB frame: ≥ 25× lower latency than a Unix socket',
      met: sock8 ? sock8.median >= 25 : null,
      figure: sock8
        ? `${fmt(sock8.median)}× (median of ${sock8.rounds} per-round ratios; ${msText(latency['8MiB'].socket.median)} vs ${msText(latency['8MiB'].ring.median)}; ` +
          `${fmt(r8.socketOverRingCopy.median)}× counting the reader's copy-out)`
        : errors.socket ? `not measured: ${errors.socket}` : `not measured in the ${presetName} preset`,
    });
    const tp33 = throughput['33MiB'];
    goals.push({
      goal: '33 MiB (4K RGBA) stream at ≥ 120 fps between two processes',
      met: tp33 ? tp33.receivedFps.median >= 120 : null,
      figure: tp33
        ? `${fmt(tp33.receivedFps.median)} fps received with a copy-out of each (p10–p90 ${fmt(tp33.receivedFps.p10)}–${fmt(tp33.receivedFps.p90)} over ${tp33.rounds.length} streams of ${tp33.seconds} s; ` +
          `${fmt(tp33.publishedFps.median)} fps published, median ${countText(tp33.dropped.median)} skipped and ${countText(tp33.torn.median)} torn per stream)`
        : `not measured in the ${presetName} preset`,
    });
    const memcpyParts = sizes
      .filter((s) => ratios[s.key].ringOverMemcpy)
      .map((s) => `${s.label.split(' (')[0]} ${fmt(ratios[s.key].ringOverMemcpy.median)}×`);
    const within = ['8MiB', '33MiB'].map((k) => ratios[k] && ratios[k].ringOverMemcpy);
    goals.push({
      goal: 'Publish-to-read latency within 2× of one memcpy of the frame',
      met: within.every(Boolean) ? within.every((x) => x.median <= 2) : null,
      figure:
        `FrameRing / memcpy: ${memcpyParts.join(', ')} (median of per-round ratios)` +
        (within.every(Boolean) ? '' : `; 8 MiB and 33 MiB not measured in the ${presetName} preset`),
    });

    // ---- markdown
    const jsonSizes = Object.keys(preset.json).filter((k) => preset.json[k] && preset.sizes.includes(k));
    const lines = [];
    lines.push(
      `Each transport carries the same frame from this process to a receiving process, one frame in flight with a ${GAP_MS} ms pause between frames, ` +
        `in ${preset.rounds > 1 ? `${preset.rounds} rounds that interleave the transports` : 'one round'} after a warm-up round; latency runs from the sender's CLOCK_MONOTONIC stamp before it starts moving the frame ` +
        '(FrameRing: before copying it into the slot) to the receiver holding the whole frame (FrameRing: awake with the slot\'s seqlock stable, zero-copy, and "+ copy-out" after copying it out; ' +
        "IPC 'json': after Buffer.from of the received array; socket: assembled in a new Buffer; worker: a fresh ArrayBuffer, filled before the stamp, transferred to a worker thread of this process). " +
        'Cells are median (p10–p90) over all frames; ratios are the median (p10–p90) of per-round ratios, each round\'s median against the same round\'s FrameRing median; ' +
        `the stream rows count the frames a reader process received and copied out while the writer published flat out into a ${RING_SLOTS}-slot ring.`,
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
    if (Object.keys(throughput).length > 0) {
      lines.push('| FrameRing stream (reader copies out every frame) | received fps (p10–p90) | published fps | skipped per stream | torn per stream |');
      lines.push('|---|---|---|---|---|');
      for (const [key, tp] of Object.entries(throughput)) {
        lines.push(
          `| ${SIZES[key].label}, ${tp.rounds.length} × ${tp.seconds} s | ${fmt(tp.receivedFps.median)} (${fmt(tp.receivedFps.p10)}–${fmt(tp.receivedFps.p90)}) | ` +
            `${fmt(tp.publishedFps.median)} | ${countText(tp.dropped.median)} | ${countText(tp.torn.median)} |`,
        );
      }
      lines.push('');
    }
    lines.push("| frame | IPC 'advanced' / ring | IPC 'json' / ring | socket / ring | worker / ring | ring / memcpy | ring + copy-out / memcpy |");
    lines.push('|---|---|---|---|---|---|---|');
    for (const size of sizes) {
      const q = ratios[size.key];
      lines.push(
        `| ${size.label} | ${ratioCell(q.ipcAdvancedOverRing)} | ${ratioCell(q.ipcJsonOverRing)} | ${ratioCell(q.socketOverRing)} | ` +
          `${ratioCell(q.workerOverRing)} | ${ratioCell(q.ringOverMemcpy)} | ${ratioCell(q.ringCopyOverMemcpy)} |`,
      );
    }
    const notes = [];
    const missingJson = sizes.filter((s) => !jsonSizes.includes(s.key)).map((s) => s.label.split(' (')[0]);
    if (missingJson.length) notes.push(`IPC 'json' not measured at ${missingJson.join(', ')} in this preset (about 14 s per 33 MiB frame).`);
    const fewJson = jsonSizes.filter((k) => Number.isFinite(preset.json[k].rounds) && preset.json[k].rounds < preset.rounds);
    if (fewJson.length) {
      notes.push(`IPC 'json' at ${fewJson.map((k) => `${SIZES[k].label.split(' (')[0]} (${Math.min(preset.json[k].rounds, preset.rounds)} rounds × ${preset.json[k].frames} frame)`).join(', ')} only.`);
    }
    const big = sizes.filter((s) => s.bytes >= MiB && latency[s.key].memcpyFresh && latency[s.key].memcpy);
    if (big.length) {
      notes.push(
        'A copy into a freshly allocated buffer (allocation, zeroing and page faults included), which a receiver that gets a new Buffer per frame pays, took ' +
          big.map((s) => `${msText(latency[s.key].memcpyFresh.median)} at ${s.label.split(' (')[0]} (${fmt(ratios[s.key].memcpyFreshOverMemcpy.median)}× a copy into reused memory)`).join(', ') +
          ' on this machine.',
      );
    }
    for (const [id, message] of Object.entries(errors)) notes.push(`${id} failed: ${message}`);
    if (notes.length) {
      lines.push('');
      lines.push(notes.join(' '));
    }
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
      },
      sizes: sizes.map((s) => ({ key: s.key, label: s.label, bytes: s.bytes })),
      transports: [...TRANSPORTS, ...REFERENCES].map((t) => ({ id: t.id, name: t.chart })),
      latencyMs: latency,
      roundMediansMs: roundMedians,
      ratios,
      throughput,
      errors,
    };
    return { markdown, data: JSON.parse(JSON.stringify(data)), goals, chart };
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
    if (ring) {
      try {
        ring.unlink();
      } catch {}
    }
    if (control) {
      try {
        control.close();
      } catch {}
      try {
        control.unlink();
      } catch {}
    }
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
