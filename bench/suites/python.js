'use strict';
// Suite "python": a Python producer → a Node consumer, one frame at a time, end to end, at 1080p and
// 4K: shmkit's FrameRing (the Python package writes the frame into the slot in place; Node reads it
// there) against what Python users do today — raw bytes over a pipe (the child's stdout), over a Unix
// socket, and multiprocessing's Connection.send_bytes (over a Unix socket, no authentication).
//
// The same work on both sides for every transport (python_producer.py has the details): the producer
// renders frame k (one memcpy of a precomputed body, not timed), stamps it (CLOCK_MONOTONIC) and hands
// it to the transport; the consumer (this process) holds the whole frame — in the slot for the ring,
// assembled into a buffer of its own from the stream for the others (the copy those transports
// imply) — checks its frame number and sums every u32 word of the body against the checksum, then
// stamps. Latency = consumer stamp − producer stamp. One frame in flight: the consumer acks each frame
// on the producer's stdin and the producer pauses 2 ms before the next, so the consumer waits asleep.
// Transports run in rounds, in a rotating order, each round a fresh producer per transport; the first
// frames of each run are warm-up and dropped; figures pool every run (median, p10–p90); ratios to the
// ring are computed per round and their median reported.

const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { FrameRing } = require('@shmkit/shm');
const { summarize, now, fmt } = require('../lib/stats');

const PRODUCER = path.join(__dirname, 'python_producer.py');
const MiB = 1024 * 1024;
const HEADER = 16;
const TRANSPORTS = [
  { id: 'ring', label: 'FrameRing (shmkit, in place)' },
  { id: 'pipe', label: 'pipe (stdout, length-prefixed)' },
  { id: 'socket', label: 'Unix socket (length-prefixed)' },
  { id: 'mpconn', label: 'multiprocessing Connection.send_bytes' },
];
const SIZES = {
  '1080p': { label: '1080p (1920×1080 RGBA, 7.9 MiB)', bytes: 1920 * 1080 * 4 },
  '4k': { label: '4K (3840×2160 RGBA, 31.6 MiB)', bytes: 3840 * 2160 * 4 },
};
const PRESETS = {
  tiny: { sizes: ['1080p'], frames: { '1080p': 4, '4k': 3 }, warmup: 1, rounds: 1 },
  quick: { sizes: ['1080p', '4k'], frames: { '1080p': 40, '4k': 20 }, warmup: 4, rounds: 3 },
  full: { sizes: ['1080p', '4k'], frames: { '1080p': 120, '4k': 50 }, warmup: 6, rounds: 5 },
};

function pythonMissing() {
  const r = spawnSync('python3', ['-c', 'import sys; assert sys.version_info >= (3, 9); print("%d.%d.%d" % sys.version_info[:3])'], { encoding: 'utf8' });
  return r.status === 0 ? null : 'python3 (3.9 or newer) is not installed';
}

/** Checks frame k (number and checksum of the body) in `bytes`; returns the producer's stamp. */
function verify(bytes, k) {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, HEADER);
  const n = dv.getUint32(0, true);
  if (n !== (k >>> 0)) throw new Error(`expected frame ${k}, got ${n}`);
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset + HEADER, (bytes.byteLength - HEADER) / 4);
  let sum = 0;
  for (let i = 0; i < words.length; i++) sum = (sum + words[i]) >>> 0;
  if (sum !== dv.getUint32(4, true)) throw new Error(`frame ${k}: checksum ${sum} != ${dv.getUint32(4, true)}`);
  return dv.getFloat64(8, true);
}

/**
 * Reassembles length-prefixed frames from a byte stream into one buffer of this process (`bigEndian`:
 * multiprocessing's `!i` header, -1 then `!Q` for larger); calls onFrame(buffer) for each whole frame.
 */
function assembler(frameBytes, bigEndian, onFrame) {
  const frame = Buffer.allocUnsafeSlow(frameBytes);
  const header = Buffer.alloc(12);
  let headerHave = 0;
  let headerNeed = 4;
  let length = -1;
  let have = 0;
  return (chunk) => {
    let at = 0;
    while (at < chunk.length) {
      if (length < 0) {
        const take = Math.min(headerNeed - headerHave, chunk.length - at);
        chunk.copy(header, headerHave, at, at + take);
        headerHave += take;
        at += take;
        if (headerHave < headerNeed) return;
        if (!bigEndian) length = header.readUInt32LE(0);
        else if (headerNeed === 4 && header.readInt32BE(0) === -1) {
          headerNeed = 12;
          continue;
        } else length = headerNeed === 12 ? Number(header.readBigUInt64BE(4)) : header.readInt32BE(0);
        if (length !== frameBytes) throw new Error(`a frame of ${length} bytes, expected ${frameBytes}`);
        have = 0;
      }
      const take = Math.min(length - have, chunk.length - at);
      chunk.copy(frame, have, at, at + take);
      have += take;
      at += take;
      if (have === length) {
        length = -1;
        headerHave = 0;
        headerNeed = 4;
        onFrame(frame);
      }
    }
  };
}

/** One producer process, `frames` frames over `transport`: the latencies (ms) of every frame. */
async function runOnce(transport, bytes, frames) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmkit-bench-py-'));
  const address = path.join(dir, 'sock');
  let server = null;
  let reader = null;
  const latencies = [];
  let child = null;
  try {
    let settle;
    let fail;
    const done = new Promise((resolve, reject) => {
      settle = resolve;
      fail = reject;
    });
    const ACK = Buffer.from([1]);
    let k = 0;
    const onFrame = (data) => {
      const stamp = verify(data, k);
      latencies.push(now() - stamp);
      k++;
      child.stdin.write(ACK);
      if (k === frames) settle();
    };
    const guard = (fn) => (arg) => {
      try {
        fn(arg);
      } catch (error) {
        fail(error);
      }
    };
    if (transport === 'socket' || transport === 'mpconn') {
      server = net.createServer((socket) => socket.on('data', guard(assembler(bytes, transport === 'mpconn', onFrame))));
      await new Promise((resolve, reject) => server.listen(address, resolve).once('error', reject));
    }
    child = spawn('python3', [PRODUCER, transport, String(bytes), String(frames), address], { stdio: ['pipe', transport === 'pipe' ? 'pipe' : 'ignore', 'pipe'] });
    let stderr = '';
    child.on('exit', (code, signal) => {
      if (k < frames) fail(new Error(`the Python producer (${transport}) exited (${signal ?? code}) after ${k} frames: ${stderr.trim()}`));
    });
    child.stdin.on('error', () => {}); // the producer's exit is reported above
    if (transport === 'pipe') child.stdout.on('data', guard(assembler(bytes, false, onFrame)));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d) => {
      stderr += d;
      const m = /^ready (\S+)$/m.exec(stderr);
      if (transport === 'ring' && m && !reader) {
        reader = FrameRing.attach(m[1]);
        child.stdin.write(ACK);
        (async () => {
          for await (const frame of reader.frames({ includeLatest: false })) {
            onFrame(frame.data);
            if (!frame.valid()) throw new Error(`frame ${k - 1} was overwritten while it was read`);
            if (k === frames) break;
          }
        })().catch(fail);
      }
    });
    await done;
    await new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', resolve)));
    return latencies;
  } finally {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    reader?.close();
    server?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function run({ preset: presetName, progress }) {
  const preset = PRESETS[presetName];
  const missing = pythonMissing();
  if (missing) {
    return { markdown: `**Skipped:** ${missing}.`, data: { skipped: missing }, goals: [] };
  }
  const python = spawnSync('python3', ['--version'], { encoding: 'utf8' }).stdout.trim();
  const rows = [];
  for (const sizeKey of preset.sizes) {
    const size = SIZES[sizeKey];
    const pooled = Object.fromEntries(TRANSPORTS.map((t) => [t.id, []]));
    const ratios = Object.fromEntries(TRANSPORTS.map((t) => [t.id, []]));
    for (let round = 0; round < preset.rounds; round++) {
      const medians = {};
      for (let i = 0; i < TRANSPORTS.length; i++) {
        const t = TRANSPORTS[(i + round) % TRANSPORTS.length];
        progress(`${sizeKey}: round ${round + 1}/${preset.rounds}, ${t.id}`);
        const lat = (await runOnce(t.id, size.bytes, preset.frames[sizeKey])).slice(preset.warmup);
        pooled[t.id].push(...lat);
        medians[t.id] = summarize(lat).median;
      }
      for (const t of TRANSPORTS) ratios[t.id].push(medians[t.id] / medians.ring);
    }
    // the floor under every row: the consumer's check alone, on a frame already in this process's memory
    const frame = Buffer.alloc(size.bytes);
    const check = [];
    for (let i = 0; i < preset.frames[sizeKey]; i++) {
      frame.writeUInt32LE(i, 0);
      frame.writeUInt32LE(0, 4); // an all-zero body sums to 0
      const t0 = now();
      verify(frame, i);
      check.push(now() - t0);
    }
    rows.push({
      size: sizeKey,
      checkAlone: summarize(check.slice(preset.warmup)),
      label: size.label,
      bytes: size.bytes,
      transports: TRANSPORTS.map((t) => ({ id: t.id, label: t.label, latency: summarize(pooled[t.id]), ratioToRing: summarize(ratios[t.id]).median })),
    });
  }
  const lines = [
    `A Python producer (${python}) → a Node consumer, one frame in flight, end to end: from the moment the`,
    'frame is rendered in Python to the moment the Node process has checked its number and summed every',
    'word of it (ms per frame, median and p10–p90 over every run; "× ring": the median of the per-round',
    'ratios). The same rendering and the same check for every transport; the byte streams also copy the',
    'frame into a buffer of the consumer, which is what using them implies.',
    '',
  ];
  for (const r of rows) {
    lines.push(`**${r.label}**`, '', '| transport | latency (ms) | × ring |', '|---|---|---|');
    for (const t of r.transports) lines.push(`| ${t.label} | ${fmt(t.latency.median)} (${fmt(t.latency.p10)}–${fmt(t.latency.p90)}) | ${t.id === 'ring' ? '1' : fmt(t.ratioToRing)} |`);
    lines.push(`| *the consumer's check alone (a warm buffer in this process): the floor* | ${fmt(r.checkAlone.median)} (${fmt(r.checkAlone.p10)}–${fmt(r.checkAlone.p90)}) | |`);
    lines.push('');
  }
  lines.push(
    'What the ring saves is the transport\'s copies (into the kernel and out of it, and the consumer\'s',
    'reassembly); what it costs is the same check every consumer does. The checksum, the same for all,',
    'is a floor under every row: a consumer that only draws (a page uploading the slot) pays less.',
  );
  const headlines = rows.map((r) => {
    const t = Object.fromEntries(r.transports.map((x) => [x.id, x]));
    return {
      key: `python.${r.size}`,
      text:
        `A ${r.size === '4k' ? '4K' : r.size} RGBA frame from a Python producer to a Node consumer, end to end (rendered in Python, every word checked in Node): ${fmt(t.ring.latency.median)} ms through the FrameRing; ` +
        `${fmt(t.pipe.ratioToRing)}× as long through a pipe, ${fmt(t.socket.ratioToRing)}× a Unix socket, ${fmt(t.mpconn.ratioToRing)}× multiprocessing's Connection (${python})`,
    };
  });
  return { markdown: lines.join('\n'), data: { python, rows }, goals: [], headlines };
}

module.exports = { id: 'python', title: 'Python → Node: a frame from a Python producer, FrameRing vs pipe, socket, multiprocessing', run };
