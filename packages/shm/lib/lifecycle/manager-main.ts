/**
 * The SharedMemoryManager server process: `node manager-main.js <owner description>`.
 *
 * Holds the registry of segment names a manager manages and unlinks them at
 * shutdown. Two channels, both carrying JSON lines:
 *
 * - its stdin/stdout pipes, to the process that started it (the owner). EOF on
 *   stdin means the owner has ended, however it ended (SIGKILL included): the
 *   server then unlinks every managed segment and exits.
 * - a Unix socket (0600, in a fresh 0700 directory inside the verified private
 *   directory, private-dir.ts), for other processes of the same user (checked
 *   with SO_PEERCRED) that connect to the manager by its address.
 *
 * Windows: a segment lives while some process holds it, and no name can be
 * unlinked; so the server holds every managed segment (holdSegment) from
 * register until release or shutdown, when it lets go of it (unlinkSegment
 * releases a hold): the segment then goes with the last handle anywhere. The
 * socket is a named pipe (\\.\pipe\shmkit-manager-<pid>-<random>) with the
 * default security of a pipe: full access for this user (and SYSTEM and
 * administrators), read-only for others, who can then send nothing. A register
 * there carries an id and is answered once the segment is held (the creator
 * holds it until then, so its close() cannot end it first).
 *
 * Requests: {op:'register',name[,id]} (a reply only with an id), {id,op:'list'}, {id,op:'release',name},
 * and, from the owner only, {id,op:'shutdown'}. Replies: {id,ok:true,names?} or
 * {id,error:<code>}. Malformed lines are ignored.
 *
 * The first line on stdout is {ready:true,address}, or {ready:false,error,message}
 * (ERR_SHM_UNSAFE_DIRECTORY when the private directory is not safe to use). It runs detached and ignores
 * SIGINT, SIGTERM and SIGHUP, like the tracker.
 *
 * @internal
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as crypto from 'node:crypto';
import { socket as peerSocket, unlinkSegment, win32 } from '../core/binding';
import { privateDir } from './private-dir';
import { onJsonLines } from './json-lines';
import { validateName } from '../core/validate';

const MAX_LINE = 64 * 1024;
const registry = new Set<string>();

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => {});

interface Request {
  id?: unknown;
  op?: unknown;
  name?: unknown;
}

function validName(name: unknown): name is string {
  if (typeof name !== 'string') return false;
  try {
    validateName(name, 'name');
    return true;
  } catch {
    return false;
  }
}

/** Handles one request; returns the reply, or undefined for none. */
function handle(request: Request, fromOwner: boolean): object | undefined {
  const id = request.id;
  switch (request.op) {
    case 'register': {
      if (!validName(request.name)) return id === undefined ? undefined : { id, error: 'EINVAL' };
      if (WINDOWS && !registry.has(request.name)) {
        try {
          win32.holdSegment(request.name);
        } catch (error) {
          return id === undefined ? undefined : { id, error: (error as { code?: string }).code ?? 'EIO' };
        }
      }
      registry.add(request.name);
      return id === undefined ? undefined : { id, ok: true };
    }
    case 'list':
      return { id, ok: true, names: [...registry] };
    case 'release': {
      if (!validName(request.name) || !registry.has(request.name)) return { id, error: 'ENOENT' };
      registry.delete(request.name);
      try {
        unlinkSegment(request.name);
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code !== 'ENOENT') return { id, error: code ?? 'EIO' };
      }
      return { id, ok: true };
    }
    case 'shutdown':
      if (!fromOwner) return { id, error: 'EPERM' };
      finish();
      return { id, ok: true };
    default:
      return id === undefined ? undefined : { id, error: 'EINVAL' };
  }
}

const WINDOWS = process.platform === 'win32';

// POSIX: a fresh 0700 directory (mkdtemp) inside the verified private directory.
// Windows: a named pipe (nothing on disk); see the file's comment.
let dir: string | undefined;
let address: string;
if (WINDOWS) {
  address = `\\\\.\\pipe\\shmkit-manager-${process.pid}-${crypto.randomBytes(8).toString('hex')}`;
} else {
  try {
    dir = fs.mkdtempSync(path.join(privateDir()!, 'manager-'));
  } catch (error) {
    const e = error as Error & { code?: string };
    writeOut({ ready: false, error: e.code ?? 'EIO', message: e.message });
    process.exit(1);
  }
  address = path.join(dir, 'manager.sock');
}
const sockets = new Set<net.Socket>();
const myUid = typeof process.geteuid === 'function' ? process.geteuid() : -1;

/** Only this user is served (SO_PEERCRED): the directory is private, this is belt and braces. */
function sameUser(socket: net.Socket): boolean {
  if (WINDOWS) return true; // the pipe's security: others cannot write to it
  try {
    return peerSocket.peer((socket as unknown as { _handle: { fd: number } })._handle.fd).uid === myUid;
  } catch {
    return false;
  }
}

const server = net.createServer((socket) => {
  if (!sameUser(socket)) {
    socket.destroy();
    return;
  }
  sockets.add(socket);
  socket.on('error', () => {});
  socket.on('close', () => sockets.delete(socket));
  onJsonLines(
    socket,
    (value) => {
      const reply = handle(value as Request, false);
      if (reply !== undefined && !socket.destroyed) socket.write(JSON.stringify(reply) + '\n');
    },
    { maxLine: MAX_LINE, onOverflow: () => socket.destroy() },
  );
});
server.on('error', (error) => {
  writeOut({ ready: false, error: (error as { code?: string }).code ?? 'EIO' });
  finish();
  process.exit(1);
});

function writeOut(value: object): void {
  try {
    fs.writeSync(1, JSON.stringify(value) + '\n');
  } catch {
    // the owner is gone
  }
}

server.listen(address, () => {
  if (!WINDOWS) fs.chmodSync(address, 0o600);
  writeOut({ ready: true, address });
});

onJsonLines(
  process.stdin,
  (value) => {
    const request = value as Request;
    const reply = handle(request, true);
    if (reply !== undefined) writeOut(reply);
    if (request.op === 'shutdown') process.exit(0);
  },
  { maxLine: MAX_LINE, onOverflow: () => {} },
);

// EOF: the owner has ended. Let a client's last lines already in flight arrive first.
process.stdin.on('end', () => setTimeout(() => exitAfterFinish(), 50));
process.stdin.on('error', () => setTimeout(() => exitAfterFinish(), 50));

function exitAfterFinish(): void {
  finish();
  process.exit(0);
}

let finished = false;
/** Unlinks every managed segment (Windows: lets go of it) and removes the socket. */
function finish(): void {
  if (finished) return;
  finished = true;
  for (const name of registry) {
    try {
      unlinkSegment(name);
    } catch {
      // ENOENT: already gone
    }
  }
  registry.clear();
  for (const socket of sockets) socket.destroy();
  server.close();
  if (dir === undefined) return;
  try {
    fs.rmSync(dir, { recursive: true, force: true });
  } catch {
    // nothing more to do
  }
}
