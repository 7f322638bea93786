'use strict';
// Protocol fuzzing: thousands of random, malformed and hostile requests from a peer that owns, is
// granted and holds segments. Every reply must be a coded error with the request's id (when it has a
// usable one); nothing may crash, leak or change: the registry, the segments in /dev/shm and their bytes
// stay the same. Seeded: rerun a failure with SHMKIT_FUZZ_SEED=<seed> (SHMKIT_FUZZ_COUNT for more).
const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const path = require('node:path');
const { SharedMemory } = require('@shmkit/shm');
const { core, MemoryTransport, hostOptions, checkNoLeaks, shmNamesWithPrefix, prng, until } = require('./fixtures/node-helpers');
const { generator, idOf } = require('./fixtures/node-fuzz');

checkNoLeaks();

const SEED = process.env.SHMKIT_FUZZ_SEED ? Number(process.env.SHMKIT_FUZZ_SEED) >>> 0 : crypto.randomBytes(4).readUInt32LE();
const COUNT = Number(process.env.SHMKIT_FUZZ_COUNT) || 5000;
const MAX_CREATE = 1 << 20;

/** A peer with state: owns a segment, is granted one read-only, holds handles; another peer holds its own. */
async function world(transport, host) {
  const p = transport.addPeer('p');
  const q = transport.addPeer('q');
  let id = 1;
  const ok = async (peer, body) => {
    const reply = await transport.request(peer, { v: 1, id: id++, ...body });
    assert.equal(reply.ok, true, reply.error?.message);
    return reply.result;
  };
  const own = await ok(p, { op: 'create', name: 'owned', size: 8192 });
  const ro = host.create('granted-ro', 4096, { share: [p], readonly: true });
  const ng = host.create('not-granted', 4096, { share: [q] });
  const all = host.create('all-rw', 4096, { share: 'all' });
  const ring = host.createFrameRing('ring', { slots: 2, slotBytes: 256, share: [q] });
  for (const shm of [ro, ng, all]) crypto.randomFillSync(shm.buf);
  const ownMap = SharedMemory.attach(own.osName);
  crypto.randomFillSync(ownMap.buf);
  const ownHandles = [own.handle, (await ok(p, { op: 'attach', name: 'granted-ro' })).handle, (await ok(p, { op: 'attach', name: 'all-rw' })).handle];
  // Handles are numbered per peer: q's are 1 and 2 as p's are. "Foreign" handles are numbers p never got.
  await ok(q, { op: 'attach', name: 'not-granted' });
  await ok(q, { op: 'attach', name: 'ring' });
  const foreignHandles = [Math.max(...ownHandles) + 1, Math.max(...ownHandles) + 1000];
  const maps = [ro, ng, all, ownMap, ring.shm];
  const ctx = {
    maxCreateBytes: MAX_CREATE,
    names: { owned: 'owned', grantedRo: 'granted-ro', notGranted: 'not-granted', existing: ['all-rw', 'ring'], visible: ['all-rw'] },
    ownHandles,
    foreignHandles,
    getterCalls: { n: 0 },
  };
  return { p, q, ctx, maps, close: () => ownMap.close() };
}

function snapshot(host, prefix, maps) {
  const segments = host.segments().map((s) => ({
    ...s,
    owner: s.owner === 'host' ? 'host' : s.owner.label,
    grants: s.grants.map((g) => ({ ...g, peer: g.peer.label })),
    attachments: s.attachments.map((a) => ({ ...a, peer: a.peer.label })),
  }));
  const bytes = maps.map((m) => crypto.createHash('sha256').update(m.buf).digest('hex'));
  return { segments, stats: host.stats, dev: shmNamesWithPrefix(prefix), bytes };
}

function checkReply(reply, raw, where) {
  assert.equal(reply.v, 1, where);
  assert.equal(reply.ok, false, `${where}: a malformed request was accepted`);
  assert.ok(core.BRIDGE_ERROR_CODES.includes(reply.error.code), `${where}: uncoded error ${reply.error.code}: ${reply.error.message}`);
  assert.equal(typeof reply.error.name, 'string', where);
  assert.equal(typeof reply.error.message, 'string', where);
  assert.equal(reply.id, idOf(raw), `${where}: reply id`);
}

test(`in-process: ${COUNT} malformed requests (seed ${SEED})`, async (t) => {
  t.diagnostic(`seed ${SEED} (SHMKIT_FUZZ_SEED=${SEED} to reproduce)`);
  const transport = new MemoryTransport();
  const options = hostOptions({ maxCreateBytes: MAX_CREATE });
  const host = new core.BridgeHost(transport, options);
  t.after(() => host.close());
  const w = await world(transport, host);
  t.after(w.close);
  const before = snapshot(host, options.osNamePrefix, w.maps);
  const protoKeys = Object.getOwnPropertyNames(Object.prototype).sort();
  const next = generator(prng(SEED), w.ctx);
  const codes = new Map();
  for (let i = 0; i < COUNT; i++) {
    const raw = next();
    const where = `seed ${SEED} message #${i}`;
    let reply;
    try {
      reply = await transport.request(w.p, raw);
    } catch (error) {
      assert.fail(`${where}: ${error?.stack ?? error}`);
    }
    checkReply(reply, raw, where);
    codes.set(reply.error.code, (codes.get(reply.error.code) ?? 0) + 1);
    if (i % 500 === 499) assert.deepEqual(snapshot(host, options.osNamePrefix, w.maps), before, `${where}: state changed`);
  }
  assert.deepEqual(snapshot(host, options.osNamePrefix, w.maps), before, `seed ${SEED}: state changed`);
  assert.equal(w.ctx.getterCalls.n, 0, 'a getter of a request ran');
  assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), protoKeys, 'Object.prototype changed');
  assert.equal({}.polluted, undefined);
  assert.deepEqual(w.q.inbox.filter((m) => 'event' in m), [], 'the other peer was told nothing');
  t.diagnostic(`codes: ${JSON.stringify(Object.fromEntries(codes))}`);
  // the generator reaches every validation path
  for (const code of ['ERR_SHM_BRIDGE_PROTOCOL', 'ERR_SHM_BRIDGE_VERSION', 'ERR_SHM_BRIDGE_NOT_FOUND',
    'ERR_SHM_BRIDGE_READONLY', 'ERR_SHM_BRIDGE_EXISTS', 'ERR_SHM_BRIDGE_UNKNOWN_HANDLE', 'ERR_SHM_BRIDGE_NOT_OWNER', 'ERR_SHM_BRIDGE_LIMIT']) {
    assert.ok(codes.get(code) > 0, `no ${code} in ${COUNT} messages`);
  }
  // still fully working afterwards
  const reply = await transport.request(w.p, { v: 1, id: 1, op: 'attach', name: 'granted-ro' });
  assert.equal(reply.ok, true);
  w.close();
  host.close();
  assert.deepEqual(shmNamesWithPrefix(options.osNamePrefix), []);
});

test('a generator sanity check: the same seed gives the same messages', () => {
  const ctx = { maxCreateBytes: 10, names: { owned: 'o', grantedRo: 'g', notGranted: 'n', existing: ['e'] }, ownHandles: [1], foreignHandles: [2], getterCalls: { n: 0 } };
  const a = generator(prng(42), ctx, { jsonOnly: true });
  const b = generator(prng(42), ctx, { jsonOnly: true });
  for (let i = 0; i < 200; i++) assert.deepEqual(JSON.stringify(a()), JSON.stringify(b()));
});

test(`over a real child's bridge channel: malformed requests (seed ${SEED})`, async (t) => {
  const { createNodeHost } = require(path.join(__dirname, '..', 'dist', 'node'));
  const options = hostOptions({ maxCreateBytes: MAX_CREATE });
  const host = createNodeHost(options);
  t.after(() => host.close());
  const { rpc } = require('./fixtures/node-rpc');
  const RAW = path.join(__dirname, 'fixtures', 'node-raw-peer.js');
  const fuzzer = host.fork(RAW);
  const other = host.fork(RAW);
  t.after(() => [fuzzer, other].forEach((c) => c.exitCode === null && c.signalCode === null && c.kill('SIGKILL')));
  const ro = host.create('granted-ro', 4096, { share: [fuzzer], readonly: true });
  const ng = host.create('not-granted', 4096, { share: [other] });
  host.create('all-rw', 4096, { share: 'all' });
  crypto.randomFillSync(ro.buf);
  crypto.randomFillSync(ng.buf);
  const ask = async (child, body) => {
    const reply = await rpc(child, { cmd: 'request', body });
    assert.equal(reply.ok, true, reply.error?.message);
    return reply.result;
  };
  await ask(fuzzer, { op: 'hello' });
  await ask(fuzzer, { op: 'create', name: 'owned', size: 8192 });
  await ask(fuzzer, { op: 'attach', name: 'granted-ro' });
  await ask(other, { op: 'attach', name: 'not-granted' });
  const handlesOf = (child) => host.segments().flatMap((s) => s.attachments.filter((a) => a.peer === child).map((a) => a.handle));
  const before = () => ({
    segments: host.segments().map((s) => ({
      ...s,
      namespace: s.namespace === 'host' ? 'host' : s.namespace.pid,
      owner: s.owner === 'host' ? 'host' : s.owner.pid,
      grants: s.grants.map((g) => g.peer.pid),
      attachments: s.attachments.map((a) => [a.peer.pid, a.handle, a.readonly]),
    })),
    stats: host.stats,
    dev: shmNamesWithPrefix(options.osNamePrefix),
    bytes: [ro, ng].map((m) => crypto.createHash('sha256').update(m.buf).digest('hex')),
  });
  const start = before();
  const count = Math.max(200, Math.floor(COUNT / 5));
  const ctx = {
    maxCreateBytes: MAX_CREATE,
    names: { owned: 'owned', grantedRo: 'granted-ro', notGranted: 'not-granted', existing: ['all-rw'], visible: ['all-rw'] },
    ownHandles: handlesOf(fuzzer),
    foreignHandles: [Math.max(...handlesOf(fuzzer)) + 1, 2 ** 40],
  };
  const result = await rpc(fuzzer, { cmd: 'fuzz', seed: SEED, count, ctx }, 120_000);
  assert.deepEqual(result.failures, [], `seed ${SEED}`);
  assert.ok(result.sent >= count * 0.7, `only ${result.sent} of ${count} messages were objects`);
  t.diagnostic(`sent ${result.sent} of ${count} (the rest were not JSON objects, or over the 64 KiB frame limit: such a frame ends the channel, tested below)`);
  assert.deepEqual(before(), start, `seed ${SEED}: state changed`);
  // the fuzzing child still gets service, and its exit still unlinks what it owns
  assert.equal((await ask(fuzzer, { op: 'attach', name: 'all-rw' })).size, 4096);
  const ownedOs = host.segments().find((s) => s.name === 'owned').osName;
  await rpc(fuzzer, { cmd: 'exit', code: 0 }).catch(() => undefined);
  await until(() => !shmNamesWithPrefix(options.osNamePrefix).includes(ownedOs), 10_000, 'owned segment unlinked');
  await rpc(other, { cmd: 'exit', code: 0 }).catch(() => undefined);
});

test(`malformed frames (seed ${SEED}): each ends only its own peer, with a coded reason; the host and the other peers go on`, async (t) => {
  const { createNodeHost } = require(path.join(__dirname, '..', 'dist', 'node'));
  const options = hostOptions();
  const host = createNodeHost(options);
  t.after(() => host.close());
  const { rpc, exited } = require('./fixtures/node-rpc');
  const RAW = path.join(__dirname, 'fixtures', 'node-raw-peer.js');
  const errors = [];
  host.on('peer-error', (child, error) => errors.push({ child, code: error.code }));
  const bystander = host.fork(RAW);
  t.after(() => bystander.exitCode === null && bystander.kill('SIGKILL'));
  const shared = host.create('shared', 4096, { share: 'all' });
  shared.buf[0] = 42;
  assert.equal((await rpc(bystander, { cmd: 'request', body: { op: 'attach', name: 'shared' } })).ok, true);
  const frame = (json) => {
    const body = Buffer.from(json);
    const head = Buffer.alloc(4);
    head.writeUInt32LE(body.length);
    return Buffer.concat([head, body]).toString('hex');
  };
  const rand = prng(SEED ^ 0xf7a3e);
  const randomBytes = (n) => Buffer.from(Array.from({ length: n }, () => Math.floor(rand() * 256))).toString('hex');
  const cases = [
    ['what the issue sent: text that is not a frame', Buffer.from('this is not json\n').toString('hex')],
    ['a length over the limit', 'ffffffff' + '7b7d'],
    ['a length of 64 KiB + 1', '01000100'],
    ['an empty frame', '00000000'],
    ['not JSON', frame('{"v":1,"id":1,"op":"list"')],
    ['JSON but not an object', frame('[1,2,3]')],
    ['a JSON string', frame('"hello"')],
    ['null', frame('null')],
    ['invalid UTF-8', '03000000' + 'c328ff'],
    ['a lone surrogate in UTF-8', '05000000' + '22eda080' + '22'],
    ['random bytes', randomBytes(4096)],
    ['a valid request, then garbage', frame('{"v":1,"id":1,"op":"hello"}') + randomBytes(64)],
  ];
  for (const [what, hex] of cases) {
    const child = host.fork(RAW);
    const own = await rpc(child, { cmd: 'request', body: { op: 'create', name: 'mine', size: 4096 } });
    assert.equal(own.ok, true, what);
    const osName = host.segments().find((s) => s.namespace === child).osName;
    errors.length = 0;
    await rpc(child, { cmd: 'bytes', hex });
    const end = await rpc(child, { cmd: 'waitEnded', ms: 10_000 });
    const last = end.events.at(-1);
    assert.equal(last?.event, 'disconnect', `${what}: the peer is told why`);
    assert.equal(last.error.code, 'ERR_SHM_BRIDGE_PROTOCOL', what);
    await until(() => errors.length === 1, 5000, `${what}: peer-error`);
    assert.equal(errors[0].child, child, what);
    assert.equal(errors[0].code, 'ERR_SHM_BRIDGE_PROTOCOL', what);
    // that peer is gone for the bridge: what it created is unlinked; the process itself lives on
    await until(() => !shmNamesWithPrefix(options.osNamePrefix).includes(osName), 5000, `${what}: its segment unlinked`);
    assert.equal(child.exitCode, null, `${what}: the host does not kill the child`);
    // the host and the bystander go on
    const again = await rpc(bystander, { cmd: 'request', body: { op: 'list' } });
    assert.deepEqual(again.result.map((e) => e.name), ['shared'], what);
    await rpc(child, { cmd: 'exit', code: 0 });
    await exited(child);
  }
  assert.equal(shared.buf[0], 42);
  assert.equal(host.closed, false);
});

test(`frames split at random byte boundaries (seed ${SEED}) are all answered, in order`, async (t) => {
  const { createNodeHost } = require(path.join(__dirname, '..', 'dist', 'node'));
  const host = createNodeHost(hostOptions());
  t.after(() => host.close());
  const { rpc } = require('./fixtures/node-rpc');
  const child = host.fork(path.join(__dirname, 'fixtures', 'node-raw-peer.js'));
  t.after(() => child.exitCode === null && child.kill('SIGKILL'));
  host.create('shared', 64, { share: 'all' });
  const rand = prng(SEED ^ 0xc4a2);
  const frames = [];
  for (let id = 1; id <= 200; id++) {
    const body = Buffer.from(JSON.stringify(rand() < 0.5 ? { v: 1, id, op: 'list' } : { v: 1, id, op: 'attach', name: 'shared', readonly: true }));
    const head = Buffer.alloc(4);
    head.writeUInt32LE(body.length);
    frames.push(head, body);
  }
  const all = Buffer.concat(frames);
  const sizes = [];
  for (let left = all.length; left > 0; ) {
    const size = Math.min(left, 1 + Math.floor(rand() * (rand() < 0.8 ? 8 : 300)));
    sizes.push(size);
    left -= size;
  }
  await rpc(child, { cmd: 'chunks', hex: all.toString('hex'), sizes }, 60_000);
  const replies = await rpc(child, { cmd: 'replies', count: 200 }, 60_000);
  assert.deepEqual(replies.map((r) => r.id), Array.from({ length: 200 }, (_, i) => i + 1));
  assert.ok(replies.every((r) => r.ok));
  t.diagnostic(`${sizes.length} writes`);
});

test(`client side: random host messages never throw out of the client nor break later requests (seed ${SEED})`, async () => {
  const rand = prng(SEED ^ 0x5eed);
  const next = generator(rand, {
    maxCreateBytes: 10,
    names: { owned: 'o', grantedRo: 'g', notGranted: 'n', existing: ['e'], visible: ['e'] },
    ownHandles: [1],
    foreignHandles: [2],
    getterCalls: { n: 0 },
  });
  let handlers;
  const sent = [];
  const client = new core.BridgeClient({ listen: (h) => (handlers = h), send: (m) => sent.push(m), close() {} }, { timeoutMs: 5000 });
  const revokedSeen = [];
  client.on('revoked', (info) => revokedSeen.push(info));
  let closes = 0;
  client.track(1, () => closes++);
  const pending = client.hello();
  const id = sent[0].id;
  const garbage = [
    ...Array.from({ length: 2000 }, next),
    { v: 1, id, ok: 'maybe' }, // malformed and naming the pending request: it fails with a code
  ];
  for (const raw of garbage) assert.doesNotThrow(() => handlers.message(raw));
  await assert.rejects(pending, (e) => core.BRIDGE_ERROR_CODES.includes(e.code));
  assert.equal(closes, 0, 'no garbage closed a tracked handle');
  assert.deepEqual(revokedSeen, []);
  // and the client still works
  const later = client.list();
  handlers.message({ v: 1, id: sent.at(-1).id, ok: true, result: [] });
  assert.deepEqual(await later, []);
  client.close();
});
