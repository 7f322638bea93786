"""Named shared-memory segments, interoperable with shmkit (Node) and CPython's ``shared_memory``.

A segment is a POSIX shared-memory object (``shm_open('/' + name)``), the same
object Node's ``SharedMemory`` and CPython's ``multiprocessing.shared_memory``
use: a segment made by any of them can be attached by name from the others.

What differs from CPython's ``SharedMemory``:

- **Attaching never registers the segment with CPython's resource tracker**,
  so this process's exit never unlinks a segment it merely attached to (the
  trap of CPython 3.8-3.12, where the tracker unlinks at exit every segment
  the process opened). ``create()`` registers it (``track=True``, the
  default), as CPython does, so a crashed creator still cleans up.
- ``attach(name, readonly=True)`` maps the segment read-only (``PROT_READ``):
  ``buf`` is a read-only memoryview and no write can reach the segment.
- ``create(..., populate=True)`` (the default) reserves the pages at once
  (``posix_fallocate``), so a full ``/dev/shm`` is ``OSError(ENOSPC)`` here and
  never a ``SIGBUS`` when a page is first written.
"""
from __future__ import annotations

import mmap
import os
import secrets
import sys
from typing import Optional

from ._memory import address_of
from .errors import ShmkitError, os_error

try:
    import _posixshmem  # CPython's own shm_open/shm_unlink (POSIX builds)
except ImportError:  # pragma: no cover - Windows
    _posixshmem = None

_NAME_MAX = 30 if sys.platform == "darwin" else 255
_PREFIX = "psm_"


def _check_name(name: object) -> str:
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, not {type(name).__name__}")
    if not name or "/" in name or "\0" in name or len(name) > _NAME_MAX - 1:
        raise ShmkitError("ERR_INVALID_ARG_VALUE", f"invalid segment name {name!r}: 1 to {_NAME_MAX - 1} characters, no '/' or NUL")
    return name


#: Mappings closed while views of them were alive: unmapped once those views are gone.
_DEFERRED: list = []


def _retry_deferred() -> None:
    for m in list(_DEFERRED):
        try:
            m.close()
        except BufferError:
            continue
        _DEFERRED.remove(m)


class Segment:
    """One mapping of a named segment. Use :meth:`create` or :meth:`attach`.

    ``buf`` is a memoryview over exactly ``size`` bytes (read-only when
    ``readonly``). ``close()`` unmaps it (CPython's rule: it raises
    ``BufferError`` while views of it are alive, so release them first);
    ``unlink()`` removes the name.
    """

    __slots__ = ("_name", "_mmap", "_buf", "_size", "_readonly", "_address", "_tracked", "__weakref__")

    def __init__(self, name: str, fd: int, readonly: bool, tracked: bool) -> None:
        try:
            size = os.fstat(fd).st_size
            if size == 0:
                raise ShmkitError("ERR_SHM_EMPTY", f"segment {name!r} has size 0 (not created yet, or not a segment)")
            prot = mmap.PROT_READ if readonly else mmap.PROT_READ | mmap.PROT_WRITE
            self._mmap = mmap.mmap(fd, size, flags=mmap.MAP_SHARED, prot=prot)
        finally:
            os.close(fd)
        self._name = name
        self._size = size
        self._readonly = readonly
        self._tracked = tracked
        self._buf: Optional[memoryview] = memoryview(self._mmap)
        self._address = address_of(self._mmap)

    @classmethod
    def create(cls, size: int, name: Optional[str] = None, *, populate: bool = True, mode: int = 0o600, track: bool = True) -> "Segment":
        """A new segment of ``size`` bytes (zero-filled). ``name`` generated (``psm_…``) when omitted."""
        if _posixshmem is None:  # pragma: no cover
            raise ShmkitError("ERR_SHM_UNSUPPORTED_PLATFORM", "POSIX shared memory is not available on this platform")
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise ShmkitError("ERR_OUT_OF_RANGE", f"size must be a positive int, got {size!r}")
        generated = name is None
        while True:
            n = f"{_PREFIX}{secrets.token_hex(4)}" if generated else _check_name(name)
            try:
                fd = _posixshmem.shm_open("/" + n, os.O_CREAT | os.O_EXCL | os.O_RDWR, mode)
                break
            except FileExistsError as exc:
                if generated:
                    continue
                raise os_error(exc, f"a segment named {n!r} exists") from None
            except OSError as exc:
                raise os_error(exc, f"shm_open({n!r})") from None
        try:
            os.ftruncate(fd, size)
            if populate and hasattr(os, "posix_fallocate"):
                try:
                    os.posix_fallocate(fd, 0, size)
                except OSError as exc:
                    if exc.errno not in (getattr(os, "EOPNOTSUPP", 95), 22):  # a filesystem that cannot reserve
                        raise
        except OSError as exc:
            os.close(fd)
            _posixshmem.shm_unlink("/" + n)
            raise os_error(exc, f"creating segment {n!r} of {size} bytes") from None
        seg = cls(n, fd, False, track)
        if track:
            from multiprocessing import resource_tracker

            resource_tracker.register("/" + n, "shared_memory")
        return seg

    @classmethod
    def attach(cls, name: str, readonly: bool = False) -> "Segment":
        """Maps an existing segment by name, never registering it with CPython's resource tracker."""
        if _posixshmem is None:  # pragma: no cover
            raise ShmkitError("ERR_SHM_UNSUPPORTED_PLATFORM", "POSIX shared memory is not available on this platform")
        n = _check_name(name)
        _retry_deferred()
        try:
            fd = _posixshmem.shm_open("/" + n, os.O_RDONLY if readonly else os.O_RDWR, 0)
        except FileNotFoundError as exc:
            raise os_error(exc, f"no segment is named {n!r}") from None
        except OSError as exc:
            raise os_error(exc, f"shm_open({n!r})") from None
        return cls(n, fd, bool(readonly), False)

    @property
    def name(self) -> str:
        return self._name

    @property
    def size(self) -> int:
        return self._size

    @property
    def readonly(self) -> bool:
        return self._readonly

    @property
    def closed(self) -> bool:
        return self._buf is None

    @property
    def buf(self) -> memoryview:
        """The segment's bytes, in place (read-only when attached readonly)."""
        if self._buf is None:
            raise ShmkitError("ERR_SHM_CLOSED", f"segment {self._name!r} is closed")
        return self._buf

    @property
    def address(self) -> int:
        """The address of the mapping (for ctypes and futex calls); valid until close()."""
        self.buf  # noqa: B018 - raises when closed
        return self._address

    def view(self, fmt: str = "B") -> memoryview:
        """``buf`` cast to a struct format (``'i'``, ``'I'``, ``'Q'``, ``'d'``…), as Node's view()."""
        return self.buf.cast(fmt)

    def close(self, *, defer: bool = False) -> None:
        """Unmaps. Idempotent.

        While views of ``buf`` are alive this raises ``BufferError`` (CPython's rule),
        unless ``defer``: then the segment is closed for this API at once and unmapped
        as soon as the last view is gone (the views stay valid meanwhile). Rings and the
        bridge client close with ``defer``.
        """
        if self._buf is None:
            return
        try:
            self._buf.release()
            self._mmap.close()
        except BufferError:
            if not defer:
                self._buf = memoryview(self._mmap)  # still open: the caller's views keep it mapped
                raise
            _DEFERRED.append(self._mmap)
        self._buf = None
        _retry_deferred()

    def unlink(self) -> None:
        """Removes the name; mappings stay valid until closed. ``FileNotFoundError`` if already gone."""
        try:
            _posixshmem.shm_unlink("/" + self._name)
        except OSError as exc:
            raise os_error(exc, f"shm_unlink({self._name!r})") from None
        finally:
            if self._tracked:
                from multiprocessing import resource_tracker

                self._tracked = False
                resource_tracker.unregister("/" + self._name, "shared_memory")

    def __enter__(self) -> "Segment":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._buf is None else ("readonly" if self._readonly else "read-write")
        return f"Segment({self._name!r}, size={self._size}, {state})"
