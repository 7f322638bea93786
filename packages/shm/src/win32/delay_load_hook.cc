// Only in the mingw-w64 build (scripts/build-win32.sh); node-gyp adds its own
// hook (win_delay_load_hook.cc) to MSVC builds.
//
// The addon imports Node-API from "node.exe" lazily (a delay-import library),
// and this hook answers that import with the running executable, whatever its
// name: node.exe, electron.exe or an app's renamed copy (MyApp.exe). A plain
// import of node.exe fails to load in a renamed host ("module not found").
#include <windows.h>
#include <delayimp.h>

namespace {

FARPROC WINAPI LoadHostExecutable(unsigned int event, DelayLoadInfo* info) {
  if (event != dliNotePreLoadLibrary || _stricmp(info->szDll, "node.exe") != 0) {
    return nullptr;
  }
  return reinterpret_cast<FARPROC>(GetModuleHandleW(nullptr));
}

}  // namespace

// delayimp.h declares it extern "C"; this defines it.
PfnDliHook __pfnDliNotifyHook2 = LoadHostExecutable;
