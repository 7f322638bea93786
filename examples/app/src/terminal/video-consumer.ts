/**
 * A video "window" of the terminal version: attaches the host's FrameRing through the bridge and
 * checks every frame it receives. Each frame's header (its frame number) is decoded from the
 * slot in place and must match the ring's frame number; the whole frame (every pixel, against the checksum) is verified as often as a
 * fifth of this process's time allows, so a 4K stream is checked without falling behind.
 * Reports to the host twice a second.
 */
import { connect } from '@shmkit/electron-bridge/node';
import { readHeader, verifyFrame } from '../shared/pattern';
import { report, type VideoReport } from './messages';

const now = (): number => performance.timeOrigin + performance.now();

function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function main(): Promise<void> {
  const client = await connect();
  const ring = await client.attachFrameRing('video');
  const abort = new AbortController();
  client.on('revoked', () => abort.abort());
  process.on('disconnect', () => abort.abort());

  const stats: VideoReport = {
    kind: 'video', received: 0, dropped: 0, torn: 0, verified: 0, failed: 0, lastFrame: 0,
    latencyP50: null, latencyP95: null, firstFailure: null,
  };
  let latencies: number[] = [];
  let base: number | undefined;
  let verifyCost = 0;
  let verifyEnd = 0;
  const timer = setInterval(() => {
    latencies.sort((a, b) => a - b);
    stats.latencyP50 = percentile(latencies, 50);
    stats.latencyP95 = percentile(latencies, 95);
    latencies = [];
    report(stats);
  }, 500);

  const fail = (why: string): void => {
    stats.failed++;
    stats.firstFailure ??= why;
  };

  try {
    for await (const frame of ring.frames({ signal: abort.signal })) {
      latencies.push(now() - frame.timestamp);
      stats.received++;
      stats.dropped += frame.dropped;
      const header = readHeader(frame.data, frame.width, frame.stride);
      let full: ReturnType<typeof verifyFrame> | null = null;
      const start = performance.now();
      if (start - verifyEnd >= 4 * verifyCost) {
        full = verifyFrame(frame.data, frame.width, frame.height, frame.stride);
        verifyEnd = performance.now();
        verifyCost = verifyEnd - start;
      }
      if (!frame.valid()) {
        stats.torn++; // overwritten while we read it: neither a pass nor a failure
        continue;
      }
      if ('reason' in header) {
        fail(`frame ${frame.frameNumber}: ${header.reason}`);
        continue;
      }
      // The pixels must carry the frame the ring says this is (the producer renders frame n into the
      // ring's n-th publish, from a base this reader learns on its first frame).
      base ??= frame.frameNumber - header.frame;
      if (header.frame !== frame.frameNumber - base) {
        fail(`ring frame ${frame.frameNumber} carries pixels of frame ${header.frame} (expected ${frame.frameNumber - base})`);
      }
      stats.lastFrame = header.frame;
      if (full) {
        if (full.ok) stats.verified++;
        else fail(`frame ${header.frame}: ${full.reason}`);
      }
    }
  } finally {
    clearInterval(timer);
    report(stats);
    ring.close();
    client.close();
  }
}

main().catch((error: unknown) => {
  const e = error as { code?: string; message?: string };
  process.stderr.write(`video consumer: ${e.code ?? 'Error'}: ${e.message ?? String(error)}\n`);
  process.exitCode = 1;
});
