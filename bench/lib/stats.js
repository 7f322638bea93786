'use strict';
// Summary statistics for benchmark samples: medians and spread, never means.

/** { n, median, p10, p90, min, max } of a list of numbers (NaN-free). */
function summarize(samples) {
  const s = samples.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return { n: 0, median: NaN, p10: NaN, p90: NaN, min: NaN, max: NaN };
  const q = (p) => {
    const i = p * (s.length - 1);
    const lo = Math.floor(i);
    const hi = Math.ceil(i);
    return s[lo] + (s[hi] - s[lo]) * (i - lo);
  };
  return { n: s.length, median: q(0.5), p10: q(0.1), p90: q(0.9), min: s[0], max: s[s.length - 1] };
}

/** Drops the first `warmup` samples. */
function afterWarmup(samples, warmup) {
  return samples.slice(Math.min(warmup, Math.max(0, samples.length - 1)));
}

/** Milliseconds on CLOCK_MONOTONIC, comparable across processes on Linux. */
function now() {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** A number formatted for tables: 3 significant digits, no exponent below 1e6. */
function fmt(x, unit = '') {
  if (!Number.isFinite(x)) return '—';
  const digits = Math.abs(x) >= 100 ? 0 : Math.abs(x) >= 10 ? 1 : Math.abs(x) >= 1 ? 2 : 3;
  return `${x.toFixed(digits)}${unit ? ` ${unit}` : ''}`;
}

module.exports = { summarize, afterWarmup, now, fmt };
