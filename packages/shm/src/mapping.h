// Mapping: one process-local view of a shared-memory segment, exposed to
// JavaScript by one of three strategies (docs/decisions/0001-buffer-strategies.md).
//
//   external  The mapping is wrapped as an external ArrayBuffer (Node). The
//             Region below is shared by this wrapper, the buffer's backing
//             store and the buffer object, so the range stays mapped while any
//             of them is alive. close() swaps the segment's pages for
//             anonymous memory at once (POSIX; Windows cannot) and detaches
//             the buffer; the address range itself is unmapped when the
//             finalizers have run.
//   overlay   External buffers are refused (Electron's V8 memory cage). An
//             ordinary ArrayBuffer one page larger than the segment (allocated
//             by JavaScript, so a failed allocation is a catchable RangeError) is
//             held strongly, and the segment is mapped MAP_FIXED over its
//             page-aligned interior. close() maps anonymous memory back over the
//             range *before* the buffer can be detached or freed; otherwise the
//             allocator would reuse pages that still alias the segment and heap
//             data would leak into it.
//   shared    Asked for explicitly (never by auto): like overlay, but the host
//             is a *shared* WebAssembly.Memory, so the buffer is a
//             SharedArrayBuffer that can be posted to workers and pages. The
//             addon holds a typed array over it strongly until close(), which
//             maps anonymous memory back over the range; a SharedArrayBuffer
//             cannot be detached, so views of a closed segment read zeros.
//   copy      Neither works: the segment is mapped but no buffer is exposed;
//             read()/write() copy bytes in and out.
// overlay and shared exist only where kCanMapOver (POSIX, platform.h).
//
// Ownership invariants:
//   - POSIX: the descriptor is closed as soon as the segment is mapped (a
//     mapping keeps the object alive by itself, and descriptors are a scarce
//     resource), except for readonly mappings, which keep it to map a shared
//     read-only shadow for waits (WaitWord) and close it in close().
//     Windows: the section handle is kept until close(), since the segment's
//     name lives only while some process holds a handle.
//   - close() is idempotent; the destructor runs the same release path without
//     touching JavaScript values.
//   - After close(), the buffer handed out (if any) is detached, so every view
//     over it reads as length 0 and nothing can touch unmapped memory.
//   - A failed constructor leaves nothing mapped or open, and unlinks the name
//     only if this very call created it.
#ifndef SHMKIT_MAPPING_H_
#define SHMKIT_MAPPING_H_

#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "platform.h"

namespace shmkit {

enum class Strategy {
  kAuto = 0,
  kExternal = 1,
  kOverlay = 2,
  kCopy = 3,
  kShared = 4
};

// The pages of one mapping. Reference-counted because, with the external
// strategy, the ArrayBuffer can outlive the wrapper (a view kept after the
// SharedMemory object was dropped must stay valid). One Region per map
// attempt: a failed attempt's Region is never reused.
struct Region {
  void* addr = nullptr;  // start of the shared mapping; nullptr once unmapped
  size_t length = 0;     // segment size in bytes
  bool owns_mapping = true;  // false for overlay: the pages belong to a buffer
  int refs = 1;              // touched only on the JS thread
};

class Mapping : public Napi::ObjectWrap<Mapping> {
 public:
  static Napi::Function Init(Napi::Env env);

  // The Mapping wrapped by `value`, or nullptr with a TypeError pending.
  static Mapping* FromValue(Napi::Env env, Napi::Value value);

  // For wait/notify(mapping, byteOffset, …): the int32 word to wait on
  // (WaitWord) and its Mapping in *mapping, or nullptr with ERR_SHM_CLOSED,
  // ERR_OUT_OF_RANGE or a TypeError pending.
  static const int32_t* WaitTarget(const Napi::CallbackInfo& info,
                                   Mapping** mapping);

  // Address of `bytes` bytes at `byte_offset`, aligned to `bytes`, or nullptr
  // when closed, misaligned or out of range.
  void* Word(double byte_offset, size_t bytes) const;
  // The address to wait on / wake for the int32 at `byte_offset` (a shared
  // read-only shadow view for readonly segments), or nullptr.
  void* WaitWord(double byte_offset);
  bool IsClosed() const { return region_ == nullptr; }
  const std::string& name() const { return name_; }

  explicit Mapping(const Napi::CallbackInfo& info);
  ~Mapping() override;

 private:
  Napi::Value GetBuffer(const Napi::CallbackInfo& info);
  Napi::Value GetByteOffset(const Napi::CallbackInfo& info);
  Napi::Value GetSize(const Napi::CallbackInfo& info);
  Napi::Value GetStrategy(const Napi::CallbackInfo& info);
  Napi::Value GetClosed(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Read(const Napi::CallbackInfo& info);
  Napi::Value Write(const Napi::CallbackInfo& info);
  Napi::Value Copy(const Napi::CallbackInfo& info, bool into_segment);

  // Each returns true on success, or false with a JS exception pending and
  // nothing left mapped. `refused` reports napi_no_external_buffers_allowed.
  bool MapExternal(Napi::Env env, NativeHandle handle, size_t length,
                   bool* refused);
  bool MapOverlay(Napi::Env env, Napi::Function allocate, NativeHandle handle,
                  size_t length);
  bool MapShared(Napi::Env env, Napi::Function allocate, NativeHandle handle,
                 size_t length);
  // Calls the allocator for a host of `length` bytes (page-rounded into
  // `rounded`); an empty value with an exception pending on failure.
  Napi::Value CallAllocator(Napi::Env env, Napi::Function allocate,
                            size_t length, bool shared, size_t* rounded);
  // Maps the segment MAP_FIXED over `target` (page-aligned, `rounded` bytes of
  // `host`) and records the region. On failure anonymous memory is put back
  // (or, if even that fails, `host` is kept alive forever) and it throws.
  bool MapOver(Napi::Env env, Napi::Object host, void* target, size_t rounded,
               NativeHandle handle, size_t length, const char* what);
  bool MapCopy(Napi::Env env, NativeHandle handle, size_t length);

  // Releases everything. `from_js` is false in the destructor, where no
  // HandleScope exists and JavaScript values must not be touched. `detach` is
  // false when the overlay's host cannot be detached by napi (Node 24's
  // markAsUntransferable sets a V8 detach key: napi_detach_arraybuffer would
  // abort the process). Returns false if the overlay buffer had been detached
  // by someone else (its pages may belong to another allocation now, so they
  // were left alone).
  bool Release(Napi::Env env, bool from_js, bool detach = true);

  Region* region_ = nullptr;  // nullptr when closed
  Strategy strategy_ = Strategy::kCopy;
  Napi::Reference<Napi::ArrayBuffer> buffer_;  // strong while open
  Napi::Reference<Napi::Object> shared_view_;  // shared: a typed array over
                                               // the SharedArrayBuffer
  size_t byte_offset_ = 0;        // where the segment starts inside buffer_
  void* overlay_addr_ = nullptr;  // page-aligned start of the overlay
  size_t overlay_length_ = 0;     // page-rounded length of the overlay
  size_t size_ = 0;               // segment size, kept after close
  bool readonly_ = false;
  bool prefault_ = false;     // while mapping: ask for the pages now
  // Readonly (to map shadow_) and on Windows (kHandleKeepsSegment): kept
  // until close(). kNoHandle otherwise.
  NativeHandle handle_ = kNoHandle;
  void* shadow_ = nullptr;    // readonly only: read-only shared view
  std::string name_;
};

// The facts of a refused populate (ENOSPC, ENOMEM) as the plain object that
// errors carry as `space` (lib/core/space.ts turns it into error.space).
Napi::Object SpaceObject(Napi::Env env, const SpaceFacts& facts);

}  // namespace shmkit

#endif  // SHMKIT_MAPPING_H_
