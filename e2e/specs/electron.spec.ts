/**
 * The real app in Electron, through Playwright's _electron.launch. These run wherever an Electron
 * binary exists (node_modules/electron/dist, or ELECTRON_OVERRIDE_DIST_PATH) and a display does
 * (use xvfb-run on a headless Linux); elsewhere they skip with the reason. They never start a
 * download: the binary is looked up the way `npm start` looks it up, without require('electron').
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { _electron, expect, test, type ElectronApplication, type Page } from '@playwright/test';
import { APP, displayReason, findElectron, readVideoCanvas } from '../fixtures';
// window.shm's type (a declaration only: nothing of the bridge loads in the runner).
import type {} from '@shmkit/electron-bridge/renderer';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const pattern = require(path.join(APP, 'dist', 'shared', 'pattern.js')) as typeof import('../../examples/app/src/shared/pattern');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dataset = require(path.join(APP, 'dist', 'shared', 'dataset.js')) as typeof import('../../examples/app/src/shared/dataset');

const electron = findElectron();
const skipReason = electron.reason ?? displayReason();
const DATASET_MIB = 16;
// Said once, in the runner's own output (not per worker), so a skip is never silent.
if (skipReason !== null && process.env.TEST_WORKER_INDEX === undefined) {
  console.log(`[e2e] the Electron specs are skipped: ${skipReason}`);
}

interface SegmentView {
  name: string;
  osName: string;
  attachments: number[];
}

/** The host's segments, read in the main process (the app exposes its host when SHMKIT_E2E=1). */
function segments(app: ElectronApplication): Promise<SegmentView[]> {
  return app.evaluate(() => {
    type PeerLike = { id: number } | { webContents: { id: number } };
    const { host } = (globalThis as unknown as { shmkitExample: { host: { segments(): { name: string; osName: string; attachments: { peer: PeerLike }[] }[] } } }).shmkitExample;
    // a page is its webContents: a window's, a view's, or one the app named directly
    const id = (p: PeerLike) => ('webContents' in p ? p.webContents.id : p.id);
    return host.segments().map((s) => ({ name: s.name, osName: s.osName, attachments: s.attachments.map((a) => id(a.peer)) }));
  });
}

/** The page (a window's or a view's) whose URL contains `page`, or ends with it when `exact`. */
async function windowByPage(app: ElectronApplication, page: string, exact = false): Promise<Page> {
  const match = (w: Page) => (exact ? w.url().endsWith(page) : w.url().includes(page));
  await expect.poll(() => app.windows().some(match), { timeout: 60_000 }).toBe(true);
  return app.windows().find(match)!;
}

/** The id of the webContents that shows `page`. */
function windowId(app: ElectronApplication, page: Page): Promise<number> {
  return app.evaluate(({ webContents }, url) => webContents.getAllWebContents().find((wc) => wc.getURL() === url)!.id, page.url());
}

async function readFrame(page: Page): Promise<ReturnType<typeof pattern.verifyFrame>> {
  const { width, height, pixels } = await readVideoCanvas(page);
  return pattern.verifyFrame(pixels, width, height);
}

/** The app in Electron with these app options (after the Chromium switches every launch needs). */
function launchApp(appArgs: string[]): Promise<ElectronApplication> {
  return _electron.launch({
    executablePath: electron.path!,
    // With executablePath set, Playwright adds no Chromium switch: without a GPU (every CI runner)
    // WebGL2 needs SwiftShader allowed, as the page specs do.
    args: ['--use-angle=swiftshader', '--enable-unsafe-swiftshader', ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), APP, ...appArgs],
    env: { ...process.env, SHMKIT_E2E: '1' },
  });
}

/** Quits the app and checks that none of its segments is left in /dev/shm. */
async function quitLeavingNothing(app: ElectronApplication | undefined): Promise<void> {
  const osNames = app ? (await segments(app).catch(() => [])).map((s) => s.osName) : [];
  await app?.close();
  for (const name of osNames) expect(fs.existsSync(`/dev/shm/${name}`), `${name} left after quit`).toBe(false);
}

test.describe('the Electron app', () => {
  test.skip(skipReason !== null, `Electron specs skipped: ${skipReason}`);
  let app: ElectronApplication;

  test.beforeAll(async () => {
    app = await launchApp(['--preset', 'small', '--dataset-mib', String(DATASET_MIB)]);
  });
  test.afterAll(() => quitLeavingNothing(app));

  test('the first window opens; frames arrive and decode to increasing frame numbers with valid checksums', async () => {
    expect(await app.firstWindow()).toBeTruthy();
    const video = await windowByPage(app, '/pages/video.html', true);
    await expect.poll(() => video.evaluate(() => Number(document.body.dataset.drawn ?? 0)), { timeout: 60_000 }).toBeGreaterThan(20);
    expect(await video.evaluate(() => document.body.dataset.path)).toBe('zero-copy');
    const frames: number[] = [];
    for (let i = 0; i < 3; i++) {
      const check = await readFrame(video);
      expect(check, check.reason).toMatchObject({ ok: true });
      frames.push(check.frame!);
      await video.waitForTimeout(100);
    }
    expect(frames[2]!).toBeGreaterThan(frames[0]!);
    // The overlay's figures, as the Electron-side numbers of this run.
    console.log(`video overlay: ${(await video.locator('#overlay').textContent())?.replace(/\n/g, ' | ')}`);
  });

  test('the sandboxed view (a WebContentsView in a BaseWindow) draws verifiable frames on the copy path', async () => {
    const view = await windowByPage(app, 'video.html?view=sandboxed');
    await expect.poll(() => view.evaluate(() => Number(document.body.dataset.drawn ?? 0)), { timeout: 60_000 }).toBeGreaterThan(20);
    expect(await view.evaluate(() => document.body.dataset.path)).toBe('copy');
    const check = await readFrame(view);
    expect(check, check.reason).toMatchObject({ ok: true });
    // the main process serves it a copy attachment, as a webContents with no BrowserWindow
    const paths = await app.evaluate(({ webContents }, url) => {
      const wc = webContents.getAllWebContents().find((w) => w.getURL() === url)!;
      const { host } = (globalThis as unknown as { shmkitExample: { host: { segments(): { name: string; attachments: { peer: unknown; copy: boolean }[] }[] } } }).shmkitExample;
      const video = host.segments().find((s) => s.name === 'video')!;
      return video.attachments.filter((a) => a.peer === wc).map((a) => a.copy);
    }, view.url());
    expect(paths).toEqual([true]);
    console.log(`sandboxed view overlay: ${(await view.locator('#overlay').textContent())?.replace(/\n/g, ' | ')}`);
  });

  test('both dataset windows compute the same checksum of the data, from shared memory', async () => {
    const expected = new Float32Array((DATASET_MIB * 1048576) / 4);
    dataset.fill(expected);
    const sum = dataset.checksum(new Uint8Array(expected.buffer));
    for (const view of ['histogram', 'mean']) {
      const page = await windowByPage(app, `view=${view}`);
      await expect.poll(() => page.evaluate(() => document.body.dataset.checksum ?? document.body.dataset.error ?? null), { timeout: 60_000 }).not.toBeNull();
      expect(Number(await page.evaluate(() => document.body.dataset.checksum))).toBe(sum);
      expect(await page.evaluate(() => document.body.dataset.path)).toBe('shared');
      console.log(`dataset ${view}: ${(await page.locator('#facts').textContent())?.replace(/\n/g, ' | ')}`);
    }
  });

  test('a read-only grant cannot change the bytes', async () => {
    const page = await windowByPage(app, 'view=histogram');
    const before = await app.evaluate(() => (globalThis as unknown as { shmkitExample: { dataset: { buf: Uint8Array } } }).shmkitExample.dataset.buf.slice(0, 16));
    const result = await page.evaluate(async () => {
      const h = await window.shm.attach('dataset', { readonly: true });
      const write = await h.write(0, new Uint8Array(16).fill(0xee)).then(() => 'written', (e: { code?: string }) => e.code ?? 'no code');
      return { write };
    });
    expect(result.write).toMatch(/^ERR_/);
    const after = await app.evaluate(() => (globalThis as unknown as { shmkitExample: { dataset: { buf: Uint8Array } } }).shmkitExample.dataset.buf.slice(0, 16));
    expect(Array.from(after)).toEqual(Array.from(before));
  });

  test('a window that owns a segment unlinks it when it closes; other pages cannot attach it', async () => {
    const status = await windowByPage(app, 'status.html');
    await status.click('#scratch');
    const scratch = await windowByPage(app, 'scratch.html');
    await expect(scratch.locator('#text')).toContainText('This window owns');
    const name = new URL(scratch.url()).searchParams.get('name')!;
    const seg = (await segments(app)).find((s) => s.name === name)!;
    expect(fs.existsSync(`/dev/shm/${seg.osName}`)).toBe(true);
    const video = await windowByPage(app, 'video.html');
    const code = await video.evaluate((n) => window.shm.attach(n).then(() => 'attached', (e: { code?: string }) => e.code ?? 'no code'), name);
    expect(code).toBe('ERR_SHM_BRIDGE_NOT_FOUND'); // another window's segment: answered exactly as a missing one
    await scratch.close();
    await expect.poll(() => fs.existsSync(`/dev/shm/${seg.osName}`), { timeout: 10_000 }).toBe(false);
    await expect(status.locator(`tr[data-name="${name}"]`)).toHaveCount(0);
  });

  test('a crashed renderer releases its attachments; a reload re-attaches', async () => {
    const video = await windowByPage(app, '/pages/video.html', true);
    const id = await windowId(app, video);
    await expect.poll(async () => (await segments(app)).find((s) => s.name === 'video')!.attachments.includes(id), { timeout: 30_000 }).toBe(true);
    await app.evaluate(({ webContents }, wid) => webContents.fromId(wid)!.forcefullyCrashRenderer(), id);
    await expect.poll(async () => (await segments(app)).find((s) => s.name === 'video')!.attachments.includes(id), { timeout: 10_000 }).toBe(false);
    await app.evaluate(({ webContents }, wid) => webContents.fromId(wid)!.reload(), id);
    await expect.poll(async () => (await segments(app)).find((s) => s.name === 'video')!.attachments.includes(id), { timeout: 30_000 }).toBe(true);
  });
});

const noPython =
  spawnSync('python3', ['-c', 'import sys; assert sys.version_info >= (3, 9)'], { stdio: 'ignore' }).status === 0
    ? null
    : 'python3 (3.9 or newer) is not installed';

test.describe('the Electron app, --source python', () => {
  test.skip(skipReason !== null || noPython !== null, `skipped: ${skipReason ?? noPython}`);
  let app: ElectronApplication;

  test.beforeAll(async () => {
    app = await launchApp(['--preset', 'small', '--dataset-mib', '4', '--source', 'python']);
  });
  test.afterAll(() => quitLeavingNothing(app));

  test('a Python peer renders the video; both video pages draw its frames whole; its death ends their stream and unlinks the ring', async () => {
    const video = await windowByPage(app, '/pages/video.html', true);
    const view = await windowByPage(app, 'video.html?view=sandboxed');
    for (const page of [video, view]) {
      await expect.poll(() => page.evaluate(() => Number(document.body.dataset.drawn ?? 0)), { timeout: 60_000 }).toBeGreaterThan(20);
      const check = await readFrame(page);
      expect(check, check.reason).toMatchObject({ ok: true });
    }
    // the ring is the Python process's: in its namespace, owned by it
    const owner = await app.evaluate(() => {
      const { host } = (globalThis as unknown as { shmkitExample: { host: { segments(): { name: string; osName: string; owner: unknown }[] } } }).shmkitExample;
      const ring = host.segments().find((s) => s.name === 'video')!;
      const child = ring.owner as { pid?: number; spawnfile?: string };
      return { pid: child.pid ?? null, file: child.spawnfile ?? null, osName: ring.osName };
    });
    expect(owner.pid).not.toBeNull();
    expect(owner.file).toMatch(/python/);
    process.kill(owner.pid!, 'SIGKILL');
    await expect.poll(() => video.locator('#overlay').textContent(), { timeout: 20_000 }).toContain('stream ended: owner-gone');
    await expect.poll(() => fs.existsSync(`/dev/shm/${owner.osName}`), { timeout: 20_000 }).toBe(false);
  });
});
