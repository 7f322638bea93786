/**
 * The synthetic video source: a moving RGBA test pattern whose pixels also carry the frame number
 * and a checksum, so any consumer (a child process, a page, a test reading back a canvas) can
 * verify every frame it gets. Plain code: no Node, no DOM; it runs in the main process, the
 * terminal consumers and the browser tests alike.
 *
 * Layout of a frame (`width` × `height` RGBA pixels, rows `width * 4` bytes apart):
 * - The header: rows 0–7, columns 0–(8 × 8 − 1). Eight cells of 8 × 8 pixels, each a grey level
 *   (R = G = B = the byte, A = 255): cells 0–3 the frame number, cells 4–7 the checksum, both
 *   little-endian u32. Grey cells read the same as RGBA or BGRA, and 8 × 8 blocks survive a
 *   slightly scaled screenshot.
 * - The body: rows 8 to `height − 1`, a pattern that slides 4 pixels left and 2 rows up per
 *   frame; `bodyPixel` is its one definition, used by the producer's tables and the verifier.
 * - The checksum: the sum, modulo 2^32, of the body's pixels read as little-endian u32 words.
 *
 * The producer never loops over pixels per frame: every body row is a window of one of 256
 * precomputed rows, copied with `set()` (a memcpy), and its contribution to the checksum comes
 * from prefix sums. The verifier, on the other hand, sums every byte: it trusts nothing.
 */

export const HEADER_ROWS = 8;
export const HEADER_CELL = 8;
export const HEADER_CELLS = 8;
/** Pixels a frame's header needs at least, in each direction. */
export const MIN_WIDTH = HEADER_CELL * HEADER_CELLS;
export const MIN_HEIGHT = HEADER_ROWS + 1;

/** Horizontal motion: pixels per frame. */
const SHIFT_PER_FRAME = 4;

export interface Preset {
  width: number;
  height: number;
}

export const PRESETS: Readonly<Record<'1080p' | '4k' | 'small', Preset>> = Object.freeze({
  '1080p': { width: 1920, height: 1080 },
  '4k': { width: 3840, height: 2160 },
  small: { width: 320, height: 180 },
});

/** The body pixel (x, y ≥ 8) of frame `n`, as a little-endian u32 (0xAABBGGRR). */
export function bodyPixel(x: number, y: number, n: number): number {
  return tablePixel(x + ((SHIFT_PER_FRAME * n) & 255), keyOf(y, n));
}

function checkSize(width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < MIN_WIDTH || height < MIN_HEIGHT) {
    const error = new RangeError(
      `a pattern frame needs integer width >= ${MIN_WIDTH} and height >= ${MIN_HEIGHT}, got ${width}x${height}`,
    ) as RangeError & { code: string };
    error.code = 'ERR_OUT_OF_RANGE';
    throw error;
  }
}

/**
 * Renders frames of one size into caller-provided memory (the FrameRing slot the producer
 * acquired: rendering *is* producing, there is no extra copy).
 */
export class PatternRenderer {
  readonly width: number;
  readonly height: number;
  /** 256 rows (one per G value), each `width + 256` pixels wide: row y of frame n is a window. */
  private readonly rows: Uint32Array[];
  /** Prefix sums (mod 2^32) of each precomputed row. */
  private readonly prefix: Uint32Array[];

  constructor(width: number, height: number) {
    checkSize(width, height);
    this.width = width;
    this.height = height;
    const span = width + 256;
    this.rows = [];
    this.prefix = [];
    // Row y of frame n is the window [4n mod 256, 4n mod 256 + width) of table row (y + 2n) mod 256.
    for (let key = 0; key < 256; key++) {
      const row = new Uint32Array(span);
      const sums = new Uint32Array(span + 1);
      for (let i = 0; i < span; i++) {
        row[i] = tablePixel(i, key);
        sums[i + 1] = (sums[i]! + row[i]!) >>> 0;
      }
      this.rows.push(row);
      this.prefix.push(sums);
    }
  }

  /**
   * Writes frame `n` into `dest` (at least width × height × 4 bytes, rows `stride` bytes apart,
   * 4-byte aligned) and returns its checksum.
   */
  render(dest: Uint8Array, n: number, stride = this.width * 4): number {
    const { width, height } = this;
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
      throw Object.assign(new RangeError(`frame number must be a u32, got ${n}`), { code: 'ERR_OUT_OF_RANGE' });
    }
    if (stride % 4 !== 0 || stride < width * 4 || dest.byteOffset % 4 !== 0 || dest.byteLength < stride * (height - 1) + width * 4) {
      throw Object.assign(new RangeError('destination too small or misaligned for this frame size'), {
        code: 'ERR_OUT_OF_RANGE',
      });
    }
    const words = new Uint32Array(dest.buffer, dest.byteOffset, (stride * (height - 1) + width * 4) / 4);
    const strideWords = stride / 4;
    const start = (SHIFT_PER_FRAME * n) & 255;
    let checksum = 0;
    for (let y = HEADER_ROWS; y < height; y++) {
      const key = keyOf(y, n);
      const row = this.rows[key]!;
      const sums = this.prefix[key]!;
      words.set(row.subarray(start, start + width), y * strideWords);
      checksum = (checksum + ((sums[start + width]! - sums[start]!) >>> 0)) >>> 0;
    }
    writeHeader(words, strideWords, n >>> 0, checksum);
    return checksum;
  }
}

/** Table key of body row y in frame n (see tablePixel). */
function keyOf(y: number, n: number): number {
  return (y + 2 * n) & 255;
}

/** Pixel i of table row `key`: R follows the column, G the row, B bands of 32 × 8 pixels. */
function tablePixel(i: number, key: number): number {
  const r = i & 255;
  const g = key;
  const b = ((i >> 5) ^ (key >> 3)) & 255;
  return (0xff000000 | (b << 16) | (g << 8) | r) >>> 0;
}

function writeHeader(words: Uint32Array, strideWords: number, n: number, checksum: number): void {
  const bytes = [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24, checksum & 255, (checksum >>> 8) & 255, (checksum >>> 16) & 255, checksum >>> 24];
  for (let cell = 0; cell < HEADER_CELLS; cell++) {
    const v = bytes[cell]!;
    const grey = (0xff000000 | (v << 16) | (v << 8) | v) >>> 0;
    for (let y = 0; y < HEADER_ROWS; y++) {
      words.fill(grey, y * strideWords + cell * HEADER_CELL, y * strideWords + (cell + 1) * HEADER_CELL);
    }
  }
}

export interface FrameCheck {
  ok: boolean;
  /** The frame number the header carries (null when the header itself is not a header). */
  frame: number | null;
  checksum: number | null;
  /** What is wrong, when not ok. */
  reason?: string;
}

/** Reads a header cell's byte: every pixel of the cell must be the same grey. */
function readCell(bytes: Uint8Array, stride: number, cell: number): number | null {
  const v = bytes[cell * HEADER_CELL * 4];
  for (let y = 0; y < HEADER_ROWS; y++) {
    for (let x = cell * HEADER_CELL; x < (cell + 1) * HEADER_CELL; x++) {
      const o = y * stride + x * 4;
      if (bytes[o] !== v || bytes[o + 1] !== v || bytes[o + 2] !== v || bytes[o + 3] !== 255) return null;
    }
  }
  return v ?? null;
}

/**
 * Decodes a frame's header (cheap: 512 pixels), without checking the body. Takes RGBA or BGRA
 * (the header is grey), from a slot or from pixels read back from a canvas.
 */
export function readHeader(bytes: Uint8Array, width: number, stride = width * 4): { frame: number; checksum: number } | { reason: string } {
  if (width < MIN_WIDTH || bytes.byteLength < stride * (HEADER_ROWS - 1) + MIN_WIDTH * 4) return { reason: 'too small for a header' };
  const cells: number[] = [];
  for (let cell = 0; cell < HEADER_CELLS; cell++) {
    const v = readCell(bytes, stride, cell);
    if (v === null) return { reason: `header cell ${cell} is not a uniform grey` };
    cells.push(v);
  }
  return {
    frame: (cells[0]! | (cells[1]! << 8) | (cells[2]! << 16) | (cells[3]! << 24)) >>> 0,
    checksum: (cells[4]! | (cells[5]! << 8) | (cells[6]! << 16) | (cells[7]! << 24)) >>> 0,
  };
}

/**
 * Verifies a whole frame: the header decodes, the body's sum equals the header's checksum, and
 * (with `strict`, the default) every body pixel is the one `bodyPixel` defines for that frame.
 */
export function verifyFrame(bytes: Uint8Array, width: number, height: number, stride = width * 4, strict = true): FrameCheck {
  checkSize(width, height);
  if (bytes.byteLength < stride * (height - 1) + width * 4) {
    return { ok: false, frame: null, checksum: null, reason: 'frame shorter than its size' };
  }
  const header = readHeader(bytes, width, stride);
  if ('reason' in header) return { ok: false, frame: null, checksum: null, reason: header.reason };
  const { frame, checksum } = header;
  let sum = 0;
  // Little-endian u32 words; through a Uint32Array when aligned (every platform we run is LE).
  const aligned = bytes.byteOffset % 4 === 0 && stride % 4 === 0;
  const words = aligned ? new Uint32Array(bytes.buffer, bytes.byteOffset, (stride * (height - 1) + width * 4) / 4) : null;
  for (let y = HEADER_ROWS; y < height; y++) {
    const o = y * stride;
    for (let x = 0; x < width; x++) {
      const p = o + x * 4;
      const word = words ? words[p >> 2]! : (bytes[p]! | (bytes[p + 1]! << 8) | (bytes[p + 2]! << 16) | (bytes[p + 3]! << 24)) >>> 0;
      if (strict && word !== bodyPixel(x, y, frame)) {
        return { ok: false, frame, checksum, reason: `pixel (${x}, ${y}) is not frame ${frame}'s` };
      }
      sum = (sum + word) >>> 0;
    }
  }
  if (sum !== checksum) return { ok: false, frame, checksum, reason: `checksum ${sum} != header's ${checksum}` };
  return { ok: true, frame, checksum };
}
