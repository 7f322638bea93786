'use strict';
// The copy path in the core (a sandboxed window's preload maps nothing): copy attachments carry no OS
// name; read, write and frame go through the host's own mapping under the same grants, read-only
// rules and handles; frames are the newest after a number, with exact drop accounting; transports
// without binary data refuse it. In-memory transport (structured clones, like Electron's IPC); segments
// and rings are real.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { core, MemoryTransport, hostWithPeers, checkNoLeaks, connectClient, until, hostOptions, shmExists } = require('./fixtures/node-helpers');

checkNoLeaks();

// Windows has no /proc/self/maps; there the host is the only process holding the segment (its peers
// are in this process, on the copy path), so it is mapped while it exists.
const mapped = (osName) =>
  process.platform === 'win32' ? shmExists(osName) : fs.readFileSync('/proc/self/maps', 'utf8').includes(osName);

test('a copy attachment reads and writes through the host, says no OS name, and keeps read-only grants read-only', async () => {
  const { host, a, b, ok, fails } = hostWithPeers();
  const shm = host.create('data', 4096, { share: [a] });
  host.create('ro', 64, { share: [b], readonly: true });
  shm.buf.set([1, 2, 3, 4], 100);
  const att = await ok(a, { op: 'attach', name: 'data', copy: true });
  assert.equal(att.osName, '', 'a page that maps nothing is not told where the segment is');
  assert.equal(att.copy, true);
  const read = await ok(a, { op: 'read', handle: att.handle, offset: 100, length: 4 });
  assert.ok(read.bytes instanceof Uint8Array);
  assert.deepEqual([...read.bytes], [1, 2, 3, 4]);
  assert.equal(read.bytes.buffer.byteLength, 4, 'the reply owns exactly its bytes (IPC sends the whole buffer of a view)');
  assert.equal(await ok(a, { op: 'write', handle: att.handle, offset: 200, bytes: new Uint8Array([9, 8]) }), 2);
  assert.deepEqual([...shm.buf.subarray(200, 202)], [9, 8], 'the write reached the segment');
  await fails(a, { op: 'read', handle: att.handle, offset: 4000, length: 200 }, 'ERR_OUT_OF_RANGE');
  await fails(a, { op: 'write', handle: att.handle, offset: 4095, bytes: new Uint8Array(2) }, 'ERR_OUT_OF_RANGE');
  // read-only grant: a copy attachment may read, never write
  const ro = await ok(b, { op: 'attach', name: 'ro', copy: true });
  assert.equal(ro.readonly, true);
  await fails(b, { op: 'write', handle: ro.handle, offset: 0, bytes: new Uint8Array([1]) }, 'ERR_SHM_BRIDGE_READONLY');
  // handles are per peer: b cannot use a's
  await fails(b, { op: 'read', handle: att.handle + 100, offset: 0, length: 1 }, 'ERR_SHM_BRIDGE_UNKNOWN_HANDLE');
  // a mapping attachment is not a copy one
  const plain = await ok(a, { op: 'attach', name: 'data' });
  assert.notEqual(plain.osName, '');
  await fails(a, { op: 'read', handle: plain.handle, offset: 0, length: 1 }, 'ERR_SHM_BRIDGE_COPY_UNAVAILABLE');
  const info = host.segments().find((s) => s.name === 'data');
  assert.deepEqual(info.attachments.map((x) => x.copy).sort(), [false, true], 'segments() tells the paths apart');
  // malformed copy requests
  await fails(a, { op: 'write', handle: att.handle, offset: 0, bytes: [1, 2] }, 'ERR_SHM_BRIDGE_PROTOCOL');
  await fails(a, { op: 'read', handle: att.handle, offset: -1, length: 1 }, 'ERR_SHM_BRIDGE_PROTOCOL');
  await fails(a, { op: 'read', handle: att.handle, offset: 0, length: 2 ** 40 }, 'ERR_SHM_BRIDGE_PROTOCOL');
  await fails(a, { op: 'attach', name: 'data', copy: 'yes' }, 'ERR_SHM_BRIDGE_PROTOCOL');
});

test("a peer's own segment made on the copy path, and the host's mapping for copies closed with the segment", async () => {
  const { host, a, ok } = hostWithPeers();
  const made = await ok(a, { op: 'create', name: 'scratch', size: 8192, copy: true });
  assert.equal(made.osName, '');
  await ok(a, { op: 'write', handle: made.handle, offset: 8190, bytes: new Uint8Array([5, 6]) });
  assert.deepEqual([...(await ok(a, { op: 'read', handle: made.handle, offset: 8190, length: 2 })).bytes], [5, 6]);
  const osName = host.segments()[0].osName;
  assert.equal(mapped(osName), true, "the host maps it for copies (outside V8's memory: the copy strategy)");
  await ok(a, { op: 'release', name: 'scratch' });
  assert.deepEqual(host.segments(), []);
  // Windows: the segment's existence stands for the host's mapping, and a peer's release lets go of
  // the host's hold on the threadpool (host.ts #destroy), so it is gone soon after, not at once
  if (process.platform === 'win32') await until(() => !mapped(osName), 5000, 'the segment to go');
  assert.equal(mapped(osName), false, 'and unmaps it with the segment');
});

test('frames: the newest after a frame number, copied whole, with exact drop accounting; null when nothing is newer', async () => {
  const { host, a, ok, fails } = hostWithPeers();
  const ring = host.createFrameRing('video', { slots: 3, slotBytes: 64, share: [a] });
  const att = await ok(a, { op: 'attach', name: 'video', copy: true, readonly: true });
  assert.equal(await ok(a, { op: 'frame', handle: att.handle, after: -1 }), null, 'nothing published yet');
  const publish = (k) => ring.write(new Uint8Array(16).fill(k), { width: 2, height: 2, pixelFormat: 'rgba8' });
  publish(1);
  const first = await ok(a, { op: 'frame', handle: att.handle, after: -1 });
  assert.equal(first.frameNumber, 0);
  assert.equal(first.dropped, 0);
  assert.deepEqual({ width: first.width, height: first.height, stride: first.stride, pixelFormat: first.pixelFormat, byteLength: first.byteLength }, { width: 2, height: 2, stride: 8, pixelFormat: 'rgba8', byteLength: 16 });
  assert.deepEqual([...first.bytes], new Array(16).fill(1));
  assert.equal(first.bytes.buffer.byteLength, 16, 'exactly the frame');
  assert.equal(await ok(a, { op: 'frame', handle: att.handle, after: 0 }), null, 'nothing newer than frame 0');
  for (let k = 2; k <= 6; k++) publish(k); // frames 1..5
  const newest = await ok(a, { op: 'frame', handle: att.handle, after: 0 });
  assert.equal(newest.frameNumber, 5);
  assert.equal(newest.dropped, 4, 'frames 1-4 were skipped: counted');
  assert.deepEqual([...newest.bytes], new Array(16).fill(6));
  const plainSeg = host.create('plain', 64, { share: [a] });
  void plainSeg;
  const plain = await ok(a, { op: 'attach', name: 'plain', copy: true });
  await fails(a, { op: 'frame', handle: plain.handle, after: -1 }, 'ERR_SHM_RING_FORMAT');
  await fails(a, { op: 'frame', handle: att.handle, after: -2 }, 'ERR_SHM_BRIDGE_PROTOCOL');
  ring.close();
});

test('the client: copy attach, read and write (split over the request limit), frame', async () => {
  const transport = new MemoryTransport();
  const host = new core.BridgeHost(transport, hostOptions());
  test.after(() => host.close());
  const peer = transport.addPeer('p');
  const { client } = connectClient(transport, peer);
  await client.hello();
  const shm = host.create('big', 70 * 1048576, { share: [peer] }); // over MAX_COPY_BYTES (64 MiB)
  shm.buf[70 * 1048576 - 1] = 77;
  const att = await client.attach('big', { copy: true });
  assert.equal(att.copy, true);
  const all = await client.read(att.handle, 0, 70 * 1048576);
  assert.equal(all.byteLength, 70 * 1048576);
  assert.equal(all[70 * 1048576 - 1], 77);
  const payload = new Uint8Array(66 * 1048576).fill(3);
  assert.equal(await client.write(att.handle, 1, payload), payload.byteLength);
  assert.equal(shm.buf[1 + 66 * 1048576 - 1], 3);
  assert.equal(shm.buf[0], 0);
  client.close();
});

test('a transport without binary data (the Node channel) refuses copy attachments with a code', async () => {
  const transport = new MemoryTransport();
  transport.binary = false;
  const host = new core.BridgeHost(transport, hostOptions());
  test.after(() => host.close());
  const p = transport.addPeer('p');
  host.create('x', 64, { share: 'all' });
  const reply = await transport.request(p, { v: 1, id: 1, op: 'attach', name: 'x', copy: true });
  assert.equal(reply.error.code, 'ERR_SHM_BRIDGE_COPY_UNAVAILABLE');
  const created = await transport.request(p, { v: 1, id: 2, op: 'create', name: 'y', size: 64, copy: true });
  assert.equal(created.error.code, 'ERR_SHM_BRIDGE_COPY_UNAVAILABLE');
  assert.equal(host.stats.attachments, 0);
  await until(() => host.segments().length === 1, 1000, 'nothing made');
});
