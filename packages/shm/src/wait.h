// Cross-process wait/notify on a 32-bit word of a shared segment, the same
// JavaScript interface on every platform:
//
//   wait(mapping, byteOffset, expected, timeoutMs)        blocks the caller
//   waitAsync(mapping, byteOffset, expected, timeoutMs, cb) → id
//   cancelWait(id)
//   notify(mapping, byteOffset, count)                    → number woken
//   waitBackend()                                         → { name, reason? }
//
// posix/futex.cc: Linux futexes (with posix/wait_uring.cc, io_uring);
// win32/wait.cc: a waiter table in a companion section and a named event per
// waiting environment (docs/decisions/0014-windows.md).
#ifndef SHMKIT_WAIT_H_
#define SHMKIT_WAIT_H_

#include <napi.h>

namespace shmkit {

void InitWait(Napi::Env env, Napi::Object exports);

// Cancels every asynchronous wait on `owner`'s words (called by close()).
void CancelWaitsOf(Napi::Env env, const void* owner);

}  // namespace shmkit

#endif  // SHMKIT_WAIT_H_
