/**
 * Child processes as bridge peers, for every host that starts them (NodeHost; ShmHost in Electron's
 * main process): the transport over each child's own channel (channel.ts), and fork()/spawn() that
 * append that channel to the child's stdio and name it in SHMKIT_BRIDGE_FD.
 *
 * A child is gone for the bridge when its channel closes or it exits, whichever comes first (SIGKILL
 * included).
 */
import { fork, spawn, type ChildProcess, type ForkOptions, type SpawnOptions, type StdioOptions } from 'node:child_process';
import type { Socket } from 'node:net';
import { codedError, type CodedError } from '../core/errors';
import type { HostMessage } from '../core/protocol';
import type { Transport, TransportHandlers } from '../core/transport';
import { FD_ENV, PeerChannel } from './channel';

export class ChildTransport implements Transport<ChildProcess> {
  readonly #peers = new Map<ChildProcess, { channel: PeerChannel; unbind(): void }>();
  readonly #onPeerError: (child: ChildProcess, error: CodedError) => void;
  #handlers: TransportHandlers<ChildProcess> | null = null;
  #closing = false;

  constructor(onPeerError: (child: ChildProcess, error: CodedError) => void) {
    this.#onPeerError = onPeerError;
  }

  listen(handlers: TransportHandlers<ChildProcess>): void {
    this.#handlers = handlers;
  }

  add(child: ChildProcess, socket: Socket | null | undefined): void {
    let gone = false;
    const onGone = (reason: CodedError | null): void => {
      if (gone) return;
      gone = true;
      this.#peers.get(child)?.unbind();
      this.#peers.delete(child);
      channel?.end(null);
      this.#handlers?.gone(child);
      if (reason !== null && !this.#closing) this.#onPeerError(child, reason);
    };
    const onExit = () => onGone(null);
    // Without an 'error' listener a failed spawn would throw out of the event loop.
    const onError = () => {
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) onGone(null);
    };
    const channel = socket
      ? new PeerChannel(socket, {
          message: (data) => (gone ? true : (this.#handlers?.message(child, data) ?? true)),
          ended: (reason) => onGone(reason),
        })
      : null;
    child.on('exit', onExit);
    child.on('error', onError);
    this.#peers.set(child, {
      channel: channel as PeerChannel,
      unbind: () => {
        child.off('exit', onExit);
        // keep a no-op error listener: the program may never add one
      },
    });
    if (channel === null || child.pid === undefined) onGone(null);
  }

  send(peer: ChildProcess, message: HostMessage): void {
    this.#peers.get(peer)?.channel.send(message);
  }

  resume(peer: ChildProcess): void {
    this.#peers.get(peer)?.channel.resume();
  }

  /** Whether `value` is a child this transport serves now (its channel may have ended). */
  has(value: unknown): value is ChildProcess {
    return this.#peers.has(value as ChildProcess);
  }

  accept(value: unknown): value is ChildProcess {
    const entry = this.#peers.get(value as ChildProcess);
    return entry !== undefined && !entry.channel.ended;
  }

  /** A child is a process: a ring it creates names it as the writer. */
  pidOf(peer: ChildProcess): number | undefined {
    return this.#peers.has(peer) ? peer.pid : undefined;
  }

  /** Bytes waiting to be sent to a child (it is not reading), for tests and monitoring. */
  unsentBytes(child: ChildProcess): number {
    return this.#peers.get(child)?.channel.unsentBytes ?? 0;
  }

  close(): void {
    this.#closing = true;
    this.#handlers = null;
    for (const [child, entry] of [...this.#peers]) {
      entry.unbind();
      this.#peers.delete(child);
      entry.channel.end(codedError('ERR_SHM_BRIDGE_CLOSED', 'the host closed'));
    }
  }
}

/** The stdio array for a child: the caller's (Node's default when absent), then the bridge's socket. */
function withBridgeStdio(stdio: StdioOptions | undefined, fallback: readonly (string | number | null | undefined)[], ipc: boolean): { stdio: unknown[]; fd: number } {
  let list: unknown[];
  if (stdio === undefined) list = [...fallback];
  else if (typeof stdio === 'string') list = [stdio, stdio, stdio];
  else if (Array.isArray(stdio)) list = [...stdio];
  else throw codedError('ERR_INVALID_ARG_TYPE', 'options.stdio must be a string or an array', TypeError);
  while (list.length < 3) list.push(undefined);
  if (ipc && !list.includes('ipc')) list.push('ipc');
  list.push('pipe');
  return { stdio: list, fd: list.length - 1 };
}

function checkObject(value: unknown, what: string): void {
  if (value !== undefined && (value === null || typeof value !== 'object')) {
    throw codedError('ERR_INVALID_ARG_TYPE', `${what} must be an object`, TypeError);
  }
}

/**
 * `child_process.fork()` with the bridge's channel appended to `stdio` (Node's IPC channel included,
 * for the program's own messages); the child becomes a peer of `transport`.
 */
export function forkPeer(transport: ChildTransport, modulePath: string, args?: readonly string[], options?: ForkOptions): ChildProcess {
  checkObject(options, 'options');
  const o = options ?? {};
  const fallback = o.silent ? ['pipe', 'pipe', 'pipe', 'ipc'] : ['inherit', 'inherit', 'inherit', 'ipc'];
  const { stdio, fd } = withBridgeStdio(o.stdio, fallback, true);
  const child = fork(modulePath, args ?? [], { ...o, stdio: stdio as StdioOptions, env: { ...(o.env ?? process.env), [FD_ENV]: String(fd) } });
  transport.add(child, child.stdio[fd] as Socket | null);
  return child;
}

/**
 * `child_process.spawn()` of any program with the bridge's channel as descriptor SHMKIT_BRIDGE_FD
 * (docs/bridge-protocol.md) and no Node IPC channel; the child becomes a peer of `transport`.
 */
export function spawnPeer(transport: ChildTransport, command: string, args?: readonly string[], options?: SpawnOptions): ChildProcess {
  checkObject(options, 'options');
  const o = options ?? {};
  const { stdio, fd } = withBridgeStdio(o.stdio, ['pipe', 'pipe', 'pipe'], false);
  const child = spawn(command, args ?? [], { ...o, stdio: stdio as StdioOptions, env: { ...(o.env ?? process.env), [FD_ENV]: String(fd) } });
  transport.add(child, child.stdio[fd] as Socket | null);
  return child;
}
