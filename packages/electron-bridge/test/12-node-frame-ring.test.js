'use strict';
// A FrameRing created by the host and streamed to two children that attached readers through the
// bridge: every frame's content is verified in each child (payload pattern keyed by the frame's
// sequence number, variable lengths, seqlock valid() after reading).
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { hostOptions, checkNoLeaks, shmExists, until, DIST, WINDOWS } = require('./fixtures/node-helpers');
const { rpc, events, forkPeers } = require('./fixtures/node-rpc');

const { createNodeHost } = require(path.join(DIST, 'node'));

checkNoLeaks();

const SLOT_BYTES = 64 * 1024;
const FRAMES = 300;

function fill(data, k, length) {
  data[0] = k & 255;
  data[1] = (k >> 8) & 255;
  data[2] = (k >> 16) & 255;
  data[3] = (k >> 24) & 255;
  for (let i = 4; i < length; i++) data[i] = (k * 7 + i * 13) & 255;
}

test(`a FrameRing streamed from the host to two children: ${FRAMES} frames, each verified in both`, async (t) => {
  const host = createNodeHost(hostOptions());
  t.after(() => host.close());
  const children = forkPeers(host, 2);
  const ring = host.createFrameRing('video', { slots: 4, slotBytes: SLOT_BYTES, share: children });
  const seg = host.segments()[0];
  assert.equal(seg.kind, 'frame-ring');
  assert.equal(seg.grants.every((g) => g.readonly), true, 'frame-ring grants default to read-only');
  const logs = children.map(events);
  const runs = children.map((c) => rpc(c, { cmd: 'frames', name: 'video' }, 120_000));
  await until(() => logs.every((l) => l.some((e) => e.event === 'ready')), 20_000, 'readers attached');
  const framesOf = (log) => log.filter((e) => e.event === 'frame');
  for (let k = 0; k < FRAMES; k++) {
    const slot = ring.acquire();
    const length = 4 + ((k * 997) % (SLOT_BYTES - 4));
    fill(slot.data, k, length);
    ring.publish(slot, { byteLength: length });
    // lock-step, so that each reader gets every frame (the writer itself never waits for readers)
    await until(() => logs.every((l) => framesOf(l).some((e) => e.k === k)), 20_000, `frame ${k} in both readers`);
  }
  await Promise.all(children.map((c) => rpc(c, { cmd: 'stopFrames' })));
  const results = await Promise.all(runs);
  for (const [i, r] of results.entries()) {
    assert.deepEqual(r.bad, [], `reader ${i}: frames with wrong content or torn`);
    assert.deepEqual(r.seen, Array.from({ length: FRAMES }, (_, k) => k), `reader ${i}: every frame, in order`);
    assert.equal(r.stats.dropped, 0);
  }
  assert.equal(host.segments()[0].attachments.length, 2);
});

test('releasing a FrameRing unlinks it and revokes its readers', async (t) => {
  const host = createNodeHost(hostOptions());
  t.after(() => host.close());
  const [reader] = forkPeers(host, 1);
  const ring = host.createFrameRing('short', { slots: 2, slotBytes: 1024, share: 'all' });
  await assert.rejects(rpc(reader, { cmd: 'attach', name: 'short', readonly: false }), { code: 'ERR_SHM_BRIDGE_READONLY' });
  const log = events(reader);
  const run = rpc(reader, { cmd: 'frames', name: 'short' });
  await until(() => log.some((e) => e.event === 'ready'), 20_000, 'reader attached');
  const os = ring.name;
  ring.write(new Uint8Array(16), {});
  await until(() => log.some((e) => e.event === 'frame'), 20_000, 'first frame');
  host.release('short');
  if (!WINDOWS) assert.equal(shmExists(os), false);
  const revoked = await rpc(reader, { cmd: 'waitRevoked', name: 'short' });
  assert.equal(revoked[0].reason, 'released');
  assert.equal(revoked[0].closedBefore, true);
  // Windows: a segment goes with the last handle, here the reader's, closed when it was revoked
  await until(() => !shmExists(os), 5000, 'the ring gone once every process closed it');
  // the reader's frames() loop ends (writer closed) or fails with a coded error once its ring is closed
  await run.then(
    (r) => assert.ok(Array.isArray(r.seen)),
    (e) => assert.match(String(e.code), /^ERR_SHM_/),
  );
});

test("a child creates a FrameRing it writes: the app hears of it, grants it to another child, which verifies every frame and sees it gone with its writer", async (t) => {
  const host = createNodeHost(hostOptions());
  t.after(() => host.close());
  const [writer, reader] = forkPeers(host, 2);
  const created = [];
  host.on('segment-created', (child, info) => {
    created.push({ child, ...info });
    if (info.kind === 'frame-ring') host.grant(info.name, reader, { namespace: child });
  });
  const made = await rpc(writer, { cmd: 'createRing', name: 'camera', slots: 3, slotBytes: 4096 });
  assert.deepEqual(made, { isWriter: true, writerPid: writer.pid, slotCount: 3, slotBytes: 4096 });
  assert.equal(created.length, 1);
  assert.equal(created[0].child, writer);
  assert.deepEqual({ ...created[0], child: undefined }, { child: undefined, name: 'camera', kind: 'frame-ring', size: 4096 + 3 * 4096 });
  const seg = host.segments().find((s) => s.name === 'camera');
  assert.equal(seg.owner, writer);
  assert.equal(seg.kind, 'frame-ring');
  assert.deepEqual(seg.grants.map((g) => [g.peer === reader, g.readonly]), [[true, true]], "a ring's grant is read-only by default");
  const log = events(reader);
  const run = rpc(reader, { cmd: 'frames', name: 'camera' }, 60_000);
  await until(() => log.some((e) => e.event === 'ready'), 20_000, 'reader attached');
  const N = 50;
  for (let k = 0; k < N; k++) {
    await rpc(writer, { cmd: 'publish', name: 'camera', k, length: 4 + ((k * 331) % 4092) });
    await until(() => log.some((e) => e.event === 'frame' && e.k === k), 20_000, `frame ${k} in the reader`);
  }
  assert.deepEqual(log.filter((e) => e.event === 'frame' && !e.ok), [], 'each frame verified whole as it arrived');
  const os = seg.osName;
  writer.kill('SIGKILL');
  // the reader's stream ends with the writer: its death seen by the ring, or the revocation of the dead owner's grant
  await run.then(
    (r) => {
      assert.deepEqual(r.bad, [], 'every frame whole');
      assert.deepEqual(r.seen, Array.from({ length: N }, (_, k) => k), 'every frame, in order');
    },
    (e) => assert.equal(e.code, 'ERR_SHM_RING_WRITER_GONE'),
  );
  const revoked = await rpc(reader, { cmd: 'waitRevoked', name: 'camera' });
  assert.equal(revoked[0].reason, 'owner-gone');
  await until(() => !shmExists(os), 10_000, 'the ring unlinked with its writer');
  assert.deepEqual(host.segments(), []);
});
