#include "mapping.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "addon.h"
#include "errors.h"
#include "platform.h"
#include "wait.h"

namespace shmkit {

namespace {

const char* StrategyName(Strategy s) {
  switch (s) {
    case Strategy::kExternal: return "external";
    case Strategy::kOverlay: return "overlay";
    case Strategy::kCopy: return "copy";
    case Strategy::kShared: return "shared";
    case Strategy::kAuto: break;
  }
  return "auto";
}

void ReleaseRegion(Region* region) {
  if (--region->refs > 0) return;
  if (region->owns_mapping && region->addr != nullptr) {
    UnmapView(region->addr, region->length);
  }
  delete region;
}

// Finalizer of an external ArrayBuffer's backing store: drops its share of
// the region. Node may call it synchronously when creating the buffer fails,
// or later from the event loop; either way it only releases one reference.
void FinalizeExternal(napi_env /*env*/, void* /*data*/, void* hint) {
  ReleaseRegion(static_cast<Region*>(hint));
}

// Finalizer of the external ArrayBuffer *object*. Asynchronous operations
// (fs.read, crypto.randomFill, zlib…) keep the views they write through alive
// until they complete, and every view keeps this object alive, so while it
// lives an operation may still hold a raw pointer into the pages.
void FinalizeBufferObject(napi_env /*env*/, void* data, void* /*hint*/) {
  ReleaseRegion(static_cast<Region*>(data));
}

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

Mapping* Mapping::FromValue(Napi::Env env, Napi::Value value) {
  AddonData* data = env.GetInstanceData<AddonData>();
  if (!value.IsObject() ||
      !value.As<Napi::Object>().InstanceOf(data->mapping_constructor.Value())) {
    if (!env.IsExceptionPending()) ThrowArgType(env, "expected a Mapping");
    return nullptr;
  }
  return Mapping::Unwrap(value.As<Napi::Object>());
}

void* Mapping::Word(double byte_offset, size_t bytes) const {
  if (region_ == nullptr || region_->addr == nullptr) return nullptr;
  if (!(byte_offset >= 0) || byte_offset != std::floor(byte_offset) ||
      region_->length < bytes ||
      byte_offset > static_cast<double>(region_->length - bytes)) {
    return nullptr;
  }
  size_t offset = static_cast<size_t>(byte_offset);
  uint8_t* addr = static_cast<uint8_t*>(region_->addr) + offset;
  if (reinterpret_cast<uintptr_t>(addr) % bytes != 0) return nullptr;
  return addr;
}

const int32_t* Mapping::WaitTarget(const Napi::CallbackInfo& info,
                                   Mapping** result) {
  Napi::Env env = info.Env();
  Mapping* mapping = Mapping::FromValue(env, info[0]);
  if (mapping == nullptr) return nullptr;
  if (!info[1].IsNumber()) {
    ThrowArgType(env, "byteOffset must be a number");
    return nullptr;
  }
  void* word = mapping->WaitWord(info[1].As<Napi::Number>().DoubleValue());
  if (word == nullptr) {
    if (mapping->IsClosed()) {
      ThrowCode(env, "ERR_SHM_CLOSED", "the shared memory is closed");
    } else {
      Napi::RangeError error = Napi::RangeError::New(
          env, "byteOffset must be a multiple of 4 inside the segment");
      error.Set("code", Napi::String::New(env, "ERR_OUT_OF_RANGE"));
      error.ThrowAsJavaScriptException();
    }
    return nullptr;
  }
  *result = mapping;
  return static_cast<const int32_t*>(word);
}

void* Mapping::WaitWord(double byte_offset) {
  void* word = Word(byte_offset, 4);
  if (word == nullptr || !readonly_) return word;
  // A readonly mapping is copy-on-write: a page a stray JS write has copied
  // no longer follows the segment (and on Linux the futex would make that
  // copy itself). So readonly mappings wait and notify through a second,
  // read-only shared view of the segment (platform.h: MapShadow).
  if (shadow_ == nullptr) {
    if (handle_ == kNoHandle) return nullptr;
    shadow_ = MapShadow(handle_, region_->length);
    if (shadow_ == nullptr) return nullptr;
  }
  return static_cast<uint8_t*>(shadow_) +
         (static_cast<uint8_t*>(word) - static_cast<uint8_t*>(region_->addr));
}

// The facts of a refused populate as a plain object (numbers are exact up to
// 2^53, far above any filesystem here; an unknown memory room is -1).
Napi::Object SpaceObject(Napi::Env env, const SpaceFacts& facts) {
  auto number = [&](uint64_t value) {
    return Napi::Number::New(env, static_cast<double>(value));
  };
  Napi::Object space = Napi::Object::New(env);
  space.Set("size", number(facts.size));
  space.Set("free", number(facts.free));
  space.Set("available", number(facts.available));
  space.Set("requested", number(facts.requested));
  space.Set("memoryRoom", facts.memory_room == kUnknownRoom
                              ? Napi::Number::New(env, -1)
                              : number(facts.memory_room));
  space.Set("fsType", number(facts.fs_type));
  space.Set("devMajor", number(facts.dev_major));
  space.Set("devMinor", number(facts.dev_minor));
  return space;
}

// new Mapping(name, create, readonly, mode, size, strategy, populate, allocate,
//             maxView, memoryRoom)
// `allocate(n, shared)` returns the host of an overlay of n bytes (a multiple
// of the page size): an ArrayBuffer with n bytes from its first page boundary
// on, or, for the shared strategy, a Uint8Array over a page-aligned
// SharedArrayBuffer of at least n bytes. `maxView` is the largest typed array
// this runtime can make: a zero-copy strategy is refused above it.
// `memoryRoom` is the bytes of memory a populate may still take (-1: unknown).
// Arguments are validated in lib/; the checks here keep the addon memory-safe
// if it is called directly.
Mapping::Mapping(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<Mapping>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 10 || !info[0].IsString() || !info[1].IsBoolean() ||
      !info[2].IsBoolean() || !info[3].IsNumber() || !info[4].IsNumber() ||
      !info[5].IsNumber() || !info[6].IsBoolean() || !info[7].IsFunction() ||
      !info[8].IsNumber() || !info[9].IsNumber()) {
    ThrowArgType(env,
                 "Mapping(name, create, readonly, mode, size, strategy, "
                 "populate, allocate, maxView, memoryRoom)");
    return;
  }
  OpenRequest request;
  request.name = info[0].As<Napi::String>().Utf8Value();
  request.create = info[1].As<Napi::Boolean>().Value();
  request.readonly = info[2].As<Napi::Boolean>().Value() && !request.create;
  request.mode = info[3].As<Napi::Number>().Uint32Value() & 0777;
  double size = info[4].As<Napi::Number>().DoubleValue();
  int strategy_arg = info[5].As<Napi::Number>().Int32Value();
  bool populate = info[6].As<Napi::Boolean>().Value();
  Napi::Function allocate = info[7].As<Napi::Function>();
  double max_view = info[8].As<Napi::Number>().DoubleValue();
  double memory_room = info[9].As<Napi::Number>().DoubleValue();
  if (!ValidName(request.name)) {
    ThrowArgType(env, "Mapping: invalid name");
    return;
  }
  if (!(size >= 0) || size > 9007199254740991.0 || strategy_arg < 0 ||
      strategy_arg > 4) {
    ThrowArgType(env, "Mapping: size or strategy out of range");
    return;
  }
  request.size = static_cast<uint64_t>(size);
  request.populate = populate;
  if (memory_room >= 0 && memory_room < 18446744073709551615.0) {
    request.memory_room = static_cast<uint64_t>(memory_room);
  }
  name_ = request.name;
  readonly_ = request.readonly;

  OpenResult opened = OpenSegment(request);
  if (opened.err != 0) {
    if (opened.code != nullptr) {
      ThrowCode(env, opened.code, "'" + request.name + "' is " + opened.detail);
    } else {
      Napi::Error error = ErrnoError(env, opened.err, opened.syscall,
                                     request.name, opened.detail);
      if (opened.space.known) error.Set("space", SpaceObject(env, opened.space));
      error.ThrowAsJavaScriptException();
    }
    return;
  }
  const NativeHandle handle = opened.handle;
  // Everything below ends by closing the handle (or keeping it in handle_);
  // a failure also unlinks a name this call created (on Windows closing the
  // handle is what removes it).
  auto fail = [&]() {
    CloseSegmentHandle(handle);
    if (request.create) UnlinkSegment(request.name);
  };
  if (opened.size > std::numeric_limits<size_t>::max()) {
    fail();
    ThrowErrno(env, kEFBIG, "mmap", request.name);
    return;
  }
  const size_t length = static_cast<size_t>(opened.size);
  prefault_ = opened.prefault;

  Strategy wanted = static_cast<Strategy>(strategy_arg);
  if (readonly_ && !kReadonlyViewsAreCopyOnWrite) {
    // macOS: a readonly view is PROT_READ, so a stray JS write could only
    // fault: expose no buffer.
    if (wanted == Strategy::kExternal || wanted == Strategy::kOverlay ||
        wanted == Strategy::kShared) {
      fail();
      ThrowCode(env, "ERR_SHM_STRATEGY_UNAVAILABLE",
                "readonly segments on macOS use the copy strategy only");
      return;
    }
    wanted = Strategy::kCopy;
  }
  if (!kCanMapOver &&
      (wanted == Strategy::kOverlay || wanted == Strategy::kShared)) {
    fail();
    ThrowCode(env, "ERR_SHM_STRATEGY_UNAVAILABLE",
              std::string("strategy '") + StrategyName(wanted) +
                  "' is not available on Windows: it maps the segment over "
                  "pages a buffer already owns, which Windows cannot do "
                  "(docs/decisions/0014-windows.md); use 'auto', 'external' "
                  "or 'copy'");
    return;
  }

  // Larger than any typed array this runtime can make (Node 20: 4 GiB): no
  // zero-copy strategy can hand out `buf`. Forced: a coded error, nothing
  // left behind; auto: copy (lib/ warns and says why).
  const bool too_large = static_cast<double>(length) > max_view;
  if (too_large && wanted != Strategy::kAuto && wanted != Strategy::kCopy) {
    fail();
    ThrowCode(env, "ERR_SHM_TOO_LARGE",
              "the segment (" + std::to_string(length) +
                  " bytes) is larger than the largest typed array this "
                  "runtime allows (" +
                  std::to_string(static_cast<uint64_t>(max_view)) +
                  " bytes): use strategy 'copy' (read()/write()), or Node 22 "
                  "or later");
    return;
  }
  if (too_large) wanted = Strategy::kCopy;

  AddonData* data = env.GetInstanceData<AddonData>();
  bool ok = false;
  const bool is_auto = wanted == Strategy::kAuto;
  if (wanted == Strategy::kShared) {
    ok = MapShared(env, allocate, handle, length);
  }
  if (wanted == Strategy::kExternal || (is_auto && !data->external_refused)) {
    bool refused = false;
    ok = MapExternal(env, handle, length, &refused);
    if (!ok && refused) data->external_refused = true;
    if (!ok && is_auto) env.GetAndClearPendingException();
  }
  if (!ok && kCanMapOver && (wanted == Strategy::kOverlay || is_auto)) {
    ok = MapOverlay(env, allocate, handle, length);
    // Could not overlay (no memory for the buffer, MAP_FIXED refused): copy.
    if (!ok && is_auto) env.GetAndClearPendingException();
  }
  if (!ok && (wanted == Strategy::kCopy || is_auto)) {
    ok = MapCopy(env, handle, length);
  }
  if (!ok) {
    fail();
    if (!env.IsExceptionPending()) {
      ThrowCode(env, "ERR_SHM_MAP_FAILED", "could not map the segment");
    }
    return;
  }
  if (readonly_ || kHandleKeepsSegment) {
    // Kept for waits (WaitWord) and, on Windows, because the segment's name
    // lives only as long as some process holds a handle.
    handle_ = handle;
  } else {
    CloseSegmentHandle(handle);
  }
  size_ = length;
  if (opened.prefault) Populate(region_->addr, length, readonly_);
}

Mapping::~Mapping() {
  // Reached when the wrapper is collected without close(), or when the
  // environment is torn down. With the external strategy the ArrayBuffer may
  // still be alive and keeps the region mapped through its own reference.
  Release(Env(), /*from_js=*/false);
}

bool Mapping::MapExternal(Napi::Env env, NativeHandle handle, size_t length,
                          bool* refused) {
  AddonData* data = env.GetInstanceData<AddonData>();
  if (data->simulate_external_refused) {
    *refused = true;
    ThrowCode(env, "ERR_SHM_STRATEGY_UNAVAILABLE",
              "external ArrayBuffers are not allowed in this runtime "
              "(simulated)");
    return false;
  }
  SysError error;
  void* addr = MapView(handle, length, readonly_, prefault_, &error);
  if (addr == nullptr) {
    ThrowErrno(env, error.err, error.syscall, name_);
    return false;
  }
  Region* region = new Region();
  region->addr = addr;
  region->length = length;
  region->refs = 2;  // this wrapper's share and the backing store's share
  napi_value value;
  napi_status status = napi_create_external_arraybuffer(
      env, addr, length, FinalizeExternal, region, &value);
  if (status != napi_ok) {
    // The buffer's finalizer may already have run, may run later, or never:
    // unmap now and drop only this wrapper's share, so whichever happens the
    // Region is freed once and never reused.
    UnmapView(addr, length);
    region->addr = nullptr;
    ReleaseRegion(region);
    if (status == napi_no_external_buffers_allowed) {
      *refused = true;
      if (env.IsExceptionPending()) env.GetAndClearPendingException();
      ThrowCode(env, "ERR_SHM_STRATEGY_UNAVAILABLE",
                "external ArrayBuffers are not allowed in this runtime "
                "(V8 memory cage); use strategy 'auto' or 'overlay'");
    } else if (!env.IsExceptionPending()) {
      ThrowCode(env, "ERR_SHM_MAP_FAILED",
                "napi_create_external_arraybuffer failed");
    }
    return false;
  }
  // The buffer object's own share: see FinalizeBufferObject.
  region->refs++;
  if (napi_add_finalizer(env, value, region, FinalizeBufferObject, nullptr,
                         nullptr) != napi_ok) {
    region->refs--;
  }
  region_ = region;
  buffer_ = Napi::Persistent(Napi::ArrayBuffer(env, value));
  byte_offset_ = 0;
  strategy_ = Strategy::kExternal;
  return true;
}

Napi::Value Mapping::CallAllocator(Napi::Env env, Napi::Function allocate,
                                   size_t length, bool shared,
                                   size_t* rounded) {
  const size_t page = PageSize();
  if (length > 9007199254740991.0 - 2.0 * page) {
    ThrowErrno(env, kEFBIG, "mmap", name_);
    return Napi::Value();
  }
  *rounded = (length + page - 1) / page * page;
  Napi::Value result =
      allocate.Call({Napi::Number::New(env, static_cast<double>(*rounded)),
                     Napi::Boolean::New(env, shared)});
  // e.g. RangeError: no memory, or a coded error from lib/
  if (env.IsExceptionPending()) return Napi::Value();
  return result;
}

bool Mapping::MapOver(Napi::Env env, Napi::Object host, void* target,
                      size_t rounded, NativeHandle handle, size_t length,
                      const char* what) {
  SysError error;
  void* addr = MapViewAt(target, handle, length, readonly_, prefault_, &error);
  if (addr == nullptr) {
    // A failed MAP_FIXED may leave the range unmapped or reserved: put
    // ordinary memory back before the host can return to its allocator. If
    // even that fails, never release the host.
    if (!RestoreAnonymous(target, rounded)) {
      Napi::Reference<Napi::Object> leak = Napi::Persistent(host);
      leak.SuppressDestruct();
    }
    ThrowErrno(env, error.err, error.syscall, name_, what);
    return false;
  }
  Region* region = new Region();
  region->addr = addr;
  region->length = length;
  region->owns_mapping = false;  // the pages belong to the host
  region_ = region;
  overlay_addr_ = addr;
  overlay_length_ = rounded;
  return true;
}

bool Mapping::MapOverlay(Napi::Env env, Napi::Function allocate,
                         NativeHandle handle, size_t length) {
  const size_t page = PageSize();
  if (env.GetInstanceData<AddonData>()->simulate_overlay_failure) {
    ThrowErrno(env, kENOMEM, "mmap", name_, "overlay (simulated)");
    return false;
  }
  size_t rounded = 0;
  Napi::Value result = CallAllocator(env, allocate, length, false, &rounded);
  if (result.IsEmpty()) return false;
  if (!result.IsArrayBuffer()) {
    ThrowCode(env, "ERR_SHM_MAP_FAILED", "overlay allocator returned no buffer");
    return false;
  }
  Napi::ArrayBuffer buffer = result.As<Napi::ArrayBuffer>();
  uintptr_t base = reinterpret_cast<uintptr_t>(buffer.Data());
  uintptr_t aligned = (base + page - 1) / page * page;
  // A WebAssembly.Memory is 64 KiB-aligned and needs no spare page; a plain
  // ArrayBuffer is allocated one page larger.
  if (base == 0 || buffer.ByteLength() < rounded ||
      aligned - base > buffer.ByteLength() - rounded) {
    ThrowCode(env, "ERR_SHM_MAP_FAILED", "overlay allocator returned no buffer");
    return false;
  }
  if (!MapOver(env, buffer, reinterpret_cast<void*>(aligned), rounded, handle,
               length, "overlay")) {
    return false;
  }
  buffer_ = Napi::Persistent(buffer);
  byte_offset_ = static_cast<size_t>(aligned - base);
  strategy_ = Strategy::kOverlay;
  return true;
}

bool Mapping::MapShared(Napi::Env env, Napi::Function allocate,
                        NativeHandle handle, size_t length) {
  size_t rounded = 0;
  // Node-API 9 has no SharedArrayBuffer accessors: the host comes as a
  // Uint8Array over the memory's SharedArrayBuffer.
  Napi::Value result = CallAllocator(env, allocate, length, true, &rounded);
  if (result.IsEmpty()) return false;
  napi_typedarray_type type;
  size_t elements = 0;
  void* data = nullptr;
  napi_value arraybuffer;
  size_t view_offset = 0;
  if (!result.IsTypedArray() ||
      napi_get_typedarray_info(env, result, &type, &elements, &data,
                               &arraybuffer, &view_offset) != napi_ok ||
      type != napi_uint8_array || data == nullptr || view_offset != 0 ||
      elements < rounded ||
      reinterpret_cast<uintptr_t>(data) % PageSize() != 0) {
    if (env.IsExceptionPending()) env.GetAndClearPendingException();
    ThrowCode(env, "ERR_SHM_MAP_FAILED",
              "shared allocator returned no page-aligned memory");
    return false;
  }
  Napi::Object view = result.As<Napi::Object>();
  if (!MapOver(env, view, data, rounded, handle, length, "shared")) {
    return false;
  }
  shared_view_ = Napi::Persistent(view);
  byte_offset_ = 0;
  strategy_ = Strategy::kShared;
  return true;
}

bool Mapping::MapCopy(Napi::Env env, NativeHandle handle, size_t length) {
  SysError error;
  void* addr = MapView(handle, length, readonly_, prefault_, &error);
  if (addr == nullptr) {
    ThrowErrno(env, error.err, error.syscall, name_);
    return false;
  }
  Region* region = new Region();
  region->addr = addr;
  region->length = length;
  region_ = region;
  strategy_ = Strategy::kCopy;
  return true;
}

bool Mapping::Release(Napi::Env env, bool from_js, bool detach) {
  if (region_ == nullptr) return true;
  CancelWaitsOf(env, this);  // they see 'closed' within one slice
  // Linux: a waiting thread may still sleep on the shadow: the futex then
  // reports EFAULT, never a crash. Windows: CancelWaitsOf has taken every
  // wait on this mapping off the waiting thread before it returned.
  if (shadow_ != nullptr) UnmapView(shadow_, region_->length);
  shadow_ = nullptr;
  if (handle_ != kNoHandle) CloseSegmentHandle(handle_);
  handle_ = kNoHandle;
  Region* region = region_;
  region_ = nullptr;
  bool clean = true;

  // Was the buffer detached behind our back (transferred, or
  // ArrayBuffer.prototype.transfer)? Only checkable with a HandleScope.
  bool detached_elsewhere = false;
  napi_value value = nullptr;
  if (from_js && !buffer_.IsEmpty()) {
    value = buffer_.Value();
    napi_is_detached_arraybuffer(env, value, &detached_elsewhere);
  }

  switch (strategy_) {
    case Strategy::kOverlay:
      if (detached_elsewhere) {
        // The pages moved to another buffer and may have been freed and
        // reused: mapping over them could destroy live data. Leave them; lib/
        // warns. shmkit marks overlay buffers untransferable to prevent this.
        clean = false;
      } else if (!RestoreAnonymous(overlay_addr_, overlay_length_)) {
        // Never let pages that alias the segment return to the allocator.
        buffer_.SuppressDestruct();
        region->addr = nullptr;
        ReleaseRegion(region);
        return true;
      } else if (value != nullptr && detach) {
        napi_detach_arraybuffer(env, value);
      }
      buffer_.Reset();
      region->addr = nullptr;
      ReleaseRegion(region);
      break;

    case Strategy::kShared:
      // Nobody can detach a SharedArrayBuffer, and the memory may live on in
      // other threads: once anonymous memory is back, its views read zeros.
      if (!RestoreAnonymous(overlay_addr_, overlay_length_)) {
        shared_view_.SuppressDestruct();
      } else {
        shared_view_.Reset();
      }
      region->addr = nullptr;
      ReleaseRegion(region);
      break;

    case Strategy::kExternal:
      if (value != nullptr && !detached_elsewhere) {
        // Drop the segment's pages now, not whenever the garbage collector
        // runs the finalizers: anonymous memory takes their place, so an
        // asynchronous operation still writing through a raw pointer lands in
        // harmless private memory. The placeholder is unmapped when the buffer
        // object and its backing store are gone (the last ReleaseRegion).
        // (Windows cannot swap the pages: RestoreAnonymous is false there and
        // the view stays until the finalizers, so such a write still reaches
        // the segment; docs/decisions/0014-windows.md.)
        // Then detach, so every view reads as length 0.
        RestoreAnonymous(region->addr, region->length);
        napi_detach_arraybuffer(env, value);
      }
      // Destructor, or a buffer detached elsewhere: a live buffer may still
      // point at the pages; the finalizers unmap them.
      buffer_.Reset();
      ReleaseRegion(region);
      break;

    case Strategy::kCopy:
    case Strategy::kAuto:
      ReleaseRegion(region);
      break;
  }
  return clean;
}


Napi::Value Mapping::GetBuffer(const Napi::CallbackInfo& info) {
  if (region_ == nullptr) return info.Env().Undefined();
  if (!shared_view_.IsEmpty()) return shared_view_.Value().Get("buffer");
  if (buffer_.IsEmpty()) return info.Env().Undefined();
  return buffer_.Value();
}

Napi::Value Mapping::GetByteOffset(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(byte_offset_));
}

Napi::Value Mapping::GetSize(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(size_));
}

Napi::Value Mapping::GetStrategy(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), StrategyName(strategy_));
}

Napi::Value Mapping::GetClosed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), region_ == nullptr);
}

// close(detach = true) → true, or false when an overlay buffer had been
// detached elsewhere. detach = false leaves an overlay's host attached (after
// anonymous memory is back under it): for hosts napi cannot detach.
Napi::Value Mapping::Close(const Napi::CallbackInfo& info) {
  bool detach = info.Length() < 1 || !info[0].IsBoolean() ||
                info[0].As<Napi::Boolean>().Value();
  return Napi::Boolean::New(info.Env(),
                            Release(info.Env(), /*from_js=*/true, detach));
}

namespace {

// Resolves (offset, typedArray) against a mapping of `length` bytes. Returns
// false with an exception pending when they do not fit. Works for views over
// ArrayBuffers and SharedArrayBuffers alike.
bool ResolveCopy(const Napi::CallbackInfo& info, size_t length,
                 uint8_t** bytes, size_t* offset, size_t* count) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsTypedArray()) {
    ThrowArgType(env, "expected (offset: number, bytes: TypedArray)");
    return false;
  }
  double off = info[0].As<Napi::Number>().DoubleValue();
  napi_typedarray_type type;
  size_t elements;
  void* data = nullptr;
  napi_value arraybuffer;
  size_t view_offset;
  napi_status status = napi_get_typedarray_info(
      env, info[1], &type, &elements, &data, &arraybuffer, &view_offset);
  if (status != napi_ok) {
    if (!env.IsExceptionPending()) {
      ThrowArgType(env, "could not read the typed array");
    }
    return false;
  }
  size_t n = info[1].As<Napi::TypedArray>().ByteLength();
  if (!(off >= 0) || n > length || off > static_cast<double>(length - n)) {
    Napi::RangeError error =
        Napi::RangeError::New(env, "the range does not fit in the segment");
    error.Set("code", Napi::String::New(env, "ERR_OUT_OF_RANGE"));
    error.ThrowAsJavaScriptException();
    return false;
  }
  if (n > 0 && data == nullptr) {
    ThrowCode(env, "ERR_INVALID_STATE", "the typed array is detached");
    return false;
  }
  *bytes = static_cast<uint8_t*>(data);  // already includes the view's offset
  *offset = static_cast<size_t>(off);
  *count = n;
  return true;
}

}  // namespace

// read(offset, target): copies target.byteLength bytes of the segment, starting
// at offset, into target. Works with every strategy.
Napi::Value Mapping::Read(const Napi::CallbackInfo& info) {
  return Copy(info, /*into_segment=*/false);
}

// write(offset, source): copies source into the segment at offset.
Napi::Value Mapping::Write(const Napi::CallbackInfo& info) {
  return Copy(info, /*into_segment=*/true);
}

Napi::Value Mapping::Copy(const Napi::CallbackInfo& info, bool into_segment) {
  Napi::Env env = info.Env();
  if (region_ == nullptr) {
    ThrowCode(env, "ERR_SHM_CLOSED", "the shared memory is closed");
    return env.Undefined();
  }
  if (into_segment && readonly_) {
    ThrowCode(env, "ERR_SHM_READONLY", "the shared memory is attached readonly");
    return env.Undefined();
  }
  uint8_t* bytes;
  size_t offset, count;
  if (!ResolveCopy(info, region_->length, &bytes, &offset, &count)) {
    return env.Undefined();
  }
  uint8_t* segment = static_cast<uint8_t*>(region_->addr) + offset;
  if (count > 0) {
    // memmove: the view may itself lie over this segment.
    if (into_segment) {
      std::memmove(segment, bytes, count);
    } else {
      std::memmove(bytes, segment, count);
    }
  }
  return Napi::Number::New(env, static_cast<double>(count));
}

}  // namespace shmkit
