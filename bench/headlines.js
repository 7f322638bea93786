#!/usr/bin/env node
'use strict';
// Copies the headlines of bench/RESULTS.md into the READMEs that quote them, by key: a README line
// (or the rest of one) that starts with `<!-- h:KEY -->` gets RESULTS.md's text for KEY. A key the
// results lack is an error (the README would quote a figure no run produced). Run it after
// `node bench/run.js --quick --out bench`; bench/test/figures.test.js checks the READMEs match.
//
//   node bench/headlines.js [--check]     --check: change nothing, exit 1 if a README differs
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const RESULTS = path.join(__dirname, 'RESULTS.md');
/** The READMEs that quote bench figures. */
const QUOTING = ['README.md', 'examples/app/README.md', 'bench/README.md', 'python/README.md'];
const MARK = /<!-- h:([a-z0-9._-]+) -->/g;

/** key → text, from RESULTS.md's "Headlines" list. */
function headlines(text = fs.readFileSync(RESULTS, 'utf8')) {
  const map = new Map();
  for (const line of text.split('\n')) {
    const m = /^- <!-- h:([a-z0-9._-]+) -->(.*)$/.exec(line);
    if (m) map.set(m[1], m[2]);
  }
  return map;
}

/** The README text with every quoted headline replaced by the current one; { text, missing: [keys] }. */
function sync(readme, map) {
  const missing = [];
  const text = readme
    .split('\n')
    .map((line) => {
      const at = line.search(MARK);
      if (at < 0) return line;
      const key = /<!-- h:([a-z0-9._-]+) -->/.exec(line.slice(at))[1];
      if (!map.has(key)) {
        missing.push(key);
        return line;
      }
      return `${line.slice(0, at)}<!-- h:${key} -->${map.get(key)}`;
    })
    .join('\n');
  return { text, missing };
}

module.exports = { headlines, sync, QUOTING, ROOT };

if (require.main === module) {
  const check = process.argv.includes('--check');
  const map = headlines();
  let bad = 0;
  for (const rel of QUOTING) {
    const file = path.join(ROOT, rel);
    const before = fs.readFileSync(file, 'utf8');
    const { text, missing } = sync(before, map);
    for (const key of missing) {
      console.error(`${rel}: quotes headline ${key}, which bench/RESULTS.md does not have`);
      bad++;
    }
    if (text !== before) {
      if (check) {
        console.error(`${rel}: its quoted figures differ from bench/RESULTS.md (run node bench/headlines.js)`);
        bad++;
      } else {
        fs.writeFileSync(file, text);
        console.log(`${rel}: updated`);
      }
    }
  }
  process.exitCode = bad ? 1 : 0;
}
