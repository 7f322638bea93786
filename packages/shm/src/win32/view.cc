// Windows views of a segment: MapViewOfFile (platform.h).
//
// A readonly view is FILE_MAP_COPY over a handle opened FILE_MAP_READ:
// copy-on-write, the twin of Linux's MAP_PRIVATE. A stray JS write changes a
// private copy and never reaches the segment; a FILE_MAP_READ view would
// kill the process on such a write (an access violation).
//
// Views are always of the whole section: it ends on a page boundary in the
// view, which is the size reported (platform.h).
#include <windows.h>

#include "platform.h"
#include "win32/win32.h"

namespace shmkit {

void* MapView(NativeHandle handle, size_t /*length*/, bool readonly,
              bool /*prefault*/, SysError* error) {
  void* addr = MapViewOfFile(reinterpret_cast<HANDLE>(handle),
                             readonly ? FILE_MAP_COPY : FILE_MAP_WRITE, 0, 0, 0);
  if (addr == nullptr) {
    *error = SysError{FromWin32(GetLastError()), "MapViewOfFile"};
    return nullptr;
  }
  return addr;
}

void* MapViewAt(void* /*target*/, NativeHandle /*handle*/, size_t /*length*/,
                bool /*readonly*/, bool /*prefault*/, SysError* error) {
  *error = SysError{kENOSYS, "MapViewOfFile"};
  return nullptr;
}

void UnmapView(void* addr, size_t /*length*/) { UnmapViewOfFile(addr); }

// Swapping a view for private memory in place needs placeholders
// (MapViewOfFile3/UnmapViewOfFile2, Windows 10 1803), which Wine 8 lacks, so
// that path could not be tested here: docs/decisions/0014-windows.md.
bool RestoreAnonymous(void* /*addr*/, size_t /*length*/) { return false; }

void* MapShadow(NativeHandle handle, size_t /*length*/) {
  return MapViewOfFile(reinterpret_cast<HANDLE>(handle), FILE_MAP_READ, 0, 0, 0);
}

void Populate(void* addr, size_t length, bool /*readonly*/) {
  // Reading a page faults it in without making a copy-on-write copy.
  const size_t page = PageSize();
  volatile const unsigned char* bytes =
      static_cast<volatile const unsigned char*>(addr);
  for (size_t offset = 0; offset < length; offset += page) (void)bytes[offset];
}

}  // namespace shmkit
