'use strict';
// Moving video frames between two processes: shmkit's FrameRing against
// child_process IPC ('advanced' serialization) and a Unix socket carrying the
// same frames, measured side by side in one run.
//
//   node bench/frames.js [--quick] [--json FILE]
//
// Latency: the sender stamps a frame with CLOCK_MONOTONIC (process.hrtime,
// shared by all processes on Linux) before it starts moving it (for the ring:
// before copying it into the slot); the receiver stamps when it can read the
// whole frame: for IPC and the socket, when the message is assembled in its
// memory; for the ring, when it wakes and the slot's seqlock says the frame is
// stable (zero-copy), and again after copying it out ("+ copy-out"). One frame
// in flight at a time; warm-up frames excluded; medians.
// Throughput (FrameRing): the writer publishes as fast as it can for a fixed
// time while the reader copies out every frame it receives; reported as frames
// the reader received per second, plus the frames it skipped.
const { fork } = require('node:child_process');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const fs = require('node:fs');
const { FrameRing, SharedMemory, waitAsync, notify } = require('@shmkit/shm');

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const jsonIndex = argv.indexOf('--json');
const JSON_OUT = jsonIndex >= 0 ? argv[jsonIndex + 1] : undefined;

const SIZES = [
  { label: '1080p RGBA (8 MiB)', bytes: 1920 * 1080 * 4, width: 1920, height: 1080 },
  { label: '4K RGBA (33 MiB)', bytes: 3840 * 2160 * 4, width: 3840, height: 2160 },
];
const LATENCY_FRAMES = QUICK ? 12 : 60;
const WARMUP = QUICK ? 3 : 10;
const STREAM_SECONDS = QUICK ? 1 : 3;

const now = () => Number(process.hrtime.bigint()) / 1e6; // ms, CLOCK_MONOTONIC

function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * (s.length - 1) + 0.5))];
  return { n: s.length, median: q(0.5), p10: q(0.1), p90: q(0.9), min: s[0], max: s[s.length - 1] };
}

function progress(text) {
  process.stderr.write(`bench: ${text}\n`);
}

// ---------------------------------------------------------------- children

async function childRing(name, controlName, bytes) {
  const ring = FrameRing.attach(name);
  const control = SharedMemory.attach(controlName);
  const ack = control.view(Int32Array);
  const mine = Buffer.allocUnsafe(bytes);
  const latencies = [];
  const copyLatencies = [];
  let received = 0;
  let dropped = 0;
  let streaming = false;
  let streamStart = 0;
  for await (const frame of ring.frames()) {
    if (frame.width === 1) {
      // latency round. Zero-copy: the reader holds the frame in place as soon
      // as it wakes and the seqlock says the slot is stable.
      const inPlace = frame.valid() ? now() : NaN;
      mine.set(frame.data); // and with a private copy of it
      const copied = frame.valid() ? now() : NaN;
      latencies.push(inPlace - frame.timestamp);
      copyLatencies.push(copied - frame.timestamp);
      Atomics.add(ack, 0, 1); // acknowledge so the writer sends the next one
      notify(control, 0);
    } else {
      mine.set(frame.data); // the receiver copies every frame it gets
      if (!frame.valid()) continue; // overwritten while copying: not received
      if (!streaming) {
        streaming = true;
        streamStart = now();
      }
      received++;
      dropped += frame.dropped;
      Atomics.store(ack, 1, received);
    }
  }
  process.send({ latencies, copyLatencies, received, dropped, seconds: (now() - streamStart) / 1000 });
  ring.close();
  control.close();
}

function childIpc() {
  process.on('message', (message) => {
    if (message === 'done') return process.disconnect();
    const t = now();
    process.send({ latency: t - message.t, bytes: message.frame.length });
  });
}

function childSocket(socketPath) {
  const socket = net.connect(socketPath);
  let pending = [];
  let have = 0;
  let need = -1;
  let stamp = 0;
  socket.on('data', (chunk) => {
    pending.push(chunk);
    have += chunk.length;
    for (;;) {
      if (need < 0) {
        if (have < 12) return;
        const head = Buffer.concat(pending);
        need = head.readUInt32LE(0);
        stamp = head.readDoubleLE(4);
        pending = [head.subarray(12)];
        have -= 12;
      }
      if (have < need) return;
      const all = Buffer.concat(pending); // the receiver owns a contiguous copy
      const frame = all.subarray(0, need);
      const t = now();
      pending = [all.subarray(need)];
      have -= need;
      need = -1;
      const reply = Buffer.alloc(12);
      reply.writeDoubleLE(t - stamp, 0);
      reply.writeUInt32LE(frame.length, 8);
      socket.write(reply);
    }
  });
  socket.on('end', () => process.exit(0));
}

// ---------------------------------------------------------------- parent

async function benchRing(size, source) {
  const ring = FrameRing.create({ slots: 3, slotBytes: size.bytes });
  const control = SharedMemory.create(64);
  const ack = control.view(Int32Array);
  const child = fork(__filename, ['--child-ring', ring.name, control.name, String(size.bytes)]);
  const result = new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`the ring reader exited with code ${code}`)));
  });
  result.catch(() => {}); // handled where awaited
  try {
    // wait until the reader is attached and sleeping in frames()
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (let i = 0; i < WARMUP + LATENCY_FRAMES; i++) {
      const before = Atomics.load(ack, 0);
      const t = now();
      const slot = ring.acquire();
      slot.data.set(source);
      ring.publish(slot, { width: 1, height: 1, byteLength: size.bytes, timestamp: t });
      while (Atomics.load(ack, 0) === before) {
        if ((await waitAsync(control, 0, before, 5000)) === 'timed-out') throw new Error('the ring reader stopped acknowledging');
      }
    }
    // throughput: publish as fast as possible; yield to the event loop now
    // and then only to keep the process responsive
    const end = now() + STREAM_SECONDS * 1000;
    let published = 0;
    while (now() < end) {
      const slot = ring.acquire();
      slot.data.set(source);
      ring.publish(slot, { width: size.width, height: size.height, pixelFormat: 'rgba8', byteLength: size.bytes });
      published++;
      if (published % 8 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    ring.close();
    const r = await result;
    return {
      latency: stats(r.latencies.slice(WARMUP)),
      latencyWithCopyOut: stats(r.copyLatencies.slice(WARMUP)),
      published,
      publishFps: published / STREAM_SECONDS,
      received: r.received,
      receivedFps: r.received / STREAM_SECONDS,
      dropped: r.dropped,
    };
  } finally {
    ring.close();
    ring.unlink();
    control.close();
    control.unlink();
    child.kill();
  }
}

async function benchIpc(size, source) {
  const child = fork(__filename, ['--child-ipc'], { serialization: 'advanced' });
  const latencies = [];
  try {
    for (let i = 0; i < WARMUP + LATENCY_FRAMES; i++) {
      const reply = new Promise((resolve) => child.once('message', resolve));
      child.send({ t: now(), frame: source });
      const r = await reply;
      if (r.bytes !== size.bytes) throw new Error('IPC delivered a wrong size');
      latencies.push(r.latency);
    }
  } finally {
    child.kill();
  }
  return { latency: stats(latencies.slice(WARMUP)) };
}

async function benchSocket(size, source) {
  const socketPath = path.join(os.tmpdir(), `shmkit-bench-${process.pid}.sock`);
  fs.rmSync(socketPath, { force: true });
  const server = net.createServer();
  await new Promise((resolve) => server.listen(socketPath, resolve));
  const child = fork(__filename, ['--child-socket', socketPath]);
  const socket = await new Promise((resolve) => server.once('connection', resolve));
  const latencies = [];
  try {
    let buffered = Buffer.alloc(0);
    const replies = [];
    let wake;
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 12) {
        replies.push({ latency: buffered.readDoubleLE(0), bytes: buffered.readUInt32LE(8) });
        buffered = buffered.subarray(12);
      }
      if (wake) wake();
    });
    for (let i = 0; i < WARMUP + LATENCY_FRAMES; i++) {
      const head = Buffer.alloc(12);
      head.writeUInt32LE(size.bytes, 0);
      head.writeDoubleLE(now(), 4);
      socket.write(head);
      socket.write(source);
      while (replies.length === 0) await new Promise((resolve) => (wake = resolve));
      const r = replies.shift();
      if (r.bytes !== size.bytes) throw new Error('socket delivered a wrong size');
      latencies.push(r.latency);
    }
  } finally {
    socket.end();
    child.kill();
    server.close();
    fs.rmSync(socketPath, { force: true });
  }
  return { latency: stats(latencies.slice(WARMUP)) };
}

function memcpyMs(source) {
  const target = Buffer.allocUnsafe(source.length);
  target.set(source);
  const samples = [];
  for (let i = 0; i < 20; i++) {
    const t = now();
    target.set(source);
    samples.push(now() - t);
  }
  return stats(samples);
}

async function main() {
  const results = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, memoryGiB: Math.round(os.totalmem() / 2 ** 30) },
    node: process.version,
    quick: QUICK,
    sizes: [],
  };
  for (const size of SIZES) {
    const source = Buffer.alloc(size.bytes);
    for (let i = 0; i < source.length; i += 4096) source[i] = i & 0xff;
    progress(`${size.label}: one memcpy`);
    const memcpy = memcpyMs(source);
    progress(`${size.label}: FrameRing (${LATENCY_FRAMES} latency frames, ${STREAM_SECONDS} s stream)`);
    const ring = await benchRing(size, source);
    progress(`${size.label}: child_process IPC 'advanced'`);
    const ipc = await benchIpc(size, source);
    progress(`${size.label}: Unix socket`);
    const socket = await benchSocket(size, source);
    results.sizes.push({
      ...size,
      memcpy,
      ring,
      ipc,
      socket,
      ratios: {
        ipcOverRing: ipc.latency.median / ring.latency.median,
        socketOverRing: socket.latency.median / ring.latency.median,
        ringOverMemcpy: ring.latency.median / memcpy.median,
      },
    });
  }
  const f = (x) => x.toFixed(x < 10 ? 2 : 1);
  console.log(`\nframes between two processes — ${results.date}, ${results.machine.cpus} cores, Node ${results.node}${QUICK ? ' (quick)' : ''}`);
  console.log('| frame | memcpy | FrameRing | ring + copy-out | IPC advanced | Unix socket | IPC / ring | socket / ring | ring / memcpy | ring fps received (published; dropped) |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const s of results.sizes) {
    console.log(
      `| ${s.label} | ${f(s.memcpy.median)} ms | ${f(s.ring.latency.median)} ms (p90 ${f(s.ring.latency.p90)}) | ` +
        `${f(s.ring.latencyWithCopyOut.median)} ms | ${f(s.ipc.latency.median)} ms | ${f(s.socket.latency.median)} ms | ` +
        `${f(s.ratios.ipcOverRing)}× | ${f(s.ratios.socketOverRing)}× | ${f(s.ratios.ringOverMemcpy)}× | ` +
        `${f(s.ring.receivedFps)} (${f(s.ring.publishFps)}; ${s.ring.dropped}) |`,
    );
  }
  if (JSON_OUT) fs.writeFileSync(JSON_OUT, `${JSON.stringify(results, null, 2)}\n`);
}

if (argv[0] === '--child-ring') childRing(argv[1], argv[2], Number(argv[3]));
else if (argv[0] === '--child-ipc') childIpc();
else if (argv[0] === '--child-socket') childSocket(argv[1]);
else main().catch((error) => {
  console.error(error);
  process.exit(1);
});
