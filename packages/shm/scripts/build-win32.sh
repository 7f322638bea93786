#!/usr/bin/env bash
# Cross-compiles the win32-x64 addon on Linux with mingw-w64 (GCC 12's posix thread model:
# node-addon-api needs std::mutex, which the win32 model lacks), against node-addon-api and
# node-api-headers (headers, and def/node_api.def for the import library). Used when the package
# is packed (scripts/prebuild.js) and by .ci/run for the tests under Wine.
#
#   scripts/build-win32.sh [OUT]    default OUT: prebuilds/win32-x64/@shmkit+shm.node
#
# The sources are binding.gyp's (the common list and its OS=='win' list) plus
# src/win32/delay_load_hook.cc. Linked -static, so libstdc++, libgcc and winpthread are inside the
# DLL; Node-API is delay-imported from "node.exe" and resolved against the running executable
# (node.exe, electron.exe, a renamed app): see delay_load_hook.cc. The import table is then checked:
# only Windows' own DLLs may be imported, or the build fails.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${1:-$ROOT/prebuilds/win32-x64/@shmkit+shm.node}"
CXX="${CXX_WIN32:-x86_64-w64-mingw32-g++-posix}"
DLLTOOL="${DLLTOOL_WIN32:-x86_64-w64-mingw32-dlltool}"
OBJDUMP="${OBJDUMP_WIN32:-x86_64-w64-mingw32-objdump}"
for tool in "$CXX" "$DLLTOOL" "$OBJDUMP"; do
  command -v "$tool" >/dev/null || { echo "build-win32: $tool not found (apt-get install g++-mingw-w64-x86-64)" >&2; exit 1; }
done
cd "$ROOT"
HEADERS="$(node -p "require('path').dirname(require.resolve('node-api-headers/package.json'))")"
ADDON_API="$(node -p "require('node-addon-api').include_dir")"
read -r -a SOURCES <<< "$(node -e '
  const gyp = JSON.parse(require("fs").readFileSync("binding.gyp", "utf8").replace(/#.*$/gm, ""));
  const t = gyp.targets[0];
  const win = t.conditions.filter(([c]) => c === "OS==\x27win\x27").flatMap(([, v]) => v.sources || []);
  console.log([...t.sources, ...win, "src/win32/delay_load_hook.cc"].join(" "))')"
OBJ="$(mktemp -d)"
trap 'rm -rf -- "$OBJ"' EXIT

FLAGS=(-std=c++17 -O2 -Wall -Wextra -fno-exceptions -fno-rtti
  -DNAPI_VERSION=9 -DNAPI_DISABLE_CPP_EXCEPTIONS -DNODE_ADDON_API_DISABLE_DEPRECATED
  -DWIN32_LEAN_AND_MEAN -DNOMINMAX -D_WIN32_WINNT=0x0A00 -DUNICODE -D_UNICODE
  -I"$ROOT/src" -I"$HEADERS/include" -I"$ADDON_API")
objects=()
for src in "${SOURCES[@]}"; do
  obj="$OBJ/$(echo "$src" | tr / _).o"
  "$CXX" "${FLAGS[@]}" -c "$src" -o "$obj" &
  objects+=("$obj")
  # two compilers at a time: these machines have two cores
  [ "$(jobs -r | wc -l)" -lt 2 ] || wait -n
done
wait
"$DLLTOOL" -d "$HEADERS/def/node_api.def" -y "$OBJ/libnode-delay.a" -D node.exe
mkdir -p "$(dirname "$OUT")"
"$CXX" -shared -static -o "$OUT" "${objects[@]}" "$OBJ/libnode-delay.a" -ldelayimp \
  -Wl,--exclude-all-symbols -s

imports="$("$OBJDUMP" -p "$OUT" | awk '/DLL Name:/ { print $3 }' | sort -u)"
bad="$(grep -viE '^(kernel32|msvcrt|ucrtbase|advapi32|ntdll|api-ms-win-[a-z0-9-]+)\.dll$' <<< "$imports" || true)"
if [ -n "$bad" ]; then
  echo "build-win32: $OUT imports DLLs that are not Windows' own: $(echo $bad)" >&2
  exit 1
fi
echo "build-win32: $OUT ($(du -k "$OUT" | cut -f1) KiB), imports $(echo $imports), Node-API delay-loaded from the host executable"
