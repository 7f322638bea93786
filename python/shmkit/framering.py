"""FrameRing: a single-writer, many-reader ring of frame slots, by docs/frame-ring-layout.md.

The same binary layout, seqlock, drop accounting and writer-gone detection as
``FrameRing`` of ``@shmkit/shm`` (Node): a Python writer streams to Node
readers (and Electron windows through the bridge), and a Node writer to Python
readers.

Frames are views of the slot in place (``frame.data``, a read-only
memoryview; ``frame.array()`` a NumPy array over it when NumPy is installed).
**How long a frame's view is valid:** until the writer starts to overwrite its
slot, which it may do ``slots - 1`` publishes later at the earliest. Use the
data, *then* call ``frame.valid()``: True means nothing you read was torn. To
keep a frame longer, copy it (``bytes(frame.data)``, ``frame.array().copy()``)
and check ``valid()`` after the copy.
"""
from __future__ import annotations

import os
import time
import warnings
from typing import Iterator, Optional, Union

from . import futex
from ._memory import ORDERED
from .errors import RingWriterGone, ShmkitError
from .segment import Segment

MAGIC = 0x474E5246
VERSION = 1
HEADER_BYTES = 128
SLOT_HEADER_BYTES = 64
ALIGN = 4096
MAX_ID = 0x7FFFFFFF
MAX_SLOTS = 2**20

# header offsets
H_MAGIC, H_VERSION, H_HEADER_BYTES, H_SLOT_COUNT, H_SLOT_HEADER_BYTES = 0, 4, 6, 8, 12
H_SLOT_BYTES, H_SLOT_STRIDE, H_PAYLOAD_OFFSET = 16, 24, 32
H_PUBLISH_WORD, H_WRITER_PID, H_WRITER_STATE, H_LATEST_SLOT, H_PUBLISH_COUNT = 40, 44, 48, 52, 56
H_WRITER_START, H_WRITER_TID = 64, 72
# slot header offsets
S_SEQ, S_PIXEL_FORMAT, S_FRAME_NUMBER, S_TIMESTAMP = 0, 4, 8, 16
S_WIDTH, S_HEIGHT, S_STRIDE, S_BYTE_LENGTH = 24, 28, 32, 40

WRITER_OPEN, WRITER_CLOSED = 1, 2
#: How often a reader waiting for a frame checks that the writer still exists (seconds), as Node's.
LIVENESS_INTERVAL = 0.5

PIXEL_FORMATS = {"raw": 0, "rgba8": 1, "bgra8": 2, "rgb8": 3, "gray8": 4, "yuv420p": 5, "nv12": 6}
_FORMAT_NAMES = {v: k for k, v in PIXEL_FORMATS.items()}
_BYTES_PER_PIXEL = {1: 4, 2: 4, 3: 3, 4: 1, 5: 1, 6: 1}

_warned_order = False


def _round_up(n: int, to: int) -> int:
    return (n + to - 1) // to * to


def size_for(slots: int, slot_bytes: int) -> int:
    """The segment size of a ring of ``slots`` slots of ``slot_bytes`` bytes (as Node's ``FrameRing.sizeFor``)."""
    _check_geometry(slots, slot_bytes)
    return _round_up(HEADER_BYTES + SLOT_HEADER_BYTES * slots, ALIGN) + _round_up(slot_bytes, ALIGN) * slots


def _check_geometry(slots: object, slot_bytes: object) -> None:
    if not isinstance(slots, int) or isinstance(slots, bool) or not 2 <= slots <= MAX_SLOTS:
        raise ShmkitError("ERR_OUT_OF_RANGE", f"slots must be an int from 2 to {MAX_SLOTS}, got {slots!r}")
    if not isinstance(slot_bytes, int) or isinstance(slot_bytes, bool) or slot_bytes < 1:
        raise ShmkitError("ERR_OUT_OF_RANGE", f"slot_bytes must be a positive int, got {slot_bytes!r}")


def _process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # exists, another user's
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        state = stat[stat.rindex(b")") + 2 : stat.rindex(b")") + 3]
        return state in (b"Z", b"X")  # a zombie has exited
    except (OSError, ValueError):
        return False


class Frame:
    """A frame in its slot: metadata, the payload in place, and the seqlock check."""

    __slots__ = ("frame_number", "timestamp", "width", "height", "stride", "pixel_format", "byte_length", "dropped", "data", "_ring", "_seq_index", "_seq")

    def __init__(self, ring: "FrameRing", raw: dict, dropped: int) -> None:
        self.frame_number: int = raw["frame_number"]
        self.timestamp: float = raw["timestamp"]
        self.width: int = raw["width"]
        self.height: int = raw["height"]
        self.stride: int = raw["stride"]
        code = raw["pixel_format"]
        self.pixel_format: Union[str, int] = _FORMAT_NAMES.get(code, code)
        self.byte_length: int = raw["byte_length"]
        self.dropped = dropped
        self.data: memoryview = ring._payload(raw["index"], raw["byte_length"]).toreadonly()
        self._ring = ring
        self._seq_index = raw["seq_index"]
        self._seq = raw["seq"]

    def valid(self) -> bool:
        """True while the writer has not started to overwrite this frame's slot: check it *after* using ``data``."""
        ring = self._ring
        if ring.closed:
            return False
        ok = ring._words[self._seq_index] == self._seq
        if not ok:
            ring._rejected += 1
        return ok

    def array(self):
        """The frame as a NumPy array over the slot (no copy): (height, width, channels) for pixel formats, else 1-D bytes.

        Read-only. Needs NumPy (``ImportError`` without it). Valid as ``data`` is: check ``valid()`` after use.
        """
        import numpy as np  # optional dependency

        fmt = self.pixel_format
        bpp = _BYTES_PER_PIXEL.get(PIXEL_FORMATS[fmt]) if isinstance(fmt, str) and fmt in PIXEL_FORMATS else None
        w, h, stride = self.width, self.height, self.stride
        if bpp is None or fmt in ("yuv420p", "nv12") or w == 0 or h == 0 or stride < w * bpp or (h - 1) * stride + w * bpp > self.byte_length:
            return np.frombuffer(self.data, dtype=np.uint8)
        if bpp == 1:
            return np.ndarray(shape=(h, w), dtype=np.uint8, buffer=self.data, strides=(stride, 1))
        return np.ndarray(shape=(h, w, bpp), dtype=np.uint8, buffer=self.data, strides=(stride, bpp, 1))

    def __repr__(self) -> str:
        return f"Frame({self.frame_number}, {self.width}x{self.height} {self.pixel_format}, {self.byte_length} bytes, dropped={self.dropped})"


class FrameRing:
    """Either end of a ring. ``FrameRing.create()`` makes a ring and its writer; ``FrameRing.attach()`` a reader,
    or (``writer=True``) the writer end of a ring formatted for this process (a bridge host's ``create_frame_ring``).
    """

    def __init__(self, segment: Segment, is_writer: bool, owns_segment: bool = True) -> None:
        global _warned_order
        if not ORDERED and not _warned_order:
            _warned_order = True
            warnings.warn("shmkit's pure-Python FrameRing relies on x86-64 memory ordering; on this CPU frames may be torn undetected", RuntimeWarning, stacklevel=3)
        self.segment = segment
        self.is_writer = is_writer
        self._owns = owns_segment
        g = _read_geometry(segment)  # before any view is kept: a refused segment closes cleanly
        self._words = segment.buf.cast("I")  # every u32 of the segment (seq words, header words)
        self._quads = segment.buf[: (segment.size // 8) * 8].cast("Q")
        self.slot_count: int = g["slots"]
        self.slot_bytes: int = g["slot_bytes"]
        self._stride: int = g["stride"]
        self._payload_offset: int = g["payload_offset"]
        self._writer_pid: int = g["writer_pid"]
        self._writer_tid: int = g["writer_tid"]
        self._closed = False
        self._acquired = -1
        self._received = 0
        self._dropped = 0
        self._rejected = 0
        self._last = -1

    # ---- making and opening -------------------------------------------------------------
    @classmethod
    def create(cls, slots: int, slot_bytes: int, name: Optional[str] = None, *, populate: bool = True, track: bool = True) -> "FrameRing":
        """A new ring, and this process its writer (``name`` generated when omitted)."""
        size = size_for(slots, slot_bytes)
        seg = Segment.create(size, name, populate=populate, track=track)
        try:
            format_ring(seg, slots, slot_bytes, writer_pid=os.getpid(), writer_tid=_thread_id(), writer_start_time=_process_start_ms())
            return cls(seg, True)
        except BaseException:
            seg.close()
            seg.unlink()
            raise

    @classmethod
    def attach(cls, name: str, *, readonly: Optional[bool] = None, writer: bool = False) -> "FrameRing":
        """A reader (read-only unless ``readonly=False``), or the writer end of a ring formatted for this process."""
        if writer and readonly:
            raise ShmkitError("ERR_INVALID_ARG_VALUE", "the writer end is read-write: readonly must be False or None")
        seg = Segment.attach(name, readonly=not writer and readonly is not False)
        try:
            return cls.from_segment(seg, writer=writer, owns_segment=True)
        except BaseException:
            seg.close(defer=True)
            raise

    @classmethod
    def from_segment(cls, segment: Segment, *, writer: bool = False, owns_segment: bool = False) -> "FrameRing":
        """A ring end over a segment already mapped (the bridge client's attachments). ``close()`` closes the segment only when it owns it."""
        ring = cls(segment, writer, owns_segment)
        problem = None
        if writer:
            if segment.readonly:
                problem = ShmkitError("ERR_SHM_READONLY", f"{segment.name}: the writer end needs a read-write mapping")
            elif ring._writer_pid != os.getpid():
                problem = ShmkitError("ERR_SHM_RING_STATE", f"{segment.name}'s writer is process {ring._writer_pid}, not this one ({os.getpid()})")
            elif ring.writer_closed:
                problem = ShmkitError("ERR_SHM_RING_STATE", f"{segment.name} was closed by its writer")
        if problem is not None:
            ring._words.release()
            ring._quads.release()
            raise problem
        return ring

    # ---- state ------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.segment.name

    @property
    def closed(self) -> bool:
        return self._closed or self.segment.closed


    @property
    def publish_count(self) -> int:
        return self._quads[H_PUBLISH_COUNT // 8]

    @property
    def writer_pid(self) -> int:
        return self._writer_pid

    @property
    def writer_closed(self) -> bool:
        return self._words[H_WRITER_STATE // 4] == WRITER_CLOSED

    @property
    def writer_alive(self) -> bool:
        """False once the writer closed the ring or its process (or, Linux, its thread) is gone."""
        if self.closed or self.writer_closed:
            return False
        pid = self._writer_pid
        if _process_gone(pid):
            return False
        tid = self._writer_tid
        return tid in (0, pid) or not os.path.isdir(f"/proc/{pid}") or os.path.isdir(f"/proc/{pid}/task/{tid}")

    @property
    def stats(self) -> dict:
        """Frames received, skipped (dropped) and rejected as torn by this reader."""
        return {"received": self._received, "dropped": self._dropped, "rejected": self._rejected}

    # ---- writer -------------------------------------------------------------------------------
    def acquire(self) -> memoryview:
        """The next slot's whole payload, writable: fill it in place, then :meth:`publish`."""
        self._check_writer()
        if self._acquired >= 0:
            raise ShmkitError("ERR_SHM_RING_STATE", "a slot is already acquired: publish() it first")
        index = self.publish_count % self.slot_count
        si = self._seq_index(index)
        seq = self._words[si]
        self._words[si] = (seq + 1 if seq % 2 == 0 else seq + 2) & 0xFFFFFFFF  # odd: being written
        self._acquired = index
        return self._payload(index, self.slot_bytes)

    def publish(self, width: int = 0, height: int = 0, *, stride: Optional[int] = None, pixel_format: Union[str, int] = "raw", timestamp: Optional[float] = None, byte_length: Optional[int] = None) -> int:
        """Makes the acquired slot the newest frame and wakes the readers. Returns its frame number."""
        self._check_writer()
        if self._acquired < 0:
            raise ShmkitError("ERR_SHM_RING_STATE", "publish() needs a slot from acquire()")
        meta = self._check_meta(width, height, stride, pixel_format, timestamp, byte_length)
        index = self._acquired
        number = self.publish_count
        base = HEADER_BYTES + SLOT_HEADER_BYTES * index
        w, q = self._words, self._quads
        w[(base + S_PIXEL_FORMAT) // 4] = meta["pixel_format"]
        q[(base + S_FRAME_NUMBER) // 8] = number
        self.segment.buf[base + S_TIMESTAMP : base + S_TIMESTAMP + 8].cast("d")[0] = meta["timestamp"]
        w[(base + S_WIDTH) // 4] = meta["width"]
        w[(base + S_HEIGHT) // 4] = meta["height"]
        w[(base + S_STRIDE) // 4] = meta["stride"]
        q[(base + S_BYTE_LENGTH) // 8] = meta["byte_length"]
        si = self._seq_index(index)
        w[si] = (w[si] + 1) & 0xFFFFFFFF  # even: stable
        w[H_LATEST_SLOT // 4] = index
        q[H_PUBLISH_COUNT // 8] = number + 1
        w[H_PUBLISH_WORD // 4] = (w[H_PUBLISH_WORD // 4] + 1) & 0xFFFFFFFF
        self._acquired = -1
        futex.notify(self.segment, H_PUBLISH_WORD)
        return number

    def write(self, data, width: int = 0, height: int = 0, **meta) -> int:
        """acquire(), copy ``data`` (any bytes-like object) in, publish(). Returns the frame number."""
        src = memoryview(data).cast("B")
        if src.nbytes > self.slot_bytes:
            raise ShmkitError("ERR_OUT_OF_RANGE", f"{src.nbytes} bytes do not fit a slot of {self.slot_bytes}")
        meta.setdefault("byte_length", src.nbytes)
        self._check_meta(width, height, meta.get("stride"), meta.get("pixel_format", "raw"), meta.get("timestamp"), meta["byte_length"])
        slot = self.acquire()
        slot[: src.nbytes] = src
        return self.publish(width, height, **meta)

    # ---- reader -------------------------------------------------------------------------------
    def latest(self) -> Optional[Frame]:
        """The newest complete frame (in place), or None if none has been published."""
        self._check_open()
        raw = self._read_newest()
        return None if raw is None else self._deliver(raw)

    def frames(self, *, include_latest: bool = True, timeout: Optional[float] = None) -> Iterator[Frame]:
        """Every new frame as it is published; a slow reader skips to the newest (``frame.dropped`` counts the skipped).

        Sleeps on the ring's futex word between frames. Ends when the writer closes the ring, or after
        ``timeout`` seconds without a frame (None: never); raises :class:`RingWriterGone` when the
        writer's process disappears without closing.
        """
        self._check_open()
        if not include_latest:
            self._last = max(self._last, self.publish_count - 1)
        return self._frames(timeout)

    def _frames(self, timeout: Optional[float]) -> Iterator[Frame]:
        check_liveness = True
        idle_since = time.monotonic()
        while not self.closed:
            word = self._words[H_PUBLISH_WORD // 4]
            closed = self.writer_closed  # read before looking: a frame published just before closing is delivered
            frame = self._next()
            if frame is None and closed:
                return
            if frame is None and check_liveness and not self.writer_alive:
                frame = self._next()
                # writer_alive is also False once the writer closed: a close that came after
                # `closed` was read above is a clean end, never a writer gone
                if frame is None and self.writer_closed:
                    return
                if frame is None:
                    raise RingWriterGone(f"the writer of {self.name} (pid {self._writer_pid}) is gone")
            if frame is not None:
                yield frame
                idle_since = time.monotonic()
                continue
            wait_for = LIVENESS_INTERVAL
            if timeout is not None:
                left = timeout - (time.monotonic() - idle_since)
                if left <= 0:
                    return
                wait_for = min(wait_for, left)
            signed = word - 2**32 if word >= 2**31 else word
            result = futex.wait(self.segment, H_PUBLISH_WORD, signed, wait_for)
            check_liveness = result == "timed-out"

    # ---- closing ------------------------------------------------------------------------------
    def close(self) -> None:
        """Writer: marks the ring closed (readers' frames() end) and wakes them. Both: unmaps (when it owns the segment)."""
        if self._closed:
            return
        if self.is_writer and not self.segment.closed:
            self._words[H_WRITER_STATE // 4] = WRITER_CLOSED
            self._words[H_PUBLISH_WORD // 4] = (self._words[H_PUBLISH_WORD // 4] + 1) & 0xFFFFFFFF
            futex.notify(self.segment, H_PUBLISH_WORD)
        self._closed = True
        self._words.release()
        self._quads.release()
        if self._owns:
            self.segment.close(defer=True)  # frames handed out keep their views valid; unmapped when they go

    def unlink(self) -> None:
        self.segment.unlink()

    def __enter__(self) -> "FrameRing":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"FrameRing({self.name!r}, slots={self.slot_count}, slot_bytes={self.slot_bytes}, {'writer' if self.is_writer else 'reader'})"

    # ---- internals ----------------------------------------------------------------------------
    def _seq_index(self, index: int) -> int:
        return (HEADER_BYTES + SLOT_HEADER_BYTES * index + S_SEQ) // 4

    def _payload(self, index: int, length: int) -> memoryview:
        start = self._payload_offset + self._stride * index
        return self.segment.buf[start : start + length]

    def _check_open(self) -> None:
        if self.closed:
            raise ShmkitError("ERR_SHM_CLOSED", f"ring {self.name} is closed")

    def _check_writer(self) -> None:
        self._check_open()
        if not self.is_writer:
            raise ShmkitError("ERR_SHM_RING_STATE", "only the writer end can acquire and publish")

    def _check_meta(self, width, height, stride, pixel_format, timestamp, byte_length) -> dict:
        def u32(name, v):
            if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= 0xFFFFFFFF:
                raise ShmkitError("ERR_OUT_OF_RANGE", f"{name} must be an int from 0 to 2**32-1, got {v!r}")
            return v

        if isinstance(pixel_format, str):
            if pixel_format not in PIXEL_FORMATS:
                raise ShmkitError("ERR_INVALID_ARG_VALUE", f"unknown pixel_format {pixel_format!r}: one of {', '.join(PIXEL_FORMATS)} or an int")
            code = PIXEL_FORMATS[pixel_format]
        else:
            code = u32("pixel_format", pixel_format)
        w, h = u32("width", width), u32("height", height)
        bl = self.slot_bytes if byte_length is None else byte_length
        if not isinstance(bl, int) or isinstance(bl, bool) or not 0 <= bl <= self.slot_bytes:
            raise ShmkitError("ERR_OUT_OF_RANGE", f"byte_length must be an int from 0 to slot_bytes ({self.slot_bytes}), got {bl!r}")
        bpp = _BYTES_PER_PIXEL.get(code)
        st = stride if stride is not None else (w * bpp if bpp and code not in (5, 6) else (bl if h <= 1 else 0))
        st = u32("stride", st)
        ts = time.time() * 1000 if timestamp is None else timestamp
        if not isinstance(ts, (int, float)) or isinstance(ts, bool) or ts != ts:
            raise ShmkitError("ERR_INVALID_ARG_TYPE", f"timestamp must be a number of milliseconds, got {ts!r}")
        return {"pixel_format": code, "width": w, "height": h, "stride": st, "timestamp": float(ts), "byte_length": bl}

    def _next(self) -> Optional[Frame]:
        if self.publish_count - 1 <= self._last:
            return None
        raw = self._read_newest()
        if raw is None or raw["frame_number"] <= self._last:
            return None
        return self._deliver(raw)

    def _read_newest(self) -> Optional[dict]:
        for _ in range(64):
            if self.publish_count == 0:
                return None
            index = self._words[H_LATEST_SLOT // 4]
            if index >= self.slot_count:
                raise ShmkitError("ERR_SHM_RING_FORMAT", "latestSlot out of range")
            raw = self._read_slot(index)
            if raw is not None:
                return raw
        return None  # the writer kept overwriting under us

    def _read_slot(self, index: int) -> Optional[dict]:
        si = self._seq_index(index)
        w, q = self._words, self._quads
        s1 = w[si]
        if s1 & 1:
            return None
        base = HEADER_BYTES + SLOT_HEADER_BYTES * index
        raw = {
            "index": index,
            "seq_index": si,
            "seq": s1,
            "pixel_format": w[(base + S_PIXEL_FORMAT) // 4],
            "frame_number": q[(base + S_FRAME_NUMBER) // 8],
            "timestamp": self.segment.buf[base + S_TIMESTAMP : base + S_TIMESTAMP + 8].cast("d")[0],
            "width": w[(base + S_WIDTH) // 4],
            "height": w[(base + S_HEIGHT) // 4],
            "stride": w[(base + S_STRIDE) // 4],
            "byte_length": q[(base + S_BYTE_LENGTH) // 8],
        }
        if w[si] != s1 or raw["byte_length"] > self.slot_bytes:
            return None
        return raw

    def _deliver(self, raw: dict) -> Frame:
        previous = self._last
        n = raw["frame_number"]
        dropped = n - previous - 1 if previous >= 0 and n > previous + 1 else 0
        if n > previous:
            self._last = n
            self._received += 1
            self._dropped += dropped
        return Frame(self, raw, dropped)


def _read_geometry(seg: Segment) -> dict:
    """The header checked whole against the layout and the segment's size (ERR_SHM_RING_FORMAT otherwise)."""
    size = seg.size

    def refuse(why: str) -> ShmkitError:
        return ShmkitError("ERR_SHM_RING_FORMAT", f"{seg.name} {why}")

    if size < HEADER_BYTES:
        raise refuse("is too small to be a FrameRing")
    b = seg.buf
    u32 = lambda o: b[o : o + 4].cast("I")[0]  # noqa: E731
    u64 = lambda o: b[o : o + 8].cast("Q")[0]  # noqa: E731
    if u32(H_MAGIC) != MAGIC:
        raise refuse("is not a FrameRing (bad magic)")
    version = b[H_VERSION : H_VERSION + 2].cast("H")[0]
    if version != VERSION:
        raise refuse(f"has FrameRing layout version {version}; this reader knows {VERSION}")
    header_bytes = b[H_HEADER_BYTES : H_HEADER_BYTES + 2].cast("H")[0]
    slots, slot_header_bytes = u32(H_SLOT_COUNT), u32(H_SLOT_HEADER_BYTES)
    slot_bytes, stride, payload_offset = u64(H_SLOT_BYTES), u64(H_SLOT_STRIDE), u64(H_PAYLOAD_OFFSET)
    writer_pid, writer_tid, writer_state = u32(H_WRITER_PID), u32(H_WRITER_TID), u32(H_WRITER_STATE)
    publish_count, latest = u64(H_PUBLISH_COUNT), u32(H_LATEST_SLOT)
    if (
        header_bytes != HEADER_BYTES
        or slot_header_bytes != SLOT_HEADER_BYTES
        or slots < 2
        or not 1 <= slot_bytes <= size
        or stride != _round_up(slot_bytes, ALIGN)
        or payload_offset != _round_up(HEADER_BYTES + SLOT_HEADER_BYTES * slots, ALIGN)
        or payload_offset + stride * slots > size
        or not 1 <= writer_pid <= MAX_ID
        or writer_tid > MAX_ID
        or writer_state > WRITER_CLOSED
        or publish_count > 2**53 - 1
        or (publish_count > 0 and latest >= slots)
    ):
        raise refuse("has an inconsistent FrameRing header")
    return {"slots": slots, "slot_bytes": slot_bytes, "stride": stride, "payload_offset": payload_offset, "writer_pid": writer_pid, "writer_tid": writer_tid}


def format_ring(seg: Segment, slots: int, slot_bytes: int, *, writer_pid: int, writer_tid: int = 0, writer_start_time: float = 0.0) -> None:
    """Writes a new ring's header into a blank, writable segment of at least ``size_for()`` bytes (as Node's ``FrameRing.format``)."""
    size = size_for(slots, slot_bytes)
    if seg.readonly:
        raise ShmkitError("ERR_SHM_READONLY", f"{seg.name} is read-only")
    if seg.size < size:
        raise ShmkitError("ERR_OUT_OF_RANGE", f"{seg.name} has {seg.size} bytes; a ring of {slots} slots of {slot_bytes} bytes takes {size}")
    if any(seg.buf[:HEADER_BYTES]):
        raise ShmkitError("ERR_SHM_RING_STATE", f"{seg.name} is not blank")
    if not 1 <= writer_pid <= MAX_ID or not 0 <= writer_tid <= MAX_ID:
        raise ShmkitError("ERR_OUT_OF_RANGE", "writer_pid and writer_tid must be process/thread ids")
    b = seg.buf
    b[H_VERSION : H_VERSION + 2].cast("H")[0] = VERSION
    b[H_HEADER_BYTES : H_HEADER_BYTES + 2].cast("H")[0] = HEADER_BYTES
    b[H_SLOT_COUNT : H_SLOT_COUNT + 4].cast("I")[0] = slots
    b[H_SLOT_HEADER_BYTES : H_SLOT_HEADER_BYTES + 4].cast("I")[0] = SLOT_HEADER_BYTES
    b[H_SLOT_BYTES : H_SLOT_BYTES + 8].cast("Q")[0] = slot_bytes
    b[H_SLOT_STRIDE : H_SLOT_STRIDE + 8].cast("Q")[0] = _round_up(slot_bytes, ALIGN)
    b[H_PAYLOAD_OFFSET : H_PAYLOAD_OFFSET + 8].cast("Q")[0] = _round_up(HEADER_BYTES + SLOT_HEADER_BYTES * slots, ALIGN)
    b[H_WRITER_PID : H_WRITER_PID + 4].cast("I")[0] = writer_pid
    b[H_WRITER_START : H_WRITER_START + 8].cast("d")[0] = float(writer_start_time)
    b[H_WRITER_TID : H_WRITER_TID + 4].cast("I")[0] = writer_tid
    b[H_MAGIC : H_MAGIC + 4].cast("I")[0] = MAGIC  # the magic last: a reader attaching mid-way sees no ring
    b[H_WRITER_STATE : H_WRITER_STATE + 4].cast("I")[0] = WRITER_OPEN


def _thread_id() -> int:
    try:
        import threading

        tid = threading.get_native_id()
        return tid if 0 < tid <= MAX_ID and os.path.isdir(f"/proc/{os.getpid()}/task/{tid}") else 0
    except (AttributeError, OSError):
        return 0


def _process_start_ms() -> float:
    """When this process started, ms since the Unix epoch (Linux), else 0."""
    try:
        with open(f"/proc/{os.getpid()}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        ticks = int(fields[19])  # starttime: field 22, counted from the state (field 3)
        with open("/proc/stat", "rb") as f:
            btime = next(int(line.split()[1]) for line in f if line.startswith(b"btime"))
        return (btime + ticks / os.sysconf("SC_CLK_TCK")) * 1000.0
    except (OSError, ValueError, StopIteration, IndexError):
        return 0.0
