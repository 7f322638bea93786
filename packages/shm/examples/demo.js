'use strict';
// Two processes share one segment. The parent creates it and writes a
// greeting; a child process attaches by name, reads it, writes a reply and
// bumps a counter with Atomics; the parent then reads what the child wrote.
//
// Before unlinking, the parent prints a ready-to-run `python3 -c` line that
// attaches from Python and waits: for Enter when stdin is a terminal, not at
// all otherwise (so CI never hangs), unless --wait is given (then it waits for
// a line or the end of stdin). Either wait ends by itself after 60 s.
//
//   npm run demo         (from the repository root)
//   node packages/shm/examples/demo.js [--wait]
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
  worker.on('exit', async (code) => {
    try {
      if (code !== 0) throw new Error(`child exited with code ${code}`);
      console.log(`${tag} sees: "${readText(shm)}"`);
      console.log(`${tag} sees the counter at ${Atomics.load(counter, 0)}`);
      console.log(`${tag} Python can attach too (3.8-3.13; the line leaves the segment in place):`);
      console.log(pythonCommand(shm.name));
      await pause(tag);
    } finally {
      shm.close();
      shm.unlink();
      console.log(`${tag} closed and unlinked ${shm.name}`);
    }
  });
}

/**
 * A shell line that attaches from Python and prints the text. Python before
 * 3.13 would unlink a segment it merely attached to when it exits: the line
 * unregisters it there, and passes track=False from 3.13.
 */
function pythonCommand(name) {
  const script = [
    'import sys',
    'from multiprocessing import resource_tracker as rt, shared_memory as sm',
    `m = sm.SharedMemory('${name}', track=False) if sys.version_info >= (3, 13) else sm.SharedMemory('${name}')`,
    "sys.version_info >= (3, 13) or rt.unregister(m._name, 'shared_memory')",
    `print('python reads:', bytes(m.buf[${TEXT_OFFSET}:]).split(b'\\0')[0].decode())`,
    'm.close()',
  ].join('; ');
  return `python3 -c "${script}"`;
}

/** Waits for Enter on a terminal (or a line / end of stdin with --wait), at most 60 s; else not at all. */
function pause(tag) {
  if (!process.stdin.isTTY && !process.argv.includes('--wait')) return Promise.resolve();
  console.log(`${tag} press Enter to close and unlink it (it goes on by itself in 60 s)`);
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      process.stdin.off('data', done).off('end', done).pause();
      resolve();
    };
    const timer = setTimeout(done, 60_000);
    process.stdin.on('data', done).on('end', done).resume();
  });
}

if (process.argv[2] === '--child') child(process.argv[3]);
else parent();
