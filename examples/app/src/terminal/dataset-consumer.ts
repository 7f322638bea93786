/**
 * A dataset "window" of the terminal version: attaches the host's dataset read-only through the
 * bridge (a zero-copy mapping, no bytes copied), checks its checksum against the one the host
 * computed, and computes what its page would plot: a histogram, or a running mean with min/max.
 * Then it stays attached (its memory is part of the readout) until the host ends it.
 *
 *   node dataset-consumer.js histogram|mean
 */
import { connect } from '@shmkit/electron-bridge/node';
import { checksum, histogram, runningMean } from '../shared/dataset';
import { report } from './messages';

async function main(): Promise<void> {
  const role = process.argv[2];
  if (role !== 'histogram' && role !== 'mean') throw Object.assign(new Error(`role must be histogram or mean, got ${role}`), { code: 'ERR_INVALID_ARG_VALUE' });
  const client = await connect();
  const t0 = performance.now();
  const shm = await client.attach('dataset', { readonly: true });
  const attachMs = performance.now() - t0;
  const t1 = performance.now();
  const sum = checksum(shm.buf);
  const samples = new Float32Array(shm.buf.buffer, shm.buf.byteOffset, shm.size / 4);
  let summary: string;
  if (role === 'histogram') {
    const h = histogram(samples, 16);
    const peak = Math.max(...h.counts);
    summary = `[${h.min.toFixed(2)} … ${h.max.toFixed(2)}] ` + Array.from(h.counts, (c) => ' ▁▂▃▄▅▆▇█'[Math.round((c / peak) * 8)]).join('');
  } else {
    const w = runningMean(samples, 16);
    summary = 'mean ' + w.map((x) => x.mean.toFixed(2)).join(' ');
  }
  report({ kind: 'dataset', role, attachMs, checksum: sum, computeMs: performance.now() - t1, summary });
  await new Promise<void>((resolve) => {
    client.on('revoked', () => resolve());
    process.on('disconnect', () => resolve());
  });
  client.close();
}

main().catch((error: unknown) => {
  const e = error as { code?: string; message?: string };
  process.stderr.write(`dataset consumer: ${e.code ?? 'Error'}: ${e.message ?? String(error)}\n`);
  process.exitCode = 1;
});
