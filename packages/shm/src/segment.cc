#include "segment.h"

#include <cerrno>
#include <limits>

#if defined(_WIN32)

namespace shmkit {

// Windows has no POSIX shared memory. lib/ refuses the platform with
// ERR_SHM_UNSUPPORTED_PLATFORM before calling in; these stubs only keep the
// addon buildable there.
std::string OsName(const std::string& name) { return "/" + name; }
OpenResult OpenSegment(const OpenRequest&) {
  OpenResult r;
  r.err = ENOSYS;
  r.syscall = "shm_open";
  return r;
}
int UnlinkSegment(const std::string&) { return ENOSYS; }
size_t MaxNameLength() { return 0; }
size_t PageSize() { return 4096; }

}  // namespace shmkit

#else

#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace shmkit {

namespace {

int CloseRetainingErrno(int fd) {
  int saved = errno;
  int rc = close(fd);
  errno = saved;
  return rc;
}

OpenResult Fail(int err, const char* syscall, const char* detail = nullptr,
                const char* code = nullptr) {
  OpenResult r;
  r.err = err;
  r.syscall = syscall;
  r.detail = detail;
  r.code = code;
  return r;
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
    return Fail(EFBIG, "ftruncate");
  }

  int fd;
  do {
    fd = shm_open(os_name.c_str(), oflag, static_cast<mode_t>(request.mode));
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return Fail(errno, "shm_open");

  // From here on, a failure must close fd and, if this call created the name,
  // unlink it: nothing this call made may outlive the error.
  auto abandon = [&](int err, const char* syscall,
                     const char* detail = nullptr) {
    CloseRetainingErrno(fd);
    if (request.create) shm_unlink(os_name.c_str());
    return Fail(err, syscall, detail);
  };

  if (request.create) {
    int rc;
    do {
      rc = ftruncate(fd, static_cast<off_t>(request.size));
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) return abandon(errno, "ftruncate");
#if defined(__linux__)
    if (request.reserve) {
      // posix_fallocate returns the error instead of setting errno. It turns
      // "no room in /dev/shm" into ENOSPC now instead of SIGBUS on first touch.
      int err;
      do {
        err = posix_fallocate(fd, 0, static_cast<off_t>(request.size));
      } while (err == EINTR);
      if (err != 0 && err != EOPNOTSUPP && err != ENOSYS) {
        return abandon(err, "posix_fallocate");
      }
    }
#endif
  }

  struct stat st;
  if (fstat(fd, &st) != 0) return abandon(errno, "fstat");
#if defined(__linux__)
  if (!S_ISREG(st.st_mode)) {
    CloseRetainingErrno(fd);  // only an attach gets here: nothing to unlink
    return Fail(EINVAL, "fstat", KindOf(st.st_mode), "ERR_SHM_NOT_A_SEGMENT");
  }
#endif
  if (st.st_size <= 0) {
    // A zero-length object cannot be mapped (Python: ValueError). Only an
    // attach can get here; the segment is left as it is.
    return abandon(EINVAL, "mmap", "the segment is empty (size 0)");
  }

  OpenResult r;
  r.fd = fd;
  r.size = static_cast<uint64_t>(st.st_size);
  return r;
}

int UnlinkSegment(const std::string& name) {
  return shm_unlink(OsName(name).c_str()) == 0 ? 0 : errno;
}

}  // namespace shmkit

#endif  // _WIN32
