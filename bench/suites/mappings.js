'use strict';
// How many zero-copy mappings fit in a process, and what one costs, per
// buffer strategy (docs/decisions/0005-shared-strategy-and-sizes.md).
//
// 1. Cost: attach + close of one 4 KiB segment with 'external', 'overlay' and
//    'shared', interleaved per round.
// 2. Capacity: a child process attaches one segment with 'shared' until
//    ERR_SHM_ADDRESS_SPACE, under an address-space limit (`ulimit -v`): 1 TiB
//    models Electron's V8 sandbox; then (quick and full presets) without one,
//    where each WebAssembly.Memory's ~10 GiB reservation meets the 128 TiB
//    user address space of x64. It reports how many fit, what the failing
//    create cost (V8's garbage-collection retries) and what the next one cost.
// 3. Past exhaustion: forced 'overlay' creates once wasm memories no longer
//    fit (they fall back to a plain ArrayBuffer host): issue 8 saw ~160 ms each.
const { spawn } = require('node:child_process');
const path = require('node:path');
const { SharedMemory } = require('@shmkit/shm');
const { summarize, now, fmt } = require('../lib/stats');
const { Names, unlinkQuietly } = require('../lib/names');

const PRESETS = {
  tiny: { rounds: 100, limits: [{ label: '64 GiB', kib: 64 * 2 ** 20 }], unlimited: false },
  quick: { rounds: 1000, limits: [{ label: '1 TiB (Electron sandbox)', kib: 2 ** 30 }], unlimited: true },
  full: { rounds: 5000, limits: [{ label: '1 TiB (Electron sandbox)', kib: 2 ** 30 }], unlimited: true },
};
const STRATEGIES = ['external', 'overlay', 'shared'];

// ------------------------------------------------------------ capacity child

/** Runs in the child: attach until failure, then past it; prints one JSON line. */
const CHILD = `
const { SharedMemory } = require('@shmkit/shm');
const now = () => Number(process.hrtime.bigint()) / 1e6;
const [name, strategy, max] = [process.argv[1], process.argv[2], Number(process.argv[3])];
const live = [];
const creates = [];
let failure;
while (live.length < max) {
  const t0 = now();
  try {
    live.push(SharedMemory.attach(name, { strategy }));
    creates.push(now() - t0);
  } catch (e) {
    failure = { code: e.code, ms: now() - t0 };
    break;
  }
}
// Past the limit: what the next creates cost (and what they are).
const after = [];
let afterOutcome;
for (let i = 0; i < 50; i++) {
  const t0 = now();
  try {
    const s = SharedMemory.attach(name, { strategy });
    after.push(now() - t0);
    afterOutcome = s.strategy + (Object.getOwnPropertySymbols(s.buf.buffer).length ? '/wasm' : '/plain');
    live.push(s);
  } catch (e) {
    after.push(now() - t0);
    afterOutcome = e.code;
  }
}
const t0 = now();
for (const s of live) s.close();
const closeMs = now() - t0;
creates.sort((a, b) => a - b);
after.sort((a, b) => a - b);
console.log(JSON.stringify({ fit: creates.length, failure, createMedianMs: creates[creates.length >> 1], afterMedianMs: after[after.length >> 1], afterOutcome, closeEachMs: closeMs / live.length }));
`;

function capacity(name, strategy, limitKiB, max) {
  const node = JSON.stringify(process.execPath);
  const limit = limitKiB ? `ulimit -v ${limitKiB}; ` : '';
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', `${limit}exec ${node} -e "$0" "$@"`, CHILD, name, strategy, String(max)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: path.join(__dirname, '..', '..'), // resolves @shmkit/shm
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`capacity child exited ${code}: ${stderr.slice(-400)}`));
      const lines = stdout.trim().split('\n');
      resolve(JSON.parse(lines[lines.length - 1]));
    });
  });
}

// ------------------------------------------------------------ the suite

async function run(ctx) {
  const preset = PRESETS[ctx.preset] || PRESETS.quick;
  const names = new Names('map');
  const segment = names.name('seg');
  const owner = new SharedMemory({ name: segment, create: true, size: 4096, track: false });
  const cost = Object.fromEntries(STRATEGIES.map((s) => [s, { create: [], close: [] }]));
  const capacities = [];
  try {
    for (let round = 0; round < preset.rounds; round++) {
      if (round % 250 === 0) ctx.progress(`attach + close: round ${round + 1}/${preset.rounds}`);
      const order = round % 2 === 0 ? STRATEGIES : [...STRATEGIES].reverse();
      for (const strategy of order) {
        const t0 = now();
        const s = SharedMemory.attach(segment, { strategy });
        const t1 = now();
        s.close();
        cost[strategy].create.push(t1 - t0);
        cost[strategy].close.push(now() - t1);
      }
    }
    const runs = [...preset.limits];
    if (preset.unlimited) runs.push({ label: 'none (x64 Linux)', kib: 0 });
    for (const { label, kib } of runs) {
      ctx.progress(`capacity of 'shared' with address-space limit ${label}`);
      capacities.push({ strategy: 'shared', limit: label, ...(await capacity(segment, 'shared', kib, 20000)) });
    }
    if (preset.unlimited) {
      ctx.progress("forced 'overlay' past wasm address-space exhaustion");
      capacities.push({ strategy: 'overlay', limit: 'none (x64 Linux)', ...(await capacity(segment, 'overlay', 0, 13600)) });
    }
  } finally {
    owner.close();
    unlinkQuietly(segment);
    names.cleanup();
  }

  const summaries = Object.fromEntries(
    STRATEGIES.map((s) => [s, { create: summarize(cost[s].create), close: summarize(cost[s].close) }]),
  );
  const data = { preset: ctx.preset, node: process.version, rounds: preset.rounds, cost: summaries, capacities };
  const ms = (s) => `${fmt(s.median)} ms (${fmt(s.p10)}–${fmt(s.p90)})`;
  const lines = [
    'Attach + close of one 4 KiB segment per strategy (interleaved rounds; median, p10–p90). ' +
      "'overlay' and 'shared' each make a fixed-size WebAssembly.Memory (shared for 'shared').",
    '',
    '| strategy | attach | close |',
    '|---|---|---|',
    ...STRATEGIES.map((s) => `| \`${s}\` | ${ms(summaries[s].create)} | ${ms(summaries[s].close)} |`),
    '',
    'Capacity: one process attaches the same segment until the address space for WebAssembly memories ' +
      'is exhausted (each reserves ~10 GiB), then tries 50 more.',
    '',
    '| strategy | address-space limit | mappings that fit | median attach before | the failing attach | attaches after (median) | what they gave |',
    '|---|---|---|---|---|---|---|',
    ...capacities.map(
      (c) =>
        `| \`${c.strategy}\` | ${c.limit} | ${c.fit}${c.failure ? '' : ' (no failure)'} | ${fmt(c.createMedianMs)} ms | ` +
          `${c.failure ? `${c.failure.code}, ${fmt(c.failure.ms)} ms` : '—'} | ${fmt(c.afterMedianMs)} ms | ${c.afterOutcome ?? '—'} |`,
    ),
  ];
  const goals = [];
  const past = capacities.filter((c) => c.failure || c.strategy === 'overlay');
  if (past.length > 0) {
    const worst = Math.max(...past.map((c) => c.afterMedianMs));
    goals.push({
      goal: 'creates past wasm address-space exhaustion answer at once (< 5 ms; issue 8 saw ~160 ms each)',
      met: worst < 5,
      figure: `${fmt(worst)} ms median`,
    });
  }
  return { markdown: lines.join('\n'), data, goals };
}

module.exports = {
  id: 'mappings',
  title: 'Mappings: cost per strategy and how many fit',
  run,
};
