/**
 * The framing of the bridge's own channel (docs/bridge-protocol.md): each message is a 4-byte
 * little-endian unsigned length followed by that many bytes of UTF-8 JSON, one JSON object per frame.
 * Both sides parse what they read themselves, inside try/catch: a malformed frame is a coded error
 * for the one channel it came on, never an exception out of an event handler.
 *
 * FrameReader holds at most one partial frame plus what one read brought (it never buffers more
 * than `maxFrameBytes` + the read size waiting for a frame to complete: a length over the limit is
 * refused as soon as its 4 bytes arrive).
 */
import { codedError, type CodedError } from '../core/errors';

/** Bytes of the length prefix. */
export const HEADER_BYTES = 4;

/** Largest frame a peer may send to the host: requests are a few hundred bytes. */
export const MAX_REQUEST_FRAME_BYTES = 64 * 1024;
/** Largest frame the host sends (a page of `list` is well under this). */
export const MAX_HOST_FRAME_BYTES = 4 * 1024 * 1024;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function frameError(message: string): CodedError {
  return codedError('ERR_SHM_BRIDGE_PROTOCOL', message, TypeError);
}

/** One message as a frame. Throws ERR_SHM_BRIDGE_PROTOCOL if it is not JSON or larger than `maxFrameBytes`. */
export function encodeFrame(message: unknown, maxFrameBytes: number): Buffer {
  const json = JSON.stringify(message);
  if (typeof json !== 'string') throw frameError('a bridge message must be a JSON value');
  const length = Buffer.byteLength(json);
  if (length > maxFrameBytes) throw frameError(`a frame of ${length} bytes is over the limit of ${maxFrameBytes}`);
  const frame = Buffer.allocUnsafe(HEADER_BYTES + length);
  frame.writeUInt32LE(length, 0);
  frame.write(json, HEADER_BYTES, 'utf8');
  return frame;
}

/**
 * Decodes one frame's payload: valid UTF-8 (no replacement characters), valid JSON, and an object
 * (not an array, not a primitive). Throws ERR_SHM_BRIDGE_PROTOCOL.
 */
export function decodePayload(payload: Uint8Array): unknown {
  let text: string;
  try {
    text = utf8.decode(payload);
  } catch {
    throw frameError('a frame is not valid UTF-8');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw frameError(`a frame is not valid JSON (${(error as Error).message.slice(0, 120)})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw frameError('a frame must hold a JSON object');
  return value;
}

/** Splits a byte stream into frame payloads. */
export class FrameReader {
  readonly #maxFrameBytes: number;
  #chunks: Buffer[] = [];
  #buffered = 0;

  constructor(maxFrameBytes: number) {
    this.#maxFrameBytes = maxFrameBytes;
  }

  /** Bytes held, waiting to be taken. */
  get buffered(): number {
    return this.#buffered;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
  }

  /**
   * The next complete frame decoded (decodePayload), or null when none is complete yet. Throws
   * ERR_SHM_BRIDGE_PROTOCOL for a malformed frame: the channel must end.
   */
  nextMessage(): unknown {
    const payload = this.next();
    return payload === null ? null : decodePayload(payload);
  }

  /**
   * The next complete frame's payload, or null when none is complete yet. Throws
   * ERR_SHM_BRIDGE_PROTOCOL for an empty frame or one over the limit (the stream cannot be resynchronised:
   * the channel must end).
   */
  next(): Buffer | null {
    if (this.#buffered < HEADER_BYTES) return null;
    const head = this.#peek(HEADER_BYTES);
    const length = head.readUInt32LE(0);
    if (length === 0) throw frameError('an empty frame');
    if (length > this.#maxFrameBytes) throw frameError(`a frame of ${length} bytes is over the limit of ${this.#maxFrameBytes}`);
    if (this.#buffered < HEADER_BYTES + length) return null;
    this.#take(HEADER_BYTES);
    return this.#take(length);
  }

  #peek(n: number): Buffer {
    const first = this.#chunks[0] as Buffer;
    if (first.length >= n) return first.subarray(0, n);
    return Buffer.concat(this.#chunks, this.#buffered).subarray(0, n);
  }

  #take(n: number): Buffer {
    let first = this.#chunks[0] as Buffer;
    if (first.length < n) {
      first = Buffer.concat(this.#chunks, this.#buffered);
      this.#chunks = [first];
    }
    const out = first.subarray(0, n);
    if (first.length === n) this.#chunks.shift();
    else this.#chunks[0] = first.subarray(n);
    this.#buffered -= n;
    return out;
  }
}
