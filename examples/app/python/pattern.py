"""The example app's synthetic video, rendered in Python: the same frames, bit for bit, as
``src/shared/pattern.ts`` renders in Node (its comment is the definition; the Node consumers and
pages verify these frames with its ``verifyFrame``).

A frame is ``width`` × ``height`` RGBA pixels, rows ``stride`` bytes apart:

- rows 0–7, columns 0–63: eight 8 × 8 grey cells, the frame number then the checksum (u32, LE);
- rows 8 and below: the body, row ``y`` of frame ``n`` being the window starting at column
  ``4n mod 256`` of precomputed row ``(y + 2n) mod 256``;
- the checksum: the sum mod 2³² of the body's pixels read as little-endian u32 words.

Two renderers with one interface: :class:`NumpyRenderer` (NumPy: one ``take`` per frame into the
slot itself) and :class:`PurePatternRenderer` (standard library: a ``memoryview`` slice assignment,
a memcpy, per row). Neither loops over pixels per frame; the checksum comes from prefix sums.
"""
from __future__ import annotations

import sys
from array import array
from itertools import accumulate

HEADER_ROWS = 8
HEADER_CELL = 8
HEADER_CELLS = 8
MIN_WIDTH = HEADER_CELL * HEADER_CELLS
MIN_HEIGHT = HEADER_ROWS + 1
SHIFT_PER_FRAME = 4
MASK = 0xFFFFFFFF

if sys.byteorder != "little":  # the pattern's words are little-endian, as on every platform Electron runs
    raise ImportError("the example's pattern renderer assumes a little-endian machine")


def table_pixel(i: int, key: int) -> int:
    """Pixel ``i`` of table row ``key``: R follows the column, G the row, B bands of 32 × 8 pixels."""
    return 0xFF000000 | ((((i >> 5) ^ (key >> 3)) & 255) << 16) | (key << 8) | (i & 255)


def _check(width: int, height: int) -> None:
    if not (isinstance(width, int) and isinstance(height, int)) or width < MIN_WIDTH or height < MIN_HEIGHT:
        raise ValueError(f"a pattern frame needs integer width >= {MIN_WIDTH} and height >= {MIN_HEIGHT}, got {width}x{height}")


def _check_frame(n: int, dest: memoryview, stride: int, width: int, height: int) -> None:
    if not isinstance(n, int) or not 0 <= n <= MASK:
        raise ValueError(f"frame number must be a u32, got {n}")
    if stride % 4 or stride < width * 4 or dest.nbytes < stride * (height - 1) + width * 4:
        raise ValueError("destination too small or misaligned for this frame size")


def _header_cells(n: int, checksum: int) -> bytes:
    return n.to_bytes(4, "little") + checksum.to_bytes(4, "little")


class PurePatternRenderer:
    """Standard library only: ~1 ms per 1080p frame on one core (a slice assignment per row)."""

    numpy = False

    def __init__(self, width: int, height: int) -> None:
        _check(width, height)
        self.width, self.height = width, height
        span = width + 256
        self._rows = []
        self._sums = []
        for key in range(256):
            k3, g = key >> 3, key << 8
            row = array("I", [0xFF000000 | ((((i >> 5) ^ k3) & 255) << 16) | g | (i & 255) for i in range(span)])
            self._rows.append(memoryview(row.tobytes()))
            self._sums.append(array("I", [s & MASK for s in accumulate(row, initial=0)]))

    def render(self, dest, n: int, stride: int = 0) -> int:
        """Writes frame ``n`` into ``dest`` (a writable buffer: the slot) and returns its checksum."""
        width, height = self.width, self.height
        stride = stride or width * 4
        out = memoryview(dest).cast("B")
        _check_frame(n, out, stride, width, height)
        start = (SHIFT_PER_FRAME * n) & 255
        lo, hi = start * 4, (start + width) * 4
        row_bytes = width * 4
        checksum = 0
        rows, sums = self._rows, self._sums
        o = HEADER_ROWS * stride
        for y in range(HEADER_ROWS, height):
            key = (y + 2 * n) & 255
            out[o : o + row_bytes] = rows[key][lo:hi]
            s = sums[key]
            checksum += s[start + width] - s[start]
            o += stride
        checksum &= MASK
        cells = _header_cells(n, checksum)
        for y in range(HEADER_ROWS):
            base = y * stride
            for cell, v in enumerate(cells):
                at = base + cell * HEADER_CELL * 4
                out[at : at + HEADER_CELL * 4] = bytes((v, v, v, 255)) * HEADER_CELL
        return checksum


class NumpyRenderer:
    """NumPy: the body of a frame is one ``numpy.take`` of table rows into the slot (no temporary)."""

    numpy = True

    def __init__(self, width: int, height: int) -> None:
        import numpy as np

        _check(width, height)
        self._np = np
        self.width, self.height = width, height
        span = width + 256
        i = np.arange(span, dtype=np.uint32)[None, :]
        key = np.arange(256, dtype=np.uint32)[:, None]
        self._table = (np.uint32(0xFF000000) | ((((i >> 5) ^ (key >> 3)) & 255) << 16) | (key << 8) | (i & 255)).astype(np.uint32)
        sums = np.zeros((256, span + 1), dtype=np.uint64)
        np.cumsum(self._table, axis=1, dtype=np.uint64, out=sums[:, 1:])
        self._sums = sums
        self._body_y = np.arange(HEADER_ROWS, height, dtype=np.int64)

    def frame_array(self, dest, stride: int = 0):
        """``dest`` as a (height, width) array of u32 pixels (a view: no copy)."""
        np = self._np
        stride = stride or self.width * 4
        words = np.frombuffer(dest, dtype=np.uint32, count=stride // 4 * self.height)
        return words.reshape(self.height, stride // 4)[:, : self.width]

    def render(self, dest, n: int, stride: int = 0) -> int:
        np = self._np
        width, height = self.width, self.height
        stride = stride or width * 4
        _check_frame(n, memoryview(dest).cast("B"), stride, width, height)
        frame = self.frame_array(dest, stride)
        start = (SHIFT_PER_FRAME * n) & 255
        keys = (self._body_y + 2 * n) & 255
        np.take(self._table[:, start : start + width], keys, axis=0, out=frame[HEADER_ROWS:], mode="wrap")
        sums = self._sums
        checksum = int(((sums[keys, start + width] - sums[keys, start]) & MASK).sum()) & MASK
        cells = _header_cells(n, checksum)
        for cell, v in enumerate(cells):
            frame[:HEADER_ROWS, cell * HEADER_CELL : (cell + 1) * HEADER_CELL] = 0xFF000000 | (v << 16) | (v << 8) | v
        return checksum


def renderer(width: int, height: int, *, use_numpy: bool = True):
    """A NumpyRenderer when NumPy is installed (and ``use_numpy``), else a PurePatternRenderer."""
    if use_numpy:
        try:
            import numpy  # noqa: F401
        except ImportError:
            pass
        else:
            return NumpyRenderer(width, height)
    return PurePatternRenderer(width, height)
