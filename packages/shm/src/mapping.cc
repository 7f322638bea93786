#include "mapping.h"

#include <cerrno>
#include <cstring>
#include <limits>
#include <string>

#include "addon.h"
#include "errors.h"
#include "segment.h"

#if !defined(_WIN32)
#include <sys/mman.h>
#include <unistd.h>
#endif

namespace shmkit {

namespace {

const char* StrategyName(Strategy s) {
  switch (s) {
    case Strategy::kExternal: return "external";
    case Strategy::kOverlay: return "overlay";
    case Strategy::kCopy: return "copy";
    case Strategy::kAuto: break;
  }
  return "auto";
}

#if !defined(_WIN32)

void ReleaseRegion(Region* region) {
  if (--region->refs > 0) return;
  if (region->owns_mapping && region->addr != nullptr) {
    munmap(region->addr, region->length);
  }
  if (region->fd >= 0) close(region->fd);
  delete region;
}

// Finalizer of an external ArrayBuffer: drops the buffer's share of the region.
void FinalizeExternal(napi_env /*env*/, void* /*data*/, void* hint) {
  ReleaseRegion(static_cast<Region*>(hint));
}

// Unmaps (when the region owns its pages) and closes the descriptor now; the
// Region struct itself lives on until its last reference is released.
void UnmapRegionNow(Region* region) {
  if (region->owns_mapping && region->addr != nullptr) {
    munmap(region->addr, region->length);
  }
  region->addr = nullptr;
  if (region->fd >= 0) {
    close(region->fd);
    region->fd = -1;
  }
}

void Populate(void* addr, size_t length, bool readonly) {
#if defined(MADV_POPULATE_READ)
  // A private (readonly) mapping: fault pages in for reading only, so no
  // copy-on-write copies are made. Errors (old kernels) are ignored: populate
  // is an optimisation.
  if (readonly) madvise(addr, length, MADV_POPULATE_READ);
#else
  (void)addr;
  (void)length;
  (void)readonly;
#endif
}

#endif  // !_WIN32

}  // namespace

Napi::Function Mapping::Init(Napi::Env env) {
  return DefineClass(
      env, "Mapping",
      {
          InstanceAccessor<&Mapping::GetBuffer>("buffer"),
          InstanceAccessor<&Mapping::GetByteOffset>("byteOffset"),
          InstanceAccessor<&Mapping::GetSize>("size"),
          InstanceAccessor<&Mapping::GetStrategy>("strategy"),
          InstanceAccessor<&Mapping::GetClosed>("closed"),
          InstanceMethod<&Mapping::Close>("close"),
          InstanceMethod<&Mapping::Read>("read"),
          InstanceMethod<&Mapping::Write>("write"),
      });
}

// new Mapping(name, create, readonly, mode, size, strategy, populate)
// Arguments are validated in lib/; the checks here keep the addon safe if it is
// called directly.
Mapping::Mapping(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<Mapping>(info) {
  Napi::Env env = info.Env();
#if defined(_WIN32)
  ThrowCode(env, "ERR_SHM_UNSUPPORTED_PLATFORM",
            "shared memory is not supported on Windows yet");
  return;
#else
  if (info.Length() < 7 || !info[0].IsString() || !info[1].IsBoolean() ||
      !info[2].IsBoolean() || !info[3].IsNumber() || !info[4].IsNumber() ||
      !info[5].IsNumber() || !info[6].IsBoolean()) {
    ThrowArgType(env, "Mapping(name, create, readonly, mode, size, strategy, populate)");
    return;
  }
  OpenRequest request;
  request.name = info[0].As<Napi::String>().Utf8Value();
  request.create = info[1].As<Napi::Boolean>().Value();
  request.readonly = info[2].As<Napi::Boolean>().Value() && !request.create;
  request.mode = info[3].As<Napi::Number>().Uint32Value() & 07777;
  double size = info[4].As<Napi::Number>().DoubleValue();
  int strategy_arg = info[5].As<Napi::Number>().Int32Value();
  bool populate = info[6].As<Napi::Boolean>().Value();
  if (!(size >= 0) || size > 9007199254740991.0 || strategy_arg < 0 ||
      strategy_arg > 3) {
    ThrowArgType(env, "Mapping: size or strategy out of range");
    return;
  }
  request.size = static_cast<uint64_t>(size);
  request.reserve = populate;
  name_ = request.name;
  readonly_ = request.readonly;

  OpenResult opened = OpenSegment(request);
  if (opened.err != 0) {
    ThrowErrno(env, opened.err, opened.syscall, request.name, opened.detail);
    return;
  }
  if (opened.size > std::numeric_limits<size_t>::max()) {
    close(opened.fd);
    if (request.create) UnlinkSegment(request.name);
    ThrowErrno(env, EFBIG, "mmap", request.name);
    return;
  }

  region_ = new Region();
  region_->fd = opened.fd;
  region_->length = static_cast<size_t>(opened.size);

  // readonly: a private copy-on-write mapping of an O_RDONLY descriptor. Pages
  // are writable in this process, so a stray write from JavaScript changes a
  // private copy instead of raising SIGSEGV, and it never reaches the segment.
  // See docs/decisions/0002-readonly.md.
  int prot = PROT_READ | PROT_WRITE;
  int flags = readonly_ ? MAP_PRIVATE : MAP_SHARED;
#if defined(__linux__)
  if (readonly_) flags |= MAP_NORESERVE;
  if (populate && !readonly_) flags |= MAP_POPULATE;
#endif

  AddonData* data = env.GetInstanceData<AddonData>();
  Strategy wanted = static_cast<Strategy>(strategy_arg);
  bool ok = false;
  if (wanted == Strategy::kExternal ||
      (wanted == Strategy::kAuto && !data->external_refused)) {
    bool refused = false;
    ok = MapExternal(env, prot, flags, &refused);
    if (!ok && refused) {
      data->external_refused = true;
      if (wanted == Strategy::kExternal) {
        ThrowCode(env, "ERR_SHM_STRATEGY_UNAVAILABLE",
                  "external ArrayBuffers are not allowed in this runtime "
                  "(V8 memory cage); use strategy 'auto' or 'overlay'");
      }
    }
  }
  if (!ok && !env.IsExceptionPending() &&
      (wanted == Strategy::kOverlay || wanted == Strategy::kAuto)) {
    ok = MapOverlay(env, prot, flags);
  }
  if (!ok && wanted == Strategy::kAuto &&
      env.IsExceptionPending()) {
    // The overlay could not be made (no memory for the buffer, MAP_FIXED
    // refused): fall back to copying. lib/ reports the fallback.
    env.GetAndClearPendingException();
  }
  if (!ok && !env.IsExceptionPending() &&
      (wanted == Strategy::kCopy || wanted == Strategy::kAuto)) {
    ok = MapPlain(env, prot, flags);
  }
  if (!ok) {
    // The Map* functions undo their own partial work; what is left is the
    // descriptor and, for a create, the name.
    ReleaseRegion(region_);
    region_ = nullptr;
    if (request.create) UnlinkSegment(request.name);
    if (!env.IsExceptionPending()) {
      ThrowCode(env, "ERR_SHM_MAP_FAILED", "could not map the segment");
    }
    return;
  }
  if (populate) Populate(region_->addr, region_->length, readonly_);
  closed_ = false;
#endif  // _WIN32
}

Mapping::~Mapping() {
  // Reached when the wrapper is collected without close(), or when the
  // environment is torn down. With the external strategy the ArrayBuffer may
  // still be alive and keeps the region mapped through its own reference.
  Release(Env(), /*detach=*/false);
}

#if !defined(_WIN32)

bool Mapping::MapExternal(Napi::Env env, int prot, int flags, bool* refused) {
  AddonData* data = env.GetInstanceData<AddonData>();
  if (data->simulate_external_refused) {
    *refused = true;
    return false;
  }
  void* addr = mmap(nullptr, region_->length, prot, flags, region_->fd, 0);
  if (addr == MAP_FAILED) {
    ThrowErrno(env, errno, "mmap", name_);
    return false;
  }
  region_->addr = addr;
  region_->owns_mapping = true;
  // The buffer takes a reference of its own, released by FinalizeExternal.
  region_->refs++;
  napi_value value;
  napi_status status = napi_create_external_arraybuffer(
      env, addr, region_->length, FinalizeExternal, region_, &value);
  if (status != napi_ok) {
    region_->refs--;
    munmap(addr, region_->length);
    region_->addr = nullptr;
    if (status == napi_no_external_buffers_allowed) {
      *refused = true;
      // node-addon-api is not involved, but some runtimes also set a pending
      // exception with this status: clear it, the caller falls back.
      if (env.IsExceptionPending()) env.GetAndClearPendingException();
      return false;
    }
    if (!env.IsExceptionPending()) {
      ThrowCode(env, "ERR_SHM_MAP_FAILED",
                "napi_create_external_arraybuffer failed");
    }
    return false;
  }
  buffer_ = Napi::Persistent(Napi::ArrayBuffer(env, value));
  byte_offset_ = 0;
  strategy_ = Strategy::kExternal;
  return true;
}

bool Mapping::MapOverlay(Napi::Env env, int prot, int flags) {
  if (env.GetInstanceData<AddonData>()->simulate_overlay_failure) {
    ThrowErrno(env, ENOMEM, "mmap", name_, "overlay (simulated)");
    return false;
  }
  const size_t page = PageSize();
  const size_t length = region_->length;
  if (length > std::numeric_limits<size_t>::max() - 2 * page) {
    ThrowErrno(env, EFBIG, "mmap", name_);
    return false;
  }
  const size_t rounded = (length + page - 1) / page * page;
  Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(env, rounded + page);
  if (env.IsExceptionPending()) return false;  // allocation failed
  uintptr_t base = reinterpret_cast<uintptr_t>(buffer.Data());
  uintptr_t aligned = (base + page - 1) / page * page;
  void* target = reinterpret_cast<void*>(aligned);
  void* addr =
      mmap(target, length, prot, flags | MAP_FIXED, region_->fd, 0);
  if (addr == MAP_FAILED) {
    // MAP_FIXED failing leaves the range as it was (the buffer's own pages).
    ThrowErrno(env, errno, "mmap", name_, "overlay");
    return false;
  }
  region_->addr = addr;
  region_->owns_mapping = false;  // the pages belong to `buffer`
  overlay_addr_ = addr;
  overlay_length_ = rounded;
  buffer_ = Napi::Persistent(buffer);
  byte_offset_ = static_cast<size_t>(aligned - base);
  strategy_ = Strategy::kOverlay;
  return true;
}

bool Mapping::MapPlain(Napi::Env env, int prot, int flags) {
  void* addr = mmap(nullptr, region_->length, prot, flags, region_->fd, 0);
  if (addr == MAP_FAILED) {
    ThrowErrno(env, errno, "mmap", name_);
    return false;
  }
  region_->addr = addr;
  region_->owns_mapping = true;
  strategy_ = Strategy::kCopy;
  return true;
}

void Mapping::Release(Napi::Env env, bool detach) {
  if (region_ == nullptr) return;
  closed_ = true;
  if (strategy_ == Strategy::kOverlay) {
    // Put private anonymous memory back under the buffer *before* the buffer
    // can be detached or freed. If that fails, the buffer must never return to
    // the allocator: keep the reference forever (a leak, never corruption).
    void* back = mmap(overlay_addr_, overlay_length_, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (back == MAP_FAILED) {
      buffer_.SuppressDestruct();
      region_->addr = nullptr;
      ReleaseRegion(region_);
      region_ = nullptr;
      return;
    }
  }
  if (!buffer_.IsEmpty()) {
    if (detach) {
      napi_value value = buffer_.Value();
      napi_detach_arraybuffer(env, value);
    }
    buffer_.Reset();
  }
  if (strategy_ == Strategy::kExternal && !detach) {
    // Destructor path: a live ArrayBuffer may still point at the mapping. Drop
    // only this wrapper's share; the buffer's finalizer releases the rest.
    ReleaseRegion(region_);
  } else {
    UnmapRegionNow(region_);
    ReleaseRegion(region_);
  }
  region_ = nullptr;
}

#else  // _WIN32

bool Mapping::MapExternal(Napi::Env, int, int, bool*) { return false; }
bool Mapping::MapOverlay(Napi::Env, int, int) { return false; }
bool Mapping::MapPlain(Napi::Env, int, int) { return false; }
void Mapping::Release(Napi::Env, bool) {}

#endif  // _WIN32

Napi::Value Mapping::GetBuffer(const Napi::CallbackInfo& info) {
  if (closed_ || buffer_.IsEmpty()) return info.Env().Undefined();
  return buffer_.Value();
}

Napi::Value Mapping::GetByteOffset(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(byte_offset_));
}

Napi::Value Mapping::GetSize(const Napi::CallbackInfo& info) {
  double size = region_ != nullptr ? static_cast<double>(region_->length) : 0;
  return Napi::Number::New(info.Env(), size);
}

Napi::Value Mapping::GetStrategy(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), StrategyName(strategy_));
}

Napi::Value Mapping::GetClosed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), closed_);
}

Napi::Value Mapping::Close(const Napi::CallbackInfo& info) {
  Release(info.Env(), /*detach=*/true);
  return info.Env().Undefined();
}

namespace {

// Resolves (offset, typedArray) against a mapping of `length` bytes. Returns
// false with an exception pending when they do not fit.
bool ResolveCopy(const Napi::CallbackInfo& info, size_t length,
                 uint8_t** bytes, size_t* offset, size_t* count) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsTypedArray()) {
    ThrowArgType(env, "expected (offset: number, bytes: TypedArray)");
    return false;
  }
  double off = info[0].As<Napi::Number>().DoubleValue();
  Napi::TypedArray array = info[1].As<Napi::TypedArray>();
  size_t n = array.ByteLength();
  if (!(off >= 0) || n > length ||
      off > static_cast<double>(length - n)) {
    Napi::RangeError error =
        Napi::RangeError::New(env, "the range does not fit in the segment");
    error.Set("code", Napi::String::New(env, "ERR_OUT_OF_RANGE"));
    error.ThrowAsJavaScriptException();
    return false;
  }
  Napi::ArrayBuffer buffer = array.ArrayBuffer();
  *bytes = static_cast<uint8_t*>(buffer.Data()) + array.ByteOffset();
  *offset = static_cast<size_t>(off);
  *count = n;
  return true;
}

}  // namespace

// read(offset, target): copies target.byteLength bytes of the segment, starting
// at offset, into target. Works with every strategy.
Napi::Value Mapping::Read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_) {
    ThrowCode(env, "ERR_SHM_CLOSED", "the shared memory is closed");
    return env.Undefined();
  }
  uint8_t* bytes;
  size_t offset, count;
  if (!ResolveCopy(info, region_->length, &bytes, &offset, &count)) {
    return env.Undefined();
  }
  if (count > 0) {
    std::memmove(bytes, static_cast<uint8_t*>(region_->addr) + offset, count);
  }
  return Napi::Number::New(env, static_cast<double>(count));
}

// write(offset, source): copies source into the segment at offset.
Napi::Value Mapping::Write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_) {
    ThrowCode(env, "ERR_SHM_CLOSED", "the shared memory is closed");
    return env.Undefined();
  }
  uint8_t* bytes;
  size_t offset, count;
  if (!ResolveCopy(info, region_->length, &bytes, &offset, &count)) {
    return env.Undefined();
  }
  if (count > 0) {
    std::memmove(static_cast<uint8_t*>(region_->addr) + offset, bytes, count);
  }
  return Napi::Number::New(env, static_cast<double>(count));
}

}  // namespace shmkit
