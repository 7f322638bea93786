'use strict';
// The Python renderer of the test pattern (python/pattern.py, used by `--source python`) makes the
// same frames, byte for byte, as src/shared/pattern.ts, with NumPy and without: each frame is
// verified by the Node verifier and compared with Node's own rendering. Runs on every CPython
// here that the python/ package supports; NumPy where that Python has it.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { PatternRenderer, verifyFrame } = require('../dist/shared/pattern.js');
const { pythons, hasNumpy } = require('@shmkit/python/interop/helpers');

const SCRIPT = `
import sys
sys.path.insert(0, sys.argv[1])
import pattern
out, width, height, stride, kind = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
r = pattern.NumpyRenderer(width, height) if kind == 'numpy' else pattern.PurePatternRenderer(width, height)
frames = [int(n) for n in sys.argv[7:]]
buf = bytearray(stride * height)
with open(out, 'wb') as f:
    for n in frames:
        checksum = r.render(buf, n, stride)
        f.write(checksum.to_bytes(4, 'little'))
        f.write(buf)
try:
    r.render(buf, -1, stride)
except ValueError as e:
    print('refused:', e)
try:
    r.render(bytearray(16), 0, stride)
except ValueError as e:
    print('refused:', e)
`;

const FRAMES = [0, 1, 63, 64, 255, 256, 1000, 0xffffffff];

for (const py of pythons()) {
  const numpy = hasNumpy(py.command);
  for (const kind of ['pure', 'numpy']) {
    for (const [width, height, stride] of [[320, 180, 320 * 4], [100, 20, 112 * 4]]) {
      test(`${py.label}, ${kind === 'numpy' ? 'NumPy' : 'standard library'}: ${width}x${height} stride ${stride}, frames ${FRAMES.join(', ')} are Node's`, { skip: kind === 'numpy' && !numpy ? `no NumPy in ${py.label}` : false }, () => {
        const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pattern-')), 'frames.bin');
        try {
          const run = spawnSync(py.command, ['-c', SCRIPT, path.join(__dirname, '..', 'python'), out, String(width), String(height), String(stride), kind, ...FRAMES.map(String)], { encoding: 'utf8' });
          assert.equal(run.status, 0, run.stderr);
          assert.match(run.stdout, /refused: frame number must be a u32/);
          assert.match(run.stdout, /refused: destination too small/);
          const all = fs.readFileSync(out);
          const frameBytes = stride * height;
          const node = new PatternRenderer(width, height);
          const mine = new Uint8Array(frameBytes);
          FRAMES.forEach((n, i) => {
            const at = i * (4 + frameBytes);
            const checksum = all.readUInt32LE(at);
            const frame = new Uint8Array(all.buffer, all.byteOffset + at + 4, frameBytes);
            assert.deepEqual(verifyFrame(frame, width, height, stride), { ok: true, frame: n, checksum }, `frame ${n} verifies`);
            mine.fill(0);
            assert.equal(node.render(mine, n, stride), checksum, `frame ${n}: the same checksum`);
            // the padding between rows is not part of the frame: compare rows
            for (let y = 0; y < height; y++) {
              const row = (b) => Buffer.from(b.buffer, b.byteOffset + y * stride, width * 4);
              if (!row(frame).equals(row(mine))) assert.fail(`frame ${n}, row ${y} differs from Node's`);
            }
          });
        } finally {
          fs.rmSync(path.dirname(out), { recursive: true, force: true });
        }
      });
    }
  }
}
