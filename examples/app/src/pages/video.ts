/**
 * The video window: draws the host's FrameRing into the canvas with the bridge's drawTo (WebGL2
 * texSubImage2D in the preload's world: from a view over the slot on the zero-copy path, from the
 * frame the main process copied for it on the copy path of a sandboxed view), and overlays live
 * figures: the path, fps drawn, frames dropped and torn, publish-to-upload latency, CPU of main and
 * renderer.
 */
import { getShm } from '/bridge/renderer/index.js';
import { appInfo } from './app-info.js';

const canvas = document.querySelector<HTMLCanvasElement>('#video')!;
const overlay = document.querySelector<HTMLElement>('#overlay')!;
const shm = getShm();

async function main(): Promise<void> {
  const stream = await shm.frames('video');
  await stream.drawTo(canvas);
  document.body.dataset.path = stream.path;
  shm.on('revoked', (info: { reason: string }) => {
    overlay.textContent = `stream ended: ${info.reason}`;
  });
  const info = appInfo();
  setInterval(async () => {
    const { draw, ring } = stream.stats;
    // The figures of the processes are a nicety: without them (no handler, a failed call) the overlay goes on.
    const m = info ? await info.metrics().catch(() => null) : null;
    const cpu = (v: number | undefined): string => (v === undefined ? '–' : `${v.toFixed(0)}%`);
    overlay.textContent = [
      `${stream.path === 'copy' ? 'copy path (sandboxed: the main process copies each frame)' : 'zero-copy'}`,
      `${draw?.mode ?? '–'}  ${canvas.width}×${canvas.height}`,
      `drawn ${draw?.drawn ?? 0}  (${(draw?.fps ?? 0).toFixed(1)} fps)`,
      `dropped ${draw?.dropped ?? 0}  torn ${draw?.torn ?? 0}  ring dropped ${ring.dropped}`,
      `publish→upload ${draw?.latencyMs == null ? '–' : `${draw.latencyMs.toFixed(2)} ms`}`,
      `CPU main ${cpu(m?.main?.cpuPercent)}  renderer ${cpu(m?.renderer?.cpuPercent)}`,
    ].join('\n');
    document.body.dataset.drawn = String(draw?.drawn ?? 0);
  }, 500);
}

main().catch((error: { code?: string; message?: string }) => {
  overlay.textContent = `${error.code ?? 'Error'}: ${error.message ?? String(error)}`;
  document.body.dataset.error = error.code ?? 'Error';
});
