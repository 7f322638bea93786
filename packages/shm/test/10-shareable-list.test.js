'use strict';
// ShareableList: CPython's own ShareableList behaviours (Lib/test/_test_multiprocessing.py),
// our fixes (UTF-8 sized str slots, trailing NULs kept), bad input, and the same
// lists seen from real Python processes both ways (test/fixtures/shareable_list_peer.py).
const { test } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const helpers = require('./helpers');
const { ShareableList, SharedMemory } = require('@shmkit/shm');

helpers.checkNoLeaks();

const PEER = path.join(__dirname, 'fixtures', 'shareable_list_peer.py');
const PSM_NAME = /^psm_[0-9a-f]{8}$/;
const TIMEOUT_MS = 30_000;

/** CPython's test list, and the format CPython gives it. */
const CPYTHON_LIST = () => ['howdy', Buffer.from('HoWdY'), -273.154, 100, null, true, 42];
const CPYTHON_FORMAT = '8s8sdqxxxxxx?xxxxxxxx?q';

/** A list with a given name, remembered for the leak check. */
function makeList(sequence, tag = 'sl') {
  return new ShareableList(sequence, { name: helpers.uniqueName(tag) });
}

function dispose(sl) {
  sl.close();
  try {
    sl.unlink();
  } catch (error) {
    if (error.code !== 'ENOENT') throw error;
  }
}

const bytes = (text) => new Uint8Array(Buffer.from(text, 'latin1'));

test('CPython test list: exact format, len, get, negative index, iteration, repr', () => {
  const sl = makeList(CPYTHON_LIST());
  try {
    assert.equal(sl.format, CPYTHON_FORMAT);
    assert.equal(sl.length, 7);
    assert.equal(sl.get(0), 'howdy');
    assert.deepEqual(sl.get(1), bytes('HoWdY'));
    assert.equal(sl.get(2), -273.154);
    assert.equal(sl.get(3), 100);
    assert.equal(sl.get(4), null);
    assert.equal(sl.get(-2), true);
    assert.equal(sl.get(-7), 'howdy');
    assert.deepEqual([...sl], ['howdy', bytes('HoWdY'), -273.154, 100, null, true, 42]);
    assert.deepEqual(sl.toArray(), [...sl]);
    assert.equal(
      sl.toString(),
      `ShareableList(['howdy', b'HoWdY', -273.154, 100, None, True, 42], name='${sl.shm.name}')`,
    );
    assert.ok(sl.shm instanceof SharedMemory);
  } finally {
    dispose(sl);
  }
});

test('index() and count() compare like Python ==; index() of a missing value is ERR_INVALID_ARG_VALUE', () => {
  const sl = makeList(CPYTHON_LIST());
  try {
    assert.equal(sl.index(100), 3);
    assert.equal(sl.index(100n), 3);
    assert.equal(sl.index('howdy'), 0);
    assert.equal(sl.index(Buffer.from('HoWdY')), 1);
    assert.equal(sl.index(null), 4);
    assert.equal(sl.index(true), 5); // True == 1 in Python too; the first True is at 5
    assert.throws(() => sl.index('100'), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => sl.index('HoWdY'), { code: 'ERR_INVALID_ARG_VALUE' }); // str != bytes
    assert.equal(sl.count(42), 1);
    assert.equal(sl.count('nope'), 0);
    sl.set(3, 42);
    assert.equal(sl.count(42), 2);
    assert.equal(sl.count(42.0), 2);
    sl.set(6, 1);
    assert.equal(sl.count(true), 2); // True and 1
  } finally {
    dispose(sl);
  }
});

test('get/set out of range and bad indices throw with codes', () => {
  const sl = makeList(CPYTHON_LIST());
  try {
    for (const i of [7, -8, 100]) {
      assert.throws(() => sl.get(i), { code: 'ERR_OUT_OF_RANGE' });
      assert.throws(() => sl.set(i, 1), { code: 'ERR_OUT_OF_RANGE' });
    }
    assert.throws(() => sl.get(1.5), { code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => sl.get(NaN), { code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => sl.get('0'), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => sl.set(0, undefined), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => sl.set(0, { a: 1 }), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => sl.set(3, 2n ** 63n), { code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => sl.set(3, -(2n ** 63n) - 1n), { code: 'ERR_OUT_OF_RANGE' });
    assert.deepEqual([...sl], ['howdy', bytes('HoWdY'), -273.154, 100, null, true, 42]);
    assert.equal(sl.format, CPYTHON_FORMAT);
  } finally {
    dispose(sl);
  }
});

test('assignment: same type keeps the format; type changes within the slot; overflow leaves neighbours intact', () => {
  const sl = makeList(CPYTHON_LIST());
  try {
    sl.set(3, 42);
    assert.equal(sl.get(3), 42);
    assert.equal(sl.format, CPYTHON_FORMAT);
    sl.set(4, 'some'); // change type at a given position
    assert.equal(sl.get(4), 'some');
    assert.equal(sl.format, '8s8sdq8sxxxxxxx?q');
    assert.throws(() => sl.set(4, 'far too many'), { code: 'ERR_OUT_OF_RANGE' });
    assert.equal(sl.get(4), 'some');
    assert.equal(sl.get(5), true);

    sl.set(0, 'encodés'); // exactly 8 bytes of UTF-8
    assert.equal(sl.get(0), 'encodés');
    assert.deepEqual(sl.get(1), bytes('HoWdY')); // no spillage
    assert.throws(() => sl.set(0, 'encodées'), { code: 'ERR_OUT_OF_RANGE' }); // 9 bytes
    assert.equal(sl.get(0), 'encodés');
    assert.deepEqual(sl.get(1), bytes('HoWdY'));
    assert.throws(() => sl.set(1, Buffer.from('123456789')), { code: 'ERR_OUT_OF_RANGE' });
    assert.deepEqual(sl.get(1), bytes('HoWdY'));
    assert.equal(sl.get(2), -273.154);

    // Scalars fit every slot; a str slot keeps its size when it holds a number and back.
    sl.set(0, 7);
    assert.equal(sl.get(0), 7);
    assert.equal(sl.format, 'q8sdq8sxxxxxxx?q');
    sl.set(0, 'abcdefgh');
    assert.equal(sl.get(0), 'abcdefgh');
    assert.equal(sl.format, '8s8sdq8sxxxxxxx?q');
    sl.set(2, 'ab'); // a str of up to 8 bytes fits an 8-byte numeric slot
    assert.equal(sl.get(2), 'ab');
    sl.set(2, 2.5);
    sl.set(6, null);
    sl.set(5, false);
    assert.deepEqual([...sl], ['abcdefgh', bytes('HoWdY'), 2.5, 42, 'some', false, null]);
    assert.equal(sl.format, '8s8sdq8sxxxxxxx?xxxxxx?x');
  } finally {
    dispose(sl);
  }
});

test('numbers: int64 as q, others as d; bigints; -0, NaN and infinities round-trip', () => {
  const values = [0, -1, 2 ** 53 + 2, -(2 ** 63), 2 ** 63, 0.5, -0, NaN, Infinity, -Infinity, 2n ** 63n - 1n, -5n];
  const sl = makeList(values);
  try {
    assert.equal(sl.format, 'qqqqddddddqq');
    assert.equal(sl.get(2), 2n ** 53n + 2n); // not a safe integer: a bigint
    assert.equal(sl.get(3), -(2n ** 63n));
    assert.equal(sl.get(4), 2 ** 63);
    assert.ok(Object.is(sl.get(6), -0));
    assert.ok(Number.isNaN(sl.get(7)));
    assert.equal(sl.get(8), Infinity);
    assert.equal(sl.get(9), -Infinity);
    assert.equal(sl.get(10), 2n ** 63n - 1n);
    assert.equal(sl.get(11), -5); // a safe integer reads as a number
    assert.match(sl.toString(), /^ShareableList\(\[0, -1, 9007199254740994, -9223372036854775808, 9\.223372036854776e\+18, 0\.5, -0\.0, nan, inf, -inf, 9223372036854775807, -5\]/);
  } finally {
    dispose(sl);
  }
});

test('str slots are sized by UTF-8 bytes, not characters', () => {
  const long = 'é'.repeat(10) + '日本語'; // 13 characters, 29 bytes
  const sl = makeList(['ééé', long, '']);
  try {
    assert.equal(sl.format, '8s32s8s');
    assert.equal(sl.get(0), 'ééé');
    assert.equal(sl.get(1), long);
    assert.equal(sl.get(2), '');
    sl.set(0, 'éééé'); // 8 bytes
    assert.equal(sl.get(0), 'éééé');
    assert.throws(() => sl.set(0, 'ééééa'), { code: 'ERR_OUT_OF_RANGE' });
    assert.equal(sl.get(1), long);
  } finally {
    dispose(sl);
  }
});

test('trailing NULs of bytes and str are kept in a list made here', () => {
  const sl = makeList([Buffer.from('ab\0\0'), Buffer.alloc(3), 'x\0', Buffer.alloc(0), 'end']);
  try {
    assert.deepEqual(sl.get(0), bytes('ab\0\0'));
    assert.deepEqual(sl.get(1), new Uint8Array(3));
    assert.equal(sl.get(2), 'x\0');
    assert.deepEqual(sl.get(3), new Uint8Array(0));
    sl.set(0, Buffer.from('\0'));
    assert.deepEqual(sl.get(0), new Uint8Array(1));
    sl.set(0, 5);
    sl.set(0, Buffer.from('a\0'));
    assert.deepEqual(sl.get(0), bytes('a\0'));
    // Another process attaching reads the same exact lengths.
    const other = new ShareableList(null, { name: sl.shm.name });
    try {
      assert.deepEqual(other.get(0), bytes('a\0'));
      assert.equal(other.get(2), 'x\0');
      assert.equal(other.toString(), sl.toString());
    } finally {
      other.close();
    }
  } finally {
    dispose(sl);
  }
});

test('an empty list: 16 bytes, format "", length 0, every index out of range', () => {
  const sl = new ShareableList([]);
  helpers.remember(sl.shm.name);
  try {
    assert.match(sl.shm.name, new RegExp(`^${helpers.GENERATED}[0-9a-f]{8}$`));
    assert.equal(sl.shm.size, helpers.segSize(16), 'the 16 bytes CPython makes (Windows: a whole page, as CPython reports there)');
    assert.equal(sl.length, 0);
    assert.equal(sl.format, '');
    assert.deepEqual([...sl], []);
    assert.equal(sl.count(1), 0);
    assert.throws(() => sl.index(1), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => sl.get(0), { code: 'ERR_OUT_OF_RANGE' });
    assert.throws(() => sl.get(-1), { code: 'ERR_OUT_OF_RANGE' });
    assert.equal(sl.toString(), `ShareableList([], name='${sl.shm.name}')`);
    const attached = new ShareableList(null, { name: sl.shm.name });
    assert.equal(attached.length, 0);
    attached.close();
  } finally {
    dispose(sl);
  }
  const implicit = new ShareableList();
  helpers.remember(implicit.shm.name);
  assert.equal(implicit.length, 0);
  dispose(implicit);
});

test('attach by name sees writes both ways; close, dispose and unlink', () => {
  const a = makeList([1, 'two', null]);
  const b = new ShareableList(null, { name: a.shm.name });
  try {
    assert.equal(b.length, 3);
    assert.equal(b.format, a.format);
    b.set(1, 'deux');
    assert.equal(a.get(1), 'deux');
    a.set(-1, true);
    assert.equal(b.get(2), true);
    const c = new ShareableList(null, { name: a.shm.name });
    assert.equal(c.get(0), 1);
    c[Symbol.dispose]();
    assert.equal(c.shm.closed, true);
    c.close(); // idempotent
    b.close();
    assert.throws(() => b.get(0), { code: 'ERR_SHM_CLOSED' });
    assert.equal(a.get(0), 1);
  } finally {
    dispose(a);
  }
  assert.equal(helpers.exists(a.shm.name), false);
  assert.throws(() => new ShareableList(null, { name: a.shm.name }), { code: 'ENOENT' });
});

test('bad input is rejected before anything is created', () => {
  const name = helpers.uniqueName('bad');
  assert.throws(() => new ShareableList([1, undefined], { name }), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => new ShareableList([{}], { name }), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => new ShareableList([Symbol('x')], { name }), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => new ShareableList([2n ** 64n], { name }), { code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => new ShareableList('abc', { name }), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => new ShareableList(42, { name }), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => new ShareableList([1], 'name'), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => new ShareableList([Buffer.alloc(9_999_992)], { name }), { code: 'ERR_OUT_OF_RANGE' });
  assert.equal(helpers.exists(name), false);
  assert.throws(() => new ShareableList(null, { name }), { code: 'ENOENT' });
  // A name already in use.
  const sl = makeList([1]);
  try {
    assert.throws(() => new ShareableList([2], { name: sl.shm.name }), { code: 'EEXIST' });
    assert.equal(sl.get(0), 1);
  } finally {
    dispose(sl);
  }
});

test('attaching to a segment that is not a ShareableList is ERR_SHM_LIST_FORMAT and closes it', () => {
  const shm = SharedMemory.create(64, { name: helpers.uniqueName('notlist') });
  try {
    shm.buf.fill(0xff); // item count -1
    assert.throws(() => new ShareableList(null, { name: shm.name }), { code: 'ERR_SHM_LIST_FORMAT' });
    shm.buf.fill(0);
    shm.buf[0] = 0xe8; // 1000 items cannot fit 64 bytes (nor the page a Windows segment of 64 bytes is)
    shm.buf[1] = 0x03;
    assert.throws(() => new ShareableList(null, { name: shm.name }), { code: 'ERR_SHM_LIST_FORMAT' });
    if (!helpers.WINDOWS) {
      // Windows has no 8-byte segment: sizes are whole pages there
      const tiny = SharedMemory.create(8, { name: helpers.uniqueName('tiny') });
      assert.throws(() => new ShareableList(null, { name: tiny.name }), { code: 'ERR_SHM_LIST_FORMAT' });
      tiny.close();
      tiny.unlink();
    }
  } finally {
    shm.close();
    shm.unlink();
  }
});

// ---------------------------------------------------------------- interop



const { versionOf, findPython313 } = require('./helpers');
const python3Version = versionOf('python3');
const python313 = findPython313();
const INTERPRETERS = [
  { label: `python3 (${python3Version ?? 'missing'})`, command: 'python3', skip: python3Version ? false : 'python3 is not installed' },
  { label: 'CPython 3.13+ from pyenv', command: python313, skip: python313 ? false : 'no CPython 3.13+ under pyenv (optional)' },
];

/** A JS value as the peer's tagged JSON. */
function tag(value) {
  if (value === null) return { t: 'none' };
  if (typeof value === 'boolean') return { t: 'bool', v: value };
  if (typeof value === 'bigint') return { t: 'int', v: String(value) };
  if (typeof value === 'number') {
    if (Number.isInteger(value) && !Object.is(value, -0) && Math.abs(value) < 2 ** 63) {
      return { t: 'int', v: BigInt(value).toString() };
    }
    const b = Buffer.alloc(8);
    b.writeDoubleLE(value);
    return { t: 'float', v: b.toString('hex') };
  }
  if (typeof value === 'string') return { t: 'str', v: value };
  return { t: 'bytes', v: Buffer.from(value).toString('hex') };
}

/** The peer's tagged JSON as the JS value get() returns. */
function untag(item) {
  switch (item.t) {
    case 'none':
      return null;
    case 'bool':
      return item.v;
    case 'int': {
      const big = BigInt(item.v);
      return Number.isSafeInteger(Number(big)) ? Number(big) : big;
    }
    case 'float':
      return Buffer.from(item.v, 'hex').readDoubleLE(0);
    case 'str':
      return item.v;
    case 'bytes':
      return new Uint8Array(Buffer.from(item.v, 'hex'));
    default:
      throw new Error(`unknown tag ${item.t}`);
  }
}

async function peer(py, command) {
  const result = await helpers.run(py.command, [PEER, JSON.stringify(command)], { timeout: TIMEOUT_MS });
  assert.equal(result.signal, null, result.stderr);
  assert.equal(result.code, 0, `python exited with ${result.code}\n${result.stderr}`);
  assert.equal(result.stderr, '', 'python wrote to stderr');
  return JSON.parse(result.stdout.trim().split('\n').pop());
}

const LONG_UTF8 = 'ünïcödé '.repeat(20) + '日本語テキスト'; // 167 characters, 327 bytes
const EVERY_TYPE = () => [
  0,
  -42,
  2n ** 62n,
  -(2n ** 63n),
  2n ** 63n - 1n,
  3.25,
  -1e300,
  NaN,
  -Infinity,
  true,
  false,
  null,
  'ascii',
  '',
  LONG_UTF8,
  Buffer.from([1, 2, 3, 255]),
  Buffer.alloc(0),
];

for (const py of INTERPRETERS) {
  test(`ShareableList interop with ${py.label}`, { timeout: 120_000 }, async (t) => {
    if (py.skip) {
      t.skip(py.skip);
      return;
    }

    await t.test('Node creates every item type; Python reads each item, format and repr; writes back', async () => {
      const sl = makeList(EVERY_TYPE(), 'py-reads');
      try {
        const format = sl.format;
        const repr = sl.toString();
        const out = await peer(py, {
          op: 'read',
          name: sl.shm.name,
          sets: [
            [0, tag('zéro')], // str into an int slot (5 bytes fit 8)
            [12, tag(12345)], // int into a str slot
            [14, tag('short now')],
            [15, tag(Buffer.from('py'))],
            [9, tag(null)],
            [5, tag(7.5)],
          ],
        });
        assert.equal(out.length, sl.length);
        assert.equal(out.format, format);
        assert.equal(out.repr, repr);
        const expected = EVERY_TYPE().map((v) => (v instanceof Uint8Array ? new Uint8Array(v) : v));
        assert.deepEqual(out.items.map(untag), expected);
        assert.ok(helpers.exists(sl.shm.name), "python's exit must not unlink Node's list");

        const after = [...sl];
        assert.equal(after[0], 'zéro');
        assert.equal(after[12], 12345);
        assert.equal(after[14], 'short now');
        assert.deepEqual(after[15], bytes('py'));
        assert.equal(after[9], null);
        assert.equal(after[5], 7.5);
        assert.equal(after[13], '');
        assert.equal(after[16].length, 0);
        assert.equal(sl.format.slice(0, 7), '8sqqqqd'); // Python wrote '8s' into item 0's format
      } finally {
        dispose(sl);
      }
    });

    await t.test('bytes with trailing NULs: Node keeps them, Python strips them; Python writes override', async () => {
      const sl = makeList([Buffer.from('ab\0\0'), Buffer.alloc(8), 'nul\0', Buffer.from('keep\0')], 'nuls');
      try {
        const out = await peer(py, { op: 'read', name: sl.shm.name, sets: [[3, tag(Buffer.from('k'))]] });
        // CPython's reader strips trailing NULs (gh-96779): documented difference.
        assert.deepEqual(out.items.map(untag), [bytes('ab'), new Uint8Array(0), 'nul', bytes('keep')]);
        assert.deepEqual(sl.get(0), bytes('ab\0\0'));
        assert.deepEqual(sl.get(1), new Uint8Array(8));
        assert.equal(sl.get(2), 'nul\0');
        assert.deepEqual(sl.get(3), bytes('k')); // Python's shorter value, not 'k' + NULs
      } finally {
        dispose(sl);
      }
    });

    await t.test('Node creates an empty list; Python reads it', async () => {
      const sl = makeList([], 'py-empty');
      try {
        const out = await peer(py, { op: 'read', name: sl.shm.name });
        assert.deepEqual(out, { length: 0, format: '', repr: sl.toString(), items: [] });
      } finally {
        dispose(sl);
      }
    });

    await t.test('Python creates every item type; Node attaches, reads, writes', async () => {
      const items = EVERY_TYPE().map((v, i) => (i === 14 ? 'ünï' : v)); // Python sizes str by characters
      const out = await peer(py, { op: 'create', name: null, items: items.map(tag) });
      helpers.remember(out.name);
      assert.match(out.name, PSM_NAME);
      const sl = new ShareableList(null, { name: out.name });
      try {
        assert.equal(sl.shm.size, out.size);
        assert.equal(sl.format, out.format);
        assert.equal(sl.toString(), out.repr);
        const expected = items.map((v) => (v instanceof Uint8Array ? new Uint8Array(v) : v));
        assert.deepEqual([...sl], expected);
        assert.equal(sl.index(null), 11);

        sl.set(12, Buffer.from('by\0')); // a list made by Python has no exact lengths: NULs stripped
        assert.deepEqual(sl.get(12), bytes('by'));
        sl.set(0, 'é');
        sl.set(14, 99n);
        assert.throws(() => sl.set(13, 'x'.repeat(9)), { code: 'ERR_OUT_OF_RANGE' });
        const back = await peer(py, { op: 'read', name: out.name });
        assert.equal(back.format, sl.format);
        assert.equal(back.repr, sl.toString());
        assert.deepEqual(back.items.map(untag), [...sl]);
      } finally {
        dispose(sl);
      }
    });

    await t.test('Python creates a list with a given name, long UTF-8 and an empty list', async () => {
      const name = helpers.uniqueName('py-made');
      const out = await peer(py, { op: 'create', name, items: [tag('ascii only, long enough to need 48 bytes......')] });
      assert.equal(out.name, name);
      const sl = new ShareableList(null, { name });
      try {
        assert.equal(sl.format, '48s');
        sl.set(0, LONG_UTF8.slice(0, 20)); // 20 characters, 31 bytes: fits 48
        const back = await peer(py, { op: 'read', name });
        assert.deepEqual(back.items.map(untag), [LONG_UTF8.slice(0, 20)]);
      } finally {
        dispose(sl);
      }
      const empty = await peer(py, { op: 'create', name: null, items: [] });
      helpers.remember(empty.name);
      const el = new ShareableList(null, { name: empty.name });
      try {
        assert.equal(el.length, 0);
        assert.equal(el.shm.size, 16);
        assert.equal(el.toString(), empty.repr);
      } finally {
        dispose(el);
      }
    });
  });
}
