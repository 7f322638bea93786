'use strict';
// The registry and lifecycle rules of BridgeHost, driven through an in-memory transport whose peers
// are plain objects. Segments are real (@shmkit/shm): "unlinked" means gone from /dev/shm.
const test = require('node:test');
const assert = require('node:assert/strict');
const { core, MemoryTransport, hostWithPeers, checkNoLeaks, shmExists, until, WINDOWS, osSize } = require('./fixtures/node-helpers');

checkNoLeaks();

const setup = hostWithPeers;

test('owner peer gone: unlinked, host mapping closed, grantees revoked with their handles', async () => {
  const { transport, host, a, b, c, ok } = setup();
  const shm = host.create('owned', 4096, { owner: a, share: [b] });
  const osName = shm.name;
  const buf = shm.buf;
  buf[0] = 7;
  const handleB = (await ok(b, { op: 'attach', name: 'owned' })).handle;
  await ok(a, { op: 'attach', name: 'owned' });
  assert.ok(shmExists(osName));
  transport.gone(a);
  // a peer's going frees the pages off the event loop: gone from /dev/shm a moment later
  await until(() => !shmExists(osName), 5000, 'name gone from /dev/shm');
  assert.equal(shm.closed, true, 'host mapping closed');
  assert.equal(buf.length, 0, 'the host\'s views are detached');
  assert.deepEqual(host.segments(), []);
  assert.deepEqual(transport.takeEvents(b), [{ v: 1, event: 'revoked', name: 'owned', handles: [handleB], reason: 'owner-gone' }]);
  assert.deepEqual(transport.takeEvents(c), [], 'a peer without access hears nothing');
  assert.deepEqual(host.stats, { segments: 0, peers: 0, attachments: 0, grants: 0, seen: 1 });
});

test('grantee gone: its grants and attachments go, nothing is unlinked', async () => {
  const { transport, host, a, b, ok } = setup();
  const shm = host.create('kept', 100, { owner: a, share: [b] });
  await ok(b, { op: 'attach', name: 'kept' });
  await ok(b, { op: 'attach', name: 'kept', readonly: true });
  const grantee = host.segments()[0];
  assert.equal(grantee.attachments.length, 2);
  transport.gone(b);
  const after = host.segments()[0];
  assert.deepEqual(after.grants, []);
  assert.deepEqual(after.attachments, []);
  assert.ok(shmExists(shm.name));
  assert.equal(shm.closed, false);
  assert.deepEqual(transport.takeEvents(a), []);
});

test('peer reset drops its attachments only; grants and owned segments stay', async () => {
  const { transport, host, a, b, ok } = setup();
  const owned = host.create('mine', 100, { owner: a, share: [b] });
  host.create('theirs', 100, { share: [a] });
  await ok(a, { op: 'attach', name: 'mine' });
  await ok(a, { op: 'attach', name: 'theirs' });
  await ok(b, { op: 'attach', name: 'mine' });
  transport.reset(a);
  const byName = Object.fromEntries(host.segments().map((s) => [s.name, s]));
  assert.deepEqual(byName.mine.attachments.map((x) => x.peer.label), ['b']);
  assert.deepEqual(byName.theirs.attachments, []);
  assert.deepEqual(byName.theirs.grants.map((g) => g.peer.label), ['a']);
  assert.ok(shmExists(owned.name));
  assert.equal(owned.closed, false);
  // the reset peer may attach again
  await ok(a, { op: 'attach', name: 'theirs' });
  assert.deepEqual(transport.takeEvents(a), []);
  assert.deepEqual(transport.takeEvents(b), []);
});

test('app-owned segments live until host.close(), which unlinks all and tells peers', async () => {
  const { transport, host, a, b, ok } = setup();
  const s1 = host.create('app1', 10, { share: 'all' });
  const ring = host.createFrameRing('ring', { slots: 2, slotBytes: 64, share: [b] });
  const h = (await ok(a, { op: 'attach', name: 'app1' })).handle;
  transport.gone(b);
  assert.ok(shmExists(s1.name) && shmExists(ring.name));
  host.close();
  assert.equal(shmExists(s1.name), false);
  assert.equal(shmExists(ring.name), false);
  assert.equal(s1.closed, true);
  assert.equal(transport.closed, true);
  assert.deepEqual(transport.takeEvents(a), [{ v: 1, event: 'revoked', name: 'app1', handles: [h], reason: 'host-closed' }]);
  host.close(); // idempotent
  assert.throws(() => host.create('again', 1), { code: 'ERR_SHM_BRIDGE_CLOSED' });
  assert.equal((await transport.request(a, { v: 1, id: 1, op: 'list' })).error.code, 'ERR_SHM_BRIDGE_CLOSED');
});

test('access: owner rw, grants ro/rw, ungranted and unknown names refused alike, page-facing data has no OS name', async () => {
  const { host, a, b, c, ok, fails } = setup();
  host.create('ro', 64, { share: [a], readonly: true });
  host.create('rw', 64, { share: [a] });
  // a segment the peer may not see is answered exactly as a missing one: code and message
  const hidden = await fails(b, { op: 'attach', name: 'ro' }, 'ERR_SHM_BRIDGE_NOT_FOUND');
  const missing = await fails(b, { op: 'attach', name: 'nope' }, 'ERR_SHM_BRIDGE_NOT_FOUND');
  assert.equal(hidden.message.replace('ro', 'NAME'), missing.message.replace('nope', 'NAME'));
  await fails(a, { op: 'attach', name: 'ro', readonly: false }, 'ERR_SHM_BRIDGE_READONLY');
  assert.equal((await ok(a, { op: 'attach', name: 'ro' })).readonly, true, 'as granted');
  assert.equal((await ok(a, { op: 'attach', name: 'rw' })).readonly, false);
  assert.equal((await ok(a, { op: 'attach', name: 'rw', readonly: true })).readonly, true);
  const list = await ok(a, { op: 'list' });
  assert.deepEqual(list.map((e) => Object.keys(e).sort()), [['kind', 'name', 'owned', 'readonly', 'size'], ['kind', 'name', 'owned', 'readonly', 'size']]);
  assert.deepEqual(await ok(c, { op: 'list' }), []);
});

test('share all, revoke (a deny for share-all), grant downgrade revokes read-write attachments', async () => {
  const { transport, host, a, b, ok, fails } = setup();
  host.create('everyone', 64, { share: 'all' });
  const ha = (await ok(a, { op: 'attach', name: 'everyone' })).handle;
  await ok(b, { op: 'attach', name: 'everyone' });
  host.revoke('everyone', a);
  assert.deepEqual(transport.takeEvents(a), [{ v: 1, event: 'revoked', name: 'everyone', handles: [ha], reason: 'revoked' }]);
  await fails(a, { op: 'attach', name: 'everyone' }, 'ERR_SHM_BRIDGE_NOT_FOUND');
  await ok(b, { op: 'attach', name: 'everyone' });

  host.grant('everyone', a, { readonly: false });
  const rw = (await ok(a, { op: 'attach', name: 'everyone' })).handle;
  const ro = (await ok(a, { op: 'attach', name: 'everyone', readonly: true })).handle;
  host.grant('everyone', a, { readonly: true });
  assert.deepEqual(transport.takeEvents(a), [{ v: 1, event: 'revoked', name: 'everyone', handles: [rw], reason: 'grant-changed' }]);
  const seg = host.segments()[0];
  assert.deepEqual(seg.attachments.filter((x) => x.peer === a).map((x) => x.handle), [ro]);
  // revoking a peer that never had access is a no-op that tells nobody anything
  const c = transport.addPeer('c');
  host.grant('everyone', c);
  transport.gone(c);
  const grants = host.stats.grants;
  host.revoke('everyone', c);
  assert.deepEqual(c.inbox, []);
  assert.equal(host.stats.grants, grants, 'no deny entry kept for a peer that is gone');
  assert.throws(() => host.revoke('nope', a), { code: 'ERR_SHM_BRIDGE_NOT_FOUND' });
});

test('peer-created segments: owned by the peer, host mapping closed at once, release by owner only', async () => {
  const { transport, host, a, b, ok, fails, osName } = setup();
  const created = await ok(a, { op: 'create', name: 'made', size: 5000 });
  assert.equal(created.readonly, false);
  assert.equal(created.size, osSize(5000));
  assert.equal(created.kind, 'segment');
  assert.ok(shmExists(created.osName));
  await fails(a, { op: 'create', name: 'made', size: 1 }, 'ERR_SHM_BRIDGE_EXISTS');
  await fails(b, { op: 'attach', name: 'made' }, 'ERR_SHM_BRIDGE_NOT_FOUND');
  assert.throws(() => host.grant('made', b), { code: 'ERR_SHM_BRIDGE_NOT_FOUND' }, "not in the app's namespace");
  host.grant('made', b, { namespace: a });
  const hb = (await ok(b, { op: 'attach', name: 'made' })).handle;
  await fails(b, { op: 'release', name: 'made' }, 'ERR_SHM_BRIDGE_NOT_OWNER');
  await fails(b, { op: 'release', name: 'other' }, 'ERR_SHM_BRIDGE_NOT_FOUND');
  await ok(a, { op: 'release', name: 'made' });
  await until(() => !shmExists(created.osName), 5000, 'unlinked');
  assert.deepEqual(transport.takeEvents(b), [{ v: 1, event: 'revoked', name: 'made', handles: [hb], reason: 'released' }]);
  // the owner's own handle (create attaches) is revoked too: its client closes that mapping
  assert.deepEqual(transport.takeEvents(a), [{ v: 1, event: 'revoked', name: 'made', handles: [created.handle], reason: 'released' }]);
  const quiet = await ok(a, { op: 'create', name: 'quiet', size: 10 });
  await ok(a, { op: 'detach', handle: quiet.handle });
  await ok(a, { op: 'release', name: 'quiet' });
  assert.deepEqual(transport.takeEvents(a), [], 'an owner that holds no handle is not told what it did');
  // a peer's creations go when the peer goes
  const again = await ok(a, { op: 'create', name: 'made', size: 10 });
  transport.gone(a);
  await until(() => !shmExists(again.osName), 5000, 'unlinked with its owner');
  assert.equal(host.segments().length, 0);
  void osName;
});

test('detach: only the peer\'s own handles', async () => {
  const { host, a, b, ok, fails } = setup();
  host.create('d', 10, { share: [a, b] });
  const h = (await ok(a, { op: 'attach', name: 'd' })).handle;
  await fails(b, { op: 'detach', handle: h }, 'ERR_SHM_BRIDGE_UNKNOWN_HANDLE');
  await fails(a, { op: 'detach', handle: h + 1000 }, 'ERR_SHM_BRIDGE_UNKNOWN_HANDLE');
  assert.equal(await ok(a, { op: 'detach', handle: h }), null);
  await fails(a, { op: 'detach', handle: h }, 'ERR_SHM_BRIDGE_UNKNOWN_HANDLE');
  assert.deepEqual(host.segments()[0].attachments, []);
});

test('quotas and limits', async () => {
  const { host, a, ok, fails } = setup({ maxCreateBytes: 4096, maxSegmentsPerPeer: 2, maxAttachmentsPerPeer: 3 });
  await fails(a, { op: 'create', name: 'big', size: 4097 }, 'ERR_SHM_BRIDGE_LIMIT');
  await ok(a, { op: 'create', name: 'one', size: 4096 });
  await ok(a, { op: 'create', name: 'two', size: 1 });
  await fails(a, { op: 'create', name: 'three', size: 1 }, 'ERR_SHM_BRIDGE_LIMIT');
  await ok(a, { op: 'attach', name: 'one' });
  await fails(a, { op: 'attach', name: 'one' }, 'ERR_SHM_BRIDGE_LIMIT');
  assert.equal(host.segments().length, 2);
  assert.equal((await ok(a, { op: 'hello' })).maxCreateBytes, 4096);
});

test('host API argument checks and unknown peers', async () => {
  const { transport, host, a } = setup();
  assert.throws(() => host.create('bad/name', 10), { code: 'ERR_INVALID_ARG_VALUE' });
  assert.throws(() => host.create(5, 10), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => host.create('x', 0), { code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => host.create('x', '10'), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => host.create('x', 10, { owner: {} }), { code: 'ERR_SHM_BRIDGE_UNKNOWN_PEER' });
  assert.throws(() => host.create('x', 10, { share: [a, {}] }), { code: 'ERR_SHM_BRIDGE_UNKNOWN_PEER' });
  assert.throws(() => host.create('x', 10, { share: 'some' }), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.equal(host.segments().length, 0, 'failed creates made nothing');
  host.create('x', 10);
  assert.throws(() => host.create('x', 10), { code: 'ERR_SHM_BRIDGE_EXISTS' });
  assert.throws(() => host.grant('x', {}), { code: 'ERR_SHM_BRIDGE_UNKNOWN_PEER' });
  assert.throws(() => host.grant('nope', a), { code: 'ERR_SHM_BRIDGE_NOT_FOUND' });
  assert.throws(() => host.grant('x', a, null), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => host.grant('x', a, { readonly: 'yes' }), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.deepEqual(host.segments()[0].grants, [], 'refused grants changed nothing');
  assert.throws(() => new core.BridgeHost(new MemoryTransport(), { osNamePrefix: 'bad/' }), { code: 'ERR_INVALID_ARG_VALUE' });
  assert.throws(() => new core.BridgeHost(new MemoryTransport(), { maxCreateBytes: 0 }), { code: 'ERR_OUT_OF_RANGE' });
  // a message read after its peer went leaves nothing behind
  transport.peers.delete(a);
  const reply = await transport.request(a, { v: 1, id: 1, op: 'create', name: 'late', size: 10 });
  assert.equal(reply.error.code, 'ERR_SHM_BRIDGE_UNKNOWN_PEER');
  assert.equal(host.segments().length, 1);
});

test('a segment unlinked behind the host\'s back (a peer process can) still goes cleanly when its owner goes', async () => {
  const { SharedMemory } = require('@shmkit/shm');
  const { transport, host, a, b, ok } = setup();
  const made = await ok(a, { op: 'create', name: 'stolen', size: 64 });
  host.grant('stolen', b, { namespace: a });
  const hb = (await ok(b, { op: 'attach', name: 'stolen' })).handle;
  SharedMemory.unlink(made.osName);
  assert.doesNotThrow(() => transport.gone(a));
  assert.deepEqual(host.segments(), []);
  assert.deepEqual(transport.takeEvents(b), [{ v: 1, event: 'revoked', name: 'stolen', handles: [hb], reason: 'owner-gone' }]);
});

test('an OS failure creating a peer\'s segment is a coded reply that does not reveal the OS name', async () => {
  const { a, fails, host } = setup({ maxCreateBytes: 2 ** 50, maxBytesPerPeer: 2 ** 51, maxPeerBytes: 2 ** 51 });
  // reserved at create: larger than the whole filesystem is refused at once, before any page is allocated
  // (Windows: larger than the commit limit, charged in full at create: ENOMEM, with no filesystem to describe)
  const error = await fails(a, { op: 'create', name: 'too-big', size: 2 ** 50 }, WINDOWS ? 'ENOMEM' : 'ENOSPC');
  assert.doesNotMatch(error.message, /[A-Za-z0-9]+_[0-9a-f]{16}/, 'no OS name in what may reach page script');
  assert.doesNotMatch(error.message, /\/dev\/shm\/|psm_|shmkit-test/, 'nor any other segment the OS message may list');
  assert.match(error.message, /too-big/);
  if (!WINDOWS) assert.match(error.message, /free of/);
  assert.deepEqual(host.segments(), []);
});
