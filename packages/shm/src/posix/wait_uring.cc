#include "wait_uring.h"

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unordered_map>
#include <vector>

#include "uring.h"
#include "wait_common.h"

#if defined(__linux__)
#include <sys/uio.h>
#include <unistd.h>
#include <uv.h>
#endif

namespace shmkit {

#if defined(__linux__)

namespace {

// user_data of a request: the wait's id, with this bit for its cancellation.
constexpr uint64_t kCancelBit = 1ULL << 32;

struct UWait {
  uint32_t id = 0;
  const void* owner = nullptr;
  const int32_t* addr = nullptr;
  int32_t expected = 0;
  bool forever = true;
  Clock::time_point deadline;
  // -1, or what the wait will report once the kernel hands it back: kClosed,
  // kCancelled (cancelWait), kTimedOut, kOk (the word changed without a
  // notify). Set before the cancellation is submitted.
  int32_t reason = -1;
  bool cancel_sent = false;
  napi_ref callback = nullptr;
};

struct UringWaits {
  napi_env env = nullptr;
  AddonData* data = nullptr;
  Uring ring;
  uv_poll_t poll;
  uv_timer_t timer;
  Clock::time_point timer_due;  // when the timer, if active, fires
  int64_t slice_ms = kSliceMs;
  std::unordered_map<uint32_t, UWait*> waits;
  napi_async_cleanup_hook_handle cleanup = nullptr;
  int open_handles = 0;
};

UringWaits* Of(AddonData* data) { return static_cast<UringWaits*>(data->uring); }

// Asks the kernel to hand wait `w` back (with -ECANCELED, or 0 if a notify
// got there first). A refused submission is retried at the next tick.
void SendCancel(UringWaits* u, UWait* w) {
  if (w->cancel_sent) return;
  w->cancel_sent = u->ring.SubmitCancel(w->id, kCancelBit | w->id) == 0;
}

void Rearm(UringWaits* u);
void ArmBy(UringWaits* u, Clock::time_point due);
void StopIfIdle(UringWaits* u);
void UpdateRef(UringWaits* u);
void Deliver(UringWaits* u);

// Reads the words of `look` into *values without touching them from this
// thread: another process may have shrunk the segment (ftruncate) under a
// wait, and a load from the vanished page would be a SIGBUS, the process
// killed. process_vm_readv on this process reports such a word as EFAULT
// instead (*faulted), many words per call. Where it is refused (a seccomp
// filter, under which io_uring is only used when asked for) the words are
// loaded directly, as before.
std::atomic<bool> vm_readv_refused{false};  // shared by every environment

void ReadWords(const std::vector<UWait*>& look, std::vector<int32_t>* values,
               std::vector<char>* faulted) {
  size_t n = look.size();
  values->assign(n, 0);
  faulted->assign(n, 0);
  constexpr size_t kBatch = 1024;  // IOV_MAX
  std::vector<struct iovec> local, remote;
  size_t start = 0;
  pid_t self = getpid();
  while (start < n && !vm_readv_refused) {
    size_t count = n - start < kBatch ? n - start : kBatch;
    local.resize(count);
    remote.resize(count);
    for (size_t i = 0; i < count; i++) {
      local[i].iov_base = &(*values)[start + i];
      local[i].iov_len = sizeof(int32_t);
      remote[i].iov_base = const_cast<int32_t*>(look[start + i]->addr);
      remote[i].iov_len = sizeof(int32_t);
    }
    ssize_t rc = process_vm_readv(self, local.data(), count, remote.data(), count, 0);
    if (rc < 0 && errno != EFAULT) {
      vm_readv_refused = true;  // ENOSYS, EPERM: load directly from here on
      break;
    }
    // Partial reads stop at the first word that could not be read.
    size_t done = rc < 0 ? 0 : static_cast<size_t>(rc) / sizeof(int32_t);
    start += done;
    if (done < count) (*faulted)[start++] = 1;
  }
  for (; start < n; start++) {
    (*values)[start] = __atomic_load_n(look[start]->addr, __ATOMIC_SEQ_CST);
  }
}

void OnTick(uv_timer_t* handle) {
  UringWaits* u = static_cast<UringWaits*>(handle->data);
  // Completions first: a wait the kernel has ended (a notify, or 'not-equal'
  // at submission) must not be taken for one whose word changed unnoticed.
  Deliver(u);
  Clock::time_point now = Clock::now();
  std::vector<UWait*> look;
  for (auto& entry : u->waits) {
    UWait* w = entry.second;
    if (w->reason >= 0) continue;
    if (!w->forever && now >= w->deadline) {
      w->reason = kTimedOut;
    } else {
      look.push_back(w);
    }
  }
  // Changed without a notify: 'ok'. The pages are still mapped by us (close()
  // cancels a segment's waits, setting `reason`, before it unmaps), but the
  // segment may have been shrunk under them: 'fault', as the futex says then.
  std::vector<int32_t> values;
  std::vector<char> faulted;
  ReadWords(look, &values, &faulted);
  for (size_t i = 0; i < look.size(); i++) {
    if (faulted[i]) {
      look[i]->reason = kFault;
    } else if (values[i] != look[i]->expected) {
      look[i]->reason = kOk;
    }
  }
  for (auto& entry : u->waits) {
    UWait* w = entry.second;
    if (w->reason >= 0) SendCancel(u, w);
  }
  Rearm(u);
  UpdateRef(u);
}

// Schedules the next tick: the earliest deadline, at most one slice away.
void Rearm(UringWaits* u) {
  StopIfIdle(u);
  if (u->waits.empty()) return;
  Clock::time_point now = Clock::now();
  Clock::time_point due = now + std::chrono::milliseconds(u->slice_ms);
  for (auto& entry : u->waits) {
    UWait* w = entry.second;
    if (w->reason >= 0 && !w->cancel_sent) due = now;  // retry at once
    if (w->reason < 0 && !w->forever && w->deadline < due) due = w->deadline;
  }
  ArmBy(u, due);
}

// Makes the next tick come at `due` at the latest (O(1): starting a wait must
// not walk every pending one).
void ArmBy(UringWaits* u, Clock::time_point due) {
  if (uv_is_active(reinterpret_cast<uv_handle_t*>(&u->timer)) && u->timer_due <= due) return;
  Clock::time_point now = Clock::now();
  int64_t ms = std::chrono::duration_cast<std::chrono::microseconds>(due - now).count();
  ms = ms <= 0 ? 0 : (ms + 999) / 1000;  // never before the deadline
  uv_timer_start(&u->timer, OnTick, static_cast<uint64_t>(ms), 0);
  u->timer_due = due;
}

// After completions: nothing left, no tick. Otherwise the armed tick stays
// (waits started meanwhile armed it for themselves).
void StopIfIdle(UringWaits* u) {
  if (u->waits.empty()) uv_timer_stop(&u->timer);
}

// A pending wait keeps the loop alive; none: the ring does not.
void UpdateRef(UringWaits* u) {
  if (u->waits.empty()) {
    uv_unref(reinterpret_cast<uv_handle_t*>(&u->poll));
  } else {
    uv_ref(reinterpret_cast<uv_handle_t*>(&u->poll));
  }
}

// Calls the wait's callback with its result, as an event-loop callback does
// (microtasks and nextTicks run after it), and frees the wait.
void Report(UringWaits* u, UWait* w, int32_t result) {
  napi_env env = u->env;
  napi_value callback = nullptr;
  napi_get_reference_value(env, w->callback, &callback);
  napi_delete_reference(env, w->callback);
  delete w;
  if (callback == nullptr) return;
  napi_value argument;
  napi_create_string_utf8(env, ResultName(result), NAPI_AUTO_LENGTH, &argument);
  napi_value receiver;  // napi_make_callback wants an object
  napi_get_global(env, &receiver);
  napi_value returned;
  if (napi_make_callback(env, nullptr, receiver, callback, 1, &argument,
                         &returned) == napi_pending_exception) {
    napi_value error;
    napi_get_and_clear_last_exception(env, &error);
    napi_fatal_exception(env, error);
  }
}

void OnReadable(uv_poll_t* handle, int status, int /*events*/) {
  (void)status;  // an error on the ring's descriptor: reap what is there
  UringWaits* u = static_cast<UringWaits*>(handle->data);
  Deliver(u);
  StopIfIdle(u);
  UpdateRef(u);
}

// Reports every completion the kernel has posted.
void Deliver(UringWaits* u) {
  napi_handle_scope scope;
  if (napi_open_handle_scope(u->env, &scope) != napi_ok) return;
  for (;;) {
    uint64_t user_data;
    int32_t res;
    if (!u->ring.Reap(&user_data, &res)) {
      u->ring.FlushOverflow();
      if (!u->ring.Reap(&user_data, &res)) break;
    }
    if (user_data & kCancelBit) continue;  // a cancellation's own completion
    auto it = u->waits.find(static_cast<uint32_t>(user_data));
    if (it == u->waits.end()) continue;
    UWait* w = it->second;
    int32_t result;
    if (res == 0) {
      // Woken, and counted by the notify. Whatever came after (a timeout, a
      // change, close(), an abort) does not undo that: ASYNC_CANCEL takes a
      // futex wait off synchronously, so a wait it reached first ends with
      // -ECANCELED, never 0. Reporting a cancellation here would lose the
      // wake (with notify(…, 1), another waiter would sleep on).
      result = kOk;
    } else if (w->reason >= 0) {
      result = w->reason;
    } else if (res == -EAGAIN) {
      result = kNotEqual;  // compared when waitAsync() was called
    } else if (res == -EINTR &&
               u->ring.SubmitFutexWait(w->addr, w->expected, w->id) == 0) {
      continue;  // interrupted before it slept: queued again
    } else {
      result = kFault;  // -EFAULT: the pages are gone
    }
    u->waits.erase(it);
    Report(u, w, result);  // may start or cancel other waits
  }
  napi_close_handle_scope(u->env, scope);
}

void OnHandleClosed(uv_handle_t* handle) {
  UringWaits* u = static_cast<UringWaits*>(handle->data);
  if (--u->open_handles > 0) return;
  if (u->cleanup != nullptr) napi_remove_async_cleanup_hook(u->cleanup);
  delete u;  // closes the ring
}

// Closes both loop handles; the last close callback frees `u`.
void CloseHandles(UringWaits* u) {
  uv_poll_stop(&u->poll);
  uv_timer_stop(&u->timer);
  u->open_handles = 2;
  uv_close(reinterpret_cast<uv_handle_t*>(&u->poll), OnHandleClosed);
  uv_close(reinterpret_cast<uv_handle_t*>(&u->timer), OnHandleClosed);
}

// The environment is going away: no callback will run again. Closing the
// ring cancels what the kernel holds; the loop's handles are closed before
// the loop is (Node waits for this hook to finish).
void OnTeardown(napi_async_cleanup_hook_handle handle, void* arg) {
  UringWaits* u = static_cast<UringWaits*>(arg);
  u->cleanup = handle;
  if (u->data != nullptr && u->data->uring == u) u->data->uring = nullptr;
  for (auto& entry : u->waits) delete entry.second;  // refs go with the env
  u->waits.clear();
  CloseHandles(u);
}

// True when a seccomp filter is installed on this thread ("Seccomp: 2").
// A filter may answer io_uring_setup with an error, or kill the process for
// it (Chromium's sandboxes do for system calls they do not know), so
// io_uring is not tried under one unless asked for.
bool SeccompFiltered() {
  FILE* status = std::fopen("/proc/thread-self/status", "r");
  if (status == nullptr) status = std::fopen("/proc/self/status", "r");
  if (status == nullptr) return false;
  char line[256];
  bool filtered = false;
  while (std::fgets(line, sizeof line, status) != nullptr) {
    if (std::strncmp(line, "Seccomp:", 8) == 0) {
      filtered = std::strtol(line + 8, nullptr, 10) == 2;
      break;
    }
  }
  std::fclose(status);
  return filtered;
}

UringWaits* Create(napi_env env, AddonData* data, std::string* why) {
  const char* forced = std::getenv("SHMKIT_WAIT_BACKEND");
  if (forced != nullptr && std::strcmp(forced, "thread") == 0) {
    *why = "SHMKIT_WAIT_BACKEND=thread";
    return nullptr;
  }
  if ((forced == nullptr || std::strcmp(forced, "io_uring") != 0) && SeccompFiltered()) {
    *why = "a seccomp filter is installed (a filter may kill the process for io_uring_setup); "
           "SHMKIT_WAIT_BACKEND=io_uring tries it anyway";
    return nullptr;
  }
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
    *why = "no event loop in this environment";
    return nullptr;
  }
  UringWaits* u = new UringWaits();
  u->env = env;
  u->data = data;
  if (!u->ring.Open(why)) {
    delete u;
    return nullptr;
  }
  int err = uv_poll_init(loop, &u->poll, u->ring.fd());
  if (err != 0) {
    *why = std::string("uv_poll_init on the ring: ") + uv_strerror(err);
    delete u;
    return nullptr;
  }
  u->poll.data = u;
  uv_timer_init(loop, &u->timer);
  u->timer.data = u;
  uv_unref(reinterpret_cast<uv_handle_t*>(&u->timer));
  uv_poll_start(&u->poll, UV_READABLE, OnReadable);
  uv_unref(reinterpret_cast<uv_handle_t*>(&u->poll));
  if (napi_add_async_cleanup_hook(env, OnTeardown, u, nullptr) != napi_ok) {
    // Never leave handles the loop would trip over at its close.
    *why = "napi_add_async_cleanup_hook failed";
    CloseHandles(u);  // no hook to remove: cleanup stays null
    return nullptr;
  }
  return u;
}

}  // namespace

void* UringWaitsOf(napi_env env, AddonData* data) {
  if (!data->uring_tried) {
    data->uring_tried = true;
    data->uring = Create(env, data, &data->uring_why);
  }
  return data->uring;
}

bool UringWaitStart(void* uring, napi_env env, uint32_t id, const void* owner,
                    const int32_t* addr, int32_t expected, double timeout_ms,
                    int64_t slice_ms, napi_value callback) {
  UringWaits* u = static_cast<UringWaits*>(uring);
  UWait* w = new UWait();
  w->id = id;
  w->owner = owner;
  w->addr = addr;
  w->expected = expected;
  w->forever = IsForever(timeout_ms);
  if (!w->forever) w->deadline = DeadlineAfter(timeout_ms);
  if (napi_create_reference(env, callback, 1, &w->callback) != napi_ok) {
    delete w;
    return false;
  }
  if (u->ring.SubmitFutexWait(addr, expected, id) != 0) {
    napi_delete_reference(env, w->callback);
    delete w;
    return false;
  }
  u->slice_ms = slice_ms;
  u->waits[id] = w;
  Clock::time_point due = Clock::now() + std::chrono::milliseconds(slice_ms);
  ArmBy(u, !w->forever && w->deadline < due ? w->deadline : due);
  UpdateRef(u);
  return true;
}

bool UringWaitCancel(AddonData* data, uint32_t id, int32_t reason) {
  UringWaits* u = Of(data);
  if (u == nullptr) return false;
  auto it = u->waits.find(id);
  if (it == u->waits.end()) return false;
  UWait* w = it->second;
  if (w->reason < 0) w->reason = reason;
  SendCancel(u, w);
  if (!w->cancel_sent) ArmBy(u, Clock::now());  // retried at the next tick
  return true;
}

void UringWaitsCancelOwner(AddonData* data, const void* owner) {
  UringWaits* u = Of(data);
  if (u == nullptr) return;
  bool retry = false;
  for (auto& entry : u->waits) {
    UWait* w = entry.second;
    if (w->owner != owner) continue;
    // Even a wait whose timeout or change was seen: its pages are going.
    if (w->reason < 0 || w->reason == kTimedOut || w->reason == kOk) w->reason = kClosed;
    SendCancel(u, w);
    retry = retry || !w->cancel_sent;
  }
  if (retry) ArmBy(u, Clock::now());
}

namespace {

Napi::Value Backend(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AddonData* data = env.GetInstanceData<AddonData>();
  Napi::Object result = Napi::Object::New(env);
  if (data->simulate_no_uring) {
    result.Set("name", "thread");
    result.Set("reason", "disabled for a test (setTestingFlags noUring)");
  } else if (UringWaitsOf(env, data) != nullptr) {
    result.Set("name", "io_uring");
  } else {
    result.Set("name", "thread");
    result.Set("reason", data->uring_why);
  }
  return result;
}

Napi::Value ArmedWaits(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  UringWaits* u = Of(env.GetInstanceData<AddonData>());
  Napi::Array list = Napi::Array::New(env);
  if (u == nullptr) return list;
  std::vector<uint64_t> posted;
  u->ring.Posted(&posted);
  uint32_t n = 0;
  for (auto& entry : u->waits) {
    UWait* w = entry.second;
    bool done = w->cancel_sent;
    for (uint64_t user_data : posted) done = done || user_data == w->id;
    if (done) continue;
    Napi::Object item = Napi::Object::New(env);
    item.Set("id", Napi::Number::New(env, w->id));
    item.Set("address", Napi::BigInt::New(env, static_cast<uint64_t>(
                                                    reinterpret_cast<uintptr_t>(w->addr))));
    list.Set(n++, item);
  }
  return list;
}

}  // namespace

void InitUringWaits(Napi::Env env, Napi::Object exports) {
  exports.Set("waitBackend", Napi::Function::New<Backend>(env, "waitBackend"));
  exports.Set("armedWaits", Napi::Function::New<ArmedWaits>(env, "armedWaits"));
}

#else  // !__linux__

void* UringWaitsOf(napi_env, AddonData* data) {
  data->uring_why = "io_uring is Linux only";
  return nullptr;
}
bool UringWaitStart(void*, napi_env, uint32_t, const void*, const int32_t*, int32_t,
                    double, int64_t, napi_value) {
  return false;
}
bool UringWaitCancel(AddonData*, uint32_t, int32_t) { return false; }
void UringWaitsCancelOwner(AddonData*, const void*) {}
void InitUringWaits(Napi::Env env, Napi::Object exports) {
  exports.Set("waitBackend", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
    Napi::Object result = Napi::Object::New(info.Env());
    result.Set("name", "thread");
    result.Set("reason", "io_uring is Linux only");
    return result;
  }));
  exports.Set("armedWaits", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
    return Napi::Array::New(info.Env());
  }));
}

#endif

}  // namespace shmkit
