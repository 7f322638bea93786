'use strict';
// A consumer process of the bridge suite (bench/suites/bridge.js): a stand-in for a window.
//   node bridge-peer.js frames-bridge      attach the host's FrameRing through the bridge, time every frame
//   node bridge-peer.js frames-ipc         receive frames as child_process IPC messages, ack each
//   node bridge-peer.js memory-bridge      attach the dataset through the bridge, read every page, report
//   node bridge-peer.js memory-ipc         receive the dataset as one IPC message, read every page, report
// Latency runs from the producer's timestamp (CLOCK_MONOTONIC, comparable across processes) to the
// moment this process has checked the frame (its number, every word against its checksum). Results go to the parent as one { result } message.
const { now } = require('../lib/stats');
const { verifyFrame } = require('../lib/frame-source');

const PAGE = 4096;
function touchAll(bytes) {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += PAGE) sum += bytes[i];
  return sum;
}

async function framesBridge() {
  const { connect } = require('@shmkit/electron-bridge/node');
  const client = await connect();
  const ring = await client.attachFrameRing('frames');
  const latencies = [];
  let dropped = 0;
  const abort = new AbortController();
  client.on('revoked', () => abort.abort());
  process.on('message', (m) => m && m.stop && abort.abort());
  process.send({ ready: true });
  let first = 0;
  let last = 0;
  let wrong = 0;
  let torn = 0;
  try {
    for await (const frame of ring.frames({ signal: abort.signal, includeLatest: false })) {
      const why = verifyFrame(frame.data.subarray(0, frame.byteLength), frame.frameNumber); // every word, in place
      const t = now();
      if (!frame.valid()) {
        torn++; // overwritten while checked: not delivered
        continue;
      }
      if (why) wrong++;
      latencies.push(t - frame.timestamp);
      dropped += frame.dropped;
      first ||= t;
      last = t;
    }
  } catch (error) {
    if (error.code !== 'ABORT_ERR' && error.name !== 'AbortError') throw error;
  }
  ring.close();
  client.close();
  // Our own 'message' listener keeps the channel open: let go of it once the result is out.
  process.send({ result: { latencies, dropped, torn, wrong, seconds: (last - first) / 1000 } }, () => process.disconnect());
}

function framesIpc() {
  const latencies = [];
  let first = 0;
  let last = 0;
  let wrong = 0;
  process.on('message', (m) => {
    if (m && m.stop) {
      process.send({ result: { latencies, dropped: 0, wrong, seconds: (last - first) / 1000 } }, () => process.disconnect());
      return;
    }
    if (!m || !m.frame) return;
    if (verifyFrame(m.frame, m.n) !== null) wrong++; // every word, as the bridge's consumers do
    const t = now();
    latencies.push(t - m.stamp);
    first ||= t;
    last = t;
    process.send({ ack: m.n });
  });
  process.send({ ready: true });
}

async function memoryBridge() {
  const { connect } = require('@shmkit/electron-bridge/node');
  const client = await connect();
  const t0 = now();
  const shm = await client.attach('dataset', { readonly: true });
  const attachMs = now() - t0;
  touchAll(shm.buf);
  process.send({ result: { attachMs, bytes: shm.size } });
  await new Promise((resolve) => process.on('message', (m) => m && m.stop && resolve()));
  client.close();
  process.disconnect();
}

function memoryIpc() {
  let kept = null;
  process.on('message', (m) => {
    if (m && m.stop) {
      kept = null;
      process.disconnect();
      return;
    }
    if (!m || !m.data) return;
    kept = m.data;
    touchAll(kept);
    process.send({ result: { attachMs: now() - m.stamp, bytes: kept.length } });
  });
  process.send({ ready: true });
}

const mode = process.argv[2];
const run = { 'frames-bridge': framesBridge, 'frames-ipc': framesIpc, 'memory-bridge': memoryBridge, 'memory-ipc': memoryIpc }[mode];
if (!run) {
  process.stderr.write(`bridge-peer: unknown mode ${mode}\n`);
  process.exit(2);
}
Promise.resolve(run()).catch((error) => {
  process.stderr.write(`bridge-peer ${mode}: ${error.stack}\n`);
  process.exit(1);
});
