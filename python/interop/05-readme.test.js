'use strict';
// The README's producer.py block runs as shown: a Node host spawns it as a peer (as the Electron host
// would), hears of its ring (segment-created), and a reader in the host's process checks every frame it
// gets against what the block renders (frame k: every pixel (k mod 256, 128, 255 − k mod 256, 255)),
// with drops counted exactly; the ring is gone when the producer has closed. Needs NumPy.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { FrameRing } = require('@shmkit/shm');
const { createNodeHost } = require('@shmkit/electron-bridge/node');
const { PYTHON, NO_PYTHON, PYTHON_DIR, hasNumpy } = require('./helpers');

const skip = NO_PYTHON || (hasNumpy(PYTHON) ? false : `no NumPy in ${PYTHON}: the README's block uses it`);

function readmeBlock(name) {
  const text = fs.readFileSync(path.join(PYTHON_DIR, 'README.md'), 'utf8');
  const m = new RegExp('```python\\n# ' + name.replace('.', '\\.') + '\\n([\\s\\S]*?)```').exec(text);
  assert.ok(m, `README.md has a python block that starts with "# ${name}"`);
  return `# ${name}\n${m[1]}`;
}

test("the README's producer.py streams its frames to a reader the host gives the ring to", { skip }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmkit-readme-'));
  const host = createNodeHost();
  let reader = null;
  try {
    const script = path.join(dir, 'producer.py');
    fs.writeFileSync(script, readmeBlock('producer.py'));
    const opened = new Promise((resolve) =>
      host.on('segment-created', (child, info) => {
        // the host's own reader (a window would be granted it here)
        resolve({ info, osName: host.segments().find((s) => s.name === info.name && s.owner === child).osName });
      }),
    );
    const child = host.spawn(PYTHON, [script], { env: { ...process.env, PYTHONPATH: PYTHON_DIR }, stdio: ['ignore', 'inherit', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    const { info, osName } = await Promise.race([opened, exited.then((code) => assert.fail(`producer.py exited (${code}) first: ${stderr}`))]);
    assert.deepEqual({ name: info.name, kind: info.kind }, { name: 'video', kind: 'frame-ring' });
    reader = FrameRing.attach(osName);
    assert.equal(reader.writerPid, child.pid, "the Python process is the ring's writer");
    let first = -1;
    let last = -1;
    let checked = 0;
    for await (const frame of reader.frames()) {
      const k = frame.frameNumber;
      const px = [k % 256, 128, 255 - (k % 256), 255];
      assert.deepEqual([frame.width, frame.height, frame.pixelFormat], [1920, 1080, 'rgba8']);
      const d = frame.data;
      const seen = [0, 4 * 1000 * 1920 + 4 * 777, d.byteLength - 4].map((at) => [at, [...d.subarray(at, at + 4)]]);
      if (!frame.valid()) continue; // overwritten while read: neither pass nor fail
      for (const [at, got] of seen) assert.deepEqual(got, px, `frame ${k} at byte ${at}`);
      checked++;
      assert.equal(frame.dropped, first < 0 ? 0 : k - last - 1, 'drops counted exactly');
      if (first < 0) first = k;
      last = k;
    }
    // frames() ended: the producer closed its ring (client.close()); it was the last frame
    assert.equal(last, 119);
    assert.ok(checked >= 20, `${checked} frames checked`);
    assert.equal(await exited, 0, stderr);
  } finally {
    reader?.close();
    host.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
