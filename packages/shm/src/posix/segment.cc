// POSIX shared memory: shm_open, ftruncate, fstat, shm_unlink (platform.h).
#include "platform.h"

#include <cerrno>
#include <cstring>
#include <limits>

#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#endif

namespace shmkit {

namespace {

int CloseRetainingErrno(int fd) {
  int saved = errno;
  int rc = close(fd);
  errno = saved;
  return rc;
}

#if defined(__linux__)
// What a name that is not a shared-memory object is, for the error message.
const char* KindOf(mode_t mode) {
  if (S_ISFIFO(mode)) return "a FIFO, not a shared-memory segment";
  if (S_ISDIR(mode)) return "a directory, not a shared-memory segment";
  if (S_ISSOCK(mode)) return "a socket, not a shared-memory segment";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device, not a shared-memory segment";
  return "not a regular shared-memory segment";
}

// Whether `needed` more bytes (rounded up to the filesystem's block) fit in
// the filesystem holding `fd` and in `memory_room`: 0, ENOSPC or ENOMEM.
// Fills `facts` either way. A filesystem that cannot say (fstatfs fails) or
// has no size limit is checked against memory only.
int CheckRoom(int fd, const struct stat& st, uint64_t needed,
              uint64_t memory_room, SpaceFacts* facts) {
  facts->known = true;
  facts->memory_room = memory_room;
  facts->dev_major = major(st.st_dev);
  facts->dev_minor = minor(st.st_dev);
  struct statfs fs;
  uint64_t block = PageSize();
  bool have_fs = fstatfs(fd, &fs) == 0;
  if (have_fs) {
    if (fs.f_bsize > 0) block = static_cast<uint64_t>(fs.f_bsize);
    facts->fs_type = static_cast<uint64_t>(fs.f_type);
    facts->size = static_cast<uint64_t>(fs.f_blocks) * block;
    facts->free = static_cast<uint64_t>(fs.f_bfree) * block;
    facts->available = static_cast<uint64_t>(fs.f_bavail) * block;
  }
  facts->requested = (needed + block - 1) / block * block;
  if (have_fs && fs.f_blocks > 0 && facts->requested > facts->available) {
    return ENOSPC;
  }
  if (facts->requested > memory_room) return ENOMEM;
  return 0;
}
#endif

}  // namespace

std::string OsName(const std::string& name) { return "/" + name; }

size_t MaxNameLength() {
#if defined(__APPLE__)
  // PSHMNAMLEN is 31 including the leading slash.
  return 30;
#else
  // glibc maps the name to /dev/shm/<name>: one path component.
  return NAME_MAX;
#endif
}

size_t PageSize() {
  long page = sysconf(_SC_PAGESIZE);
  return page > 0 ? static_cast<size_t>(page) : 4096;
}

OpenResult OpenSegment(const OpenRequest& request) {
  const std::string os_name = OsName(request.name);
  int oflag = request.readonly ? O_RDONLY : O_RDWR;
  if (request.create) oflag = O_CREAT | O_EXCL | O_RDWR;
#if defined(__linux__)
  // O_NONBLOCK: opening a FIFO must not wait for a writer (it has no effect
  // on a regular file or its mappings). O_NOFOLLOW: glibc adds it too, but a
  // symlink planted in /dev/shm must never be followed whatever the libc.
  if (!request.create) oflag |= O_NONBLOCK | O_NOFOLLOW;
#endif

  if (request.create &&
      request.size > static_cast<uint64_t>(std::numeric_limits<off_t>::max())) {
    return OpenFailure(EFBIG, "ftruncate");
  }

  int fd;
  do {
    fd = shm_open(os_name.c_str(), oflag, static_cast<mode_t>(request.mode));
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return OpenFailure(errno, "shm_open");

  // From here on, a failure must close fd and, if this call created the name,
  // unlink it: nothing this call made may outlive the error.
  auto abandon = [&](int err, const char* syscall,
                     const char* detail = nullptr) {
    CloseRetainingErrno(fd);
    if (request.create) shm_unlink(os_name.c_str());
    return OpenFailure(err, syscall, detail);
  };

  bool prefault = request.populate;
  if (request.create) {
    int rc;
    do {
      rc = ftruncate(fd, static_cast<off_t>(request.size));
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) return abandon(errno, "ftruncate");
#if defined(__linux__)
    if (request.populate) {
      // Reserving turns "no room in /dev/shm" into an error now instead of
      // SIGBUS on first touch; the room is checked first so that the
      // reservation itself never fills the filesystem or RAM on its way to
      // ENOSPC. (The check and the reservation are not atomic: another
      // process may take space between them, and then posix_fallocate fails
      // after allocating at most what was free.)
      SpaceFacts space;
      struct stat created;
      if (fstat(fd, &created) != 0) return abandon(errno, "fstat");
      int err = CheckRoom(fd, created, request.size, request.memory_room, &space);
      if (err == 0) {
        do {  // posix_fallocate returns the error instead of setting errno
          err = posix_fallocate(fd, 0, static_cast<off_t>(request.size));
        } while (err == EINTR);
      }
      if (err != 0 && err != EOPNOTSUPP && err != ENOSYS) {
        OpenResult failed = abandon(err, "posix_fallocate");
        failed.space = space;
        return failed;
      }
    }
#endif
  }

  struct stat st;
  if (fstat(fd, &st) != 0) return abandon(errno, "fstat");
#if defined(__linux__)
  if (!S_ISREG(st.st_mode)) {
    CloseRetainingErrno(fd);  // only an attach gets here: nothing to unlink
    return OpenFailure(EINVAL, "fstat", KindOf(st.st_mode), "ERR_SHM_NOT_A_SEGMENT");
  }
#endif
  if (st.st_size <= 0) {
    // A zero-length object cannot be mapped (Python: ValueError). Only an
    // attach can get here; the segment is left as it is.
    return abandon(EINVAL, "mmap", "the segment is empty (size 0)");
  }
#if defined(__linux__)
  if (request.populate && !request.create) {
    // Prefaulting allocates every page the segment does not have yet (a
    // sparse segment's holes, read faults included): only when they fit.
    const uint64_t size = static_cast<uint64_t>(st.st_size);
    const uint64_t held = static_cast<uint64_t>(st.st_blocks) * 512;
    SpaceFacts space;
    prefault = CheckRoom(fd, st, size > held ? size - held : 0,
                         request.memory_room, &space) == 0;
  }
#endif

  OpenResult r;
  r.handle = fd;
  r.size = static_cast<uint64_t>(st.st_size);
  r.prefault = prefault;
  return r;
}

int UnlinkSegment(const std::string& name) {
  return shm_unlink(OsName(name).c_str()) == 0 ? 0 : errno;
}

void CloseSegmentHandle(NativeHandle handle) {
  if (handle >= 0) CloseRetainingErrno(static_cast<int>(handle));
}

void KeepUnmapped(const std::string& /*name*/, NativeHandle handle) {
  CloseSegmentHandle(handle);  // the name keeps the segment
}

uint64_t AllocatedBytes(NativeHandle handle, uint64_t size) {
  struct stat st;
  return fstat(static_cast<int>(handle), &st) == 0
             ? static_cast<uint64_t>(st.st_blocks) * 512
             : size;
}

std::string ErrorMessage(int err) { return std::strerror(err); }

}  // namespace shmkit

