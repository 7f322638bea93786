'use strict';
// Every code block of the README runs as shown. Each block's first line names its file (`// main.js`,
// `// worker.js`, …); the blocks are written to a fresh directory under those names, with the packages
// resolvable as an app would have them, and then:
// - the Node transport's blocks (parent.js, worker.js) run for real: real processes, real segments;
//   they must exit 0, print nothing on stderr (no tracker warning) and leave nothing in /dev/shm;
// - the Electron blocks (main.js and the preloads) run against STAND-INS of Electron's modules
//   (test/fixtures/readme-electron.js; no Electron binary exists here, so this is wiring, not an
//   end-to-end test): main.js as the main process, each window's preload in its window's renderer,
//   and window.shm used as the page block uses it;
// - every block is type-checked against the package's declarations and electron.d.ts (the page block,
//   which needs a DOM, is only type-checked); the bundled preload block is bundled with esbuild, as the
//   README says to, and run as a sandboxed window's preload.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { run } = require('./fixtures/run');

const PACKAGE = path.join(__dirname, '..');
const REPO = path.join(PACKAGE, '..', '..');
const README = path.join(PACKAGE, 'README.md');

/** Fenced js blocks of the README with the file each names on its first line. */
function blocks() {
  const lines = fs.readFileSync(README, 'utf8').split('\n');
  const found = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w+)\s*$/.exec(lines[i]);
    if (!open) continue;
    const end = lines.indexOf('```', i + 1);
    assert.ok(end > i, `README.md:${i + 1}: unclosed code block`);
    if (['js', 'javascript', 'ts'].includes(open[1])) {
      const code = lines.slice(i + 1, end).join('\n');
      const named = /^\/\/ ([\w.-]+\.js)\b/.exec(code);
      assert.ok(named, `README.md:${i + 1}: a code block's first line names its file (// name.js …)`);
      found.push({ where: `README.md:${i + 1}`, file: named[1], code });
    }
    i = end;
  }
  return found;
}

// Windows runs here under Wine 8, which cannot link the app's node_modules to the repository's (a
// junction from C: to the repository's Z: drive: ENOTSUP); Windows itself could. The blocks run on Linux.
const APP_DIR = process.platform === 'win32' ? { skip: "under Wine: no directory link for the app's node_modules (ENOTSUP)" } : {};

/** The blocks written out as an app's files: node_modules is the repository's (the workspace packages). */
function appDir(t, files) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmkit-readme-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  for (const { file, code } of files) fs.writeFileSync(path.join(dir, file), `${code}\n`);
  return dir;
}

const shmNames = () => new Set(fs.readdirSync('/dev/shm'));
function leftBehind(before) {
  return [...shmNames()].filter((n) => !before.has(n) && n.startsWith('sb_'));
}

const all = blocks();
const byFile = (name) => {
  const found = all.filter((b) => b.file === name);
  assert.equal(found.length, 1, `README has one ${name} block`);
  return found[0];
};

test('the README has the blocks this test runs, each naming its file', () => {
  assert.deepEqual(all.map((b) => b.file).sort(), ['main.js', 'page.js', 'parent.js', 'preload.js', 'sandboxed-preload.js', 'worker.js']);
});

test('./node: parent.js and worker.js run as shown (real processes), exit 0, say nothing on stderr and leave nothing in /dev/shm', APP_DIR, async (t) => {
  const dir = appDir(t, [byFile('parent.js'), byFile('worker.js')]);
  const before = shmNames();
  const result = await run(process.execPath, ['parent.js'], { cwd: dir, timeout: 30_000 });
  assert.equal(result.signal, null, 'parent.js ended by itself');
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr, '', 'no warning (a tracker warning would name segments the user never saw)');
  assert.match(result.stdout, /table: 1048576 bytes, read-only/, "the worker's own output: it attached what the parent granted");
  assert.deepEqual(leftBehind(before), []);
});

test('Electron (STAND-INS, wiring only): main.js, preload.js and the sandboxed preload as shown; each page gets window.shm on its path', APP_DIR, async (t) => {
  const dir = appDir(t, [byFile('main.js'), byFile('preload.js')]);
  const before = shmNames();
  const result = await run(process.execPath, [path.join(__dirname, 'fixtures', 'readme-electron.js'), dir], { cwd: dir, timeout: 30_000 });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr, '');
  const report = JSON.parse(result.stdout.trim().split('\n').pop());
  const [zero, copy] = report.pages;
  assert.equal(report.pages.length, 2, 'main.js opens two windows');
  // the zero-copy window: its own preload, not sandboxed, maps segments
  assert.deepEqual(
    { preload: zero.preload, sandboxed: zero.sandboxed, path: zero.path, streamPath: zero.streamPath },
    { preload: 'preload.js', sandboxed: false, path: 'zero-copy', streamPath: 'zero-copy' },
  );
  assert.deepEqual(zero.list, ['state', 'video'], 'it owns state and sees the shared ring');
  assert.deepEqual(zero.attached, { name: 'state', size: 1 << 20, path: 'zero-copy' });
  // the sandboxed window: sandboxedPreloadPath, the copy path, sees only what it was shared
  assert.deepEqual(
    { preload: copy.preload, sandboxed: copy.sandboxed, path: copy.path, streamPath: copy.streamPath },
    { preload: 'sandboxed-preload.js', sandboxed: true, path: 'copy', streamPath: 'copy' },
  );
  assert.deepEqual(copy.list, ['video']);
  assert.equal(report.quit, true, "'window-all-closed' quits the app");
  assert.equal(report.handlers, 0, 'host.close() removed the IPC handler');
  assert.deepEqual(leftBehind(before), [], 'host.close() unlinked everything');
});

test('the bundled sandboxed preload block: bundled with esbuild as the README says, it runs as a sandboxed window\'s preload (STAND-INS)', APP_DIR, async (t) => {
  const main = byFile('main.js');
  // the README's main.js, with the bundled preload instead of sandboxedPreloadPath for the viewer
  const usesOwn = main.code.replace(
    "new BrowserWindow({ webPreferences: { preload: sandboxedPreloadPath } })",
    "new BrowserWindow({ webPreferences: { preload: path.join(__dirname, 'sandboxed-preload.bundle.js') } })",
  );
  assert.notEqual(usesOwn, main.code, 'main.js gives the viewer sandboxedPreloadPath');
  const dir = appDir(t, [{ file: 'main.js', code: usesOwn }, byFile('preload.js'), byFile('sandboxed-preload.js')]);
  const { buildSync } = require('esbuild');
  buildSync({
    entryPoints: [path.join(dir, 'sandboxed-preload.js')],
    outfile: path.join(dir, 'sandboxed-preload.bundle.js'),
    bundle: true,
    platform: 'browser',
    format: 'cjs',
    external: ['electron'],
    logLevel: 'error',
  });
  const result = await run(process.execPath, [path.join(__dirname, 'fixtures', 'readme-electron.js'), dir], { cwd: dir, timeout: 30_000 });
  assert.equal(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout.trim().split('\n').pop());
  assert.deepEqual(
    { preload: report.pages[1].preload, sandboxed: report.pages[1].sandboxed, path: report.pages[1].path },
    { preload: 'sandboxed-preload.bundle.js', sandboxed: true, path: 'copy' },
  );
});

test('every block type-checks against the package\'s declarations and electron.d.ts', APP_DIR, (t) => {
  const dir = appDir(t, all);
  const config = {
    compilerOptions: {
      target: 'es2022',
      module: 'preserve',
      moduleResolution: 'bundler',
      allowJs: true,
      checkJs: true,
      noEmit: true,
      strict: false, // the blocks are plain JavaScript: checked for names, arguments and results
      skipLibCheck: true,
      lib: ['es2022', 'dom'],
      types: ['node'],
    },
    files: all.map((b) => b.file),
  };
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(config));
  const { spawnSync } = require('node:child_process');
  const result = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: dir, encoding: 'utf8' });
  assert.equal(`${result.stdout}${result.stderr}`.trim(), '');
  assert.equal(result.status, 0);
});
