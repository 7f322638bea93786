'use strict';
// Runs last (files run in name order, one at a time): no segment made by any
// test file of this run is left in /dev/shm. It only reads /dev/shm.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { RUN_PREFIX } = require('./helpers');

test('the whole test run left no segment behind', () => {
  const leftover = fs.readdirSync('/dev/shm').filter((name) => name.startsWith(RUN_PREFIX));
  assert.deepEqual(leftover, []);
});
