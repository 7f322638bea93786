'use strict';
// Access rules across real processes: ungranted attaches fail with a code, a read-only grant can never
// change the shared bytes, read-write grants share the same memory both ways (zero copy).
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { hostOptions, checkNoLeaks, DIST } = require('./fixtures/node-helpers');
const { rpc, forkPeers } = require('./fixtures/node-rpc');

const { createNodeHost } = require(path.join(DIST, 'node'));

checkNoLeaks();

test('ungranted and unknown attaches fail with codes and change nothing', async (t) => {
  const host = createNodeHost(hostOptions());
  t.after(() => host.close());
  const [a, b] = forkPeers(host, 2);
  host.create('for-a', 64, { share: [a] });
  await assert.rejects(rpc(b, { cmd: 'attach', name: 'for-a' }), { code: 'ERR_SHM_BRIDGE_NOT_FOUND' });
  await assert.rejects(rpc(b, { cmd: 'attach', name: 'nothing-here' }), { code: 'ERR_SHM_BRIDGE_NOT_FOUND' });
  await assert.rejects(rpc(b, { cmd: 'attach', name: 'bad/name' }), { code: 'ERR_INVALID_ARG_VALUE' });
  await rpc(a, { cmd: 'create', name: 'a-own', size: 64 });
  await assert.rejects(rpc(b, { cmd: 'attach', name: 'a-own' }), { code: 'ERR_SHM_BRIDGE_NOT_FOUND' });
  await assert.rejects(rpc(b, { cmd: 'release', name: 'a-own' }), { code: 'ERR_SHM_BRIDGE_NOT_FOUND' });
  assert.deepEqual(host.segments().flatMap((s) => s.attachments.map((x) => x.peer)), [a], 'only a holds anything');
  // b's creations are in b's own namespace: the same name is another segment, and a's stays a's
  await rpc(b, { cmd: 'create', name: 'a-own', size: 64, fill: 2 });
  assert.deepEqual(host.segments().filter((s) => s.name === 'a-own').map((s) => s.namespace).sort((x, y) => x.pid - y.pid), [a, b].sort((x, y) => x.pid - y.pid));
  await rpc(b, { cmd: 'release', name: 'a-own' });
  assert.equal((await rpc(a, { cmd: 'read', name: 'a-own', offset: 0, length: 1 }))[0], 0, "a's segment untouched");
  const list = await rpc(b, { cmd: 'list' });
  assert.deepEqual(list, []);
  const listA = await rpc(a, { cmd: 'list' });
  assert.deepEqual(listA.map((e) => e.name).sort(), ['a-own', 'for-a']);
  for (const e of listA) assert.equal('osName' in e, false);
});

test('a read-only grant cannot change the bytes', async (t) => {
  const host = createNodeHost(hostOptions());
  t.after(() => host.close());
  const [reader, writer] = forkPeers(host, 2);
  const shm = host.create('guarded', 8192, { share: [reader], readonly: true });
  host.grant('guarded', writer, { readonly: false });
  shm.buf.fill(42);
  const att = await rpc(reader, { cmd: 'attach', name: 'guarded' });
  assert.equal(att.readonly, true, 'as granted');
  await assert.rejects(rpc(reader, { cmd: 'attach', name: 'guarded', readonly: false }), { code: 'ERR_SHM_BRIDGE_READONLY' });
  await assert.rejects(rpc(reader, { cmd: 'writeApi', name: 'guarded', offset: 0, bytes: [1] }), { code: 'ERR_SHM_READONLY' });
  // a direct write through buf lands in the reader's private copy, never in the segment
  const w = await rpc(reader, { cmd: 'write', name: 'guarded', offset: 4096, bytes: [7, 7, 7, 7] });
  assert.deepEqual(w.after, [7, 7, 7, 7], 'the reader sees its own private copy');
  assert.deepEqual([...shm.buf.subarray(4096, 4100)], [42, 42, 42, 42], 'the host sees no change');
  await rpc(writer, { cmd: 'attach', name: 'guarded' });
  assert.deepEqual(await rpc(writer, { cmd: 'read', name: 'guarded', offset: 4096, length: 4 }), [42, 42, 42, 42], 'nor does another process');
  // pages the reader never wrote keep following the segment
  await rpc(writer, { cmd: 'write', name: 'guarded', offset: 0, bytes: [9, 8] });
  assert.deepEqual([...shm.buf.subarray(0, 2)], [9, 8], 'the read-write grantee writes the same memory');
  assert.deepEqual(await rpc(reader, { cmd: 'read', name: 'guarded', offset: 0, length: 2 }), [9, 8]);
});

test('owner child and host share the same memory both ways', async (t) => {
  const host = createNodeHost(hostOptions());
  t.after(() => host.close());
  const [child] = forkPeers(host, 1);
  const shm = host.create('two-way', 1 << 20, { owner: child });
  shm.buf[12345] = 0xab;
  const att = await rpc(child, { cmd: 'attach', name: 'two-way' });
  assert.equal(att.readonly, false);
  assert.equal(att.size, 1 << 20);
  assert.deepEqual(await rpc(child, { cmd: 'read', name: 'two-way', offset: 12345, length: 1 }), [0xab]);
  await rpc(child, { cmd: 'write', name: 'two-way', offset: (1 << 20) - 1, bytes: [0xcd] });
  assert.equal(shm.buf[(1 << 20) - 1], 0xcd);
});

test('host API refuses children that are not its peers', async (t) => {
  const host = createNodeHost(hostOptions());
  const other = createNodeHost(hostOptions());
  t.after(() => {
    host.close();
    other.close();
  });
  const [child] = forkPeers(other, 1);
  assert.throws(() => host.create('x', 10, { owner: child }), { code: 'ERR_SHM_BRIDGE_UNKNOWN_PEER' });
  assert.throws(() => host.create('x', 10, { share: [child] }), { code: 'ERR_SHM_BRIDGE_UNKNOWN_PEER' });
  assert.deepEqual(host.segments(), []);
  await rpc(child, { cmd: 'hello' });
});
