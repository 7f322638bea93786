/**
 * The dataset window's worker: computes over the same memory the page got (a SharedArrayBuffer over
 * the segment, or the snapshot moved here), never copying it. The page starts it before it attaches,
 * so starting a worker (fetching and compiling this module and its import) overlaps the attach; it
 * says when it is ready and when it read the first byte (`performance.timeOrigin + performance.now()`,
 * a clock the page can compare with its own).
 */
import { checksum, histogram, runningMean } from '../shared/dataset.js';

export type WorkerMessage =
  | { kind: 'ready'; at: number }
  | ({ kind: 'result'; firstByteAt: number; checksum: number; computeMs: number } & (
      | { view: 'histogram'; counts: number[]; min: number; max: number }
      | { view: 'mean'; windows: { mean: number; min: number; max: number }[] }
    ));
export type WorkerResult = Extract<WorkerMessage, { kind: 'result' }>;

interface Job {
  view: 'histogram' | 'mean';
  buffer: ArrayBuffer | SharedArrayBuffer;
  byteOffset: number;
  byteLength: number;
}

const now = (): number => performance.timeOrigin + performance.now();
const scope = self as unknown as { onmessage: ((e: MessageEvent<Job>) => void) | null; postMessage(m: WorkerMessage): void };
scope.onmessage = (event) => {
  const { view, buffer, byteOffset, byteLength } = event.data;
  const t0 = performance.now();
  const bytes = new Uint8Array(buffer, byteOffset, byteLength);
  void bytes[0];
  const firstByteAt = now();
  const sum = checksum(bytes);
  const samples = new Float32Array(buffer, byteOffset, Math.floor(byteLength / 4));
  if (view === 'histogram') {
    const h = histogram(samples, 64);
    scope.postMessage({ kind: 'result', view, firstByteAt, checksum: sum, computeMs: performance.now() - t0, counts: Array.from(h.counts), min: h.min, max: h.max });
  } else {
    scope.postMessage({ kind: 'result', view, firstByteAt, checksum: sum, computeMs: performance.now() - t0, windows: runningMean(samples, 256) });
  }
};
scope.postMessage({ kind: 'ready', at: now() });
