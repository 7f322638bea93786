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
#include <napi.h>

#include <set>
#include <string>

#include "errors.h"
#include "platform.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>
#if defined(__APPLE__)
#include <sys/ucred.h>
#endif

namespace shmkit {
namespace {

constexpr int kSendBuffer = 1 << 20;

// The connected descriptors of one environment, closed at its teardown.
struct SocketData {
  std::set<int> owned;
};

// Reads (path: string, number) arguments, fills `address` and makes an
// AF_UNIX stream socket (close-on-exec). Returns the descriptor, or -1 with a
// JavaScript exception pending.
int OpenSocket(const Napi::CallbackInfo& info, const char* usage,
               std::string* path, sockaddr_un* address) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsNumber()) {
    ThrowArgType(env, usage);
    return -1;
  }
  *path = info[0].As<Napi::String>().Utf8Value();
  if (path->empty() || path->size() >= sizeof(address->sun_path) ||
      path->find('\0') != std::string::npos) {
    ThrowErrno(env, path->empty() ? ENOENT : ENAMETOOLONG, "socket", *path);
    return -1;
  }
  *address = sockaddr_un{};
  address->sun_family = AF_UNIX;
  path->copy(address->sun_path, path->size());
#if defined(SOCK_CLOEXEC)
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
#else
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd >= 0) fcntl(fd, F_SETFD, FD_CLOEXEC);
#endif
  if (fd < 0) ThrowErrno(env, errno, "socket", *path);
  return fd;
}

// The peer's effective uid and pid; false (errno set) if the OS cannot say.
bool PeerOf(int fd, uid_t* uid, pid_t* pid) {
#if defined(SO_PEERCRED) && defined(__linux__)
  struct ucred cred;
  socklen_t length = sizeof(cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &length) != 0) return false;
  *uid = cred.uid;
  *pid = cred.pid;
  return true;
#elif defined(__APPLE__) || defined(__FreeBSD__)
  gid_t gid;
  if (getpeereid(fd, uid, &gid) != 0) return false;
  *pid = 0;
#if defined(LOCAL_PEERPID)
  socklen_t length = sizeof(*pid);
  getsockopt(fd, SOL_LOCAL, LOCAL_PEERPID, pid, &length);
#endif
  return true;
#else
  errno = ENOSYS;
  return false;
#endif
}

bool FdArg(const Napi::CallbackInfo& info, size_t index, int* fd) {
  if (info.Length() <= index || !info[index].IsNumber()) return false;
  *fd = info[index].As<Napi::Number>().Int32Value();
  return *fd >= 0;
}

Napi::Value Listen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  sockaddr_un address;
  int fd = OpenSocket(info, "socketListen(path: string, backlog: number)", &path, &address);
  if (fd < 0) return env.Undefined();
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    int err = errno;
    close(fd);
    ThrowErrno(env, err, "bind", path);
    return env.Undefined();
  }
  if (listen(fd, info[1].As<Napi::Number>().Int32Value()) != 0) {
    int err = errno;
    close(fd);
    unlink(path.c_str());
    ThrowErrno(env, err, "listen", path);
    return env.Undefined();
  }
  return Napi::Number::New(env, fd);
}

Napi::Value Connect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SocketData* data = static_cast<SocketData*>(info.Data());
  std::string path;
  sockaddr_un address;
  int fd = OpenSocket(info, "socketConnect(path: string, sendTimeoutMs: number)", &path, &address);
  if (fd < 0) return env.Undefined();
  int rc;
  do {
    rc = connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    int err = errno;
    close(fd);
    ThrowErrno(env, err, "connect", path);
    return env.Undefined();
  }
  uid_t uid;
  pid_t pid;
  if (!PeerOf(fd, &uid, &pid)) {
    int err = errno;
    close(fd);
    ThrowErrno(env, err, "getsockopt", path, "cannot read the listener's credentials");
    return env.Undefined();
  }
  if (uid != geteuid()) {
    close(fd);
    ThrowErrno(env, EACCES, "connect", path, "the listening process belongs to another user");
    return env.Undefined();
  }
  // Room for a burst of lines while the reader sleeps (capped by the OS at
  // net.core.wmem_max; the default alone holds about 278 short lines).
  int sndbuf = kSendBuffer;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
  int64_t ms = info[1].As<Napi::Number>().Int64Value();
  if (ms > 0) {
    timeval timeout;
    timeout.tv_sec = static_cast<time_t>(ms / 1000);
    timeout.tv_usec = static_cast<suseconds_t>((ms % 1000) * 1000);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  }
#if defined(SO_NOSIGPIPE)
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof(one));
#endif
  data->owned.insert(fd);
  return Napi::Number::New(env, fd);
}

Napi::Value Send(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!FdArg(info, 0, &fd) || info.Length() < 2 || !info[1].IsString()) {
    ThrowArgType(env, "socketSend(fd: number, text: string)");
    return env.Undefined();
  }
  std::string text = info[1].As<Napi::String>().Utf8Value();
  size_t done = 0;
  while (done < text.size()) {
#if defined(MSG_NOSIGNAL)
    ssize_t n = send(fd, text.data() + done, text.size() - done, MSG_NOSIGNAL);
#else
    ssize_t n = send(fd, text.data() + done, text.size() - done, 0);
#endif
    if (n < 0) {
      if (errno == EINTR) continue;
      ThrowErrno(env, errno, "send", "");
      return env.Undefined();
    }
    done += static_cast<size_t>(n);
  }
  return env.Undefined();
}

// socketReceive(fd, waitMs) → string | null: what has arrived (waiting up to
// waitMs for something), '' if nothing has, null at end of stream. Never
// blocks longer than waitMs, even on a blocking descriptor.
Napi::Value Receive(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!FdArg(info, 0, &fd) || info.Length() < 2 || !info[1].IsNumber()) {
    ThrowArgType(env, "socketReceive(fd: number, waitMs: number)");
    return env.Undefined();
  }
  int wait_ms = info[1].As<Napi::Number>().Int32Value();
  pollfd ready = {fd, POLLIN, 0};
  int rc;
  do {
    rc = poll(&ready, 1, wait_ms > 0 ? wait_ms : 0);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) {
    ThrowErrno(env, errno, "poll", "");
    return env.Undefined();
  }
  if (rc == 0) return Napi::String::New(env, "");
  char buffer[256];
  ssize_t n;
  do {
    n = recv(fd, buffer, sizeof(buffer), MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Napi::String::New(env, "");
    ThrowErrno(env, errno, "recv", "");
    return env.Undefined();
  }
  if (n == 0) return env.Null();
  return Napi::String::New(env, buffer, static_cast<size_t>(n));
}

Napi::Value Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SocketData* data = static_cast<SocketData*>(info.Data());
  int fd;
  if (!FdArg(info, 0, &fd)) {
    ThrowArgType(env, "socketClose(fd: number)");
    return env.Undefined();
  }
  data->owned.erase(fd);
  close(fd);
  return env.Undefined();
}

Napi::Value Peer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!FdArg(info, 0, &fd)) {
    ThrowArgType(env, "socketPeer(fd: number)");
    return env.Undefined();
  }
  uid_t uid;
  pid_t pid;
  if (!PeerOf(fd, &uid, &pid)) {
    ThrowErrno(env, errno, "getsockopt", "");
    return env.Undefined();
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("uid", Napi::Number::New(env, static_cast<double>(uid)));
  result.Set("pid", Napi::Number::New(env, static_cast<double>(pid)));
  return result;
}

Napi::Value AcceptPending(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!FdArg(info, 0, &fd)) {
    ThrowArgType(env, "socketAcceptPending(fd: number)");
    return env.Undefined();
  }
  Napi::Array result = Napi::Array::New(env);
  for (uint32_t count = 0;;) {
    pollfd ready = {fd, POLLIN, 0};
    int rc = poll(&ready, 1, 0);
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0 || (ready.revents & POLLIN) == 0) break;
    int client = accept(fd, nullptr, nullptr);
    if (client < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      break;  // EAGAIN: another reader took it
    }
    fcntl(client, F_SETFD, FD_CLOEXEC);
    result.Set(count++, Napi::Number::New(env, client));
  }
  return result;
}

void CloseOwned(void* arg) {
  SocketData* data = static_cast<SocketData*>(arg);
  for (int fd : data->owned) close(fd);
  delete data;
}

}  // namespace

// POSIX-only exports: the sockets above.
void InitPlatform(Napi::Env env, Napi::Object exports) {
  SocketData* data = new SocketData();  // deleted by CloseOwned at teardown
  napi_add_env_cleanup_hook(env, CloseOwned, data);
  exports.Set("socketListen", Napi::Function::New(env, Listen, "socketListen"));
  exports.Set("socketConnect", Napi::Function::New(env, Connect, "socketConnect", data));
  exports.Set("socketSend", Napi::Function::New(env, Send, "socketSend"));
  exports.Set("socketReceive", Napi::Function::New(env, Receive, "socketReceive"));
  exports.Set("socketClose", Napi::Function::New(env, Close, "socketClose", data));
  exports.Set("socketPeer", Napi::Function::New(env, Peer, "socketPeer"));
  exports.Set("socketAcceptPending",
              Napi::Function::New(env, AcceptPending, "socketAcceptPending"));
}

}  // namespace shmkit
