'use strict';
// Two processes wake each other through words of one segment (Linux futex).
//
//   node packages/shm/examples/wait-notify.js
//
// The parent creates the segment and starts a child that waits on word 0. The
// parent stores 1 there and notifies; the child wakes, answers by storing its
// pid in word 1 and notifying; the parent, waiting on word 1, wakes, reads the
// answer and unlinks. A waiter always checks the word again after waking: a
// wake-up is a hint that it changed, the word is the truth.
const { fork } = require('node:child_process');
const { SharedMemory, waitAsync, notify } = require('@shmkit/shm');

const REQUEST = 0; // byte offsets of the two words
const REPLY = 4;

/** Resolves with the word's value once it is no longer `initial`. */
async function waitForChange(shm, byteOffset, initial) {
  const word = shm.view(Int32Array, byteOffset, 1);
  while (Atomics.load(word, 0) === initial) {
    await waitAsync(shm, byteOffset, initial, 10_000); // 'ok', 'not-equal' or 'timed-out': look again
  }
  return Atomics.load(word, 0);
}

async function child(name) {
  const tag = `[waiter   ${process.pid}]`;
  const shm = SharedMemory.attach(name);
  console.log(`${tag} attached to ${shm}; sleeping until word ${REQUEST} changes`);
  process.once('disconnect', () => process.exit(1)); // the notifier is gone: stop waiting
  process.send('ready');
  const request = await waitForChange(shm, REQUEST, 0);
  console.log(`${tag} woke up: word ${REQUEST} is ${request}; answering in word ${REPLY}`);
  Atomics.store(shm.view(Int32Array, REPLY, 1), 0, process.pid); // change the word, then wake
  notify(shm, REPLY);
  shm.close();
  process.removeAllListeners('disconnect');
  process.disconnect();
}

async function parent() {
  const tag = `[notifier ${process.pid}]`;
  const shm = SharedMemory.create(64);
  console.log(`${tag} created ${shm}`);
  try {
    const waiter = fork(__filename, ['--child', shm.name], { stdio: 'inherit' });
    const exited = new Promise((resolve) => waiter.on('exit', resolve));
    await new Promise((resolve, reject) => {
      waiter.once('message', resolve);
      waiter.once('exit', (code) => reject(new Error(`the waiter exited with code ${code}`)));
    });
    const reply = waitForChange(shm, REPLY, 0); // start waiting for the answer before asking
    Atomics.store(shm.view(Int32Array, REQUEST, 1), 0, 1);
    const woken = notify(shm, REQUEST);
    console.log(`${tag} stored 1 in word ${REQUEST}; notify() woke ${woken} waiter(s)`);
    const answer = await reply;
    console.log(`${tag} woke up: the waiter (pid ${answer}) answered`);
    const code = await exited;
    if (code !== 0) throw new Error(`the waiter exited with code ${code}`);
  } finally {
    shm.close();
    shm.unlink();
    console.log(`${tag} closed and unlinked ${shm.name}`);
  }
}

(process.argv[2] === '--child' ? child(process.argv[3]) : parent()).catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
