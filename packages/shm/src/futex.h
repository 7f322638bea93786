// Cross-process wait/notify on a 32-bit word of a shared segment (Linux futex,
// the shared variant: no FUTEX_PRIVATE_FLAG, so the kernel keys waiters by the
// segment's inode and offset and any process mapping it can wake them).
//
//   wait(mapping, byteOffset, expected, timeoutMs)        blocks the caller
//   waitAsync(mapping, byteOffset, expected, timeoutMs, cb) → id
//   cancelWait(id)
//   notify(mapping, byteOffset, count)                    → number woken
//
// waitAsync submits each wait through the environment's io_uring where the
// kernel allows it (src/wait_uring.h: the event loop is woken directly). The
// fallback, described here, runs each wait on its own thread (never the libuv
// pool, whose four threads a few waiters would exhaust) and reports back
// through a threadsafe function. Ownership: a Waiter is owned by its threadsafe
// function; the function's finalizer joins the thread and deletes the Waiter,
// so neither outlives the other. Waiting threads sleep in slices of at most
// kSliceMs (so a change of the word without notify is still seen) on two
// words at once (futex_waitv, Linux 5.16): the shared word and the waiter's
// own private cancel flag. Cancellation (an AbortSignal, close() of the
// segment, teardown of the environment) sets the flag and wakes that thread
// alone, at once; it never wakes other processes' waiters. Where futex_waitv
// is missing (older kernels, a seccomp filter) the thread sleeps on the shared
// word only and sees the flag at the end of its slice.
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
