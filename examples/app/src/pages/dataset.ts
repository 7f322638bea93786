/**
 * A dataset window (?view=histogram or ?view=mean): gets the host's read-only dataset through
 * `shared()` (a Uint8Array over the segment itself: no copy) and hands the same memory to a web
 * worker that computes the view and its checksum. Where SharedArrayBuffer sending is not allowed it
 * says why and falls back to `snapshot()` (one copy, moved to the page and on to the worker).
 * Its readout splits the time to the first byte: attach (the handle), shared() or snapshot() (the
 * memory handed to the page), and, since the page's script started, when the worker (started first, in
 * parallel) was ready and when it read the first byte.
 */
import { getShm } from '/bridge/renderer/index.js';
import { appInfo, mib } from './app-info.js';
import type { WorkerMessage, WorkerResult } from './dataset-worker.js';

const view = new URLSearchParams(location.search).get('view') === 'mean' ? 'mean' : 'histogram';
const plot = document.querySelector<HTMLCanvasElement>('#plot')!;
const facts = document.querySelector<HTMLElement>('#facts')!;
const note = document.querySelector<HTMLElement>('#note')!;
document.title = `dataset — ${view}`;

function drawHistogram(counts: number[]): void {
  const g = plot.getContext('2d')!;
  g.clearRect(0, 0, plot.width, plot.height);
  const peak = Math.max(...counts, 1);
  const w = plot.width / counts.length;
  g.fillStyle = '#5fb3ff';
  counts.forEach((c, i) => g.fillRect(i * w + 1, plot.height * (1 - c / peak), w - 2, (plot.height * c) / peak));
}

function drawMean(windows: { mean: number; min: number; max: number }[]): void {
  const g = plot.getContext('2d')!;
  g.clearRect(0, 0, plot.width, plot.height);
  const lo = Math.min(...windows.map((w) => w.min));
  const hi = Math.max(...windows.map((w) => w.max));
  const y = (v: number): number => plot.height * (1 - (v - lo) / (hi - lo || 1));
  const x = (i: number): number => (i / Math.max(1, windows.length - 1)) * plot.width;
  g.fillStyle = 'rgba(95,179,255,0.25)';
  windows.forEach((w, i) => g.fillRect(x(i), y(w.max), Math.max(1, plot.width / windows.length), y(w.min) - y(w.max)));
  g.strokeStyle = '#5fb3ff';
  g.beginPath();
  windows.forEach((w, i) => (i ? g.lineTo(x(i), y(w.mean)) : g.moveTo(x(i), y(w.mean))));
  g.stroke();
}

/** A worker's timestamp (`performance.timeOrigin + performance.now()` there) as ms since `t0` here. */
const sinceStart = (at: number, t0: number): number => at - (performance.timeOrigin + t0);

async function main(): Promise<void> {
  const t0 = performance.now();
  let workerReadyMs = NaN;
  // Started first, so starting it (a module worker: fetch, compile, run) overlaps the attach.
  const worker = new Worker(new URL('./dataset-worker.js', import.meta.url), { type: 'module' });
  const workerMessages = new Promise<WorkerResult>((resolve, reject) => {
    worker.onmessage = (event: MessageEvent<WorkerMessage>) => {
      if (event.data.kind === 'ready') workerReadyMs = sinceStart(event.data.at, t0);
      else resolve(event.data);
    };
    worker.onerror = (event) => reject(new Error(event.message));
  });
  workerMessages.catch(() => undefined); // awaited below: a worker that fails early is not an unhandled rejection
  const shm = getShm();
  const t1 = performance.now();
  const handle = await shm.attach('dataset', { readonly: true });
  const t2 = performance.now();
  let bytes: Uint8Array;
  let path: 'shared' | 'snapshot';
  try {
    bytes = (await handle.shared()).bytes;
    path = 'shared';
  } catch (error) {
    if ((error as { code?: string }).code !== 'ERR_SHM_SAB_UNAVAILABLE') throw error;
    note.textContent = `No shared memory for this page (${(error as Error).message}); using one snapshot copy instead.`;
    bytes = new Uint8Array(await handle.snapshot());
    path = 'snapshot';
  }
  const attachMs = t2 - t1;
  const receiveMs = performance.now() - t2;
  // A SharedArrayBuffer is shared with the worker; a snapshot's ArrayBuffer is moved to it.
  const transfer = bytes.buffer instanceof ArrayBuffer ? [bytes.buffer] : [];
  worker.postMessage({ view, buffer: bytes.buffer, byteOffset: bytes.byteOffset, byteLength: bytes.byteLength }, transfer);
  const result = await workerMessages;
  if (result.view === 'histogram') drawHistogram(result.counts);
  else drawMean(result.windows);
  const m = await appInfo()?.metrics().catch(() => null); // figures only: never fatal
  const ms = (x: number): string => `${x.toFixed(1)} ms`;
  facts.textContent = [
    `${(handle.size / 1048576).toFixed(0)} MiB via ${path}()   attach ${ms(attachMs)}   ${path}() ${ms(receiveMs)}   compute ${result.computeMs.toFixed(0)} ms (worker)`,
    `since the page's script started: worker ready ${ms(workerReadyMs)}, first byte read in it ${ms(sinceStart(result.firstByteAt, t0))}`,
    `checksum 0x${result.checksum.toString(16).padStart(8, '0')}   renderer memory ${mib(m?.renderer?.workingSetKiB)} working set, ${mib(m?.renderer?.privateKiB)} private`,
  ].join('\n');
  document.body.dataset.checksum = String(result.checksum);
  document.body.dataset.path = path;
}

main().catch((error: { code?: string; message?: string }) => {
  facts.textContent = `${error.code ?? 'Error'}: ${error.message ?? String(error)}`;
  document.body.dataset.error = error.code ?? 'Error';
});
