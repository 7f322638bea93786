#!/usr/bin/env bash
# Runs the stress program (test/stress/stress.js) under memory checkers:
#
#   valgrind  memcheck on a small cycle count. Node itself is run --jitless (no
#             JIT code for valgrind to re-translate) and --single-threaded (GC
#             and finalizers on the main thread). V8 produces noise; known noise
#             is suppressed (scripts/valgrind-node.supp) and only errors whose
#             stack involves shmkit.node are judged. Everything else is counted
#             and listed by kind, not judged.
#   asan      builds the addon with AddressSanitizer (binding.gyp variable
#             shmkit_asan=1) in a scratch copy of the package, so the package's
#             own build/ is never left instrumented, and runs the stress program
#             against it with libasan preloaded (Node is not instrumented, so
#             ASan checks the addon's code plus every malloc/free and mem*
#             call in the process). Every ASan report fails the run.
#             SHMKIT_ASAN_IN_PLACE=1 builds in the package instead and rebuilds
#             it normally at the end (even on failure or Ctrl-C).
#
# usage: scripts/stress-valgrind.sh [valgrind|asan|all] [--cycles N]
#          [--strategy S] [--transfer]
#   --cycles N    cycles per strategy (default: 200 under valgrind, 1000 under ASan)
#   --strategy S  auto|external|overlay|copy|all (default all)
#   --transfer    add the stress program's hostile transfer scenario (every way
#                 Node can detach or move an ArrayBuffer)
# Logs are kept in $LOG_DIR (default: a new /tmp/shmkit-stress-check.* dir).
# Exit status: 0 clean, 1 findings or stress failures, 2 setup problems.
set -euo pipefail

PKG="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STRESS="$PKG/test/stress/stress.js"
SUPP="$PKG/scripts/valgrind-node.supp"

MODE=all
CYCLES=""
STRATEGY=all
EXTRA=()
while [ $# -gt 0 ]; do
  case "$1" in
    valgrind|asan|all) MODE="$1" ;;
    --cycles) CYCLES="$2"; shift ;;
    --strategy) STRATEGY="$2"; shift ;;
    --transfer) EXTRA+=(--transfer) ;;
    -h|--help) sed -n '2,32p' "$0"; exit 0 ;;
    *) echo "stress-valgrind: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

LOG_DIR="${LOG_DIR:-$(mktemp -d /tmp/shmkit-stress-check.XXXXXX)}"
mkdir -p "$LOG_DIR"
PREFIX="shmkit-stress-check-$$-"
JOURNALS=()
NODE_GYP=()
NODEDIR_ARG=()
SCRATCH=""
REBUILD_IN_PLACE=0
STATUS=0

log() { printf '%s\n' "stress-valgrind: $*"; }

# Removes exactly the segments the stress runs journaled (never a prefix sweep).
cleanup() {
  local journal name removed=0
  for journal in "${JOURNALS[@]}"; do
    [ -f "$journal" ] || continue
    while IFS= read -r name; do
      [ -n "$name" ] || continue
      if [ -e "/dev/shm/$name" ]; then rm -f -- "/dev/shm/$name"; removed=$((removed + 1)); fi
    done < "$journal"
  done
  [ "$removed" -eq 0 ] || log "removed $removed segments left behind by a stress run"
  if [ "$REBUILD_IN_PLACE" -eq 1 ]; then
    log "rebuilding the addon normally (in place)"
    (cd "$PKG" && "${NODE_GYP[@]}" rebuild "${NODEDIR_ARG[@]}" > "$LOG_DIR/rebuild-normal.log" 2>&1) ||
      { log "normal rebuild FAILED, see $LOG_DIR/rebuild-normal.log"; STATUS=2; }
  fi
  [ -z "$SCRATCH" ] || rm -rf -- "$SCRATCH"
}
trap 'cleanup; exit $STATUS' EXIT
trap 'STATUS=130; exit' INT TERM

stress_args() { # $1 = default cycles
  printf '%s\n' --worker --strategy "$STRATEGY" --cycles "${CYCLES:-$1}" --batch 25 --max-mib 2 --prefix "$PREFIX$2-"
}

# ------------------------------------------------------------------ valgrind
run_valgrind() {
  command -v valgrind > /dev/null || { log "valgrind not found"; STATUS=2; return; }
  local journal="$LOG_DIR/valgrind.journal" vglog="$LOG_DIR/valgrind.log" out="$LOG_DIR/valgrind.stress.txt"
  : > "$journal"; JOURNALS+=("$journal")
  mapfile -t args < <(stress_args 200 vg)
  log "valgrind memcheck: ${CYCLES:-200} cycles per strategy ($STRATEGY); slow, expect minutes"
  local start=$SECONDS rc=0
  valgrind --tool=memcheck --error-limit=no --num-callers=40 --suppressions="$SUPP" \
    --leak-check=full --show-leak-kinds=definite,possible --errors-for-leak-kinds=definite \
    --log-file="$vglog" \
    node --expose-gc --jitless --single-threaded "$STRESS" "${args[@]}" --journal "$journal" "${EXTRA[@]}" \
    > "$out" 2>&1 || rc=$?
  grep -E '^\[[a-z]+\] done|^stress summary' "$out" || true
  log "valgrind run took $((SECONDS - start))s, stress exit $rc; log: $vglog"
  # Judge: split the log into error records; an error counts if its stack
  # involves the addon.
  node - "$vglog" << 'EOF' || STATUS=1
const fs = require('node:fs');
const text = fs.readFileSync(process.argv[2], 'utf8');
const lines = text.split('\n').map((l) => l.replace(/^==\d+== ?/, ''));
const blocks = [];
let cur = [];
for (const l of lines) {
  if (l.trim() === '') { if (cur.length) blocks.push(cur); cur = []; } else cur.push(l);
}
if (cur.length) blocks.push(cur);
const isError = (b) => /^(Invalid |Conditional jump|Use of uninitialised|Syscall param|Mismatched|Source and destination overlap|Argument |Process terminating|Warning: set address range perms|.* are (definitely|possibly) lost)/.test(b[0]);
const ours = (b) => b.some((l) => /shmkit\.node|shmkit::|\b(mapping|segment|addon|errors)\.cc\b/.test(l));
const errors = blocks.filter(isError);
const relevant = errors.filter(ours);
const other = errors.filter((b) => !ours(b));
const summary = lines.find((l) => l.startsWith('ERROR SUMMARY')) || 'no ERROR SUMMARY (valgrind died?)';
console.log(`stress-valgrind: memcheck ${summary}`);
const kinds = new Map();
for (const b of other) { const k = b[0].replace(/0x[0-9A-F]+/gi, 'ADDR').replace(/[\d,]+ bytes/g, 'N bytes'); kinds.set(k, (kinds.get(k) || 0) + 1); }
console.log(`stress-valgrind: ${relevant.length} error records involve shmkit.node; ${other.length} do not (Node/V8, not judged)`);
for (const [k, n] of [...kinds].sort((a, b) => b[1] - a[1]).slice(0, 8)) console.log(`    ${n} x ${k}`);
for (const b of relevant.slice(0, 10)) console.log(`--- shmkit.node error:\n  ${b.slice(0, 30).join('\n  ')}`);
if (!lines.some((l) => l.startsWith('ERROR SUMMARY'))) process.exit(1);
process.exit(relevant.length ? 1 : 0);
EOF
  [ "$rc" -eq 0 ] || { log "stress program failed under valgrind (exit $rc), see $out"; STATUS=1; }
}

# ------------------------------------------------------------------ ASan
find_node_gyp() {
  if command -v node-gyp > /dev/null; then NODE_GYP=(node-gyp); return; fi
  local npm_cli
  npm_cli="$(readlink -f "$(command -v npm)")"
  local bundled
  bundled="$(dirname "$npm_cli")/../node_modules/node-gyp/bin/node-gyp.js"
  [ -f "$bundled" ] || { log "node-gyp not found"; STATUS=2; return 1; }
  NODE_GYP=(node "$bundled")
}

run_asan() {
  command -v gcc > /dev/null || { log "gcc not found"; STATUS=2; return; }
  local libasan
  libasan="$(gcc -print-file-name=libasan.so)"
  [ -e "$libasan" ] || { log "libasan.so not found (gcc -print-file-name=libasan.so gave $libasan)"; STATUS=2; return; }
  find_node_gyp || return
  # npm passes ~/.npmrc's nodedir to node-gyp through the environment; outside
  # npm, ask npm for it (from / so workspace settings do not get in the way).
  local nodedir="${npm_config_nodedir:-$(cd / && npm config get nodedir 2> /dev/null || true)}"
  NODEDIR_ARG=()
  case "$nodedir" in ''|undefined|null) ;; *) NODEDIR_ARG=(--nodedir="$nodedir") ;; esac
  # node-addon-api must resolve from wherever binding.gyp is built.
  local napi_dir
  napi_dir="$(cd "$PKG" && node -p "require('path').dirname(require.resolve('node-addon-api/package.json'))")"
  export NODE_PATH="$(dirname "$napi_dir")${NODE_PATH:+:$NODE_PATH}"

  local target="$PKG"
  if [ "${SHMKIT_ASAN_IN_PLACE:-0}" = 1 ]; then
    REBUILD_IN_PLACE=1
  else
    SCRATCH="$(mktemp -d /tmp/shmkit-asan-pkg.XXXXXX)"
    cp -r "$PKG/package.json" "$PKG/binding.gyp" "$PKG/src" "$PKG/dist" "$SCRATCH/"
    target="$SCRATCH"
  fi
  log "building the addon with -Dshmkit_asan=1 in $target"
  if ! (cd "$target" && "${NODE_GYP[@]}" rebuild "${NODEDIR_ARG[@]}" -- -Dshmkit_asan=1 > "$LOG_DIR/asan-build.log" 2>&1); then
    log "ASan build FAILED, see $LOG_DIR/asan-build.log"; STATUS=2; return
  fi
  local addon="$target/build/Release/shmkit.node"
  # Check the option really took: instrumented code and a libasan dependency.
  # (No `| grep -q` here: with pipefail, grep quitting early fails the pipe.)
  local reports_imported linked
  reports_imported="$(nm -D "$addon" | grep -c '__asan_report' || true)"
  linked="$(ldd "$addon" | grep -o 'libasan[^ ]*' | head -n 1 || true)"
  if [ "${reports_imported:-0}" -eq 0 ]; then
    log "shmkit_asan=1 produced an uninstrumented addon (no __asan_report symbols)"; STATUS=2; return
  fi
  if [ -z "$linked" ]; then
    log "shmkit_asan=1 addon does not link libasan"; STATUS=2; return
  fi
  log "addon instrumented: $reports_imported __asan_report* imports, needs $linked"

  # ASan prints nothing when all is well: check the runtime is really loaded.
  local active
  active="$(LD_PRELOAD="$libasan" ASAN_OPTIONS=detect_leaks=0 node -e \
    "process.stdout.write(String(require('fs').readFileSync('/proc/self/maps', 'utf8').includes('libasan')))" 2>&1 || true)"
  [ "$active" = true ] || { log "libasan is not active with LD_PRELOAD ($active)"; STATUS=2; return; }

  local journal="$LOG_DIR/asan.journal" out="$LOG_DIR/asan.stress.txt"
  : > "$journal"; JOURNALS+=("$journal")
  rm -f "$LOG_DIR"/asan.report.*
  mapfile -t args < <(stress_args 1000 as)
  log "ASan: ${CYCLES:-1000} cycles per strategy ($STRATEGY), LD_PRELOAD=$libasan"
  local start=$SECONDS rc=0
  SHMKIT_PACKAGE_DIR="$target" LD_PRELOAD="$libasan" \
    ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:allow_user_segv_handler=1:log_path=$LOG_DIR/asan.report:symbolize=1" \
    node --expose-gc "$STRESS" "${args[@]}" --journal "$journal" "${EXTRA[@]}" > "$out" 2>&1 || rc=$?
  grep -E '^\[[a-z]+\] done|^stress summary' "$out" || true
  log "ASan run took $((SECONDS - start))s, stress exit $rc"
  local reports
  reports="$(ls "$LOG_DIR"/asan.report.* 2> /dev/null || true)"
  if [ -n "$reports" ]; then
    STATUS=1
    for r in $reports; do
      if grep -Eq 'shmkit\.node|shmkit::|(mapping|segment|addon|errors)\.cc' "$r"; then log "ASan report involving shmkit.node: $r"; else log "ASan report (no shmkit.node frame): $r"; fi
      sed -n '1,40p' "$r"
    done
  else
    log "ASan: no reports"
  fi
  [ "$rc" -eq 0 ] || { log "stress program failed under ASan (exit $rc), see $out"; STATUS=1; }
}

log "package $PKG, logs in $LOG_DIR"
case "$MODE" in
  valgrind) run_valgrind ;;
  asan) run_asan ;;
  all) run_valgrind; run_asan ;;
esac
if [ "$STATUS" -eq 0 ]; then log "RESULT: clean"; else log "RESULT: findings or failures (status $STATUS)"; fi
