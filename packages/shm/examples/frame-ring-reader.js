'use strict';
// A FrameRing reader: attaches to a ring by name and reads every frame until
// the writer closes the ring. Started by frame-ring-writer.js, or by hand:
//
//   node packages/shm/examples/frame-ring-reader.js NAME
//
// Each frame is checked the seqlock way: use the zero-copy data first (here:
// check that every pixel carries the frame's fill byte), then ask
// frame.valid(); a frame the writer overwrote meanwhile is discarded.
const { FrameRing } = require('@shmkit/shm');

async function main(name) {
  const tag = `[reader ${process.pid}]`;
  if (!name) throw new Error('usage: node frame-ring-reader.js NAME');
  const reader = FrameRing.attach(name); // readonly: this reader cannot change what others see
  console.log(`${tag} attached to ${reader}`);
  process.send?.('attached');
  let good = 0;
  let torn = 0;
  let last = -1;
  try {
    for await (const frame of reader.frames()) {
      const data = frame.data;
      const stamp = new DataView(data.buffer, data.byteOffset).getUint32(0, true);
      const fill = stamp & 0xff;
      let consistent = stamp === frame.frameNumber;
      for (let i = 4; consistent && i < frame.byteLength; i += 4099) consistent = data[i] === fill;
      if (!frame.valid()) {
        torn++; // overwritten while we looked: whatever we saw is discarded
        continue;
      }
      if (!consistent) throw new Error(`frame ${frame.frameNumber} is valid but its pixels are not its own`);
      good++;
      last = frame.frameNumber;
    }
  } finally {
    reader.close();
  }
  const { dropped } = reader.stats;
  console.log(`${tag} the writer closed the ring: ${good} frames read (last #${last}), ${dropped} skipped, ${torn} torn`);
  if (good === 0) throw new Error('no frame was read');
}

main(process.argv[2]).catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
