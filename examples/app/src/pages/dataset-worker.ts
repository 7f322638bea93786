/**
 * The dataset window's worker: computes over the same memory the page got (a SharedArrayBuffer over
 * the segment, or the snapshot moved here), never copying it.
 */
import { checksum, histogram, runningMean } from '../shared/dataset.js';

export type WorkerResult =
  | { view: 'histogram'; checksum: number; computeMs: number; counts: number[]; min: number; max: number }
  | { view: 'mean'; checksum: number; computeMs: number; windows: { mean: number; min: number; max: number }[] };

interface Job {
  view: 'histogram' | 'mean';
  buffer: ArrayBuffer | SharedArrayBuffer;
  byteOffset: number;
  byteLength: number;
}

const scope = self as unknown as { onmessage: ((e: MessageEvent<Job>) => void) | null; postMessage(m: WorkerResult): void };
scope.onmessage = (event) => {
  const { view, buffer, byteOffset, byteLength } = event.data;
  const t0 = performance.now();
  const bytes = new Uint8Array(buffer, byteOffset, byteLength);
  const sum = checksum(bytes);
  const samples = new Float32Array(buffer, byteOffset, Math.floor(byteLength / 4));
  if (view === 'histogram') {
    const h = histogram(samples, 64);
    scope.postMessage({ view, checksum: sum, computeMs: performance.now() - t0, counts: Array.from(h.counts), min: h.min, max: h.max });
  } else {
    scope.postMessage({ view, checksum: sum, computeMs: performance.now() - t0, windows: runningMean(samples, 256) });
  }
};
