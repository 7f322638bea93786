// What every wait backend (src/posix/futex.cc: a thread per wait;
// src/posix/wait_uring.cc: io_uring polled by the event loop; src/win32/wait.cc:
// a waiter table and a thread per environment) shares: the results they
// report and the meaning of a timeout.
#ifndef SHMKIT_WAIT_COMMON_H_
#define SHMKIT_WAIT_COMMON_H_

#include <napi.h>

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

// True while this environment may still run JavaScript. A worker being
// terminated (or a process exiting) refuses calls into JS: a blocking wait
// that sees this gives up instead of holding the thread forever. `noop` is
// any function (NoopFunction).
inline bool CanRunJs(napi_env env, napi_value noop) {
  napi_value undefined;
  napi_get_undefined(env, &undefined);
  return napi_call_function(env, undefined, noop, 0, nullptr, nullptr) ==
         napi_ok;
}

inline Napi::Function NoopFunction(Napi::Env env) {
  return Napi::Function::New(env, [](const Napi::CallbackInfo&) {});
}

}  // namespace shmkit

#endif  // SHMKIT_WAIT_COMMON_H_
