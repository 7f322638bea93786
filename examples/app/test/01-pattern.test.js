'use strict';
// The synthetic video pattern: what the producer renders, every consumer verifies.
const test = require('node:test');
const assert = require('node:assert/strict');
const { PatternRenderer, verifyFrame, bodyPixel, HEADER_ROWS, PRESETS } = require('../dist/shared/pattern.js');

test('rendered frames verify, carry their number, and match bodyPixel everywhere', () => {
  const { width, height } = PRESETS.small;
  const r = new PatternRenderer(width, height);
  const buf = new Uint8Array(width * height * 4);
  for (const n of [0, 1, 63, 64, 255, 1000, 0xffffffff]) {
    const checksum = r.render(buf, n);
    const check = verifyFrame(buf, width, height);
    assert.deepEqual(check, { ok: true, frame: n, checksum }, `frame ${n}`);
  }
  const words = new Uint32Array(buf.buffer);
  assert.equal(words[HEADER_ROWS * width + 17], bodyPixel(17, HEADER_ROWS, 0xffffffff));
});

test('a padded stride renders and verifies the same frame', () => {
  const width = 100, height = 20, stride = 112 * 4;
  const r = new PatternRenderer(width, height);
  const buf = new Uint8Array(stride * height);
  const checksum = r.render(buf, 7, stride);
  assert.deepEqual(verifyFrame(buf, width, height, stride), { ok: true, frame: 7, checksum });
});

test('one changed byte, a torn frame or a stale header fails verification', () => {
  const { width, height } = PRESETS.small;
  const r = new PatternRenderer(width, height);
  const a = new Uint8Array(width * height * 4);
  const b = new Uint8Array(width * height * 4);
  r.render(a, 5);
  r.render(b, 6);
  const flipped = a.slice();
  flipped[width * 4 * 100 + 41] ^= 1;
  assert.equal(verifyFrame(flipped, width, height).ok, false);
  const torn = a.slice();
  torn.set(b.subarray(width * 4 * 90), width * 4 * 90); // lower half from the next frame
  assert.equal(verifyFrame(torn, width, height).ok, false);
  const nonStrict = verifyFrame(torn, width, height, width * 4, false);
  assert.equal(nonStrict.ok, false, 'the checksum alone catches a torn frame too');
  assert.equal(verifyFrame(new Uint8Array(width * height * 4), width, height).ok, false);
});

test('sizes too small for the header are refused with a code', () => {
  assert.throws(() => new PatternRenderer(10, 10), { code: 'ERR_OUT_OF_RANGE' });
  const r = new PatternRenderer(64, 9);
  assert.throws(() => r.render(new Uint8Array(10), 0), { code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => r.render(new Uint8Array(64 * 9 * 4), -1), { code: 'ERR_OUT_OF_RANGE' });
});
