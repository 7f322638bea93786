// Mapping: one process-local view of a shared-memory segment, exposed to
// JavaScript by one of three strategies (docs/decisions/0001-buffer-strategies.md).
//
//   external  The mapping is wrapped as an external ArrayBuffer (Node). The
//             Region below is shared by this wrapper and the ArrayBuffer's
//             finalizer, so memory stays mapped while either is alive, and
//             close() unmaps it at once after detaching the buffer.
//   overlay   External buffers are refused (Electron's V8 memory cage). An
//             ordinary ArrayBuffer one page larger than the segment is
//             allocated and the segment is mapped MAP_FIXED over its
//             page-aligned interior. The wrapper holds the buffer strongly until
//             close(), which maps anonymous memory back over the range *before*
//             the buffer can be freed; otherwise the allocator would reuse pages
//             that still alias the segment and heap data would leak into it.
//   copy      Neither works: the segment is mapped but no buffer is exposed;
//             read()/write() copy bytes in and out.
//
// Ownership invariants:
//   - close() is idempotent; the destructor calls the same release path.
//   - After close(), the buffer handed out (if any) is detached, so every view
//     over it reads as length 0 and nothing can touch unmapped memory.
//   - A failed constructor leaves nothing mapped or open, and unlinks the name
//     only if this very call created it.
#ifndef SHMKIT_MAPPING_H_
#define SHMKIT_MAPPING_H_

#include <napi.h>

#include <cstddef>
#include <cstdint>

namespace shmkit {

enum class Strategy { kAuto = 0, kExternal = 1, kOverlay = 2, kCopy = 3 };

// The OS resources behind a mapping. Reference-counted because, with the
// external strategy, the ArrayBuffer can outlive the wrapper (a view kept after
// the SharedMemory object was dropped must stay valid).
struct Region {
  int fd = -1;
  void* addr = nullptr;  // start of the shared mapping; nullptr once unmapped
  size_t length = 0;     // segment size in bytes
  bool owns_mapping = true;  // false for overlay: the pages belong to a buffer
  int refs = 1;              // touched only on the JS thread
};

class Mapping : public Napi::ObjectWrap<Mapping> {
 public:
  static Napi::Function Init(Napi::Env env);

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

  bool MapExternal(Napi::Env env, int prot, int flags, bool* refused);
  bool MapOverlay(Napi::Env env, int prot, int flags);
  bool MapPlain(Napi::Env env, int prot, int flags);

  // Releases everything. `detach` is false when called from the destructor,
  // where no JavaScript can reach the buffer any more.
  void Release(Napi::Env env, bool detach);

  Region* region_ = nullptr;
  Strategy strategy_ = Strategy::kCopy;
  Napi::Reference<Napi::ArrayBuffer> buffer_;  // strong while open
  size_t byte_offset_ = 0;   // where the segment starts inside buffer_
  void* overlay_addr_ = nullptr;  // page-aligned start of the overlay
  size_t overlay_length_ = 0;     // page-rounded length of the overlay
  bool readonly_ = false;
  bool closed_ = true;
  std::string name_;
};

}  // namespace shmkit

#endif  // SHMKIT_MAPPING_H_
