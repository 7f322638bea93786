/**
 * The terminal version of the example app: the same scenario as the Electron app, over the
 * bridge's Node transport, for machines where no Electron runtime can start.
 *
 * The host (this process) owns a FrameRing it fills with the synthetic video at the chosen rate (or,
 * with `--source python`, starts a Python process that creates the ring and renders into it) and
 * a large dataset shared read-only; child processes stand in for the windows: one verifies every
 * frame it receives, two compute different things from the dataset, and one creates a segment of
 * its own and exits, so its segment is unlinked with it. A live readout shows progress, fps, drops,
 * latency and memory. Ctrl-C (or --seconds) shuts down cleanly and checks /dev/shm is left as found.
 *
 *   node dist/terminal/host.js [--preset small|1080p|4k] [--fps N] [--source node|python] [--seconds S] [--dataset-mib M]
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { createNodeHost } from '@shmkit/electron-bridge/node';
import { parseOptions, UsageError, type AppOptions } from '../host/options';
import { fillDataset, produceVideo } from '../host/producer';
import { findPython, startPythonProducer, type PythonFound, type PythonProducer } from '../host/python-source';
import { PRESETS } from '../shared/pattern';
import { parseReport, type DatasetReport, type VideoReport } from './messages';
import { cpuMs, mib, pssBytes, rssBytes } from './proc';

const tty = process.stdout.isTTY === true;
const hex = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;
const ms = (v: number | null): string => (v === null ? '–' : `${v.toFixed(2)} ms`);
/** "1 frame", "2 frames". */
const plural = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? '' : 's'}`;
/** `text` wrapped at `width` columns on spaces (never inside backquotes), every line indented by `indent`. */
function wrap(text: string, width: number, indent: string): string {
  const lines: string[] = [];
  let line = '';
  // words, a `quoted command` kept whole (it is to be copied)
  for (const word of text.match(/\S*`[^`]*`\S*|\S+/g) ?? []) {
    if (line !== '' && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(indent + line);
  return lines.join('\n');
}

async function main(): Promise<number> {
  let options: AppOptions;
  try {
    options = parseOptions(process.argv.slice(2), { strict: true });
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return 2;
  }
  const { width, height } = PRESETS[options.preset];
  let python: PythonFound | null = null;
  if (options.source === 'python') {
    const found = findPython();
    if ('reason' in found) {
      process.stderr.write(`example app: ${found.reason}\n`);
      return 1;
    }
    python = found;
  }
  // A short first line; the reason (often long: how to get Electron) wrapped below it.
  console.log(
    `shmkit example app: the terminal version, NOT the Electron app.\n` +
      (options.reason ? `${wrap(`why: ${options.reason}.`, 100, '  ')}\n` : '') +
      `  Child processes stand in for the windows, over @shmkit/electron-bridge's Node transport.\n` +
      (python ? `  The video comes from a Python process (${python.command} ${python.version}), a peer of the bridge.\n` : '') +
      `  For the Electron app, see examples/app/README.md.`,
  );

  const host = createNodeHost();
  const children = new Set<ChildProcess>();
  let stopping = false;
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => {
    stop = () => {
      stopping = true;
      resolve();
    };
  });
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  // The dataset: filled in chunks, with progress, yielding so Ctrl-C is handled during the fill.
  const bytes = options.datasetMiB * 1048576;
  const dataset = host.create('dataset', bytes, { owner: 'host', share: 'all', readonly: true });
  const fillStart = performance.now();
  const datasetSum =
    (await fillDataset(
      dataset,
      (done, total) => {
        if (tty) process.stdout.write(`\r  dataset: filling ${options.datasetMiB} MiB … ${((done / total) * 100).toFixed(0)}%`);
      },
      () => stopping,
    )) ?? 0;
  if (tty) process.stdout.write('\r\x1b[K');
  console.log(`  dataset: ${options.datasetMiB} MiB of Float32 in ${((performance.now() - fillStart) / 1000).toFixed(1)} s, checksum ${hex(datasetSum)}`);

  // The video: a ring of 4 slots the producer renders into in place (the host's own, or one the Python
  // producer creates in its namespace: then the video consumer is started, and granted it, when it exists).
  const ring = python ? null : host.createFrameRing('video', { owner: 'host', share: 'all', slots: 4, slotBytes: width * height * 4 });

  const video: { report: VideoReport | null; pid: number } = { report: null, pid: 0 };
  const datasets = new Map<string, { report: DatasetReport | null; pid: number }>();
  const scratch = { name: `scratch`, pid: 0, created: false, unlinked: false, osName: '' };
  let badReports = 0;
  const here = __dirname;
  const spawnChild = (file: string, args: string[]): ChildProcess => {
    const child = host.fork(path.join(here, file), args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    children.add(child);
    child.on('exit', () => children.delete(child));
    child.on('message', (message) => {
      const r = parseReport(message);
      if (r === undefined) return; // not one of ours: the bridge's own messages share the channel
      if (r === null) {
        badReports++;
        return;
      }
      if (r.kind === 'video' && child.pid === video.pid) video.report = r;
      else if (r.kind === 'dataset' && datasets.get(r.role)?.pid === child.pid) datasets.get(r.role)!.report = r;
      else if (r.kind === 'scratch' && child.pid === scratch.pid) {
        scratch.created = true;
        scratch.osName = host.segments().find((s) => s.name === r.name)?.osName ?? '';
      }
    });
    return child;
  };
  let pythonProducer: PythonProducer | null = null;
  let pythonFailure: string | null = null;
  const ringOsNames: string[] = [];
  if (python && !stopping) {
    const producerProcess = startPythonProducer((command, args, o) => host.spawn(command, args, o), python, { width, height, fps: options.fps });
    pythonProducer = producerProcess;
    host.on('segment-created', (child, info) => {
      if (child !== producerProcess.child || info.name !== 'video' || info.kind !== 'frame-ring' || video.pid !== 0) return;
      ringOsNames.push(...host.segments().filter((x) => x.name === 'video' && x.owner === child).map((x) => x.osName));
      // before the producer hears its ring exists: the consumer is granted it (read-only) from the start
      const consumer = spawnChild('video-consumer.js', []);
      video.pid = consumer.pid ?? 0;
      host.grant('video', consumer, { namespace: child, readonly: true });
    });
    producerProcess.exited.then((exit) => {
      if (!stopping) {
        pythonFailure = `the Python producer exited (${exit.signal ?? `code ${exit.code}`}${exit.reason ? `, ${exit.reason}` : ''})${exit.stderr.trim() ? `: ${exit.stderr.trim()}` : ''}`;
        stop();
      }
    });
    try {
      const ready = await Promise.race([producerProcess.ready, stopped.then(() => null)]);
      if (ready) console.log(`  video: rendered by Python ${ready.python} (pid ${ready.pid}) ${ready.numpy ? 'with NumPy' : 'with the standard library (no NumPy)'}`);
    } catch (error) {
      pythonFailure = (error as Error).message;
      stop();
    }
  }
  if (!stopping) {
    if (!python) video.pid = spawnChild('video-consumer.js', []).pid ?? 0;
    for (const role of ['histogram', 'mean']) datasets.set(role, { report: null, pid: spawnChild('dataset-consumer.js', [role]).pid ?? 0 });
    const s = spawnChild('scratch-window.js', [scratch.name, '3000']);
    scratch.pid = s.pid ?? 0;
    s.on('exit', () => {
      // The owner is gone: the bridge forgets its segment at once and unlinks it off the event loop
      // (checked against /dev/shm, for up to 10 s: a loaded machine may take a moment).
      let tries = 0;
      const check = (): void => {
        const gone = !host.segments().some((x) => x.name === scratch.name) && (scratch.osName === '' || !existsSync(`/dev/shm/${scratch.osName}`));
        if (scratch.created && gone) scratch.unlinked = true;
        else if (tries++ < 200 && !stopping) setTimeout(check, 50);
      };
      setImmediate(check);
    });
  }

  // The producer: renders each frame into the slot it acquired (no copy) at the chosen rate.
  const producer = stopping || !ring ? null : produceVideo(ring, width, height, options.fps);
  // --seconds counts video: from the first frame, not from the start (the dataset fill comes first).
  if (options.seconds > 0 && !stopping) setTimeout(stop, options.seconds * 1000).unref();
  const publishedCount = (): number => producer?.published ?? pythonProducer?.published ?? 0;

  // The readout.
  const started = performance.now();
  const cpuStart = new Map<number, number>();
  const lines = (): string[] => {
    const t = (performance.now() - started) / 1000;
    const v = video.report;
    const fps = v && t > 0 ? v.received / t : 0;
    const cpu = (pid: number): string => {
      const now = cpuMs(pid);
      if (now === null) return '?';
      if (!cpuStart.has(pid)) cpuStart.set(pid, now);
      return `${(((now - cpuStart.get(pid)!) / 1000 / Math.max(t, 0.001)) * 100).toFixed(0)}%`;
    };
    const out = [
      `  video    ${python ? 'from Python, ' : ''}${options.preset} ${width}x${height} @ ${options.fps} fps   published ${publishedCount()}   received ${v?.received ?? 0} (${fps.toFixed(1)} fps)   dropped ${v?.dropped ?? 0}   torn ${v?.torn ?? 0}`,
      `           verified ${plural(v?.verified ?? 0, 'whole frame')}, ${v?.failed ?? 0} failed${v?.firstFailure ? ` (first: ${v.firstFailure})` : ''}   latency publish→reader p50 ${ms(v?.latencyP50 ?? null)} p95 ${ms(v?.latencyP95 ?? null)}`,
    ];
    for (const [role, d] of datasets) {
      const r = d.report;
      out.push(
        r
          ? `  dataset  ${role.padEnd(9)} checksum ${r.checksum === datasetSum ? 'matches ✓' : `${hex(r.checksum)} ✗`}   attach ${ms(r.attachMs)}   compute ${ms(r.computeMs)}   Pss ${mib(pssBytes(d.pid))}   ${r.summary}`
          : `  dataset  ${role.padEnd(9)} attaching…`,
      );
    }
    out.push(
      `  scratch  '${scratch.name}' owned by child ${scratch.pid}: ${scratch.unlinked ? 'its owner exited → unlinked ✓' : scratch.created ? 'created, owner alive' : 'creating…'}`,
      `  memory   host RSS ${mib(rssBytes(process.pid))}   video reader Pss ${mib(pssBytes(video.pid))}   CPU host ${cpu(process.pid)}, ${pythonProducer?.child.pid ? `Python producer ${cpu(pythonProducer.child.pid)}, ` : ''}video reader ${cpu(video.pid)}`,
    );
    return out;
  };
  let shown = 0;
  const draw = (): void => {
    const text = lines();
    if (tty) {
      if (shown) process.stdout.write(`\x1b[${shown}A`);
      process.stdout.write(text.map((l) => `\r\x1b[K${l}`).join('\n') + '\n');
      shown = text.length;
    } else {
      console.log(`[${((performance.now() - started) / 1000).toFixed(1)} s]\n${text.join('\n')}`);
    }
  };
  const readout = setInterval(draw, tty ? 500 : 2000);

  await stopped;
  producer?.stop();
  if (pythonProducer) {
    // its last report says how many frames it published; its ring goes with it (the consumer is revoked)
    pythonProducer.stop();
    const exit = await Promise.race([pythonProducer.exited, new Promise<null>((resolve) => setTimeout(resolve, 5000, null))]);
    if (exit === null) pythonProducer.child.kill('SIGKILL');
    // SIGTERM/SIGINT are what stopped it (ours, or Ctrl-C reaching its process group), even at its exit
    else if (exit.code !== 0 && exit.signal !== 'SIGTERM' && exit.signal !== 'SIGINT' && pythonFailure === null) pythonFailure = `the Python producer failed (${exit.signal ?? `code ${exit.code}`}): ${exit.stderr.trim()}`;
  }
  clearInterval(readout);
  if (publishedCount() > 0) draw();
  const osNames = [...new Set([...host.segments().map((s) => s.osName), ...ringOsNames])];
  // Closing the host unlinks every segment; consumers get `revoked`, finish and exit.
  host.close();
  const deadline = Date.now() + 3000;
  while (children.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  for (const child of children) child.kill('SIGKILL');
  const left = osNames.filter((n) => existsSync(`/dev/shm/${n}`));
  if (!tty) console.log(`checked /dev/shm for: ${osNames.join(' ')}`);
  const v = video.report;
  const sumsOk = [...datasets.values()].every((d) => d.report === null || d.report.checksum === datasetSum);
  if (pythonFailure) console.log(`example app: ${pythonFailure}`);
  const failed = left.length > 0 || (v?.failed ?? 0) > 0 || !sumsOk || badReports > 0 || pythonFailure !== null;
  const complete = (v?.verified ?? 0) > 0 && [...datasets.values()].every((d) => d.report !== null) && scratch.unlinked;
  const ok = !failed && complete;
  console.log(
    `${failed ? 'FAILED' : complete ? 'ok' : 'incomplete (stopped before every consumer reported)'}: ${plural(publishedCount(), 'frame')} published, ${v?.received ?? 0} received and ${v?.verified ?? 0} verified whole, ` +
      `${v?.failed ?? 0} failed; dataset checksums ${sumsOk ? 'agree' : 'DISAGREE'}; ` +
      (left.length === 0 ? `nothing left in /dev/shm` : `LEFT in /dev/shm: ${left.join(', ')}`) +
      (badReports ? `; ${badReports} malformed reports dropped` : ''),
  );
  return ok ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const e = error as { code?: string; stack?: string };
    process.stderr.write(`example app: ${e.code ?? 'Error'}: ${e.stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
