// The io_uring backend of waitAsync: each wait is one IORING_OP_FUTEX_WAIT
// on a ring per environment (main thread, worker, Electron context), and the
// event loop polls the ring's descriptor. A notify from any process completes
// the wait inside the kernel and makes the descriptor readable, which wakes
// the loop directly: no thread in between (src/posix/futex.cc keeps the thread per
// wait as the fallback).
//
// Guarantees kept from the thread backend:
//   - the word is compared when waitAsync() is called ('not-equal' then, and
//     never later);
//   - a change of the word without notify still ends the wait with 'ok'
//     within one slice (a timer of the loop, shared by every wait, looks at
//     the words of the pending waits every kSliceMs);
//   - cancellation (an AbortSignal, close() of the segment) takes the wait
//     off the futex at once (IORING_OP_ASYNC_CANCEL, synchronous inside the
//     kernel), before close() swaps the pages; it never wakes anyone else;
//   - teardown of the environment (a worker ending) closes the ring, which
//     cancels everything in the kernel, and closes the loop's handles before
//     the loop goes away (an asynchronous cleanup hook).
// A pending wait keeps the loop alive (the poll handle is referenced while any
// wait is pending), as a pending timer does.
#ifndef SHMKIT_WAIT_URING_H_
#define SHMKIT_WAIT_URING_H_

#include <napi.h>

#include <cstdint>

#include "addon.h"

namespace shmkit {

// The backend of this environment, set up at the first call; nullptr when it
// cannot be had (the reason is kept in data->uring_why).
void* UringWaitsOf(napi_env env, AddonData* data);

// Starts a wait; false when the kernel refused it (the caller falls back to
// a thread). `callback` is called once, on the loop, with the result's name.
bool UringWaitStart(void* uring, napi_env env, uint32_t id, const void* owner,
                    const int32_t* addr, int32_t expected, double timeout_ms,
                    int64_t slice_ms, napi_value callback);

// Cancels wait `id` with `reason` (kClosed, kCancelled); false if it is not a
// pending io_uring wait.
bool UringWaitCancel(AddonData* data, uint32_t id, int32_t reason);

// Cancels every pending wait on `owner`'s words with kClosed.
void UringWaitsCancelOwner(AddonData* data, const void* owner);

// backend() → { name: 'io_uring' | 'thread', reason? } and, for tests,
// armedWaits() → [{ id, address: bigint }] (waits the kernel holds on a
// futex, completions not yet posted), set on `exports`.
void InitUringWaits(Napi::Env env, Napi::Object exports);

}  // namespace shmkit

#endif  // SHMKIT_WAIT_URING_H_
