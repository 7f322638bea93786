/**
 * A window that makes its own segment: it creates one through the bridge (so the segment is owned
 * by this process), fills it, reports, and exits after a while. The host sees the segment go when
 * this process goes, and the readout shows it was unlinked.
 *
 *   node scratch-window.js NAME LIFETIME_MS
 */
import { connect } from '@shmkit/electron-bridge/node';
import { report } from './messages';

async function main(): Promise<void> {
  const name = process.argv[2] ?? 'scratch';
  const lifetime = Number(process.argv[3] ?? 3000);
  const client = await connect();
  const shm = await client.create(name, 1 << 20);
  shm.buf.fill(0x5a);
  report({ kind: 'scratch', name, size: shm.size });
  await new Promise((resolve) => setTimeout(resolve, lifetime));
  // Exits without releasing: the owner going away is what unlinks the segment.
  process.exit(0);
}

main().catch((error: unknown) => {
  const e = error as { code?: string; message?: string };
  process.stderr.write(`scratch window: ${e.code ?? 'Error'}: ${e.message ?? String(error)}\n`);
  process.exitCode = 1;
});
