// A minimal io_uring, just enough for futex waits that an event loop can poll:
// IORING_OP_FUTEX_WAIT (Linux 6.7) and IORING_OP_ASYNC_CANCEL, submitted and
// reaped on one thread (the JavaScript thread that owns the ring).
//
// Why: a futex wait submitted through io_uring completes inside the kernel
// when any process FUTEX_WAKEs the word, and the completion makes the ring's
// descriptor readable. The event loop polls that descriptor like a socket, so
// a notify wakes the loop directly, as a byte through a pipe does, instead of
// waking a waiting thread that then wakes the loop.
//
// The kernel's ABI is declared here rather than taken from <linux/io_uring.h>
// because the headers of many distributions (Debian 12's among them) predate
// the futex opcodes; the layouts below are the kernel's and never change.
// Nothing here needs liburing.
#ifndef SHMKIT_URING_H_
#define SHMKIT_URING_H_

#include <cstdint>
#include <string>
#include <vector>

namespace shmkit {

class Uring {
 public:
  Uring() = default;
  ~Uring();
  Uring(const Uring&) = delete;
  Uring& operator=(const Uring&) = delete;

  // Sets the ring up and checks that the kernel has every opcode needed.
  // False (and *why filled in) when io_uring is missing, disabled by policy
  // (/proc/sys/kernel/io_uring_disabled, a seccomp filter) or too old.
  bool Open(std::string* why);
  int fd() const { return fd_; }

  // Queues FUTEX_WAIT on a shared (not process-private) 32-bit word and
  // submits it. 0, or an errno. Before this returns the kernel has either
  // queued the wait on the futex or posted its completion (-EAGAIN when the
  // word no longer held `expected`).
  int SubmitFutexWait(const int32_t* addr, int32_t expected, uint64_t user_data);
  // Asks the kernel to cancel the request with `target` (its completion then
  // arrives with -ECANCELED unless it had completed already). 0 or an errno.
  int SubmitCancel(uint64_t target, uint64_t user_data);

  // Takes the next completion, if any: true with its user_data and result.
  bool Reap(uint64_t* user_data, int32_t* res);
  // Moves completions the kernel kept aside (the completion queue was full)
  // into the queue; call when Reap() finds nothing while some are expected.
  void FlushOverflow();
  // The user_data of completions posted and not yet reaped.
  void Posted(std::vector<uint64_t>* out) const;

 private:
  int Submit(uint8_t opcode, int32_t fd, uint64_t addr, uint64_t addr2,
             uint64_t addr3, uint64_t user_data);
  void Close();

  int fd_ = -1;
  void* ring_ = nullptr;  // submission and completion rings (one mapping)
  size_t ring_size_ = 0;
  void* sqes_ = nullptr;
  size_t sqes_size_ = 0;
  uint32_t* sq_head_ = nullptr;
  uint32_t* sq_tail_ = nullptr;
  uint32_t* sq_flags_ = nullptr;
  uint32_t sq_mask_ = 0;
  uint32_t* sq_array_ = nullptr;
  uint32_t* cq_head_ = nullptr;
  uint32_t* cq_tail_ = nullptr;
  uint32_t cq_mask_ = 0;
  void* cqes_ = nullptr;
};

}  // namespace shmkit

#endif  // SHMKIT_URING_H_
