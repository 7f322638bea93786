'use strict';
// A Python program as a peer of the bridge host (createNodeHost().spawn('python3', …); shmkit.connect()
// in Python), on real processes: the same grants, read-only rules, codes and lifetime as a Node child; a
// ring it creates with create_frame_ring is its to write, and reaches a Node reader the app grants it to;
// a malformed frame from it ends only that peer.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const os = require('node:os');
const { createNodeHost } = require('@shmkit/electron-bridge/node');
const { NO_PYTHON, PYTHON, PYTHON_DIR, checkFrame } = require('./helpers');

/** Spawns a Python peer running `code`; resolves { child, lines(), exited } where lines() collects its stdout JSON lines. */
function spawnPeer(host, code, args = []) {
  const child = host.spawn(PYTHON, ['-c', code, ...args], { env: { ...process.env, PYTHONPATH: PYTHON_DIR }, stdio: ['pipe', 'pipe', 'pipe'] });
  const lines = [];
  let buf = '';
  let stderr = '';
  const waiters = [];
  child.stdout.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        lines.push(JSON.parse(line));
      } catch {
        lines.push({ text: line });
      }
      for (const w of waiters.splice(0)) w();
    }
  });
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stderr: () => stderr })));
  const next = async (pick, ms = 15_000) => {
    const end = Date.now() + ms;
    for (;;) {
      const found = lines.find(pick);
      if (found) return found;
      if (Date.now() > end) throw new Error(`no such line from the Python peer in ${ms} ms; got ${JSON.stringify(lines)}; stderr: ${stderr}`);
      await new Promise((r) => {
        waiters.push(r);
        setTimeout(r, 50);
      });
    }
  };
  const say = (text) => child.stdin.write(`${text}\n`);
  return { child, lines, next, say, exited, stderr: () => stderr };
}

const PRELUDE = `
import json, sys, shmkit
def out(**kw): print(json.dumps(kw), flush=True)
def code_of(fn):
    try:
        fn(); return None
    except shmkit.BridgeError as e:
        return e.code
client = shmkit.connect()
`;

test('grants, read-only, codes as for any peer; revoked arrives; what it created goes when it exits', { skip: NO_PYTHON }, async () => {
  const host = createNodeHost();
  try {
    const peer = spawnPeer(
      host,
      `${PRELUDE}
t = client.attach('table')
out(step='attached', readonly=t.readonly, first=list(t.buf[:3]))
try:
    t.buf[0] = 9
    out(step='wrote')
except TypeError:
    out(step='readonly-refused')
out(step='codes', secret=code_of(lambda: client.attach('secret')), missing=code_of(lambda: client.attach('nope')),
    rw=code_of(lambda: client.attach('table', readonly=False)), bad=code_of(lambda: client.attach('../x')))
mine = client.create('scratch', 4096)
mine.buf[0:5] = b'hello'
out(step='created', names=sorted(e['name'] for e in client.list()))
client.on_revoked(lambda info: out(step='revoked', **info))
sys.stdin.readline()
out(step='after-revoke', closed=t.closed)
sys.stdin.readline()
`,
    );
    const table = host.create('table', 4096, { share: [peer.child], readonly: true });
    table.buf.set([1, 2, 3]);
    host.create('secret', 4096); // nobody's
    assert.deepEqual(await peer.next((l) => l.step === 'attached'), { step: 'attached', readonly: true, first: [1, 2, 3] });
    assert.ok(await peer.next((l) => l.step === 'readonly-refused'));
    assert.deepEqual([...table.buf.subarray(0, 3)], [1, 2, 3], 'the bytes did not change');
    const codes = await peer.next((l) => l.step === 'codes');
    assert.deepEqual(codes, { step: 'codes', secret: 'ERR_SHM_BRIDGE_NOT_FOUND', missing: 'ERR_SHM_BRIDGE_NOT_FOUND', rw: 'ERR_SHM_BRIDGE_READONLY', bad: 'ERR_SHM_BRIDGE_PROTOCOL' });
    assert.deepEqual((await peer.next((l) => l.step === 'created')).names, ['scratch', 'table']);
    const scratch = host.segments().find((s) => s.name === 'scratch');
    assert.equal(scratch.owner, peer.child);
    assert.ok(fs.existsSync(`/dev/shm/${scratch.osName}`));
    host.revoke('table', peer.child);
    const revoked = await peer.next((l) => l.step === 'revoked');
    assert.equal(revoked.name, 'table');
    assert.equal(revoked.reason, 'revoked');
    peer.say('go');
    assert.deepEqual(await peer.next((l) => l.step === 'after-revoke'), { step: 'after-revoke', closed: true });
    peer.say('exit');
    const exit = await peer.exited;
    assert.equal(exit.code, 0, exit.stderr());
    await waitFor(() => !host.segments().some((s) => s.name === 'scratch'));
    // the host unlinks a gone owner's segments off the event loop (SharedMemory.unlinkAsync): the record goes first
    await waitFor(() => !fs.existsSync(`/dev/shm/${scratch.osName}`), 10_000, 'its segment was unlinked when it exited');
  } finally {
    host.close();
  }
});

test("a SIGKILLed Python peer's segments are unlinked and its grantees revoked", { skip: NO_PYTHON }, async () => {
  const host = createNodeHost();
  try {
    const reader = host.fork(path.join(__dirname, 'fixtures', 'node-reader.js'), [], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    const peer = spawnPeer(host, `${PRELUDE}
s = client.create('data', 8192)
s.buf[0:4] = b'abcd'
out(step='created')
sys.stdin.readline()`);
    host.on('segment-created', (child, info) => host.grant(info.name, reader, { namespace: child, readonly: true }));
    await peer.next((l) => l.step === 'created');
    const osName = host.segments().find((s) => s.name === 'data').osName;
    reader.send({ attach: 'data' });
    assert.deepEqual(await message(reader, (m) => m.attached), { attached: 'data', first: 'abcd' });
    peer.child.kill('SIGKILL');
    assert.deepEqual(await message(reader, (m) => m.revoked), { revoked: 'data', reason: 'owner-gone' });
    await waitFor(() => !fs.existsSync(`/dev/shm/${osName}`));
    reader.kill();
  } finally {
    host.close();
  }
});

test('a FrameRing the Python peer creates is its to write: a Node reader the app grants it to gets every frame, then sees it gone', { skip: NO_PYTHON }, async () => {
  const host = createNodeHost();
  try {
    const reader = host.fork(path.join(__dirname, 'fixtures', 'node-reader.js'), [], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    const created = [];
    host.on('segment-created', (child, info) => {
      created.push(info);
      host.grant(info.name, reader, { namespace: child });
    });
    const peer = spawnPeer(host, `${PRELUDE}
import array, time
ring = client.create_frame_ring('video', 3, 4096)
out(step='ring', writer=ring.is_writer, pid=ring.writer_pid)
sys.stdin.readline()
for k in range(40):
    base = ((k + 1) * 0x9E3779B1) & 0xFFFFFFFF
    ring.write(array.array('I', ((base + j) & 0xFFFFFFFF for j in range(1024))).tobytes(), 1024, 1, pixel_format='rgba8')
    time.sleep(0.002)
out(step='written')
sys.stdin.readline()`);
    const ring = await peer.next((l) => l.step === 'ring');
    assert.deepEqual(ring, { step: 'ring', writer: true, pid: peer.child.pid });
    assert.deepEqual(created, [{ name: 'video', kind: 'frame-ring', size: 4096 + 3 * 4096 }]);
    assert.equal(host.segments().find((s) => s.name === 'video').kind, 'frame-ring');
    reader.send({ ring: 'video' });
    assert.deepEqual(await message(reader, (m) => m.ringAttached), { ringAttached: 'video', writerPid: peer.child.pid });
    peer.say('go');
    await peer.next((l) => l.step === 'written');
    const summary = await message(reader, (m) => m.frames && m.frames.last === 39);
    assert.equal(summary.frames.bad, 0, 'every frame the Python writer wrote arrived intact');
    assert.equal(summary.frames.received + summary.frames.dropped, 39 - summary.frames.first + 1);
    // whichever the reader learns first ends its stream: the writer's death (the ring's own watch) or the
    // host's revocation of the dead peer's grants (the client closes the ring, and frames() ends)
    const ended = message(reader, (m) => m.ringEnded);
    const revoked = message(reader, (m) => m.revoked);
    peer.child.kill('SIGKILL');
    const end = await ended;
    assert.ok(['ERR_SHM_RING_WRITER_GONE', 'closed'].includes(end.ringEnded), `the reader's stream ended: ${end.ringEnded}`);
    assert.deepEqual(await revoked, { revoked: 'video', reason: 'owner-gone' });
    await waitFor(() => !host.segments().some((s) => s.name === 'video'));
    reader.kill();
  } finally {
    host.close();
  }
});

test('a malformed frame from the Python peer ends only that peer; another peer goes on', { skip: NO_PYTHON }, async () => {
  const host = createNodeHost();
  try {
    const errors = [];
    host.on('peer-error', (child, error) => errors.push({ child, code: error.code }));
    const other = host.fork(path.join(__dirname, 'fixtures', 'node-reader.js'), [], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    host.create('shared', 4096, { share: 'all' }).buf.set([7]);
    const rogue = spawnPeer(host, `
import os, socket, struct, sys
s = socket.socket(fileno=int(os.environ['SHMKIT_BRIDGE_FD']))
s.sendall(struct.pack('<I', 5) + b'{nope')                 # not JSON
data = s.recv(65536)                                        # the host's last frame: disconnect
print(data[4:].decode(), flush=True)
print('eof' if s.recv(10) == b'' else 'open', flush=True)`);
    const exit = await rogue.exited;
    assert.equal(exit.code, 0, exit.stderr());
    assert.equal(rogue.lines[0].event, 'disconnect');
    assert.equal(rogue.lines[0].error.code, 'ERR_SHM_BRIDGE_PROTOCOL');
    assert.deepEqual(rogue.lines[1], { text: 'eof' });
    assert.deepEqual(errors.map((e) => [e.child === rogue.child, e.code]), [[true, 'ERR_SHM_BRIDGE_PROTOCOL']]);
    other.send({ attach: 'shared' });
    assert.equal((await message(other, (m) => m.attached)).attached, 'shared', 'the other peer is served as before');
    other.kill();
  } finally {
    host.close();
  }
});

function message(child, pick, ms = 15_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off('message', on);
      reject(new Error(`no such message in ${ms} ms`));
    }, ms);
    const on = (m) => {
      if (!pick(m)) return;
      clearTimeout(timer);
      child.off('message', on);
      resolve(m);
    };
    child.on('message', on);
  });
}

async function waitFor(predicate, ms = 10_000, what = 'the condition') {
  const end = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

