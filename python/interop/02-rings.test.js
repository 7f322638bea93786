'use strict';
// FrameRings across languages, on real processes: a Python writer to a Node reader and a Node writer to a
// Python reader, every frame's bytes verified and drops counted exactly (readers stall now and then to
// make the writer lap them); the start signal goes through a futex word each way (a Node notify wakes a
// Python wait and the reverse); a SIGKILLed writer of either language ends the other's frames() with
// ERR_SHM_RING_WRITER_GONE.
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const { FrameRing, SharedMemory, notify, waitAsync } = require('@shmkit/shm');
const { NO_PYTHON, PY_FRAMES, checkFrame, cleanup, fillFrame, runPython, startPython, uniqueName, exists } = require('./helpers');

const FRAMES = 300;
const SLOT_BYTES = 64 * 1024;

test.afterEach(cleanup);

/** Resolves with the child's first stdout line. */
function firstLine(child) {
  return new Promise((resolve, reject) => {
    let buf = '';
    const on = (d) => {
      buf += d;
      const i = buf.indexOf('\n');
      if (i >= 0) {
        child.stdout.off('data', on);
        resolve(buf.slice(0, i));
      }
    };
    child.stdout.on('data', on);
    child.on('exit', (code) => reject(new Error(`exited (${code}) before a line: ${buf}`)));
  });
}

test('a Python writer streams to a Node reader: every frame verified, drops exact, woken by its notify', { skip: NO_PYTHON }, async (t) => {
  const name = uniqueName('py2node');
  const ctl = SharedMemory.create(64, { name: uniqueName('ctl') });
  try {
    const writer = runPython(
      `${PY_FRAMES}
import shmkit, sys, json, time
ctl = shmkit.Segment.attach(sys.argv[2])
ring = shmkit.FrameRing.create(4, ${SLOT_BYTES}, sys.argv[1], track=False)
ctl.view('i')[1] = 1; shmkit.notify(ctl, 4)              # the ring exists
while shmkit.wait(ctl, 0, 0, 10) != 'ok' and ctl.view('i')[0] == 0: pass   # the reader is waiting
for k in range(${FRAMES}):
    slot = ring.acquire()
    slot[:] = frame_words(k, ${SLOT_BYTES} // 4).tobytes()
    ring.publish(${SLOT_BYTES} // 4, 1, pixel_format='rgba8', byte_length=${SLOT_BYTES})
    if k % 50 == 49: time.sleep(0.005)
ring.close(); ctl.close()
print(json.dumps({'published': ${FRAMES}}))`,
      [name, ctl.name],
    );
    const words = ctl.view(Int32Array);
    while (Atomics.load(words, 1) === 0) await waitAsync(ctl, 4, 0, 5000);
    const reader = FrameRing.attach(name);
    const it = reader.frames();
    Atomics.store(words, 0, 1);
    notify(ctl, 0);
    let first = -1;
    let last = -1;
    let received = 0;
    let dropped = 0;
    for (;;) {
      const { value: frame, done } = await it.next();
      if (done) break;
      const bad = checkFrame(frame.data, frame.frameNumber);
      if (frame.valid()) assert.equal(bad, -1, `frame ${frame.frameNumber}: word ${bad} is not the Python writer's`);
      assert.equal(frame.dropped, last < 0 ? 0 : frame.frameNumber - last - 1);
      if (first < 0) first = frame.frameNumber;
      last = frame.frameNumber;
      received++;
      dropped += frame.dropped;
      if (received % 7 === 0) await new Promise((r) => setTimeout(r, 3)); // a slow reader now and then: the writer laps it
    }
    const r = await writer;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(last, FRAMES - 1, 'the last frame arrived before the end');
    assert.equal(received + dropped, last - first + 1, 'every frame from the first: received or counted as dropped');
    assert.deepEqual({ received, dropped }, { received: reader.stats.received, dropped: reader.stats.dropped });
    assert.ok(received > 10);
    t.diagnostic(`received ${received}, dropped ${dropped}`);
    reader.close();
    SharedMemory.attach(name).unlink();
  } finally {
    ctl.close();
  }
});

test('a Node writer streams to a Python reader: every frame verified, drops exact, woken by its notify', { skip: NO_PYTHON }, async (t) => {
  const ring = FrameRing.create({ slots: 4, slotBytes: SLOT_BYTES, name: uniqueName('node2py') });
  const ctl = SharedMemory.create(64, { name: uniqueName('ctl') });
  try {
    const reader = runPython(
      `${PY_FRAMES}
import shmkit, sys, json, time
ctl = shmkit.Segment.attach(sys.argv[2])
ring = shmkit.FrameRing.attach(sys.argv[1])
it = ring.frames()
ctl.view('i')[0] = 1; shmkit.notify(ctl, 0)                # waiting: start
first = last = -1; received = dropped = bad = 0
for f in it:
    ok = check_frame(f.data, f.frame_number)
    if f.valid() and not ok: bad += 1
    assert f.dropped == (0 if last < 0 else f.frame_number - last - 1), (f.dropped, f.frame_number, last)
    if first < 0: first = f.frame_number
    last = f.frame_number; received += 1; dropped += f.dropped
    if received % 7 == 0: time.sleep(0.003)
print(json.dumps({'first': first, 'last': last, 'received': received, 'dropped': dropped, 'bad': bad, 'stats': ring.stats}))`,
      [ring.name, ctl.name],
    );
    const words = ctl.view(Int32Array);
    while (Atomics.load(words, 0) === 0) await waitAsync(ctl, 0, 0, 5000);
    for (let k = 0; k < FRAMES; k++) {
      const slot = ring.acquire();
      fillFrame(slot.data, k);
      ring.publish(slot, { width: SLOT_BYTES / 4, height: 1, pixelFormat: 'rgba8' });
      if (k % 50 === 49) await new Promise((r) => setTimeout(r, 5));
    }
    ring.close();
    const r = await reader;
    assert.equal(r.code, 0, r.stderr);
    const o = r.out;
    assert.equal(o.bad, 0, 'every frame intact');
    assert.equal(o.last, FRAMES - 1);
    assert.equal(o.received + o.dropped, o.last - o.first + 1);
    assert.deepEqual(o.stats, { received: o.received, dropped: o.dropped, rejected: o.stats.rejected });
    t.diagnostic(`received ${o.received}, dropped ${o.dropped}, torn ${o.stats.rejected}`);
    ring.unlink();
  } finally {
    ring.close();
    ctl.close();
  }
});

test("a SIGKILLed Python writer ends Node's frames() with ERR_SHM_RING_WRITER_GONE", { skip: NO_PYTHON }, async () => {
  const name = uniqueName('pykill');
  const py = startPython(`import shmkit, sys, time
w = shmkit.FrameRing.create(3, 64, sys.argv[1], track=False)
w.write(b'first')
print('ready', flush=True)
time.sleep(60)`, [name]);
  assert.equal(await firstLine(py), 'ready');
  const reader = FrameRing.attach(name);
  try {
    assert.equal(reader.writerPid, py.pid);
    const it = reader.frames();
    assert.equal(Buffer.from((await it.next()).value.data).toString(), 'first');
    const pending = it.next().then(() => null, (e) => e);
    py.kill('SIGKILL');
    const error = await pending;
    assert.equal(error?.code, 'ERR_SHM_RING_WRITER_GONE');
  } finally {
    reader.close();
    if (exists(name)) SharedMemory.attach(name).unlink();
  }
});

test('a SIGKILLed Node writer ends the Python reader with RingWriterGone (ERR_SHM_RING_WRITER_GONE)', { skip: NO_PYTHON }, async () => {
  const name = uniqueName('nodekill');
  const node = spawn(process.execPath, ['-e', `const { FrameRing } = require('@shmkit/shm');
const w = FrameRing.create({ slots: 3, slotBytes: 64, name: ${JSON.stringify(name)}, track: false });
w.write(new TextEncoder().encode('first'));
console.log('ready'); setInterval(() => {}, 1000);`], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    assert.equal(await firstLine(node), 'ready');
    const reader = runPython(`import shmkit, sys, json
r = shmkit.FrameRing.attach(sys.argv[1])
it = r.frames()
print(json.dumps({'first': bytes(next(it).data).decode()}), flush=True)
try:
    next(it); print(json.dumps({'error': None}))
except shmkit.RingWriterGone as e:
    print(json.dumps({'error': e.code, 'alive': r.writer_alive}))`, [name]);
    await new Promise((r) => setTimeout(r, 300)); // the reader is asleep in frames()
    node.kill('SIGKILL');
    const r = await reader;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /"first": "first"/);
    assert.deepEqual(r.out, { error: 'ERR_SHM_RING_WRITER_GONE', alive: false });
  } finally {
    node.kill('SIGKILL');
    if (exists(name)) SharedMemory.attach(name).unlink();
  }
});
