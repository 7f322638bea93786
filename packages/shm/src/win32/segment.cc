// Windows: segments are named file mappings backed by the paging file
// (CreateFileMappingW(INVALID_HANDLE_VALUE, …, name)), as CPython's
// shared_memory makes them, so the two meet by name (platform.h).
//
// Names are bare (no "Local\" or "Global\"), which puts them in the session's
// namespace, as CPython's are. The size is whole pages, as VirtualQuery
// reports a view of the section (what CPython reports too). The mode bits are
// not used: the section gets the default security of the process's token.
//
// Holds: a segment created for others (createUnmapped) must outlive the
// handle that created it, so that handle is kept in this process's holds
// (KeepUnmapped) until UnlinkSegment(name) releases it or the process ends.
// Holds are per process, like the names they keep: a global of this file,
// guarded by a mutex (every environment of the process shares them).
#include <windows.h>

#include <mutex>
#include <string>
#include <unordered_map>

#include "platform.h"
#include "win32/win32.h"

namespace shmkit {

namespace {

std::mutex holds_mutex;
std::unordered_map<std::string, HANDLE>& Holds() {
  static auto* holds = new std::unordered_map<std::string, HANDLE>();
  return *holds;
}

uint64_t RoundToPages(uint64_t size) {
  const uint64_t page = PageSize();
  return (size + page - 1) / page * page;
}

}  // namespace

int FromWin32(unsigned long error) {
  switch (error) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
      return kENOENT;
    case ERROR_ACCESS_DENIED:
      return kEACCES;
    case ERROR_ALREADY_EXISTS:
    case ERROR_FILE_EXISTS:
      return kEEXIST;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
    case ERROR_COMMITMENT_LIMIT:
    case ERROR_NO_SYSTEM_RESOURCES:
      return kENOMEM;
    case ERROR_DISK_FULL:
      return kENOSPC;
    case ERROR_FILENAME_EXCED_RANGE:
      return kENAMETOOLONG;
    case ERROR_INVALID_PARAMETER:
    case ERROR_INVALID_NAME:
      return kEINVAL;
    case ERROR_TOO_MANY_OPEN_FILES:
      return kEMFILE;
    default:
      return kEIO;
  }
}

std::wstring Wide(const std::string& text) {
  if (text.empty()) return std::wstring();
  int n = MultiByteToWideChar(CP_UTF8, 0, text.data(),
                              static_cast<int>(text.size()), nullptr, 0);
  std::wstring out(static_cast<size_t>(n > 0 ? n : 0), L'\0');
  if (n > 0) {
    MultiByteToWideChar(CP_UTF8, 0, text.data(), static_cast<int>(text.size()),
                        &out[0], n);
  }
  return out;
}

OpenResult OpenSegment(const OpenRequest& request) {
  const std::wstring name = Wide(OsName(request.name));
  HANDLE section;
  uint64_t size = 0;
  if (request.create) {
    if (request.size == 0) return OpenFailure(kEINVAL, "CreateFileMappingW");
    section = CreateFileMappingW(
        INVALID_HANDLE_VALUE, nullptr, PAGE_READWRITE,
        static_cast<DWORD>(request.size >> 32),
        static_cast<DWORD>(request.size & 0xffffffffu), name.c_str());
    const DWORD error = GetLastError();
    if (section == nullptr) {
      // ERROR_INVALID_HANDLE: the name belongs to another kind of object (an
      // event, a mutex…): taken, as O_EXCL would say.
      return OpenFailure(error == ERROR_INVALID_HANDLE ? kEEXIST : FromWin32(error),
                  "CreateFileMappingW");
    }
    if (error == ERROR_ALREADY_EXISTS) {
      // A handle to the existing mapping: let go of it at once (CPython too).
      CloseHandle(section);
      return OpenFailure(kEEXIST, "CreateFileMappingW");
    }
    size = RoundToPages(request.size);
  } else {
    const DWORD access =
        request.readonly ? FILE_MAP_READ : FILE_MAP_READ | FILE_MAP_WRITE;
    section = OpenFileMappingW(access, FALSE, name.c_str());
    if (section == nullptr) {
      const DWORD error = GetLastError();
      if (error == ERROR_INVALID_HANDLE) {
        return OpenFailure(kEINVAL, "OpenFileMappingW",
                    "another kind of object, not a shared-memory segment",
                    "ERR_SHM_NOT_A_SEGMENT");
      }
      return OpenFailure(FromWin32(error), "OpenFileMappingW");
    }
    // The size, as CPython reads it: a view's region, in whole pages.
    void* probe = MapViewOfFile(section, FILE_MAP_READ, 0, 0, 0);
    if (probe == nullptr) {
      const DWORD error = GetLastError();
      CloseHandle(section);
      return OpenFailure(FromWin32(error), "MapViewOfFile");
    }
    MEMORY_BASIC_INFORMATION info;
    size = VirtualQuery(probe, &info, sizeof info) == sizeof info
               ? static_cast<uint64_t>(info.RegionSize)
               : 0;
    UnmapViewOfFile(probe);
    if (size == 0) {
      CloseHandle(section);
      return OpenFailure(kEINVAL, "VirtualQuery", "the segment is empty (size 0)");
    }
  }
  OpenResult r;
  r.handle = reinterpret_cast<NativeHandle>(section);
  r.size = size;
  // A paging-file section was charged in full when it was created: faulting
  // its pages in can no longer fail for want of room.
  r.prefault = request.populate;
  return r;
}

void CloseSegmentHandle(NativeHandle handle) {
  if (handle != kNoHandle) CloseHandle(reinterpret_cast<HANDLE>(handle));
}

int UnlinkSegment(const std::string& name) {
  {
    std::lock_guard<std::mutex> lock(holds_mutex);
    auto it = Holds().find(name);
    if (it != Holds().end()) {
      CloseHandle(it->second);
      Holds().erase(it);
      return 0;
    }
  }
  // Nothing of ours to let go of: a name cannot be removed on Windows. It is
  // ENOENT only if no mapping of that name exists at all.
  HANDLE section =
      OpenFileMappingW(FILE_MAP_READ, FALSE, Wide(OsName(name)).c_str());
  if (section == nullptr) {
    const DWORD error = GetLastError();
    return error == ERROR_ACCESS_DENIED ? 0 : kENOENT;
  }
  CloseHandle(section);
  return 0;
}

void KeepUnmapped(const std::string& name, NativeHandle handle) {
  std::lock_guard<std::mutex> lock(holds_mutex);
  HANDLE& slot = Holds()[name];
  // A name is held at most once: creating it again fails (EEXIST) while held.
  if (slot != nullptr) CloseHandle(slot);
  slot = reinterpret_cast<HANDLE>(handle);
}

int HoldSegment(const std::string& name) {
  std::lock_guard<std::mutex> lock(holds_mutex);
  if (Holds().count(name) != 0) return 0;
  HANDLE section =
      OpenFileMappingW(FILE_MAP_READ, FALSE, Wide(OsName(name)).c_str());
  if (section == nullptr) return FromWin32(GetLastError());
  Holds()[name] = section;
  return 0;
}

int64_t SegmentSize(const std::string& name) {
  HANDLE section =
      OpenFileMappingW(FILE_MAP_READ, FALSE, Wide(OsName(name)).c_str());
  if (section == nullptr) return -FromWin32(GetLastError());
  void* view = MapViewOfFile(section, FILE_MAP_READ, 0, 0, 0);
  int64_t size = -kEIO;
  if (view == nullptr) {
    size = -FromWin32(GetLastError());
  } else {
    MEMORY_BASIC_INFORMATION info;
    if (VirtualQuery(view, &info, sizeof(info)) != 0) {
      size = static_cast<int64_t>(info.RegionSize);
    }
    UnmapViewOfFile(view);
  }
  CloseHandle(section);
  return size;
}

bool SegmentExists(const std::string& name) {
  HANDLE section =
      OpenFileMappingW(FILE_MAP_READ, FALSE, Wide(OsName(name)).c_str());
  if (section == nullptr) return GetLastError() == ERROR_ACCESS_DENIED;
  CloseHandle(section);
  return true;
}

uint64_t AllocatedBytes(NativeHandle /*handle*/, uint64_t size) {
  return RoundToPages(size);
}

std::string OsName(const std::string& name) { return name; }

size_t MaxNameLength() {
  // Windows allows far longer object names; 255 keeps names that fit Linux.
  return 255;
}

size_t PageSize() {
  SYSTEM_INFO info;
  GetSystemInfo(&info);
  return info.dwPageSize > 0 ? info.dwPageSize : 4096;
}

std::string ErrorMessage(int err) {
  // lib/ replaces it with libuv's description of the code (getSystemErrorMap).
  return "system error " + std::to_string(err);
}

}  // namespace shmkit
