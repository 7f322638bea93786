// Cross-process wait/notify on a 32-bit word of a shared segment (Linux futex,
// the shared variant: no FUTEX_PRIVATE_FLAG, so the kernel keys waiters by the
// segment's inode and offset and any process mapping it can wake them).
//
//   wait(mapping, byteOffset, expected, timeoutMs)        blocks the caller
//   waitAsync(mapping, byteOffset, expected, timeoutMs, cb) → id
//   cancelWait(id)
//   notify(mapping, byteOffset, count)                    → number woken
//
// waitAsync runs each wait on its own thread (never the libuv pool, whose four
// threads a few waiters would exhaust) and reports back through a
// threadsafe function. Ownership: a Waiter is owned by its threadsafe
// function; the function's finalizer joins the thread and deletes the Waiter,
// so neither outlives the other. Waiting threads sleep in slices of at most
// kSliceMs and check their cancel flag between slices: cancellation (an
// AbortSignal, close() of the segment, teardown of the environment) takes
// effect within one slice and never wakes other processes' waiters.
// The futex syscall validates the address itself: a word whose pages were
// unmapped gives EFAULT, never a crash.
#ifndef SHMKIT_FUTEX_H_
#define SHMKIT_FUTEX_H_

#include <napi.h>

namespace shmkit {

void InitFutex(Napi::Env env, Napi::Object exports);

// Cancels every asynchronous wait on `owner`'s words (called by close()).
void CancelWaitsOf(Napi::Env env, const void* owner);

}  // namespace shmkit

#endif  // SHMKIT_FUTEX_H_
