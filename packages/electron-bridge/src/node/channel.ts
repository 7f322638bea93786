/**
 * The bridge's own channel to a child process: a socket the host creates at spawn (one end stays in
 * the host, the other is the child's descriptor `SHMKIT_BRIDGE_FD`), carrying length-prefixed JSON
 * frames (frames.ts) that the bridge parses itself. Node's IPC channel is not used: Node parses that
 * one in its internals, where one malformed message throws out of the event loop and ends the host.
 *
 * Host side (PeerChannel), per peer:
 * - a malformed frame (length over the limit, empty, not UTF-8, not a JSON object) ends this peer's
 *   channel with a coded reason (a last `disconnect` frame, then end of stream); nothing else is
 *   affected;
 * - one request at a time: while the host serves one asynchronously, the peer's next frames wait
 *   (unread, in the socket) until it asks for more (resume);
 * - flow control: once more than HIGH_WATER_BYTES of replies and events wait unsent (the peer is not
 *   reading), the host stops reading from this peer until they drain. A peer that never reads
 *   therefore holds at most one read of requests and about HIGH_WATER_BYTES of replies in the host.
 *   Events (revoked) still go out to a paused peer; past MAX_UNSENT_BYTES unsent the peer is
 *   disconnected with ERR_SHM_BRIDGE_LIMIT. Unsent frames are packed into 64 KiB blocks, so what they
 *   cost the host is about what they weigh;
 * - fairness: after FRAMES_PER_TURN frames or TURN_MS of work the channel yields to the event loop,
 *   so that one peer sending many small frames cannot hold the host.
 *
 * Client side (SocketClientTransport): the same framing in the child, over `net.Socket({ fd })`.
 */
import * as net from 'node:net';
import { codedError, toWireError, type CodedError } from '../core/errors';
import { PROTOCOL_VERSION, type HostMessage, type Request } from '../core/protocol';
import type { ClientTransport, ClientTransportHandlers } from '../core/transport';
import { encodeFrame, FrameReader, MAX_HOST_FRAME_BYTES, MAX_REQUEST_FRAME_BYTES } from './frames';

/** The environment variable that tells a child which descriptor is its bridge channel. */
export const FD_ENV = 'SHMKIT_BRIDGE_FD';

/** Unsent bytes above which the host stops reading a peer's requests. */
export const HIGH_WATER_BYTES = 1024 * 1024;
/** Unsent bytes above which a peer is disconnected (it does not read what the host sends). */
export const MAX_UNSENT_BYTES = 16 * 1024 * 1024;
/** How long an ended channel may take to flush its last frame before it is destroyed. */
const LINGER_MS = 2000;
/** Work on one peer's frames before yielding to the event loop. */
const FRAMES_PER_TURN = 64;
const TURN_MS = 2;
/** Unsent frames are packed into blocks of this size. */
const BLOCK_BYTES = 64 * 1024;

export interface PeerChannelHandlers {
  /** One parsed frame (a JSON object, otherwise untrusted) from the peer. False: hold the next ones until resume(). */
  message(data: unknown): boolean;
  /** The channel ended: `reason` when the host ended it for a fault of the peer, null for end of stream. Called once. */
  ended(reason: CodedError | null): void;
}

/** Frames waiting to be written, packed into blocks. */
class OutQueue {
  readonly #blocks: Buffer[] = [];
  #lastFill = 0;
  #bytes = 0;

  get bytes(): number {
    return this.#bytes;
  }

  append(frame: Buffer): void {
    this.#bytes += frame.length;
    if (frame.length >= BLOCK_BYTES) {
      this.#blocks.push(frame);
      this.#lastFill = frame.length; // full: the next frame starts a new block
      return;
    }
    let at = 0;
    while (at < frame.length) {
      let last = this.#blocks.at(-1);
      if (last === undefined || this.#lastFill >= last.length) {
        last = Buffer.allocUnsafe(BLOCK_BYTES);
        this.#blocks.push(last);
        this.#lastFill = 0;
      }
      const n = frame.copy(last, this.#lastFill, at);
      this.#lastFill += n;
      at += n;
    }
  }

  /** Everything queued, as buffers to write; the queue is empty afterwards. */
  take(): Buffer[] {
    const out = this.#blocks.splice(0);
    const last = out.length - 1;
    if (last >= 0 && this.#lastFill < (out[last] as Buffer).length) out[last] = (out[last] as Buffer).subarray(0, this.#lastFill);
    this.#lastFill = 0;
    this.#bytes = 0;
    return out;
  }
}

export class PeerChannel {
  readonly #socket: net.Socket;
  readonly #handlers: PeerChannelHandlers;
  readonly #reader = new FrameReader(MAX_REQUEST_FRAME_BYTES);
  readonly #out = new OutQueue();
  /** Bytes handed to the socket and not yet written into the kernel. */
  #writing = 0;
  /** Why frames are not being handled now: unsent replies past the high-water mark, the host busy with this peer, a yield. */
  #backpressure = false;
  #held = false;
  #yielding = false;
  /** Over MAX_UNSENT_BYTES: nothing more is sent or read; end() follows on the next turn. */
  #dropping = false;
  #ended = false;

  constructor(socket: net.Socket, handlers: PeerChannelHandlers) {
    this.#socket = socket;
    this.#handlers = handlers;
    socket.on('data', (chunk: Buffer) => {
      if (this.#ended) return;
      this.#reader.push(chunk);
      this.#pump();
    });
    // End of stream from the peer (it closed its end, exited or was killed): it is done.
    socket.on('end', () => this.#finish(null));
    socket.on('close', () => this.#finish(null));
    socket.on('error', () => {
      // EPIPE/ECONNRESET: the peer went; 'close' follows
    });
  }

  /** Ended, or about to be (the host must not serve this peer any more). */
  get ended(): boolean {
    return this.#ended || this.#dropping;
  }

  /** Bytes queued for the peer and not yet taken by the kernel (the peer is not reading). */
  get unsentBytes(): number {
    return this.#writing + this.#out.bytes;
  }

  /** Sends one message; never throws. A peer over MAX_UNSENT_BYTES is disconnected instead (right after). */
  send(message: HostMessage): void {
    if (this.#ended || this.#dropping || this.#socket.destroyed) return;
    let frame: Buffer;
    try {
      frame = encodeFrame(message, MAX_HOST_FRAME_BYTES);
    } catch (error) {
      // the host's own message cannot be framed: a bug of ours; answer the peer with a coded error instead
      const id = 'id' in message ? message.id : null;
      frame = encodeFrame({ v: PROTOCOL_VERSION, id, ok: false, error: toWireError(error) }, MAX_HOST_FRAME_BYTES);
    }
    if (this.unsentBytes + frame.length > MAX_UNSENT_BYTES) {
      const unsent = this.unsentBytes;
      // Not from inside send(): the host may be in the middle of serving a request of this peer.
      this.#dropping = true;
      setImmediate(() =>
        this.end(codedError('ERR_SHM_BRIDGE_LIMIT', `disconnected: this peer did not read what the host sent (${unsent} bytes unsent, the limit is ${MAX_UNSENT_BYTES})`)),
      );
      return;
    }
    this.#out.append(frame);
    this.#flush();
  }

  /** The host takes this peer's requests again (after message() returned false). */
  resume(): void {
    if (!this.#held) return;
    this.#held = false;
    this.#pump();
  }

  /** Ends the channel; with a reason, the peer gets it in a last `disconnect` frame. Idempotent. */
  end(reason: CodedError | null): void {
    if (this.#ended) return;
    if (!this.#socket.destroyed) {
      try {
        if (reason !== null) this.#out.append(encodeFrame({ v: PROTOCOL_VERSION, event: 'disconnect', error: toWireError(reason) }, MAX_HOST_FRAME_BYTES));
        // after what is being written, in order: the stream ends with them
        for (const buffer of this.#out.take()) this.#socket.write(buffer);
      } catch {
        // the socket is going anyway
      }
    }
    this.#socket.end();
    // A peer that does not read never lets end() finish: do not hold its socket for ever.
    setTimeout(() => this.#socket.destroy(), LINGER_MS).unref();
    this.#finish(reason);
  }

  #finish(reason: CodedError | null): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#handlers.ended(reason);
  }

  /** Writes what is queued, one write at a time (what queues meanwhile is packed and written next). */
  #flush(): void {
    if (this.#writing > 0 || this.#out.bytes === 0 || this.#socket.destroyed) return;
    const buffers = this.#out.take();
    let bytes = 0;
    for (const b of buffers) bytes += b.length;
    this.#writing = bytes;
    this.#socket.cork();
    buffers.forEach((b, i) => this.#socket.write(b, i === buffers.length - 1 ? (error) => this.#written(error) : undefined));
    this.#socket.uncork();
  }

  #written(error: Error | null | undefined): void {
    this.#writing = 0;
    if (error) return; // the peer went: 'close' follows
    this.#flush();
    if (this.#backpressure && this.unsentBytes <= HIGH_WATER_BYTES) {
      this.#backpressure = false;
      this.#pump();
    }
  }

  /** Handles complete frames one at a time until none is left, the channel ends, or something holds it. */
  #pump(): void {
    const start = performance.now();
    let frames = 0;
    while (!this.ended && !this.#backpressure && !this.#held && !this.#yielding) {
      let data: unknown;
      try {
        data = this.#reader.nextMessage();
      } catch (error) {
        this.end(error as CodedError);
        return;
      }
      if (data === null) break;
      if (this.#handlers.message(data) === false) this.#held = true;
      if (this.unsentBytes > HIGH_WATER_BYTES) this.#backpressure = true;
      if (++frames >= FRAMES_PER_TURN || performance.now() - start >= TURN_MS) {
        this.#yielding = true;
        setImmediate(() => {
          this.#yielding = false;
          this.#pump();
        });
      }
    }
    // Read from the socket only while frames are being handled: a held peer waits in the kernel.
    const stopped = this.#backpressure || this.#held || this.#yielding || this.#dropping;
    if (stopped && !this.#socket.isPaused()) this.#socket.pause();
    else if (!stopped && this.#socket.isPaused() && !this.#ended) this.#socket.resume();
  }
}

/** The child's side: frames over `net.Socket({ fd })`. */
export class SocketClientTransport implements ClientTransport {
  readonly #socket: net.Socket;
  readonly #reader = new FrameReader(MAX_HOST_FRAME_BYTES);
  #handlers: ClientTransportHandlers | null = null;
  #closed = false;

  constructor(socket: net.Socket) {
    this.#socket = socket;
  }

  listen(handlers: ClientTransportHandlers): void {
    this.#handlers = handlers;
    this.#socket.on('data', (chunk: Buffer) => {
      if (this.#closed) return;
      this.#reader.push(chunk);
      for (;;) {
        let data: unknown;
        try {
          data = this.#reader.nextMessage();
        } catch (error) {
          // the host's stream is broken: nothing after this can be trusted to be in frame
          this.#gone(error as CodedError);
          return;
        }
        if (data === null) return;
        this.#handlers?.message(data);
        if (this.#closed) return;
      }
    });
    this.#socket.on('end', () => this.#gone(null));
    this.#socket.on('close', () => this.#gone(null));
    this.#socket.on('error', () => {
      // 'close' follows
    });
  }

  send(message: Request): void {
    if (this.#closed || this.#socket.destroyed || !this.#socket.writable) throw new Error('the bridge channel to the host is closed');
    this.#socket.write(encodeFrame(message, MAX_REQUEST_FRAME_BYTES));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#handlers = null;
    // End our side; the host sees the end of stream and treats this peer as gone. Never hold the
    // process open waiting for the host to close its side.
    this.#socket.end();
    this.#socket.unref();
    setTimeout(() => this.#socket.destroy(), LINGER_MS).unref();
  }

  #gone(reason: CodedError | null): void {
    if (this.#closed) return;
    const handlers = this.#handlers;
    handlers?.closed(reason ?? undefined);
  }
}

/**
 * Opens the channel a host gave this process (`SHMKIT_BRIDGE_FD`), or returns null when there is none.
 * The variable is removed from process.env, so processes this one starts do not take the channel
 * for theirs.
 */
export function openInheritedChannel(env: NodeJS.ProcessEnv = process.env): net.Socket | null {
  const value = env[FD_ENV];
  if (value === undefined) return null;
  delete env[FD_ENV];
  if (!/^[0-9]{1,9}$/.test(value)) return null;
  const fd = Number(value);
  if (fd < 3) return null;
  try {
    return new net.Socket({ fd, readable: true, writable: true });
  } catch {
    return null; // not an open socket descriptor (EBADF, or a file)
  }
}
