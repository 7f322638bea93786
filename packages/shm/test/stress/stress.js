#!/usr/bin/env node
'use strict';
// Stress test for @shmkit/shm: thousands of create/attach/close cycles per
// buffer strategy, looking for the bug class that matters most here:
//   - an overlay's ArrayBuffer freed while the shared mapping still sits on its
//     pages (the allocator hands the pages out again: heap data lands in the
//     segment, and writes to the segment land in unrelated heap objects);
//   - a view reaching unmapped memory (segfault), or a mapping/descriptor never
//     released.
//
//   node --expose-gc test/stress/stress.js [--cycles N] [--quick]
//        [--strategy auto|external|overlay|copy|all] [--seed N] [--batch N]
//        [--max-mib N] [--transfer] [--worker] [--journal FILE] [--prefix P]
//
// Every cycle makes one or two segments (sizes from 1 byte to a few MiB) and
// exercises them in one of these ways:
//   close     create, fill, attach again, close everything; keep views of the
//             closed handles (they must read as length 0 and never crash)
//   drop      create, fill, hand out views and drop it all without close(); the
//             mapping must be released once the garbage collector ran
//             (FinalizationRegistry for overlay, destructors otherwise)
//   multi     one segment attached with every strategy at once, written through
//             one handle and checked through all the others
//   recreate  unlink a mapped name and create it again with another size: the
//             old mapping keeps its bytes, a new attach sees the new ones
//   readonly  a readonly attach scribbles on its private copy: the segment and
//             the other mappings must not see it
// Several long-lived segments with distinct byte patterns stay mapped across
// batches, and ordinary Buffers/ArrayBuffers ("neighbours", some sized exactly
// like an overlay's backing buffer so they reuse its pages) are allocated
// alongside. After every batch: forced GC (global.gc) plus event-loop turns so
// finalizers run; /proc/self/maps and /proc/self/fd must not hold any segment
// this program no longer references; every retired segment is attached afresh
// (same strategy and 'copy') and must hold exactly its pattern, no foreign
// bytes; then it is overwritten with a poison pattern through that fresh
// mapping (a stale alias of freed heap pages would carry the poison into a
// neighbour) and unlinked; finally every live segment, every neighbour and
// every kept view is checked.
//
// By default the program supervises itself: it re-runs itself as a worker
// child (with --expose-gc) and, however the worker ends (even by SIGSEGV),
// unlinks exactly the names the worker journaled before creating them. It never
// sweeps /dev/shm by prefix. --worker runs the work in this process instead
// (used under valgrind; pass --journal so the caller can clean up).
//
// --transfer adds a hostile scenario: the segment's ArrayBuffer is detached by
// one of the ways JavaScript can (structuredClone/postMessage with a transfer
// list, ArrayBuffer.prototype.transfer(), a web-streams BYOB read) and whatever
// received it is dropped; refusing or copying are the safe outcomes, and the
// summary lists them. test/06-stress.test.js runs it for every strategy (the
// overlay hosts its buffer in a WebAssembly.Memory, which nothing can detach).
//
// SHMKIT_PACKAGE_DIR=<dir> tests another build of the package (the ASan build
// of scripts/stress-valgrind.sh). Loaded by `node --test test/` without
// arguments (the runner picks up every .js under test/), it does nothing:
// test/06-stress.test.js is what runs it under the test runner.
//
// Exit codes: 0 all checks passed, 1 corruption / failed check / crash /
// leaked mapping, descriptor or segment, 2 bad usage.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');

const PACKAGE_DIR = process.env.SHMKIT_PACKAGE_DIR || path.join(__dirname, '..', '..');
const STRATEGIES = ['auto', 'external', 'overlay', 'copy'];
const SUMMARY_TAG = 'stress summary:';

// ---------------------------------------------------------------- arguments

function usage(message) {
  if (message) process.stderr.write(`stress: ${message}\n`);
  process.stderr.write(
    'usage: node --expose-gc test/stress/stress.js [--cycles N] [--quick] ' +
      '[--strategy auto|external|overlay|copy|all] [--seed N] [--batch N] [--max-mib N] ' +
      '[--transfer] [--worker] [--journal FILE] [--prefix P]\n',
  );
  process.exit(2);
}

function parseArgs(args) {
  const o = {
    cycles: undefined,
    quick: false,
    strategy: 'all',
    seed: undefined,
    batch: undefined,
    maxMiB: 4,
    transfer: false,
    worker: false,
    journal: undefined,
    prefix: undefined,
    verbose: false,
  };
  const int = (name, value, min) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) usage(`${name} needs an integer >= ${min}, got ${value}`);
    return n;
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? arg.split(/=(.*)/s, 2) : [arg, undefined];
    const value = () => (inline !== undefined ? inline : i + 1 < args.length ? args[++i] : usage(`${flag} needs a value`));
    switch (flag) {
      case '--cycles': o.cycles = int('--cycles', value(), 1); break;
      case '--quick': o.quick = true; break;
      case '--strategy': o.strategy = value(); break;
      case '--seed': o.seed = int('--seed', value(), 0); break;
      case '--batch': o.batch = int('--batch', value(), 1); break;
      case '--max-mib': o.maxMiB = int('--max-mib', value(), 1); break;
      case '--transfer': o.transfer = true; break;
      case '--worker': o.worker = true; break;
      case '--journal': o.journal = value(); break;
      case '--prefix': o.prefix = value(); break;
      case '--verbose': o.verbose = true; break;
      case '--help': case '-h': usage(); break;
      default: usage(`unknown argument ${arg}`);
    }
  }
  if (o.strategy !== 'all' && !STRATEGIES.includes(o.strategy)) usage(`unknown strategy ${o.strategy}`);
  if (o.prefix !== undefined && !/^[A-Za-z0-9._-]+$/.test(o.prefix)) usage('--prefix may only use [A-Za-z0-9._-]');
  return o;
}

// ---------------------------------------------------------------- supervisor

/** Runs the worker as a child and cleans up after it, whatever happens to it. */
function supervise(opts, rawArgs) {
  const ownJournal = opts.journal === undefined;
  const journal = opts.journal ?? path.join(os.tmpdir(), `shmkit-stress-${process.pid}.journal`);
  fs.writeFileSync(journal, '');
  const prefix = opts.prefix ?? `shmkit-stress-${process.pid}-`;
  const passThrough = [];
  for (let i = 0; i < rawArgs.length; i++) {
    const flag = rawArgs[i].split('=')[0];
    if (flag === '--journal' || flag === '--prefix') {
      if (!rawArgs[i].includes('=')) i++;
      continue;
    }
    passThrough.push(rawArgs[i]);
  }
  const execArgv = process.execArgv.filter((a) => a !== '--expose-gc' && a !== '--expose_gc');
  const child = spawn(
    process.execPath,
    [...execArgv, '--expose-gc', __filename, '--worker', '--journal', journal, '--prefix', prefix, ...passThrough],
    { stdio: 'inherit' },
  );
  const forward = (signal) => child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  child.on('exit', (code, signal) => {
    const names = readJournal(journal);
    const left = [];
    for (const name of names) {
      try {
        unlinkExact(name); // exact names this run created, nothing else
        left.push(name);
      } catch (error) {
        if (error.code !== 'ENOENT') process.stderr.write(`stress: could not unlink ${name}: ${error.message}\n`);
      }
    }
    if (ownJournal) fs.rmSync(journal, { force: true });
    let exitCode = code ?? 1;
    if (signal) {
      console.log(`${SUMMARY_TAG} FAIL worker killed by ${signal} (a crash is a failure); removed ${left.length} of its ${names.length} segments`);
      exitCode = 1;
    } else if (left.length > 0) {
      if (code === 0) {
        console.log(`${SUMMARY_TAG} FAIL worker exited 0 but left ${left.length} segments behind (now removed): ${left.slice(0, 5).join(', ')}`);
        exitCode = 1;
      } else {
        console.log(`stress: removed ${left.length} segments left by the failed worker`);
      }
    }
    process.exit(exitCode);
  });
}

/** shm_unlink one name: through the library, or /dev/shm if it cannot load. */
function unlinkExact(name) {
  let SharedMemory;
  try {
    ({ SharedMemory } = require(PACKAGE_DIR));
  } catch {
    fs.unlinkSync(path.join('/dev/shm', name));
    return;
  }
  SharedMemory.unlink(name);
}

function readJournal(file) {
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return [...new Set(text.split('\n').filter(Boolean))];
}

// ---------------------------------------------------------------- worker

async function worker(opts) {
  if (typeof global.gc !== 'function') usage('the worker needs node --expose-gc');
  const { SharedMemory } = require(PACKAGE_DIR);
  const pageSize = require(PACKAGE_DIR).pageSize;

  const strategies = opts.strategy === 'all' ? STRATEGIES : [opts.strategy];
  // Defaults sized for ~25 s (all strategies) / ~3 s (--quick) on 2 cores.
  const cyclesPerStrategy =
    opts.cycles ?? (opts.quick ? Math.ceil(300 / strategies.length) : Math.ceil(6000 / strategies.length));
  const batchSize = opts.batch ?? (opts.quick ? 40 : 100);
  const seed = opts.seed ?? (Date.now() ^ (process.pid << 8)) >>> 0;
  const prefix = opts.prefix ?? `shmkit-stress-${process.pid}-`;
  const journalFd = opts.journal ? fs.openSync(opts.journal, 'a') : -1;
  const MAX_SIZE = opts.maxMiB * 1024 * 1024;
  const SHM_BUDGET = 48 * 1024 * 1024; // bytes of segments pending per batch (small /dev/shm in containers)
  const procOk = fs.existsSync('/proc/self/maps');
  const shmDir = fs.existsSync('/dev/shm') ? '/dev/shm' : undefined;

  // ------------------------------------------------------------ randomness
  let rngState = seed || 1;
  const rand = () => {
    // mulberry32
    rngState = (rngState + 0x6d2b79f5) | 0;
    let t = rngState;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const randInt = (n) => Math.floor(rand() * n);
  const pick = (list) => list[randInt(list.length)];
  const chance = (p) => rand() < p;

  // ------------------------------------------------------------ patterns
  // Content = 16-byte header (magic, id, generation, size) + a slice of BASE at
  // an offset derived from (id, generation): distinct segments, neighbours and
  // generations never share a pattern at the same position.
  const SPREAD = 16384;
  const BASE = Buffer.alloc(MAX_SIZE + 4 * pageSize + SPREAD + 64);
  {
    const words = new Uint32Array(BASE.buffer, BASE.byteOffset, Math.floor(BASE.length / 4));
    let s = seed ^ 0x9e3779b9;
    for (let i = 0; i < words.length; i++) {
      s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
      words[i] = s >>> 0;
    }
  }
  const MAGIC = { pattern: 0x4b4d4853, poison: 0x4e5a5950, neighbour: 0x4847494e, scribble: 0x42524353 };
  const contentOffset = (c) => ((c.id * 97 + c.gen * 4099 + (MAGIC[c.kind] & 0xfff)) % SPREAD + SPREAD) % SPREAD;
  function header(c) {
    const h = Buffer.alloc(16);
    h.writeUInt32LE(MAGIC[c.kind], 0);
    h.writeUInt32LE(c.id >>> 0, 4);
    h.writeUInt32LE(c.gen >>> 0, 8);
    h.writeUInt32LE(c.size >>> 0, 12);
    return h;
  }
  /** Expected bytes [a, b) of content c, as a Uint8Array (no copy past the header). */
  function expectedSlice(c, a, b) {
    const off = contentOffset(c);
    if (a >= 16) return BASE.subarray(off + a, off + b);
    const h = header(c).subarray(a, Math.min(16, b));
    if (b <= 16) return h;
    return Buffer.concat([h, BASE.subarray(off + 16, off + b)]);
  }
  /**
   * Compares `actual` (bytes [start, start + actual.length) of content c).
   * Returns undefined, or a description of the first difference.
   */
  function mismatch(actual, c, start = 0) {
    const len = actual.byteLength;
    const got = Buffer.from(actual.buffer, actual.byteOffset, len);
    const want = expectedSlice(c, start, start + len);
    if (want.length !== len) return `length ${len}, expected ${want.length}`;
    if (got.equals(want)) return undefined;
    let first = -1;
    let count = 0;
    for (let i = 0; i < len; i++) {
      if (got[i] !== want[i]) {
        if (first < 0) first = i;
        count++;
      }
    }
    const hex = (b, i) => b.subarray(i, Math.min(i + 16, len)).toString('hex');
    return (
      `${count} of ${len} bytes differ, first at offset ${start + first} (page ${Math.floor((start + first) / pageSize)}): ` +
      `got ${hex(got, first)} want ${hex(want, first)}`
    );
  }

  // ------------------------------------------------------------ bookkeeping
  const stats = {
    cycles: 0, segments: 0, attaches: 0, closes: 0, drops: 0, checks: 0, keptViewChecks: 0,
    neighbourChecks: 0, gcRounds: 0, transfers: 0, bytesChecked: 0,
  };
  const failures = [];
  const fail = (message) => {
    failures.push(message);
    if (failures.length <= 25) console.log(`  FAIL ${message}`);
  };

  let nextId = 1;
  let nextName = 1;
  const created = new Set(); // every name this worker created (cleanup at the end)
  const openHandles = new Set(); // handles we still hold open (closed at the end)

  function newName(tag) {
    const name = `${prefix}${nextName++}-${tag}`;
    if (journalFd >= 0) fs.writeSync(journalFd, `${name}\n`); // before creating: survives a crash
    created.add(name);
    return name;
  }

  function track(shm) {
    openHandles.add(shm);
    return shm;
  }
  function closeHandle(shm) {
    shm.close();
    openHandles.delete(shm);
    stats.closes++;
  }

  function create(size, strategy, tag) {
    const name = newName(tag);
    const shm = track(SharedMemory.create(size, { name, strategy, populate: chance(0.1) }));
    stats.segments++;
    if (shm.size !== size) fail(`${name}: size ${shm.size} after create(${size})`);
    return shm;
  }
  function attach(name, strategy, readonly = false) {
    stats.attaches++;
    return track(SharedMemory.attach(name, { strategy, readonly }));
  }

  /** Whole content through a handle, as bytes (a view, or a read() copy). */
  function bytesOf(shm) {
    if (shm.strategy === 'copy') {
      const out = new Uint8Array(shm.size);
      shm.read(out);
      return out;
    }
    return shm.buf;
  }

  /** Checks every byte of a handle against content c (views and read()). */
  function verifyHandle(shm, c, what) {
    stats.checks++;
    stats.bytesChecked += c.size;
    const m = mismatch(bytesOf(shm), c);
    if (m) {
      fail(`${what}: ${m}`);
      return false;
    }
    if (shm.strategy !== 'copy' && c.size >= 64) {
      // A typed view at a random aligned offset must see the same bytes.
      const Ctor = pick([Int32Array, Float64Array, Uint16Array, DataView, BigInt64Array]);
      const unit = Ctor.BYTES_PER_ELEMENT ?? 1;
      const start = randInt(Math.floor((c.size - unit) / unit)) * unit;
      const count = 1 + randInt(Math.floor((c.size - start) / unit));
      const v = shm.view(Ctor, start, count);
      const m2 = mismatch(new Uint8Array(v.buffer, v.byteOffset, v.byteLength), c, start);
      if (m2) {
        fail(`${what} via ${Ctor.name} view at ${start}: ${m2}`);
        return false;
      }
      // read() over a random range agrees too.
      const a = randInt(c.size);
      const piece = new Uint8Array(1 + randInt(Math.min(c.size - a, 4096)));
      shm.read(piece, a);
      const m3 = mismatch(piece, c, a);
      if (m3) {
        fail(`${what} via read() at ${a}: ${m3}`);
        return false;
      }
    }
    return true;
  }

  /** Writes content c through a handle, by a randomly chosen route. */
  function fill(shm, c, { viewsOnly = false } = {}) {
    const size = c.size;
    if (shm.strategy === 'copy' || (!viewsOnly && chance(0.2))) {
      // write() in one or several pieces
      let a = 0;
      while (a < size) {
        const b = chance(0.5) ? size : Math.min(size, a + 1 + randInt(size));
        shm.write(expectedSlice(c, a, b), a);
        a = b;
      }
      return;
    }
    const route = randInt(3);
    if (route === 0) {
      shm.buf.set(expectedSlice(c, 0, size));
    } else if (route === 1) {
      // through typed views at aligned offsets (exercises the byteOffset math)
      let a = 0;
      while (a < size) {
        const Ctor = pick([Uint8Array, Int32Array, Float64Array, Uint16Array, DataView, Buffer]);
        const unit = Ctor.BYTES_PER_ELEMENT ?? 1;
        if (a % unit !== 0 || size - a < unit) {
          const v = shm.view(Uint8Array, a, 1);
          v[0] = expectedSlice(c, a, a + 1)[0];
          a += 1;
          continue;
        }
        const count = 1 + randInt(Math.floor((size - a) / unit));
        const v = shm.view(Ctor, a, count);
        new Uint8Array(v.buffer, v.byteOffset, v.byteLength).set(expectedSlice(c, a, a + v.byteLength));
        a += v.byteLength;
      }
    } else {
      // element by element through a DataView for a small prefix, memcpy for the rest
      const n = Math.min(size, 64 + randInt(256));
      const dv = shm.view(DataView, 0, n);
      const want = expectedSlice(c, 0, n);
      for (let i = 0; i < n; i++) dv.setUint8(i, want[i]);
      if (n < size) shm.view(Uint8Array, n).set(expectedSlice(c, n, size));
    }
  }

  // ------------------------------------------------------------ sizes
  const SIZES = [
    [1, 3], [7, 3], [16, 2], [100, 4], [1000, 4], [pageSize - 1, 4], [pageSize, 5], [pageSize + 1, 4],
    [2 * pageSize, 4], [3 * pageSize + 5, 3], [16 * pageSize, 3], [65536 + 123, 2], [32 * pageSize, 2],
    [256 * 1024, 1], [1 << 20, 0.4], [(2 << 20) + 3, 0.3], [MAX_SIZE, 0.2],
  ].filter(([s]) => s <= MAX_SIZE);
  const SIZE_WEIGHT = SIZES.reduce((sum, [, w]) => sum + w, 0);
  function randomSize() {
    let r = rand() * SIZE_WEIGHT;
    for (const [s, w] of SIZES) {
      if ((r -= w) < 0) return s;
    }
    return SIZES[0][0];
  }
  /** The size of the ArrayBuffer an overlay mapping of `size` bytes sits in. */
  const overlayBacking = (size) => Math.ceil(size / pageSize) * pageSize + pageSize;

  // ------------------------------------------------------------ neighbours
  // Ordinary JS memory allocated alongside: must never change.
  const neighbours = [];
  let neighbourBytes = 0;
  const NEIGHBOUR_MAX = 400;
  const NEIGHBOUR_BYTES_MAX = 64 * 1024 * 1024;
  function addNeighbour(size) {
    const c = { kind: 'neighbour', id: nextId++, gen: 0, size };
    let bytes;
    switch (randInt(4)) {
      case 0: bytes = Buffer.alloc(size); break;
      case 1: bytes = Buffer.allocUnsafe(size); break; // pooled below 4 KiB
      case 2: bytes = new Uint8Array(new ArrayBuffer(size)); break;
      default: {
        const f = new Float64Array(Math.ceil(size / 8));
        bytes = new Uint8Array(f.buffer, 0, size);
      }
    }
    bytes.set(expectedSlice(c, 0, size));
    neighbours.push({ bytes, c });
    neighbourBytes += size;
    while (neighbours.length > NEIGHBOUR_MAX || neighbourBytes > NEIGHBOUR_BYTES_MAX) {
      const [gone] = neighbours.splice(randInt(neighbours.length), 1);
      neighbourBytes -= gone.c.size;
    }
  }
  function neighbourNear(size) {
    // Same size class as the segment (or as an overlay's backing buffer), so
    // the allocator is likely to place it in pages such a buffer just left.
    addNeighbour(pick([size, overlayBacking(size), Math.max(1, size - 1), 1 + randInt(4096)]));
  }
  function checkNeighbours(where) {
    for (const n of neighbours) {
      stats.neighbourChecks++;
      const m = mismatch(n.bytes, n.c);
      if (m) fail(`neighbour #${n.c.id} (${n.c.size} bytes, ${n.bytes.constructor.name}) corrupted ${where}: ${m}`);
    }
  }

  // ------------------------------------------------------------ kept views
  // Views of closed handles: must read as length 0 forever and never crash.
  const kept = [];
  const KEPT_MAX = 3000;
  function keepViews(views, what) {
    for (const view of views) kept.push({ view, what });
    if (kept.length > KEPT_MAX) kept.splice(0, kept.length - KEPT_MAX);
  }
  function checkKeptView({ view, what }) {
    stats.keptViewChecks++;
    if (view instanceof DataView) {
      try {
        view.getUint8(0);
        fail(`${what}: DataView over a closed segment is still readable`);
      } catch (error) {
        if (!(error instanceof TypeError) && !(error instanceof RangeError)) {
          fail(`${what}: DataView access threw ${error}`);
        }
      }
      return;
    }
    if (view.length !== 0 || view.byteLength !== 0 || view.buffer.byteLength !== 0 || view[0] !== undefined) {
      fail(`${what}: ${view.constructor.name} of a closed segment has length ${view.length} / byteLength ${view.byteLength}`);
      return;
    }
    try {
      view.fill(0x5a); // JS throws TypeError on a detached buffer; must not crash
    } catch (error) {
      if (!(error instanceof TypeError)) fail(`${what}: fill() threw ${error}`);
    }
    if (view.length !== 0) fail(`${what}: view grew after close`);
  }
  function viewsOf(shm) {
    const size = shm.size;
    const views = [shm.buf, shm.view(DataView), shm.view(Buffer), shm.buf.subarray(Math.min(1, size))];
    if (size >= 8) views.push(shm.view(Int32Array, 4, Math.floor((size - 4) / 4)), shm.view(Float64Array));
    return views;
  }

  // ------------------------------------------------------------ orphans
  // Subarrays of dropped handles (they do not keep the SharedMemory alive).
  // external: the ArrayBuffer keeps the mapping alive, so the bytes must still
  // be the segment's current content. overlay: the FinalizationRegistry
  // detaches it; it must be length 0 or the current content, never foreign.
  let orphans = [];
  function checkOrphans(where) {
    for (const o of orphans) {
      stats.checks++;
      const v = o.view;
      if (v.length === 0) {
        if (o.strategy === 'external') fail(`${o.name}: external orphan view was detached ${where} (mapping released under a live buffer)`);
        continue;
      }
      const m = mismatch(v, o.seg.content, o.start);
      if (m) fail(`${o.name}: orphan view (${o.strategy}) ${where}: ${m}`);
    }
  }

  // ------------------------------------------------------------ /proc checks
  function shmNamesIn(lines) {
    const names = new Set();
    for (const line of lines) {
      const at = line.indexOf('/dev/shm/');
      if (at < 0) continue;
      const name = line.slice(at + 9).replace(/ \(deleted\)$/, '').trim();
      if (name.startsWith(prefix)) names.add(name);
    }
    return names;
  }
  function mappedNames() {
    if (!procOk) return new Set();
    return shmNamesIn(fs.readFileSync('/proc/self/maps', 'utf8').split('\n'));
  }
  function fdNames() {
    if (!procOk) return new Set();
    const lines = [];
    for (const fd of fs.readdirSync('/proc/self/fd')) {
      try {
        lines.push(fs.readlinkSync(`/proc/self/fd/${fd}`));
      } catch {
        // closed meanwhile (the readdir descriptor itself)
      }
    }
    return shmNamesIn(lines);
  }
  /** Names we may legitimately have mapped/open: open handles, external orphans. */
  function allowedNames() {
    const allowed = new Set();
    for (const shm of openHandles) allowed.add(shm.name);
    // An external orphan's ArrayBuffer legitimately keeps its mapping (and fd).
    // An overlay orphan does not: the FinalizationRegistry must close it.
    for (const o of orphans) if (o.strategy === 'external' && o.view.length > 0) allowed.add(o.name);
    return allowed;
  }
  function unexpectedResources() {
    const allowed = allowedNames();
    const out = [];
    for (const n of mappedNames()) if (!allowed.has(n)) out.push(`mapping of ${n}`);
    for (const n of fdNames()) if (!allowed.has(n)) out.push(`descriptor of ${n}`);
    return out;
  }

  const turn = () => new Promise((resolve) => setImmediate(resolve));
  const tick = () => new Promise((resolve) => setTimeout(resolve, 1));
  /** GC and event-loop turns until finalizers released everything unreferenced. */
  const SETTLE_ROUNDS = 40;
  async function settle(maxRounds = SETTLE_ROUNDS) {
    let left = [];
    for (let round = 0; round < maxRounds; round++) {
      global.gc();
      stats.gcRounds++;
      await turn();
      await tick();
      await turn();
      left = unexpectedResources();
      if (left.length === 0 && round >= 1) return [];
    }
    return left;
  }

  // ------------------------------------------------------------ segments
  // seg: { name, size, content, strategy, original?, role }
  let live = [];
  let retiring = []; // segments whose every mapping we dropped/closed: verify, poison, unlink
  let pendingBytes = 0;

  function sizeWithinBudget() {
    let size = randomSize();
    while (size > 64 * 1024 && pendingBytes + size > SHM_BUDGET) size = randomSize();
    pendingBytes += size;
    return size;
  }

  function retire(seg) {
    retiring.push(seg);
  }

  /** Fresh attaches of a retired segment see exactly its content; then poison and unlink. */
  function finishRetired(strategy) {
    for (const seg of retiring) {
      try {
        const same = attach(seg.name, strategy);
        verifyHandle(same, seg.content, `${seg.name} (${seg.role}, ${seg.size} B) fresh ${strategy} attach`);
        const copy = attach(seg.name, 'copy');
        verifyHandle(copy, seg.content, `${seg.name} (${seg.role}, ${seg.size} B) fresh copy attach`);
        closeHandle(copy);
        // Poison through a fresh mapping: a stale mapping left on freed heap
        // pages would now carry these bytes into whatever was allocated there.
        seg.content = { kind: 'poison', id: seg.content.id, gen: seg.content.gen + 1, size: seg.size };
        fill(same, seg.content);
        closeHandle(same);
        SharedMemory.unlink(seg.name);
      } catch (error) {
        fail(`${seg.name} (${seg.role}): retiring threw ${error.stack || error}`);
      }
    }
    retiring = [];
  }

  // ---- cycle kinds; `S` is the strategy under test

  function cycleClose(S) {
    const size = sizeWithinBudget();
    const shm = create(size, S, 'c');
    const seg = { name: shm.name, size, strategy: S, role: 'close', content: { kind: 'pattern', id: nextId++, gen: 0, size } };
    neighbourNear(size);
    fill(shm, seg.content);
    const second = attach(shm.name, S);
    neighbourNear(size);
    verifyHandle(second, seg.content, `${shm.name} second attach`);
    verifyHandle(shm, seg.content, `${shm.name} original`);
    const views = S === 'copy' ? [] : [...viewsOf(shm), ...viewsOf(second)];
    if (chance(0.5)) {
      closeHandle(shm);
      closeHandle(second);
    } else {
      closeHandle(second);
      closeHandle(shm);
    }
    if (chance(0.3)) closeHandle(shm); // idempotent
    if (shm.closed !== true || second.closed !== true) fail(`${shm.name}: closed is not true after close()`);
    try {
      shm.read(new Uint8Array(1));
      fail(`${shm.name}: read() after close did not throw`);
    } catch (error) {
      if (error.code !== 'ERR_SHM_CLOSED') fail(`${shm.name}: read() after close threw ${error.code}`);
    }
    const what = `${shm.name} (${S}, ${size} B) view kept after close`;
    for (const view of views) checkKeptView({ view, what });
    keepViews(views, what);
    neighbourNear(size);
    retire(seg);
  }

  // Everything about the dropped handle stays inside this function.
  function cycleDrop(S) {
    const size = sizeWithinBudget();
    const seg = { name: '', size, strategy: S, role: 'drop', content: { kind: 'pattern', id: nextId++, gen: 0, size } };
    (() => {
      const shm = create(size, S, 'd');
      seg.name = shm.name;
      fill(shm, seg.content);
      if (S !== 'copy') {
        const views = viewsOf(shm);
        for (const v of views) {
          if (v instanceof DataView) v.getUint8(0);
          else void v[0];
        }
        if (chance(0.15) && size > 1) {
          // keep a subarray only: it does not hold the SharedMemory
          const start = randInt(size - 1);
          const view = shm.buf.subarray(start, start + 1 + randInt(size - start - 1));
          orphans.push({ view, seg, name: shm.name, strategy: shm.strategy, start, batches: 0 });
        }
      }
      if (chance(0.5)) {
        const other = attach(shm.name, S);
        verifyHandle(other, seg.content, `${shm.name} second attach (to be dropped)`);
        openHandles.delete(other); // dropped too
      }
      openHandles.delete(shm); // dropped without close
    })();
    stats.drops++;
    neighbourNear(size);
    retire(seg);
  }

  function cycleMulti(S) {
    const size = sizeWithinBudget();
    const shm = create(size, S, 'm');
    const seg = { name: shm.name, size, strategy: S, role: 'multi', content: { kind: 'pattern', id: nextId++, gen: 0, size } };
    fill(shm, seg.content);
    const handles = [shm, ...['external', 'overlay', 'copy', S].map((s) => attach(shm.name, s))];
    for (const h of handles) verifyHandle(h, seg.content, `${shm.name} (${h.strategy} of ${handles.length})`);
    const writer = pick(handles);
    seg.content = { ...seg.content, gen: 1 };
    fill(writer, seg.content);
    for (const h of handles) verifyHandle(h, seg.content, `${shm.name} (${h.strategy}) after write through ${writer.strategy}`);
    const views = [];
    for (const h of handles) if (h.strategy !== 'copy') views.push(...viewsOf(h));
    while (handles.length) closeHandle(handles.splice(randInt(handles.length), 1)[0]);
    keepViews(views, `${shm.name} (multi) view kept after close`);
    neighbourNear(size);
    retire(seg);
  }

  function cycleRecreate(S) {
    const size = sizeWithinBudget();
    const old = create(size, S, 'r');
    const name = old.name;
    const oldContent = { kind: 'pattern', id: nextId++, gen: 0, size };
    fill(old, oldContent);
    SharedMemory.unlink(name);
    let size2 = sizeWithinBudget();
    if (size2 === size) size2 = size + 1;
    stats.segments++;
    const fresh = track(SharedMemory.create(size2, { name, strategy: S }));
    const seg = { name, size: size2, strategy: S, role: 'recreate', content: { kind: 'pattern', id: nextId++, gen: 0, size: size2 } };
    fill(fresh, seg.content);
    neighbourNear(size);
    verifyHandle(old, oldContent, `${name} unlinked mapping after the name was re-created`);
    const again = attach(name, S);
    verifyHandle(again, seg.content, `${name} re-created segment`);
    const views = S === 'copy' ? [] : viewsOf(old);
    closeHandle(old);
    closeHandle(again);
    closeHandle(fresh);
    keepViews(views, `${name} (unlinked, re-created) view kept after close`);
    retire(seg);
  }

  function cycleReadonly(S) {
    const size = sizeWithinBudget();
    const shm = create(size, S, 'o');
    const seg = { name: shm.name, size, strategy: S, role: 'readonly', content: { kind: 'pattern', id: nextId++, gen: 0, size } };
    fill(shm, seg.content);
    const ro = attach(shm.name, S, true);
    verifyHandle(ro, seg.content, `${shm.name} readonly attach`);
    const scribble = { kind: 'scribble', id: seg.content.id, gen: 0, size };
    // write() on a readonly attach: refused (ERR_SHM_READONLY), or accepted
    // into this process's private copy. Either way never into the segment.
    let roContent = seg.content;
    try {
      ro.write(expectedSlice(scribble, 0, size));
      roContent = scribble;
    } catch (error) {
      if (error.code !== 'ERR_SHM_READONLY') fail(`${shm.name}: write() on a readonly attach threw ${error.code}: ${error.message}`);
    }
    if (ro.strategy !== 'copy') {
      fill(ro, scribble, { viewsOnly: true }); // private copy-on-write pages
      roContent = scribble;
    }
    verifyHandle(ro, roContent, `${shm.name} readonly attach after its own write`);
    const check = attach(shm.name, 'copy');
    verifyHandle(check, seg.content, `${shm.name} after a readonly attach wrote to its private copy`);
    verifyHandle(shm, seg.content, `${shm.name} original after a readonly attach wrote`);
    closeHandle(check);
    const views = S === 'copy' ? [] : viewsOf(ro);
    closeHandle(ro);
    closeHandle(shm);
    keepViews(views, `${shm.name} (readonly) view kept after close`);
    retire(seg);
  }

  // Hostile: move the segment's ArrayBuffer away by one of the ways JavaScript
  // can detach an ordinary ArrayBuffer, and drop whatever received it (see
  // header). Refusing (an exception) or copying instead are both safe outcomes.
  const TRANSFER_WAYS = ['structuredClone', 'postMessage', 'transfer()', 'BYOB read'];
  const transferOutcomes = new Map(); // "way:outcome" -> count
  async function cycleTransfer(S) {
    const size = sizeWithinBudget();
    const seg = { name: '', size, strategy: S, role: 'transfer', content: { kind: 'pattern', id: nextId++, gen: 0, size } };
    const shm = create(size, S, 't');
    seg.name = shm.name;
    fill(shm, seg.content);
    seg.original = shm;
    transferred.push(seg); // closed at the end of the batch
    if (shm.strategy === 'copy') return;
    const way = pick(TRANSFER_WAYS);
    const buffer = shm.buf.buffer;
    let outcome = 'kept';
    try {
      switch (way) {
        case 'structuredClone':
          structuredClone(buffer, { transfer: [buffer] });
          break;
        case 'postMessage': {
          const { port1, port2 } = new MessageChannel();
          port1.postMessage(buffer, [buffer]);
          port1.close();
          port2.close();
          break;
        }
        case 'transfer()':
          if (typeof buffer.transfer !== 'function') outcome = 'unsupported';
          else buffer.transfer();
          break;
        default:
          await byobRead(shm.buf, seg.content); // writes the same bytes back
      }
    } catch (error) {
      outcome = `refused(${error.code || error.name})`;
    }
    if (buffer.byteLength === 0) outcome = 'DETACHED';
    stats.transfers++;
    const key = `${way}:${outcome}`;
    transferOutcomes.set(key, (transferOutcomes.get(key) || 0) + 1);
    neighbourNear(size);
    neighbourNear(size);
  }
  /** A web-streams BYOB read into `view` (detaches view.buffer per the spec). */
  async function byobRead(view, c) {
    const { ReadableStream } = require('node:stream/web');
    const stream = new ReadableStream({
      type: 'bytes',
      pull(controller) {
        const target = controller.byobRequest.view;
        target.set(expectedSlice(c, 0, target.byteLength));
        controller.byobRequest.respond(target.byteLength);
      },
    });
    const reader = stream.getReader({ mode: 'byob' });
    await reader.read(view);
    reader.releaseLock();
  }
  let transferred = [];

  function ensureLive(S, count) {
    while (live.length < count) {
      const size = sizeWithinBudget();
      const shm = create(size, S, 'l');
      const seg = { name: shm.name, size, strategy: S, role: 'live', content: { kind: 'pattern', id: nextId++, gen: 0, size }, original: shm };
      fill(shm, seg.content);
      seg.views = S === 'copy' ? [] : viewsOf(shm);
      live.push(seg);
      neighbourNear(size);
    }
  }
  function checkLive(where) {
    for (const seg of live) {
      const shm = seg.original;
      verifyHandle(shm, seg.content, `live ${seg.name} (${seg.size} B) original ${where}`);
      for (const v of seg.views) {
        const start = v.byteOffset - (shm.buf.byteOffset);
        const m = mismatch(new Uint8Array(v.buffer, v.byteOffset, v.byteLength), seg.content, start);
        if (m) fail(`live ${seg.name} kept ${v.constructor.name} ${where}: ${m}`);
      }
      const other = attach(seg.name, pick(STRATEGIES));
      verifyHandle(other, seg.content, `live ${seg.name} fresh ${other.strategy} attach ${where}`);
      closeHandle(other);
    }
  }
  function retireLive(n) {
    for (let i = 0; i < n && live.length; i++) {
      const seg = live.shift();
      const what = `${seg.name} (live) view kept after close`;
      closeHandle(seg.original);
      for (const view of seg.views) checkKeptView({ view, what });
      keepViews(seg.views, what);
      seg.views = [];
      seg.original = undefined;
      retire(seg);
    }
  }

  // End-of-batch work lives in plain (non-async) functions on purpose: an
  // async function keeps its whole register file across `await`, so a loop
  // variable left pointing at a view would keep that view's mapping alive and
  // look like a leak.
  function beforeGC() {
    retireLive(1 + randInt(2));
    // Orphans from earlier batches are dropped now: their mappings must go too.
    for (const o of orphans) o.batches++;
    checkOrphans('before GC');
    orphans = orphans.filter((o) => o.batches < 2);
  }
  function afterGC(S, batch, gcLeft) {
    for (const left of gcLeft) {
      fail(`${S}: ${left} still present after ${SETTLE_ROUNDS} GC rounds (leaked, or finalizer never ran)`);
    }
    // Transferred buffers: close the handles now (restores anonymous memory).
    for (const seg of transferred) {
      // A read through the mapping: under ASan/valgrind this touches the
      // freed block if the transfer released the pages under the mapping.
      seg.original.read(new Uint8Array(Math.min(seg.size, 64)));
      closeHandle(seg.original);
      seg.original = undefined;
      retire(seg);
    }
    transferred = [];
    // Neighbours in the size classes of everything just freed.
    for (const seg of retiring) neighbourNear(seg.size);
    checkOrphans('after GC');
    finishRetired(S);
    checkOrphans('after poisoning retired segments');
    checkLive(`after batch ${batch}`);
    checkNeighbours(`after batch ${batch}`);
    for (const k of kept) checkKeptView(k);
  }

  // ------------------------------------------------------------ main loop
  const started = process.hrtime.bigint();
  const elapsed = (since) => Number(process.hrtime.bigint() - since) / 1e9;
  console.log(
    `stress: strategies=${strategies.join(',')} cycles/strategy=${cyclesPerStrategy} batch=${batchSize} ` +
      `seed=${seed} max=${opts.maxMiB} MiB page=${pageSize} prefix=${prefix}${opts.transfer ? ' +transfer' : ''}`,
  );

  const KINDS = [
    [cycleClose, 35], [cycleDrop, 30], [cycleMulti, 10], [cycleRecreate, 10], [cycleReadonly, 15],
    ...(opts.transfer ? [[cycleTransfer, 15]] : []),
  ];
  const KIND_WEIGHT = KINDS.reduce((sum, [, w]) => sum + w, 0);
  const pickKind = () => {
    let r = rand() * KIND_WEIGHT;
    for (const [k, w] of KINDS) if ((r -= w) < 0) return k;
    return KINDS[0][0];
  };

  let aborted = false;
  let interrupted = false;
  process.on('SIGINT', () => {
    interrupted = true;
  });
  process.on('SIGTERM', () => {
    interrupted = true;
  });

  const perStrategy = [];
  for (const S of strategies) {
    if (aborted || interrupted) break;
    const sStart = process.hrtime.bigint();
    const failuresBefore = failures.length;
    const batches = Math.ceil(cyclesPerStrategy / batchSize);
    let done = 0;
    for (let b = 0; b < batches && !aborted && !interrupted; b++) {
      const bStart = process.hrtime.bigint();
      const n = Math.min(batchSize, cyclesPerStrategy - done);
      pendingBytes = live.reduce((sum, s) => sum + s.size, 0);
      ensureLive(S, 6);
      try {
        for (let i = 0; i < n; i++) {
          const pending = pickKind()(S);
          if (pending) await pending; // only the transfer scenario is async
          stats.cycles++;
          done++;
          if (i % 10 === 9) await turn(); // let finalizers of spontaneous GCs run mid-batch
        }
        beforeGC();
        const gcLeft = await settle();
        afterGC(S, b + 1, gcLeft);
      } catch (error) {
        fail(`${S}: batch ${b + 1} threw ${error.stack || error}`);
      }
      const bad = failures.length - failuresBefore;
      console.log(
        `[${S}] batch ${b + 1}/${batches} cycles ${done}/${cyclesPerStrategy} live=${live.length} ` +
          `neighbours=${neighbours.length} kept-views=${kept.length} orphans=${orphans.length} ` +
          `mapped=${mappedNames().size} ${bad ? `FAILURES=${bad}` : 'ok'} (${elapsed(bStart).toFixed(2)}s)`,
      );
      if (bad) aborted = true; // corruption: stop before it cascades into a crash
    }
    // Strategy done: close the live set (the next strategy makes its own).
    try {
      retireLive(live.length);
      await settle(5);
      finishRetired(S);
      checkNeighbours(`after strategy ${S}`);
    } catch (error) {
      fail(`${S}: final checks threw ${error.stack || error}`);
    }
    perStrategy.push(`${S}:${done}`);
    console.log(`[${S}] done: ${done} cycles in ${elapsed(sStart).toFixed(1)}s, ${failures.length - failuresBefore} failures`);
  }

  // ------------------------------------------------------------ cleanup
  for (const shm of openHandles) {
    try {
      shm.close();
    } catch (error) {
      fail(`cleanup: close threw ${error}`);
    }
  }
  openHandles.clear();
  let removed = 0;
  for (const name of created) {
    try {
      SharedMemory.unlink(name);
      removed++;
    } catch (error) {
      if (error.code !== 'ENOENT') fail(`cleanup: unlink ${name}: ${error.message}`);
    }
  }
  if (removed > 0 && !aborted && !interrupted) fail(`cleanup: ${removed} segments were still linked at the end`);
  if (shmDir) {
    const still = [...created].filter((name) => fs.existsSync(path.join(shmDir, name)));
    if (still.length) fail(`cleanup: ${still.length} segments still exist: ${still.slice(0, 3).join(', ')}`);
  }
  if (journalFd >= 0) fs.closeSync(journalFd);

  if (opts.transfer) {
    const list = [...transferOutcomes].map(([k, n]) => `${k}=${n}`).join(' ');
    console.log(`stress: transfer attempts by way:outcome: ${list || 'none'}`);
  }
  const ok = failures.length === 0 && !interrupted;
  console.log(
    `${SUMMARY_TAG} ${ok ? 'OK' : 'FAIL'} strategies=${perStrategy.join(',')} cycles=${stats.cycles} ` +
      `segments=${stats.segments} attaches=${stats.attaches} closes=${stats.closes} drops=${stats.drops} ` +
      `checks=${stats.checks} checked=${(stats.bytesChecked / 1048576).toFixed(1)}MiB ` +
      `neighbour-checks=${stats.neighbourChecks} kept-view-checks=${stats.keptViewChecks} ` +
      `gc-rounds=${stats.gcRounds}${opts.transfer ? ` transfers=${stats.transfers}` : ''} ` +
      `failures=${failures.length}${interrupted ? ' interrupted' : ''} seed=${seed} elapsed=${elapsed(started).toFixed(1)}s`,
  );
  process.exitCode = ok ? 0 : 1;
}

// ---------------------------------------------------------------- entry

const rawArgs = process.argv.slice(2);
const opts = parseArgs(rawArgs);
if (process.env.NODE_TEST_CONTEXT && rawArgs.length === 0) {
  // `node --test test/` runs every .js file under test/, this one included.
  // The stress run belongs to test/06-stress.test.js (which passes arguments),
  // not to a bare load by the runner.
  console.log('stress: loaded by node --test without arguments; skipped (see test/06-stress.test.js)');
} else if (opts.worker) {
  worker(opts).catch((error) => {
    console.log(`${SUMMARY_TAG} FAIL worker threw ${error.stack || error}`);
    process.exit(1);
  });
} else {
  supervise(opts, rawArgs);
}
