'use strict';
// Wake-up round trips between two node.exe processes on Windows: shmkit's notify() waking a
// waitAsync() in the other process and back (the waiter table and named events of
// docs/decisions/0014-windows.md), against a message each way over child_process IPC (a pipe).
//
//   node bench/windows/wake.js [rounds=2000]
//
// Run here under Wine (.ci/wine.sh fetches node.exe): every wineserver call is a round trip to
// another Linux process, so the figures say how shmkit behaves under Wine, never what Windows
// does. Its numbers are labelled [Wine] wherever they are quoted.
const { fork } = require('node:child_process');
const { SharedMemory, waitAsync, notify } = require('@shmkit/shm');

const PING = 0; // int32 words: parent → child, child → parent
const PONG = 1;

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
function summary(label, samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const us = (ms) => `${(ms * 1000).toFixed(0)} µs`;
  return `${label}: p50 ${us(percentile(sorted, 50))}, p90 ${us(percentile(sorted, 90))}, p99 ${us(percentile(sorted, 99))} (${sorted.length} round trips)`;
}

if (process.argv[2] === 'child') {
  const shm = SharedMemory.attach(process.argv[3]);
  const words = shm.view(Int32Array);
  process.on('message', (m) => {
    if (m === 'stop') {
      shm.close();
      process.disconnect();
    } else process.send(m); // the IPC echo
  });
  (async () => {
    let seen = 0;
    for (;;) {
      if ((await waitAsync(shm, PING * 4, seen, 60_000)) === 'timed-out') continue;
      seen = Atomics.load(words, PING);
      if (seen < 0 || shm.closed) return;
      Atomics.store(words, PONG, seen);
      notify(shm, PONG * 4, 1);
    }
  })().catch(() => {});
  process.send('ready');
} else {
  const rounds = Number(process.argv[2] ?? 2000);
  const shm = SharedMemory.create(4096);
  const words = shm.view(Int32Array);
  const child = fork(__filename, ['child', shm.name]);
  (async () => {
    await new Promise((resolve) => child.once('message', resolve));
    const wake = [];
    for (let i = 1; i <= rounds + 50; i++) {
      const t0 = performance.now();
      Atomics.store(words, PING, i);
      notify(shm, PING * 4, 1);
      while (Atomics.load(words, PONG) !== i) await waitAsync(shm, PONG * 4, Atomics.load(words, PONG), 60_000);
      if (i > 50) wake.push(performance.now() - t0);
    }
    const ipc = [];
    for (let i = 1; i <= rounds + 50; i++) {
      const t0 = performance.now();
      child.send(i);
      await new Promise((resolve) => child.once('message', resolve));
      if (i > 50) ipc.push(performance.now() - t0);
    }
    Atomics.store(words, PING, -1);
    notify(shm, PING * 4);
    child.send('stop');
    console.log(`${process.version} ${process.platform}-${process.arch}`);
    console.log(summary('notify → waitAsync → notify → waitAsync', wake));
    console.log(summary('child_process IPC message and reply', ipc));
    shm.close();
  })();
}
