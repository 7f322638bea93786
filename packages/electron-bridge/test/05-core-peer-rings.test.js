'use strict';
// createFrameRing: a peer that is a process (a child the host started, e.g. a Python producer) creates
// a FrameRing it writes. The host makes the segment (space reserved, budgets charged), formats its
// header for the peer's pid, lists it as a 'frame-ring' the peer owns and tells the app (the
// `created` hook, NodeHost's 'segment-created'). Peers without a pid (windows) are refused with a code.
// In-memory transport; segments and rings are real. The peer here is this process (its pid), so the
// test can open the writer end the ring was formatted for.
const test = require('node:test');
const assert = require('node:assert/strict');
const { FrameRing, SharedMemory } = require('@shmkit/shm');
const { core, MemoryTransport, checkNoLeaks, hostOptions, requester, until, shmExists } = require('./fixtures/node-helpers');

checkNoLeaks();

function setup({ pids = true, options = {} } = {}) {
  const transport = new MemoryTransport();
  if (pids) transport.pidOf = (peer) => peer.pid;
  const created = [];
  const host = new core.BridgeHost(transport, hostOptions(options), { created: (peer, info) => created.push({ peer: peer.label, ...info }) });
  const writer = transport.addPeer('writer');
  writer.pid = process.pid;
  const win = transport.addPeer('window'); // no pid: what a window is to the host
  const { ask, ok, fails } = requester(transport);
  test.after(() => host.close());
  return { transport, host, writer, win, ask, ok, fails, created };
}

test("ringSize() is @shmkit/shm's FrameRing.sizeFor() for every geometry a peer may ask for", () => {
  for (const [slots, slotBytes] of [[2, 1], [3, 4096], [3, 4097], [8, 1920 * 1080 * 4], [62, 100], [63, 100], [1000, 64], [core.MAX_RING_SLOTS, 1]]) {
    assert.equal(core.ringSize(slots, slotBytes), FrameRing.sizeFor({ slots, slotBytes }), `${slots} × ${slotBytes}`);
  }
});

test('a process peer creates a ring it writes: listed as its frame-ring, the app told, the header formatted for its pid', async () => {
  const { host, writer, win, ok, created } = setup();
  const made = await ok(writer, { op: 'createFrameRing', name: 'video', slots: 3, slotBytes: 4096 });
  assert.equal(made.size, FrameRing.sizeFor({ slots: 3, slotBytes: 4096 }));
  assert.equal(made.readonly, false);
  assert.deepEqual(created, [{ peer: 'writer', name: 'video', kind: 'frame-ring', size: made.size }]);
  const info = host.segments().find((s) => s.name === 'video');
  assert.equal(info.kind, 'frame-ring');
  assert.equal(info.owner, writer);
  // the peer opens the writer end (here: this process is the peer); a reader sees the peer as the writer
  const ring = FrameRing.attach(made.osName, { writer: true });
  const reader = FrameRing.attach(made.osName);
  try {
    assert.equal(ring.isWriter, true);
    assert.equal(reader.writerPid, process.pid);
    assert.deepEqual([reader.slotCount, reader.slotBytes], [3, 4096]);
    ring.write(new Uint8Array(16).fill(7), { width: 2, height: 2, pixelFormat: 'rgba8' });
    const frame = reader.latest();
    assert.equal(frame.frameNumber, 0);
    assert.deepEqual([...frame.data.subarray(0, 16)], new Array(16).fill(7));
  } finally {
    ring.close();
    reader.close();
  }
  // the app grants it like any peer's segment; the window reads it by copy as any ring
  host.grant('video', win, { namespace: writer, readonly: true });
  const att = await ok(win, { op: 'attach', name: 'video', copy: true, readonly: true });
  const frame = await ok(win, { op: 'frame', handle: att.handle, after: -1 });
  assert.equal(frame.frameNumber, 0);
  assert.deepEqual([...frame.bytes], new Array(16).fill(7));
  // the ring goes with its owner, as any segment a peer created
  await ok(writer, { op: 'release', name: 'video' });
  assert.deepEqual(host.segments(), []);
});

test('refused with a code: a peer the host cannot watch, bad geometry, over the limits, a name taken', async () => {
  const { writer, win, fails, ok, created } = setup({ options: { maxCreateBytes: 1 << 20 } });
  const e = await fails(win, { op: 'createFrameRing', name: 'v', slots: 3, slotBytes: 64 }, 'ERR_SHM_BRIDGE_RING_UNAVAILABLE');
  assert.match(e.message, /fork\(\) or spawn\(\)/);
  for (const bad of [
    { slots: 1, slotBytes: 64 },
    { slots: core.MAX_RING_SLOTS + 1, slotBytes: 64 },
    { slots: 2.5, slotBytes: 64 },
    { slots: 3, slotBytes: 0 },
    { slots: 3, slotBytes: -1 },
    { slots: '3', slotBytes: 64 },
    { slots: 3 },
    { slotBytes: 64 },
  ]) {
    await fails(writer, { op: 'createFrameRing', name: 'v', ...bad }, 'ERR_SHM_BRIDGE_PROTOCOL');
  }
  await fails(writer, { op: 'createFrameRing', name: 'v', slots: 3, slotBytes: 1 << 20 }, 'ERR_SHM_BRIDGE_LIMIT');
  await fails(writer, { op: 'createFrameRing', name: 'v', slots: 2, slotBytes: Number.MAX_SAFE_INTEGER }, 'ERR_SHM_BRIDGE_LIMIT');
  await fails(writer, { op: 'createFrameRing', name: '../v', slots: 3, slotBytes: 64 }, 'ERR_SHM_BRIDGE_PROTOCOL');
  await ok(writer, { op: 'create', name: 'taken', size: 64 });
  await fails(writer, { op: 'createFrameRing', name: 'taken', slots: 3, slotBytes: 64 }, 'ERR_SHM_BRIDGE_EXISTS');
  assert.deepEqual(created.map((c) => c.kind), ['segment'], 'the app is told of what was made, and only that');
});

test('a transport without process ids (Electron windows) refuses every createFrameRing', async () => {
  const { writer, fails } = setup({ pids: false });
  await fails(writer, { op: 'createFrameRing', name: 'v', slots: 3, slotBytes: 64 }, 'ERR_SHM_BRIDGE_RING_UNAVAILABLE');
});

test("a ring counts against the peer's byte budget as any segment", async () => {
  const { writer, fails, ok, host } = setup({ options: { maxPeerBytes: 64 * 1024 } });
  await ok(writer, { op: 'createFrameRing', name: 'a', slots: 4, slotBytes: 8192 }); // 4 KiB + 32 KiB
  const e = await fails(writer, { op: 'createFrameRing', name: 'b', slots: 4, slotBytes: 8192 }, 'ERR_SHM_BRIDGE_LIMIT');
  assert.match(e.message, /bytes/);
  assert.deepEqual(host.segments().map((s) => s.name), ['a']);
});

test('a cancelled createFrameRing (the client timed out) is undone', async () => {
  const { writer, ok, host } = setup();
  const made = await ok(writer, { op: 'createFrameRing', name: 'late', slots: 2, slotBytes: 64 });
  assert.ok(made.osName);
  // the create above was request 1 (requester's counter): the cancel names it
  await ok(writer, { op: 'cancel', request: 1 });
  assert.deepEqual(host.segments(), [], 'the ring is gone');
  await until(() => !shmExists(made.osName), 5000, 'the ring unlinked (off the event loop)');
  assert.throws(() => SharedMemory.attach(made.osName), { code: 'ENOENT' });
});
