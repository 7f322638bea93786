// Segment operations off the JavaScript thread, on libuv's threadpool:
//
//   createUnmapped(name, mode, size, memoryRoom, callback)
//       creates a segment (O_CREAT | O_EXCL), reserves its pages with the same
//       room checks as a populate (ENOSPC / ENOMEM before anything is
//       allocated), and closes it without mapping it; callback(error) or
//       callback(null, { size, allocated }), `allocated` being what the
//       filesystem charged (st_blocks: whole pages, or huge pages). On
//       Windows the handle is held by this process instead (platform.h:
//       KeepUnmapped), since closing it would destroy the segment.
//   unlinkAsync(name, callback)
//       UnlinkSegment(name) (shm_unlink("/" + name); on Windows: release this
//       process's hold); callback(error | null).
//
// They exist for processes that make segments for others (the bridge's host):
// reserving 1 GiB on tmpfs is the kernel zeroing 1 GiB (0.1–0.3 s) and
// unlinking it frees as much (about 70 ms), which must not stall an event loop
// that serves every window of an app.
//
// Ownership: each call owns its request (the name, copied) until its callback
// has run; the descriptor a create opens is closed before the work completes.
// A create that fails leaves nothing behind (OpenSegment's rule). Errors reach
// the callback in the addon's raw shape (errno, syscall, path, detail, space),
// which lib/core/binding.ts converts as it does for the synchronous calls.
#ifndef SHMKIT_SEGMENT_ASYNC_H_
#define SHMKIT_SEGMENT_ASYNC_H_

#include <napi.h>

namespace shmkit {

void InitSegmentAsync(Napi::Env env, Napi::Object exports);

}  // namespace shmkit

#endif  // SHMKIT_SEGMENT_ASYNC_H_
