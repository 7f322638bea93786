'use strict';
// ShmHost (./main) serving child processes beside windows: host.fork()/spawn() make REAL child processes
// (Node, and Python's shmkit where python3 exists) peers of the same host as the windows, over their own
// channel. The windows are STAND-INS (test/fixtures/electron-stand-ins.js; no Electron binary here): a
// wiring test of the routing (replies and events to the right transport, copies only to windows, a
// writer pid only for children), never the end-to-end test.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { DIST, shmExists, hostOptions, checkNoLeaks, until } = require('./fixtures/node-helpers');
const { rpc, forkPeers, exited } = require('./fixtures/node-rpc');
const { StandInBrowserWindow, StandInIpcMain } = require('./fixtures/electron-stand-ins');

const { createHost, REQUEST_CHANNEL, EVENT_CHANNEL } = require(path.join(DIST, 'main'));

checkNoLeaks();

const PYTHON_DIR = path.join(__dirname, '..', '..', '..', 'python');
const NO_PYTHON = spawnSync('python3', ['-c', 'import sys; assert sys.version_info >= (3, 9)'], { stdio: 'ignore' }).status !== 0 && 'python3 (3.9 or newer) is not installed';

function setup() {
  const ipcMain = new StandInIpcMain();
  const host = createHost({ ipcMain, BrowserWindow: StandInBrowserWindow, allowedOrigins: ['file://'], ...hostOptions() });
  test.after(() => host.close());
  let nextId = 1;
  const ask = (window, body) => ipcMain.invokeFrom(window.webContents, window.webContents.mainFrame, REQUEST_CHANNEL, [{ v: 1, id: nextId++, ...body }, window.webContents.documentId]);
  const ok = async (window, body) => {
    const reply = await ask(window, body);
    assert.equal(reply.ok, true, reply.error && `${reply.error.code}: ${reply.error.message}`);
    return reply.result;
  };
  const eventsOf = (window) => window.webContents.sent.filter((s) => s.channel === EVENT_CHANNEL).map((s) => s.args[0]);
  return { ipcMain, host, ask, ok, eventsOf };
}

test("a forked Node child's FrameRing, granted to a window when it is made: the window reads its frames by copy; the child's death unlinks it and revokes the window", async () => {
  const { host, ask, ok, eventsOf } = setup();
  const win = new StandInBrowserWindow();
  const [writer] = forkPeers(host, 1);
  const created = [];
  host.on('segment-created', (peer, info) => {
    created.push([peer === writer, info]);
    host.grant(info.name, win, { namespace: peer, readonly: true });
  });
  const made = await rpc(writer, { cmd: 'createRing', name: 'camera', slots: 3, slotBytes: 4096 });
  assert.deepEqual(made, { isWriter: true, writerPid: writer.pid, slotCount: 3, slotBytes: 4096 });
  assert.deepEqual(created, [[true, { name: 'camera', kind: 'frame-ring', size: 4096 + 3 * 4096 }]]);
  const seg = host.segments().find((s) => s.name === 'camera');
  assert.equal(seg.owner, writer, 'segments() names the child itself as the owner');
  assert.equal(seg.namespace, writer);
  assert.deepEqual(seg.grants.map((g) => [g.peer, g.readonly]), [[win, true]], 'and the window as the app knows it');
  // the window (a sandboxed one's preload maps nothing) reads the child's frames through the host
  const att = await ok(win, { op: 'attach', name: 'camera', copy: true, readonly: true });
  assert.equal(att.osName, '');
  assert.equal(await ok(win, { op: 'frame', handle: att.handle, after: -1 }), null, 'nothing published yet');
  await rpc(writer, { cmd: 'publish', name: 'camera', k: 7, length: 100 });
  const frame = await ok(win, { op: 'frame', handle: att.handle, after: -1 });
  assert.equal(frame.frameNumber, 0);
  assert.equal(frame.byteLength, 100);
  assert.deepEqual([...frame.bytes.subarray(0, 6)], [7, 0, 0, 0, (7 * 7 + 4 * 13) & 255, (7 * 7 + 5 * 13) & 255]);
  // a window cannot write a ring of its own: it has no process the host can watch
  const refused = await ask(win, { op: 'createFrameRing', name: 'mine', slots: 2, slotBytes: 64 });
  assert.equal(refused.error.code, 'ERR_SHM_BRIDGE_RING_UNAVAILABLE');
  const osName = seg.osName;
  writer.kill('SIGKILL');
  await exited(writer);
  await until(() => eventsOf(win).some((e) => e.name === 'camera'), 10_000, "the window's revoked event");
  assert.deepEqual(eventsOf(win).find((e) => e.name === 'camera').reason, 'owner-gone');
  await until(() => !shmExists(osName), 10_000, 'the ring unlinked');
  assert.deepEqual(host.segments(), []);
});

test("a window's segment granted to a child: the child maps it (no copies over its channel); the window closing revokes the child", async () => {
  const { host, ok } = setup();
  const win = new StandInBrowserWindow();
  const [child] = forkPeers(host, 1);
  const created = [];
  host.on('segment-created', (peer, info) => created.push([peer, info.name]));
  await ok(win, { op: 'create', name: 'scratch', size: 4096, copy: true });
  assert.deepEqual(created, [[win, 'scratch']], "segment-created names the window as the app knows it");
  await ok(win, { op: 'write', handle: 1, offset: 0, bytes: new Uint8Array([1, 2, 3]) });
  host.grant('scratch', child, { namespace: win });
  const got = await rpc(child, { cmd: 'attach', name: 'scratch' });
  assert.deepEqual(got.head.slice(0, 4), [1, 2, 3, 0]);
  win.close();
  const revoked = await rpc(child, { cmd: 'waitRevoked', name: 'scratch' });
  assert.equal(revoked[0].reason, 'owner-gone');
});

test('a child that writes garbage on its channel is ended with peer-error; the windows go on', async () => {
  const { host, ok } = setup();
  const win = new StandInBrowserWindow();
  host.create('shared', 64, { share: 'all' });
  const errors = [];
  host.on('peer-error', (child, error) => errors.push([child, error.code]));
  const rogue = host.spawn(process.execPath, ['-e', "require('fs').writeSync(Number(process.env.SHMKIT_BRIDGE_FD), Buffer.from([5, 0, 0, 0, 123, 110, 111, 112, 101])); setTimeout(() => {}, 5000)"], { stdio: 'ignore' });
  await until(() => errors.length === 1, 10_000, 'peer-error');
  assert.deepEqual(errors, [[rogue, 'ERR_SHM_BRIDGE_PROTOCOL']]);
  rogue.kill();
  assert.equal((await ok(win, { op: 'attach', name: 'shared', copy: true })).name, 'shared');
});

test('a Python program spawned by the Electron host creates a segment; a window granted it reads its bytes; host.close() ends its channel', { skip: NO_PYTHON }, async () => {
  const { host, ok } = setup();
  const win = new StandInBrowserWindow();
  host.on('segment-created', (peer, info) => host.grant(info.name, win, { namespace: peer, readonly: true }));
  const py = host.spawn(
    'python3',
    [
      '-c',
      `
import shmkit, sys
client = shmkit.connect()
s = client.create('from-python', 4096)
s.buf[:5] = b'hello'
print('made', flush=True)
closed = []
client.on_closed(lambda reason: closed.append(reason.code if reason else None))
sys.stdin.readline()
import time
deadline = time.monotonic() + 10
while not closed and time.monotonic() < deadline: time.sleep(0.01)
print('closed', closed[0] if closed else 'never', flush=True)`,
    ],
    { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, PYTHONPATH: PYTHON_DIR } },
  );
  let out = '';
  py.stdout.on('data', (d) => (out += d));
  await until(() => out.includes('made'), 20_000, 'the Python peer made its segment');
  const att = await ok(win, { op: 'attach', name: 'from-python', copy: true, readonly: true });
  const read = await ok(win, { op: 'read', handle: att.handle, offset: 0, length: 5 });
  assert.equal(Buffer.from(read.bytes).toString(), 'hello');
  host.close();
  py.stdin.end('\n');
  const exit = await exited(py);
  assert.equal(exit.code, 0);
  assert.match(out, /closed ERR_SHM_BRIDGE_CLOSED/);
});

test('fork() and spawn() after close() throw ERR_SHM_BRIDGE_CLOSED; bad options are coded errors', () => {
  const { host } = setup();
  assert.throws(() => host.spawn(process.execPath, [], null), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => host.fork(__filename, [], 'x'), { code: 'ERR_INVALID_ARG_TYPE' });
  host.close();
  assert.throws(() => host.spawn(process.execPath, []), { code: 'ERR_SHM_BRIDGE_CLOSED' });
  assert.throws(() => host.fork(__filename), { code: 'ERR_SHM_BRIDGE_CLOSED' });
});
