"""Errors with a stable ``code``, the same codes as shmkit's Node packages.

Match on ``error.code``, never on the message. OS errors keep Python's own
exception types (``FileNotFoundError``, ``FileExistsError``, ``OSError`` for
``ENOSPC``…), with ``code`` set to the errno name so code written against the
Node API can match the same strings.
"""
from __future__ import annotations

import errno as _errno


class ShmkitError(Exception):
    """An error of shmkit's own, with a stable ``code`` (e.g. ``ERR_SHM_RING_FORMAT``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code

    def __str__(self) -> str:  # the code first, as Node prints it
        return f"{self.code}: {self.args[0]}"


class RingWriterGone(ShmkitError):
    """The writer of a FrameRing died without closing it (``ERR_SHM_RING_WRITER_GONE``)."""

    def __init__(self, message: str) -> None:
        super().__init__("ERR_SHM_RING_WRITER_GONE", message)


class BridgeError(ShmkitError):
    """An error reply of the bridge host, or a failure of the channel to it (``ERR_SHM_BRIDGE_*``)."""


def os_error(exc: OSError, what: str) -> OSError:
    """``exc`` with ``code`` set to its errno name and ``what`` in its message."""
    name = _errno.errorcode.get(exc.errno or 0, "EIO")
    out = type(exc)(exc.errno, f"{exc.strerror}: {what}")
    out.code = name  # type: ignore[attr-defined]
    return out
