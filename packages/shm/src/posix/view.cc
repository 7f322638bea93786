// POSIX views of a segment: mmap (platform.h).
#include <sys/mman.h>

#include <cerrno>

#include "platform.h"

namespace shmkit {

namespace {

int Protection(bool readonly) {
  // xnu refuses PROT_WRITE on a read-only descriptor even with MAP_PRIVATE.
  return readonly && !kReadonlyViewsAreCopyOnWrite ? PROT_READ
                                                   : PROT_READ | PROT_WRITE;
}

// A readonly view is private copy-on-write: a stray write from JavaScript
// changes a private copy instead of raising SIGSEGV, and never reaches the
// segment (docs/decisions/0002-readonly.md).
int Flags(bool readonly) {
  return readonly && kReadonlyViewsAreCopyOnWrite ? MAP_PRIVATE : MAP_SHARED;
}

// mmap of the segment at `target` (MAP_FIXED) or wherever (nullptr).
void* Map(void* target, NativeHandle handle, size_t length, bool readonly,
          bool prefault, SysError* error) {
  int flags = Flags(readonly);
  if (target != nullptr) flags |= MAP_FIXED;
#if defined(__linux__)
  if (prefault && !readonly) flags |= MAP_POPULATE;
#else
  (void)prefault;
#endif
  void* addr = mmap(target, length, Protection(readonly), flags,
                    static_cast<int>(handle), 0);
  if (addr == MAP_FAILED) {
    *error = SysError{errno, "mmap"};
    return nullptr;
  }
  return addr;
}

}  // namespace

void* MapView(NativeHandle handle, size_t length, bool readonly, bool prefault,
              SysError* error) {
  return Map(nullptr, handle, length, readonly, prefault, error);
}

void* MapViewAt(void* target, NativeHandle handle, size_t length,
                bool readonly, bool prefault, SysError* error) {
  return Map(target, handle, length, readonly, prefault, error);
}

void UnmapView(void* addr, size_t length) { munmap(addr, length); }

bool RestoreAnonymous(void* addr, size_t length) {
  void* back = mmap(addr, length, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  return back != MAP_FAILED;
}

// The kernel resolves a futex address by first asking for write access,
// which on a private writable page makes a private copy: the word would stop
// following the segment and other processes could never wake the waiter.
void* MapShadow(NativeHandle handle, size_t length) {
  void* addr =
      mmap(nullptr, length, PROT_READ, MAP_SHARED, static_cast<int>(handle), 0);
  return addr == MAP_FAILED ? nullptr : addr;
}

void Populate(void* addr, size_t length, bool readonly) {
#if defined(MADV_POPULATE_READ)
  // A private (readonly) mapping: fault pages in for reading only, so no
  // copy-on-write copies are made. Errors (old kernels) are ignored: populate
  // is an optimisation. (A writable mapping was populated by MAP_POPULATE.)
  if (readonly) madvise(addr, length, MADV_POPULATE_READ);
#else
  (void)addr;
  (void)length;
  (void)readonly;
#endif
}

}  // namespace shmkit
