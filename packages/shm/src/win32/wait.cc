// wait.h on Windows. WaitOnAddress wakes only threads of its own process, so
// waits across processes go through a small protocol of shmkit's own
// (docs/decisions/0014-windows.md; the layout: docs/windows-wait-table.md):
//
//   - The waiter table: a companion named section "shmkit_wq_<name>" per
//     segment (created or opened at the first wait or notify on it, held until
//     close()), with kSlots slots {word, pid, bell}. `word` packs the slot's
//     state (free, claimed, waiting, woken), a sequence number bumped at each
//     claim (so a slot reused between a notifier's read and its compare-and-
//     swap is never woken by mistake) and the byte offset waited on.
//   - A waiter claims a free slot, writes its pid and bell, publishes
//     "waiting" with an interlocked exchange (a full barrier) and only then
//     compares the segment's word with `expected`. A notifier (the caller has
//     changed the word) issues a full barrier, then moves up to `count`
//     waiting slots of that offset to "woken" by compare-and-swap and sets
//     their bells. Either the notifier sees the slot or the waiter sees the
//     new word: no wake-up is lost. The swap makes notify()'s count exact: a
//     waiter that leaves (timeout, abort, close) swaps its slot from waiting
//     to free, and if that fails it was counted and reports 'ok'.
//   - A bell is a named auto-reset event "shmkit_bell_<pid>_<id>": one per
//     environment for waitAsync, whose one waiting thread sleeps on it (and on
//     a control event) in slices of kSliceMs, so a change of the word without
//     notify is still seen; one per call for a blocking wait(). A notifier
//     opens the bell by name for each wake and never keeps it: a bell that
//     cannot be opened means its process is gone, so its slot is freed and not
//     counted. A full table first reclaims such dead slots.
//
// Ownership: the WaitState of an environment (AddonData::wait_state) owns the
// tables, the bell, the thread and the waits. The thread touches a wait's
// table and word only under `lock`, and CancelWaitsOf (close()) takes every
// wait of a mapping off the thread under that lock before the mapping's views
// and table are unmapped. At teardown the thread is stopped and joined (a
// cleanup hook registered after the threadsafe function's own, so it runs
// first), then the tables are closed and the state freed (a hook registered
// before it, so it runs last).
#include <windows.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "addon.h"
#include "errors.h"
#include "mapping.h"
#include "platform.h"
#include "wait.h"
#include "wait_common.h"
#include "win32/win32.h"

namespace shmkit {

namespace {

constexpr LONG kTableMagic = 0x51574b53;  // 'SKWQ'
constexpr LONG kTableVersion = 1;
constexpr int kSlots = 256;

enum SlotState : LONG64 { kFree = 0, kClaimed = 1, kWaiting = 2, kWoken = 3 };

// word: offset << 32 | sequence << 2 | state.
struct WaitSlot {
  volatile LONG64 word;
  volatile LONG pid;
  volatile LONG bell;
  LONG reserved[4];
};
struct WaitTable {
  volatile LONG magic;
  volatile LONG version;
  volatile LONG slot_count;
  volatile LONG waiting;  // slots in "waiting" or more: notifiers skip at 0
  LONG reserved[4];
  WaitSlot slots[kSlots];
};
static_assert(sizeof(WaitSlot) == 32, "the layout of docs/windows-wait-table.md");
static_assert(sizeof(WaitTable) == 32 + 32 * kSlots, "the table's layout");

LONG64 StateOf(LONG64 word) { return word & 3; }
LONG OffsetOf(LONG64 word) { return static_cast<LONG>(word >> 32); }
LONG64 With(LONG64 word, LONG64 state) { return (word & ~LONG64{3}) | state; }

std::wstring BellName(LONG pid, LONG bell) {
  return L"shmkit_bell_" + std::to_wstring(pid) + L"_" + std::to_wstring(bell);
}

// Bell ids, unique in this process (started from the clock, so a pid reused
// soon after gets other names).
std::atomic<LONG>& NextBell() {
  static std::atomic<LONG> next{static_cast<LONG>(GetTickCount() & 0x3fffffff)};
  return next;
}
LONG NewBellId() { return NextBell().fetch_add(1) & 0x7fffffff; }

bool BellAlive(LONG pid, LONG bell) {
  HANDLE h = OpenEventW(SYNCHRONIZE, FALSE, BellName(pid, bell).c_str());
  if (h == nullptr) return false;
  CloseHandle(h);
  return true;
}

struct Table {
  HANDLE section = nullptr;
  WaitTable* view = nullptr;
};

// Creates or opens the table of segment `name`. nullptr view on failure.
Table OpenTable(const std::string& name) {
  Table t;
  const std::wstring table_name = Wide("shmkit_wq_" + name);
  t.section = CreateFileMappingW(INVALID_HANDLE_VALUE, nullptr, PAGE_READWRITE,
                                 0, sizeof(WaitTable), table_name.c_str());
  if (t.section == nullptr) return t;
  t.view = static_cast<WaitTable*>(
      MapViewOfFile(t.section, FILE_MAP_WRITE, 0, 0, sizeof(WaitTable)));
  if (t.view == nullptr) {
    CloseHandle(t.section);
    t.section = nullptr;
    return t;
  }
  // Zero-filled at creation; whoever comes first stamps it.
  if (InterlockedCompareExchange(&t.view->magic, kTableMagic, 0) == 0) {
    t.view->version = kTableVersion;
    t.view->slot_count = kSlots;
  }
  if (t.view->magic != kTableMagic) {
    UnmapViewOfFile(t.view);
    CloseHandle(t.section);
    return Table{};
  }
  return t;
}

void CloseTable(Table* t) {
  if (t->view != nullptr) UnmapViewOfFile(t->view);
  if (t->section != nullptr) CloseHandle(t->section);
  *t = Table{};
}

// Frees the slots of processes that are gone (their bell cannot be opened).
void ReclaimDead(WaitTable* table) {
  for (int i = 0; i < kSlots; i++) {
    WaitSlot* slot = &table->slots[i];
    LONG64 word = slot->word;
    if (StateOf(word) == kFree) continue;
    if (BellAlive(slot->pid, slot->bell)) continue;
    if (InterlockedCompareExchange64(&slot->word, With(word, kFree), word) ==
            word &&
        StateOf(word) == kWaiting) {
      InterlockedDecrement(&table->waiting);
    }
  }
}

// Claims a free slot for a wait on `offset`; -1 when the table is full.
int Claim(WaitTable* table, LONG offset, LONG bell) {
  for (int attempt = 0; attempt < 2; attempt++) {
    for (int i = 0; i < kSlots; i++) {
      WaitSlot* slot = &table->slots[i];
      LONG64 word = slot->word;
      if (StateOf(word) != kFree) continue;
      LONG64 sequence = ((word >> 2) + 1) & 0x3fffffff;
      LONG64 claimed =
          (static_cast<LONG64>(offset) << 32) | (sequence << 2) | kClaimed;
      if (InterlockedCompareExchange64(&slot->word, claimed, word) != word) {
        continue;
      }
      slot->pid = static_cast<LONG>(GetCurrentProcessId());
      slot->bell = bell;
      return i;
    }
    ReclaimDead(table);
  }
  return -1;
}

// Publishes the claimed slot, then compares: true if the caller must sleep.
bool Arm(WaitTable* table, int i, const volatile LONG* word, LONG expected) {
  WaitSlot* slot = &table->slots[i];
  InterlockedIncrement(&table->waiting);
  InterlockedExchange64(&slot->word, With(slot->word, kWaiting));  // barrier
  return *word == expected;
}

// Takes the slot back: true if it was still waiting (nobody counted it).
bool Disarm(WaitTable* table, int i) {
  WaitSlot* slot = &table->slots[i];
  LONG64 word = slot->word;
  if (StateOf(word) == kWaiting &&
      InterlockedCompareExchange64(&slot->word, With(word, kFree), word) ==
          word) {
    InterlockedDecrement(&table->waiting);
    return true;
  }
  InterlockedExchange64(&slot->word, With(slot->word, kFree));  // was woken
  return false;
}

// Wakes up to `count` waiters on `offset`; returns how many were woken.
int32_t Wake(WaitTable* table, LONG offset, int32_t count) {
  MemoryBarrier();  // the caller's change of the word comes first
  if (InterlockedCompareExchange(&table->waiting, 0, 0) <= 0) return 0;
  int32_t woken = 0;
  for (int i = 0; i < kSlots && woken < count; i++) {
    WaitSlot* slot = &table->slots[i];
    LONG64 word = slot->word;
    if (StateOf(word) != kWaiting || OffsetOf(word) != offset) continue;
    const LONG pid = slot->pid;
    const LONG bell = slot->bell;
    if (InterlockedCompareExchange64(&slot->word, With(word, kWoken), word) !=
        word) {
      continue;  // it left, or the slot was reused: not ours to wake
    }
    InterlockedDecrement(&table->waiting);
    HANDLE h = OpenEventW(EVENT_MODIFY_STATE, FALSE, BellName(pid, bell).c_str());
    if (h == nullptr) {
      // Its process is gone: free the slot, do not count it.
      InterlockedCompareExchange64(&slot->word, With(word, kFree),
                                   With(word, kWoken));
      continue;
    }
    SetEvent(h);
    CloseHandle(h);
    woken++;
  }
  return woken;
}

struct Wait {
  uint32_t id = 0;
  const Mapping* owner = nullptr;
  WaitTable* table = nullptr;
  int slot = -1;
  const volatile LONG* word = nullptr;
  LONG expected = 0;
  ULONGLONG deadline = 0;  // GetTickCount64(); ULLONG_MAX: none
  int32_t cancel = -1;     // under lock: kCancelled / kClosed
  int32_t result = kOk;
  bool pending = false;    // under lock: on the thread's list
  napi_ref callback = nullptr;
};

struct WaitState {
  std::unordered_map<const Mapping*, Table> tables;  // JS thread only
  std::unordered_map<uint32_t, Wait*> waits;         // JS thread only
  size_t unreported = 0;                             // JS thread only
  // The waiting thread and what it shares, under `lock`.
  CRITICAL_SECTION lock;
  std::vector<Wait*> pending;
  std::vector<Wait*> done;
  bool stop = false;
  HANDLE bell = nullptr;     // named, auto-reset: notifiers set it
  HANDLE control = nullptr;  // unnamed: new waits, cancellation, stop
  HANDLE thread = nullptr;
  LONG bell_id = 0;
  napi_threadsafe_function tsfn = nullptr;
  std::string why;  // why the thread could not start
};

WaitState* StateOf(napi_env env) {
  AddonData* data = Napi::Env(env).GetInstanceData<AddonData>();
  return data == nullptr ? nullptr : static_cast<WaitState*>(data->wait_state);
}

// Last cleanup hook: closes the tables and frees the state.
void FreeState(void* arg) {
  AddonData* data = static_cast<AddonData*>(arg);
  WaitState* state = static_cast<WaitState*>(data->wait_state);
  if (state == nullptr) return;
  for (auto& entry : state->tables) CloseTable(&entry.second);
  for (auto& entry : state->waits) delete entry.second;
  if (state->bell != nullptr) CloseHandle(state->bell);
  if (state->control != nullptr) CloseHandle(state->control);
  DeleteCriticalSection(&state->lock);
  delete state;
  data->wait_state = nullptr;
}

WaitState* EnsureState(napi_env env) {
  AddonData* data = Napi::Env(env).GetInstanceData<AddonData>();
  if (data->wait_state == nullptr) {
    WaitState* state = new WaitState();
    InitializeCriticalSection(&state->lock);
    data->wait_state = state;
    napi_add_env_cleanup_hook(env, FreeState, data);
  }
  return static_cast<WaitState*>(data->wait_state);
}

WaitTable* TableOf(WaitState* state, Mapping* mapping) {
  auto it = state->tables.find(mapping);
  if (it != state->tables.end()) return it->second.view;
  Table t = OpenTable(mapping->name());
  if (t.view == nullptr) return nullptr;
  state->tables[mapping] = t;
  return t.view;
}

// Settles what can be settled; returns the milliseconds to sleep. Under lock.
DWORD Sweep(WaitState* state) {
  const ULONGLONG now = GetTickCount64();
  DWORD sleep = static_cast<DWORD>(kSliceMs);
  std::vector<Wait*> still;
  for (Wait* w : state->pending) {
    int32_t result = -1;
    if (w->cancel >= 0) {
      result = Disarm(w->table, w->slot) ? w->cancel : kOk;
    } else if (StateOf(w->table->slots[w->slot].word) == kWoken ||
               *w->word != w->expected) {
      Disarm(w->table, w->slot);  // woken, or changed without notify
      result = kOk;
    } else if (now >= w->deadline) {
      result = Disarm(w->table, w->slot) ? kTimedOut : kOk;
    } else if (w->deadline - now < sleep) {
      sleep = static_cast<DWORD>(w->deadline - now);
    }
    if (result < 0) {
      still.push_back(w);
    } else {
      w->result = result;
      w->pending = false;
      state->done.push_back(w);
    }
  }
  state->pending.swap(still);
  return sleep;
}

DWORD WINAPI WaitingThread(void* arg) {
  WaitState* state = static_cast<WaitState*>(arg);
  HANDLE objects[2] = {state->bell, state->control};
  for (;;) {
    EnterCriticalSection(&state->lock);
    if (state->stop) {
      LeaveCriticalSection(&state->lock);
      return 0;
    }
    DWORD sleep = Sweep(state);
    bool report = !state->done.empty();
    LeaveCriticalSection(&state->lock);
    if (report) {
      napi_call_threadsafe_function(state->tsfn, nullptr, napi_tsfn_nonblocking);
    }
    WaitForMultipleObjects(2, objects, FALSE, sleep);
  }
}

// On the JS thread: report every settled wait.
void CallJs(napi_env env, napi_value /*js*/, void* /*context*/, void* /*data*/) {
  if (env == nullptr) return;
  WaitState* state = StateOf(env);
  if (state == nullptr) return;
  EnterCriticalSection(&state->lock);
  std::vector<Wait*> done;
  done.swap(state->done);
  LeaveCriticalSection(&state->lock);
  for (Wait* w : done) {
    state->waits.erase(w->id);
    state->unreported--;
    napi_value callback = nullptr;
    napi_get_reference_value(env, w->callback, &callback);
    napi_delete_reference(env, w->callback);
    const int32_t result = w->result;
    delete w;
    if (callback == nullptr) continue;
    napi_value undefined, name;
    napi_get_undefined(env, &undefined);
    napi_create_string_utf8(env, ResultName(result), NAPI_AUTO_LENGTH, &name);
    napi_call_function(env, undefined, callback, 1, &name, nullptr);
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) {
      napi_value error;
      napi_get_and_clear_last_exception(env, &error);
      napi_fatal_exception(env, error);
    }
  }
  if (state->unreported == 0 && state->tsfn != nullptr) {
    napi_unref_threadsafe_function(env, state->tsfn);
  }
}

// First cleanup hook: stops and joins the thread before anything it uses goes.
void StopThread(void* arg) {
  WaitState* state = static_cast<WaitState*>(arg);
  EnterCriticalSection(&state->lock);
  state->stop = true;
  LeaveCriticalSection(&state->lock);
  SetEvent(state->control);
  WaitForSingleObject(state->thread, INFINITE);
  CloseHandle(state->thread);
  state->thread = nullptr;
}

// Starts the environment's bell and thread at its first waitAsync.
bool StartThread(napi_env env, WaitState* state) {
  if (state->thread != nullptr) return true;
  if (!state->why.empty()) return false;
  state->bell_id = NewBellId();
  const std::wstring name =
      BellName(static_cast<LONG>(GetCurrentProcessId()), state->bell_id);
  state->bell = CreateEventW(nullptr, FALSE, FALSE, name.c_str());
  state->control = CreateEventW(nullptr, FALSE, FALSE, nullptr);
  napi_value resource;
  napi_create_string_utf8(env, "shmkit.waitAsync", NAPI_AUTO_LENGTH, &resource);
  if (state->bell == nullptr || state->control == nullptr ||
      napi_create_threadsafe_function(env, nullptr, nullptr, resource, 0, 1,
                                      nullptr, nullptr, nullptr, CallJs,
                                      &state->tsfn) != napi_ok) {
    state->why = "could not create the wait's events";
    return false;
  }
  napi_unref_threadsafe_function(env, state->tsfn);
  state->thread = CreateThread(nullptr, 64 * 1024, WaitingThread, state, 0, nullptr);
  if (state->thread == nullptr) {
    state->why = "could not start the waiting thread";
    return false;
  }
  napi_add_env_cleanup_hook(env, StopThread, state);
  return true;
}

Napi::Value WaitFailed(Napi::Env env, const std::string& why) {
  ThrowCode(env, "ERR_SHM_WAIT_FAILED", why);
  return env.Undefined();
}

ULONGLONG DeadlineOf(double timeout_ms) {
  if (IsForever(timeout_ms)) return ~ULONGLONG{0};
  return GetTickCount64() + static_cast<ULONGLONG>(timeout_ms < 0 ? 0 : timeout_ms);
}

const char* kTableFull =
    "too many waiters on one segment (256 in all processes)";

// wait(mapping, byteOffset, expected, timeoutMs) → 'ok' | 'not-equal' | 'timed-out'
Napi::Value WaitSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Mapping* mapping = nullptr;
  const int32_t* word = Mapping::WaitTarget(info, &mapping);
  if (word == nullptr) return env.Undefined();
  const LONG expected = info[2].As<Napi::Number>().Int32Value();
  const double timeout_ms = info[3].As<Napi::Number>().DoubleValue();
  WaitState* state = EnsureState(env);
  WaitTable* table = TableOf(state, mapping);
  if (table == nullptr) return WaitFailed(env, "could not open the waiter table");
  const LONG bell_id = NewBellId();
  HANDLE bell = CreateEventW(
      nullptr, FALSE, FALSE,
      BellName(static_cast<LONG>(GetCurrentProcessId()), bell_id).c_str());
  if (bell == nullptr) return WaitFailed(env, "could not create the wait's event");
  const LONG offset = static_cast<LONG>(info[1].As<Napi::Number>().Int64Value());
  const int slot = Claim(table, offset, bell_id);
  if (slot < 0) {
    CloseHandle(bell);
    return WaitFailed(env, kTableFull);
  }
  const volatile LONG* target = reinterpret_cast<const volatile LONG*>(word);
  int32_t result = kTimedOut;
  if (!Arm(table, slot, target, expected)) {
    result = Disarm(table, slot) ? kNotEqual : kOk;
  } else {
    Napi::Function noop = NoopFunction(env);
    const ULONGLONG deadline = DeadlineOf(timeout_ms);
    bool first = true;
    for (;;) {
      if (StateOf(table->slots[slot].word) == kWoken || *target != expected) {
        Disarm(table, slot);
        result = kOk;
        break;
      }
      const ULONGLONG now = GetTickCount64();
      if (now >= deadline && !first) {
        result = Disarm(table, slot) ? kTimedOut : kOk;
        break;
      }
      DWORD sleep = static_cast<DWORD>(kSliceMs);
      if (deadline - now < sleep) sleep = static_cast<DWORD>(deadline - now);
      WaitForSingleObject(bell, now >= deadline ? 0 : sleep);
      first = false;
      if (!CanRunJs(env, noop)) {  // a worker being terminated
        Disarm(table, slot);
        CloseHandle(bell);
        return env.Undefined();
      }
    }
  }
  CloseHandle(bell);
  return Napi::String::New(env, ResultName(result));
}

// waitAsync(mapping, byteOffset, expected, timeoutMs, callback) → id
Napi::Value WaitAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Mapping* mapping = nullptr;
  const int32_t* word = Mapping::WaitTarget(info, &mapping);
  if (word == nullptr) return env.Undefined();
  if (!info[4].IsFunction()) {
    ThrowArgType(env, "callback must be a function");
    return env.Undefined();
  }
  AddonData* data = env.GetInstanceData<AddonData>();
  WaitState* state = EnsureState(env);
  if (data->simulate_thread_failure) {
    return WaitFailed(env, "could not start the waiting thread (simulated)");
  }
  if (!StartThread(env, state)) return WaitFailed(env, state->why);
  WaitTable* table = TableOf(state, mapping);
  if (table == nullptr) return WaitFailed(env, "could not open the waiter table");
  const LONG offset = static_cast<LONG>(info[1].As<Napi::Number>().Int64Value());
  const int slot = Claim(table, offset, state->bell_id);
  if (slot < 0) return WaitFailed(env, kTableFull);

  Wait* w = new Wait();
  w->id = ++data->last_waiter_id;
  w->owner = mapping;
  w->table = table;
  w->slot = slot;
  w->word = reinterpret_cast<const volatile LONG*>(word);
  w->expected = info[2].As<Napi::Number>().Int32Value();
  w->deadline = DeadlineOf(info[3].As<Napi::Number>().DoubleValue());
  napi_create_reference(env, info[4], 1, &w->callback);
  state->waits[w->id] = w;
  if (state->unreported++ == 0) napi_ref_threadsafe_function(env, state->tsfn);

  EnterCriticalSection(&state->lock);
  if (!Arm(table, slot, w->word, w->expected)) {
    // Reported from the loop, as every result is.
    w->result = Disarm(table, slot) ? kNotEqual : kOk;
    state->done.push_back(w);
  } else {
    w->pending = true;
    state->pending.push_back(w);
  }
  LeaveCriticalSection(&state->lock);
  SetEvent(state->control);
  return Napi::Number::New(env, w->id);
}

// cancelWait(id): the wait reports 'cancelled' (or 'ok' if it was woken).
Napi::Value CancelWait(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  WaitState* state = StateOf(env);
  if (state == nullptr || info.Length() < 1 || !info[0].IsNumber()) {
    return env.Undefined();
  }
  auto it = state->waits.find(info[0].As<Napi::Number>().Uint32Value());
  if (it == state->waits.end()) return env.Undefined();
  EnterCriticalSection(&state->lock);
  if (it->second->pending && it->second->cancel < 0) {
    it->second->cancel = kCancelled;
  }
  LeaveCriticalSection(&state->lock);
  SetEvent(state->control);
  return env.Undefined();
}

// notify(mapping, byteOffset, count) → number of waiters woken, in any process.
Napi::Value Notify(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Mapping* mapping = nullptr;
  const int32_t* word = Mapping::WaitTarget(info, &mapping);
  if (word == nullptr) return env.Undefined();
  WaitTable* table = TableOf(EnsureState(env), mapping);
  if (table == nullptr) return WaitFailed(env, "could not open the waiter table");
  const double count = info[2].As<Napi::Number>().DoubleValue();
  const int32_t n =
      count >= 2147483647.0 ? 2147483647 : static_cast<int32_t>(count);
  const LONG offset = static_cast<LONG>(info[1].As<Napi::Number>().Int64Value());
  return Napi::Number::New(env, Wake(table, offset, n));
}

Napi::Value Backend(const Napi::CallbackInfo& info) {
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("name", "win32-events");
  return out;
}

Napi::Value ArmedWaits(const Napi::CallbackInfo& info) {
  return Napi::Array::New(info.Env());
}

}  // namespace

void CancelWaitsOf(Napi::Env env, const void* owner) {
  WaitState* state = StateOf(env);
  if (state == nullptr) return;
  bool any = false;
  EnterCriticalSection(&state->lock);
  std::vector<Wait*> still;
  for (Wait* w : state->pending) {
    if (w->owner != owner) {
      still.push_back(w);
      continue;
    }
    w->result = Disarm(w->table, w->slot) ? kClosed : kOk;
    w->pending = false;
    state->done.push_back(w);
    any = true;
  }
  state->pending.swap(still);
  LeaveCriticalSection(&state->lock);
  // Nothing on the thread refers to this mapping's table any more.
  auto it = state->tables.find(static_cast<const Mapping*>(owner));
  if (it != state->tables.end()) {
    CloseTable(&it->second);
    state->tables.erase(it);
  }
  if (any && state->tsfn != nullptr) {
    napi_call_threadsafe_function(state->tsfn, nullptr, napi_tsfn_nonblocking);
  }
}

void InitWait(Napi::Env env, Napi::Object exports) {
  exports.Set("wait", Napi::Function::New<WaitSync>(env, "wait"));
  exports.Set("waitAsync", Napi::Function::New<WaitAsync>(env, "waitAsync"));
  exports.Set("cancelWait", Napi::Function::New<CancelWait>(env, "cancelWait"));
  exports.Set("notify", Napi::Function::New<Notify>(env, "notify"));
  exports.Set("waitBackend", Napi::Function::New<Backend>(env, "waitBackend"));
  exports.Set("armedWaits", Napi::Function::New<ArmedWaits>(env, "armedWaits"));
}

}  // namespace shmkit
