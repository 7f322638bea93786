'use strict';
// The Node transport with real child processes: a child's segments are unlinked when it exits or is
// SIGKILLed; a grantee's exit drops only its grants; revoked reaches grantees with their mappings closed.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { hostOptions, checkNoLeaks, shmExists, until, DIST, osSize } = require('./fixtures/node-helpers');
const { rpc, forkPeers, exited } = require('./fixtures/node-rpc');

const { createNodeHost } = require(path.join(DIST, 'node'));

checkNoLeaks();

function newHost() {
  const host = createNodeHost(hostOptions());
  test.after(() => host.close());
  return host;
}

const osNameOf = (host, name) => host.segments().find((s) => s.name === name)?.osName;

test('a child-created segment is unlinked when the child exits normally', async () => {
  const host = newHost();
  const [child] = forkPeers(host, 1);
  assert.deepEqual(await rpc(child, { cmd: 'create', name: 'by-child', size: 10000, fill: 9 }), { size: osSize(10000) });
  const os = osNameOf(host, 'by-child');
  assert.ok(os && shmExists(os), 'the segment exists while its owner runs');
  assert.equal(host.segments()[0].owner, child);
  await rpc(child, { cmd: 'exit', code: 0 });
  await exited(child);
  await until(() => !shmExists(os), 5000, 'unlink after exit');
  assert.deepEqual(host.segments(), []);
  assert.deepEqual(host.stats, { segments: 0, peers: 0, attachments: 0, grants: 0, seen: 0 });
});

test('SIGKILL of the owner: its segments (host-created for it and its own) are unlinked, grantees get revoked', async () => {
  const host = newHost();
  const [owner, grantee] = forkPeers(host, 2);
  const forOwner = host.create('for-owner', 4096, { owner, share: [grantee] });
  const hostBuf = forOwner.buf;
  hostBuf.fill(5);
  await rpc(owner, { cmd: 'create', name: 'own', size: 4096, fill: 1 });
  host.grant('own', grantee, { readonly: true, namespace: owner });
  const a = await rpc(grantee, { cmd: 'attach', name: 'for-owner' });
  assert.equal(a.head[0], 5);
  await rpc(grantee, { cmd: 'attach', name: 'own' });
  const names = [osNameOf(host, 'for-owner'), osNameOf(host, 'own')];
  assert.ok(names.every(shmExists));
  owner.kill('SIGKILL');
  assert.equal((await exited(owner)).signal, 'SIGKILL');
  const revoked = await rpc(grantee, { cmd: 'waitRevoked', name: 'for-owner' });
  await rpc(grantee, { cmd: 'waitRevoked', name: 'own' });
  assert.equal(revoked[0].reason, 'owner-gone');
  assert.equal(revoked[0].closedBefore, true, 'the mapping was closed before the listener ran');
  assert.deepEqual(await rpc(grantee, { cmd: 'state', name: 'own' }), { closed: true });
  // a gone owner's segments are unlinked off the event loop (SharedMemory.unlinkAsync): the revocation can come first
  for (const os of names) await until(() => !shmExists(os), 5000, `${os} gone from /dev/shm`);
  assert.equal(forOwner.closed, true, "the host's mapping is closed");
  assert.equal(hostBuf.length, 0);
  assert.deepEqual(host.segments(), []);
});

test("a grantee's exit drops only its grants and attachments", async () => {
  const host = newHost();
  const [grantee, other] = forkPeers(host, 2);
  const shm = host.create('kept', 4096, { share: [grantee, other] });
  await rpc(grantee, { cmd: 'attach', name: 'kept' });
  await rpc(other, { cmd: 'attach', name: 'kept' });
  await rpc(grantee, { cmd: 'write', name: 'kept', offset: 0, bytes: [1, 2, 3] });
  grantee.kill('SIGKILL');
  await exited(grantee);
  await until(() => host.segments()[0].attachments.length === 1, 5000, 'grantee dropped');
  const seg = host.segments()[0];
  assert.deepEqual(seg.grants.map((g) => g.peer), [other]);
  assert.deepEqual(seg.attachments.map((a) => a.peer), [other]);
  assert.ok(shmExists(shm.name));
  assert.deepEqual([...shm.buf.subarray(0, 3)], [1, 2, 3], 'what the grantee wrote stays');
  assert.deepEqual(await rpc(other, { cmd: 'read', name: 'kept', offset: 0, length: 3 }), [1, 2, 3]);
  await rpc(other, { cmd: 'exit', code: 0 });
});

test('revoke and release reach grantees; detach closes the mapping; host.close() revokes everything', async () => {
  const host = newHost();
  const [a, b] = forkPeers(host, 2);
  host.create('r1', 100, { share: [a, b] });
  host.create('r2', 100, { share: 'all' });
  await rpc(a, { cmd: 'attach', name: 'r1' });
  await rpc(b, { cmd: 'attach', name: 'r1' });
  await rpc(b, { cmd: 'attach', name: 'r2' });
  host.revoke('r1', a);
  const ra = await rpc(a, { cmd: 'waitRevoked', name: 'r1' });
  assert.equal(ra[0].reason, 'revoked');
  assert.equal(ra[0].closedBefore, true);
  await assert.rejects(rpc(a, { cmd: 'attach', name: 'r1' }), { code: 'ERR_SHM_BRIDGE_NOT_FOUND' });
  assert.deepEqual(await rpc(b, { cmd: 'read', name: 'r1', offset: 0, length: 2 }), [0, 0], 'b keeps its mapping');
  assert.deepEqual(await rpc(b, { cmd: 'detach', name: 'r1' }), { closed: true });
  assert.deepEqual(host.segments().find((s) => s.name === 'r1').attachments, []);
  host.close();
  const rb = await rpc(b, { cmd: 'waitRevoked', name: 'r2' });
  assert.equal(rb[0].reason, 'host-closed');
  const ra2 = await rpc(a, { cmd: 'waitRevoked', name: 'r2' });
  assert.deepEqual(ra2[0].handles, [], 'a was granted r2 (share all) but never attached');
});

test('connect() without a bridge host fails with ERR_SHM_BRIDGE_NO_HOST', () => {
  const script = `require(${JSON.stringify(path.join(DIST, 'node'))}).connect().then(() => console.log('connected'), (e) => console.log(e.code))`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.stdout.trim(), 'ERR_SHM_BRIDGE_NO_HOST', r.stderr);
});

test('connect() in a child forked by a plain fork (no host answers) fails with ERR_SHM_BRIDGE_NO_HOST', async () => {
  const { fork } = require('node:child_process');
  const script = path.join(__dirname, 'fixtures', 'node-connect-only.js');
  const child = fork(script, [], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  await exited(child);
  assert.equal(out.trim(), 'ERR_SHM_BRIDGE_NO_HOST');
});

test('client.close() ends the bridge channel: the child exits on its own, its segments go', async () => {
  const host = newHost();
  host.create('peek', 8, { share: 'all' }).buf[0] = 77;
  const child = host.fork(path.join(__dirname, 'fixtures', 'node-natural-exit.js'), ['peek'], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const { code, signal } = await exited(child);
  clearTimeout(timer);
  assert.deepEqual({ code, signal }, { code: 0, signal: null }, 'exited by itself');
  assert.deepEqual(out.trim().split('\n'), ['77', 'closed']);
  await until(() => host.segments().length === 1 && host.segments()[0].attachments.length === 0, 5000, 'child forgotten');
});
