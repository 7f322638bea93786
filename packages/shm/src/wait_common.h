// What both waitAsync backends (src/posix/futex.cc: a thread per wait;
// src/posix/wait_uring.cc: io_uring polled by the event loop) share: the results
// they report and the meaning of a timeout.
#ifndef SHMKIT_WAIT_COMMON_H_
#define SHMKIT_WAIT_COMMON_H_

#include <chrono>
#include <cstdint>

namespace shmkit {

enum WaitResult : int32_t {
  kOk = 0,
  kNotEqual = 1,
  kTimedOut = 2,
  kClosed = 3,     // close() of the segment
  kCancelled = 4,  // cancelWait(): an AbortSignal
  kFault = 5,      // the word's pages are gone
};

inline const char* ResultName(int32_t result) {
  switch (result) {
    case kOk: return "ok";
    case kNotEqual: return "not-equal";
    case kTimedOut: return "timed-out";
    case kClosed: return "closed";
    case kCancelled: return "cancelled";
    default: return "fault";
  }
}

// How often a pending asynchronous wait looks at its word even without a
// notify (a change made without notify() still ends it with 'ok').
constexpr int64_t kSliceMs = 50;

using Clock = std::chrono::steady_clock;

// Timeouts above this (about 31 years) are waits without a limit: larger ones
// would overflow the clock's arithmetic.
constexpr double kMaxTimeoutMs = 1e12;

inline bool IsForever(double timeout_ms) { return !(timeout_ms <= kMaxTimeoutMs); }

inline Clock::time_point DeadlineAfter(double timeout_ms) {
  return Clock::now() + std::chrono::microseconds(
                            static_cast<int64_t>(timeout_ms * 1000));
}

}  // namespace shmkit

#endif  // SHMKIT_WAIT_COMMON_H_
