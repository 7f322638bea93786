'use strict';
// FrameRing (lib/frame-ring.ts, docs/frame-ring-layout.md): the API in one
// process; a cross-process stress run (a writer child, two reader children)
// that must never accept a torn frame and whose drop counts must add up; a
// reader process asleep in frames() woken by another process's publish; a
// writer SIGKILLed in the middle of a frame; and a Python reader written from
// the layout document alone (test/fixtures/read_frame_ring.py).
//
// Synchronisation, never timing: processes hand off through words of a
// writable control segment, and "asleep" means a thread seen blocked in a
// shared FUTEX_WAIT on the ring's publishWord in /proc/<pid>/task. Waits have
// a safety deadline; nothing asserts how long anything took. The one
// measurement asserted is the share of CPU a reader used while it slept for
// at least a second, with a margin a spinning reader could not meet.
const { test, describe, before } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const util = require('node:util');
const { spawnSync } = require('node:child_process');
const { setTimeout: sleep } = require('node:timers/promises');
const helpers = require('./helpers');
const { SharedMemory, FrameRing, PIXEL_FORMATS, pageSize } = require('@shmkit/shm');

helpers.checkNoLeaks();

const DEADLINE_MS = 15_000;
const FIXTURE = path.join(__dirname, 'fixtures', 'read_frame_ring.py');
const PYTHON = spawnSync('python3', ['--version'], { encoding: 'utf8' }).status === 0;

// `node -e` resolves '@shmkit/shm' from its working directory; NODE_PATH makes
// the workspace's copy resolvable wherever the tests are started from.
const NODE_PATH = path.resolve(helpers.PACKAGE, '..', '..', 'node_modules');

// Byte offsets from docs/frame-ring-layout.md, for checks of the raw layout.
const H = { magic: 0, version: 4, headerBytes: 6, slotCount: 8, slotHeaderBytes: 12, slotBytes: 16, slotStride: 24 };
Object.assign(H, { payloadOffset: 32, publishWord: 40, writerPid: 44, writerState: 48, latestSlot: 52, publishCount: 56 });
const SLOT_TABLE = 128;
const SLOT_HEADER = 64;
const MAGIC = 0x474e5246;

// Int32 indexes of the words of the control segment the processes share.
const CTL = { CREATED: 0, READERS: 1, STAGE: 2, PID: 3, READER0: 8, READER1: 9 };

// futex(2) as /proc/<pid>/task/<tid>/syscall names it.
const { FUTEX_SYSCALL, NO_PROBE, sleepersOn } = helpers;

// ---------------------------------------------------------------------------
// Frame content derived from the frame number, shared with the children (by
// toString(): they use no closure). Word j of frame k is base(k) + j, and
// base(k) differs for every k < 2^32, so a word left over from any other frame
// (or not yet written) fails the check.

/** The first `count` 32-bit words of a payload (payloads start page-aligned). */
function words(data, count) {
  return new Uint32Array(data.buffer, data.byteOffset, count);
}

function frameBase(k) {
  return Math.imul(k + 1, 0x9e3779b1) >>> 0;
}

function fillFrame(u32, k, words) {
  const base = frameBase(k);
  for (let j = 0; j < words; j++) u32[j] = base + j;
}

/** -1 when words [0, words) of `u32` are frame k's, else the first wrong word. */
function checkFrame(u32, k, words) {
  const base = frameBase(k);
  for (let j = 0; j < words; j++) if (u32[j] !== ((base + j) >>> 0)) return j;
  return -1;
}

/** The stress writer's metadata for frame k: every field varies with k. */
function stressMeta(k, slotBytes) {
  return {
    byteLength: slotBytes - 4 * (k % 3),
    width: 1 + (k % 640),
    height: 1 + (k % 480),
    stride: 4 * (1 + (k % 640)),
    pixelFormat: k % 4 === 0 ? 'bgra8' : 256 + (k % 1000),
    timestamp: k * 1.5,
  };
}

// ---------------------------------------------------------------------------
// Child processes.

// Shared by every child script. `V` holds the variables the test passes in.
const PRELUDE = `
'use strict';
const fs = require('node:fs');
const { SharedMemory, FrameRing } = require('@shmkit/shm');
const V = JSON.parse(process.env.SHMKIT_TEST_VARS);
const C = ${JSON.stringify(CTL)};
const DEADLINE_MS = ${DEADLINE_MS};
const FUTEX_SYSCALL = ${JSON.stringify(FUTEX_SYSCALL)};
function report(value) { process.stdout.write(JSON.stringify(value) + '\\n'); }
function fail(why) { console.error('child: ' + why); process.exit(3); }
const sleeper = new Int32Array(new SharedArrayBuffer(4));
function waitFor(view, index, value) {
  const end = Date.now() + DEADLINE_MS;
  while (Atomics.load(view, index) !== value) {
    if (Date.now() > end) fail('timed out waiting for control word ' + index);
    Atomics.wait(sleeper, 0, 0, 1);
  }
}
async function untilAsleep(name, byteOffset) {
  const end = Date.now() + DEADLINE_MS;
  while (sleepersOn(process.pid, name, byteOffset).length === 0) {
    if (Date.now() > end) fail('never seen asleep on byte ' + byteOffset + ' of ' + name);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
${words}
${frameBase}
${fillFrame}
${checkFrame}
${stressMeta}
${sleepersOn}
`;

/** Runs a child script with PRELUDE; resolves with { code, signal, stdout, stderr, out }. */
async function child(body, vars = {}) {
  const result = await helpers.runNode(PRELUDE + body, {
    env: { NODE_PATH, SHMKIT_TEST_VARS: JSON.stringify(vars) },
    timeout: 120_000,
  });
  const lines = result.stdout.trim().split('\n').filter(Boolean);
  result.out = lines.length ? JSON.parse(lines[lines.length - 1]) : undefined;
  return result;
}

function assertExitedCleanly(result, who = 'child') {
  assert.equal(result.signal, null, `${who} was killed by ${result.signal}\n${result.stderr}`);
  assert.equal(result.code, 0, `${who} exited with ${result.code}\n${result.stderr}`);
}

/** Starts a child and tracks whether it has ended, for waitFor(). */
function startChild(body, vars) {
  const handle = { done: false };
  handle.promise = child(body, vars).finally(() => {
    handle.done = true;
  });
  return handle;
}

/** Waits until view[index] === value; fails early if one of `handles`' children ended. */
async function waitFor(view, index, value, handles, what) {
  const end = Date.now() + DEADLINE_MS;
  const list = [handles].flat().filter(Boolean);
  while (Atomics.load(view, index) !== value) {
    for (const handle of list) {
      if (handle.done) {
        const r = await handle.promise;
        assert.fail(`a child ended (code ${r.code}, signal ${r.signal}) before ${what}\n${r.stderr}`);
      }
    }
    if (Date.now() > end) assert.fail(`gave up waiting for ${what}`);
    await sleep(2);
  }
}

// ---------------------------------------------------------------------------
// This process.

function threadCount() {
  return fs.readdirSync('/proc/self/task').length;
}

/** Resolves once this process has no more threads than `baseline`. */
async function threadsBackTo(baseline) {
  const end = Date.now() + DEADLINE_MS;
  let count = threadCount();
  while (count > baseline) {
    if (Date.now() > end) assert.fail(`${count} threads, ${baseline} before the wait`);
    await sleep(5);
    count = threadCount();
  }
  return count;
}

/** Resolves once none of the threads `tids` of this process exists any more. */
async function threadsGone(tids) {
  const end = Date.now() + DEADLINE_MS;
  for (;;) {
    const alive = tids.filter((tid) => fs.existsSync(`/proc/self/task/${tid}`));
    if (alive.length === 0) return;
    if (Date.now() > end) assert.fail(`threads ${alive.join(', ')} still exist`);
    await sleep(5);
  }
}

/** Resolves once a thread of this process is asleep on `byteOffset` of `name`. */
async function untilAsleep(name, byteOffset) {
  const end = Date.now() + DEADLINE_MS;
  while (sleepersOn(process.pid, name, byteOffset).length === 0) {
    if (Date.now() > end) assert.fail(`nobody was seen asleep on byte ${byteOffset} of ${name}`);
    await sleep(2);
  }
}

/** What this process holds of segment `name`: mappings and open descriptors. */
function holdings(name) {
  const file = `/dev/shm/${name}`;
  const maps = fs
    .readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .filter((line) => line.endsWith(` ${file}`) || line.endsWith(` ${file} (deleted)`)).length;
  let fds = 0;
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      if (fs.readlinkSync(`/proc/self/fd/${fd}`).replace(/ \(deleted\)$/, '') === file) fds++;
    } catch {
      // closed meanwhile (the readdir's own descriptor)
    }
  }
  return { maps, fds };
}

/** A fresh ring of `slots` × `slotBytes` with a test name; `fn(writer)` runs, then everything is removed. */
async function withRing(options, fn) {
  const name = helpers.uniqueName(options.tag ?? 'ring');
  const writer = FrameRing.create({ slots: options.slots ?? 3, slotBytes: options.slotBytes ?? 4096, name });
  const readers = [];
  const attach = (attachOptions) => {
    const reader = FrameRing.attach(name, attachOptions);
    readers.push(reader);
    return reader;
  };
  try {
    await fn(writer, attach, name);
    readers.forEach((r) => r.close());
    writer.close();
    writer.unlink();
    assert.equal(helpers.exists(name), false);
  } finally {
    readers.forEach((r) => r.close());
    writer.close();
    helpers.cleanup(name);
  }
}

function bytes(text) {
  return Buffer.from(text);
}

/** The error an async call is refused with, or a failure if it is not. */
async function rejection(promise) {
  let value;
  try {
    value = await promise;
  } catch (error) {
    return error;
  }
  return assert.fail(`not refused: ${JSON.stringify(value)}`);
}

before(async () => {
  // Start libuv's thread pool now, so it cannot appear in the middle of a
  // thread count.
  await fs.promises.stat(__filename);
});

// ---------------------------------------------------------------------------
describe('in one process', () => {
  test('create and attach: names, geometry, roles and the header as the layout document has it', async () => {
    await withRing({ slots: 4, slotBytes: 1000 }, async (writer, attach, name) => {
      assert.equal(writer.name, name);
      assert.equal(writer.isWriter, true);
      assert.equal(writer.slotCount, 4);
      assert.equal(writer.slotBytes, 1000);
      assert.equal(writer.publishCount, 0);
      assert.equal(writer.writerPid, process.pid);
      assert.equal(writer.writerAlive, true);
      assert.equal(writer.writerClosed, false);
      // payloadOffset = roundUp(128 + 64·4, 4096), slotStride = roundUp(1000, 4096)
      assert.equal(writer.shm.size, 4096 + 4 * 4096);
      if (!helpers.WINDOWS) assert.equal(fs.statSync(path.join('/dev/shm', name)).size, 4096 + 4 * 4096);

      const reader = attach();
      assert.equal(reader.name, name);
      assert.equal(reader.isWriter, false);
      assert.equal(reader.shm.readonly, true, 'readers attach readonly by default');
      assert.equal(reader.slotCount, 4);
      assert.equal(reader.slotBytes, 1000);
      assert.equal(reader.writerPid, process.pid);
      assert.equal(reader.writerAlive, true);
      assert.equal(reader.writerClosed, false);
      assert.deepEqual(reader.stats, { received: 0, dropped: 0, rejected: 0 });
      assert.equal(attach({ readonly: false }).shm.readonly, false);

      const h = reader.shm.view(DataView, 0, SLOT_TABLE + 4 * SLOT_HEADER);
      assert.equal(h.getUint32(H.magic, true), MAGIC);
      assert.equal(Buffer.from(reader.shm.buf.subarray(0, 4)).toString('latin1'), 'FRNG');
      assert.equal(h.getUint16(H.version, true), 1);
      assert.equal(h.getUint16(H.headerBytes, true), 128);
      assert.equal(h.getUint32(H.slotCount, true), 4);
      assert.equal(h.getUint32(H.slotHeaderBytes, true), 64);
      assert.equal(h.getBigUint64(H.slotBytes, true), 1000n);
      assert.equal(h.getBigUint64(H.slotStride, true), 4096n);
      assert.equal(h.getBigUint64(H.payloadOffset, true), 4096n);
      assert.equal(h.getUint32(H.writerPid, true), process.pid);
      assert.equal(h.getUint32(H.writerState, true), 1);
      assert.equal(h.getBigUint64(H.publishCount, true), 0n);

      // A frame lands where the document says: slot 0's payload at payloadOffset.
      assert.equal(writer.write(bytes('first frame')), 0);
      assert.equal(reader.publishCount, 1);
      assert.equal(Buffer.from(reader.shm.buf.subarray(4096, 4096 + 11)).toString(), 'first frame');
      assert.equal(h.getUint32(SLOT_TABLE, true), 2, 'slot 0 seq: +1 at acquire, +1 at publish');
      assert.equal(h.getInt32(H.publishWord, true), 1);

      writer.close();
      assert.equal(reader.writerClosed, true);
      assert.equal(reader.writerAlive, false);
      assert.equal(h.getUint32(H.writerState, true), 2);
      reader.close();
      assert.equal(reader.writerAlive, false);
    });
  });

  test('a ring created without a name gets a generated psm_ name (Windows: wnsm_)', () => {
    const writer = FrameRing.create({ slots: 2, slotBytes: 1 });
    const name = helpers.remember(writer.name);
    try {
      assert.match(name, new RegExp(`^${helpers.GENERATED}[0-9a-f]{8}$`));
      const reader = FrameRing.attach(name);
      assert.equal(reader.slotBytes, 1);
      reader.close();
      writer.close();
      writer.unlink();
      assert.equal(helpers.exists(name), false);
    } finally {
      writer.close();
      helpers.cleanup(name);
    }
  });

  test('latest() is null before the first publish, and while the first frame is still being written', async () => {
    await withRing({}, async (writer, attach) => {
      const reader = attach();
      assert.equal(reader.latest(), null);
      assert.equal(writer.latest(), null);
      const slot = writer.acquire();
      slot.data.set(bytes('not yet'));
      assert.equal(reader.latest(), null);
      writer.publish(slot, { byteLength: 7 });
      const frame = reader.latest();
      assert.equal(frame.frameNumber, 0);
      assert.equal(Buffer.from(frame.data).toString(), 'not yet');
      assert.deepEqual(reader.stats, { received: 1, dropped: 0, rejected: 0 });
      // The same frame again is not received twice.
      assert.equal(reader.latest().frameNumber, 0);
      assert.deepEqual(reader.stats, { received: 1, dropped: 0, rejected: 0 });
    });
  });

  test('metadata round-trips: every pixel format name, application codes, stride defaults, timestamp, byteLength', async () => {
    const BPP = { rgba8: 4, bgra8: 4, rgb8: 3, gray8: 1, yuv420p: 1, nv12: 1 };
    await withRing({ slots: 2, slotBytes: 5000 }, async (writer, attach) => {
      const reader = attach();
      let expected = 0;
      const roundTrip = (payload, meta) => {
        assert.equal(writer.write(payload, meta), expected++);
        const frame = reader.latest();
        assert.equal(frame.frameNumber, expected - 1);
        assert.deepEqual(Buffer.from(frame.data), Buffer.from(payload));
        assert.equal(frame.valid(), true);
        return frame;
      };

      assert.deepEqual(PIXEL_FORMATS, { raw: 0, rgba8: 1, bgra8: 2, rgb8: 3, gray8: 4, yuv420p: 5, nv12: 6 });
      for (const [format, bpp] of Object.entries(BPP)) {
        const frame = roundTrip(bytes(`a ${format} frame`), { width: 7, height: 3, pixelFormat: format, timestamp: 1234.5 });
        assert.equal(frame.pixelFormat, format);
        assert.equal(frame.width, 7);
        assert.equal(frame.height, 3);
        assert.equal(frame.stride, 7 * bpp, `default stride of ${format}`);
        assert.equal(frame.timestamp, 1234.5);
        assert.equal(frame.byteLength, `a ${format} frame`.length);
        assert.equal(frame.dropped, 0);
        // The numeric code reads back as the name.
        assert.equal(roundTrip(bytes('x'), { width: 2, pixelFormat: PIXEL_FORMATS[format] }).pixelFormat, format);
      }
      // raw is the default format; an explicit stride wins over the default.
      assert.equal(roundTrip(bytes('raw bytes'), {}).pixelFormat, 'raw');
      assert.equal(roundTrip(bytes('rgba'), { width: 10, pixelFormat: 'rgba8', stride: 64 }).stride, 64);

      // Application codes (256 and up) come back as numbers, with every field intact.
      for (const code of [256, 4242, 0xffffffff]) {
        const frame = roundTrip(bytes(`code ${code}`), {
          width: 0xffffffff,
          height: 65536,
          stride: 123457,
          pixelFormat: code,
          timestamp: -0.25,
        });
        assert.equal(frame.pixelFormat, code);
        assert.equal(frame.width, 0xffffffff);
        assert.equal(frame.height, 65536);
        assert.equal(frame.stride, 123457);
        assert.equal(frame.timestamp, -0.25);
      }

      // The default timestamp is the writer's clock at publish.
      const before = performance.timeOrigin + performance.now();
      const stamped = roundTrip(bytes('now'), {});
      const after = performance.timeOrigin + performance.now();
      assert.ok(stamped.timestamp >= before && stamped.timestamp <= after, `${before} <= ${stamped.timestamp} <= ${after}`);

      // byteLength: the bytes written; the whole slot by default; 0 is a frame too.
      const slot = writer.acquire();
      assert.equal(slot.data.length, 5000);
      slot.data.fill(7);
      writer.publish(slot);
      expected++;
      const whole = reader.latest();
      assert.equal(whole.byteLength, 5000);
      assert.equal(whole.data.length, 5000);
      assert.ok(whole.data.every((b) => b === 7));
      writer.publish(writer.acquire(), { byteLength: 0 });
      expected++;
      assert.equal(reader.latest().byteLength, 0);
      assert.equal(reader.latest().data.length, 0);
      writer.write(Buffer.alloc(5000, 9), { byteLength: 3 }); // meta wins over the bytes' length
      expected++;
      assert.deepEqual(Buffer.from(reader.latest().data), Buffer.alloc(3, 9));

      assert.equal(reader.publishCount, expected);
      assert.deepEqual(reader.stats, { received: expected, dropped: 0, rejected: 0 });
    });
  });

  test('bad metadata is refused by code and publish() can be retried with the same slot', async () => {
    await withRing({ slotBytes: 100 }, async (writer, attach) => {
      const reader = attach();
      const slot = writer.acquire();
      slot.data.set(bytes('retried'));
      const refused = [
        [null, 'ERR_INVALID_ARG_TYPE'],
        [{ width: -1 }, 'ERR_OUT_OF_RANGE'],
        [{ width: 1.5 }, 'ERR_OUT_OF_RANGE'],
        [{ height: 2 ** 32 }, 'ERR_OUT_OF_RANGE'],
        [{ stride: '4' }, 'ERR_INVALID_ARG_TYPE'],
        [{ pixelFormat: 'rgba' }, 'ERR_INVALID_ARG_VALUE'],
        [{ pixelFormat: -1 }, 'ERR_OUT_OF_RANGE'],
        [{ timestamp: '1' }, 'ERR_INVALID_ARG_TYPE'],
        [{ byteLength: 101 }, 'ERR_OUT_OF_RANGE'],
      ];
      for (const [meta, code] of refused) {
        assert.throws(() => writer.publish(slot, meta), { code }, JSON.stringify(meta));
      }
      assert.equal(reader.latest(), null, 'nothing was published');
      assert.equal(writer.publish(slot, { byteLength: 7 }), 0);
      assert.equal(Buffer.from(reader.latest().data).toString(), 'retried');
    });
  });

  test('misuse is ERR_SHM_RING_STATE: acquire twice, publish a wrong slot, a reader acquiring or publishing', async () => {
    await withRing({ slots: 3, slotBytes: 64 }, async (writer, attach) => {
      const reader = attach();
      const rw = attach({ readonly: false });
      const slot = writer.acquire();
      assert.equal(slot.index, 0);
      assert.throws(() => writer.acquire(), { code: 'ERR_SHM_RING_STATE' });
      assert.throws(() => writer.write(bytes('x')), { code: 'ERR_SHM_RING_STATE' });
      for (const wrong of [{ index: 1, data: slot.data }, { index: -1 }, null, undefined, 0]) {
        assert.throws(() => writer.publish(wrong), { code: 'ERR_SHM_RING_STATE' }, String(wrong && wrong.index));
      }
      assert.equal(writer.publish(slot, { byteLength: 1 }), 0);
      // The slot was published: publishing it again is not allowed.
      assert.throws(() => writer.publish(slot), { code: 'ERR_SHM_RING_STATE' });

      for (const r of [reader, rw]) {
        assert.throws(() => r.acquire(), { code: 'ERR_SHM_RING_STATE' });
        assert.throws(() => r.publish(slot), { code: 'ERR_SHM_RING_STATE' });
        assert.throws(() => r.write(bytes('x')), { code: 'ERR_SHM_RING_STATE' });
      }
      assert.equal(reader.publishCount, 1, 'the refusals published nothing');
      assert.equal(writer.write(bytes('after')), 1);

      // Closed ends refuse everything.
      reader.close();
      assert.throws(() => reader.latest(), { code: 'ERR_SHM_CLOSED' });
      assert.throws(() => reader.frames(), { code: 'ERR_SHM_CLOSED' });
      writer.close();
      assert.throws(() => writer.acquire(), { code: 'ERR_SHM_CLOSED' });
      assert.throws(() => writer.write(bytes('x')), { code: 'ERR_SHM_CLOSED' });
    });
  });

  test('bad create options are ERR_INVALID_ARG_TYPE / ERR_OUT_OF_RANGE and create nothing', () => {
    const cases = [
      [undefined, 'ERR_INVALID_ARG_TYPE'],
      [null, 'ERR_INVALID_ARG_TYPE'],
      ['slots', 'ERR_INVALID_ARG_TYPE'],
      [{ slotBytes: 4096 }, 'ERR_INVALID_ARG_TYPE'],
      [{ slots: '4', slotBytes: 4096 }, 'ERR_INVALID_ARG_TYPE'],
      [{ slots: 4n, slotBytes: 4096 }, 'ERR_INVALID_ARG_TYPE'],
      [{ slots: 4 }, 'ERR_INVALID_ARG_TYPE'],
      [{ slots: 4, slotBytes: '4096' }, 'ERR_INVALID_ARG_TYPE'],
      [{ slots: 1, slotBytes: 4096 }, 'ERR_OUT_OF_RANGE'],
      [{ slots: 0, slotBytes: 4096 }, 'ERR_OUT_OF_RANGE'],
      [{ slots: -2, slotBytes: 4096 }, 'ERR_OUT_OF_RANGE'],
      [{ slots: 2.5, slotBytes: 4096 }, 'ERR_OUT_OF_RANGE'],
      [{ slots: NaN, slotBytes: 4096 }, 'ERR_OUT_OF_RANGE'],
      [{ slots: Infinity, slotBytes: 4096 }, 'ERR_OUT_OF_RANGE'],
      [{ slots: 2 ** 20 + 1, slotBytes: 1 }, 'ERR_OUT_OF_RANGE'],
      [{ slots: 2, slotBytes: 0 }, 'ERR_OUT_OF_RANGE'],
      [{ slots: 2, slotBytes: -4096 }, 'ERR_OUT_OF_RANGE'],
      [{ slots: 2, slotBytes: 4096.5 }, 'ERR_OUT_OF_RANGE'],
      [{ slots: 2, slotBytes: NaN }, 'ERR_OUT_OF_RANGE'],
      [{ slots: 4, slotBytes: Number.MAX_SAFE_INTEGER }, 'ERR_OUT_OF_RANGE'],
    ];
    for (const [options, code] of cases) {
      const name = helpers.uniqueName('bad-options');
      const withName = options !== null && typeof options === 'object' ? { ...options, name } : options;
      assert.throws(() => FrameRing.create(withName), { code }, util.inspect(options));
      assert.equal(helpers.exists(name), false, 'nothing was created');
    }
  });

  test('write() of more than slotBytes is ERR_OUT_OF_RANGE, publishes nothing and leaves the writer usable', async () => {
    await withRing({ slots: 2, slotBytes: 4096 }, async (writer, attach) => {
      const reader = attach();
      writer.write(bytes('kept'));
      assert.throws(() => writer.write(new Uint8Array(4097)), { code: 'ERR_OUT_OF_RANGE' });
      assert.throws(() => writer.write(new Float64Array(513)), { code: 'ERR_OUT_OF_RANGE' });
      for (const notBytes of ['text', [1, 2, 3], new ArrayBuffer(4), null, undefined]) {
        assert.throws(() => writer.write(notBytes), { code: 'ERR_INVALID_ARG_TYPE' });
      }
      assert.equal(reader.publishCount, 1);
      assert.equal(Buffer.from(reader.latest().data).toString(), 'kept');
      // Exactly slotBytes, and any ArrayBufferView, are fine.
      assert.equal(writer.write(Buffer.alloc(4096, 0xab)), 1);
      assert.equal(reader.latest().byteLength, 4096);
      const floats = new Float64Array([1.5, -2]);
      assert.equal(writer.write(new DataView(floats.buffer, 8, 8)), 2);
      assert.deepEqual(new Float64Array(reader.latest().data.slice().buffer), new Float64Array([-2]));
    });
  });

  test('attaching to something that is not a ring is ERR_SHM_RING_FORMAT and leaves nothing mapped or open', async () => {
    const name = helpers.uniqueName('not-a-ring');
    const plain = SharedMemory.create(3 * pageSize, { name });
    try {
      plain.buf.fill(0x5a, 1000);
      const before = holdings(name);
      for (const options of [undefined, { readonly: true }, { readonly: false }]) {
        assert.throws(() => FrameRing.attach(name, options), { code: 'ERR_SHM_RING_FORMAT' });
        assert.deepEqual(holdings(name), before, `after attach(${JSON.stringify(options)})`);
      }
      assert.ok(plain.buf.subarray(0, 1000).every((b) => b === 0));
      assert.ok(plain.buf.subarray(1000).every((b) => b === 0x5a));
      // a missing ring: the hint is the writer's FrameRing.create(), not SharedMemory's { create: true, size }
      assert.throws(() => FrameRing.attach(helpers.uniqueName('no-such-ring')), (error) => {
        assert.equal(error.code, 'ENOENT');
        assert.match(error.message, /No frame ring is named .*FrameRing\.create\(\{ slots, slotBytes \}\)/);
        assert.doesNotMatch(error.message, /create: true, size/);
        return true;
      });
      assert.throws(() => FrameRing.attach(name, null), { code: 'ERR_INVALID_ARG_TYPE' });
      plain.close();
      plain.unlink();
    } finally {
      plain.close();
      helpers.cleanup(name);
    }
  });

  test('a ring whose header is damaged (version, geometry) is ERR_SHM_RING_FORMAT', async () => {
    await withRing({ slots: 3, slotBytes: 100 }, async (writer, attach, name) => {
      const raw = SharedMemory.attach(name);
      try {
        const h = raw.view(DataView, 0, 128);
        const damage = [
          [() => h.setUint16(H.version, 2, true), () => h.setUint16(H.version, 1, true)],
          [() => h.setUint32(H.magic, 0, true), () => h.setUint32(H.magic, MAGIC, true)],
          [() => h.setUint32(H.slotCount, 1, true), () => h.setUint32(H.slotCount, 3, true)],
          [() => h.setUint32(H.slotCount, 100, true), () => h.setUint32(H.slotCount, 3, true)],
          [() => h.setUint16(H.headerBytes, 256, true), () => h.setUint16(H.headerBytes, 128, true)],
          [() => h.setBigUint64(H.slotStride, 99n, true), () => h.setBigUint64(H.slotStride, 4096n, true)],
        ];
        const before = holdings(name);
        for (const [breakIt, repair] of damage) {
          breakIt();
          assert.throws(() => FrameRing.attach(name), { code: 'ERR_SHM_RING_FORMAT' }, breakIt.toString());
          assert.deepEqual(holdings(name), before);
          repair();
          attach().close(); // repaired
        }
      } finally {
        raw.close();
      }
    });
  });

  test("a frame's view turns invalid once the writer wraps around and rewrites its slot", async () => {
    await withRing({ slots: 2, slotBytes: 64 }, async (writer, attach) => {
      const reader = attach();
      writer.write(bytes('frame 0'));
      const frame0 = reader.latest();
      assert.equal(frame0.valid(), true);
      writer.write(bytes('frame 1')); // slot 1: frame 0 is untouched
      assert.equal(frame0.valid(), true);
      assert.equal(Buffer.from(frame0.data).toString(), 'frame 0');
      const slot = writer.acquire(); // slot 0 again: frame 0's
      assert.equal(slot.index, 0);
      assert.equal(frame0.valid(), false, 'the write has started');
      slot.data.set(bytes('frame 2'));
      writer.publish(slot, { byteLength: 7 });
      assert.equal(frame0.valid(), false, 'still invalid once published');
      // The view is zero-copy: it shows the new bytes, which is why valid() matters.
      assert.equal(Buffer.from(frame0.data).toString(), 'frame 2');
      assert.equal(reader.stats.rejected, 2, 'each valid() that said false');
      const frame2 = reader.latest();
      assert.equal(frame2.frameNumber, 2);
      assert.equal(frame2.dropped, 1, 'frame 1 was skipped');
      assert.equal(frame2.valid(), true);
      reader.close();
      assert.equal(frame2.valid(), false, 'a closed reader vouches for nothing');
    });
  });

  test('frames() skips to the newest frame and counts drops, honours includeLatest, and ends when the writer closes', async () => {
    await withRing({ slots: 4, slotBytes: 64 }, async (writer, attach) => {
      const reader = attach();
      writer.write(bytes('f0'));
      const it = reader.frames();
      let r = await it.next();
      assert.equal(r.value.frameNumber, 0, 'includeLatest (default) starts with the newest frame');
      assert.equal(r.value.dropped, 0);
      writer.write(bytes('f1'));
      writer.write(bytes('f2'));
      writer.write(bytes('f3'));
      r = await it.next();
      assert.equal(r.value.frameNumber, 3);
      assert.equal(r.value.dropped, 2);
      assert.equal(Buffer.from(r.value.data).toString(), 'f3');
      assert.equal(r.value.valid(), true);

      // Waiting for a frame: a publish wakes the wait.
      const waiting = it.next();
      writer.write(bytes('f4'));
      r = await waiting;
      assert.equal(r.value.frameNumber, 4);
      assert.equal(r.value.dropped, 0);

      // Another reader that starts late and only wants new frames.
      const late = attach();
      const lateIt = late.frames({ includeLatest: false });
      const lateFirst = lateIt.next();
      writer.write(bytes('f5'));
      assert.equal((await lateFirst).value.frameNumber, 5);
      assert.equal(late.stats.received, 1);

      r = await it.next();
      assert.equal(r.value.frameNumber, 5);
      assert.equal(r.value.dropped, 0);

      // A pending wait ends when the writer closes: both iterations are done.
      const pending = it.next();
      writer.write(bytes('f6'));
      assert.equal((await pending).value.frameNumber, 6);
      const ending = it.next();
      const lateSecond = lateIt.next();
      writer.close();
      assert.deepEqual(await ending, { value: undefined, done: true });
      const lateRest = await lateSecond;
      assert.equal(lateRest.value.frameNumber, 6, 'frame 6 was published before the close');
      assert.deepEqual(await lateIt.next(), { value: undefined, done: true });
      assert.deepEqual(await it.next(), { value: undefined, done: true });
      // After the close, a new iteration still hands out the last frame once, then ends.
      const fresh = attach();
      const all = [];
      for await (const frame of fresh.frames()) all.push(frame.frameNumber);
      assert.deepEqual(all, [6]);

      assert.deepEqual(reader.stats, { received: 5, dropped: 2, rejected: 0 });
      assert.deepEqual(late.stats, { received: 2, dropped: 0, rejected: 0 });
      assert.throws(() => fresh.frames({ signal: 'no' }), { code: 'ERR_INVALID_ARG_TYPE' });
    });
  });

  test('frames() with an AbortSignal: aborting ends the iteration and frees the waiting thread', { skip: NO_PROBE }, async () => {
    await withRing({ slots: 2, slotBytes: 64 }, async (writer, attach, name) => {
      writer.write(bytes('old'));
      for (const readonly of [true, false]) {
        const reader = attach({ readonly });
        const baseline = threadCount();
        const controller = new AbortController();
        const it = reader.frames({ signal: controller.signal, includeLatest: false });
        const pending = it.next();
        await untilAsleep(name, H.publishWord);
        const sleepers = sleepersOn(process.pid, name, H.publishWord);
        controller.abort();
        assert.deepEqual(await pending, { value: undefined, done: true });
        assert.deepEqual(await it.next(), { value: undefined, done: true });
        // The very thread that slept has ended, and the count is back.
        await threadsGone(sleepers);
        await threadsBackTo(baseline);
        assert.deepEqual(reader.stats, { received: 0, dropped: 0, rejected: 0 });
      }

      // Already aborted: nothing at all, not even the latest frame.
      const reader = attach();
      const frames = [];
      for await (const frame of reader.frames({ signal: AbortSignal.abort() })) frames.push(frame);
      assert.deepEqual(frames, []);

      // Aborting between frames, from the loop body.
      const controller = new AbortController();
      const seen = [];
      for await (const frame of reader.frames({ signal: controller.signal })) {
        seen.push(frame.frameNumber);
        writer.write(bytes('new'));
        if (seen.length === 2) controller.abort();
      }
      assert.deepEqual(seen, [0, 1]);
    });
  });
});

// ---------------------------------------------------------------------------
// Cross-process stress: a writer child publishes as fast as it can; two reader
// children (one readonly, one read-write) verify every frame they are handed,
// word by word and field by field, then ask valid(). A frame is accepted only
// if valid() is true after the verification; an accepted frame that failed
// the verification is a torn frame, and there must be none.
//
// The accounting, from lib/frame-ring.ts: frames() hands out frames in
// increasing frameNumber order; frame.dropped is how many frame numbers were
// skipped since the previous frame it handed out (0 for the first);
// stats.received counts the frames handed out and stats.dropped sums
// frame.dropped; stats.rejected counts the valid() calls that answered false.
// So for a reader that saw frames first..last:
//   received + dropped == last - first + 1.

const STRESS = [
  { label: '4 KiB frames', slotBytes: 4096, frames: 150_000, slots: 3 },
  { label: '64 KiB frames', slotBytes: 65_536, frames: 40_000, slots: 3 },
  { label: '1 MiB frames', slotBytes: 1 << 20, frames: 4_000, slots: 4 },
];

const STRESS_WRITER = `
const ctlShm = SharedMemory.attach(V.ctlName);
const ctl = ctlShm.view(Int32Array);
const ring = FrameRing.create({ slots: V.slots, slotBytes: V.slotBytes, name: V.name });
Atomics.store(ctl, C.CREATED, 1);
waitFor(ctl, C.READERS, V.readers);         // both readers attached
const views = [];
const started = performance.now();
for (let k = 0; k < V.frames; k++) {
  const slot = ring.acquire();
  const u32 = views[slot.index] || (views[slot.index] = words(slot.data, V.slotBytes / 4));
  const meta = stressMeta(k, V.slotBytes);
  fillFrame(u32, k, meta.byteLength / 4);
  if (ring.publish(slot, meta) !== k) fail('publish() did not return frame number ' + k);
}
const ms = performance.now() - started;
const publishCount = ring.publishCount;
ring.close();
ring.unlink();
ctlShm.close();
report({ published: V.frames, publishCount, ms });
`;

const STRESS_READER = `
(async () => {
  const ctlShm = SharedMemory.attach(V.ctlName);
  const ctl = ctlShm.view(Int32Array);
  waitFor(ctl, C.CREATED, 1);
  const ring = FrameRing.attach(V.name, { readonly: V.readonly });
  Atomics.add(ctl, C.READERS, 1);
  const r = {
    readonly: ring.shm.readonly, handed: 0, accepted: 0, tornAccepted: 0, rejectedTorn: 0, rejectedIntact: 0,
    badMeta: 0, badOrder: 0, droppedSum: 0, first: -1, last: -1, examples: [],
  };
  for await (const f of ring.frames()) {
    r.handed++;
    const k = f.frameNumber;
    if (r.first < 0) {
      r.first = k;
      if (f.dropped !== 0) r.badOrder++;
    } else if (k !== r.last + 1 + f.dropped) {
      r.badOrder++;
    }
    r.last = k;
    r.droppedSum += f.dropped;
    // Metadata is read under the seqlock when the frame is handed out: it must match, always.
    const m = stressMeta(k, V.slotBytes);
    if (f.byteLength !== m.byteLength || f.data.length !== m.byteLength || f.width !== m.width ||
        f.height !== m.height || f.stride !== m.stride || f.pixelFormat !== m.pixelFormat || f.timestamp !== m.timestamp) {
      r.badMeta++;
      if (r.examples.length < 5) r.examples.push({ k, meta: 'mismatch', got: { w: f.width, h: f.height, pf: f.pixelFormat } });
    }
    const n = Math.min(f.data.length, m.byteLength) >> 2;
    const bad = checkFrame(words(f.data, n), k, n);
    const valid = f.valid();               // after the whole payload was checked
    if (valid) {
      if (bad < 0) r.accepted++;
      else {
        r.tornAccepted++;
        if (r.examples.length < 5) r.examples.push({ k, word: bad });
      }
    } else if (bad < 0) r.rejectedIntact++;
    else r.rejectedTorn++;
  }
  r.stats = ring.stats;
  r.writerClosed = ring.writerClosed;
  ring.close();
  ctlShm.close();
  report(r);
})().catch((e) => fail('reader failed: ' + (e.code || '') + ' ' + e.stack));
`;

describe('across processes', () => {
  for (const { label, slotBytes, frames, slots } of STRESS) {
    test(`stress, ${label}: ${frames} frames, ${slots} slots, 2 readers; no torn frame accepted, drops add up`, async (t) => {
      const name = helpers.uniqueName('stress');
      const ctlName = helpers.uniqueName('stress-ctl');
      const ctlShm = SharedMemory.create(64, { name: ctlName });
      try {
        const readers = [true, false].map((readonly) =>
          startChild(STRESS_READER, { name, ctlName, slotBytes, readonly }),
        );
        const writer = startChild(STRESS_WRITER, { name, ctlName, slotBytes, slots, frames, readers: readers.length });
        const [w, ...rs] = await Promise.all([writer.promise, ...readers.map((h) => h.promise)]);
        assertExitedCleanly(w, 'the writer');
        assert.equal(w.out.published, frames);
        assert.equal(w.out.publishCount, frames);
        t.diagnostic(`writer: ${frames} frames of ${slotBytes} bytes in ${w.out.ms.toFixed(0)} ms`);

        for (const [i, result] of rs.entries()) {
          assertExitedCleanly(result, `reader ${i}`);
          const r = result.out;
          t.diagnostic(
            `reader ${i} (${r.readonly ? 'readonly' : 'read-write'}): handed ${r.handed} (frames ${r.first}..${r.last}), ` +
              `accepted ${r.accepted}, rejected ${r.rejectedTorn} torn + ${r.rejectedIntact} intact, ` +
              `dropped ${r.stats.dropped}, torn accepted ${r.tornAccepted}`,
          );
          assert.equal(r.readonly, i === 0);
          assert.equal(r.tornAccepted, 0, `torn frames accepted: ${JSON.stringify(r.examples)}`);
          assert.equal(r.badMeta, 0, `inconsistent metadata handed out: ${JSON.stringify(r.examples)}`);
          assert.equal(r.badOrder, 0, 'frame numbers must increase by 1 + frame.dropped');
          assert.ok(r.handed >= 1 && r.accepted >= 1, 'every reader gets at least one good frame');
          assert.equal(r.writerClosed, true, 'frames() ended because the writer closed');

          // The accounting.
          assert.equal(r.stats.received, r.handed);
          assert.equal(r.stats.dropped, r.droppedSum);
          assert.equal(r.stats.received + r.stats.dropped, r.last - r.first + 1);
          assert.equal(r.stats.rejected, r.rejectedTorn + r.rejectedIntact);
          assert.equal(r.accepted + r.tornAccepted + r.stats.rejected, r.handed);
          assert.ok(r.first >= 0 && r.last <= frames - 1, `frames ${r.first}..${r.last} of ${frames}`);
        }
        assert.equal(helpers.exists(name), false, 'the writer unlinked its ring');
        ctlShm.close();
        ctlShm.unlink();
      } finally {
        ctlShm.close();
        helpers.cleanup(name);
        helpers.cleanup(ctlName);
      }
    });
  }

  test("reader processes asleep in frames() wake for another process's publish, and do not spin meanwhile", {
    skip: NO_PROBE,
  }, async (t) => {
    const IDLE_MS = 1000;
    const name = helpers.uniqueName('wake');
    const ctlName = helpers.uniqueName('wake-ctl');
    const ctlShm = SharedMemory.create(64, { name: ctlName });
    const writer = FrameRing.create({ slots: 2, slotBytes: 64, name });
    try {
      const ctl = ctlShm.view(Int32Array);
      writer.write(bytes('before the readers')); // includeLatest: false skips it
      const readers = [true, false].map((readonly, i) =>
        startChild(
          `
          (async () => {
            const ctlShm = SharedMemory.attach(V.ctlName);
            const ctl = ctlShm.view(Int32Array);
            const ring = FrameRing.attach(V.name, { readonly: V.readonly });
            const it = ring.frames({ includeLatest: false });
            const pending = it.next();
            await untilAsleep(V.name, ${H.publishWord});  // a shared futex wait on publishWord
            const cpu0 = process.cpuUsage();
            const t0 = performance.now();
            Atomics.store(ctl, V.word, 1);
            const { value: f } = await pending;
            const cpu = process.cpuUsage(cpu0);
            const wallMs = performance.now() - t0;
            const latencyMs = performance.timeOrigin + performance.now() - f.timestamp;
            const got = { frameNumber: f.frameNumber, text: Buffer.from(f.data).toString(), dropped: f.dropped, valid: f.valid() };
            Atomics.store(ctl, V.word, 2);
            const end = await it.next();             // the writer closes
            report({ got, cpuMs: (cpu.user + cpu.system) / 1000, wallMs, latencyMs, done: end.done,
                     stats: ring.stats, readonly: ring.shm.readonly });
            ring.close();
            ctlShm.close();
          })().catch((e) => fail((e.code || '') + ' ' + e.stack));
          `,
          { name, ctlName, readonly, word: CTL.READER0 + i },
        ),
      );
      await waitFor(ctl, CTL.READER0, 1, readers, 'reader 0 was asleep');
      await waitFor(ctl, CTL.READER1, 1, readers, 'reader 1 was asleep');
      await sleep(IDLE_MS); // the readers sleep; their CPU time is measured
      writer.write(bytes('wake up'), { width: 5 });
      await waitFor(ctl, CTL.READER0, 2, readers, 'reader 0 got the frame');
      await waitFor(ctl, CTL.READER1, 2, readers, 'reader 1 got the frame');
      writer.close();
      for (const [i, handle] of readers.entries()) {
        const result = await handle.promise;
        assertExitedCleanly(result, `reader ${i}`);
        const r = result.out;
        t.diagnostic(
          `reader ${i}: woken ${r.latencyMs.toFixed(2)} ms after the publish; ` +
            `${r.cpuMs.toFixed(1)} ms CPU over ${r.wallMs.toFixed(0)} ms asleep`,
        );
        assert.equal(r.readonly, i === 0);
        assert.deepEqual(r.got, { frameNumber: 1, text: 'wake up', dropped: 0, valid: true });
        assert.equal(r.done, true);
        assert.deepEqual(r.stats, { received: 1, dropped: 0, rejected: 0 });
        // It slept at least IDLE_MS. A reader that polled would burn most of a
        // core; one that sleeps uses a few ms per second. A quarter is far from both.
        assert.ok(r.wallMs >= IDLE_MS);
        assert.ok(r.cpuMs < r.wallMs / 4, `${r.cpuMs} ms of CPU in ${r.wallMs} ms asleep`);
      }
      writer.unlink();
      ctlShm.close();
      ctlShm.unlink();
    } finally {
      writer.close();
      ctlShm.close();
      helpers.cleanup(name);
      helpers.cleanup(ctlName);
    }
  });

  test('a ring formatted for another process: it opens the writer end, readers get every frame, and see it gone when it dies', async () => {
    const SLOT_BYTES = 8192;
    // more slots than the child publishes frames: no slot is reused while this reader checks it, so every
    // frame's bytes are whole (lapping and torn frames have their own tests above)
    const geometry = { slots: 8, slotBytes: SLOT_BYTES };
    const name = helpers.uniqueName('formatted');
    const ctlName = helpers.uniqueName('formatted-ctl');
    const size = FrameRing.sizeFor(geometry);
    assert.equal(size, 4096 + 8 * 8192, 'a header page + 8 slots, as the layout document computes it');
    const ctlShm = SharedMemory.create(64, { name: ctlName });
    const shm = SharedMemory.create(size, { name, populate: true });
    const readers = [];
    try {
      const ctl = ctlShm.view(Int32Array);
      // what a bridge host does for a peer's createFrameRing: the ring is made here, its writer is the child
      const writer = startChild(
        `
        const ctl = SharedMemory.attach(V.ctlName).view(Int32Array);
        Atomics.store(ctl, C.PID, process.pid);
        waitFor(ctl, C.STAGE, 1);                        // formatted for this process, a reader waits
        const ring = FrameRing.attach(V.name, { writer: true });
        if (!ring.isWriter) fail('not the writer end');
        for (let k = 0; k < 5; k++) {
          const slot = ring.acquire();
          fillFrame(words(slot.data, V.slotBytes / 4), k, V.slotBytes / 4);
          ring.publish(slot, { width: V.slotBytes, height: 1, pixelFormat: 'gray8' });
        }
        Atomics.store(ctl, C.STAGE, 2);
        setInterval(() => {}, 1000);                     // until it is killed
        `,
        { name, ctlName, slotBytes: SLOT_BYTES },
      );
      const until = Date.now() + DEADLINE_MS;
      while (Atomics.load(ctl, CTL.PID) === 0 && Date.now() < until && !writer.done) await new Promise((r) => setTimeout(r, 2));
      const pid = Atomics.load(ctl, CTL.PID);
      assert.ok(pid > 0, 'the child said its pid');
      FrameRing.format(shm, { ...geometry, writerPid: pid });
      assert.throws(() => FrameRing.format(shm, geometry), { code: 'ERR_SHM_RING_STATE' }, 'a formatted segment is not formatted again');
      assert.throws(() => FrameRing.attach(name, { writer: true }), { code: 'ERR_SHM_RING_STATE' }, 'this process is not its writer');
      const reader = FrameRing.attach(name);
      readers.push(reader);
      assert.equal(reader.writerPid, pid);
      assert.equal(reader.writerAlive, true);
      const it = reader.frames();
      Atomics.store(ctl, CTL.STAGE, 1);
      let first = -1;
      let last = -1;
      while (last < 4) {
        const { value: frame, done } = await it.next();
        assert.equal(done, false);
        assert.equal(checkFrame(words(frame.data, SLOT_BYTES / 4), frame.frameNumber, SLOT_BYTES / 4), -1, `frame ${frame.frameNumber}'s bytes`);
        assert.equal(frame.valid(), true, `frame ${frame.frameNumber} was not overwritten while read`);
        // drops are counted from the first frame this reader got
        assert.equal(frame.dropped, last < 0 ? 0 : frame.frameNumber - last - 1, 'drops counted exactly');
        if (first < 0) first = frame.frameNumber;
        last = frame.frameNumber;
      }
      assert.equal(reader.stats.received + reader.stats.dropped, last - first + 1, 'every frame since the first received or counted as dropped');
      await waitFor(ctl, CTL.STAGE, 2, writer, 'the child published');
      const pending = rejection(it.next());
      process.kill(pid, 'SIGKILL');
      // Windows: TerminateProcess, an exit status rather than a signal
      if (helpers.WINDOWS) assert.notEqual((await writer.promise).code, 0);
      else assert.equal((await writer.promise).signal, 'SIGKILL');
      assert.equal((await pending).code, 'ERR_SHM_RING_WRITER_GONE', 'readers watch the process it was formatted for');
    } finally {
      readers.forEach((r) => r.close());
      shm.close();
      ctlShm.close();
      helpers.cleanup(name);
      helpers.cleanup(ctlName);
    }
  });

  test('format() and sizeFor() refuse what they cannot do, and write nothing then', () => {
    const name = helpers.uniqueName('format-bad');
    const shm = SharedMemory.create(8192, { name });
    try {
      assert.throws(() => FrameRing.sizeFor({ slots: 1, slotBytes: 10 }), { code: 'ERR_OUT_OF_RANGE' });
      assert.throws(() => FrameRing.sizeFor(null), { code: 'ERR_INVALID_ARG_TYPE' });
      assert.throws(() => FrameRing.format({}, { slots: 2, slotBytes: 1 }), { code: 'ERR_INVALID_ARG_TYPE' });
      assert.throws(() => FrameRing.format(shm, { slots: 2, slotBytes: 4096 }), { code: 'ERR_OUT_OF_RANGE' }, 'too small: 3 pages needed');
      assert.throws(() => FrameRing.format(shm, { slots: 2, slotBytes: 1, writerPid: 0 }), { code: 'ERR_OUT_OF_RANGE' });
      assert.throws(() => FrameRing.format(shm, { slots: 2, slotBytes: 1, writerStartTime: -1 }), { code: 'ERR_OUT_OF_RANGE' });
      const ro = SharedMemory.attach(name, { readonly: true });
      assert.throws(() => FrameRing.format(ro, { slots: 2, slotBytes: 1 }), { code: 'ERR_SHM_READONLY' });
      ro.close();
      assert.ok(shm.buf.every((b) => b === 0), 'nothing written');
      assert.throws(() => FrameRing.attach(name, { writer: true, readonly: true }), { code: 'ERR_INVALID_ARG_VALUE' });
      assert.throws(() => FrameRing.attach(name, { writer: 'yes' }), { code: 'ERR_INVALID_ARG_TYPE' });
      assert.throws(() => FrameRing.attach(name, { writer: true }), { code: 'ERR_SHM_RING_FORMAT' }, 'not a ring yet');
    } finally {
      shm.close();
      helpers.cleanup(name);
    }
  });

  test('a writer SIGKILLed mid-frame: latest() is the last complete frame, frames() is ERR_SHM_RING_WRITER_GONE', async () => {
    const SLOT_BYTES = 8192;
    const name = helpers.uniqueName('killed');
    const ctlName = helpers.uniqueName('killed-ctl');
    const ctlShm = SharedMemory.create(64, { name: ctlName });
    const readers = [];
    try {
      const ctl = ctlShm.view(Int32Array);
      const writer = startChild(
        `
        const ctl = SharedMemory.attach(V.ctlName).view(Int32Array);
        // track: false: the ring must outlive its SIGKILLed writer for the late reader.
        const ring = FrameRing.create({ slots: 4, slotBytes: V.slotBytes, name: V.name, track: false });
        for (let k = 0; k < 3; k++) {
          const slot = ring.acquire();
          fillFrame(words(slot.data, V.slotBytes / 4), k, V.slotBytes / 4);
          ring.publish(slot, { width: 100 + k, pixelFormat: 'gray8' });
        }
        const slot = ring.acquire();                       // frame 3, slot 3
        fillFrame(words(slot.data, V.slotBytes / 4), 3, V.slotBytes / 8);   // half of it
        Atomics.store(ctl, C.PID, process.pid);
        Atomics.store(ctl, C.STAGE, 1);
        setInterval(() => {}, 1000);                       // until it is killed
        `,
        { name, ctlName, slotBytes: SLOT_BYTES },
      );
      await waitFor(ctl, CTL.STAGE, 1, writer, 'the writer was half-way through frame 3');
      const pid = Atomics.load(ctl, CTL.PID);

      // A reader already waiting for the next frame when the writer dies.
      const waiting = FrameRing.attach(name);
      readers.push(waiting);
      assert.equal(waiting.writerPid, pid);
      assert.equal(waiting.writerAlive, true);
      const it = waiting.frames({ includeLatest: false });
      const pending = rejection(it.next());
      process.kill(pid, 'SIGKILL');
      const result = await writer.promise;
      // Windows: TerminateProcess, seen as a non-zero exit code rather than a signal.
      if (helpers.WINDOWS) assert.notEqual(result.code, 0, result.stderr);
      else assert.equal(result.signal, 'SIGKILL', result.stderr);
      assert.equal((await pending).code, 'ERR_SHM_RING_WRITER_GONE');
      assert.deepEqual(await it.next(), { value: undefined, done: true });

      // A reader that comes afterwards.
      const late = FrameRing.attach(name);
      readers.push(late);
      assert.equal(late.writerAlive, false);
      assert.equal(late.writerClosed, false, 'it never closed the ring');
      assert.equal(late.publishCount, 3);
      const h = late.shm.view(DataView, 0, SLOT_TABLE + 4 * SLOT_HEADER);
      assert.equal(h.getUint32(H.latestSlot, true), 2);
      assert.equal(h.getUint32(SLOT_TABLE + 3 * SLOT_HEADER, true) % 2, 1, "the torn slot's seq stays odd");

      const seen = [];
      const error = await rejection(
        (async () => {
          for await (const frame of late.frames()) {
            seen.push(frame.frameNumber);
            assert.equal(checkFrame(words(frame.data, SLOT_BYTES / 4), 2, SLOT_BYTES / 4), -1);
          }
        })(),
      );
      assert.equal(error.code, 'ERR_SHM_RING_WRITER_GONE', util.inspect(error));
      assert.deepEqual(seen, [2], 'the last complete frame, then the error');

      for (const reader of [late, FrameRing.attach(name, { readonly: false })]) {
        if (!readers.includes(reader)) readers.push(reader);
        const frame = reader.latest();
        assert.equal(frame.frameNumber, 2, 'never the torn frame 3');
        assert.equal(frame.width, 102);
        assert.equal(frame.pixelFormat, 'gray8');
        assert.equal(frame.byteLength, SLOT_BYTES);
        assert.equal(checkFrame(words(frame.data, SLOT_BYTES / 4), 2, SLOT_BYTES / 4), -1);
        assert.equal(frame.valid(), true);
        assert.equal(reader.writerAlive, false);
      }

      // The writer is dead: the test removes its ring (on Windows the readers' last close did).
      readers.forEach((r) => r.close());
      if (!helpers.WINDOWS) SharedMemory.unlink(name);
      assert.equal(helpers.exists(name), false);
      ctlShm.close();
      ctlShm.unlink();
    } finally {
      readers.forEach((r) => r.close());
      ctlShm.close();
      helpers.cleanup(name);
      helpers.cleanup(ctlName);
    }
  });
});

// ---------------------------------------------------------------------------
describe('the layout document', { skip: !PYTHON && 'python3 is not installed' }, () => {
  async function readWithPython(name) {
    const result = await helpers.run('python3', [FIXTURE, name], { timeout: 30_000 });
    assert.equal(result.signal, null, result.stderr);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '', 'python wrote to stderr');
    return JSON.parse(result.stdout);
  }

  function sha256(data) {
    return crypto.createHash('sha256').update(data).digest('hex');
  }

  /** What Python must report for the Node reader's view of the same frame. */
  function expectedFrame(frame) {
    return {
      frameNumber: frame.frameNumber,
      pixelFormat: typeof frame.pixelFormat === 'number' ? frame.pixelFormat : PIXEL_FORMATS[frame.pixelFormat],
      timestamp: frame.timestamp,
      width: frame.width,
      height: frame.height,
      stride: frame.stride,
      byteLength: frame.byteLength,
      sha256: sha256(frame.data),
      head: Buffer.from(frame.data.subarray(0, 16)).toString('hex'),
    };
  }

  function pick(frame) {
    const { slot, seq, attempts, ...rest } = frame;
    return rest;
  }

  test('a Python reader written from docs/frame-ring-layout.md alone reads the newest frame', async () => {
    await withRing({ slots: 3, slotBytes: 10_000, tag: 'py-ring' }, async (writer, attach, name) => {
      const reader = attach();
      let out = await readWithPython(name);
      assert.equal(out.frame, null, 'no frame before the first publish');
      assert.deepEqual(out.slotSeqs, [0, 0, 0]);
      const { writerStartTime, ...header } = out.header;
      assert.ok(writerStartTime > 0 && writerStartTime <= Date.now(), 'ms since the Unix epoch, in the past');
      assert.deepEqual(header, {
        magic: MAGIC,
        version: 1,
        headerBytes: 128,
        slotCount: 3,
        slotHeaderBytes: 64,
        slotBytes: 10_000,
        slotStride: 12_288,
        payloadOffset: 4096,
        publishWord: 0,
        writerPid: process.pid,
        writerTid: process.platform === 'linux' ? process.pid : 0, // created on the main thread
        writerState: 1,
        latestSlot: 0,
        publishCount: 0,
        size: 4096 + 3 * 12_288,
      });

      // Five frames into three slots: the ring has wrapped.
      const content = (k, length) => Buffer.from(Array.from({ length }, (_, i) => (i * 7 + k * 13) & 0xff));
      const metas = [
        { width: 4, height: 2, pixelFormat: 'rgba8' },
        { width: 640, height: 3, pixelFormat: 'gray8', timestamp: 1.25 },
        { width: 3, height: 3, pixelFormat: 'rgb8', stride: 12 },
        { width: 9, height: 1, pixelFormat: 4242, stride: 36, timestamp: -7 },
        { width: 1920, height: 1080, pixelFormat: 'nv12', timestamp: 1e12 + 0.5 },
      ];
      metas.forEach((meta, k) => writer.write(content(k, 9000 + k), meta));
      out = await readWithPython(name);
      const frame4 = reader.latest();
      assert.equal(frame4.frameNumber, 4);
      assert.deepEqual(pick(out.frame), expectedFrame(frame4));
      assert.deepEqual(pick(out.frame), {
        frameNumber: 4,
        pixelFormat: PIXEL_FORMATS.nv12,
        timestamp: 1e12 + 0.5,
        width: 1920,
        height: 1080,
        stride: 1920,
        byteLength: 9004,
        sha256: sha256(content(4, 9004)),
        head: content(4, 16).toString('hex'),
      });
      assert.equal(out.frame.slot, 1);
      assert.deepEqual(out.slotSeqs, [4, 4, 2]);
      assert.equal(out.header.latestSlot, 1);
      assert.equal(out.header.publishCount, 5);
      assert.equal(out.header.publishWord, 5);

      // The writer is in the middle of frame 5 (slot 2): Python still reads frame 4.
      const slot = writer.acquire();
      slot.data.fill(0xee, 0, 5000);
      out = await readWithPython(name);
      assert.equal(out.frame.frameNumber, 4);
      assert.equal(out.frame.sha256, sha256(content(4, 9004)));
      assert.deepEqual(out.slotSeqs, [4, 4, 3], 'odd while the writer fills slot 2');

      writer.publish(slot, { byteLength: 5000, width: 50, height: 100, pixelFormat: 'gray8' });
      out = await readWithPython(name);
      assert.deepEqual(pick(out.frame), expectedFrame(reader.latest()));
      assert.equal(out.frame.frameNumber, 5);
      assert.equal(out.frame.sha256, sha256(Buffer.alloc(5000, 0xee)));
      assert.equal(out.frame.stride, 50);

      writer.close();
      out = await readWithPython(name);
      assert.equal(out.header.writerState, 2);
      assert.equal(out.frame.frameNumber, 5, 'the frames outlive the writer');
    });
  });

  test('the Python reader refuses what the document says to refuse; so does FrameRing.attach()', async () => {
    await withRing({ slots: 2, slotBytes: 16, tag: 'py-refuse' }, async (writer, attach, name) => {
      writer.write(bytes('v1'));
      const raw = SharedMemory.attach(name);
      try {
        const h = raw.view(DataView, 0, 128);
        h.setUint16(H.version, 2, true);
        assert.deepEqual(await readWithPython(name), { refused: 'unknown version', version: 2 });
        assert.throws(() => FrameRing.attach(name), { code: 'ERR_SHM_RING_FORMAT' });
        h.setUint16(H.version, 1, true);
        assert.equal((await readWithPython(name)).frame.frameNumber, 0);
        attach().close();
        // The checks of "What a reader must refuse", one of each kind.
        for (const [at, bad, good] of [[H.writerPid, 0, process.pid], [H.slotBytes, 0, 16]]) {
          const set = (v) => (at === H.slotBytes ? h.setBigUint64(at, BigInt(v), true) : h.setUint32(at, v, true));
          set(bad);
          assert.deepEqual(await readWithPython(name), { refused: 'inconsistent header' });
          assert.throws(() => FrameRing.attach(name), { code: 'ERR_SHM_RING_FORMAT' });
          set(good);
        }
        attach().close();
      } finally {
        raw.close();
      }
    });
    const name = helpers.uniqueName('py-plain');
    const plain = SharedMemory.create(4096, { name });
    try {
      plain.buf.set(bytes('GNRF'));
      assert.equal((await readWithPython(name)).refused, 'bad magic');
      plain.close();
      plain.unlink();
    } finally {
      plain.close();
      helpers.cleanup(name);
    }
  });
});

// ---------------------------------------------------------------------------
// Edge cases found while writing these tests (each failed before its fix).
describe('edge cases', () => {
  test('attaching to a segment smaller than the 128-byte header is ERR_SHM_RING_FORMAT', () => {
    const name = helpers.uniqueName('tiny');
    const plain = SharedMemory.create(16, { name });
    try {
      const before = holdings(name);
      assert.throws(() => FrameRing.attach(name), { code: 'ERR_SHM_RING_FORMAT' });
      assert.deepEqual(holdings(name), before);
      plain.close();
      plain.unlink();
    } finally {
      plain.close();
      helpers.cleanup(name);
    }
  });

  test('write() with bad metadata leaves the writer able to write', async () => {
    await withRing({ slots: 3, slotBytes: 16 }, async (writer, attach) => {
      const reader = attach();
      writer.write(bytes('a'));
      assert.throws(() => writer.write(bytes('b'), { width: -1 }), { code: 'ERR_OUT_OF_RANGE' });
      assert.throws(() => writer.write(bytes('b'), { byteLength: 17 }), { code: 'ERR_OUT_OF_RANGE' });
      assert.equal(writer.write(bytes('c')), 1);
      assert.equal(Buffer.from(reader.latest().data).toString(), 'c');
    });
  });

  test('frames() hands out a frame published just before the writer closes', async () => {
    // The interleaving of two processes, made deterministic: the writer
    // publishes and closes at the moment frames() first asks whether it closed.
    await withRing({ slots: 3, slotBytes: 16 }, async (writer, attach) => {
      const reader = attach();
      writer.write(bytes('0'));
      const real = Object.getOwnPropertyDescriptor(FrameRing.prototype, 'writerClosed').get;
      let fired = false;
      const publishAndClose = () => {
        if (fired) return;
        fired = true;
        writer.write(bytes('1'));
        writer.close();
      };
      Object.defineProperty(reader, 'writerClosed', {
        get() {
          publishAndClose();
          return real.call(this);
        },
      });
      // If frames() stops asking through the getter, this still ends the stream.
      const fallback = setTimeout(publishAndClose, 200);
      const seen = [];
      for await (const frame of reader.frames()) seen.push(frame.frameNumber);
      clearTimeout(fallback);
      // Frame 1, published just before the close, is delivered (frame 0 may
      // be skipped: frames() always goes to the newest frame).
      assert.equal(seen[seen.length - 1], 1);
    });
  });

  test('the default stride of a raw frame is its byteLength, as FrameMeta.stride documents', async () => {
    await withRing({ slots: 2, slotBytes: 64 }, async (writer, attach) => {
      const reader = attach();
      writer.write(bytes('twelve bytes'));
      assert.equal(reader.latest().stride, 12);
    });
  });

  test('closing a reader inside its frames() loop ends the loop, as closing it during a pending wait does', async () => {
    await withRing({ slots: 2, slotBytes: 64 }, async (writer, attach) => {
      const reader = attach();
      writer.write(bytes('x'));
      const seen = [];
      for await (const frame of reader.frames()) {
        seen.push(frame.frameNumber);
        reader.close();
      }
      assert.deepEqual(seen, [0]);
      const waiting = attach();
      const iteration = (async () => {
        const got = [];
        for await (const frame of waiting.frames({ includeLatest: false })) got.push(frame.frameNumber);
        return got;
      })();
      setTimeout(() => waiting.close(), 50);
      assert.deepEqual(await iteration, []);
    });
  });
});

// ---------------------------------------------------------------------------
// Issue 8, item 9: a reader must survive any header another process wrote.
// Every field is checked against docs/frame-ring-layout.md and the segment's
// size before anything is allocated.
describe('a hostile header', () => {
  const u64 = (h, at, v) => h.setBigUint64(at, BigInt(v), true);
  const u32 = (h, at, v) => h.setUint32(at, v, true);

  test('each field out of its documented range is ERR_SHM_RING_FORMAT and leaves nothing mapped or open', async () => {
    // A ring of 3 slots of 100 bytes: payloadOffset 4096, stride 4096, size 16384.
    await withRing({ slots: 3, slotBytes: 100 }, async (writer, attach, name) => {
      writer.write(bytes('frame 0'));
      const raw = SharedMemory.attach(name);
      try {
        const h = raw.view(DataView, 0, 128);
        const saved = Buffer.from(raw.buf.subarray(0, 128));
        const damage = {
          'slotBytes 0 (stride 0)': () => (u64(h, H.slotBytes, 0), u64(h, H.slotStride, 0)),
          'slotBytes 0': () => u64(h, H.slotBytes, 0),
          'stride 0': () => u64(h, H.slotStride, 0),
          'stride not a multiple of 4096': () => u64(h, H.slotStride, 4097),
          'stride larger than roundUp(slotBytes)': () => u64(h, H.slotStride, 8192),
          'stride 2^64-1': () => u64(h, H.slotStride, 2n ** 64n - 1n),
          'slotBytes 2^64-1': () => u64(h, H.slotBytes, 2n ** 64n - 1n),
          'slotBytes past the stride': () => u64(h, H.slotBytes, 4097),
          'slotCount 2^32-1': () => u32(h, H.slotCount, 0xffffffff),
          'slotCount 0': () => u32(h, H.slotCount, 0),
          'payloadOffset 0': () => u64(h, H.payloadOffset, 0),
          'payloadOffset unaligned': () => u64(h, H.payloadOffset, 4096 + 8),
          'payloadOffset inside the slot table': () => u64(h, H.payloadOffset, 128),
          'payloadOffset past the segment': () => u64(h, H.payloadOffset, 2n ** 63n),
          'slotHeaderBytes 0': () => u32(h, H.slotHeaderBytes, 0),
          'writerPid 0': () => u32(h, H.writerPid, 0),
          'writerPid 2^32-1 (kill(-1, 0))': () => u32(h, H.writerPid, 0xffffffff),
          'writerPid 2^31': () => u32(h, H.writerPid, 2 ** 31),
          'writerState 7': () => u32(h, H.writerState, 7),
          'latestSlot past slotCount': () => u32(h, H.latestSlot, 3),
          'publishCount 2^63': () => u64(h, H.publishCount, 2n ** 63n),
        };
        const before = holdings(name);
        const refused = {};
        for (const [what, breakIt] of Object.entries(damage)) {
          breakIt();
          try {
            FrameRing.attach(name).close();
            refused[what] = 'attached';
          } catch (error) {
            refused[what] = error.code;
          }
          assert.deepEqual(holdings(name), before, what);
          raw.buf.set(saved);
          attach().close(); // repaired
        }
        assert.deepEqual(refused, Object.fromEntries(Object.keys(damage).map((k) => [k, 'ERR_SHM_RING_FORMAT'])));
      } finally {
        raw.close();
      }
    });
  });

  // The cases of the issue: slotBytes = stride = 0 and a slot count that fills
  // the segment with slot headers. The old reader built a view per slot before
  // looking further (4,000,000 slots: 8 s and 558 MiB; 30,000,000: a fatal
  // out-of-memory). The reader runs in a child with a 64 MiB heap: allocating
  // per slot kills it.
  for (const slots of [4_000_000, 30_000_000]) {
    test(`a header claiming ${slots.toLocaleString('en')} empty slots is refused without allocating per slot`, async () => {
      const name = helpers.uniqueName('huge-count');
      const size = 128 + 64 * slots;
      const shm = SharedMemory.create(size, { name, populate: false });
      try {
        const h = shm.view(DataView, 0, 128);
        u32(h, H.magic, MAGIC);
        h.setUint16(H.version, 1, true);
        h.setUint16(H.headerBytes, 128, true);
        u32(h, H.slotCount, slots);
        u32(h, H.slotHeaderBytes, 64);
        u64(h, H.slotBytes, 0);
        u64(h, H.slotStride, 0);
        u64(h, H.payloadOffset, size);
        u32(h, H.writerPid, process.pid);
        u32(h, H.writerState, 1);
        const result = await helpers.run(
          process.execPath,
          [
            '--max-old-space-size=64',
            '-e',
            `const { FrameRing } = require('@shmkit/shm');
             try { FrameRing.attach(${JSON.stringify(name)}); console.log('attached'); }
             catch (error) { console.log(error.code); }`,
          ],
          { env: { NODE_PATH } },
        );
        assert.equal(result.signal, null, result.stderr.slice(-2000));
        assert.equal(result.code, 0, result.stderr.slice(-2000));
        assert.equal(result.stdout.trim(), 'ERR_SHM_RING_FORMAT');
        shm.close();
        shm.unlink();
      } finally {
        shm.close();
        helpers.cleanup(name);
      }
    });
  }

  test('writerPid is read once, at attach: a header rewritten to pid 0 later cannot keep frames() waiting forever', async () => {
    // A process this test can end: sleep(1), or on Windows a node.exe that waits.
    const stand_in = helpers.WINDOWS
      ? require('node:child_process').spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'])
      : require('node:child_process').spawn('sleep', ['60']);
    try {
      await withRing({ slots: 2, slotBytes: 64 }, async (writer, attach, name) => {
        const raw = SharedMemory.attach(name);
        try {
          const h = raw.view(DataView, 0, 128);
          u32(h, H.writerPid, stand_in.pid); // the "writer" is a process this test can end
          const reader = attach();
          assert.equal(reader.writerPid, stand_in.pid);
          u32(h, H.writerPid, 0);
          assert.equal(reader.writerPid, stand_in.pid);
          const it = reader.frames({ includeLatest: false, signal: AbortSignal.timeout(DEADLINE_MS) });
          const pending = rejection(it.next());
          stand_in.kill('SIGKILL');
          assert.equal((await pending).code, 'ERR_SHM_RING_WRITER_GONE');
        } finally {
          raw.close();
        }
      });
    } finally {
      stand_in.kill('SIGKILL');
    }
  });
  test('a close that lands between frames() reading the writer state and its liveness check ends the stream, not as a writer gone', async () => {
    // The interleaving, made deterministic: frames() reads writerClosed (the writer still open),
    // finds no new frame, and checks liveness on entry; the writer has closed in between, so
    // writerAlive is false. That is a close (a clean end), never ERR_SHM_RING_WRITER_GONE.
    // (CI under Wine once ended a FrameRing stream with an error at its writer's close.)
    await withRing({ slots: 2, slotBytes: 64 }, async (writer, attach) => {
      writer.write(new Uint8Array(8));
      const reader = attach();
      const it = reader.frames({ includeLatest: false, signal: AbortSignal.timeout(DEADLINE_MS) });
      writer.close();
      let reads = 0;
      // the first read of the writer's state happens before the close: it says open
      Object.defineProperty(reader, 'writerClosed', { configurable: true, get: () => reads++ > 0 });
      assert.deepEqual(await it.next(), { value: undefined, done: true });
      assert.ok(reads >= 2, `the state was read again after the liveness check (${reads} reads)`);
    });
  });
});

// Issue 8, item 10: every view shmkit hands out keeps its mapping alive, as
// `buf` does. Under the overlay strategy a view without the owner link let the
// SharedMemory be collected and closed: frame.data then read as length 0.
describe('views outlive the objects that handed them out', () => {
  for (const strategy of ['overlay', 'external']) {
    test(`frame.data and slot.data stay mapped after the ring objects are collected (${strategy})`, strategy === 'overlay' ? helpers.notOnWindows('no overlay strategy there (decision 0014)') : {}, async () => {
      const name = helpers.uniqueName(`gc-${strategy}`);
      const result = await helpers.run(
        process.execPath,
        [
          '--expose-gc',
          '-e',
          `const { FrameRing } = require('@shmkit/shm');
           const V = ${JSON.stringify({ name, strategy })};
           const collect = async () => {
             for (let i = 0; i < 10; i++) {
               globalThis.gc();
               await new Promise((resolve) => setTimeout(resolve, 10)); // FinalizationRegistry callbacks
             }
           };
           (async () => {
             const keep = FrameRing.create({ slots: 2, slotBytes: 4096, name: V.name, strategy: V.strategy, track: false });
             let writer = FrameRing.attach(V.name, { readonly: false, strategy: V.strategy });
             keep.write(Buffer.alloc(100, 7));
             let reader = FrameRing.attach(V.name, { strategy: V.strategy });
             const data = reader.latest().data; // the frame itself is dropped
             const slotData = keep.acquire().data;
             const other = FrameRing.attach(V.name, { readonly: false, strategy: V.strategy }).latest().data;
             reader = null;
             writer = null;
             await collect();
             const out = {
               data: [data.length, data.every((b) => b === 7)],
               slot: slotData.length,
               other: [other.length, other[99]],
               strategyUsed: keep.shm.strategy,
             };
             keep.close();
             keep.unlink();
             console.log(JSON.stringify(out));
           })();`,
        ],
        { env: { NODE_PATH } },
      );
      try {
        assert.equal(result.code, 0, result.stderr);
        assert.deepEqual(JSON.parse(result.stdout), {
          data: [100, true],
          slot: 4096,
          other: [100, 7],
          strategyUsed: strategy,
        });
      } finally {
        helpers.cleanup(name);
      }
    });
  }
});

// "Also seen" in issue 8: a writer on a worker thread that is terminated.
// The process lives on, so the writer's pid alone cannot tell; the header
// records the writer's thread (writerTid) and a reader checks that too.
describe('a writer on a worker thread', { skip: process.platform !== 'linux' && 'thread ids are read from /proc' }, () => {
  test('terminating the worker ends readers\' frames() with ERR_SHM_RING_WRITER_GONE', async () => {
    const { Worker } = require('node:worker_threads');
    const { once } = require('node:events');
    const name = helpers.uniqueName('worker-writer');
    const worker = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       const { FrameRing } = require(workerData.entry);
       const ring = FrameRing.create({ slots: 2, slotBytes: 64, name: workerData.name, track: false });
       ring.write(Buffer.from('from the worker'));
       parentPort.postMessage('published');
       setInterval(() => {}, 1000); // alive until terminated, never closing the ring`,
      { eval: true, workerData: { entry: require.resolve('@shmkit/shm'), name } },
    );
    let reader;
    try {
      await once(worker, 'message');
      reader = FrameRing.attach(name);
      assert.equal(reader.writerPid, process.pid);
      assert.equal(reader.writerAlive, true);
      const it = reader.frames({ signal: AbortSignal.timeout(DEADLINE_MS) });
      assert.equal((await it.next()).value.frameNumber, 0);
      const pending = rejection(it.next());
      await worker.terminate();
      assert.equal((await pending).code, 'ERR_SHM_RING_WRITER_GONE');
      assert.equal(reader.writerAlive, false);
      assert.equal(reader.writerClosed, false);
      reader.close();
      SharedMemory.unlink(name);
    } finally {
      reader?.close();
      await worker.terminate();
      helpers.cleanup(name);
    }
  });
});
