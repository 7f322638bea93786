"""shmkit for Python: named shared memory, FrameRing and wait/notify compatible with shmkit's Node
packages, and a peer of the ``@shmkit/electron-bridge`` host (``shmkit.connect()``).

Standard library only; NumPy is used when installed (``Frame.array()``), never required.
"""
from .errors import BridgeError, RingWriterGone, ShmkitError
from .framering import PIXEL_FORMATS, Frame, FrameRing, format_ring, size_for
from .futex import notify, wait
from .segment import Segment

__version__ = "0.1.0"

__all__ = [
    "BridgeError",
    "Frame",
    "FrameRing",
    "PIXEL_FORMATS",
    "RingWriterGone",
    "Segment",
    "ShmkitError",
    "connect",
    "format_ring",
    "notify",
    "size_for",
    "wait",
]


def connect(timeout: float = 10.0):
    """Connects to the bridge host that started this process (see :mod:`shmkit.bridge`)."""
    from .bridge import connect as _connect

    return _connect(timeout=timeout)
