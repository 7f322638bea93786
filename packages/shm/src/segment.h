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
//
// A populate never allocates on the way to an error: tmpfs refuses at once
// only a reservation larger than its total size and otherwise allocates page
// by page until it runs out, and its pages are RAM. So the pages a populate
// would allocate are first checked against the free space of the segment's
// own filesystem (ENOSPC) and the memory this process may fill (ENOMEM).
#ifndef SHMKIT_SEGMENT_H_
#define SHMKIT_SEGMENT_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace shmkit {

// No limit known on the memory a reservation may take.
constexpr uint64_t kUnknownRoom = UINT64_MAX;

struct OpenRequest {
  std::string name;     // without the leading slash, as Python's .name
  bool create = false;  // O_CREAT | O_EXCL
  bool readonly = false;
  unsigned mode = 0600;  // the umask applies, as with Python
  uint64_t size = 0;     // only used when creating
  // populate: a create reserves the pages now (posix_fallocate); an attach
  // may prefault them. Either only when the pages it would allocate fit.
  bool populate = false;
  // Bytes of memory this process may still fill (lib/core/space.ts: RAM and
  // swap, lowered by its memory cgroup). Pages of /dev/shm are memory, so a
  // reservation larger than this is refused (ENOMEM) before anything is
  // allocated.
  uint64_t memory_room = kUnknownRoom;
};

// The filesystem holding a segment, as a populate found it (fstatfs on the
// descriptor). Reported with ENOSPC and ENOMEM so that lib/ can say where the
// space went.
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
  int fd = -1;
  uint64_t size = 0;  // from fstat: the true size of the object
  // The caller may prefault the mapping: a create reserved the pages, or an
  // attach's missing pages fit. Never set on a failure.
  bool prefault = false;
  int err = 0;        // errno on failure, 0 on success
  const char* syscall = nullptr;
  const char* detail = nullptr;
  // Set (with err) when the failure is shmkit's own rather than the OS's:
  // ERR_SHM_NOT_A_SEGMENT for a name that is not a shared-memory object.
  const char* code = nullptr;
  SpaceFacts space;  // known when a populate was refused for lack of room
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
