'use strict';
// A FrameRing writer and a reader in another process.
//
//   node packages/shm/examples/frame-ring-writer.js [frames=60]
//
// The writer creates a ring of 4 slots of 320x240 RGBA, starts
// frame-ring-reader.js with the ring's name, and once the reader is attached
// publishes `frames` frames at about 60 per second, each filled with a byte
// derived from its number and stamped with that number in its first 4 bytes.
// Then it closes the ring (the reader's loop ends), waits for the reader and
// unlinks. The writer never waits for the reader: a slow reader skips frames.
const path = require('node:path');
const { fork } = require('node:child_process');
const { FrameRing } = require('@shmkit/shm');

const WIDTH = 320;
const HEIGHT = 240;
const FRAMES = Number(process.argv[2] ?? 60);

async function main() {
  const tag = `[writer ${process.pid}]`;
  const ring = FrameRing.create({ slots: 4, slotBytes: WIDTH * HEIGHT * 4 });
  console.log(`${tag} created ${ring}`);
  try {
    const reader = fork(path.join(__dirname, 'frame-ring-reader.js'), [ring.name], { stdio: 'inherit' });
    const exited = new Promise((resolve) => reader.on('exit', resolve));
    await new Promise((resolve, reject) => {
      reader.once('message', resolve); // 'attached'
      reader.once('exit', (code) => reject(new Error(`the reader exited with code ${code}`)));
    });
    for (let i = 0; i < FRAMES; i++) {
      const slot = ring.acquire(); // fill the slot in place: no copy
      slot.data.fill(i & 0xff, 0, WIDTH * HEIGHT * 4);
      new DataView(slot.data.buffer, slot.data.byteOffset).setUint32(0, i, true);
      ring.publish(slot, { width: WIDTH, height: HEIGHT, pixelFormat: 'rgba8' });
      await new Promise((resolve) => setTimeout(resolve, 16));
    }
    console.log(`${tag} published ${FRAMES} frames; closing the ring`);
    ring.close(); // the reader's frames() loop ends
    const code = await exited;
    if (code !== 0) throw new Error(`the reader exited with code ${code}`);
  } finally {
    ring.close();
    ring.unlink();
    console.log(`${tag} unlinked ${ring.name}`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
