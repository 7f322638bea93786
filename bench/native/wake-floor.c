// The physical floor of a cross-process wake-up on this machine, measured the
// way bench/suites/wakeup.js measures Node: a parent process stamps
// CLOCK_MONOTONIC and wakes a child that is blocked in the kernel; the child
// stamps when it runs again. No Node, no event loop: what is left is the
// kernel and the hypervisor.
//
//   wake-floor MODE SAMPLES        MODE: futex | pipe | epoll
//
//   futex  the child blocks in futex(FUTEX_WAIT) on a word of a MAP_SHARED
//          page; the parent stores and FUTEX_WAKEs (what wait() does)
//   pipe   the child blocks in read() on a pipe; the parent writes one byte
//   epoll  the child blocks in epoll_wait() on the pipe, then reads it (what
//          an event loop does)
//
// Before every wake the parent waits until /proc/<child>/syscall shows the
// child blocked in the expected system call. Prints one line of JSON:
// {"mode":…,"samples":[ns,…]}. Plain C (also valid C++): built by the bench
// with whatever compiler is there.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct Shared {
  int32_t wake;    // parent → child: the sample number to run
  int32_t ready;   // child → parent: the sample number it is about to wait for
  int64_t stamp;   // the child's stamp (ns) for the last sample
};

static int64_t Now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static long Futex(int32_t* addr, int op, int32_t val) {
  return syscall(SYS_futex, addr, op, val, NULL, NULL, 0);
}

// The number of the system call the child is blocked in, or -1.
static long BlockedIn(pid_t pid) {
  char path[64];
  char text[256];
  snprintf(path, sizeof path, "/proc/%d/syscall", (int)pid);
  int fd = open(path, O_RDONLY);
  if (fd < 0) return -1;
  ssize_t n = read(fd, text, sizeof text - 1);
  close(fd);
  if (n <= 0) return -1;
  text[n] = 0;
  return strtol(text, NULL, 10);
}

static void Child(struct Shared* s, const char* mode, int in, int samples) {
  int ep = -1;
  if (strcmp(mode, "epoll") == 0) {
    ep = epoll_create1(0);
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN;
    epoll_ctl(ep, EPOLL_CTL_ADD, in, &ev);
  }
  for (int i = 1; i <= samples; i++) {
    __atomic_store_n(&s->ready, i, __ATOMIC_SEQ_CST);
    if (mode[0] == 'f') {
      while (__atomic_load_n(&s->wake, __ATOMIC_SEQ_CST) != i) Futex(&s->wake, FUTEX_WAIT, i - 1);
    } else {
      char byte;
      if (ep >= 0) {
        struct epoll_event ev;
        while (epoll_wait(ep, &ev, 1, -1) != 1) {}
      }
      if (read(in, &byte, 1) != 1) _exit(3);
    }
    s->stamp = Now();
    __atomic_store_n(&s->ready, -i, __ATOMIC_SEQ_CST);  // stamped
    Futex(&s->ready, FUTEX_WAKE, 1);
  }
  _exit(0);
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: wake-floor futex|pipe|epoll SAMPLES\n");
    return 2;
  }
  const char* mode = argv[1];
  int samples = atoi(argv[2]);
  if ((strcmp(mode, "futex") && strcmp(mode, "pipe") && strcmp(mode, "epoll")) || samples < 1) {
    fprintf(stderr, "wake-floor: bad arguments\n");
    return 2;
  }
  long expected = mode[0] == 'f' ? SYS_futex : mode[0] == 'p' ? SYS_read : SYS_epoll_wait;
#ifdef SYS_epoll_pwait
  long expected2 = mode[0] == 'e' ? SYS_epoll_pwait : expected;
#else
  long expected2 = expected;
#endif
  struct Shared* s = (struct Shared*)mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (s == MAP_FAILED) return 1;
  memset(s, 0, sizeof *s);
  int fds[2];
  if (pipe(fds) != 0) return 1;
  pid_t pid = fork();
  if (pid < 0) return 1;
  if (pid == 0) {
    close(fds[1]);
    Child(s, mode, fds[0], samples);
  }
  close(fds[0]);
  int64_t* out = (int64_t*)calloc((size_t)samples, sizeof *out);
  struct timespec pause = {0, 1000000};  // 1 ms: the child settles, the CPUs idle
  for (int i = 1; i <= samples; i++) {
    for (int tries = 0;; tries++) {
      nanosleep(&pause, NULL);
      if (__atomic_load_n(&s->ready, __ATOMIC_SEQ_CST) != i) continue;
      long nr = BlockedIn(pid);
      if (nr == expected || nr == expected2) break;
      if (tries > 5000) {
        fprintf(stderr, "wake-floor: the child never blocked (sample %d)\n", i);
        kill(pid, SIGKILL);
        return 1;
      }
    }
    int64_t t0 = Now();
    if (mode[0] == 'f') {
      __atomic_store_n(&s->wake, i, __ATOMIC_SEQ_CST);
      Futex(&s->wake, FUTEX_WAKE, 1);
    } else {
      char byte = 1;
      if (write(fds[1], &byte, 1) != 1) return 1;
    }
    // -i once stamped (and i + 1 soon after: the child goes on at once)
    while (__atomic_load_n(&s->ready, __ATOMIC_SEQ_CST) == i) Futex(&s->ready, FUTEX_WAIT, i);
    out[i - 1] = s->stamp - t0;
  }
  int status = 0;
  waitpid(pid, &status, 0);
  printf("{\"mode\":\"%s\",\"samples\":[", mode);
  for (int i = 0; i < samples; i++) printf("%s%lld", i ? "," : "", (long long)out[i]);
  printf("]}\n");
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
