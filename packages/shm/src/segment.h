// POSIX shared-memory objects: open, size, unlink.
//
// These functions own nothing past their return: OpenSegment hands its
// descriptor to the caller, who must close it. On failure they clean up only
// what the same call created (a descriptor it opened, a name it created), so a
// failed attach never touches another process's segment and a failed create
// leaves nothing behind in /dev/shm (CPython's gh-153279 and 0-byte leaks).
//
// Names are untrusted: on Linux they are files in /dev/shm that any local user
// may create. An attach never blocks (a FIFO would block shm_open O_RDONLY
// forever), never follows a symlink, and refuses anything that is not a
// regular file, before anything is mapped.
#ifndef SHMKIT_SEGMENT_H_
#define SHMKIT_SEGMENT_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace shmkit {

struct OpenRequest {
  std::string name;     // without the leading slash, as Python's .name
  bool create = false;  // O_CREAT | O_EXCL
  bool readonly = false;
  unsigned mode = 0600;  // the umask applies, as with Python
  uint64_t size = 0;     // only used when creating
  bool reserve = false;  // create: reserve the pages now (posix_fallocate)
};

struct OpenResult {
  int fd = -1;
  uint64_t size = 0;  // from fstat: the true size of the object
  int err = 0;        // errno on failure, 0 on success
  const char* syscall = nullptr;
  const char* detail = nullptr;
  // Set (with err) when the failure is shmkit's own rather than the OS's:
  // ERR_SHM_NOT_A_SEGMENT for a name that is not a shared-memory object.
  const char* code = nullptr;
};

// "/" + name: the OS name, the same one Python's SharedMemory uses.
std::string OsName(const std::string& name);

OpenResult OpenSegment(const OpenRequest& request);

// Returns 0 or an errno.
int UnlinkSegment(const std::string& name);

// The longest name (without the slash) the platform accepts.
size_t MaxNameLength();

size_t PageSize();

}  // namespace shmkit

#endif  // SHMKIT_SEGMENT_H_
