"""Cross-process wait/notify on a 32-bit word of a segment: Linux futexes through ctypes.

The same protocol as ``wait``/``notify`` of ``@shmkit/shm`` (Node), and
compatible with it: a word changed and notified by a Node process wakes a
Python waiter, and the reverse. Change the word first, then ``notify()``; a
waiter sleeps only while the word still holds ``expected``, so a change made
before it went to sleep is never missed. The futex is the shared (not
process-private) kind, keyed by the page, so any process mapping the segment
can wake the others. The call releases the GIL while it sleeps.
"""
from __future__ import annotations

import ctypes
import errno
import os
import platform
import sys
import time
from typing import Optional

from .errors import ShmkitError

_SYS_FUTEX = {"x86_64": 202, "amd64": 202, "aarch64": 98, "arm64": 98, "i386": 240, "i686": 240, "armv7l": 240}.get(platform.machine().lower())
_FUTEX_WAIT = 0
_FUTEX_WAKE = 1
_INT_MAX = 0x7FFFFFFF

_libc = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
if _libc is not None:
    _syscall = _libc.syscall
    _syscall.restype = ctypes.c_long


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


def available() -> Optional[str]:
    """None when futexes can be used here, else why not."""
    if _libc is None:
        return f"cross-process wait/notify needs Linux futexes (this is {sys.platform})"
    if _SYS_FUTEX is None:
        return f"no futex system call number known for {platform.machine()}"
    return None


def _word_address(segment, byte_offset: int) -> int:
    if not isinstance(byte_offset, int) or isinstance(byte_offset, bool):
        raise TypeError(f"byte_offset must be an int, not {type(byte_offset).__name__}")
    if byte_offset < 0 or byte_offset % 4 != 0 or byte_offset + 4 > segment.size:
        raise ShmkitError("ERR_OUT_OF_RANGE", f"byte_offset must be a multiple of 4 within the segment's {segment.size} bytes, got {byte_offset}")
    why = available()
    if why:
        raise ShmkitError("ERR_SHM_UNSUPPORTED_PLATFORM", why)
    return segment.address + byte_offset


def load(segment, byte_offset: int) -> int:
    """The int32 at ``byte_offset``, read in one aligned load."""
    return segment.buf[byte_offset : byte_offset + 4].cast("i")[0]


def wait(segment, byte_offset: int, expected: int, timeout: Optional[float] = None) -> str:
    """Sleeps while the int32 at ``byte_offset`` holds ``expected``, until notified or ``timeout`` seconds.

    Returns ``'ok'`` (woken), ``'not-equal'`` (the word did not hold ``expected``)
    or ``'timed-out'`` -- the strings of Node's ``wait()``. Blocks the calling
    thread (not the others: the GIL is released meanwhile).
    """
    address = _word_address(segment, byte_offset)
    expected = ((int(expected) + 2**31) % 2**32) - 2**31  # ToInt32, as Atomics.wait does
    deadline = None if timeout is None else time.monotonic() + max(0.0, float(timeout))
    while True:
        ts = None
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                return "timed-out"
            ts = _Timespec(int(left), int((left - int(left)) * 1e9))
        rc = _syscall(_SYS_FUTEX, ctypes.c_void_p(address), _FUTEX_WAIT, ctypes.c_int(expected), ctypes.byref(ts) if ts else None, None, 0)
        if rc == 0:
            return "ok"
        err = ctypes.get_errno()
        if err == errno.EAGAIN:
            return "not-equal"
        if err == errno.ETIMEDOUT:
            return "timed-out"
        if err == errno.EINTR:
            continue  # a signal (Python runs its handler when we return to it); sleep again for the time left
        raise OSError(err, f"futex wait: {os.strerror(err)}")


def notify(segment, byte_offset: int, count: Optional[int] = None) -> int:
    """Wakes up to ``count`` waiters (all by default) on the int32 at ``byte_offset``, in any process. Returns how many."""
    address = _word_address(segment, byte_offset)
    n = _INT_MAX if count is None else max(0, min(int(count), _INT_MAX))
    rc = _syscall(_SYS_FUTEX, ctypes.c_void_p(address), _FUTEX_WAKE, ctypes.c_int(n), None, None, 0)
    if rc < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"futex wake: {os.strerror(err)}")
    return int(rc)
