/**
 * `npm start` where no Electron runtime can start: the terminal version over the bridge's Node
 * transport, run for real (child processes, shared memory) and stopped with Ctrl-C (SIGINT to its
 * process group, as a terminal sends it).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect, test } from '@playwright/test';
import { APP } from '../fixtures';

const START = path.join(APP, 'bin', 'start.js');

test('terminal version: frames flow and verify, datasets agree, a segment goes with its owner, Ctrl-C leaves nothing', async () => {
  const child = spawn(process.execPath, [START, '--preset', 'small', '--dataset-mib', '4'], {
    env: { ...process.env, SHMKIT_APP_TERMINAL: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group, so SIGINT reaches the whole tree as Ctrl-C would
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d));
  child.stderr!.on('data', (d: Buffer) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    // Bounded wait until a readout shows verified frames, both datasets and the scratch unlink.
    await expect
      .poll(
        () =>
          /verified [1-9]\d* whole frames?, 0 failed/.test(out) &&
          /histogram checksum matches/.test(out) &&
          /mean +checksum matches/.test(out) &&
          /owner exited → unlinked/.test(out),
        { timeout: 90_000, message: 'the readout shows everything working' },
      )
      .toBe(true);
  } finally {
    if (child.exitCode === null) process.kill(-child.pid!, 'SIGINT');
  }
  const code = await exited;
  // a short first line that says what this is, then why (wrapped, never wider than 100 columns)
  const [first, second] = out.split('\n');
  expect(first).toBe('shmkit example app: the terminal version, NOT the Electron app.');
  expect(second).toMatch(/^  why: .+/);
  for (const line of out.split('\n').slice(0, 6)) expect(line.length, line).toBeLessThanOrEqual(100);
  expect(out).toMatch(/latency publish→reader p50 \d/);
  expect(out, err).toMatch(/^ok: \d+ frames published/m);
  expect(code, err).toBe(0);
  const checked = /^checked \/dev\/shm for: (.*)$/m.exec(out);
  expect(checked, out).not.toBeNull();
  const names = checked![1]!.trim().split(' ').filter(Boolean);
  expect(names.length).toBeGreaterThanOrEqual(2);
  for (const name of names) expect(fs.existsSync(`/dev/shm/${name}`), `${name} left in /dev/shm`).toBe(false);
});

test('terminal version: bad options get a usage error and exit 2', async () => {
  const child = spawn(process.execPath, [START, '--fps', 'fast'], { env: { ...process.env, SHMKIT_APP_TERMINAL: '1' } });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d));
  const code = await new Promise((resolve) => child.on('exit', resolve));
  expect(code).toBe(2);
  expect(err).toContain('--fps takes a number from 1 to 240');
});
