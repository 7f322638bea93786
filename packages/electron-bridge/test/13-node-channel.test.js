'use strict';
// The Node transport's own channel with real processes: a peer that never reads cannot grow the host's
// memory (the host stops reading it; replies are not lost), one that lets events pile up is
// disconnected with a code; a program in another language is a peer through host.spawn(); closing
// either side ends the other cleanly; a request that timed out in a child is undone when it succeeds
// late; an owner's release closes its own mappings.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { hostOptions, checkNoLeaks, shmExists, shmNamesWithPrefix, until, DIST, osSize } = require('./fixtures/node-helpers');
const { rpc, forkPeers, exited } = require('./fixtures/node-rpc');

const { createNodeHost } = require(path.join(DIST, 'node'));
const { HIGH_WATER_BYTES, MAX_UNSENT_BYTES } = require(path.join(DIST, 'node', 'channel'));

checkNoLeaks();

const RAW = path.join(__dirname, 'fixtures', 'node-raw-peer.js');

function newHost(extra) {
  const options = hostOptions(extra);
  const host = createNodeHost(options);
  test.after(() => host.close());
  return { host, prefix: options.osNamePrefix };
}

function forkRaw(host, options) {
  const child = host.fork(RAW, [], options);
  test.after(() => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'));
  return child;
}

test('a peer that never reads: the host stops reading it (bounded memory), serves others, and loses no reply', async (t) => {
  const { host } = newHost({ maxSegmentsPerPeer: 256 });
  const flooder = forkRaw(host);
  const [bystander] = forkPeers(host, 1);
  host.create('shared', 64, { share: 'all' });
  // the reproduction: 256 segments with long names, so that each list reply is large (~45 KB)
  for (let i = 0; i < 256; i++) {
    const name = `${'n'.repeat(120)}-${String(i).padStart(3, '0')}`;
    const reply = await rpc(flooder, { cmd: 'request', body: { op: 'create', name, size: 1 } });
    assert.equal(reply.ok, true, reply.error?.message);
  }
  await rpc(flooder, { cmd: 'pause' });
  const before = process.memoryUsage();
  const count = 2000; // ~90 MB of replies: the host held them all before
  const ids = await rpc(flooder, { cmd: 'flood', body: { op: 'list' }, count });
  // the host answers until its unsent replies pass the high-water mark, then waits
  await until(() => host.unsentBytes(flooder) > HIGH_WATER_BYTES, 10_000, 'replies queue up');
  await new Promise((resolve) => setTimeout(resolve, 300));
  const unsent = host.unsentBytes(flooder);
  assert.ok(unsent < HIGH_WATER_BYTES + 128 * 1024, `unsent replies stay near the high-water mark: ${unsent}`);
  const grown = process.memoryUsage().arrayBuffers - before.arrayBuffers;
  t.diagnostic(`while paused: ${unsent} bytes unsent, arrayBuffers +${(grown / 1048576).toFixed(1)} MiB`);
  assert.ok(grown < 16 * 1048576, `the host's buffers grew by ${grown} bytes`);
  // meanwhile the host serves everyone else at once
  assert.equal((await rpc(bystander, { cmd: 'attach', name: 'shared' })).size, osSize(64));
  // when the flooder reads again it gets every reply, in order
  const got = await rpc(flooder, { cmd: 'collect', firstId: ids.firstId, lastId: ids.lastId, ms: 120_000 }, 180_000);
  assert.equal(got.replies, count);
  assert.equal(got.okCount, count);
  t.diagnostic(`then ${(got.bytes / 1048576).toFixed(1)} MiB of replies delivered`);
  assert.equal(host.unsentBytes(flooder), 0);
});

test('a peer that lets the host\'s events pile up unread is disconnected with ERR_SHM_BRIDGE_LIMIT; its segments go', async () => {
  const { host, prefix } = newHost();
  const peer = forkRaw(host);
  const errors = [];
  host.on('peer-error', (child, error) => errors.push({ child, code: error.code }));
  assert.equal((await rpc(peer, { cmd: 'request', body: { op: 'create', name: 'mine', size: 4096 } })).ok, true);
  const name = `e${'v'.repeat(127)}`;
  host.create(name, 64);
  await rpc(peer, { cmd: 'pause' });
  // each grant/revoke pair sends one revoked event (~200 bytes) the peer never reads
  let rounds = 0;
  let refused = null;
  while (refused === null && rounds < 400_000) {
    try {
      host.grant(name, peer);
      host.revoke(name, peer);
      rounds++;
    } catch (error) {
      refused = error; // over the limit: the peer is no longer served, at once
    }
    if (rounds % 5000 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  assert.equal(refused?.code, 'ERR_SHM_BRIDGE_UNKNOWN_PEER');
  assert.ok(rounds * 200 > MAX_UNSENT_BYTES * 0.5, `disconnected after ${rounds} events`);
  await until(() => errors.length === 1, 5000, 'peer-error');
  assert.deepEqual(errors.map((e) => [e.child, e.code]), [[peer, 'ERR_SHM_BRIDGE_LIMIT']]);
  await until(() => shmNamesWithPrefix(prefix).length === 1, 5000, "the peer's own segment unlinked");
  const end = await rpc(peer, { cmd: 'waitEnded', ms: 20_000 });
  assert.equal(end.events.at(-1).event, 'disconnect');
  assert.equal(end.events.at(-1).error.code, 'ERR_SHM_BRIDGE_LIMIT');
});

test('what a peer that never reads costs the host is about what the host has queued for it (16 MiB of small events)', async (t) => {
  const v8 = require('node:v8');
  v8.setFlagsFromString('--expose-gc');
  const gc = require('node:vm').runInNewContext('gc');
  const { host } = newHost();
  const peer = forkRaw(host);
  assert.equal((await rpc(peer, { cmd: 'request', body: { op: 'hello' } })).ok, true);
  await rpc(peer, { cmd: 'pause' });
  host.create('a', 64);
  gc();
  const before = process.memoryUsage();
  while (host.unsentBytes(peer) + 200 < MAX_UNSENT_BYTES) {
    host.grant('a', peer);
    host.revoke('a', peer);
  }
  gc();
  const after = process.memoryUsage();
  const grown = after.arrayBuffers - before.arrayBuffers + (after.heapUsed - before.heapUsed);
  t.diagnostic(`${host.unsentBytes(peer)} bytes unsent; buffers and heap grew by ${(grown / 1048576).toFixed(1)} MiB`);
  assert.ok(grown < MAX_UNSENT_BYTES * 1.5, `the host holds ${grown} bytes for ${host.unsentBytes(peer)} unsent (small frames are packed)`);
});

test('a flood of tiny frames is handled over many turns of the event loop, not in one long one', async () => {
  const { host } = newHost();
  const peer = forkRaw(host);
  const count = 20_000;
  const one = Buffer.from('02000000' + Buffer.from('{}').toString('hex'), 'hex');
  const turns = { n: 0, on: true };
  const tick = () => {
    turns.n++;
    if (turns.on) setImmediate(tick);
  };
  setImmediate(tick);
  await rpc(peer, { cmd: 'bytes', hex: Buffer.concat(Array.from({ length: count }, () => one)).toString('hex') });
  const replies = await rpc(peer, { cmd: 'replies', count, ms: 60_000 }, 90_000);
  turns.on = false;
  assert.equal(replies.length, count);
  assert.ok(replies.every((r) => r.ok === false), 'each {} is a malformed request, answered as such');
  assert.ok(turns.n >= count / 64, `the host yielded ${turns.n} times for ${count} frames (at least every 64)`);
});

test('host.spawn(): a program in another language is a peer (Python speaking the frames by hand)', { skip: spawnSync('python3', ['--version']).status !== 0 && 'python3 is not installed' }, async () => {
  const { host } = newHost();
  const shm = host.create('greeting', 16, { share: 'all' });
  shm.buf.set(Buffer.from('hello, python'));
  const script = String.raw`
import json, os, socket, struct, sys
s = socket.socket(fileno=int(os.environ['SHMKIT_BRIDGE_FD']))
def send(msg):
    body = json.dumps(msg).encode()
    s.sendall(struct.pack('<I', len(body)) + body)
def recv():
    head = b''
    while len(head) < 4:
        chunk = s.recv(4 - len(head))
        if not chunk: return None
        head += chunk
    (n,) = struct.unpack('<I', head)
    body = b''
    while len(body) < n:
        body += s.recv(n - len(body))
    return json.loads(body)
send({'v': 1, 'id': 1, 'op': 'hello'})
hello = recv()
send({'v': 1, 'id': 2, 'op': 'attach', 'name': 'greeting'})
att = recv()
send({'v': 1, 'id': 3, 'op': 'attach', 'name': 'nope'})
missing = recv()
from multiprocessing import shared_memory
try:
    from multiprocessing import resource_tracker
    resource_tracker.unregister = lambda *a, **k: None
    resource_tracker.register = lambda *a, **k: None
except Exception:
    pass
m = shared_memory.SharedMemory(name=att['result']['osName'])
print(json.dumps({'hello': hello['result']['version'], 'size': att['result']['size'], 'bytes': bytes(m.buf[:13]).decode(), 'missing': missing['error']['code']}))
m.close()
s.close()
`;
  const child = host.spawn('python3', ['-c', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const { code } = await exited(child);
  assert.equal(code, 0);
  assert.deepEqual(JSON.parse(out), { hello: 1, size: 16, bytes: 'hello, python', missing: 'ERR_SHM_BRIDGE_NOT_FOUND' });
  await until(() => host.stats.peers === 0, 5000, 'the peer forgotten when it exited');
});

test('spawn() and fork() keep the caller\'s stdio and env, and tell the child which descriptor is its channel', async () => {
  const { host } = newHost();
  const script = 'process.stdout.write(JSON.stringify({ fd: process.env.SHMKIT_BRIDGE_FD, mine: process.env.MINE, ipc: typeof process.send }))';
  const spawned = host.spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, MINE: 'yes' } });
  let out = '';
  spawned.stdout.on('data', (d) => (out += d));
  await exited(spawned);
  assert.deepEqual(JSON.parse(out), { fd: '3', mine: 'yes', ipc: 'undefined' });
  const forked = host.fork(path.join(__dirname, 'fixtures', 'node-connect-only.js'), [], { silent: true });
  let forkOut = '';
  forked.stdout.on('data', (d) => (forkOut += d));
  await exited(forked);
  assert.equal(forkOut.trim(), 'connected', 'fork(): the channel is the 5th descriptor, after the IPC channel');
  assert.throws(() => host.spawn(process.execPath, [], null), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => host.fork(RAW, [], { stdio: 5 }), { code: 'ERR_INVALID_ARG_TYPE' });
  // a program that cannot start is no peer, and nothing is left behind
  const missing = host.spawn('/nonexistent/program');
  await new Promise((resolve) => missing.once('error', resolve));
  await until(() => host.stats.peers === 0, 2000, 'no peer');
});

test('host.close() ends every child\'s channel: their clients close with ERR_SHM_BRIDGE_CLOSED and the children may exit', async () => {
  const { host } = newHost();
  const [child] = forkPeers(host, 1);
  await rpc(child, { cmd: 'hello' });
  host.close();
  const state = await rpc(child, { cmd: 'clientClosed' });
  assert.deepEqual(state, { closed: true, reason: 'ERR_SHM_BRIDGE_CLOSED' });
  await assert.rejects(rpc(child, { cmd: 'list' }), { code: 'ERR_SHM_BRIDGE_CLOSED' });
  await rpc(child, { cmd: 'exit', code: 0 });
});

test('a host that breaks the framing: the child\'s client closes with ERR_SHM_BRIDGE_PROTOCOL, its pending request fails, nothing throws', async () => {
  const { spawn } = require('node:child_process');
  const { encodeFrame, FrameReader } = require(path.join(DIST, 'node', 'frames'));
  // this test plays the host by hand over the child's descriptor 3
  const child = spawn(process.execPath, [path.join(__dirname, 'fixtures', 'node-client-watch.js')], {
    stdio: ['ignore', 'pipe', 'inherit', 'pipe'],
    env: { ...process.env, SHMKIT_BRIDGE_FD: '3' },
  });
  test.after(() => child.exitCode === null && child.kill('SIGKILL'));
  const channel = child.stdio[3];
  const reader = new FrameReader(1 << 20);
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  let answered = false;
  channel.on('data', (chunk) => {
    reader.push(chunk);
    for (let m = reader.nextMessage(); m !== null; m = reader.nextMessage()) {
      if (m.op === 'hello' && !answered) {
        answered = true;
        channel.write(encodeFrame({ v: 1, id: m.id, ok: true, result: { version: 1, maxNameLength: 128, maxCreateBytes: 1, maxBytesPerPeer: 1, listPageSize: 256 } }, 1 << 20));
      } else if (m.op === 'list') {
        channel.write(Buffer.from('ffffffff', 'hex')); // a length no host would send
      }
    }
  });
  const { code } = await exited(child);
  assert.equal(code, 0);
  assert.deepEqual(out.trim().split('\n').sort(), ['closed ERR_SHM_BRIDGE_PROTOCOL', 'connected', 'list ERR_SHM_BRIDGE_CLOSED']);
});

test("a child's request that timed out and then succeeded is undone: the attachment goes, a retried create is not EXISTS", async () => {
  const { host } = newHost();
  const child = host.fork(path.join(__dirname, 'fixtures', 'node-peer.js'), [], { env: { ...process.env, PEER_TIMEOUT_MS: '300' } });
  test.after(() => child.exitCode === null && child.kill('SIGKILL'));
  await rpc(child, { cmd: 'hello' });
  // The child asks with a 300 ms timeout while this process (the host) is busy for 1.5 s.
  const pending = rpc(child, { cmd: 'timedOutCreate', name: 'retry-me', size: 4096 });
  const sab = new Int32Array(new SharedArrayBuffer(4));
  Atomics.wait(sab, 0, 0, 1500);
  const result = await pending;
  assert.deepEqual(result.first, 'ERR_SHM_BRIDGE_TIMEOUT', 'the child was told it failed');
  assert.equal(result.retry, 'ok', 'and its retry, once the late success was undone, is not EXISTS');
  await until(() => host.segments().filter((s) => s.name === 'retry-me').length === 1, 5000, 'one segment, the retry');
  assert.equal(host.peerBytes(child), 4096, 'one page-rounded segment counted, not two');
  assert.equal(host.stats.attachments, 1, "only the retry's attachment");
});

test("an owner's release closes its own mappings, and a later detach of them is not an error", async () => {
  const { host } = newHost();
  const [child] = forkPeers(host, 1);
  await rpc(child, { cmd: 'create', name: 'mine', size: 4096, fill: 1 });
  const os = host.segments()[0].osName;
  await rpc(child, { cmd: 'release', name: 'mine' });
  const revoked = await rpc(child, { cmd: 'waitRevoked', name: 'mine' });
  assert.equal(revoked[0].reason, 'released');
  assert.equal(revoked[0].closedBefore, true);
  assert.deepEqual(await rpc(child, { cmd: 'state', name: 'mine' }), { closed: true });
  // a peer's release unlinks on the threadpool (host.ts #destroy): gone soon after, not necessarily
  // before the revocation reaches the peer (under Wine, where it is a wineserver round trip, it was not)
  await until(() => !shmExists(os), 5000, 'the segment to go');
  assert.deepEqual(host.stats, { segments: 0, peers: 0, attachments: 0, grants: 0, seen: 1 });
  await rpc(child, { cmd: 'closeClient' });
});
