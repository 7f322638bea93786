'use strict';
// Two processes share one segment. The parent creates it and writes a
// greeting; a child process attaches by name, reads it, writes a reply and
// bumps a counter with Atomics; the parent then reads what the child wrote.
//
//   npm start            (from the repository root)
//   node packages/shm/examples/demo.js
const { fork } = require('node:child_process');
const { SharedMemory } = require('@shmkit/shm');

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const TEXT_OFFSET = 64; // bytes 0..63 hold counters, the text starts here

function readText(shm) {
  const bytes = shm.buf.subarray(TEXT_OFFSET);
  const end = bytes.indexOf(0);
  return decoder.decode(bytes.subarray(0, end < 0 ? bytes.length : end));
}

function writeText(shm, text) {
  shm.buf.fill(0, TEXT_OFFSET);
  shm.buf.set(encoder.encode(text), TEXT_OFFSET);
}

function child(name) {
  const tag = `[child  ${process.pid}]`;
  const shm = SharedMemory.attach(name);
  console.log(`${tag} attached to ${shm}, strategy ${shm.strategy}`);
  console.log(`${tag} reads: "${readText(shm)}"`);
  const counter = shm.view(Int32Array, 0, 1);
  const now = Atomics.add(counter, 0, 1) + 1;
  writeText(shm, `hello back from pid ${process.pid}; the counter is now ${now}`);
  console.log(`${tag} wrote a reply and bumped the counter to ${now}; closing`);
  shm.close(); // a child closes; only one process (the parent) unlinks
}

function parent() {
  const tag = `[parent ${process.pid}]`;
  const shm = SharedMemory.create(1 << 20); // 1 MiB, name generated like Python's
  console.log(`${tag} created ${shm} (strategy ${shm.strategy})`);
  const counter = shm.view(Int32Array, 0, 1);
  Atomics.store(counter, 0, 41);
  writeText(shm, `hello from pid ${process.pid}`);
  console.log(`${tag} wrote: "${readText(shm)}" and set the counter to 41`);

  const worker = fork(__filename, ['--child', shm.name], { stdio: 'inherit' });
  worker.on('exit', (code) => {
    try {
      if (code !== 0) throw new Error(`child exited with code ${code}`);
      console.log(`${tag} sees: "${readText(shm)}"`);
      console.log(`${tag} sees the counter at ${Atomics.load(counter, 0)}`);
      console.log(`${tag} Python can attach too: SharedMemory(name='${shm.name}')`);
    } finally {
      shm.close();
      shm.unlink();
      console.log(`${tag} closed and unlinked ${shm.name}`);
    }
  });
}

if (process.argv[2] === '--child') child(process.argv[3]);
else parent();
