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

/**
 * Splits a byte stream into frame payloads. Bytes are copied once, into the frame they belong to: a
 * frame trickled in byte by byte costs no more than one that arrives whole. Frames completed before a
 * malformed header are still delivered; then next() throws.
 */
export class FrameReader {
  readonly #maxFrameBytes: number;
  readonly #head = Buffer.alloc(HEADER_BYTES);
  #headFill = 0;
  #body: Buffer | null = null;
  #bodyFill = 0;
  readonly #ready: Buffer[] = [];
  #readyBytes = 0;
  #error: CodedError | null = null;

  constructor(maxFrameBytes: number) {
    this.#maxFrameBytes = maxFrameBytes;
  }

  /** Bytes held: complete frames not taken yet, and the frame being received. */
  get buffered(): number {
    return this.#readyBytes + this.#headFill + this.#bodyFill;
  }

  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length && this.#error === null) {
      if (this.#body === null) {
        const n = Math.min(HEADER_BYTES - this.#headFill, chunk.length - at);
        chunk.copy(this.#head, this.#headFill, at, at + n);
        this.#headFill += n;
        at += n;
        if (this.#headFill < HEADER_BYTES) return;
        const length = this.#head.readUInt32LE(0);
        if (length === 0) this.#error = frameError('an empty frame');
        else if (length > this.#maxFrameBytes) this.#error = frameError(`a frame of ${length} bytes is over the limit of ${this.#maxFrameBytes}`);
        else this.#body = Buffer.allocUnsafe(length);
        continue;
      }
      const n = Math.min(this.#body.length - this.#bodyFill, chunk.length - at);
      chunk.copy(this.#body, this.#bodyFill, at, at + n);
      this.#bodyFill += n;
      at += n;
      if (this.#bodyFill === this.#body.length) {
        this.#ready.push(this.#body);
        this.#readyBytes += this.#body.length;
        this.#body = null;
        this.#bodyFill = 0;
        this.#headFill = 0;
      }
    }
  }

  /**
   * The next complete frame's payload, or null when none is complete yet. Throws
   * ERR_SHM_BRIDGE_PROTOCOL once the frames before an empty frame or one over the limit are taken (the
   * stream cannot be resynchronised: the channel must end).
   */
  next(): Buffer | null {
    const frame = this.#ready.shift();
    if (frame !== undefined) {
      this.#readyBytes -= frame.length;
      return frame;
    }
    if (this.#error !== null) throw this.#error;
    return null;
  }

  /**
   * The next complete frame decoded (decodePayload), or null when none is complete yet. Throws
   * ERR_SHM_BRIDGE_PROTOCOL for a malformed frame: the channel must end.
   */
  nextMessage(): unknown {
    const payload = this.next();
    return payload === null ? null : decodePayload(payload);
  }
}
