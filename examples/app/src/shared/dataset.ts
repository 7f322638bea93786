/**
 * The shared dataset: `count` Float32 samples generated deterministically (a sum of slow sines,
 * steps and seeded noise, so a histogram and a running mean show structure), and a checksum that
 * every consumer computes over the same bytes to prove it read the same data. Plain code: no
 * Node, no DOM.
 */

/** 256 MiB of Float32: the app's default. */
export const DEFAULT_SAMPLES = 64 * 1024 * 1024;

/** Sample i (the one definition; `fill` produces exactly these values, as Float32). */
export function sample(i: number): number {
  const t = i / 65536;
  // xorshift32 of i: deterministic noise in [-0.5, 0.5)
  let s = (i ^ 0x9e3779b9) >>> 0;
  s ^= s << 13;
  s >>>= 0;
  s ^= s >>> 17;
  s ^= s << 5;
  s >>>= 0;
  const noise = s / 4294967296 - 0.5;
  const step = (i >>> 22) & 1 ? 0.75 : 0;
  return Math.sin(t) + 0.5 * Math.sin(t * 0.37 + 1) + step + 0.4 * noise;
}

/**
 * Fills `out` with samples `first`, `first + 1`, …; calls `progress(done, total)` every `chunk`
 * samples so a long fill can show progress (and a caller can yield between chunks).
 */
export function fill(out: Float32Array, first = 0, progress?: (done: number, total: number) => void, chunk = 1 << 20): void {
  const n = out.length;
  for (let start = 0; start < n; start += chunk) {
    const end = Math.min(n, start + chunk);
    for (let i = start; i < end; i++) out[i] = sample(first + i);
    progress?.(end, n);
  }
}

/**
 * The dataset's checksum: FNV-1a over the u32 words of the bytes (order-sensitive, so a shuffled
 * or partially stale copy does not pass). `bytes.byteLength` must be a multiple of 4.
 */
export function checksum(bytes: Uint8Array): number {
  if (bytes.byteLength % 4 !== 0 || bytes.byteOffset % 4 !== 0) {
    throw Object.assign(new RangeError('checksum needs 4-byte aligned, whole u32 words'), { code: 'ERR_OUT_OF_RANGE' });
  }
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  let h = 0x811c9dc5;
  for (let i = 0; i < words.length; i++) {
    h = Math.imul(h ^ words[i]!, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export interface Histogram {
  min: number;
  max: number;
  counts: Uint32Array;
}

/** A histogram of `bins` equal bins between the data's min and max (what the first page plots). */
export function histogram(data: Float32Array, bins = 64): Histogram {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const counts = new Uint32Array(bins);
  const scale = max > min ? bins / (max - min) : 0;
  for (let i = 0; i < data.length; i++) {
    const b = Math.min(bins - 1, Math.floor((data[i]! - min) * scale));
    counts[b]!++;
  }
  return { min, max, counts };
}

export interface Window {
  mean: number;
  min: number;
  max: number;
}

/** Mean, min and max over `windows` consecutive equal windows (what the second page plots). */
export function runningMean(data: Float32Array, windows = 512): Window[] {
  const out: Window[] = [];
  const size = Math.max(1, Math.floor(data.length / windows));
  for (let start = 0; start + size <= data.length && out.length < windows; start += size) {
    let sum = 0;
    let min = Infinity;
    let max = -Infinity;
    for (let i = start; i < start + size; i++) {
      const v = data[i]!;
      sum += v;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    out.push({ mean: sum / size, min, max });
  }
  return out;
}
