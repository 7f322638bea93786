/**
 * ShareableList: a fixed-length list of scalars in one shared memory segment,
 * byte-compatible with Python 3.9+'s `multiprocessing.shared_memory.ShareableList`
 * (native byte order, 8-byte aligned). Python can attach to a list made here
 * and read every item; this class can attach to one made by Python.
 *
 * Layout (N items):
 *   0                 int64 N
 *   8                 N+1 int64 cumulative data offsets (from the data start)
 *   8(N+2)            data: 'q' int64, 'd' double, 'xxxxxxx?' bool,
 *                     'xxxxxx?x' None (8 bytes each), '%ds' str/bytes slots
 *   8(N+2)+off[N]     each item's struct format, NUL-padded to 8 bytes
 *   … + 8N            each item's decode code (int8): 0 int/float/bool,
 *                     1 str, 2 bytes, 3 None
 *   (Node-made lists only) a trailer, ignored by Python: at the next multiple
 *                     of 8, the magic 'shmkitL1', then per item uint32 exact
 *                     byte length + uint32 FNV-1a hash of the item's slot.
 *
 * Differences from CPython, on purpose or forced by JavaScript:
 * - str slots are sized by UTF-8 bytes, 8·(bytes//8 + 1), not by characters
 *   (gh-106939/gh-88336): a non-ASCII string never overflows its slot, so its
 *   format (e.g. '16s') can be larger than Python's for the same list.
 * - Trailing NULs of str and bytes values are kept when read back here
 *   (gh-96779/gh-145261): a list made by this class records each value's exact
 *   length in the trailer, and the length is trusted only while the slot holds
 *   exactly the bytes it was recorded for. Python's reader still strips
 *   trailing NULs (always, on every item), and so does this class for lists
 *   made by Python, and for an item Python last assigned (checked with a
 *   32-bit hash of the slot; if Python wrote the very same bytes, the item
 *   reads as the value Node recorded).
 * - JS numbers: an integer within int64 (except -0) is stored as 'q', anything
 *   else as 'd'; so Python's 100.0 read here and written back becomes 100.
 *   bigint is stored as 'q' (ERR_OUT_OF_RANGE outside int64). A 'q' item reads
 *   as a number when it is a safe integer, else as a bigint.
 * - Errors: index out of range, a value too large for its slot, a string slot
 *   over 9,999,999 bytes (its format would not fit 8 bytes; CPython asserts)
 *   → ERR_OUT_OF_RANGE (RangeError, Python's IndexError/ValueError);
 *   index()/a missing value → ERR_INVALID_ARG_VALUE (ValueError); an
 *   unsupported value type → ERR_INVALID_ARG_TYPE; a corrupt layout on attach
 *   or read → ERR_SHM_LIST_FORMAT. A failed set() writes nothing.
 * - count()/index() compare like Python's `==` for these types: numbers,
 *   bigints and booleans numerically (true == 1), bytes by content.
 * - toString() follows Python's repr; exotic characters may be escaped
 *   differently. Invalid UTF-8 in a str slot (CPython's character-sized slots
 *   can cut a character) decodes to U+FFFD here instead of raising.
 * - Like Python, there is no locking: concurrent writers need their own.
 */
import { endianness } from 'node:os';
import { inspect } from 'node:util';
import { invalidArgType, invalidArgValue, outOfRange, shmError } from '../core/errors';
import { SharedMemory } from '../core/shared-memory';

/** A value a ShareableList item can hold. */
export type ShareableValue = number | bigint | boolean | null | string | Uint8Array;

export interface ShareableListOptions {
  /** The segment's name: given to create one, required to attach. */
  name?: string | null | undefined;
  /** Crash cleanup of a created list's segment, as SharedMemory's `track`. Default true. */
  track?: boolean | undefined;
}

const ALIGN = 8;
const LE = endianness() === 'LE';
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
/** Largest '%ds' slot whose format still fits 8 bytes. */
const MAX_SLOT = 9_999_999;
const MAGIC = Buffer.from('shmkitL1', 'latin1');
const FMT_BOOL = 'xxxxxxx?';
const FMT_NONE = 'xxxxxx?x';

const enum Code {
  Plain = 0,
  Str = 1,
  Bytes = 2,
  None = 3,
}

interface Encoded {
  format: string; // for str/bytes: '' until the slot size is known
  code: Code;
  bytes: Buffer; // the data to write (8 bytes for scalars, the payload for str/bytes)
}

/** Item as read: the value and what Python would call its type. */
interface Decoded {
  value: ShareableValue;
  kind: 'int' | 'float' | 'bool' | 'none' | 'str' | 'bytes';
}

function listFormatError(message: string): Error {
  return shmError('ERR_SHM_LIST_FORMAT', message);
}

function encode(value: unknown, argName: string): Encoded {
  const eight = Buffer.alloc(8);
  if (value === null) {
    return { format: FMT_NONE, code: Code.None, bytes: eight };
  }
  switch (typeof value) {
    case 'boolean':
      eight[7] = value ? 1 : 0;
      return { format: FMT_BOOL, code: Code.Plain, bytes: eight };
    case 'bigint':
      if (value < INT64_MIN || value > INT64_MAX) {
        throw outOfRange(argName, 'within int64 (-(2n ** 63n) to 2n ** 63n - 1n)', value);
      }
      LE ? eight.writeBigInt64LE(value) : eight.writeBigInt64BE(value);
      return { format: 'q', code: Code.Plain, bytes: eight };
    case 'number':
      if (Number.isInteger(value) && !Object.is(value, -0) && value >= -(2 ** 63) && value < 2 ** 63) {
        const big = BigInt(value);
        LE ? eight.writeBigInt64LE(big) : eight.writeBigInt64BE(big);
        return { format: 'q', code: Code.Plain, bytes: eight };
      }
      LE ? eight.writeDoubleLE(value) : eight.writeDoubleBE(value);
      return { format: 'd', code: Code.Plain, bytes: eight };
    case 'string':
      return { format: '', code: Code.Str, bytes: Buffer.from(value, 'utf8') };
    default:
      if (value instanceof Uint8Array) {
        return { format: '', code: Code.Bytes, bytes: Buffer.from(value) };
      }
      throw invalidArgType(argName, 'a number, bigint, boolean, null, string or Uint8Array', value);
  }
}

function fnv1a(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

function readInt64(b: Buffer, at: number): bigint {
  return LE ? b.readBigInt64LE(at) : b.readBigInt64BE(at);
}

function writeInt64(b: Buffer, at: number, v: bigint | number): void {
  LE ? b.writeBigInt64LE(BigInt(v), at) : b.writeBigInt64BE(BigInt(v), at);
}

function stripNuls(b: Buffer): Buffer {
  let end = b.length;
  while (end > 0 && b[end - 1] === 0) end--;
  return b.subarray(0, end);
}

/**
 * A fixed-length list shared between processes, with the semantics and byte
 * layout of Python's `multiprocessing.shared_memory.ShareableList`.
 *
 * `new ShareableList([1, 'a', null])` creates (a generated `psm_` name unless
 * `{ name }` is given); `new ShareableList(null, { name })` attaches. Each
 * process calls `close()`; one calls `unlink()`.
 */
export class ShareableList implements Iterable<ShareableValue>, Disposable {
  /** The SharedMemory holding the list. */
  readonly shm: SharedMemory;
  readonly #length: number;
  readonly #offsets: number[]; // N+1 offsets from the data start
  #trailer = -1; // offset of the first trailer entry, or -1

  constructor(sequence?: Iterable<ShareableValue> | null, options?: ShareableListOptions) {
    if (options === undefined || options === null) options = {};
    if (typeof options !== 'object' || Array.isArray(options)) {
      throw invalidArgType('options', 'of type object', options);
    }
    const name = options.name ?? undefined;
    if (sequence === undefined || sequence === null) {
      if (name !== undefined) {
        this.shm = SharedMemory.attach(name);
        try {
          [this.#length, this.#offsets] = this.#readHeader();
        } catch (error) {
          this.shm.close();
          throw error;
        }
        return;
      }
      sequence = [];
    }
    if (typeof sequence === 'string' || typeof (sequence as Iterable<unknown>)[Symbol.iterator] !== 'function') {
      throw invalidArgType('sequence', 'an array (or other iterable) of items', sequence);
    }
    const items = [...sequence].map((v, i) => encode(v, `sequence[${i}]`));
    const n = items.length;
    const offsets = [0];
    for (const item of items) {
      if (item.code === Code.Str || item.code === Code.Bytes) {
        const slot = ALIGN * (Math.floor(item.bytes.length / ALIGN) + 1);
        if (slot > MAX_SLOT) {
          throw outOfRange(`sequence[${offsets.length - 1}]`, `at most ${MAX_SLOT - ALIGN} bytes long`, item.bytes.length);
        }
        item.format = `${slot}s`;
      }
      offsets.push(offsets[offsets.length - 1]! + (item.format.endsWith('s') ? Number.parseInt(item.format, 10) : ALIGN));
    }
    const dataStart = (n + 2) * 8;
    const formatsAt = dataStart + offsets[n]!;
    const codesAt = formatsAt + 8 * n;
    const pythonSize = codesAt + n;
    const trailerAt = Math.ceil(pythonSize / ALIGN) * ALIGN;
    const size = n === 0 ? pythonSize : trailerAt + 8 + 8 * n;

    const image = Buffer.alloc(size);
    writeInt64(image, 0, n);
    offsets.forEach((o, i) => writeInt64(image, 8 + 8 * i, o));
    items.forEach((item, i) => {
      image.set(item.bytes, dataStart + offsets[i]!);
      image.write(item.format, formatsAt + 8 * i, 'latin1');
      image.writeInt8(item.code, codesAt + i);
    });
    if (n > 0) {
      image.set(MAGIC, trailerAt);
      items.forEach((item, i) => {
        const at = trailerAt + 8 + 8 * i;
        image.writeUInt32LE(item.code === Code.Str || item.code === Code.Bytes ? item.bytes.length : 0, at);
        image.writeUInt32LE(fnv1a(image.subarray(dataStart + offsets[i]!, dataStart + offsets[i + 1]!)), at + 4);
      });
      this.#trailer = trailerAt + 8;
    }
    this.shm = SharedMemory.create(size, { ...(name === undefined ? {} : { name }), track: options.track ?? true });
    try {
      this.shm.write(image, 0);
    } catch (error) {
      this.shm.close();
      this.shm.unlink();
      throw error;
    }
    this.#length = n;
    this.#offsets = offsets;
  }

  /** The number of items (fixed at creation). */
  get length(): number {
    return this.#length;
  }

  /** Python's `format`: the struct formats of all items, concatenated. */
  get format(): string {
    let out = '';
    for (let i = 0; i < this.#length; i++) out += this.#formatOf(i);
    return out;
  }

  /** The item at `index` (negative counts from the end). */
  get(index: number): ShareableValue {
    return this.#decode(this.#position(index, 'index')).value;
  }

  /**
   * Stores `value` at `index`. The item may change type, but str/bytes must
   * fit the slot allocated at creation (ERR_OUT_OF_RANGE, nothing written).
   */
  set(index: number, value: ShareableValue): void {
    const i = this.#position(index, 'index');
    const item = encode(value, 'value');
    const slotStart = this.#dataStart + this.#offsets[i]!;
    const slotSize = this.#offsets[i + 1]! - this.#offsets[i]!;
    let data = item.bytes;
    if (item.code === Code.Str || item.code === Code.Bytes) {
      if (item.bytes.length > slotSize) {
        throw outOfRange('value', `at most ${slotSize} bytes (the size of item ${i}'s slot)`, value);
      }
      const current = this.#formatOf(i);
      item.format = current.endsWith('s') ? current : `${slotSize}s`;
      data = Buffer.alloc(Number.parseInt(item.format, 10));
      item.bytes.copy(data);
    } else if (slotSize < ALIGN) {
      throw listFormatError(`item ${i}'s slot is ${slotSize} bytes, too small for a scalar`);
    }
    this.shm.write(data, slotStart);
    const fmt = Buffer.alloc(8);
    fmt.write(item.format, 'latin1');
    this.shm.write(fmt, this.#formatsAt + 8 * i);
    this.shm.write(Buffer.of(item.code), this.#codesAt + i);
    if (this.#trailer >= 0) {
      const entry = Buffer.alloc(8);
      entry.writeUInt32LE(item.code === Code.Str || item.code === Code.Bytes ? item.bytes.length : 0, 0);
      entry.writeUInt32LE(fnv1a(this.#read(slotStart, slotSize)), 4);
      this.shm.write(entry, this.#trailer + 8 * i);
    }
  }

  /** How many items equal `value` (Python's `==`). */
  count(value: ShareableValue): number {
    let n = 0;
    for (const item of this) if (pyEquals(value, item)) n++;
    return n;
  }

  /** The first position holding `value`; ERR_INVALID_ARG_VALUE if none. */
  index(value: ShareableValue): number {
    let i = 0;
    for (const item of this) {
      if (pyEquals(value, item)) return i;
      i++;
    }
    throw invalidArgValue('value', value, 'is not in this ShareableList');
  }

  *[Symbol.iterator](): Iterator<ShareableValue> {
    for (let i = 0; i < this.#length; i++) yield this.get(i);
  }

  /** All items, as an array. */
  toArray(): ShareableValue[] {
    return [...this];
  }

  /** Closes this process's mapping (see SharedMemory.close). */
  close(): void {
    this.shm.close();
  }

  /** Removes the segment's name; once across all processes. */
  unlink(): void {
    this.shm.unlink();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** Python's repr: `ShareableList([...], name='psm_…')`. */
  toString(): string {
    const items: string[] = [];
    for (let i = 0; i < this.#length; i++) items.push(reprItem(this.#decode(i)));
    return `ShareableList([${items.join(', ')}], name=${reprStr(this.shm.name)})`;
  }

  [inspect.custom](): string {
    return this.shm.closed ? `ShareableList(<closed>, name=${reprStr(this.shm.name)})` : this.toString();
  }

  get #dataStart(): number {
    return (this.#length + 2) * 8;
  }

  get #formatsAt(): number {
    return this.#dataStart + this.#offsets[this.#length]!;
  }

  get #codesAt(): number {
    return this.#formatsAt + 8 * this.#length;
  }

  #read(offset: number, length: number): Buffer {
    const out = Buffer.alloc(length);
    this.shm.read(out, offset);
    return out;
  }

  #readHeader(): [number, number[]] {
    const size = this.shm.size;
    if (size < 16) throw listFormatError(`${this.shm.toString()} is too small for a ShareableList`);
    const n64 = readInt64(this.#read(0, 8), 0);
    if (n64 < 0n || (n64 + 2n) * 8n > BigInt(size)) {
      throw listFormatError(`${this.shm.toString()} does not hold a ShareableList (item count ${n64})`);
    }
    const n = Number(n64);
    const raw = this.#read(8, 8 * (n + 1));
    const offsets: number[] = [];
    for (let i = 0; i <= n; i++) {
      const o = readInt64(raw, 8 * i);
      const prev = i === 0 ? 0n : BigInt(offsets[i - 1]!);
      if ((i === 0 && o !== 0n) || o < prev || o > BigInt(size)) {
        throw listFormatError(`${this.shm.toString()} has a corrupt ShareableList offset table`);
      }
      offsets.push(Number(o));
    }
    const codesEnd = (n + 2) * 8 + offsets[n]! + 9 * n;
    if (codesEnd > size) throw listFormatError(`${this.shm.toString()} is too small for its ShareableList`);
    const trailerAt = Math.ceil(codesEnd / ALIGN) * ALIGN;
    if (n > 0 && trailerAt + 8 + 8 * n <= size && this.#read(trailerAt, 8).equals(MAGIC)) {
      this.#trailer = trailerAt + 8;
    }
    return [n, offsets];
  }

  #position(index: unknown, argName: string): number {
    if (typeof index !== 'number') throw invalidArgType(argName, 'of type number', index);
    const n = this.#length;
    if (!Number.isInteger(index) || index < -n || index >= n) {
      throw outOfRange(argName, n === 0 ? 'a valid index (the list is empty)' : `an integer >= ${-n} and < ${n}`, index);
    }
    return index < 0 ? index + n : index;
  }

  #formatOf(i: number): string {
    return stripNuls(this.#read(this.#formatsAt + 8 * i, 8)).toString('latin1');
  }

  #decode(i: number): Decoded {
    const format = this.#formatOf(i);
    const code = this.#read(this.#codesAt + i, 1).readInt8(0);
    const at = this.#dataStart + this.#offsets[i]!;
    const slotSize = this.#offsets[i + 1]! - this.#offsets[i]!;
    const bad = (): Error => listFormatError(`item ${i} has format ${JSON.stringify(format)} and code ${code}`);
    if (code === Code.None) return { value: null, kind: 'none' };
    if (code === Code.Str || code === Code.Bytes) {
      const m = /^(\d+)s$/.exec(format);
      if (!m || Number(m[1]) > slotSize) throw bad();
      const slot = this.#read(at, Number(m[1]));
      let bytes = stripNuls(slot);
      if (this.#trailer >= 0) {
        const entry = this.#read(this.#trailer + 8 * i, 8);
        const exact = entry.readUInt32LE(0);
        if (
          exact > bytes.length &&
          exact <= slot.length &&
          entry.readUInt32LE(4) === fnv1a(this.#read(at, slotSize))
        ) {
          bytes = slot.subarray(0, exact);
        }
      }
      return code === Code.Str
        ? { value: bytes.toString('utf8'), kind: 'str' }
        : { value: new Uint8Array(bytes), kind: 'bytes' };
    }
    if (code !== Code.Plain || slotSize < ALIGN) throw bad();
    const data = this.#read(at, 8);
    switch (format) {
      case 'q': {
        const v = readInt64(data, 0);
        const asNumber = Number(v);
        return { value: Number.isSafeInteger(asNumber) ? asNumber : v, kind: 'int' };
      }
      case 'd':
        return { value: LE ? data.readDoubleLE(0) : data.readDoubleBE(0), kind: 'float' };
      case FMT_BOOL:
        return { value: data[7] !== 0, kind: 'bool' };
      case FMT_NONE:
        // Python decodes by the code, so this only appears with code 3; be lenient.
        return { value: data[6] !== 0, kind: 'bool' };
      default:
        throw bad();
    }
  }
}

/** Python's `a == b` for the values a ShareableList holds. */
function pyEquals(a: unknown, b: unknown): boolean {
  const numeric = (v: unknown): v is number | bigint | boolean =>
    typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean';
  if (numeric(a) && numeric(b)) {
    const x = typeof a === 'boolean' ? Number(a) : a;
    const y = typeof b === 'boolean' ? Number(b) : b;
    // Loose equality compares a bigint and a number by mathematical value.
    // eslint-disable-next-line eqeqeq
    return x == y;
  }
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.from(a).equals(Buffer.from(b));
  return a === b;
}

function quoteFor(text: string): string {
  return text.includes("'") && !text.includes('"') ? '"' : "'";
}

function reprStr(text: string): string {
  const q = quoteFor(text);
  let out = q;
  for (const ch of text) {
    const c = ch.codePointAt(0) as number;
    if (ch === '\\' || ch === q) out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || (c >= 0x7f && c < 0xa0)) out += '\\x' + c.toString(16).padStart(2, '0');
    else out += ch;
  }
  return out + q;
}

function reprBytes(bytes: Uint8Array): string {
  const text = Buffer.from(bytes).toString('latin1');
  const q = quoteFor(text);
  let out = 'b' + q;
  for (const ch of text) {
    const c = ch.charCodeAt(0);
    if (ch === '\\' || ch === q) out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || c >= 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else out += ch;
  }
  return out + q;
}

/** Python's repr of a float: shortest round-trip digits, scientific below 1e-4 or from 1e16. */
function reprFloat(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mantissa = '', expText = '0'] = Math.abs(x).toExponential().split('e');
  const exp = Number(expText);
  const digits = mantissa.replace('.', '');
  const sign = x < 0 ? '-' : '';
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  const intPart = digits.slice(0, exp + 1).padEnd(exp + 1, '0');
  const frac = digits.slice(exp + 1);
  return `${sign}${intPart}.${frac || '0'}`;
}

function reprItem({ value, kind }: Decoded): string {
  switch (kind) {
    case 'none':
      return 'None';
    case 'bool':
      return value ? 'True' : 'False';
    case 'int':
      return String(value);
    case 'float':
      return reprFloat(value as number);
    case 'str':
      return reprStr(value as string);
    case 'bytes':
      return reprBytes(value as Uint8Array);
  }
}
