'use strict';
// Page-fault cost: what it takes to get a new segment whose every page has been
// touched, with and without `populate: true`.
//
// Each sample creates a fresh segment (timed: "create"), removes its name at
// once (untimed: the mapping lives on, and a crash can leave nothing behind in
// /dev/shm), then writes one byte into every 4 KiB page (timed: "touch"), then
// closes it (untimed). Without populate, the touch takes one page fault per
// page, in which tmpfs allocates and zeroes the page; with populate, create
// reserves the pages (posix_fallocate) and maps them in (MAP_POPULATE), so the
// touch finds them present. Both variants run in every round, in alternating
// order; ratios are computed per round, then their median is reported.
const fs = require('node:fs');
const { SharedMemory, pageSize } = require('@shmkit/shm');
const { summarize, now, fmt } = require('../lib/stats');
const { Names, unlinkQuietly } = require('../lib/names');

const MiB = 1 << 20;
const PRESETS = {
  tiny: { sizes: [{ bytes: 16 * MiB, rounds: 3 }] },
  quick: { sizes: [{ bytes: 64 * MiB, rounds: 8 }, { bytes: 512 * MiB, rounds: 4 }] },
  full: { sizes: [{ bytes: 64 * MiB, rounds: 24 }, { bytes: 512 * MiB, rounds: 10 }] },
};
const STRIDE = 4096; // one byte per 4 KiB page, as asked (and the page size here)


function readText(file) {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
}

// ------------------------------------------------------------ one sample

function touch(buf, bytes) {
  for (let i = 0; i < bytes; i += STRIDE) buf[i] = 1;
}

const minorFaults = () => process.resourceUsage().minorPageFault;

/**
 * { create, touch, total, retouch, release } in ms for one fresh segment, and
 * the minor page faults this process took during create and during touch.
 */
function sample(name, bytes, populate) {
  let shm = null;
  try {
    const f0 = minorFaults();
    const t0 = now();
    shm = new SharedMemory({ name, create: true, size: bytes, populate });
    const t1 = now();
    const f1 = minorFaults();
    shm.unlink();
    const buf = shm.buf;
    const f2 = minorFaults();
    const t2 = now();
    touch(buf, bytes);
    const t3 = now();
    const f3 = minorFaults();
    touch(buf, bytes); // again: every page present, the loop alone
    const t4 = now();
    shm.close();
    const t5 = now();
    return {
      create: t1 - t0,
      touch: t3 - t2,
      total: t1 - t0 + (t3 - t2),
      retouch: t4 - t3,
      release: t5 - t4,
      createFaults: f1 - f0,
      touchFaults: f3 - f2,
    };
  } finally {
    if (shm) shm.close();
    unlinkQuietly(name);
  }
}

// ------------------------------------------------------------ formatting

const sizeLabel = (bytes) => `${bytes / MiB} MiB`;
const ms = (s) => (s.n ? `${fmt(s.median)} ms (${fmt(s.p10)}–${fmt(s.p90)})` : '—');
const ratio = (s) => (s.n ? `${fmt(s.median)}× (${fmt(s.p10)}–${fmt(s.p90)})` : '—');

// ------------------------------------------------------------ the suite

async function run(ctx) {
  const preset = PRESETS[ctx.preset] || PRESETS.quick;
  const progress = (m) => ctx.progress(m);
  const names = new Names('pf');

  const VARIANTS = [
    { key: 'faults', populate: false },
    { key: 'populate', populate: true },
  ];
  const results = [];
  try {
    // warm-up: JIT the touch loop, first-use costs of the addon
    progress('warm-up');
    for (const v of VARIANTS) sample(names.name('w'), 4 * MiB, v.populate);

    for (const { bytes, rounds } of preset.sizes) {
      const pages = Math.ceil(bytes / STRIDE);
      const fields = () => ({ create: [], touch: [], total: [], retouch: [], release: [], createFaults: [], touchFaults: [] });
      const s = { faults: fields(), populate: fields() };
      const r = { touch: [], total: [], faultNsPerPage: [], populateNsPerPage: [] };
      for (let round = 0; round < rounds; round++) {
        progress(`${sizeLabel(bytes)}: round ${round + 1}/${rounds}`);
        const order = round % 2 === 0 ? VARIANTS : [...VARIANTS].reverse();
        const got = {};
        for (const v of order) {
          got[v.key] = sample(names.name('s'), bytes, v.populate);
          // let the freed pages go back before the next variant allocates
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        for (const v of VARIANTS) for (const k of Object.keys(s[v.key])) s[v.key][k].push(got[v.key][k]);
        r.touch.push(got.faults.touch / got.populate.touch);
        r.total.push(got.faults.total / got.populate.total);
        r.faultNsPerPage.push(((got.faults.touch) * 1e6) / pages);
        r.populateNsPerPage.push(((got.populate.create - got.faults.create) * 1e6) / pages);
      }
      const summary = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, summarize(v)]));
      results.push({
        bytes,
        pages,
        rounds,
        faults: summary(s.faults),
        populate: summary(s.populate),
        ratios: {
          touchFaultsOverPopulate: summarize(r.touch),
          totalFaultsOverPopulate: summarize(r.total),
        },
        perPage: {
          faultNs: summarize(r.faultNsPerPage),
          populateExtraCreateNs: summarize(r.populateNsPerPage),
        },
      });
    }
  } finally {
    names.cleanup(); // every name this run handed out
  }

  const data = {
    preset: ctx.preset,
    node: process.version,
    pageSize,
    strideBytes: STRIDE,
    shmemHugePages: readText('/sys/kernel/mm/transparent_hugepage/shmem_enabled'),
    results,
  };

  const lines = [
    'Each sample creates a fresh segment (timed: create), unlinks its name (untimed), writes one byte into every 4 KiB page (timed: touch) and closes it (untimed), with and without `populate: true`; ' +
      'both variants run in every round in alternating order, and ratios are computed per round, then their median is reported. Without populate the touch takes one page fault per page (tmpfs allocates and zeroes it there); with populate, create pays for that up front (posix_fallocate + MAP_POPULATE).',
    '',
    '| size | variant | create | touch | create + touch | page faults in create / touch | second touch | release (close) |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const res of results) {
    for (const v of VARIANTS) {
      const x = res[v.key];
      const label = v.populate ? '`populate: true`' : 'first-touch faults';
      lines.push(
        `| ${sizeLabel(res.bytes)} | ${label} | ${ms(x.create)} | ${ms(x.touch)} | ${ms(x.total)} | ` +
          `${Math.round(x.createFaults.median)} / ${Math.round(x.touchFaults.median)} | ${ms(x.retouch)} | ${ms(x.release)} |`,
      );
    }
  }
  lines.push(
    '',
    '| size | touch: faults / populate | create + touch: faults / populate | one first-touch fault | populate, per page (extra create time) |',
    '|---|---|---|---|---|',
  );
  for (const res of results) {
    const ns = (s) => (s.n ? `${fmt(s.median / 1000)} µs (${fmt(s.p10 / 1000)}–${fmt(s.p90 / 1000)})` : '—');
    lines.push(
      `| ${sizeLabel(res.bytes)} | ${ratio(res.ratios.touchFaultsOverPopulate)} | ${ratio(res.ratios.totalFaultsOverPopulate)} | ${ns(res.perPage.faultNs)} | ${ns(res.perPage.populateExtraCreateNs)} |`,
    );
  }
  lines.push(
    '',
    'Cells: median (p10–p90) over rounds. "create + touch" is the cost of getting a segment whose every page is in memory: the fair comparison of the two variants. ' +
      'Page faults: minor faults this process took (`process.resourceUsage()`), medians; "second touch" runs the same loop again over pages already present.',
  );
  // A populated segment whose first touch takes no page fault yet costs far
  // more than the second touch: the cost is below the guest kernel (on a VM,
  // the hypervisor backs each fresh guest page on its first access).
  const big = results[results.length - 1];
  const residualNs = ((big.populate.touch.median - big.populate.retouch.median) * 1e6) / big.pages;
  if (big.populate.touchFaults.median < big.pages / 100 && residualNs > 1000) {
    lines.push(
      '',
      `With populate, the first touch of ${sizeLabel(big.bytes)} still took ${fmt(big.populate.touch.median)} ms without page faults ` +
        `(${fmt(residualNs / 1000)} µs a page more than the second touch): on this machine the first access to freshly allocated memory is expensive below the kernel's page tables ` +
        '(on a virtual machine, the hypervisor backing each new guest page), and populate cannot move that cost into create.',
    );
  }

  // No project goal here: the figures are information (the baselines measured
  // populate 12× cheaper on another machine; see the summary line).
  lines.push(
    '',
    'Summary: ' +
      results
        .map(
          (res) =>
            `${sizeLabel(res.bytes)}: create + first touch ${fmt(res.faults.total.median)} ms with first-touch faults, ` +
            `${fmt(res.populate.total.median)} ms with populate (${fmt(res.ratios.totalFaultsOverPopulate.median)}× cheaper; ` +
            `touch alone ${fmt(res.ratios.touchFaultsOverPopulate.median)}×)`,
        )
        .join('; ') +
      '.',
  );
  const goals = [];
  return { markdown: lines.join('\n'), data, goals };
}

module.exports = {
  id: 'pagefault',
  title: 'Page-fault cost',
  run,
};
