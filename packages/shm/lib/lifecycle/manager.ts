/**
 * SharedMemoryManager: Python's multiprocessing.managers.SharedMemoryManager.
 *
 * `start()` spawns a server process (manager-main.ts). Segments made through
 * the manager are created in the calling process (so `m.SharedMemory(size)`
 * and `m.ShareableList(seq)` are synchronous) without the crash tracker, and
 * their names are registered with the server, which unlinks them at
 * `shutdown()` — or when the process that started the manager ends, however it
 * ends (SIGKILL included: the server sees its stdin pipe close).
 *
 * Queries (`list()`, `release()`) go to the server and are asynchronous.
 *
 * Windows: no name can be unlinked there and a segment lives while any
 * process holds it, so the server holds every managed segment until release or
 * shutdown and then lets go of it (it goes with the last handle anywhere).
 * Until the server has answered that it holds a new segment, the creating
 * process holds it too (so closing it at once cannot end it); the address is a
 * named pipe. See manager-main.ts.
 *
 * Other processes reach a running manager by its `address` (a Unix socket,
 * 0600, in a private directory, see private-dir.ts; only the same user is served) with
 * `await SharedMemoryManager.connect(address)`; segments they create are
 * managed by the same server. A connected client's `shutdown()` only
 * disconnects; the owner's shutdown unlinks everything.
 */
import type { ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { invalidArgType, shmError } from '../core/errors';
import { greeting, killHelper, RUN_AS_NODE_FIX, runAsNodeRefusal, spawnHelper } from './helper-process';
import { onJsonLines } from './json-lines';
import { SharedMemory } from '../core/shared-memory';
import { unlinkSegment, win32 } from '../core/binding';
import { ShareableList, type ShareableValue } from '../formats/shareable-list';

/** The server's entry point, next to this file once compiled. */
export const MANAGER_MAIN = path.join(__dirname, 'manager-main.js');

interface Reply {
  id?: number;
  ok?: boolean;
  names?: string[];
  error?: string;
  ready?: boolean;
  address?: string;
  message?: string;
}

type State = 'new' | 'starting' | 'running' | 'stopped';

function notStarted(what: string): Error {
  return shmError('ERR_SHM_MANAGER_NOT_STARTED', `SharedMemoryManager: ${what} needs a started manager (start() first, not after shutdown())`);
}

function replyError(code: string, op: string, detail?: string): Error {
  const error = new Error(`${code}: SharedMemoryManager ${op} failed${detail ? `: ${detail}` : ''}`) as Error & { code: string };
  error.code = code;
  return error;
}

type Refable = { ref?: () => void; unref?: () => void };

export class SharedMemoryManager implements AsyncDisposable {
  #state: State = 'new';
  #child: ChildProcess | undefined;
  #socket: net.Socket | undefined;
  #out: Writable | undefined;
  #in: Readable | undefined;
  #address: string | undefined;
  #nextId = 1;
  #waiting = new Map<number, { resolve: (reply: Reply) => void; reject: (error: Error) => void }>();
  #shutdown: Promise<void> | undefined;
  /** Connects to a manager another process started; its `address`. */
  static async connect(address: string): Promise<SharedMemoryManager> {
    if (typeof address !== 'string') throw invalidArgType('address', 'of type string', address);
    const m = new SharedMemoryManager();
    await m.#connect(address);
    return m;
  }

  async #connect(address: string): Promise<void> {
    const socket = net.createConnection(address);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    socket.on('error', () => {});
    socket.on('close', () => this.#lost());
    this.#socket = socket;
    this.#out = socket;
    this.#in = socket;
    this.#address = address;
    this.#clientMode = true;
    onJsonLines(socket, (reply) => this.#onReply(reply as Reply));
    this.#idle();
    this.#state = 'running';
  }

  #clientMode = false;

  /**
   * Starts the server process. Resolves once it listens on `address` (its
   * first line is the greeting: a server silent for greeting.timeoutMs is
   * killed, with its process group).
   */
  async start(): Promise<void> {
    if (this.#state !== 'new') {
      throw shmError('ERR_SHM_MANAGER_NOT_STARTED', 'SharedMemoryManager: start() may be called once');
    }
    const refusal = runAsNodeRefusal();
    if (refusal !== undefined) {
      this.#state = 'stopped';
      throw shmError('ERR_SHM_RUN_AS_NODE_DISABLED', `SharedMemoryManager cannot start its server: ${refusal}; ${RUN_AS_NODE_FIX}`);
    }
    this.#state = 'starting';
    const child = spawnHelper(MANAGER_MAIN, [`process ${process.pid}`], ['pipe', 'pipe', 'inherit']);
    child.on('error', () => {});
    child.stdin!.on('error', () => {});
    this.#child = child;
    this.#out = child.stdin!;
    this.#in = child.stdout!;
    let onReady: ((reply: Reply) => void) | undefined;
    const silent = (what: string): string =>
      `its server (pid ${child.pid}, ${process.execPath} with ELECTRON_RUN_AS_NODE=1) ${what}: if this is a ` +
      `packaged Electron app whose RunAsNode fuse is disabled, that started a copy of the app instead of Node; ${RUN_AS_NODE_FIX}`;
    const ready = new Promise<Reply>((resolve, reject) => {
      onReady = resolve;
      const ms = greeting.timeoutMs;
      const timer = setTimeout(() => reject(replyError('ETIMEDOUT', 'start', silent(`said nothing within ${ms} ms and was killed`))), ms);
      timer.unref();
      child.once('error', (error) => reject(error));
      child.once('exit', () => reject(replyError('ESRCH', 'start', silent('ended without a word'))));
    });
    onJsonLines(child.stdout!, (value) => {
      const reply = value as Reply;
      if (reply.ready !== undefined) onReady?.(reply);
      else this.#onReply(reply);
    });
    child.on('exit', () => this.#lost());
    try {
      const reply = await ready;
      if (!reply.ready || typeof reply.address !== 'string') throw replyError(reply.error ?? 'EIO', 'start', reply.message);
      this.#address = reply.address;
    } catch (error) {
      this.#state = 'stopped';
      if (child.pid !== undefined) killHelper(child.pid);
      throw error;
    }
    child.unref();
    (child.stdin as unknown as Refable).unref?.();
    this.#idle();
    this.#state = 'running';
  }

  /** The server's socket path, for SharedMemoryManager.connect(). */
  get address(): string {
    if (this.#state !== 'running') throw notStarted('address');
    return this.#address!;
  }

  /** The server's pid (owner only; undefined in a connected client). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Whether the manager is running (started, not shut down, server alive). */
  get running(): boolean {
    return this.#state === 'running';
  }

  #check(what: string): void {
    if (this.#state !== 'running') throw notStarted(what);
  }

  #send(message: object): void {
    const out = this.#out;
    if (!out || out.destroyed || out.writableEnded) throw notStarted('this call');
    out.write(JSON.stringify(message) + '\n');
  }

  #request(message: object): Promise<Reply> {
    const id = this.#nextId++;
    return new Promise<Reply>((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      (this.#in as unknown as Refable | undefined)?.ref?.();
      try {
        this.#send({ ...message, id });
      } catch (error) {
        this.#waiting.delete(id);
        this.#idle();
        reject(error as Error);
      }
    });
  }

  #onReply(reply: Reply): void {
    if (typeof reply.id !== 'number') return;
    const waiter = this.#waiting.get(reply.id);
    if (!waiter) return;
    this.#waiting.delete(reply.id);
    this.#idle();
    waiter.resolve(reply);
  }

  /** Unref the reply channel when no reply is awaited: an idle manager never keeps the process alive. */
  #idle(): void {
    if (this.#waiting.size === 0) (this.#in as unknown as Refable | undefined)?.unref?.();
  }

  /** The server is gone (or the connection): fail what waits, refuse what follows. */
  #lost(): void {
    if (this.#state === 'running' || this.#state === 'starting') this.#state = 'stopped';
    for (const [, waiter] of this.#waiting) waiter.reject(notStarted('this call'));
    this.#waiting.clear();
  }

  #register(name: string): void {
    if (process.platform !== 'win32') {
      this.#send({ op: 'register', name });
      return;
    }
    // Windows: hold the segment here until the server says it holds it (or fails to).
    const out = this.#out;
    if (!out || out.destroyed || out.writableEnded) throw notStarted('this call');
    win32.holdSegment(name);
    const letGo = (): void => {
      try {
        unlinkSegment(name); // releases this process's hold
      } catch {
        // gone already
      }
    };
    this.#request({ op: 'register', name }).then(letGo, letGo);
  }

  /** Creates a segment of `size` bytes that the manager owns (unlinked at shutdown). */
  SharedMemory(size: number): SharedMemory {
    this.#check('SharedMemory()');
    const shm = SharedMemory.create(size, { track: false });
    try {
      this.#register(shm.name);
    } catch (error) {
      shm.close();
      SharedMemory.unlink(shm.name);
      throw error;
    }
    return shm;
  }

  /** Creates a ShareableList whose segment the manager owns. */
  ShareableList(sequence?: Iterable<ShareableValue> | null): ShareableList {
    this.#check('ShareableList()');
    // The manager owns it, not the crash tracker.
    const list = new ShareableList(sequence ?? [], { track: false });
    const name = list.shm.name;
    try {
      this.#register(name);
    } catch (error) {
      list.shm.close();
      SharedMemory.unlink(name);
      throw error;
    }
    return list;
  }

  /** The names of the segments the manager manages (from every connected process). */
  async list(): Promise<string[]> {
    this.#check('list()');
    const reply = await this.#request({ op: 'list' });
    if (reply.error) throw replyError(reply.error, 'list');
    return reply.names ?? [];
  }

  /** Unlinks one managed segment now. ENOENT if the manager does not manage `name`. */
  async release(name: string): Promise<void> {
    if (typeof name !== 'string') throw invalidArgType('name', 'of type string', name);
    this.#check('release()');
    const reply = await this.#request({ op: 'release', name });
    if (reply.error) throw replyError(reply.error, 'release');
  }

  /**
   * Owner: unlinks every managed segment and stops the server. Connected
   * client: disconnects. Idempotent; a no-op on a manager never started.
   */
  shutdown(): Promise<void> {
    if (this.#shutdown) return this.#shutdown;
    if (this.#state === 'new' || this.#state === 'stopped') {
      this.#state = 'stopped';
      this.#shutdown = Promise.resolve();
      return this.#shutdown;
    }
    this.#shutdown = this.#clientMode ? this.#disconnect() : this.#stopServer();
    return this.#shutdown;
  }

  async #disconnect(): Promise<void> {
    const socket = this.#socket!;
    this.#state = 'stopped';
    await new Promise<void>((resolve) => {
      if (socket.destroyed) return resolve();
      socket.ref();
      socket.once('close', () => resolve());
      socket.end();
    });
  }

  async #stopServer(): Promise<void> {
    const child = this.#child!;
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
    });
    child.ref();
    try {
      await this.#request({ op: 'shutdown' });
    } catch {
      // the server was gone already: its stdin EOF path cleaned up
    }
    this.#state = 'stopped';
    child.stdin?.end();
    await exited;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }
}
