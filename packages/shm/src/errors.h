// Error helpers for the shmkit addon.
//
// The addon is built with C++ exceptions off (NAPI_DISABLE_CPP_EXCEPTIONS):
// every helper here sets a pending JavaScript exception and the caller returns
// at once. The raw errors carry only what C++ knows (errno, the syscall, the
// segment name); lib/binding.ts turns them into Node system errors with
// `code`, `errno`, `syscall` and `path`.
#ifndef SHMKIT_ERRORS_H_
#define SHMKIT_ERRORS_H_

#include <napi.h>

#include <string>

namespace shmkit {

// An Error with `errno` (positive: errno on POSIX, libuv's number on Windows,
// platform.h), `syscall` and `path` set. lib/core/binding.ts rewrites it into
// Node's system-error shape.
Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall,
                       const std::string& path, const char* detail = nullptr);

// Throws ErrnoError(...).
void ThrowErrno(Napi::Env env, int err, const char* syscall,
                const std::string& path, const char* detail = nullptr);

// Throws an Error whose `code` is `code` (for example ERR_SHM_CLOSED).
void ThrowCode(Napi::Env env, const char* code, const std::string& message);

// Throws a TypeError with code ERR_INVALID_ARG_TYPE. Arguments are validated in
// TypeScript first; these checks guard the addon against direct misuse.
void ThrowArgType(Napi::Env env, const std::string& message);

}  // namespace shmkit

#endif  // SHMKIT_ERRORS_H_
