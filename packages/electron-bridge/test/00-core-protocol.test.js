'use strict';
// The wire protocol on its own: what parseRequest accepts, what it refuses and with which code.
const test = require('node:test');
const assert = require('node:assert/strict');
const { core } = require('./fixtures/node-helpers');

const { parseRequest, parseHostMessage, PROTOCOL_VERSION, MAX_NAME_LENGTH, BRIDGE_ERROR_CODES } = core;
const MAX = 1 << 20;

function refused(raw, code = 'ERR_SHM_BRIDGE_PROTOCOL') {
  let error;
  try {
    parseRequest(raw, MAX);
  } catch (e) {
    error = e;
  }
  // no formatting of `raw` here: it may hold getters that must never run
  assert.ok(error, 'a malformed request was accepted');
  assert.equal(error.code, code, error.message);
}

test('valid requests parse into fresh objects with only their fields', () => {
  const cases = [
    { v: 1, id: 0, op: 'hello' },
    { v: 1, id: 7, op: 'attach', name: 'frames' },
    { v: 1, id: 8, op: 'attach', name: 'a.b_c:d-e9', readonly: true },
    { v: 1, id: 9, op: 'create', name: 'x', size: MAX },
    { v: 1, id: 10, op: 'detach', handle: 1 },
    { v: 1, id: 11, op: 'release', name: 'x' },
    { v: 1, id: Number.MAX_SAFE_INTEGER, op: 'list' },
  ];
  for (const raw of cases) {
    const parsed = parseRequest(raw, MAX);
    assert.deepEqual(parsed, raw);
    assert.notEqual(parsed, raw);
  }
  assert.equal(PROTOCOL_VERSION, 1);
  // a null-prototype object is plain too
  assert.deepEqual(parseRequest(Object.assign(Object.create(null), { v: 1, id: 1, op: 'list' }), MAX), { v: 1, id: 1, op: 'list' });
});

test('shape, type, range and name errors are ERR_SHM_BRIDGE_PROTOCOL', () => {
  for (const raw of [null, undefined, 1, 'x', true, [], [1], () => 1, new Map(), new Date(), Buffer.from('{}')]) refused(raw);
  refused({ v: '1', id: 1, op: 'list' });
  refused({ id: 1, op: 'list' });
  for (const id of [-1, 1.5, NaN, Infinity, 2 ** 53, '1', null, {}, 1n]) refused({ v: 1, id, op: 'list' });
  for (const op of ['', 'ATTACH', 'constructor', '__proto__', 'toString', 1, null]) refused({ v: 1, id: 1, op });
  refused({ v: 1, id: 1, op: 'attach' }); // name missing
  refused({ v: 1, id: 1, op: 'list', name: 'x' }); // field of another op
  refused({ v: 1, id: 1, op: 'list', extra: 1 });
  refused(JSON.parse('{"v":1,"id":1,"op":"list","__proto__":{"polluted":true}}'));
  refused({ v: 1, id: 1, op: 'list', constructor: 1 });
  for (const name of ['', 'a/b', '.x', '-x', 'a b', 'é', 'a\0', 'x'.repeat(MAX_NAME_LENGTH + 1), 1, null, ['x']]) {
    refused({ v: 1, id: 1, op: 'attach', name });
  }
  assert.deepEqual(parseRequest({ v: 1, id: 1, op: 'attach', name: 'x'.repeat(MAX_NAME_LENGTH) }, MAX).name.length, MAX_NAME_LENGTH);
  refused({ v: 1, id: 1, op: 'attach', name: 'x', readonly: 'yes' });
  for (const size of [0, -1, 1.5, NaN, Infinity, 2 ** 53, '8', null]) refused({ v: 1, id: 1, op: 'create', name: 'x', size });
  for (const handle of [0, -1, 1.5, '1', null, 2 ** 53]) refused({ v: 1, id: 1, op: 'detach', handle });
  assert.throws(() => parseRequest(Object.assign(Object.create({ v: 1, id: 1 }), { op: 'list' }), MAX), { code: 'ERR_SHM_BRIDGE_PROTOCOL' });
});

test('other versions, sizes over the limit', () => {
  refused({ v: 2, id: 1, op: 'list' }, 'ERR_SHM_BRIDGE_VERSION');
  refused({ v: 0, id: 1, op: 'list' }, 'ERR_SHM_BRIDGE_VERSION');
  refused({ v: 1, id: 1, op: 'create', name: 'x', size: MAX + 1 }, 'ERR_SHM_BRIDGE_LIMIT');
});

test('accessors and symbol keys are refused without running anything', () => {
  let ran = 0;
  const withGetter = { v: 1, id: 1 };
  Object.defineProperty(withGetter, 'op', { enumerable: true, get: () => (ran++, 'list') });
  refused(withGetter);
  refused({ v: 1, id: 1, op: 'list', [Symbol('x')]: 1 });
  assert.equal(ran, 0);
});

test('host messages are checked on the client side', () => {
  assert.deepEqual(parseHostMessage({ v: 1, id: 3, ok: true, result: null }), { v: 1, id: 3, ok: true, result: null });
  const err = { v: 1, id: null, ok: false, error: { name: 'TypeError', code: 'ERR_SHM_BRIDGE_PROTOCOL', message: 'm' } };
  assert.deepEqual(parseHostMessage(err), err);
  const ev = { v: 1, event: 'revoked', name: 'x', handles: [1, 2], reason: 'owner-gone' };
  assert.deepEqual(parseHostMessage(ev), ev);
  for (const bad of [null, {}, { v: 2, id: 1, ok: true }, { v: 1, id: -1, ok: true }, { v: 1, id: 1, ok: false, error: {} },
    { v: 1, event: 'revoked', name: 'x', handles: ['1'], reason: 'owner-gone' }, { v: 1, event: 'revoked', name: 'x', handles: [], reason: 'nope' }]) {
    assert.throws(() => parseHostMessage(bad), (e) => e.code === 'ERR_SHM_BRIDGE_PROTOCOL' || e.code === 'ERR_SHM_BRIDGE_VERSION');
  }
});

test('every code is ERR_SHM_BRIDGE_* and listed once', () => {
  assert.ok(BRIDGE_ERROR_CODES.length >= 10);
  assert.equal(new Set(BRIDGE_ERROR_CODES).size, BRIDGE_ERROR_CODES.length);
  for (const code of BRIDGE_ERROR_CODES) assert.match(code, /^ERR_SHM_BRIDGE_[A-Z_]+$/);
});
