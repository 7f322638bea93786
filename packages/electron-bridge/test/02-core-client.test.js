'use strict';
// BridgeClient against a BridgeHost over an asynchronous in-memory link: correlation, coded errors,
// timeouts, revoked events closing tracked handles first, a closed channel.
const test = require('node:test');
const assert = require('node:assert/strict');
const { core, MemoryTransport, hostOptions, checkNoLeaks, connectClient, osSize } = require('./fixtures/node-helpers');

checkNoLeaks();

function setup(clientOptions) {
  const transport = new MemoryTransport();
  const host = new core.BridgeHost(transport, hostOptions());
  const peer = transport.addPeer('p');
  const { client, link } = connectClient(transport, peer, clientOptions);
  test.after(() => host.close());
  return { transport, host, peer, client, link };
}

test('requests resolve with their own replies, concurrently', async () => {
  const { host, client } = setup();
  host.create('one', 10, { share: 'all' });
  host.create('two', 20, { share: 'all', readonly: true });
  const [hello, one, two, list] = await Promise.all([client.hello(), client.attach('one'), client.attach('two'), client.list()]);
  assert.equal(hello.version, 1);
  assert.equal(one.size, osSize(10));
  assert.equal(one.readonly, false);
  assert.equal(two.size, osSize(20));
  assert.equal(two.readonly, true);
  assert.deepEqual(list.map((e) => e.name).sort(), ['one', 'two']);
  assert.equal(client.pending, 0);
});

test('error replies are rebuilt with their code and class', async () => {
  const { client } = setup();
  await assert.rejects(client.attach('missing'), (e) => e instanceof Error && e.code === 'ERR_SHM_BRIDGE_NOT_FOUND');
  // local argument checks never reach the host
  await assert.rejects(client.attach('bad name'), { code: 'ERR_INVALID_ARG_VALUE', name: 'TypeError' });
  await assert.rejects(client.attach('x', { readonly: 1 }), { code: 'ERR_INVALID_ARG_TYPE' });
  await assert.rejects(client.create('x', 0), { code: 'ERR_OUT_OF_RANGE', name: 'RangeError' });
  await assert.rejects(client.create('x', 1.5), { code: 'ERR_OUT_OF_RANGE' });
  // a wire-level protocol error, bypassing the client's own checks
  await assert.rejects(client.request({ op: 'attach', name: 'x', readonly: 'no' }), { code: 'ERR_SHM_BRIDGE_PROTOCOL', name: 'TypeError' });
});

test('a request without reply fails with ERR_SHM_BRIDGE_TIMEOUT and leaves nothing pending', async () => {
  const { client, link } = setup({ timeoutMs: 50 });
  link.drop = true;
  const start = Date.now();
  await assert.rejects(client.hello(), { code: 'ERR_SHM_BRIDGE_TIMEOUT' });
  assert.ok(Date.now() - start >= 45);
  assert.equal(client.pending, 0);
  assert.throws(() => new core.BridgeClient({ listen() {}, send() {}, close() {} }, { timeoutMs: 0 }), { code: 'ERR_OUT_OF_RANGE' });
});

test('revoked: tracked handles are closed before listeners run', async () => {
  const { host, client } = setup();
  host.create('shared', 64, { share: 'all' });
  const a = await client.attach('shared');
  const b = await client.attach('shared', { readonly: true });
  const closed = [];
  client.track(a.handle, () => closed.push(a.handle));
  client.track(b.handle, () => closed.push(b.handle));
  const seen = new Promise((resolve) => client.on('revoked', (info) => resolve({ info, closedThen: [...closed] })));
  host.release('shared');
  const { info, closedThen } = await seen;
  assert.equal(info.name, 'shared');
  assert.equal(info.reason, 'released');
  assert.deepEqual(info.handles.sort(), [a.handle, b.handle].sort());
  assert.deepEqual(closedThen.sort(), [a.handle, b.handle].sort());
});

test('detach closes the tracked mapping and tells the host', async () => {
  const { host, client } = setup();
  host.create('d', 64, { share: 'all' });
  const r = await client.attach('d');
  let closed = 0;
  client.track(r.handle, () => closed++);
  await client.detach(r.handle);
  assert.equal(closed, 1);
  assert.deepEqual(host.segments()[0].attachments, []);
});

test('a closed channel fails pending requests with ERR_SHM_BRIDGE_CLOSED; close() is idempotent', async () => {
  const { client, link } = setup({ timeoutMs: 5000 });
  link.drop = true;
  const pending = client.hello();
  let closedEvents = 0;
  client.on('closed', () => closedEvents++);
  link.handlers.closed();
  await assert.rejects(pending, { code: 'ERR_SHM_BRIDGE_CLOSED' });
  await assert.rejects(client.list(), { code: 'ERR_SHM_BRIDGE_CLOSED' });
  client.close();
  assert.equal(closedEvents, 1);
  assert.equal(client.closed, true);
});

test('a malformed host message fails its request with a code; garbage without an id is dropped', async () => {
  const transport = { listen(h) { this.h = h; }, send(m) { setImmediate(() => { this.h.message(42); this.h.message({ v: 1, id: m.id, ok: true }); }); }, close() {} };
  const client = new core.BridgeClient(transport, { timeoutMs: 2000 });
  // ok:true with no result is accepted as result undefined: attach checks the result's shape
  await assert.rejects(client.attach('x'), { code: 'ERR_SHM_BRIDGE_PROTOCOL' });
  const transport2 = { listen(h) { this.h = h; }, send(m) { setImmediate(() => this.h.message({ v: 1, id: m.id, ok: 'yes' })); }, close() {} };
  const client2 = new core.BridgeClient(transport2, { timeoutMs: 2000 });
  await assert.rejects(client2.hello(), { code: 'ERR_SHM_BRIDGE_PROTOCOL' });
  client.close();
  client2.close();
});

test('a revoked event that overtakes the attach continuation still closes the mapping', async () => {
  // The reply and the event arrive in one read (IPC delivers a chunk's messages synchronously): the
  // event is processed before the code awaiting attach() can track() the handle.
  const transport = {
    listen(h) {
      this.h = h;
    },
    send(m) {
      setImmediate(() => {
        this.h.message({ v: 1, id: m.id, ok: true, result: { handle: 5, name: 'x', osName: 'os', size: 1, readonly: false, kind: 'segment' } });
        this.h.message({ v: 1, event: 'revoked', name: 'x', handles: [5], reason: 'owner-gone' });
      });
    },
    close() {},
  };
  const client = new core.BridgeClient(transport, { timeoutMs: 2000 });
  const events = [];
  client.on('revoked', (info) => events.push(info));
  const r = await client.attach('x');
  let closed = 0;
  const outcome = client.track(r.handle, () => closed++);
  assert.equal(closed, 1, 'the mapping is closed at once');
  assert.equal(outcome, 'owner-gone', 'track() tells why');
  assert.equal(events.length, 1);
  // a handle tracked normally is not affected
  assert.equal(client.track(6, () => closed++), null);
  assert.equal(closed, 1);
  client.close();
});
