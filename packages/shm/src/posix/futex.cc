// wait.h on POSIX: cross-process wait/notify on a 32-bit word (Linux futex,
// the shared variant: no FUTEX_PRIVATE_FLAG, so the kernel keys waiters by the
// segment's inode and offset and any process mapping it can wake them).
//
//   wait(mapping, byteOffset, expected, timeoutMs)        blocks the caller
//   waitAsync(mapping, byteOffset, expected, timeoutMs, cb) → id
//   cancelWait(id)
//   notify(mapping, byteOffset, count)                    → number woken
//
// waitAsync submits each wait through the environment's io_uring where the
// kernel allows it (posix/wait_uring.h: the event loop is woken directly). The
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
#include "wait.h"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <unordered_map>

#include "addon.h"
#include "errors.h"
#include "mapping.h"
#include "wait_common.h"
#include "wait_uring.h"

#include <pthread.h>

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace shmkit {

namespace {

#if defined(__linux__)

// One FUTEX_WAIT of at most `ms` milliseconds (negative: no limit).
// Returns 0 when woken, otherwise an errno (EAGAIN, ETIMEDOUT, EINTR, EFAULT).
int FutexWait(const int32_t* addr, int32_t expected, int64_t ms) {
  struct timespec ts;
  struct timespec* timeout = nullptr;
  if (ms >= 0) {
    ts.tv_sec = static_cast<time_t>(ms / 1000);
    ts.tv_nsec = static_cast<long>((ms % 1000) * 1000000);
    timeout = &ts;
  }
  long rc = syscall(SYS_futex, addr, FUTEX_WAIT, expected, timeout, nullptr, 0);
  return rc == 0 ? 0 : errno;
}

int32_t FutexWake(const int32_t* addr, int32_t count) {
  long rc = syscall(SYS_futex, addr, FUTEX_WAKE, count, nullptr, nullptr, 0);
  return rc < 0 ? -errno : static_cast<int32_t>(rc);
}

// futex_waitv (Linux 5.16) sleeps on several words at once. Defined here
// because older kernel headers lack it; the layout is the kernel's ABI.
#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449  // the same number on every architecture
#endif
struct FutexWaitv {
  uint64_t val;
  uint64_t uaddr;
  uint32_t flags;
  uint32_t reserved;
};
constexpr uint32_t kFutex2SizeU32 = 0x02;
constexpr uint32_t kFutex2Private = FUTEX_PRIVATE_FLAG;

#endif

struct Waiter {
  uint32_t id = 0;
  const void* owner = nullptr;  // the Mapping whose word this is
  const int32_t* addr = nullptr;
  int32_t expected = 0;
  double timeout_ms = 0;  // Infinity: no limit
  // -1, or kClosed / kCancelled. Also a private futex word: the thread sleeps
  // on it together with the shared word, so Cancel() wakes it at once.
  std::atomic<int32_t> cancel{-1};
  int64_t slice_ms = kSliceMs;
  bool no_waitv = false;  // futex_waitv refused: sleep on the shared word only
  int32_t result = kOk;
  pthread_t thread;
  bool started = false;  // `thread` exists and must be joined
  napi_threadsafe_function tsfn = nullptr;
  AddonData* data = nullptr;
};

#if defined(__linux__)
// One sleep of at most `ms` milliseconds (negative: no limit) on the shared
// word and, where the kernel has futex_waitv, on the waiter's cancel word too.
// Returns as FutexWait does; a wake-up through the cancel word is reported as
// EINTR, so the caller goes round and finds the flag.
int SleepOnce(Waiter* w, int64_t ms) {
  static_assert(sizeof(std::atomic<int32_t>) == sizeof(int32_t),
                "the cancel flag doubles as a futex word");
  if (!w->no_waitv) {
    FutexWaitv words[2] = {};
    words[0].val = static_cast<uint32_t>(w->expected);
    words[0].uaddr = reinterpret_cast<uintptr_t>(w->addr);
    words[0].flags = kFutex2SizeU32;  // shared: any process's notify wakes it
    words[1].val = static_cast<uint32_t>(-1);  // not cancelled
    words[1].uaddr = reinterpret_cast<uintptr_t>(&w->cancel);
    words[1].flags = kFutex2SizeU32 | kFutex2Private;
    struct timespec deadline;
    struct timespec* timeout = nullptr;
    if (ms >= 0) {
      clock_gettime(CLOCK_MONOTONIC, &deadline);
      deadline.tv_sec += static_cast<time_t>(ms / 1000);
      deadline.tv_nsec += static_cast<long>((ms % 1000) * 1000000);
      if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_sec += 1;
        deadline.tv_nsec -= 1000000000;
      }
      timeout = &deadline;
    }
    long rc = syscall(SYS_futex_waitv, words, 2, 0, timeout, CLOCK_MONOTONIC);
    if (rc == 0) return 0;       // the shared word was woken
    if (rc > 0) return EINTR;    // the cancel word: go round, see the flag
    int err = errno;
    // Not in this kernel (before 5.16), or refused by a seccomp filter.
    if (err != ENOSYS && err != EPERM && err != EINVAL) return err;
    w->no_waitv = true;
  }
  return FutexWait(w->addr, w->expected, ms);
}

// Sets the cancel flag (if no reason is set yet) and wakes the thread.
void Cancel(Waiter* w, int32_t reason) {
  int32_t none = -1;
  if (!w->cancel.compare_exchange_strong(none, reason)) return;
  syscall(SYS_futex, reinterpret_cast<int32_t*>(&w->cancel), FUTEX_WAKE_PRIVATE,
          1, nullptr, nullptr, 0);
}
#else
void Cancel(Waiter* w, int32_t reason) {
  int32_t none = -1;
  w->cancel.compare_exchange_strong(none, reason);
}
#endif

// The waiting thread. Touches only the Waiter's plain fields and the tsfn.
void RunWaiter(Waiter* w) {
#if defined(__linux__)
  const bool forever = IsForever(w->timeout_ms);
  const Clock::time_point deadline =
      forever ? Clock::time_point::max() : DeadlineAfter(w->timeout_ms);
  bool first = true;
  for (;;) {
    int32_t cancelled = w->cancel.load();
    if (cancelled >= 0) {
      w->result = cancelled;
      break;
    }
    int64_t slice = w->slice_ms;
    if (!forever) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                      deadline - Clock::now())
                      .count();
      // The word is always compared once, however short the timeout.
      if (left <= 0 && !first) {
        w->result = kTimedOut;
        break;
      }
      if (left < slice) slice = left < 0 ? 0 : left;
    }
    int err = SleepOnce(w, slice);
    // close() sets the flag before it swaps the pages: a thread that compared
    // against the placeholder sees the flag here, so closing always wins.
    cancelled = w->cancel.load();
    if (cancelled >= 0) {
      w->result = cancelled;
      break;
    }
    if (err == 0) {
      w->result = kOk;
      break;
    }
    if (err == EAGAIN) {
      // The word no longer holds `expected`. Before the first sleep that is
      // "not-equal"; later it means it changed while we waited: "ok".
      w->result = first ? kNotEqual : kOk;
      break;
    }
    if (err == EFAULT) {
      w->result = kFault;
      break;
    }
    first = false;  // ETIMEDOUT (a slice ended) or EINTR: go round again
  }
#else
  w->result = kFault;
#endif
  napi_call_threadsafe_function(w->tsfn, w, napi_tsfn_nonblocking);
}

void* WaiterThread(void* arg) {
  RunWaiter(static_cast<Waiter*>(arg));
  return nullptr;
}

// Starts the waiting thread: 0, or the errno of pthread_create (EAGAIN when
// the process or its user may not have another thread). std::thread is not
// used: with C++ exceptions off its failure is std::terminate, an abort.
int StartWaiter(Waiter* w, bool simulate_failure) {
  if (simulate_failure) return EAGAIN;
  int err = pthread_create(&w->thread, nullptr, WaiterThread, w);
  if (err == 0) w->started = true;
  return err;
}

void JoinWaiter(Waiter* w) {
  if (!w->started) return;
  pthread_join(w->thread, nullptr);
  w->started = false;
}

// On the JS thread: report the result and release the tsfn.
void CallJs(napi_env env, napi_value callback, void* /*context*/, void* data) {
  Waiter* w = static_cast<Waiter*>(data);
  if (env != nullptr && callback != nullptr) {
    napi_value result;
    napi_create_string_utf8(env, ResultName(w->result), NAPI_AUTO_LENGTH,
                            &result);
    napi_value undefined;
    napi_get_undefined(env, &undefined);
    napi_call_function(env, undefined, callback, 1, &result, nullptr);
  }
  napi_release_threadsafe_function(w->tsfn, napi_tsfn_release);
}

// The tsfn's finalizer: the thread has called (or, at teardown, will never
// call) back; join it and free the Waiter.
void FinalizeWaiter(napi_env /*env*/, void* data, void* /*hint*/) {
  Waiter* w = static_cast<Waiter*>(data);
  Cancel(w, kCancelled);
  JoinWaiter(w);
  if (w->data != nullptr) w->data->waiters.erase(w->id);
  delete w;
}

// Resolves (mapping, byteOffset) to the address of an open, aligned int32 word.
const int32_t* WordOf(const Napi::CallbackInfo& info, const void** owner) {
  Mapping* mapping = nullptr;
  const int32_t* word = Mapping::WaitTarget(info, &mapping);
  *owner = mapping;
  return word;
}

bool Unsupported(Napi::Env env) {
#if defined(__linux__)
  (void)env;
  return false;
#else
  ThrowCode(env, "ERR_SHM_UNSUPPORTED_PLATFORM",
            "cross-process wait/notify needs Linux futexes");
  return true;
#endif
}

// wait(mapping, byteOffset, expected, timeoutMs) → 'ok' | 'not-equal' | 'timed-out'
// Sleeps in slices, so that terminating a worker blocked here still works.
Napi::Value Wait(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (Unsupported(env)) return env.Undefined();
  const void* owner;
  const int32_t* addr = WordOf(info, &owner);
  if (addr == nullptr) return env.Undefined();
  int32_t expected = info[2].As<Napi::Number>().Int32Value();
  double timeout_ms = info[3].As<Napi::Number>().DoubleValue();
  int32_t result = kTimedOut;
#if defined(__linux__)
  Napi::Function noop = NoopFunction(env);
  const bool forever = IsForever(timeout_ms);
  const Clock::time_point deadline =
      forever ? Clock::time_point::max() : DeadlineAfter(timeout_ms);
  bool first = true;
  for (;;) {
    int64_t slice = kSliceMs;
    if (!forever) {
      int64_t left = std::chrono::duration_cast<std::chrono::milliseconds>(
                         deadline - Clock::now())
                         .count();
      if (left <= 0 && !first) {
        result = kTimedOut;
        break;
      }
      if (left < slice) slice = left < 0 ? 0 : left;
    }
    int err = FutexWait(addr, expected, slice);
    if (err == 0) { result = kOk; break; }
    if (err == EAGAIN) { result = first ? kNotEqual : kOk; break; }
    if (err == EFAULT) { result = kFault; break; }
    first = false;  // a slice ended (ETIMEDOUT) or EINTR
    if (!CanRunJs(env, noop)) return env.Undefined();  // terminating
  }
#endif
  if (result == kFault) {
    ThrowCode(env, "ERR_SHM_CLOSED", "the word's pages are no longer mapped");
    return env.Undefined();
  }
  return Napi::String::New(env, ResultName(result));
}

// waitAsync(mapping, byteOffset, expected, timeoutMs, callback) → id
Napi::Value WaitAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (Unsupported(env)) return env.Undefined();
  const void* owner;
  const int32_t* addr = WordOf(info, &owner);
  if (addr == nullptr) return env.Undefined();
  if (!info[4].IsFunction()) {
    ThrowArgType(env, "callback must be a function");
    return env.Undefined();
  }
  AddonData* data = env.GetInstanceData<AddonData>();
  const uint32_t id = ++data->last_waiter_id;
  const int32_t expected = info[2].As<Napi::Number>().Int32Value();
  const double timeout_ms = info[3].As<Napi::Number>().DoubleValue();
  const int64_t slice_ms = data->wait_slice_ms > 0 ? data->wait_slice_ms : kSliceMs;
  // io_uring where the kernel has futex waits in it (Linux 6.7+) and policy
  // allows: the loop itself is woken. Otherwise a thread per wait.
  if (!data->simulate_no_uring) {
    void* uring = UringWaitsOf(env, data);
    if (uring != nullptr && UringWaitStart(uring, env, id, owner, addr, expected,
                                           timeout_ms, slice_ms, info[4])) {
      return Napi::Number::New(env, id);
    }
  }
  Waiter* w = new Waiter();
  w->id = id;
  w->owner = owner;
  w->addr = addr;
  w->expected = expected;
  w->timeout_ms = timeout_ms;
  w->data = data;
  w->slice_ms = slice_ms;
  w->no_waitv = data->simulate_no_waitv;
  napi_value name;
  napi_create_string_utf8(env, "shmkit.waitAsync", NAPI_AUTO_LENGTH, &name);
  napi_status status = napi_create_threadsafe_function(
      env, info[4], nullptr, name, 0, 1, w, FinalizeWaiter, nullptr, CallJs,
      &w->tsfn);
  if (status != napi_ok) {
    delete w;
    ThrowCode(env, "ERR_SHM_WAIT_FAILED", "could not create the waiter");
    return env.Undefined();
  }
  int err = StartWaiter(w, data->simulate_thread_failure);
  if (err != 0) {
    // No thread will ever call back: releasing the tsfn finalizes it, and
    // FinalizeWaiter frees the Waiter. It was never in data->waiters, so
    // nothing there refers to it (and it must not touch `data`, which an
    // environment teardown may free first).
    w->data = nullptr;
    napi_release_threadsafe_function(w->tsfn, napi_tsfn_release);
    ThrowCode(env, "ERR_SHM_WAIT_FAILED",
              std::string("could not start a thread for the wait (pthread_create: ") +
                  std::strerror(err) + ")");
    return env.Undefined();
  }
  data->waiters[w->id] = w;
  return Napi::Number::New(env, w->id);
}

// cancelWait(id): the wait reports 'cancelled' (at once, or within one slice
// without futex_waitv).
Napi::Value CancelWait(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AddonData* data = env.GetInstanceData<AddonData>();
  uint32_t id = info[0].As<Napi::Number>().Uint32Value();
  if (UringWaitCancel(data, id, kCancelled)) return env.Undefined();
  auto it = data->waiters.find(id);
  if (it != data->waiters.end()) Cancel(static_cast<Waiter*>(it->second), kCancelled);
  return env.Undefined();
}

// notify(mapping, byteOffset, count) → number of waiters woken, in any process.
Napi::Value Notify(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (Unsupported(env)) return env.Undefined();
  const void* owner;
  const int32_t* addr = WordOf(info, &owner);
  if (addr == nullptr) return env.Undefined();
  double count = info[2].As<Napi::Number>().DoubleValue();
  int32_t n = count >= 2147483647.0 ? 2147483647 : static_cast<int32_t>(count);
  int32_t woken = 0;
#if defined(__linux__)
  woken = FutexWake(addr, n);
  if (woken < 0) {
    ThrowErrno(env, -woken, "futex", "");
    return env.Undefined();
  }
#endif
  return Napi::Number::New(env, woken);
}

// Environment teardown (a worker exiting, the process ending): no waiting
// thread may outlive the environment.
void CancelAllOnTeardown(void* arg) {
  AddonData* data = static_cast<AddonData*>(arg);
  for (auto& entry : data->waiters) {
    Cancel(static_cast<Waiter*>(entry.second), kCancelled);
  }
  for (auto& entry : data->waiters) {
    Waiter* w = static_cast<Waiter*>(entry.second);
    JoinWaiter(w);
    w->data = nullptr;  // the map is going away with the environment
  }
  data->waiters.clear();
}

}  // namespace

void CancelWaitsOf(Napi::Env env, const void* owner) {
  AddonData* data = env.GetInstanceData<AddonData>();
  if (data == nullptr) return;
  UringWaitsCancelOwner(data, owner);
  for (auto& entry : data->waiters) {
    Waiter* w = static_cast<Waiter*>(entry.second);
    if (w->owner == owner) Cancel(w, kClosed);
  }
}

void InitWait(Napi::Env env, Napi::Object exports) {
  exports.Set("wait", Napi::Function::New<Wait>(env, "wait"));
  exports.Set("waitAsync", Napi::Function::New<WaitAsync>(env, "waitAsync"));
  exports.Set("cancelWait", Napi::Function::New<CancelWait>(env, "cancelWait"));
  exports.Set("notify", Napi::Function::New<Notify>(env, "notify"));
  InitUringWaits(env, exports);
  napi_add_env_cleanup_hook(env, CancelAllOnTeardown,
                            env.GetInstanceData<AddonData>());
}

}  // namespace shmkit
