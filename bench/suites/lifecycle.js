'use strict';
// Segment lifecycle: shmkit against CPython's multiprocessing.shared_memory.
//
// Cycles per second of (a) create + close + unlink and (b) attach + close to one
// existing segment, for shmkit in this Node process and for CPython in a
// `python3` child (lifecycle.py) that runs the same cycles in a tight loop and
// times them itself. The competitors take turns in every round (the order
// rotates), each running one batch of cycles while the others sleep; the
// shmkit/CPython ratio is computed per round and the median of those ratios is
// reported.
const { spawn } = require('node:child_process');
const path = require('node:path');
const readline = require('node:readline');
const { SharedMemory } = require('@shmkit/shm');
const { summarize, now, fmt } = require('../lib/stats');
const { Names, unlinkQuietly } = require('../lib/names');

const PRESETS = {
  tiny: { rounds: 3, cycles: 150, sizes: [4096], burst: 100 },
  quick: { rounds: 9, cycles: 1500, sizes: [4096, 1 << 20], burst: 1000 },
  full: { rounds: 25, cycles: 3000, sizes: [4096, 1 << 20], burst: 1000 },
};
const BURST_SIZE = 4096;


// ------------------------------------------------------------ CPython child

/** Starts lifecycle.py; request(obj) → its JSON answer. */
function startPython() {
  const child = spawn('python3', [path.join(__dirname, 'lifecycle.py')], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = readline.createInterface({ input: child.stdout });
  const waiting = [];
  let failure = null;
  const fail = (error) => {
    failure = failure || error;
    while (waiting.length) waiting.shift().reject(failure);
  };
  lines.on('line', (line) => {
    const w = waiting.shift();
    if (!w) return;
    try {
      w.resolve(JSON.parse(line));
    } catch (error) {
      w.reject(error);
    }
  });
  child.on('error', fail);
  const exited = new Promise((resolve) => child.once('close', resolve));
  exited.then((code) => fail(new Error(`python3 exited (code ${code})`)));
  child.stdin.on('error', () => {}); // reported through 'close'

  function request(message, timeoutMs = 120000) {
    if (failure) return Promise.reject(failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`python3 did not answer ${message.op} in ${timeoutMs} ms`)), timeoutMs);
      const done = (fn) => (value) => {
        clearTimeout(timer);
        fn(value);
      };
      waiting.push({ resolve: done(resolve), reject: done(reject) });
      child.stdin.write(`${JSON.stringify(message)}\n`);
    }).then((answer) => {
      if (!answer.ok) throw new Error(`python3: ${answer.error}`);
      return answer;
    });
  }

  async function stop() {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        child.stdin.end(`${JSON.stringify({ op: 'quit' })}\n`);
      } catch {
        // already gone
      }
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
  }
  return { request, stop, child };
}

// ------------------------------------------------------------ shmkit cycles

function nodeCreateCycles(name, size, n) {
  const t0 = now();
  for (let i = 0; i < n; i++) {
    const s = new SharedMemory({ name, create: true, size });
    s.close();
    s.unlink();
  }
  return (now() - t0) / 1000;
}

function nodeAttachCycles(name, n) {
  const t0 = now();
  for (let i = 0; i < n; i++) {
    const s = new SharedMemory({ name });
    s.close();
  }
  return (now() - t0) / 1000;
}

/**
 * A burst: `n` creates of distinct names in a row (nothing unlinked between
 * them, so the tracker's channel fills as it would in a program that makes many
 * segments at start-up), then `n` unlinks. Returns the seconds of each phase.
 */
function nodeBurst(names, round, n, track) {
  const made = [];
  const t0 = now();
  for (let i = 0; i < n; i++) {
    const s = new SharedMemory({ name: names.name(`b${round}_${track ? 't' : 'u'}_${i}`), create: true, size: BURST_SIZE, track });
    s.close();
    made.push(s);
  }
  const t1 = now();
  for (const s of made) s.unlink();
  const t2 = now();
  return { create: (t1 - t0) / 1000, unlink: (t2 - t1) / 1000 };
}

// ------------------------------------------------------------ formatting

const sizeLabel = (bytes) => (bytes >= 1 << 20 ? `${bytes / (1 << 20)} MiB` : `${bytes / 1024} KiB`);
const rate = (x) => (Number.isFinite(x) ? `${fmt(x / 1000)}k/s` : '—');
const rateCell = (s) => (s.n ? `${rate(s.median)} (${rate(s.p10)}–${rate(s.p90)})` : '—');
const ratioCell = (s) => (s.n ? `${fmt(s.median)}× (${fmt(s.p10)}–${fmt(s.p90)})` : '—');
const short = (x) => (Number.isFinite(x) ? `${Math.round(x / 1000)}k/s` : '—');

// ------------------------------------------------------------ the suite

async function run(ctx) {
  const preset = PRESETS[ctx.preset] || PRESETS.quick;
  const progress = (m) => ctx.progress(m);
  const names = new Names('lc');

  let python = null;
  let pythonVersion = null;
  let pythonError = null;
  const targets = [];
  // samples[op][size][competitor] = cycles/s per round; ratios likewise
  const COMPETITORS = ['shmkit', 'cpython', 'cpythonUntracked'];
  const samples = {};
  const ratios = {};
  // burst[tracked|untracked][create|unlink] = operations/s per round
  const burst = { tracked: { create: [], unlink: [] }, untracked: { create: [], unlink: [] } };
  try {
    progress('starting python3 (lifecycle.py)');
    try {
      python = startPython();
      const hello = await python.request({ op: 'hello' }, 20000);
      pythonVersion = hello.python;
    } catch (error) {
      pythonError = String(error.message || error);
      progress(`python3 unavailable: ${pythonError}; measuring shmkit only`);
      if (python) await python.stop();
      python = null;
    }

    for (const size of preset.sizes) {
      const target = new SharedMemory({ name: names.name(`t${size}`), create: true, size });
      targets.push(target);
    }

    const batch = async (competitor, op, size, n, target, round) => {
      const name = names.name(`c${round % 10}`);
      if (competitor === 'shmkit') {
        return op === 'create' ? nodeCreateCycles(name, size, n) : nodeAttachCycles(target.name, n);
      }
      if (!python) return NaN;
      const tracked = competitor === 'cpython';
      const message = op === 'create' ? { op, name, size, n, tracked } : { op, name: target.name, n, tracked };
      return (await python.request(message)).seconds;
    };

    // one untimed warm-up batch each (JIT; CPython starts its resource tracker
    // process on the first tracked create)
    progress('warm-up');
    for (const [i, size] of preset.sizes.entries()) {
      for (const competitor of COMPETITORS) {
        for (const op of ['create', 'attach']) await batch(competitor, op, size, Math.ceil(preset.cycles / 3), targets[i], 0);
      }
    }

    for (let round = 0; round < preset.rounds; round++) {
      progress(`round ${round + 1}/${preset.rounds} (${preset.cycles} cycles a batch)`);
      const order = COMPETITORS.map((_, k) => COMPETITORS[(k + round) % COMPETITORS.length]);
      for (const [i, size] of preset.sizes.entries()) {
        for (const op of ['create', 'attach']) {
          const perSecond = {};
          for (const competitor of order) {
            perSecond[competitor] = preset.cycles / (await batch(competitor, op, size, preset.cycles, targets[i], round));
          }
          samples[op] ??= {};
          ratios[op] ??= {};
          const s = (samples[op][size] ??= { shmkit: [], cpython: [], cpythonUntracked: [] });
          const r = (ratios[op][size] ??= { overCpython: [], overCpythonUntracked: [] });
          for (const c of COMPETITORS) s[c].push(perSecond[c]);
          r.overCpython.push(perSecond.shmkit / perSecond.cpython);
          r.overCpythonUntracked.push(perSecond.shmkit / perSecond.cpythonUntracked);
        }
      }
    }

    progress(`bursts of ${preset.burst} creates (tracked and untracked, alternating)`);
    nodeBurst(names, 'w', preset.burst, true); // warm-up
    for (let round = 0; round < preset.rounds; round++) {
      for (const kind of round % 2 === 0 ? ['tracked', 'untracked'] : ['untracked', 'tracked']) {
        const t = nodeBurst(names, round, preset.burst, kind === 'tracked');
        burst[kind].create.push(preset.burst / t.create);
        burst[kind].unlink.push(preset.burst / t.unlink);
      }
    }
  } finally {
    for (const t of targets) {
      t.close();
      unlinkQuietly(t.name);
    }
    if (python) await python.stop();
    names.cleanup(); // every name this run handed out
  }

  // ---- summaries
  const data = {
    preset: ctx.preset,
    node: process.version,
    python: pythonVersion,
    pythonError,
    rounds: preset.rounds,
    cyclesPerBatch: preset.cycles,
    unit: 'cycles per second',
    results: [],
    burst: {
      n: preset.burst,
      size: BURST_SIZE,
      unit: 'operations per second',
      tracked: { create: summarize(burst.tracked.create), unlink: summarize(burst.tracked.unlink) },
      untracked: { create: summarize(burst.untracked.create), unlink: summarize(burst.untracked.unlink) },
    },
  };
  for (const size of preset.sizes) {
    for (const op of ['create', 'attach']) {
      const s = samples[op][size];
      const r = ratios[op][size];
      data.results.push({
        op,
        size,
        shmkit: summarize(s.shmkit),
        cpython: summarize(s.cpython),
        cpythonUntracked: summarize(s.cpythonUntracked),
        ratioOverCpython: summarize(r.overCpython),
        ratioOverCpythonUntracked: summarize(r.overCpythonUntracked),
      });
    }
  }

  const OP_LABEL = { create: 'create + close + unlink', attach: 'attach + close' };
  const lines = [
    `Each round, shmkit (in this Node process) and CPython ${pythonVersion || '(unavailable)'} (a \`python3\` child running the same loop and timing it itself) take turns running ${preset.cycles} cycles of each operation on one name, ${preset.rounds} rounds, the order rotating; ratios are computed per round and their median reported. ` +
      '"CPython" is Python as its users run it: a created segment is registered with the resource tracker (one message through a pipe to the tracker process, another at unlink), and an attachment is unregistered right away, the workaround 3.11 needs so that the tracker does not unlink the segment at exit (on 3.13+: `track=False`); "untracked" takes the tracker out of CPython entirely (what 3.13\'s `track=False` gives). shmkit runs with its defaults as well: a created segment is registered with shmkit\'s own tracker (one line sent over a Unix socket before the segment exists, in the kernel before create returns, and another at unlink; attaching registers nothing), so "CPython" is the like-for-like comparison and "untracked" shows the bare system calls of CPython.',
    '',
    '| size | cycle | shmkit | CPython | shmkit / CPython | CPython untracked | shmkit / untracked |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const r of data.results) {
    lines.push(
      `| ${sizeLabel(r.size)} | ${OP_LABEL[r.op]} | ${rateCell(r.shmkit)} | ${rateCell(r.cpython)} | ${ratioCell(r.ratioOverCpython)} | ` +
        `${rateCell(r.cpythonUntracked)} | ${ratioCell(r.ratioOverCpythonUntracked)} |`,
    );
  }
  lines.push('', 'Cells: median cycles per second (p10–p90 over rounds); ratios: median of the per-round ratios (p10–p90); above 1 means shmkit is faster.');
  lines.push(
    '',
    `Bursts (shmkit only): ${preset.burst} creates of distinct ${sizeLabel(BURST_SIZE)} segments in a row, then ${preset.burst} unlinks, ${preset.rounds} rounds, tracked and untracked alternating. ` +
      'A tracked create returns only once its registration is in the kernel, where the tracker cannot lose it.',
    '',
    '| burst | create | unlink |',
    '|---|---|---|',
    `| track: true | ${rateCell(data.burst.tracked.create)} | ${rateCell(data.burst.tracked.unlink)} |`,
    `| track: false | ${rateCell(data.burst.untracked.create)} | ${rateCell(data.burst.untracked.unlink)} |`,
  );

  // ---- goal
  let met = null;
  let figure = pythonError ? `not measured: python3 unavailable (${pythonError})` : '';
  if (!pythonError) {
    const parts = [];
    met = true;
    for (const op of ['create', 'attach']) {
      const bySize = data.results.filter((r) => r.op === op);
      const texts = bySize.map((r) => {
        if (!(r.ratioOverCpython.median >= 1)) met = false;
        const suffix = bySize.length > 1 ? ` at ${sizeLabel(r.size)}` : '';
        return `${short(r.shmkit.median)} vs ${short(r.cpython.median)} (${fmt(r.ratioOverCpython.median)}×)${suffix}`;
      });
      parts.push(`${op}: ${texts.join(', ')}`);
    }
    const untracked = data.results.map((r) => `${r.op} ${sizeLabel(r.size)} ${fmt(r.ratioOverCpythonUntracked.median)}×`);
    figure = `${parts.join('; ')} [against untracked CPython: ${untracked.join(', ')}]`;
  }
  const goals = [{ goal: "Lifecycle cycles at least as fast as CPython's on the same machine", met, figure }];
  return { markdown: lines.join('\n'), data, goals };
}

module.exports = {
  id: 'lifecycle',
  title: 'Segment lifecycle: shmkit against CPython',
  run,
};
