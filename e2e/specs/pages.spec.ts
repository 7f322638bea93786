/**
 * The app's renderer pages, served as they are, in Debian's Chromium. The preload's DOM-side code
 * (the bridge's drawTo and MessagePort handoff) runs in a CDP isolated world, the kind of world
 * Electron runs preloads in, fed by a frame source and a dataset made there; window.shm reaches the
 * page through a stand-in for contextBridge (e2e/standin/page-world.js, named as such). What these
 * prove: the pages draw and compute correctly from what the bridge hands them. They are not the
 * Electron e2e (electron.spec.ts is).
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { chromium, expect, test, type Browser, type Page, type TestInfo } from '@playwright/test';
import { APP, buildMissing, CHROMIUM_ARGS, findChromium, readVideoCanvas, SAB_FEATURE, serveApp } from '../fixtures';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const pattern = require(path.join(APP, 'dist', 'shared', 'pattern.js')) as typeof import('../../examples/app/src/shared/pattern');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dataset = require(path.join(APP, 'dist', 'shared', 'dataset.js')) as typeof import('../../examples/app/src/shared/dataset');

const chromiumFound = findChromium();
const noPython =
  spawnSync('python3', ['-c', 'import sys; assert sys.version_info >= (3, 9)'], { stdio: 'ignore' }).status === 0 ? null : 'python3 (3.9 or newer) is not installed';
const pagesSkipReason = chromiumFound.path ? buildMissing() : (chromiumFound.reason ?? 'no Chromium found');
// Said once, in the runner's own output (not per worker), so a skip is never silent.
if (pagesSkipReason !== null && process.env.TEST_WORKER_INDEX === undefined) {
  console.log(`[e2e] the page specs in Chromium are skipped: ${pagesSkipReason}`);
}

/** Saves a screenshot as a file in the test's output folder and attaches it to the report. */
async function attachScreenshot(testInfo: TestInfo, page: Page, name: string): Promise<void> {
  const file = testInfo.outputPath(`${name.replace(/[^a-z0-9]+/gi, '-')}.png`);
  await page.screenshot({ path: file });
  await testInfo.attach(name, { path: file, contentType: 'image/png' });
}
const DATASET_MIB = 16;

/**
 * The dataset page's readout splits the time to the first byte: attach, the memory's handoff
 * (`shared()` or `snapshot()`), and when the worker (started before the attach) was ready and read
 * the first byte. Each is a figure, and the worker reads only after it is ready and has the memory.
 */
async function checkTimeline(page: Page, path: 'shared' | 'snapshot'): Promise<void> {
  const text = (await page.locator('#facts').textContent()) ?? '';
  const ms = (label: string): number => {
    const m = new RegExp(`${label.replace(/[()]/g, '\\$&')} (\\d+\\.\\d) ms`).exec(text);
    expect(m, `"${label} … ms" in the readout: ${text}`).not.toBeNull();
    return Number(m![1]);
  };
  const handoff = ms('attach') + ms(`${path}()`);
  expect(ms('first byte read in it')).toBeGreaterThanOrEqual(ms('worker ready'));
  // Three figures rounded to 0.1 ms, and two clocks (the worker's and the page's) coarsened by Chromium.
  expect(ms('first byte read in it')).toBeGreaterThanOrEqual(handoff - 0.5);
}

/**
 * Opens one of the app's pages with the stand-in preload. In Electron the main process makes the
 * frame source and fills the dataset before it opens the window, and the preload is there before the
 * page's first script; here the stand-in makes both in the page's renderer (a module import, then
 * 16 MiB filled: ~0.3 s of that renderer's main thread). So the page's own script is held until the
 * stand-in says it is installed, and what the page times is the bridge, not the stand-in's setup.
 */
async function openAppPage(browser: Browser, origin: string, page: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 800, height: 500 } });
  const p = await context.newPage();
  const cdp = await context.newCDPSession(p);
  await cdp.send('Page.enable');
  await cdp.send('Runtime.enable');
  // Only the preload's world gets this function: the page's world never sees it.
  await cdp.send('Runtime.addBinding', { name: 'shmkitStandinInstalled', executionContextName: 'shmkit-preload' });
  const installed = new Promise<void>((resolve) => cdp.on('Runtime.bindingCalled', (event) => event.name === 'shmkitStandinInstalled' && resolve()));
  // The preload's world: created for every new document, before the page's scripts run.
  await cdp.send('Page.addScriptToEvaluateOnNewDocument', {
    worldName: 'shmkit-preload',
    source: `import('/standin/preload-world.js').then((m) => { m.install(${JSON.stringify({ preset: 'small', fps: 60, datasetMiB: DATASET_MIB })}); shmkitStandinInstalled(''); })`,
  });
  await p.addInitScript({ path: path.join(__dirname, '..', 'standin', 'page-world.js') });
  const entry = `/js/pages/${page.replace(/\.html.*$/, '')}.js`;
  await p.route((url) => url.pathname === entry, async (route) => {
    await installed;
    await route.continue();
  });
  await p.goto(`${origin}/pages/${page}`);
  return p;
}

test.describe('app pages in Chromium', () => {
  test.skip(pagesSkipReason !== null, `page specs skipped: ${pagesSkipReason}`);

  let browser: Browser;
  let server: Awaited<ReturnType<typeof serveApp>>;
  test.beforeAll(async () => {
    server = await serveApp();
    browser = await chromium.launch({ executablePath: chromiumFound.path!, args: [...CHROMIUM_ARGS, SAB_FEATURE] });
  });
  test.afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  test('the video page draws whole, verifiable frames and its overlay figures update', async ({}, testInfo) => {
    const page = await openAppPage(browser, server.origin, 'video.html');
    const drawn = () => page.evaluate(() => Number(document.body.dataset.drawn ?? 0));
    await expect.poll(drawn, { timeout: 30_000 }).toBeGreaterThan(20);
    expect(await page.evaluate(() => document.body.dataset.error ?? null)).toBeNull();

    const seen: number[] = [];
    for (let i = 0; i < 3; i++) {
      const { width, height, pixels } = await readVideoCanvas(page);
      expect([width, height]).toEqual([pattern.PRESETS.small.width, pattern.PRESETS.small.height]);
      const check = pattern.verifyFrame(pixels, width, height);
      expect(check, check.reason).toMatchObject({ ok: true });
      seen.push(check.frame!);
      await page.waitForTimeout(100);
    }
    expect(seen[2]!).toBeGreaterThan(seen[0]!); // the video moves

    const overlay = page.locator('#overlay');
    const first = await overlay.textContent();
    await expect(overlay).toContainText(/webgl2 +320×180/);
    await expect(overlay).toContainText(/publish→upload \d+\.\d+ ms/);
    await expect.poll(() => overlay.textContent()).not.toBe(first);
    await attachScreenshot(testInfo, page, 'video page');
    await page.context().close();
  });

  test('both dataset pages compute from the shared memory itself and agree with the data', async ({}, testInfo) => {
    const expected = new Float32Array((DATASET_MIB * 1048576) / 4);
    dataset.fill(expected);
    const checksum = dataset.checksum(new Uint8Array(expected.buffer));
    for (const view of ['histogram', 'mean']) {
      const page = await openAppPage(browser, server.origin, `dataset.html?view=${view}`);
      await expect.poll(() => page.evaluate(() => document.body.dataset.checksum ?? document.body.dataset.error ?? null), { timeout: 30_000 }).not.toBeNull();
      expect(await page.evaluate(() => document.body.dataset.error ?? null)).toBeNull();
      expect(Number(await page.evaluate(() => document.body.dataset.checksum))).toBe(checksum);
      expect(await page.evaluate(() => document.body.dataset.path)).toBe('shared');
      await expect(page.locator('#facts')).toContainText(`${DATASET_MIB} MiB via shared()`);
      await checkTimeline(page, 'shared');
      console.log(`dataset ${view}: ${(await page.locator('#facts').textContent())?.replace(/\n/g, ' | ')}`);
      // Something was plotted: the canvas is not blank.
      const inked = await page.evaluate(() => {
        const c = document.querySelector<HTMLCanvasElement>('#plot')!;
        const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < d.length; i += 4) if (d[i]! > 0) n++;
        return n;
      });
      expect(inked).toBeGreaterThan(1000);
      await attachScreenshot(testInfo, page, `dataset page (${view})`);
      await page.context().close();
    }
  });
});

test.describe('app pages in Chromium without SharedArrayBuffer sending', () => {
  test.skip(pagesSkipReason !== null, `page specs skipped: ${pagesSkipReason}`);

  test('a dataset page says why and falls back to one snapshot copy, with the same result', async ({}, testInfo) => {
    const server = await serveApp({ isolated: false });
    const browser = await chromium.launch({ executablePath: chromiumFound.path!, args: CHROMIUM_ARGS });
    try {
      const expected = new Float32Array((DATASET_MIB * 1048576) / 4);
      dataset.fill(expected);
      const page = await openAppPage(browser, server.origin, 'dataset.html?view=histogram');
      await expect.poll(() => page.evaluate(() => document.body.dataset.checksum ?? document.body.dataset.error ?? null), { timeout: 30_000 }).not.toBeNull();
      expect(await page.evaluate(() => document.body.dataset.error ?? null)).toBeNull();
      expect(await page.evaluate(() => document.body.dataset.path)).toBe('snapshot');
      expect(Number(await page.evaluate(() => document.body.dataset.checksum))).toBe(dataset.checksum(new Uint8Array(expected.buffer)));
      // The note names both fixes: the feature switch and cross-origin isolation.
      await expect(page.locator('#note')).toContainText("appendSwitch('enable-features', 'SharedArrayBuffer')");
      await expect(page.locator('#note')).toContainText('Cross-Origin-Embedder-Policy');
      await checkTimeline(page, 'snapshot');
      await testInfo.attach('dataset page, snapshot fallback', { body: await page.screenshot(), contentType: 'image/png' });
    } finally {
      await browser.close();
      await server.close();
    }
  });
});

/**
 * The sandboxed video view (the app's WebContentsView on the copy path), as far as Chromium can take
 * it: the app's own bundled sandboxed preload (dist/electron/sandboxed-preload.bundle.js) runs as it
 * is in a CDP isolated world whose require() knows only 'electron'. Two STAND-INS stand where
 * Electron would be: its IPC (the bridge's test/browser/ipc-stand-in.js, to a real host in this
 * process, with a real FrameRing that the app's own producer fills) and its contextBridge
 * (e2e/standin/context-bridge.js). The video page is the app's, unchanged.
 */
test.describe('the sandboxed video view in Chromium (copy path)', () => {
  test.skip(pagesSkipReason !== null, `page specs skipped: ${pagesSkipReason}`);

  test('draws whole, verifiable frames the main process copied for it, says it is on the copy path, and no OS name reaches it', async ({}, testInfo) => {
    await sandboxedView(testInfo, 'node');
  });

  // --source python: the ring is a Python peer's (python/producer.py, NumPy where installed), made
  // through a real host's spawn(); the page draws its frames as the app's Electron main would serve them.
  test('with --source python: draws the Python peer\'s frames whole; the peer\'s death ends the stream', async ({}, testInfo) => {
    test.skip(noPython !== null, noPython ?? '');
    await sandboxedView(testInfo, 'python');
  });
});

async function sandboxedView(testInfo: TestInfo, source: 'node' | 'python'): Promise<void> {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const BRIDGE_TEST = path.join(__dirname, '..', '..', 'packages', 'electron-bridge', 'test');
  const { wireIpc, WORLD_SETUP } = require(path.join(BRIDGE_TEST, 'browser', 'ipc-stand-in.js'));
  const { StandInBrowserWindow, StandInIpcMain } = require(path.join(BRIDGE_TEST, 'fixtures', 'electron-stand-ins.js'));
  const { createHost } = require(path.join(__dirname, '..', '..', 'packages', 'electron-bridge', 'dist', 'main'));
  const { produceVideo } = require(path.join(APP, 'dist', 'host', 'producer.js'));
  const { findPython, startPythonProducer } = require(path.join(APP, 'dist', 'host', 'python-source.js'));
  /* eslint-enable @typescript-eslint/no-require-imports */
  const fs = await import('node:fs');
  const bundle = fs.readFileSync(path.join(APP, 'dist', 'electron', 'sandboxed-preload.bundle.js'), 'utf8');
  const contextBridge = fs.readFileSync(path.join(__dirname, '..', 'standin', 'context-bridge.js'), 'utf8');
  const { width, height } = pattern.PRESETS.small;

  const ipcMain = new StandInIpcMain();
  const prefix = `e2e${process.pid}_`;
  const host = createHost({ ipcMain, BrowserWindow: StandInBrowserWindow, allowedOrigins: ['file://'], osNamePrefix: prefix });
  const window = new StandInBrowserWindow();
  let ring: { close(): void } | null = null;
  let producer: { stop(): void } | null = null;
  let python: { child: { pid: number; kill(s: string): void }; ready: Promise<{ numpy: boolean }>; stop(): void } | null = null;
  if (source === 'node') {
    const r = host.createFrameRing('video', { owner: 'app', share: 'all', slots: 4, slotBytes: width * height * 4 });
    ring = r;
    producer = produceVideo(r, width, height, 60);
  } else {
    const found = findPython();
    expect(found.reason, 'python3 runs').toBeUndefined();
    python = startPythonProducer((c: string, a: string[], o: object) => host.spawn(c, a, o), found, { width, height, fps: 60 });
    host.on('segment-created', (peer: unknown, info: { name: string; kind: string }) => {
      if (peer === python!.child && info.name === 'video' && info.kind === 'frame-ring') host.grant('video', window, { namespace: peer, readonly: true });
    });
    const ready = await python!.ready;
    testInfo.annotations.push({ type: 'python producer', description: ready.numpy ? 'NumPy' : 'standard library' });
  }
  const server = await serveApp();
  const browser = await chromium.launch({ executablePath: chromiumFound.path!, args: CHROMIUM_ARGS });
  try {
    const context = await browser.newContext({ viewport: { width: 800, height: 500 } });
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Page.enable');
    await cdp.send('Runtime.enable');
    const worldName = 'shmkit-sandboxed-preload';
    let contextId = -1;
    cdp.on('Runtime.executionContextCreated', ({ context: c }: { context: { id: number; name: string } }) => {
      if (c.name === worldName) contextId = c.id;
    });
    await cdp.send('Runtime.addBinding', { name: '__shmkitIpc', executionContextName: worldName });
    const messages = wireIpc({ cdp, binding: '__shmkitIpc', contextId: () => contextId, ipcMain, window });
    // The preload's world, at every new document before the page's scripts: the two stand-ins, then the app's bundle.
    await cdp.send('Page.addScriptToEvaluateOnNewDocument', {
      worldName,
      source: `${contextBridge}\nglobalThis.__shmkitContextBridge = preloadSide();\n(${WORLD_SETUP})();\n${bundle}`,
    });
    await page.addInitScript({ content: `${contextBridge}\npageSide();` });
    await page.goto(`${server.origin}/pages/video.html?view=sandboxed`);

    const drawn = () => page.evaluate(() => Number(document.body.dataset.drawn ?? 0));
    await expect.poll(drawn, { timeout: 30_000 }).toBeGreaterThan(20);
    expect(await page.evaluate(() => document.body.dataset.error ?? null)).toBeNull();
    expect(await page.evaluate(() => document.body.dataset.path)).toBe('copy');
    await expect(page.locator('#overlay')).toContainText('copy path');
    const { width: w, height: h, pixels } = await readVideoCanvas(page);
    expect([w, h]).toEqual([width, height]);
    const check = pattern.verifyFrame(pixels, w, h);
    expect(check, check.reason).toMatchObject({ ok: true });
    // the host served it as a copy attachment, and told it no OS name
    const video = host.segments().find((x: { name: string }) => x.name === 'video');
    // (the Python peer holds the writer's attachment of its own ring: it maps it)
    const pageAttachments = video.attachments.filter((a: { peer: unknown }) => a.peer !== python?.child);
    expect(pageAttachments.map((a: { copy: boolean }) => a.copy)).toEqual([true]);
    if (python) expect(video.attachments.filter((a: { peer: unknown; copy: boolean }) => a.peer === python!.child && !a.copy)).toHaveLength(1);
    if (python) expect(video.owner, "the ring is the Python peer's").toBe(python.child);
    const sent = JSON.stringify(messages, (k, v) => (v instanceof Uint8Array ? '<bytes>' : v));
    expect(sent).not.toContain(prefix);
    await testInfo.attach(`sandboxed video view (${source})`, { body: await page.screenshot(), contentType: 'image/png' });
    if (python) {
      // the producer dies: its ring is unlinked and the page says its stream ended
      python.child.kill('SIGKILL');
      await expect(page.locator('#overlay')).toContainText('stream ended: owner-gone', { timeout: 20_000 });
      expect(host.segments().some((x: { name: string }) => x.name === 'video')).toBe(false);
    }
    await context.close();
  } finally {
    producer?.stop();
    python?.stop();
    await browser.close();
    await server.close();
    window.close();
    host.close();
    ring?.close();
  }
}
