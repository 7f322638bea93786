/**
 * Shared pieces of the e2e specs: where the app and its build are, how to find Chromium and
 * Electron (never downloading either), and a local server for the app's pages.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import type { Page } from '@playwright/test';

export const ROOT = path.join(__dirname, '..');
export const APP = path.join(ROOT, 'examples', 'app');
const BRIDGE = path.join(ROOT, 'packages', 'electron-bridge');

// The app's own finder: npm start and these specs decide the same way.
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const { findElectron, displayReason } = require(path.join(APP, 'lib', 'electron-binary.js')) as {
  findElectron(): { path?: string; reason?: string };
  displayReason(): string | null;
};

const CHROMIUM = [process.env.SHMKIT_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((x): x is string => Boolean(x));

export function findChromium(): { path?: string; reason?: string } {
  const found = CHROMIUM.find((file) => fs.existsSync(file));
  return found ? { path: found } : { reason: `no Chromium found (looked at ${CHROMIUM.join(', ')}); install it with: apt-get install -y chromium` };
}

/** The same headers the app's protocol.handle sets (src/electron/main.ts). */
const HEADERS = {
  'Content-Security-Policy': "default-src 'none'; script-src 'self'; worker-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'",
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};

const ROOTS: Record<string, string> = {
  '/pages/': path.join(APP, 'pages'),
  '/js/': path.join(APP, 'dist', 'pages'),
  '/bridge/': path.join(BRIDGE, 'dist', 'browser'),
  '/standin/': path.join(__dirname, 'standin'),
};
const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

/**
 * Serves the app's pages as the app does (same paths, same headers) on 127.0.0.1; `isolated: false`
 * leaves out COOP/COEP, as a page served without them would be.
 */
export async function serveApp({ isolated = true } = {}): Promise<{ origin: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    for (const [name, value] of Object.entries(HEADERS)) {
      if (isolated || !name.startsWith('Cross-Origin-E') && !name.startsWith('Cross-Origin-O')) res.setHeader(name, value);
    }
    for (const [prefix, dir] of Object.entries(ROOTS)) {
      if (!url.pathname.startsWith(prefix)) continue;
      const file = path.resolve(dir, '.' + url.pathname.slice(prefix.length - 1));
      if (file.startsWith(dir + path.sep) && fs.existsSync(file) && fs.statSync(file).isFile()) {
        res.setHeader('Content-Type', TYPES[path.extname(file)] ?? 'application/octet-stream');
        res.end(fs.readFileSync(file));
        return;
      }
    }
    res.statusCode = 404;
    res.end('not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Chromium flags: WebGL2 through SwiftShader without a GPU; SharedArrayBuffer as the app enables it. */
export const CHROMIUM_ARGS = ['--no-sandbox', '--headless', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--mute-audio'];
export const SAB_FEATURE = '--enable-features=SharedArrayBuffer';

/** Checks that the builds the specs load exist, with the command that makes them. */
export function buildMissing(): string | null {
  for (const file of [path.join(APP, 'dist', 'pages', 'pages', 'video.js'), path.join(BRIDGE, 'dist', 'browser', 'dom', 'index.js')]) {
    if (!fs.existsSync(file)) return `${file} is missing: run npm install (it builds the workspaces)`;
  }
  return null;
}

/**
 * Reads the video page's canvas back, top row first, whichever way drawTo draws it: WebGL2 (readPixels
 * in an animation frame after drawTo's, which sees that frame's drawing before the buffer is presented
 * and cleared: preserveDrawingBuffer is false) or the 2D fallback (getImageData). In WebGL2, a frame in
 * which drawTo drew nothing new reads as cleared (all zero): those are skipped, up to `frames` of them.
 */
export async function readVideoCanvas(page: Page, frames = 240): Promise<{ width: number; height: number; pixels: Uint8Array }> {
  const r = await page.evaluate(
    (limit) =>
      new Promise<{ width: number; height: number; px: number[] }>((resolve, reject) => {
        let tries = 0;
        const look = () => {
          const c = document.querySelector<HTMLCanvasElement>('#video')!;
          const gl = c.getContext('webgl2');
          let out: Uint8Array;
          if (gl) {
            const raw = new Uint8Array(c.width * c.height * 4);
            gl.readPixels(0, 0, c.width, c.height, gl.RGBA, gl.UNSIGNED_BYTE, raw);
            out = new Uint8Array(raw.length);
            const row = c.width * 4;
            for (let y = 0; y < c.height; y++) out.set(raw.subarray((c.height - 1 - y) * row, (c.height - y) * row), y * row);
          } else {
            out = new Uint8Array(c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data.buffer);
          }
          if (out.some((b) => b !== 0)) {
            resolve({ width: c.width, height: c.height, px: Array.from(out) });
          } else if (++tries > limit) {
            reject(new Error(`the canvas read back blank in ${limit} animation frames: nothing drawn`));
          } else {
            requestAnimationFrame(look);
          }
        };
        requestAnimationFrame(look);
      }),
    frames,
  );
  return { width: r.width, height: r.height, pixels: Uint8Array.from(r.px) };
}
