'use strict';
// Checks both published packages' tests make of their tarball (packages/*/test/00-package.test.js):
// what the registry shows away from the repository must still work.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const REPO = path.join(__dirname, '..');

/**
 * `files`: the packed paths (from `npm pack --dry-run --json`) of the package in `dir`. Asserts the
 * LICENSE is packed and a copy of the repository's, every source map points at packed files, and
 * every README link is absolute (or an anchor) and, when it names a file of this repository, that
 * file exists.
 */
function checkTarball(dir, files) {
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const where = path.relative(REPO, dir);
  assert.ok(files.has('LICENSE'), 'LICENSE is packed');
  assert.equal(
    fs.readFileSync(path.join(dir, 'LICENSE'), 'utf8'),
    fs.readFileSync(path.join(REPO, 'LICENSE'), 'utf8'),
    `${where}/LICENSE is a copy of the repository LICENSE`,
  );
  assert.equal(pkg.repository.directory, where);

  let maps = 0;
  for (const file of files) {
    if (!file.endsWith('.map')) continue;
    maps++;
    const map = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
    for (const source of map.sources) {
      const target = path.posix.join(path.posix.dirname(file), source);
      assert.ok(files.has(target), `${file} points at ${target}, which is packed`);
    }
  }
  assert.ok(maps > 0, 'source maps are packed');

  // The registry shows README.md away from the repository: relative links break there.
  const repoUrl = pkg.repository.url.replace(/^git\+/, '').replace(/\.git$/, '');
  const readme = fs
    .readFileSync(path.join(dir, 'README.md'), 'utf8')
    .replace(/```[\s\S]*?```/g, '')
    .replace(/`[^`\n]*`/g, '');
  const links = [...readme.matchAll(/\]\(([^)\s]*)\)/g)].map((m) => m[1]);
  assert.ok(links.length > 0);
  for (const link of links) {
    assert.match(link, /^(https:\/\/|#)/, `README link ${JSON.stringify(link)} is absolute or an anchor`);
    for (const kind of ['blob', 'tree']) {
      const prefix = `${repoUrl}/${kind}/main/`;
      if (!link.startsWith(prefix)) continue;
      const inRepo = link.slice(prefix.length).split('#')[0];
      assert.ok(fs.existsSync(path.join(REPO, inRepo)), `README link ${link}: ${inRepo} exists`);
    }
  }
  return pkg;
}

module.exports = { checkTarball, REPO };
