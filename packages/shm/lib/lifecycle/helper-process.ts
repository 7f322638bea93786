/**
 * Starting shmkit's helper processes — the crash tracker (tracker.ts) and the
 * SharedMemoryManager's server (manager.ts) — as Node: `process.execPath`
 * with ELECTRON_RUN_AS_NODE=1, which inside Electron runs the binary as plain
 * Node. A packaged app can disable that (the RunAsNode fuse of
 * `@electron/fuses`, recommended hardening); the variable is then ignored and
 * the spawn starts a second copy of the app instead. So:
 *
 * - inside Electron, the fuse is read from the binary before spawning (once per
 *   executable, see readRunAsNodeFuse), and a disabled fuse is refused without
 *   spawning anything;
 * - for every other case, each helper greets the process that spawned it once
 *   it runs (the tracker: `HELLO <pid>` on the spawner's connection; the
 *   manager's server: its first line). A spawner that hears nothing within
 *   `greeting.timeoutMs` kills the process group it started (helpers run
 *   detached, in a group of their own) and goes on without it.
 *
 * docs/decisions/0012-populate-room-and-helper-greeting.md says why.
 *
 * @internal
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** What @electron/fuses looks for: the fuse wire follows it (version byte, length byte, one byte per fuse). */
export const FUSE_SENTINEL = Buffer.from('dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX', 'latin1');
const FUSE_WIRE_VERSION = 1;
/** RunAsNode is fuse 0 of wire version 1; its byte is '0' disabled, '1' enabled, 'r' removed. */
const RUN_AS_NODE_STATES: Record<number, FuseState> = { 0x30: 'disabled', 0x31: 'enabled', 0x72: 'removed' };

export type FuseState = 'enabled' | 'disabled' | 'removed' | 'unknown';

/** How long a spawner waits for a helper's greeting before it kills what it spawned. */
export const greeting = { timeoutMs: 10_000 };

/** The fix, for messages: what a packaged app can do. */
export const RUN_AS_NODE_FIX =
  "shmkit's helper processes need the RunAsNode fuse enabled (@electron/fuses: FuseV1Options.RunAsNode true, " +
  'the default); with it disabled, segments created with track: true are unlinked only when this process ' +
  'exits normally, and SharedMemoryManager cannot start';

/**
 * The RunAsNode fuse of the Electron binary `file`, read in chunks of
 * `chunkBytes` (the binary is 100–200 MB and only the wire is needed), or
 * undefined when `file` has no fuse wire (not Electron, or Electron < 12).
 * Throws what the file system throws (ENOENT, EACCES).
 */
export function readRunAsNodeFuse(file: string, chunkBytes = 4 * 1024 * 1024): FuseState | undefined {
  const fd = fs.openSync(file, 'r');
  try {
    const overlap = FUSE_SENTINEL.length - 1; // a sentinel split across two chunks is found whole
    const buffer = Buffer.allocUnsafe(overlap + chunkBytes);
    let kept = 0; // bytes carried over from the previous chunk, at the start of buffer
    let offset = 0; // file offset of buffer[kept]
    for (;;) {
      const read = fs.readSync(fd, buffer, kept, chunkBytes, offset);
      const found = buffer.subarray(0, kept + read).indexOf(FUSE_SENTINEL);
      if (found !== -1) {
        const wire = Buffer.alloc(3);
        fs.readSync(fd, wire, 0, 3, offset - kept + found + FUSE_SENTINEL.length);
        const [version, length, runAsNode] = wire;
        if (version !== FUSE_WIRE_VERSION || length === 0) return 'unknown';
        return RUN_AS_NODE_STATES[runAsNode!] ?? 'unknown';
      }
      if (read === 0) return undefined;
      const end = kept + read;
      kept = Math.min(overlap, end);
      buffer.copy(buffer, 0, end - kept, end);
      offset += read;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** The file that holds the fuse wire: the executable, or on macOS the Electron Framework of its app bundle. */
export function fuseFile(execPath: string, platform: NodeJS.Platform = process.platform): string {
  if (platform !== 'darwin') return execPath;
  // The outermost bundle: helpers (X.app/Contents/Frameworks/X Helper.app/…) share the app's framework.
  const match = /^(.*?\.app)\/Contents\//.exec(execPath);
  if (!match) return execPath;
  return path.posix.join(match[1]!, 'Contents', 'Frameworks', 'Electron Framework.framework', 'Electron Framework');
}

const refusals = new Map<string, string | undefined>();

/**
 * Inside Electron: why `process.execPath` cannot run a helper as Node (its
 * RunAsNode fuse is disabled), or undefined. Outside Electron, and where the
 * fuse cannot be read, undefined: the greeting is the safety net. Read once
 * per executable.
 */
export function runAsNodeRefusal(): string | undefined {
  if (process.versions.electron === undefined) return undefined;
  const execPath = process.execPath;
  if (!refusals.has(execPath)) {
    const file = fuseFile(execPath);
    let state: FuseState | undefined;
    try {
      state = readRunAsNodeFuse(file);
    } catch {
      state = undefined;
    }
    refusals.set(
      execPath,
      state === 'disabled'
        ? `the RunAsNode fuse of ${file} is disabled, so ELECTRON_RUN_AS_NODE is ignored and spawning ` +
            `${execPath} would start a second copy of the app instead of Node`
        : undefined,
    );
  }
  return refusals.get(execPath);
}

/**
 * Spawns `node <script> <args>` as a helper: `process.execPath` as Node
 * (ELECTRON_RUN_AS_NODE=1), detached (its own process group and session: the
 * terminal's signals do not reach it), holding no directory busy, without the
 * parent's NODE_OPTIONS (no --inspect, --require hooks or loaders) or test
 * runner context. `env` adds to the environment; a value of undefined removes it.
 */
export function spawnHelper(script: string, args: string[], stdio: StdioOptions, env: NodeJS.ProcessEnv = {}): ChildProcess {
  const full: NodeJS.ProcessEnv = { ...process.env, ELECTRON_RUN_AS_NODE: '1', ...env };
  delete full.NODE_OPTIONS;
  delete full.NODE_TEST_CONTEXT;
  for (const [key, value] of Object.entries(env)) if (value === undefined) delete full[key];
  return spawn(process.execPath, [script, ...args], {
    detached: true,
    stdio,
    cwd: path.parse(__dirname).root,
    env: full,
    windowsHide: true,
  });
}

/**
 * Kills the process group of a helper that did not greet (it runs detached: its group is its pid).
 * Windows has no process groups to signal: the helper itself (TerminateProcess).
 */
export function killHelper(pid: number): void {
  try {
    process.kill(process.platform === 'win32' ? pid : -pid, 'SIGKILL');
  } catch {
    // gone already
  }
}
