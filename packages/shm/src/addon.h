// Per-environment state of the addon (one per main thread, worker or Electron
// context), stored with env.SetInstanceData so nothing is static.
#ifndef SHMKIT_ADDON_H_
#define SHMKIT_ADDON_H_

#include <napi.h>

#include <cstdint>
#include <string>
#include <unordered_map>

namespace shmkit {

struct AddonData {
  // Mapping's constructor, to tell a real Mapping from any other object.
  Napi::FunctionReference mapping_constructor;
  // Asynchronous waits in flight (src/posix/futex.cc owns the Waiter objects).
  std::unordered_map<uint32_t, void*> waiters;
  uint32_t last_waiter_id = 0;
  // The io_uring backend of waitAsync (src/posix/wait_uring.cc owns it), set up at
  // the first waitAsync; null when it could not be had (why: uring_why) or
  // once the environment is being torn down.
  void* uring = nullptr;
  bool uring_tried = false;
  std::string uring_why;
  // Windows: the waiter tables and waiting thread of this environment
  // (src/win32/wait.cc owns it).
  void* wait_state = nullptr;
  // Tests set this to make waitAsync use a thread per wait, as where
  // io_uring is missing or disabled.
  bool simulate_no_uring = false;
  // Set once napi_create_external_arraybuffer has answered
  // napi_no_external_buffers_allowed in this environment (Electron's memory
  // cage); later mappings go straight to the overlay strategy.
  bool external_refused = false;
  // Tests set this to make the environment behave as if external buffers were
  // refused, so the automatic fallback is exercised on plain Node.
  bool simulate_external_refused = false;
  // Tests set this to make the overlay strategy fail, so the fallback to the
  // copy strategy is exercised.
  bool simulate_overlay_failure = false;
  // Tests set this to make starting a waitAsync thread fail as pthread_create
  // does when the process is out of threads (EAGAIN).
  bool simulate_thread_failure = false;
  // Tests set this (milliseconds, 0: the default) to make waitAsync threads
  // sleep in longer slices, so that a cancellation that waited for the end of
  // a slice instead of waking the thread shows.
  int64_t wait_slice_ms = 0;
  // Tests set this to make waitAsync threads sleep as on kernels without
  // futex_waitv (on the shared word only).
  bool simulate_no_waitv = false;
};

}  // namespace shmkit

#endif  // SHMKIT_ADDON_H_
