/**
 * What the host does in both versions of the app (Electron's main process, and the terminal host):
 * render the synthetic video into a FrameRing at a steady rate, and fill the dataset segment.
 * Node-only (it drives @shmkit/shm objects); no Electron import.
 */
import type { FrameRing, SharedMemory } from '@shmkit/shm';
import { checksum, fill } from '../shared/dataset';
import { PatternRenderer } from '../shared/pattern';

export interface Producer {
  readonly published: number;
  stop(): void;
}

/**
 * Renders frame n into the slot it acquired (producing *is* filling the slot: no copy) and
 * publishes it, `fps` times a second. A late timer does not burst to catch up.
 */
export function produceVideo(ring: FrameRing, width: number, height: number, fps: number): Producer {
  const renderer = new PatternRenderer(width, height);
  const interval = 1000 / fps;
  let published = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let next = performance.now();
  const tick = (): void => {
    if (stopped) return;
    const slot = ring.acquire();
    renderer.render(slot.data, published);
    ring.publish(slot, { width, height, pixelFormat: 'rgba8', byteLength: width * height * 4 });
    published++;
    next += interval;
    const now = performance.now();
    if (next < now - 4 * interval) next = now;
    timer = setTimeout(tick, Math.max(0, next - now));
  };
  tick();
  return {
    get published() {
      return published;
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/**
 * Fills the dataset segment with the deterministic samples, a chunk at a time, yielding to the
 * event loop between chunks (so a UI or Ctrl-C stays responsive); returns its checksum, or null when
 * `cancelled()` said to stop.
 */
export async function fillDataset(
  shm: SharedMemory,
  progress: (done: number, total: number) => void,
  cancelled: () => boolean = () => false,
): Promise<number | null> {
  const samples = new Float32Array(shm.buf.buffer, shm.buf.byteOffset, Math.floor(shm.size / 4));
  const chunk = 1 << 20;
  for (let first = 0; first < samples.length; first += chunk) {
    if (cancelled()) return null;
    const end = Math.min(samples.length, first + chunk);
    fill(samples.subarray(first, end), first);
    progress(end, samples.length);
    await new Promise((resolve) => setImmediate(resolve));
  }
  return checksum(shm.buf);
}
