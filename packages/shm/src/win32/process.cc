// Windows-only exports (platform.h: InitPlatform):
//
//   segmentExists(name) → boolean     a mapping of that name is held somewhere
//   listSegments() → string[]         the names of the sections in this
//                                     session's namespace (where bare names
//                                     live), NtQueryDirectoryObject on
//                                     \Sessions\<id>\BaseNamedObjects
//   holdSegment(name)                 this process holds the mapping until
//                                     unlink(name) (the manager's server)
//   segmentSize(name) → number        whole pages, as a view reports them
//   currentThreadId() → number        GetCurrentThreadId()
//   ProcessWatch(pid, tid, startedAtMs)
//       .alive() → boolean            the process (and thread `tid`, unless 0)
//       .close()                      has not ended
//
// A FrameRing reader learns that its writer is gone from a handle to the
// writer's process, opened when it attaches: Windows does not reuse a process
// id while any handle to the process is open, so from then on the handle
// names that one process whatever happens (a pid probe could meet another
// process that took the id). The only window is between the writer's death
// and the OpenProcess; it is closed by comparing the process's creation time
// with the start time the writer wrote in the ring's header: a process created
// after it (more than a second, for clock granularity) is another process. A
// header without a start time (0: a ring formatted by one process for another
// to write) skips that check, so for such a ring the window stays open.
//
// Ownership: a ProcessWatch owns its handles until close() or its finalizer.
#include <windows.h>
#include <winternl.h>

#include <cmath>
#include <vector>
#include <cstdint>

#include "errors.h"
#include "platform.h"
#include "win32/win32.h"

namespace shmkit {

namespace {

// Milliseconds since 1970 of a FILETIME (100 ns since 1601).
double UnixMs(const FILETIME& time) {
  const uint64_t ticks = (static_cast<uint64_t>(time.dwHighDateTime) << 32) |
                         time.dwLowDateTime;
  return static_cast<double>(ticks) / 10000.0 - 11644473600000.0;
}

class ProcessWatch : public Napi::ObjectWrap<ProcessWatch> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "ProcessWatch",
                       {InstanceMethod<&ProcessWatch::Alive>("alive"),
                        InstanceMethod<&ProcessWatch::Close>("close")});
  }

  explicit ProcessWatch(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<ProcessWatch>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsNumber() ||
        !info[2].IsNumber()) {
      ThrowArgType(env, "ProcessWatch(pid, tid, startedAtMs)");
      return;
    }
    const DWORD pid = info[0].As<Napi::Number>().Uint32Value();
    const DWORD tid = info[1].As<Napi::Number>().Uint32Value();
    const double started = info[2].As<Napi::Number>().DoubleValue();
    process_ = OpenProcess(SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION,
                           FALSE, pid);
    if (process_ == nullptr) {
      // Another user's process exists but may not be opened (as EPERM from
      // kill(pid, 0)): alive, as far as can be told. Anything else: gone.
      gone_ = GetLastError() != ERROR_ACCESS_DENIED;
      return;
    }
    FILETIME created, exited, kernel, user;
    // started == 0: not recorded (a ring FrameRing.format() made for another
    // process); the handle alone then names the writer from here on.
    if (std::isfinite(started) && started > 0 &&
        GetProcessTimes(process_, &created, &exited, &kernel, &user) &&
        UnixMs(created) > started + 1000) {
      gone_ = true;  // the pid names a process created after the writer
      return;
    }
    if (tid != 0) {
      thread_ = OpenThread(SYNCHRONIZE | THREAD_QUERY_LIMITED_INFORMATION,
                           FALSE, tid);
      if (thread_ == nullptr || GetProcessIdOfThread(thread_) != pid) {
        gone_ = true;
      }
    }
  }

  ~ProcessWatch() override { Release(); }

 private:
  Napi::Value Alive(const Napi::CallbackInfo& info) {
    bool alive = !gone_;
    if (alive && process_ != nullptr &&
        WaitForSingleObject(process_, 0) == WAIT_OBJECT_0) {
      alive = false;
    }
    if (alive && thread_ != nullptr &&
        WaitForSingleObject(thread_, 0) == WAIT_OBJECT_0) {
      alive = false;
    }
    return Napi::Boolean::New(info.Env(), alive);
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Release();
    gone_ = true;
    return info.Env().Undefined();
  }

  void Release() {
    if (process_ != nullptr) CloseHandle(process_);
    if (thread_ != nullptr) CloseHandle(thread_);
    process_ = nullptr;
    thread_ = nullptr;
  }

  HANDLE process_ = nullptr;
  HANDLE thread_ = nullptr;
  bool gone_ = false;
};

// The segment name that is the first argument of `what`, or false after
// throwing ERR_INVALID_ARG_TYPE.
bool NameArgument(const Napi::CallbackInfo& info, const char* what,
                  std::string* name) {
  if (info.Length() < 1 || !info[0].IsString()) {
    ThrowArgType(info.Env(), std::string(what) + "(name: string)");
    return false;
  }
  *name = info[0].As<Napi::String>().Utf8Value();
  if (!ValidName(*name)) {
    ThrowArgType(info.Env(), std::string(what) + ": invalid name");
    return false;
  }
  return true;
}

Napi::Value Exists(const Napi::CallbackInfo& info) {
  std::string name;
  if (!NameArgument(info, "segmentExists", &name)) return info.Env().Undefined();
  return Napi::Boolean::New(info.Env(), SegmentExists(name));
}

// holdSegment(name): this process holds the mapping until unlink(name)
// releases the hold, or the process ends (win32.h: HoldSegment).
Napi::Value Hold(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name;
  if (!NameArgument(info, "holdSegment", &name)) return env.Undefined();
  const int err = HoldSegment(name);
  if (err != 0) ThrowErrno(env, err, "OpenFileMappingW", name);
  return env.Undefined();
}

// segmentSize(name): whole pages, as a view reports them (win32.h: SegmentSize).
Napi::Value Size(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name;
  if (!NameArgument(info, "segmentSize", &name)) return env.Undefined();
  const int64_t size = SegmentSize(name);
  if (size < 0) {
    ThrowErrno(env, static_cast<int>(-size), "OpenFileMappingW", name);
    return env.Undefined();
  }
  return Napi::Number::New(env, static_cast<double>(size));
}

// ntdll's directory-object calls, looked up at run time (no import library).
struct DirectoryEntry {
  UNICODE_STRING name;
  UNICODE_STRING type;
};
using OpenDirectory = LONG(NTAPI*)(PHANDLE, ACCESS_MASK, POBJECT_ATTRIBUTES);
using QueryDirectory = LONG(NTAPI*)(HANDLE, PVOID, ULONG, BOOLEAN, BOOLEAN,
                                    PULONG, PULONG);
using InitString = VOID(NTAPI*)(PUNICODE_STRING, PCWSTR);

std::string Narrow(const UNICODE_STRING& text) {
  const int chars = static_cast<int>(text.Length / sizeof(wchar_t));
  int n = WideCharToMultiByte(CP_UTF8, 0, text.Buffer, chars, nullptr, 0,
                              nullptr, nullptr);
  std::string out(static_cast<size_t>(n > 0 ? n : 0), '\0');
  if (n > 0) {
    WideCharToMultiByte(CP_UTF8, 0, text.Buffer, chars, &out[0], n, nullptr,
                        nullptr);
  }
  return out;
}

Napi::Value ListSegments(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
  auto open = reinterpret_cast<OpenDirectory>(
      reinterpret_cast<void*>(GetProcAddress(ntdll, "NtOpenDirectoryObject")));
  auto query = reinterpret_cast<QueryDirectory>(
      reinterpret_cast<void*>(GetProcAddress(ntdll, "NtQueryDirectoryObject")));
  auto init = reinterpret_cast<InitString>(
      reinterpret_cast<void*>(GetProcAddress(ntdll, "RtlInitUnicodeString")));
  DWORD session = 0;
  if (open == nullptr || query == nullptr || init == nullptr ||
      !ProcessIdToSessionId(GetCurrentProcessId(), &session)) {
    ThrowErrno(env, kENOSYS, "NtOpenDirectoryObject", "");
    return env.Undefined();
  }
  const std::wstring path =
      L"\\Sessions\\" + std::to_wstring(session) + L"\\BaseNamedObjects";
  UNICODE_STRING name;
  init(&name, path.c_str());
  OBJECT_ATTRIBUTES attributes;
  InitializeObjectAttributes(&attributes, &name, 0, nullptr, nullptr);
  HANDLE directory = nullptr;
  if (open(&directory, 0x0001 /* DIRECTORY_QUERY */, &attributes) != 0) {
    ThrowErrno(env, kEACCES, "NtOpenDirectoryObject", "");
    return env.Undefined();
  }
  Napi::Array names = Napi::Array::New(env);
  std::vector<unsigned char> buffer(65536);
  ULONG context = 0, length = 0;
  uint32_t count = 0;
  for (BOOLEAN first = TRUE;; first = FALSE) {
    // One entry a call: simple, and a directory is small.
    if (query(directory, buffer.data(), static_cast<ULONG>(buffer.size()), TRUE,
              first, &context, &length) != 0) {
      break;
    }
    const auto* entry = reinterpret_cast<const DirectoryEntry*>(buffer.data());
    if (Narrow(entry->type) == "Section") names.Set(count++, Narrow(entry->name));
  }
  CloseHandle(directory);
  return names;
}

Napi::Value CurrentThreadId(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(),
                           static_cast<double>(GetCurrentThreadId()));
}

}  // namespace

void InitPlatform(Napi::Env env, Napi::Object exports) {
  exports.Set("ProcessWatch", ProcessWatch::Init(env));
  exports.Set("segmentExists", Napi::Function::New<Exists>(env, "segmentExists"));
  exports.Set("listSegments", Napi::Function::New<ListSegments>(env, "listSegments"));
  exports.Set("holdSegment", Napi::Function::New<Hold>(env, "holdSegment"));
  exports.Set("segmentSize", Napi::Function::New<Size>(env, "segmentSize"));
  exports.Set("currentThreadId",
              Napi::Function::New<CurrentThreadId>(env, "currentThreadId"));
}

}  // namespace shmkit
