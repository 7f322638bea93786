// Registration only: the classes and functions live in their own files.
#include <napi.h>

#include <atomic>

#include "addon.h"
#include "errors.h"
#include "mapping.h"
#include "platform.h"
#include "segment_async.h"
#include "wait.h"

namespace shmkit {
namespace {

// unlink(name): UnlinkSegment (shm_unlink("/" + name); Windows: platform.h).
Napi::Value Unlink(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    ThrowArgType(env, "unlink(name: string)");
    return env.Undefined();
  }
  std::string name = info[0].As<Napi::String>().Utf8Value();
  if (!ValidName(name)) {
    ThrowArgType(env, "unlink: invalid name");
    return env.Undefined();
  }
  int err = UnlinkSegment(name);
  if (err != 0) ThrowErrno(env, err, kUnlinkCall, name);
  return env.Undefined();
}

// fence(): a full memory barrier. JavaScript's Atomics order only the atomic
// accesses themselves; a seqlock also needs plain payload accesses ordered
// against its sequence word on weakly ordered CPUs (arm64). FrameRing calls
// this after marking a slot odd (writer) and before re-reading it (reader).
Napi::Value Fence(const Napi::CallbackInfo& info) {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  return info.Env().Undefined();
}

// setTestingFlags({ refuseExternal, failOverlay, failThreads }): makes this
// environment act like a runtime that refuses external buffers and/or cannot
// overlay, so every fallback path of the strategy choice can be tested on
// plain Node; failThreads makes waitAsync's pthread_create fail (EAGAIN);
// waitSliceMs lengthens the slices waitAsync threads sleep in; noWaitv makes
// them sleep as on kernels without futex_waitv; noUring makes waitAsync use a
// thread per wait, as where io_uring is missing or disabled.
Napi::Value SetTestingFlags(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) {
    ThrowArgType(env, "setTestingFlags(flags: object)");
    return env.Undefined();
  }
  Napi::Object flags = info[0].As<Napi::Object>();
  AddonData* data = env.GetInstanceData<AddonData>();
  data->simulate_external_refused = flags.Get("refuseExternal").ToBoolean();
  data->simulate_overlay_failure = flags.Get("failOverlay").ToBoolean();
  data->simulate_thread_failure = flags.Get("failThreads").ToBoolean();
  Napi::Value slice = flags.Get("waitSliceMs");
  data->wait_slice_ms =
      slice.IsNumber() ? slice.As<Napi::Number>().Int64Value() : 0;
  data->simulate_no_waitv = flags.Get("noWaitv").ToBoolean();
  data->simulate_no_uring = flags.Get("noUring").ToBoolean();
  data->external_refused = false;
  return env.Undefined();
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  AddonData* data = new AddonData();
  env.SetInstanceData(data);  // deleted with the environment
  Napi::Function mapping = Mapping::Init(env);
  data->mapping_constructor = Napi::Persistent(mapping);
  exports.Set("Mapping", mapping);
  InitWait(env, exports);
  InitPlatform(env, exports);
  InitSegmentAsync(env, exports);
  exports.Set("unlink", Napi::Function::New<Unlink>(env, "unlink"));
  exports.Set("fence", Napi::Function::New<Fence>(env, "fence"));
  exports.Set("setTestingFlags",
              Napi::Function::New<SetTestingFlags>(env, "setTestingFlags"));
  exports.Set("pageSize", Napi::Number::New(env, static_cast<double>(PageSize())));
  exports.Set("maxNameLength",
              Napi::Number::New(env, static_cast<double>(MaxNameLength())));
  exports.Set("supported", Napi::Boolean::New(env, true));
  return exports;
}

}  // namespace shmkit

static Napi::Object InitShmkit(Napi::Env env, Napi::Object exports) {
  return shmkit::Init(env, exports);
}

NODE_API_MODULE(shmkit, InitShmkit)
