#include "uring.h"

#if defined(__linux__)
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace shmkit {

namespace {

// System call numbers: the same on every architecture (the generic table).
#ifndef SYS_io_uring_setup
#define SYS_io_uring_setup 425
#endif
#ifndef SYS_io_uring_enter
#define SYS_io_uring_enter 426
#endif
#ifndef SYS_io_uring_register
#define SYS_io_uring_register 427
#endif

// ---- the kernel's ABI (include/uapi/linux/io_uring.h)
struct SqringOffsets {
  uint32_t head, tail, ring_mask, ring_entries, flags, dropped, array, resv1;
  uint64_t user_addr;
};
struct CqringOffsets {
  uint32_t head, tail, ring_mask, ring_entries, overflow, cqes, flags, resv1;
  uint64_t user_addr;
};
struct Params {
  uint32_t sq_entries, cq_entries, flags, sq_thread_cpu, sq_thread_idle;
  uint32_t features, wq_fd, resv[3];
  SqringOffsets sq_off;
  CqringOffsets cq_off;
};
static_assert(sizeof(Params) == 120, "io_uring_params");

struct Sqe {
  uint8_t opcode;
  uint8_t flags;
  uint16_t ioprio;
  int32_t fd;
  uint64_t addr2;  // off
  uint64_t addr;
  uint32_t len;
  uint32_t op_flags;  // futex_flags, cancel_flags, …
  uint64_t user_data;
  uint16_t buf_index;
  uint16_t personality;
  int32_t file_index;
  uint64_t addr3;
  uint64_t pad;
};
static_assert(sizeof(Sqe) == 64, "io_uring_sqe");

struct Cqe {
  uint64_t user_data;
  int32_t res;
  uint32_t flags;
};
static_assert(sizeof(Cqe) == 16, "io_uring_cqe");

struct ProbeOp {
  uint8_t op;
  uint8_t resv;
  uint16_t flags;
  uint32_t resv2;
};
struct Probe {
  uint8_t last_op;
  uint8_t ops_len;
  uint16_t resv;
  uint32_t resv2[3];
  ProbeOp ops[256];
};

constexpr uint8_t kOpAsyncCancel = 14;
constexpr uint8_t kOpFutexWait = 51;  // Linux 6.7
constexpr uint16_t kOpSupported = 1;
constexpr uint32_t kSetupCqSize = 1u << 3;
constexpr uint32_t kSetupClamp = 1u << 4;
constexpr uint32_t kFeatSingleMmap = 1u << 0;
constexpr uint32_t kFeatNoDrop = 1u << 1;
constexpr uint32_t kEnterGetEvents = 1u << 0;
constexpr uint32_t kSqCqOverflow = 1u << 1;
constexpr uint32_t kRegisterProbe = 8;
constexpr uint64_t kOffSqRing = 0;
constexpr uint64_t kOffSqes = 0x10000000ULL;
constexpr uint32_t kFutex2SizeU32 = 0x02;  // shared: no FUTEX2_PRIVATE
constexpr uint64_t kFutexBitsetMatchAny = 0xffffffffULL;

// Submissions are made and submitted one at a time: a few slots suffice. The
// completion queue holds every wait in flight; past it the kernel keeps the
// completions aside (FEAT_NODROP) until FlushOverflow().
constexpr uint32_t kSqEntries = 8;
constexpr uint32_t kCqEntries = 4096;

template <typename T>
T* At(void* base, uint32_t offset) {
  return reinterpret_cast<T*>(static_cast<char*>(base) + offset);
}

std::string Errno(const char* what, int err) {
  return std::string(what) + ": " + std::strerror(err);
}

}  // namespace

Uring::~Uring() { Close(); }

void Uring::Close() {
  if (sqes_ != nullptr) munmap(sqes_, sqes_size_);
  if (ring_ != nullptr) munmap(ring_, ring_size_);
  // Closing the descriptor cancels every request still in the kernel.
  if (fd_ >= 0) close(fd_);
  sqes_ = ring_ = nullptr;
  fd_ = -1;
}

bool Uring::Open(std::string* why) {
  Params p;
  std::memset(&p, 0, sizeof p);
  p.flags = kSetupCqSize | kSetupClamp;
  p.cq_entries = kCqEntries;
  long fd = syscall(SYS_io_uring_setup, kSqEntries, &p);
  if (fd < 0) {
    int err = errno;
    *why = err == EPERM ? Errno("io_uring_setup (disabled by "
                                "/proc/sys/kernel/io_uring_disabled or a seccomp filter)",
                                err)
                        : Errno("io_uring_setup", err);
    return false;
  }
  fd_ = static_cast<int>(fd);
  if ((p.features & kFeatSingleMmap) == 0 || (p.features & kFeatNoDrop) == 0) {
    *why = "io_uring is too old (no single mmap or no-drop completions)";
    Close();
    return false;
  }
  std::vector<char> buffer(sizeof(Probe), 0);
  Probe* probe = reinterpret_cast<Probe*>(buffer.data());
  if (syscall(SYS_io_uring_register, fd_, kRegisterProbe, probe, 256) < 0) {
    *why = Errno("io_uring_register(PROBE)", errno);
    Close();
    return false;
  }
  for (uint8_t op : {kOpAsyncCancel, kOpFutexWait}) {
    if (op > probe->last_op || (probe->ops[op].flags & kOpSupported) == 0) {
      *why = op == kOpFutexWait ? "this kernel's io_uring has no FUTEX_WAIT (Linux 6.7+)"
                                : "this kernel's io_uring has no ASYNC_CANCEL";
      Close();
      return false;
    }
  }
  size_t sq_size = p.sq_off.array + p.sq_entries * sizeof(uint32_t);
  size_t cq_size = p.cq_off.cqes + p.cq_entries * sizeof(Cqe);
  ring_size_ = sq_size > cq_size ? sq_size : cq_size;
  void* ring = mmap(nullptr, ring_size_, PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_POPULATE, fd_, kOffSqRing);
  if (ring == MAP_FAILED) {
    *why = Errno("mmap of the io_uring rings", errno);
    Close();
    return false;
  }
  ring_ = ring;
  sqes_size_ = p.sq_entries * sizeof(Sqe);
  void* sqes = mmap(nullptr, sqes_size_, PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_POPULATE, fd_, kOffSqes);
  if (sqes == MAP_FAILED) {
    *why = Errno("mmap of the io_uring submissions", errno);
    Close();
    return false;
  }
  sqes_ = sqes;
  sq_head_ = At<uint32_t>(ring_, p.sq_off.head);
  sq_tail_ = At<uint32_t>(ring_, p.sq_off.tail);
  sq_flags_ = At<uint32_t>(ring_, p.sq_off.flags);
  sq_mask_ = *At<uint32_t>(ring_, p.sq_off.ring_mask);
  sq_array_ = At<uint32_t>(ring_, p.sq_off.array);
  cq_head_ = At<uint32_t>(ring_, p.cq_off.head);
  cq_tail_ = At<uint32_t>(ring_, p.cq_off.tail);
  cq_mask_ = *At<uint32_t>(ring_, p.cq_off.ring_mask);
  cqes_ = At<Cqe>(ring_, p.cq_off.cqes);
  return true;
}

int Uring::Submit(uint8_t opcode, int32_t fd, uint64_t addr, uint64_t addr2,
                  uint64_t addr3, uint64_t user_data) {
  if (fd_ < 0) return EBADF;
  // Only this thread submits, and every submission is consumed by the
  // io_uring_enter below before the next: the slot at the tail is free.
  uint32_t tail = *sq_tail_;
  uint32_t index = tail & sq_mask_;
  Sqe* sqe = static_cast<Sqe*>(sqes_) + index;
  std::memset(sqe, 0, sizeof *sqe);
  sqe->opcode = opcode;
  sqe->fd = fd;
  sqe->addr = addr;
  sqe->addr2 = addr2;
  sqe->addr3 = addr3;
  sqe->user_data = user_data;
  sq_array_[index] = index;
  __atomic_store_n(sq_tail_, tail + 1, __ATOMIC_RELEASE);
  for (;;) {
    long n = syscall(SYS_io_uring_enter, fd_, 1, 0, 0, nullptr, 0);
    if (n == 1) return 0;
    int err = n < 0 ? errno : EAGAIN;
    if (err == EINTR) continue;
    // Not consumed: take the submission back so the ring stays consistent.
    if (__atomic_load_n(sq_head_, __ATOMIC_ACQUIRE) == tail) {
      __atomic_store_n(sq_tail_, tail, __ATOMIC_RELEASE);
    }
    return err;
  }
}

int Uring::SubmitFutexWait(const int32_t* addr, int32_t expected,
                           uint64_t user_data) {
  return Submit(kOpFutexWait, static_cast<int32_t>(kFutex2SizeU32),
                reinterpret_cast<uintptr_t>(addr), static_cast<uint32_t>(expected),
                kFutexBitsetMatchAny, user_data);
}

int Uring::SubmitCancel(uint64_t target, uint64_t user_data) {
  return Submit(kOpAsyncCancel, -1, target, 0, 0, user_data);
}

bool Uring::Reap(uint64_t* user_data, int32_t* res) {
  if (fd_ < 0) return false;
  uint32_t head = *cq_head_;
  if (head == __atomic_load_n(cq_tail_, __ATOMIC_ACQUIRE)) return false;
  const Cqe* cqe = static_cast<const Cqe*>(cqes_) + (head & cq_mask_);
  *user_data = cqe->user_data;
  *res = cqe->res;
  __atomic_store_n(cq_head_, head + 1, __ATOMIC_RELEASE);
  return true;
}

void Uring::FlushOverflow() {
  if (fd_ < 0) return;
  if ((__atomic_load_n(sq_flags_, __ATOMIC_ACQUIRE) & kSqCqOverflow) == 0) return;
  syscall(SYS_io_uring_enter, fd_, 0, 0, kEnterGetEvents, nullptr, 0);
}

void Uring::Posted(std::vector<uint64_t>* out) const {
  if (fd_ < 0) return;
  uint32_t tail = __atomic_load_n(cq_tail_, __ATOMIC_ACQUIRE);
  for (uint32_t head = *cq_head_; head != tail; head++) {
    out->push_back((static_cast<const Cqe*>(cqes_) + (head & cq_mask_))->user_data);
  }
}

}  // namespace shmkit

#else  // !__linux__

namespace shmkit {
Uring::~Uring() {}
void Uring::Close() {}
bool Uring::Open(std::string* why) {
  *why = "io_uring is Linux only";
  return false;
}
int Uring::Submit(uint8_t, int32_t, uint64_t, uint64_t, uint64_t, uint64_t) { return 38; }
int Uring::SubmitFutexWait(const int32_t*, int32_t, uint64_t) { return 38; }
int Uring::SubmitCancel(uint64_t, uint64_t) { return 38; }
bool Uring::Reap(uint64_t*, int32_t*) { return false; }
void Uring::FlushOverflow() {}
void Uring::Posted(std::vector<uint64_t>*) const {}
}  // namespace shmkit

#endif
