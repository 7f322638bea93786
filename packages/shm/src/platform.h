// What the operating system gives a shared-memory segment, behind one interface
// with an implementation per platform, the way libuv keeps src/unix and
// src/win under one uv.h:
//
//   posix/segment.cc, posix/view.cc   POSIX shared memory (shm_open, mmap)
//   win32/segment.cc, win32/view.cc   named file mappings backed by the paging
//                                     file (CreateFileMappingW, MapViewOfFile)
//
// Everything above this interface (mapping.cc: the buffer strategies,
// segment_async.cc, wait.h's callers) is written once.
//
// Segments and handles. OpenSegment hands the caller a NativeHandle (a file
// descriptor, or a section HANDLE) that the caller owns and closes with
// CloseSegmentHandle. What keeps a segment alive differs:
//   - POSIX: the name does, until UnlinkSegment; mappings keep the memory of
//     an unlinked segment. A handle can be closed as soon as the segment is
//     mapped.
//   - Windows: handles do. A named mapping lives while any process holds a
//     handle to it and vanishes with the last one; nothing can remove a name
//     (CPython's unlink() does nothing there). A view keeps its memory but not
//     the name, so a mapping keeps its handle open until close()
//     (kHandleKeepsSegment).
//
// Failures clean up only what the same call created: a failed attach never
// touches another process's segment, and a failed create leaves nothing behind
// (CPython's gh-153279 and 0-byte leaks).
//
// Names are untrusted. On Linux they are files in /dev/shm that any local user
// may create: an attach never blocks (a FIFO would block shm_open O_RDONLY
// forever), never follows a symlink, and refuses anything that is not a
// regular file, before anything is mapped. On Windows a name may belong to
// another kind of object (an event, a mutex): that is ERR_SHM_NOT_A_SEGMENT too.
//
// Populate. POSIX: a populate never allocates on the way to an error. tmpfs
// refuses at once only a reservation larger than its total size and otherwise
// allocates page by page until it runs out, and its pages are RAM, so the pages
// a populate would allocate are first checked against the free space of the
// segment's own filesystem (ENOSPC) and the memory this process may fill
// (ENOMEM). Windows: a section backed by the paging file is charged in full
// against the commit limit when it is created, which fails at once (ENOMEM)
// instead of later; populate then only faults the pages in.
//
// Errors are numbered as lib/ expects them from this platform: errno on POSIX;
// on Windows libuv's numbers (positive), which util.getSystemErrorName(-errno)
// names there, so `code` (ENOENT, EEXIST, EACCES…) is the same everywhere.
#ifndef SHMKIT_PLATFORM_H_
#define SHMKIT_PLATFORM_H_

#include <napi.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <string>

namespace shmkit {

// A file descriptor (POSIX) or a section HANDLE (Windows); kNoHandle: none.
using NativeHandle = intptr_t;
constexpr NativeHandle kNoHandle = -1;

#if defined(_WIN32)
// libuv's error numbers on Windows (uv/errno.h: UV__EEXIST is -4075), as
// positive numbers like errno: lib/ names them with getSystemErrorName(-n).
constexpr int kEACCES = 4092;
constexpr int kEAGAIN = 4088;
constexpr int kEEXIST = 4075;
constexpr int kEFBIG = 4036;
constexpr int kEINVAL = 4071;
constexpr int kEIO = 4070;
constexpr int kENAMETOOLONG = 4064;
constexpr int kENOENT = 4058;
constexpr int kENOMEM = 4057;
constexpr int kENOSPC = 4055;
constexpr int kENOSYS = 4054;
constexpr int kEPERM = 4048;
#else
constexpr int kEACCES = EACCES;
constexpr int kEAGAIN = EAGAIN;
constexpr int kEEXIST = EEXIST;
constexpr int kEFBIG = EFBIG;
constexpr int kEINVAL = EINVAL;
constexpr int kEIO = EIO;
constexpr int kENAMETOOLONG = ENAMETOOLONG;
constexpr int kENOENT = ENOENT;
constexpr int kENOMEM = ENOMEM;
constexpr int kENOSPC = ENOSPC;
constexpr int kENOSYS = ENOSYS;
constexpr int kEPERM = EPERM;
#endif

#if defined(_WIN32)
// A mapping must hold its handle until close(): the name dies with the last one.
constexpr bool kHandleKeepsSegment = true;
// No call maps a section over pages a buffer already owns (the overlay and
// shared strategies): docs/decisions/0014-windows.md.
constexpr bool kCanMapOver = false;
#else
constexpr bool kHandleKeepsSegment = false;
constexpr bool kCanMapOver = true;
#endif

#if defined(__APPLE__)
// xnu refuses MAP_PRIVATE and PROT_WRITE on a read-only POSIX shm descriptor:
// a readonly view there is PROT_READ, and a stray JS write could only fault.
constexpr bool kReadonlyViewsAreCopyOnWrite = false;
#else
// A readonly view is copy-on-write (Linux MAP_PRIVATE, Windows FILE_MAP_COPY):
// a stray write changes a private copy and never reaches the segment.
constexpr bool kReadonlyViewsAreCopyOnWrite = true;
#endif

// The call UnlinkSegment's errors name.
#if defined(_WIN32)
constexpr const char* kUnlinkCall = "OpenFileMappingW";
#else
constexpr const char* kUnlinkCall = "shm_unlink";
#endif

// A name the addon accepts (lib/ validates first, with messages): not empty,
// no NUL, no '/' (and on Windows no '\\', its namespace separator).
inline bool ValidName(const std::string& name) {
  if (name.empty() || name.find('\0') != std::string::npos ||
      name.find('/') != std::string::npos) {
    return false;
  }
#if defined(_WIN32)
  if (name.find('\\') != std::string::npos) return false;
#endif
  return true;
}

// No limit known on the memory a reservation may take.
constexpr uint64_t kUnknownRoom = UINT64_MAX;

struct OpenRequest {
  std::string name;     // without a leading slash, as Python's .name
  bool create = false;  // exclusive: EEXIST if the name exists
  bool readonly = false;
  unsigned mode = 0600;  // POSIX only; the umask applies, as with Python
  uint64_t size = 0;     // only used when creating
  // populate: a create reserves the pages now (posix_fallocate; on Windows
  // every create is charged in full); an attach may prefault them. Either
  // only when the pages it would allocate fit.
  bool populate = false;
  // Bytes of memory this process may still fill (lib/core/space.ts: RAM and
  // swap, lowered by its memory cgroup). Pages of /dev/shm are memory, so a
  // reservation larger than this is refused (ENOMEM) before anything is
  // allocated. Unused on Windows (the commit limit does it).
  uint64_t memory_room = kUnknownRoom;
};

// The filesystem holding a segment, as a populate found it (fstatfs on the
// descriptor). Reported with ENOSPC and ENOMEM so that lib/ can say where the
// space went. Never known on Windows.
struct SpaceFacts {
  bool known = false;
  uint64_t size = 0;       // f_blocks × f_bsize; 0: no size limit (tmpfs size=0)
  uint64_t free = 0;       // f_bfree × f_bsize
  uint64_t available = 0;  // f_bavail × f_bsize: what this user may take
  uint64_t requested = 0;  // bytes the call had to allocate, in whole blocks
  uint64_t memory_room = kUnknownRoom;  // as requested
  uint64_t fs_type = 0;                 // f_type (TMPFS_MAGIC for tmpfs)
  unsigned dev_major = 0;  // st_dev of the segment: finds its mount point
  unsigned dev_minor = 0;
};

struct OpenResult {
  NativeHandle handle = kNoHandle;
  // POSIX: from fstat, the true size of the object. Windows: whole pages, as
  // VirtualQuery reports a view of it (what CPython reports there).
  uint64_t size = 0;
  // The caller may prefault the mapping: a create reserved the pages, or an
  // attach's missing pages fit. Never set on a failure.
  bool prefault = false;
  int err = 0;  // an error number (see above) on failure, 0 on success
  const char* syscall = nullptr;
  const char* detail = nullptr;
  // Set (with err) when the failure is shmkit's own rather than the OS's:
  // ERR_SHM_NOT_A_SEGMENT for a name that is not a shared-memory object.
  const char* code = nullptr;
  SpaceFacts space;  // known when a populate was refused for lack of room
};

// The result of an OpenSegment that failed.
inline OpenResult OpenFailure(int err, const char* syscall,
                              const char* detail = nullptr,
                              const char* code = nullptr) {
  OpenResult r;
  r.err = err;
  r.syscall = syscall;
  r.detail = detail;
  r.code = code;
  return r;
}

// An OS call that failed: its error number and name.
struct SysError {
  int err = 0;
  const char* syscall = nullptr;
};

OpenResult OpenSegment(const OpenRequest& request);

void CloseSegmentHandle(NativeHandle handle);

// POSIX: shm_unlink. Windows, where no name can be removed: releases this
// process's hold on the name (KeepUnmapped) if it has one; otherwise 0 when a
// mapping of that name exists anywhere, kENOENT when none does.
// Returns 0 or an error number.
int UnlinkSegment(const std::string& name);

// For a segment created and not mapped (createUnmapped). POSIX: closes the
// handle (the name keeps the segment). Windows: keeps it in this process's
// holds until UnlinkSegment(name), or until the process ends.
void KeepUnmapped(const std::string& name, NativeHandle handle);

// What creating `size` bytes charged: whole pages or blocks (st_blocks on
// POSIX; the page-rounded size on Windows).
uint64_t AllocatedBytes(NativeHandle handle, uint64_t size);

// The name the OS knows ("/" + name on POSIX; the bare name on Windows).
std::string OsName(const std::string& name);

// The longest name (without a slash) accepted.
size_t MaxNameLength();

size_t PageSize();

// Maps `length` bytes of the segment at an address the OS picks: read-write
// and shared, or, when `readonly`, copy-on-write where
// kReadonlyViewsAreCopyOnWrite (else read-only). `prefault` asks for the pages
// now where the OS can (Linux MAP_POPULATE). nullptr on failure, with *error.
void* MapView(NativeHandle handle, size_t length, bool readonly, bool prefault,
              SysError* error);

// The same over [target, target + length), replacing what is there (POSIX
// MAP_FIXED). Only where kCanMapOver; elsewhere fails with kENOSYS.
void* MapViewAt(void* target, NativeHandle handle, size_t length,
                bool readonly, bool prefault, SysError* error);

void UnmapView(void* addr, size_t length);

// Puts private anonymous memory over [addr, addr + length): the pages go back
// to being ordinary process memory, no longer aliasing the segment. False if
// it failed or the platform cannot (Windows without placeholders).
bool RestoreAnonymous(void* addr, size_t length);

// A second, read-only *shared* view, through which a readonly mapping's
// waits compare and notify: a copy-on-write page a JS write has copied no
// longer follows the segment. nullptr on failure.
void* MapShadow(NativeHandle handle, size_t length);

// Faults the pages of a view in now (errors ignored: an optimisation). A
// readonly view is faulted for reading only, so no private copies are made.
void Populate(void* addr, size_t length, bool readonly);

// A message for an error number (strerror on POSIX).
std::string ErrorMessage(int err);

// Exports that only one platform has (POSIX: the tracker's Unix sockets;
// Windows: segment listing, process watches).
void InitPlatform(Napi::Env env, Napi::Object exports);

}  // namespace shmkit

#endif  // SHMKIT_PLATFORM_H_
