'use strict';
// waitAsync has two backends (src/futex.cc): io_uring where the kernel has
// futex waits in it (Linux 6.7+) and policy allows, a thread per wait
// elsewhere. On a machine with io_uring the other test files exercise only
// the first; this runs the wait/notify and FrameRing suites again with
// SHMKIT_WAIT_BACKEND=thread, so the fallback stays tested wherever the
// tests run; and checks that a seccomp filter makes it choose threads.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const helpers = require('./helpers');
if (require('./helpers').skipFileOnWindows('the io_uring and thread backends of waitAsync', "Linux's wait backends; Windows has one, win32-events (07 and 25-windows)")) return;

for (const file of ['07-wait-notify.test.js', '08-frame-ring.test.js']) {
  test(`${file} passes with SHMKIT_WAIT_BACKEND=thread`, async () => {
    const result = await helpers.run(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=tap', path.join(__dirname, file)], {
      // NODE_TEST_CONTEXT would make the inner runner report to this one in its own format.
      env: { SHMKIT_WAIT_BACKEND: 'thread', NODE_TEST_CONTEXT: undefined },
      timeout: 600_000,
    });
    const summary = (name) => Number((new RegExp(`^# ${name} (\\d+)$`, 'm').exec(result.stdout) ?? [])[1]);
    assert.equal(result.code, 0, `${file} failed under the thread backend:\n${result.stdout.split('\n').filter((l) => /not ok|Error|expected|actual/.test(l)).slice(0, 40).join('\n')}\n${result.stderr.slice(-2000)}`);
    assert.ok(summary('pass') > 10, `${file}: ${summary('pass')} tests passed`);
    assert.equal(summary('fail'), 0);
  });
}

test('SHMKIT_WAIT_BACKEND=thread is what waitBackend() reports', async () => {
  const result = await helpers.run(process.execPath, ['-p', "JSON.stringify(require('@shmkit/shm').waitBackend())"], {
    env: { SHMKIT_WAIT_BACKEND: 'thread', NODE_PATH: path.resolve(helpers.PACKAGE, '..', '..', 'node_modules') },
  });
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(JSON.parse(result.stdout), { name: 'thread', reason: 'SHMKIT_WAIT_BACKEND=thread' });
});

// Under a seccomp filter io_uring is not tried: a filter may kill the process
// for io_uring_setup (Chromium's sandboxes do for calls they do not know).
// A small launcher installs an allow-all filter and runs Node.
const SECCOMP_LAUNCHER = `
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <unistd.h>
int main(int argc, char** argv) {
  struct sock_filter allow[] = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
  struct sock_fprog prog = { 1, allow };
  if (argc < 2 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
      prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) return 99;
  execv(argv[1], argv + 1);
  return 98;
}
`;

function buildLauncher() {
  const fs = require('node:fs');
  const os = require('node:os');
  const { execFileSync } = require('node:child_process');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmkit-seccomp-'));
  const source = path.join(dir, 'launcher.c');
  fs.writeFileSync(source, SECCOMP_LAUNCHER);
  for (const [cc, ...flags] of [['cc'], ['gcc'], ['g++', '-x', 'c++']]) {
    try {
      execFileSync(cc, [...flags, '-O1', '-o', path.join(dir, 'launcher'), source], { stdio: 'ignore' });
      return { binary: path.join(dir, 'launcher'), dir };
    } catch {}
  }
  fs.rmSync(dir, { recursive: true, force: true });
  return null;
}

test('under a seccomp filter waitAsync uses threads (and says why) unless SHMKIT_WAIT_BACKEND=io_uring; waits work either way', { skip: process.platform !== 'linux' && 'Linux only' }, async (t) => {
  const launcher = buildLauncher();
  if (!launcher) return t.skip('no C compiler to build the seccomp launcher');
  try {
    const script = `
      const { SharedMemory, waitAsync, waitBackend, notify } = require('@shmkit/shm');
      (async () => {
        const shm = SharedMemory.create(64, { track: false });
        shm.unlink();
        const pending = waitAsync(shm, 0, 0, 10000);
        setTimeout(() => { Atomics.store(shm.view(Int32Array), 0, 1); notify(shm, 0); }, 20);
        const result = await pending;
        shm.close();
        console.log(JSON.stringify({ backend: waitBackend(), result }));
      })();`;
    const env = { NODE_PATH: path.resolve(helpers.PACKAGE, '..', '..', 'node_modules'), SHMKIT_WAIT_BACKEND: undefined };
    const filtered = await helpers.run(launcher.binary, [process.execPath, '-e', script], { env });
    assert.equal(filtered.code, 0, filtered.stderr);
    const out = JSON.parse(filtered.stdout);
    assert.equal(out.backend.name, 'thread');
    assert.match(out.backend.reason, /seccomp/);
    assert.equal(out.result, 'ok');
    const forced = await helpers.run(launcher.binary, [process.execPath, '-e', script], { env: { ...env, SHMKIT_WAIT_BACKEND: 'io_uring' } });
    assert.equal(forced.code, 0, forced.stderr);
    const unfiltered = await helpers.run(process.execPath, ['-e', script], { env });
    assert.equal(JSON.parse(forced.stdout).backend.name, JSON.parse(unfiltered.stdout).backend.name, 'forced: as without the filter');
    assert.equal(JSON.parse(forced.stdout).result, 'ok');
  } finally {
    require('node:fs').rmSync(launcher.dir, { recursive: true, force: true });
  }
});
