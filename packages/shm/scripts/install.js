#!/usr/bin/env node
'use strict';
// The package's `install` script. It finds the addon the way lib/core/binding.ts will load it
// (node-gyp-build's order: build/Release, build/Debug, then prebuilds/<platform>-<arch>/) and
// compiles only when there is none, when it is older than the C++ sources, or when it does not
// load here (a prebuilt binary for a newer glibc, say). npm_config_build_from_source=true (what
// `npm install --build-from-source` sets) always compiles.
//
// npm shows an install script's output only when the script fails (or with --foreground-scripts),
// so the few progress lines of a compile go to the terminal (/dev/tty) when there is one; node-gyp's
// full output goes to stdout/stderr, where npm keeps it for a failure's log.
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');

const ROOT = path.join(__dirname, '..');
const TAG = '@shmkit/shm';

/**
 * The C++ files a build on `platform` compiles, as binding.gyp lists them: the common list and the
 * lists of the conditions that hold there (`OS=='win'`, `OS!='win'`, `OS=='linux'`; other
 * conditions are not about sources). Paths relative to `root`, with '/'.
 */
function platformSources(root, platform = process.platform) {
  const gyp = JSON.parse(fs.readFileSync(path.join(root, 'binding.gyp'), 'utf8').replace(/#.*$/gm, ''));
  const target = (gyp.targets ?? [])[0] ?? {};
  const os = platform === 'win32' ? 'win' : platform === 'darwin' ? 'mac' : platform;
  const holds = (condition) => {
    const m = /^OS(==|!=)'(\w+)'$/.exec(condition.trim());
    return m !== null && (m[1] === '==') === (m[2] === os);
  };
  const sources = [...(target.sources ?? [])];
  for (const [condition, settings] of target.conditions ?? []) {
    if (typeof condition === 'string' && holds(condition) && settings) sources.push(...(settings.sources ?? []));
  }
  return sources;
}

/**
 * Newest mtime (ms) of what a build here compiles: binding.gyp, this platform's sources and every
 * header under src/ (a header edit must rebuild too; a source of another platform must not).
 */
function newestSource(root) {
  let newest = { file: 'binding.gyp', mtimeMs: fs.statSync(path.join(root, 'binding.gyp')).mtimeMs };
  const consider = (rel) => {
    let mtimeMs;
    try {
      mtimeMs = fs.statSync(path.join(root, rel)).mtimeMs;
    } catch {
      return;
    }
    if (mtimeMs > newest.mtimeMs) newest = { file: rel, mtimeMs };
  };
  for (const rel of platformSources(root)) consider(rel);
  for (const entry of fs.readdirSync(path.join(root, 'src'), { recursive: true })) {
    const rel = `src/${String(entry).split(path.sep).join('/')}`;
    if (rel.endsWith('.h')) consider(rel);
  }
  return newest;
}

/**
 * Whether the addon in `root` must be compiled: `{ build: false, addon }` when the addon the
 * loader would pick is current and loads, else `{ build: true, reason }`.
 */
function decide(root, { fromSource = false } = {}) {
  if (fromSource) return { build: true, reason: 'building from source as asked' };
  let addon;
  try {
    addon = require('node-gyp-build').path(root);
  } catch {
    return { build: true, reason: `no prebuilt addon for ${process.platform}-${process.arch} fits` };
  }
  const rel = path.relative(root, addon);
  const source = newestSource(root);
  if (fs.statSync(addon).mtimeMs < source.mtimeMs) {
    return { build: true, reason: `${rel} is older than ${source.file}` };
  }
  try {
    require(addon);
  } catch (error) {
    return { build: true, reason: `${rel} does not load here (${String(error.message).split('\n')[0]})` };
  }
  return { build: false, addon: rel };
}

/**
 * Where progress lines go: the terminal npm was started from, else stderr (kept in npm's log).
 * On a terminal each line starts by erasing the line, where npm's spinner may be.
 */
function progressWriter() {
  if (process.stderr.isTTY) return (line) => process.stderr.write(`\r\x1b[K${line}\n`);
  try {
    const fd = fs.openSync('/dev/tty', 'w');
    return (line) => fs.writeSync(fd, `\r\x1b[K${line}\n`);
  } catch {
    return (line) => process.stderr.write(`${line}\n`);
  }
}

function compile(root, reason, say) {
  const sources = platformSources(root);
  say(`${TAG}: compiling the native addon: ${reason} (needs python3, make and a C++17 compiler; 15-60 s)`);
  const started = Date.now();
  // npm gives scripts its bundled node-gyp; elsewhere node-gyp must be on PATH.
  const nodeGyp = process.env.npm_config_node_gyp;
  const [command, args] = nodeGyp ? [process.execPath, [nodeGyp, 'rebuild']] : ['node-gyp', ['rebuild']];
  const child = spawn(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], shell: !nodeGyp && process.platform === 'win32' });
  let done = 0;
  let pending = '';
  child.stdout.on('data', (chunk) => {
    process.stdout.write(chunk);
    const lines = (pending + chunk).split('\n');
    pending = lines.pop();
    for (const line of lines) {
      const match = /CXX\(target\) \S*?(src\/[^\s]+)\.o\s*$/.exec(line);
      if (match) say(`${TAG}:   [${++done}/${sources.length}] ${match[1]}.cc`);
    }
  });
  child.stderr.pipe(process.stderr);
  child.on('error', (error) => {
    say(`${TAG}: could not run node-gyp: ${error.message}`);
    process.exitCode = 1;
  });
  child.on('close', (code) => {
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    if (code === 0) {
      say(`${TAG}: native addon built in ${seconds} s`);
    } else {
      say(`${TAG}: the native addon failed to build (node-gyp exited with ${code}); its output is in npm's log`);
      process.exitCode = code || 1;
    }
  });
}

function main() {
  const verdict = decide(ROOT, { fromSource: process.env.npm_config_build_from_source === 'true' });
  if (!verdict.build) {
    process.stderr.write(`${TAG}: using ${verdict.addon} (current, loads)\n`);
    return;
  }
  compile(ROOT, verdict.reason, progressWriter());
}

if (require.main === module) main();

module.exports = { decide, platformSources };
