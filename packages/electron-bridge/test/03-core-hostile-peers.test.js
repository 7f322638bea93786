'use strict';
// What a hostile or buggy peer cannot do to the host or to other peers, through the core (in-memory
// transport; segments are real): take a name the app will use, learn another peer's names, exceed its
// byte budget, fill the host's replies without bound; and the client undoing what a request that timed
// out did after all. The same over real processes: 13-node-channel.test.js; in a small tmpfs:
// 14-node-space.test.js.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { pageSize } = require('@shmkit/shm');
const { core, MemoryTransport, hostWithPeers, checkNoLeaks, connectClient, until, shmNamesWithPrefix, osSize } = require('./fixtures/node-helpers');

checkNoLeaks();

const setup = hostWithPeers;

test("squatting: a peer that creates a name first cannot take it from the app, nor hand a victim its memory", async () => {
  const { host, a: attacker, b: victim, ok } = setup();
  const squat = await ok(attacker, { op: 'create', name: 'video', size: 4096 });
  // the app's create of the same name is not refused (it threw EXISTS before)
  const ring = host.createFrameRing('video', { slots: 2, slotBytes: 1024 });
  host.grant('video', victim);
  const got = await ok(victim, { op: 'attach', name: 'video' });
  assert.equal(got.osName, ring.name, "the victim gets the app's ring");
  assert.notEqual(got.osName, squat.osName);
  assert.equal(got.kind, 'frame-ring');
  // the attacker still sees its own under that name; the app can name it only with its namespace
  assert.equal((await ok(attacker, { op: 'attach', name: 'video' })).osName, squat.osName);
  const both = host.segments().filter((s) => s.name === 'video');
  assert.deepEqual(both.map((s) => (s.namespace === 'host' ? 'host' : s.namespace.label)).sort(), ['a', 'host']);
});

test("probing: another peer's private segments answer exactly as missing names, for every op", async () => {
  const { host, a, b, ok, fails } = setup();
  await ok(a, { op: 'create', name: 'secret', size: 100 });
  host.create('app-private', 100, { share: [a] });
  const error = async (name) => (await fails(b, { op: 'attach', name }, 'ERR_SHM_BRIDGE_NOT_FOUND')).message.replace(name, '<name>');
  assert.equal(await error('secret'), await error('never-existed'));
  assert.equal(await error('app-private'), await error('never-existed'));
  const release = async (name) => (await fails(b, { op: 'release', name }, 'ERR_SHM_BRIDGE_NOT_FOUND')).message.replace(name, '<name>');
  assert.equal(await release('secret'), await release('never-existed'));
  assert.equal(await release('app-private'), await release('never-existed'));
  assert.deepEqual(await ok(b, { op: 'list' }), []);
  // create: a name b cannot see is free for b (its own namespace), whoever else uses it
  await ok(b, { op: 'create', name: 'secret', size: 10 });
  await ok(b, { op: 'create', name: 'app-private', size: 10 });
  assert.deepEqual((await ok(b, { op: 'list' })).map((e) => [e.name, e.owned, e.size]), [['app-private', true, osSize(10)], ['secret', true, osSize(10)]]);
  assert.equal((await ok(a, { op: 'attach', name: 'secret' })).size, osSize(100), "a's is untouched");
});

test('a peer resolves its own names first, then the app\'s it may see, then other peers\' granted to it; the host refuses grants it could not reach', async () => {
  const { transport, host, a, b, ok, fails } = setup();
  host.create('shared', 64, { share: 'all' });
  await ok(a, { op: 'create', name: 'scratch', size: 128 });
  host.grant('scratch', b, { namespace: a, readonly: true });
  assert.equal((await ok(b, { op: 'attach', name: 'scratch' })).readonly, true, "a's, granted read-only");
  await fails(b, { op: 'attach', name: 'scratch', readonly: false }, 'ERR_SHM_BRIDGE_READONLY');
  // b cannot create a name it sees (no leak: it sees it)
  await fails(b, { op: 'create', name: 'scratch', size: 1 }, 'ERR_SHM_BRIDGE_EXISTS');
  await fails(b, { op: 'create', name: 'shared', size: 1 }, 'ERR_SHM_BRIDGE_EXISTS');
  // a grant that the peer could not reach by name is refused to the host
  await ok(b, { op: 'create', name: 'mine', size: 1 });
  host.create('mine', 64);
  assert.throws(() => host.grant('mine', b), { code: 'ERR_SHM_BRIDGE_EXISTS' }, 'b has its own "mine"');
  const c = transport.addPeer('c');
  await ok(c, { op: 'create', name: 'scratch', size: 32 });
  assert.throws(() => host.grant('scratch', b, { namespace: c }), { code: 'ERR_SHM_BRIDGE_EXISTS' }, "b sees a's scratch");
  host.create('scratch', 16);
  assert.throws(() => host.grant('scratch', b), { code: 'ERR_SHM_BRIDGE_EXISTS' }, "it would hide a's scratch from b");
  assert.throws(() => host.grant('scratch', b, { namespace: {} }), { code: 'ERR_SHM_BRIDGE_NOT_FOUND' });
  assert.throws(() => host.grant('nothing', b, { namespace: a }), { code: 'ERR_SHM_BRIDGE_NOT_FOUND' });
  // revoking a's scratch from b: b hears about it, and then the name is free for b
  host.revoke('scratch', b, { namespace: a });
  assert.deepEqual(transport.takeEvents(b).map((e) => [e.name, e.reason]), [['scratch', 'revoked']]);
  await fails(b, { op: 'attach', name: 'scratch' }, 'ERR_SHM_BRIDGE_NOT_FOUND');
  await ok(b, { op: 'create', name: 'scratch', size: 8 });
  // release by namespace, from the host
  host.release('scratch', { namespace: a });
  assert.equal(host.segments().filter((s) => s.name === 'scratch').length, 3, "the app's, b's and c's stay");
  // a segment that goes is announced only to the peers that see it by that name
  host.release('scratch');
  assert.deepEqual(transport.takeEvents(b), [], "b's own scratch hides the app's: b is told nothing about the app's");
  assert.equal(host.stats.peers, 2, 'b and c keep state; a, which holds nothing now, none');
});

test('byte budgets: per peer and for all peers, counted in whole pages, freed when segments go', async () => {
  const page = pageSize;
  const { transport, host, a, b, ok, fails } = setup({ maxBytesPerPeer: 4 * page, maxPeerBytes: 6 * page });
  assert.equal((await ok(a, { op: 'hello' })).maxBytesPerPeer, 4 * page);
  await ok(a, { op: 'create', name: 'one', size: 1 }); // one page
  await ok(a, { op: 'create', name: 'two', size: 2 * page }); // two pages
  const over = await fails(a, { op: 'create', name: 'three', size: page + 1 }, 'ERR_SHM_BRIDGE_LIMIT'); // two more: 5 > 4
  assert.match(over.message, /budget/);
  await ok(a, { op: 'create', name: 'three', size: page });
  assert.equal(host.peerBytes(a), 4 * page);
  await ok(b, { op: 'create', name: 'one', size: 2 * page });
  await fails(b, { op: 'create', name: 'two', size: 1 }, 'ERR_SHM_BRIDGE_LIMIT'); // all peers: 7 > 6
  assert.equal(host.peerBytes(), 6 * page);
  // the app's own segments are outside the peers' budgets
  host.create('big', 16 * page);
  await ok(a, { op: 'release', name: 'two' });
  await ok(b, { op: 'create', name: 'two', size: 1 });
  transport.gone(a);
  assert.equal(host.peerBytes(), 3 * page);
  assert.equal(host.peerBytes(a), 0);
});

test('budget defaults come from the size of the shared-memory filesystem', { skip: process.platform !== 'linux' && 'Linux: /dev/shm' }, async () => {
  const { host } = setup();
  const { blocks, bsize } = fs.statfsSync('/dev/shm');
  const size = blocks * bsize;
  const floorPage = (n) => Math.floor(n / pageSize) * pageSize;
  assert.equal(host.limits.maxBytesPerPeer, floorPage(size / 4));
  assert.equal(host.limits.maxPeerBytes, floorPage(size / 2));
  assert.throws(() => new core.BridgeHost(new MemoryTransport(), { maxBytesPerPeer: 0 }), { code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => new core.BridgeHost(new MemoryTransport(), { maxPeerBytes: 1.5 }), { code: 'ERR_OUT_OF_RANGE' });
});

test('segments peers create are reserved at create: the filesystem shows their pages allocated at once', { skip: process.platform !== 'linux' && 'Linux: /dev/shm' }, async () => {
  const { a, ok } = setup();
  const made = await ok(a, { op: 'create', name: 'reserved', size: 64 * pageSize });
  const blocks = fs.statSync(`/dev/shm/${made.osName}`).blocks * 512;
  assert.equal(blocks, 64 * pageSize, 'every page is allocated (a sparse create would show 0)');
});

test('list is paged: 256 entries a reply, sorted, the next page after the last name; the client gathers them all', async () => {
  const { transport, host, a, ok, fails } = setup({ maxSegmentsPerPeer: 600 });
  const names = [];
  for (let i = 0; i < 300; i++) names.push(host.create(`app-${String(i).padStart(3, '0')}`, 1, { share: [a] }) && `app-${String(i).padStart(3, '0')}`);
  for (let i = 0; i < 300; i++) {
    const name = `own-${'x'.repeat(100)}-${String(i).padStart(3, '0')}`;
    await ok(a, { op: 'create', name, size: 1 });
    names.push(name);
  }
  names.sort();
  const first = await ok(a, { op: 'list' });
  assert.equal(first.length, 256);
  assert.deepEqual(first.map((e) => e.name), names.slice(0, 256));
  const second = await ok(a, { op: 'list', after: first.at(-1).name });
  assert.deepEqual(second.map((e) => e.name), names.slice(256, 512));
  await fails(a, { op: 'list', after: 'bad name' }, 'ERR_SHM_BRIDGE_PROTOCOL');
  const reply = JSON.stringify(first);
  assert.ok(reply.length < 64 * 1024, `a page is bounded: ${reply.length} bytes`);
  const { client } = connectClient(transport, a);
  await client.hello();
  const all = await client.list();
  assert.deepEqual(all.map((e) => e.name), names);
  client.close();
});

test("an owner's release revokes its own handles too (its mappings close; a later detach is not UNKNOWN_HANDLE)", async () => {
  const { transport, host, a } = setup();
  const { client } = connectClient(transport, a);
  const made = await client.create('mine', 4096);
  const attached = await client.attach('mine');
  const closed = [];
  assert.equal(client.track(made.handle, () => closed.push('created')), null);
  assert.equal(client.track(attached.handle, () => closed.push('attached')), null);
  const revoked = [];
  client.on('revoked', (info) => revoked.push(info));
  await client.release('mine');
  await until(() => revoked.length === 1, 2000, 'revoked');
  assert.deepEqual(revoked[0], { name: 'mine', reason: 'released', handles: [made.handle, attached.handle] });
  assert.deepEqual(closed.sort(), ['attached', 'created']);
  await client.detach(made.handle).catch((e) => assert.equal(e.code, 'ERR_SHM_BRIDGE_UNKNOWN_HANDLE'));
  assert.deepEqual(host.stats, { segments: 0, peers: 0, attachments: 0, grants: 0, seen: 1 });
  client.close();
});

test('what a peer learns about others: nothing from its handles (numbered per peer) nor from the all-peers budget (no figures)', async () => {
  const { host, a, b, ok, fails } = setup({ maxPeerBytes: 8 * pageSize });
  host.create('shared', 64, { share: 'all' });
  assert.equal((await ok(a, { op: 'attach', name: 'shared' })).handle, 1);
  for (let i = 0; i < 5; i++) await ok(b, { op: 'attach', name: 'shared' });
  await ok(b, { op: 'create', name: 'big', size: 6 * pageSize });
  assert.equal((await ok(a, { op: 'attach', name: 'shared' })).handle, 2, "b's seven attachments do not show in a's numbering");
  const full = await fails(a, { op: 'create', name: 'mine', size: 4 * pageSize }, 'ERR_SHM_BRIDGE_LIMIT');
  for (const figure of [6 * pageSize, 7 * pageSize, 8 * pageSize, 10 * pageSize]) {
    assert.doesNotMatch(full.message, new RegExp(String(figure)), "no byte counts that would give away the other peers' use");
  }
});

test("create({ share: [peer] }) of a name the peer already sees is refused, as grant() is (the peer could never attach it)", async () => {
  const { host, a, ok } = setup();
  await ok(a, { op: 'create', name: 'video', size: 64 });
  assert.throws(() => host.create('video', 4096, { share: [a] }), { code: 'ERR_SHM_BRIDGE_EXISTS' });
  assert.equal(host.segments().length, 1, 'nothing was made');
  host.create('video', 4096); // not shared with a: fine, a's own hides nothing it was promised
  assert.equal((await ok(a, { op: 'attach', name: 'video' })).size, osSize(64), 'a still gets its own');
});

test('a request that timed out and then succeeded after all is undone: no attachment stays, the name is free for a retry', async () => {
  const { transport, host, a } = setup();
  host.create('shared', 64, { share: 'all' });
  const { client, link } = connectClient(transport, a, { timeoutMs: 50 });
  await client.hello();
  link.hold = true; // the host is busy: it will answer, late
  await assert.rejects(client.create('late', 4096), { code: 'ERR_SHM_BRIDGE_TIMEOUT' });
  await assert.rejects(client.attach('shared'), { code: 'ERR_SHM_BRIDGE_TIMEOUT' });
  link.release();
  // the host carries both out; the client sees the late successes and undoes them
  const carriedOut = (name) => transport.sent.some((s) => s.peer === a && s.message.ok === true && s.message.result?.name === name);
  await until(() => carriedOut('late') && carriedOut('shared'), 2000, 'the host carried them out');
  await until(() => host.stats.attachments === 0 && !host.segments().some((s) => s.name === 'late'), 2000, 'undone');
  assert.equal(host.peerBytes(a), 0);
  const retry = await client.create('late', 4096);
  assert.equal(retry.size, 4096, 'the retry is not refused with EXISTS');
  client.close();
});

test('after a create times out, the client cancels it in order: an immediate retry succeeds, and the timed-out one never shows', async () => {
  const { transport, host, a } = setup();
  const { client, link } = connectClient(transport, a, { timeoutMs: 50 });
  await client.hello();
  link.hold = true; // the host is busy
  await assert.rejects(client.create('x', 4096), { code: 'ERR_SHM_BRIDGE_TIMEOUT' });
  client.request({ op: 'cancel', request: 999_999 }).catch(() => undefined); // an unknown id undoes nothing
  const retrying = client.create('x', 4096); // sent at once, as a user would
  link.release(); // in order: the first create, its cancel, the unknown cancel, then the retry
  const retry = await retrying;
  assert.equal(retry.size, 4096);
  const mine = host.segments().filter((s) => s.name === 'x');
  assert.equal(mine.length, 1);
  assert.deepEqual(mine[0].attachments.map((x) => x.handle), [retry.handle], "the retry's, not the first one's");
  // and an attach after a timed-out create finds nothing: the cancel ran first
  link.hold = true;
  await assert.rejects(client.create('y', 4096), { code: 'ERR_SHM_BRIDGE_TIMEOUT' });
  const attach = client.attach('y');
  link.release();
  await assert.rejects(attach, { code: 'ERR_SHM_BRIDGE_NOT_FOUND' });
  client.close();
});

test('a transport that drops a peer while the host serves that peer\'s request (its own revoked event crossed a limit) leaves nothing of it', async () => {
  const { transport, host, a, ok } = setup();
  await ok(a, { op: 'create', name: 'mine', size: 64 });
  // the Node channel defers its disconnect to the next turn; a transport that drops at once must be safe too
  const send = transport.send.bind(transport);
  transport.send = (peer, message) => {
    if (peer === a && message.event === 'revoked') transport.gone(a);
    send(peer, message);
  };
  await transport.request(a, { v: 1, id: 99, op: 'release', name: 'mine' });
  assert.deepEqual(host.stats, { segments: 0, peers: 0, attachments: 0, grants: 0, seen: 0 }, 'not kept as a peer seen');
});

test("a peer's create reserves its pages off the event loop: the host answers other peers meanwhile, and that peer's next requests after it, in order", async () => {
  const { transport, host, a, b } = setup();
  host.create('shared', 64, { share: 'all' });
  const creating = transport.request(a, { v: 1, id: 1, op: 'create', name: 'big', size: 4 * 1048576 });
  const afterCreate = transport.request(a, { v: 1, id: 2, op: 'list' });
  // while a's pages are being reserved on the threadpool, b is served at once
  const listB = await transport.request(b, { v: 1, id: 1, op: 'list' });
  assert.deepEqual(listB.result.map((e) => e.name), ['shared']);
  assert.equal(transport.sent.some((s) => s.peer === a && s.message.id !== undefined), false, 'a has no reply yet');
  const [created, listed] = await Promise.all([creating, afterCreate]);
  assert.equal(created.ok, true, created.error?.message);
  assert.deepEqual(listed.result.map((e) => e.name), ['big', 'shared'], "a's list was served after its create");
  const order = transport.sent.filter((s) => s.peer === a).map((s) => s.message.id);
  assert.deepEqual(order, [1, 2]);
});

test('a create that completes after its peer went, or after host.close(), leaves nothing behind', async () => {
  const { transport, host, a, prefix } = setup();
  const gone = transport.request(a, { v: 1, id: 1, op: 'create', name: 'orphan', size: 1 << 20 });
  transport.gone(a);
  const reply = await gone; // a real transport drops it: the peer is gone
  assert.equal(reply.error.code, 'ERR_SHM_BRIDGE_UNKNOWN_PEER');
  await until(() => shmNamesWithPrefix(prefix).length === 0, 3000, 'its reserved segment unlinked');
  assert.deepEqual(host.segments(), []);
  assert.equal(host.peerBytes(), 0);
  const b = transport.addPeer('late');
  const closing = transport.request(b, { v: 1, id: 1, op: 'create', name: 'orphan2', size: 1 << 20 });
  host.close();
  assert.equal((await closing).error.code, 'ERR_SHM_BRIDGE_CLOSED');
  await until(() => shmNamesWithPrefix(prefix).length === 0, 3000, 'unlinked after close');
});
