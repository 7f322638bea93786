/**
 * `npm start` where no Electron runtime can start: the terminal version over the bridge's Node
 * transport, run for real (child processes, shared memory) and stopped with Ctrl-C (SIGINT to its
 * process group, as a terminal sends it).
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect, test } from '@playwright/test';
import { APP } from '../fixtures';

const START = path.join(APP, 'bin', 'start.js');

/** Runs the terminal version until `ready(out)` holds (bounded), then sends Ctrl-C; its output and exit code. */
async function runUntil(args: string[], ready: (out: string) => boolean, env: NodeJS.ProcessEnv = {}): Promise<{ out: string; err: string; code: number | null }> {
  const child = spawn(process.execPath, [START, ...args], {
    env: { ...process.env, SHMKIT_APP_TERMINAL: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group, so SIGINT reaches the whole tree as Ctrl-C would
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d));
  child.stderr!.on('data', (d: Buffer) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    try {
      await expect.poll(() => ready(out) || child.exitCode !== null, { timeout: 90_000, message: 'the readout shows everything working' }).toBe(true);
    } catch (error) {
      // what it printed says which check never came
      throw new Error(`${(error as Error).message}\n--- its output (last 3000 characters):\n${out.slice(-3000)}\n--- stderr:\n${err.slice(-2000)}`);
    }
    expect(child.exitCode, `it exited early:\n${out}\n${err}`).toBeNull();
  } finally {
    if (child.exitCode === null) process.kill(-child.pid!, 'SIGINT');
  }
  const code = await exited; // first: the output is whole only once it has exited
  return { out, err, code };
}

/** The names the run says it checked in /dev/shm, each gone. */
function expectNothingLeft(out: string, atLeast: number): void {
  const checked = /^checked \/dev\/shm for: (.*)$/m.exec(out);
  expect(checked, out).not.toBeNull();
  const names = checked![1]!.trim().split(' ').filter(Boolean);
  expect(names.length).toBeGreaterThanOrEqual(atLeast);
  for (const name of names) expect(fs.existsSync(`/dev/shm/${name}`), `${name} left in /dev/shm`).toBe(false);
}

const everythingWorks = (out: string): boolean =>
  /verified [1-9]\d* whole frames?, 0 failed/.test(out) &&
  /histogram checksum matches/.test(out) &&
  /mean +checksum matches/.test(out) &&
  /owner exited → unlinked/.test(out);

test('terminal version: frames flow and verify, datasets agree, a segment goes with its owner, Ctrl-C leaves nothing', async () => {
  const { out, err, code } = await runUntil(['--preset', 'small', '--dataset-mib', '4'], everythingWorks);
  // a short first line that says what this is, then why (wrapped, never wider than 100 columns)
  const [first, second] = out.split('\n');
  expect(first).toBe('shmkit example app: the terminal version, NOT the Electron app.');
  expect(second).toMatch(/^  why: .+/);
  for (const line of out.split('\n').slice(0, 6)) expect(line.length, line).toBeLessThanOrEqual(100);
  expect(out).toMatch(/latency publish→reader p50 \d/);
  expect(out, err).toMatch(/^ok: \d+ frames published/m);
  expect(code, err).toBe(0);
  expectNothingLeft(out, 2);
});

const python = spawnSync('python3', ['-c', 'import sys; assert sys.version_info >= (3, 9)'], { stdio: 'ignore' }).status === 0;
const numpy = python && spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;

test('terminal version, --source python: a Python peer renders the video into a ring it creates; every frame it published that arrived verifies', async () => {
  test.skip(!python, 'python3 (3.9 or newer) is not installed');
  // 30 fps of small frames: the consumer has time to verify every pixel of every frame it gets
  const { out, err, code } = await runUntil(
    ['--source', 'python', '--preset', 'small', '--fps', '30', '--dataset-mib', '4'],
    (o) => everythingWorks(o) && /verified (\d{2,}) whole frames/.test(o),
  );
  expect(out).toContain('The video comes from a Python process');
  expect(out).toMatch(numpy ? /rendered by Python 3\.\d+\.\d+ \(pid \d+\) with NumPy/ : /rendered by Python .* with the standard library/);
  expect(out).toMatch(/video {4}from Python, small 320x180 @ 30 fps/);
  const done = /^ok: (\d+) frames published, (\d+) received and (\d+) verified whole, 0 failed/m.exec(out);
  expect(done, `${out}\n${err}`).not.toBeNull();
  const [published, received, verified] = done!.slice(1).map(Number) as [number, number, number];
  expect(received).toBeLessThanOrEqual(published);
  expect(verified).toBeGreaterThanOrEqual(10);
  expect(code, err).toBe(0);
  // the dataset and the Python producer's ring were checked, and are gone
  expectNothingLeft(out, 2);
});

test('terminal version, --source python without a usable Python: says why and how to fix it, exit 1', async () => {
  const child = spawn(process.execPath, [START, '--source', 'python'], { env: { ...process.env, SHMKIT_APP_TERMINAL: '1', SHMKIT_PYTHON: '/nonexistent/python3' } });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d));
  const code = await new Promise((resolve) => child.on('exit', resolve));
  expect(code).toBe(1);
  expect(err).toContain('--source python needs Python, and /nonexistent/python3 cannot be run (ENOENT)');
  expect(err).toContain('set SHMKIT_PYTHON');
});

test('terminal version: bad options get a usage error and exit 2', async () => {
  const child = spawn(process.execPath, [START, '--fps', 'fast'], { env: { ...process.env, SHMKIT_APP_TERMINAL: '1' } });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d));
  const code = await new Promise((resolve) => child.on('exit', resolve));
  expect(code).toBe(2);
  expect(err).toContain('--fps takes a number from 1 to 240');
});
