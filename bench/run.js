#!/usr/bin/env node
'use strict';
// The benchmark harness: runs the suites in bench/suites/, prints progress,
// and writes the results page.
//
//   npm run bench                 quick preset (a few minutes), into bench/out/
//   npm run bench -- --full       more rounds, longer streams
//   node bench/run.js --tiny --out DIR      seconds; what the test suite runs
//   node bench/run.js --only frames,wakeup  some suites only
//   node bench/run.js --quick --out bench   the committed results (then: node bench/headlines.js)
//
// Output (in --out, default bench/out/, which git ignores: the committed results in bench/ change
// only when asked for): results.json (every raw summary), RESULTS.md (the headlines the READMEs
// quote, tables, goals met or not, date, machine, versions) and latency.svg (latency versus frame
// size for every transport).
//
// A suite is a module exporting { id, title, run(ctx) } where ctx is
// { preset, progress(message) } and run() resolves to
// { markdown, data, goals: [{ goal, met, figure }], chart?, headlines?: [{ key, text }] }: headlines
// are the sentences with figures that READMEs quote (bench/headlines.js copies them by key).
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { renderChart } = require('./lib/chart');

const SUITES = ['frames', 'lifecycle', 'pagefault', 'wakeup', 'memory', 'mappings', 'bridge', 'pages', 'python'];
const SCHEMA = 1;

function usage(message) {
  if (message) process.stderr.write(`bench: ${message}\n`);
  process.stderr.write('usage: node bench/run.js [--tiny | --quick | --full] [--only a,b] [--out DIR]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const options = { preset: 'quick', only: SUITES, out: path.join(__dirname, 'out') };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--tiny' || arg === '--quick' || arg === '--full') options.preset = arg.slice(2);
    else if (arg === '--only') {
      const list = (argv[++i] ?? '').split(',').filter(Boolean);
      const unknown = list.filter((id) => !SUITES.includes(id));
      if (list.length === 0 || unknown.length > 0) usage(`unknown suite(s): ${unknown.join(', ') || '(none)'}; known: ${SUITES.join(', ')}`);
      options.only = list;
    } else if (arg === '--out') {
      const dir = argv[++i];
      if (!dir) usage('--out needs a directory');
      options.out = path.resolve(dir);
    } else if (arg === '--help' || arg === '-h') usage();
    else usage(`unknown argument ${arg}`);
  }
  return options;
}

function pythonVersion() {
  try {
    return execFileSync('python3', ['--version'], { encoding: 'utf8' }).trim().replace(/^Python /, '');
  } catch {
    return 'not found';
  }
}

function machine() {
  const cpus = os.cpus();
  return {
    cores: cpus.length,
    cpu: cpus[0]?.model?.trim() ?? 'unknown',
    memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
  };
}

function goalRow(g) {
  const met = g.met === true ? 'met' : g.met === false ? '**not met**' : 'not measured';
  return `| ${g.goal} | ${met} | ${g.figure} |`;
}

function renderMarkdown(results, chartFile) {
  const m = results.machine;
  const lines = [
    '# shmkit benchmark results',
    '',
    `${results.date.slice(0, 10)} · preset \`${results.preset}\` · ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB · ` +
      `${m.os} · Node ${results.versions.node} · Python ${results.versions.python}`,
    '',
    `Produced by \`${results.command}\`. Medians with the p10–p90 spread; warm-up excluded; ratios are`,
    'computed pair by pair within each round of one run, then their median is reported.',
    '',
    '## Headlines',
    '',
    'The figures the READMEs quote, from this run (`node bench/headlines.js` copies them there by key;',
    '`bench/test/figures.test.js` fails when a README quotes anything else).',
    '',
  ];
  const headlines = results.suites.flatMap((s) => s.headlines ?? []);
  for (const h of headlines) lines.push(`- <!-- h:${h.key} -->${h.text}`);
  if (headlines.length === 0) lines.push('(none in this run)');
  lines.push('', '## Goals', '', '| goal | status | figure |', '|---|---|---|');
  for (const suite of results.suites) for (const g of suite.goals) lines.push(goalRow(g));
  if (results.suites.every((s) => s.goals.length === 0)) lines.push('| (none measured) | | |');
  for (const suite of results.suites) {
    lines.push('', `## ${suite.title}`, '');
    if (suite.error) lines.push(`**Failed:** \`${suite.error}\``);
    else lines.push(suite.markdown.trim());
    if (suite.id === 'frames' && chartFile) lines.push('', `![Latency versus frame size](${chartFile})`);
    lines.push('', `_${suite.seconds.toFixed(1)} s_`);
  }
  return `${lines.join('\n')}\n`;
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  fs.mkdirSync(options.out, { recursive: true });
  const started = Date.now();
  const results = {
    schema: SCHEMA,
    date: new Date().toISOString(),
    preset: options.preset,
    command: `node bench/run.js --${options.preset}${options.only.length < SUITES.length ? ` --only ${options.only.join(',')}` : ''}`,
    machine: machine(),
    versions: { node: process.version, python: pythonVersion(), v8: process.versions.v8 },
    suites: [],
  };
  let failed = 0;
  let chart;
  for (const [index, id] of options.only.entries()) {
    const suite = require(`./suites/${id}`);
    const tag = `[${index + 1}/${options.only.length} ${id}]`;
    process.stderr.write(`bench: ${tag} ${suite.title}\n`);
    const t0 = Date.now();
    const entry = { id, title: suite.title, seconds: 0, goals: [], headlines: [], data: null, markdown: '' };
    try {
      const out = await suite.run({
        preset: options.preset,
        progress: (message) => process.stderr.write(`bench: ${tag} ${message}\n`),
      });
      entry.markdown = out.markdown;
      entry.data = out.data;
      entry.goals = out.goals ?? [];
      entry.headlines = out.headlines ?? [];
      if (out.chart) chart = out.chart;
    } catch (error) {
      failed++;
      entry.error = error && error.stack ? error.stack.split('\n')[0] : String(error);
      process.stderr.write(`bench: ${tag} FAILED: ${error && error.stack ? error.stack : error}\n`);
    }
    entry.seconds = (Date.now() - t0) / 1000;
    results.suites.push(entry);
    process.stderr.write(`bench: ${tag} done in ${entry.seconds.toFixed(1)} s\n`);
  }
  const chartFile = chart ? 'latency.svg' : undefined;
  if (chart) fs.writeFileSync(path.join(options.out, chartFile), renderChart(chart));
  fs.writeFileSync(path.join(options.out, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  fs.writeFileSync(path.join(options.out, 'RESULTS.md'), renderMarkdown(results, chartFile));
  const goals = results.suites.flatMap((s) => s.goals);
  process.stderr.write(`bench: finished in ${((Date.now() - started) / 1000).toFixed(1)} s; wrote ${path.join(options.out, 'RESULTS.md')}\n`);
  for (const g of goals) {
    const status = g.met === true ? 'met' : g.met === false ? 'NOT MET' : 'not measured';
    process.stdout.write(`goal: ${status}: ${g.goal} — ${g.figure}\n`);
  }
  if (failed > 0) {
    process.stderr.write(`bench: ${failed} suite(s) failed\n`);
    process.exitCode = 1;
  }
}

main().catch((error) => {
  process.stderr.write(`bench: ${error.stack ?? error}\n`);
  process.exit(1);
});
