// Unix stream sockets for the crash-cleanup tracker (lib/lifecycle/tracker*.ts)
// and the SharedMemoryManager's server: the few calls Node's net module cannot
// make synchronously or does not expose.
//
//   socketListen(path, backlog)       → fd   bind + listen, close-on-exec
//   socketConnect(path, sendTimeoutMs) → fd  blocking connect; the listener
//                                            must be this effective uid
//   socketSend(fd, text)                     every byte into the kernel or throw
//   socketReceive(fd, waitMs) → string|null  what has arrived ('' none yet,
//                                            null at end of stream)
//   socketClose(fd)
//   socketPeer(fd)      → { uid, pid }       the peer's credentials
//   socketAcceptPending(fd) → fd[]           connections queued now, never blocks
//
// Ownership: a descriptor returned by socketConnect belongs to the environment
// that made it (main thread or worker) until socketClose; when the environment
// is torn down (a worker ends or is terminated) its descriptors are closed, so
// the peer learns at once that this environment is gone. Descriptors from
// socketListen and socketAcceptPending belong to the caller.
#ifndef SHMKIT_SOCKET_H_
#define SHMKIT_SOCKET_H_

#include <napi.h>

namespace shmkit {

void InitSocket(Napi::Env env, Napi::Object exports);

}  // namespace shmkit

#endif  // SHMKIT_SOCKET_H_
