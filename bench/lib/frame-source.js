'use strict';
// Frames with checkable content, for every suite that moves frames (frames, bridge): the producer
// renders frame n (every byte written, as a renderer would), every consumer checks its number and
// sums every word against its checksum. The same work on every transport.
const crypto = require('node:crypto');

const FRAME_HEADER = 8; // u32 frame number, u32 checksum
const SLIDE_WORDS = 4096; // the body's window slides over this many words

/**
 * Frames of one size with checkable content, produced as a renderer would:
 * frame n is the u32 frame number, the u32 checksum (sum mod 2^32 of the body's
 * little-endian u32 words), then the body, a window of a random table that
 * slides with n. render() writes every byte (one pass, like a renderer writing
 * every pixel) and takes the checksum from prefix sums, so producing costs no
 * second pass; verifyFrame() sums every word: the receiver trusts nothing.
 */
class FrameSource {
  constructor(bytes) {
    if (bytes % 4 !== 0 || bytes < FRAME_HEADER) throw new Error(`frames: a frame of ${bytes} bytes cannot carry a header and u32 words`);
    this.bytes = bytes;
    this.bodyWords = (bytes - FRAME_HEADER) / 4;
    this.table = new Uint32Array(this.bodyWords + SLIDE_WORDS);
    crypto.randomFillSync(this.table); // pixel-like bytes: every value occurs (matters to JSON)
    this.prefix = new Uint32Array(this.table.length + 1);
    for (let i = 0; i < this.table.length; i++) this.prefix[i + 1] = (this.prefix[i] + this.table[i]) >>> 0;
  }

  /** Writes frame `n` into `dest` (a 4-byte aligned view of at least `bytes` bytes). */
  render(dest, n) {
    const words = new Uint32Array(dest.buffer, dest.byteOffset, this.bytes / 4);
    const start = (n * 61) % SLIDE_WORDS;
    words.set(this.table.subarray(start, start + this.bodyWords), FRAME_HEADER / 4);
    words[0] = n;
    words[1] = (this.prefix[start + this.bodyWords] - this.prefix[start]) >>> 0;
    return dest;
  }
}

/** Why `bytes` is not frame `n` (a string), or null if it is: number and every word checked. */
function verifyFrame(bytes, n) {
  if (bytes.byteLength % 4 !== 0 || bytes.byteLength < FRAME_HEADER) return `a frame of ${bytes.byteLength} bytes`;
  let view = bytes;
  if (bytes.byteOffset % 4 !== 0) view = new Uint8Array(bytes); // an unaligned receive buffer: an aligned copy
  const words = new Uint32Array(view.buffer, view.byteOffset, view.byteLength / 4);
  if (words[0] !== n >>> 0) return `frame ${words[0]} instead of ${n >>> 0}`;
  let sum = 0;
  for (let i = FRAME_HEADER / 4; i < words.length; i++) sum = (sum + words[i]) | 0;
  if (sum >>> 0 !== words[1]) return `frame ${n} fails its checksum`;
  return null;
}

module.exports = { FrameSource, verifyFrame, FRAME_HEADER };
