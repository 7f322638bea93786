'use strict';
// Real Chromium for the DOM-side code: Debian's chromium driven by playwright-core, pages served by a
// bounded localhost server, and the compiled src/dom (dist/browser, ES modules) imported into a CDP
// isolated world — the same kind of world as Electron's preload world — and into the page's world.

const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');

const PACKAGE_DIR = path.join(__dirname, '..', '..');
const DOM_DIR = path.join(PACKAGE_DIR, 'dist', 'browser');
// SHMKIT_CHROMIUM, when set, is the only place looked at (set it to a missing path to see the skip).
const CANDIDATES = process.env.SHMKIT_CHROMIUM ? [process.env.SHMKIT_CHROMIUM] : ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

/** The Chromium executable, or null. */
function findChromium() {
  return CANDIDATES.find((file) => fs.existsSync(file)) ?? null;
}

/** Why the browser tests skip, or false when they run. */
function skipReason() {
  // The DOM code is the same on every platform; under Wine there is no Chromium for Windows to drive.
  if (process.platform === 'win32') return 'on Windows (run here under Wine) no Chromium for Windows is available to drive';
  if (findChromium()) return false;
  return `no Chromium found (looked at ${CANDIDATES.join(', ')}); install it with: apt-get install -y chromium`;
}

const PAGE = '<!doctype html><meta charset="utf-8"><title>shmkit dom test</title><body></body>';

/**
 * Serves on 127.0.0.1 (random port): `/plain.html` (no isolation), `/coi.html` (COOP same-origin + COEP
 * require-corp), `/frame.html` (an iframe page) and the compiled DOM modules under `/dom/`. Every
 * response carries CORP same-origin so the isolated page may load them. Nothing else is served.
 */
async function startServer() {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    res.setHeader('Cache-Control', 'no-store');
    if (url.pathname === '/plain.html' || url.pathname === '/coi.html' || url.pathname === '/frame.html') {
      if (url.pathname === '/coi.html') {
        res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
        res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
      }
      res.setHeader('Content-Type', 'text/html; charset=utf-8');
      res.end(PAGE);
      return;
    }
    if (url.pathname.startsWith('/dom/') && url.pathname.endsWith('.js')) {
      const file = path.resolve(DOM_DIR, '.' + url.pathname.slice('/dom'.length));
      if (file.startsWith(DOM_DIR + path.sep) && fs.existsSync(file)) {
        res.setHeader('Content-Type', 'text/javascript; charset=utf-8');
        res.end(fs.readFileSync(file));
        return;
      }
    }
    res.statusCode = 404;
    res.end('not found');
  });
  server.requestTimeout = 10_000;
  server.headersTimeout = 10_000;
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Flags that keep WebGL2 (SwiftShader) in headless Chromium on a machine without a GPU. */
const BASE_ARGS = ['--no-sandbox', '--headless', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--mute-audio'];

async function launch({ sharedArrayBufferFeature = false } = {}) {
  if (!fs.existsSync(path.join(DOM_DIR, 'dom', 'index.js'))) {
    throw new Error(`${DOM_DIR}/dom/index.js is missing: run npm run build:ts -w @shmkit/electron-bridge`);
  }
  const { chromium } = require('playwright-core');
  const args = [...BASE_ARGS];
  if (sharedArrayBufferFeature) args.push('--enable-features=SharedArrayBuffer');
  return chromium.launch({ executablePath: findChromium(), args, timeout: 30_000 });
}

/**
 * Opens `url` and returns helpers to run code in the page's world (`main`) and in a fresh CDP isolated
 * world (`preload`). In both, `globalThis.dom` is the compiled src/dom module. Functions are passed as
 * source text and called with one JSON argument; a thrown error comes back as { error: { name, code, message } }.
 */
async function openPage(browser, url) {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error));
  await page.goto(url);
  const cdp = await page.context().newCDPSession(page);
  const { frameTree } = await cdp.send('Page.getFrameTree');
  const { executionContextId } = await cdp.send('Page.createIsolatedWorld', {
    frameId: frameTree.frame.id,
    worldName: 'shmkit-preload',
    grantUniveralAccess: false,
  });
  const wrap = (fn, arg) =>
    `(async () => { try { return { value: await (${fn})(${JSON.stringify(arg ?? null)}) }; } ` +
    `catch (e) { return { error: { name: e && e.name, code: e && e.code, message: String(e && e.message) } }; } })()`;
  const run = async (contextId, fn, arg) => {
    const { result, exceptionDetails } = await cdp.send('Runtime.evaluate', {
      expression: wrap(fn, arg),
      contextId,
      awaitPromise: true,
      returnByValue: true,
    });
    if (exceptionDetails) throw new Error(`evaluation failed: ${exceptionDetails.text} ${exceptionDetails.exception?.description ?? ''}`);
    return result.value;
  };
  const main = (fn, arg) => page.evaluate(wrap(fn, arg));
  const preload = (fn, arg) => run(executionContextId, fn, arg);
  const load = `async () => { globalThis.dom = await import('/dom/dom/index.js'); return Object.keys(globalThis.dom).sort(); }`;
  await preload(load);
  await main(load);
  return { page, cdp, main, preload, errors, close: () => page.close() };
}

/** Unwraps a { value } / { error } result from main()/preload(), throwing on an error. */
function value(result) {
  if (result && result.error) {
    const error = new Error(`in the browser: ${result.error.name} ${result.error.code}: ${result.error.message}`);
    error.code = result.error.code;
    throw error;
  }
  return result.value;
}

/**
 * node:test's describe, it and hooks for the Chromium tests of a file. Where Chromium is missing, every
 * test is still declared and reported as skipped, with the reason (a skipped describe() hides its tests,
 * and the summary would say 0 skipped), and the hooks, which would launch the browser, do nothing.
 */
function browserTestApi() {
  const nodeTest = require('node:test');
  const reason = skipReason();
  if (!reason) return nodeTest;
  const split = (options, fn) => (typeof options === 'function' ? [{}, options] : [options ?? {}, fn]);
  const noop = () => undefined;
  return {
    describe: (name, options, fn) => {
      const [opts, body] = split(options, fn);
      return nodeTest.describe(name, opts, body);
    },
    it: (name, options) => nodeTest.it(name, { ...split(options)[0], skip: reason }, noop),
    before: noop,
    after: noop,
    beforeEach: noop,
    afterEach: noop,
  };
}

module.exports = { findChromium, skipReason, startServer, launch, openPage, value, browserTestApi };
