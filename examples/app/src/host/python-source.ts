/**
 * `--source python`: the video comes from a Python process (python/producer.py) that the host starts
 * as a bridge peer. The Python program creates the FrameRing `video` in its own namespace and renders
 * the same test pattern into it (NumPy when installed); the host grants the ring to the windows or
 * consumers when it hears of it (`segment-created`). Used by the terminal host and Electron's main
 * process alike: `spawn` is their host's (NodeHost's or ShmHost's), so the Python process is a peer of
 * that host under the same rules as any other (its ring is unlinked when it exits).
 *
 * What the producer prints on stdout (one JSON object per line) is untrusted input: anything that is
 * not one of its three reports is counted and ignored.
 */
import { spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import * as path from 'node:path';

/** Python the package supports (python/pyproject.toml). */
export const MIN_PYTHON: readonly [number, number] = [3, 9];

export interface PythonFound {
  command: string;
  version: string;
}

/**
 * The interpreter to run: `SHMKIT_PYTHON`, else `python3` (`python` on Windows). `{ reason }` when it
 * does not run or is older than 3.9, with what to do about it.
 */
export function findPython(env: NodeJS.ProcessEnv = process.env): PythonFound | { reason: string } {
  const command = env.SHMKIT_PYTHON || (process.platform === 'win32' ? 'python' : 'python3');
  const run = spawnSync(command, ['-c', 'import sys; print("%d.%d.%d" % sys.version_info[:3])'], { encoding: 'utf8', timeout: 20_000 });
  const hint = 'install CPython 3.9 or newer, or set SHMKIT_PYTHON to an interpreter';
  if (run.error) return { reason: `--source python needs Python, and ${command} cannot be run (${(run.error as NodeJS.ErrnoException).code ?? run.error.message}): ${hint}` };
  if (run.status !== 0) return { reason: `--source python: ${command} failed (exit ${run.status}): ${run.stderr.trim().split('\n').pop() ?? ''}; ${hint}` };
  const version = run.stdout.trim();
  const [major, minor] = version.split('.').map(Number);
  if (!(major! > MIN_PYTHON[0] || (major === MIN_PYTHON[0] && minor! >= MIN_PYTHON[1]))) {
    return { reason: `--source python needs Python ${MIN_PYTHON.join('.')} or newer; ${command} is ${version}: ${hint}` };
  }
  return { command, version };
}

/** Where the shmkit package for Python is (the repository's python/ folder, a workspace of this app). */
export function shmkitPythonDir(): string {
  return path.dirname(require.resolve('@shmkit/python/package.json'));
}

/** The producer script (examples/app/python/producer.py), from dist/host/ or src/host/. */
export const PRODUCER = path.join(__dirname, '..', '..', 'python', 'producer.py');

export interface ProducerReady {
  numpy: boolean;
  python: string;
  pid: number;
}

export interface PythonProducer {
  readonly child: ChildProcess;
  /** Frames published, as the producer last reported (twice a second). */
  readonly published: number;
  /** The producer said the ring exists and it renders with NumPy or not; rejects if it exits first. */
  readonly ready: Promise<ProducerReady>;
  /** Its exit, with what it printed on stderr (the last 4 KiB) and the reason it gave for stopping. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; reason: string | null }>;
  /** Lines on stdout that were not reports. */
  readonly badLines: number;
  stop(): void;
}

export type SpawnPeer = (command: string, args: readonly string[], options: SpawnOptions) => ChildProcess;

export interface ProducerOptions {
  width: number;
  height: number;
  fps: number;
  slots?: number;
  /** The ring's name in the producer's namespace (default 'video'). */
  name?: string;
  /** Render with the standard library even where NumPy is installed. */
  noNumpy?: boolean;
}

/** Starts python/producer.py as a peer of the host whose `spawn` is given. */
export function startPythonProducer(spawnPeer: SpawnPeer, python: PythonFound, o: ProducerOptions): PythonProducer {
  const args = [
    PRODUCER,
    '--width', String(o.width),
    '--height', String(o.height),
    '--fps', String(o.fps),
    '--slots', String(o.slots ?? 4),
    '--name', o.name ?? 'video',
    ...(o.noNumpy ? ['--no-numpy'] : []),
  ];
  const pythonPath = [shmkitPythonDir(), process.env.PYTHONPATH].filter(Boolean).join(path.delimiter);
  const child = spawnPeer(python.command, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PYTHONPATH: pythonPath, PYTHONUNBUFFERED: '1' },
  });
  let published = 0;
  let badLines = 0;
  let stderr = '';
  let reason: string | null = null;
  let onReady: (r: ProducerReady) => void = () => undefined;
  let onFail: (e: Error) => void = () => undefined;
  const ready = new Promise<ProducerReady>((resolve, reject) => {
    onReady = resolve;
    onFail = reject;
  });
  ready.catch(() => undefined); // a caller that never awaits it does not get an unhandled rejection
  let buffered = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    buffered += chunk;
    if (buffered.length > 1 << 20) buffered = buffered.slice(-4096); // a runaway line is not kept whole
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      const m = parseLine(line);
      if (m === null) badLines++;
      else if (m.event === 'ready') onReady({ numpy: m.numpy === true, python: String(m.python ?? ''), pid: Number(m.pid) });
      else if (m.event === 'progress' || m.event === 'stopped') {
        if (Number.isSafeInteger(m.published) && (m.published as number) >= published) published = m.published as number;
        if (m.event === 'stopped' && typeof m.reason === 'string') reason = m.reason.slice(0, 200);
      }
    }
  });
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4096);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; reason: string | null }>((resolve) => {
    child.on('error', (error) => {
      onFail(Object.assign(new Error(`the Python producer did not start: ${error.message}`), { code: 'ERR_PYTHON_PRODUCER' }));
      resolve({ code: null, signal: null, stderr: error.message, reason });
    });
    child.on('exit', (code, signal) => {
      // stderr may still be draining: wait for the streams to end
      const done = (): void => {
        onFail(Object.assign(new Error(`the Python producer exited (${signal ?? `code ${code}`}) before its ring was ready: ${stderr.trim() || 'no output'}`), { code: 'ERR_PYTHON_PRODUCER' }));
        resolve({ code, signal, stderr, reason });
      };
      if (child.stderr && !child.stderr.readableEnded) child.stderr.once('end', done);
      else done();
    });
  });
  return {
    child,
    get published() {
      return published;
    },
    ready,
    exited,
    get badLines() {
      return badLines;
    },
    stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
  };
}

type ProducerLine = { event: 'ready' | 'progress' | 'stopped' } & Record<string, unknown>;

function parseLine(line: string): ProducerLine | null {
  if (line.length > 4096) return null;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  const event = (value as { event?: unknown }).event;
  return event === 'ready' || event === 'progress' || event === 'stopped' ? (value as ProducerLine) : null;
}
