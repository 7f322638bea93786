"""Addresses of mapped memory, and atomic-sized loads and stores.

Python has no atomics and no fences. Loads and stores of 32- and 64-bit words
go through ``memoryview.cast('I')`` / ``cast('Q')``, which CPython performs with a
fixed-size, aligned memcpy: a single load or store instruction on x86-64 and
arm64 (never torn). Their *order* is the CPU's: x86-64 keeps stores in order
and loads in order, which is what the FrameRing and wait/notify protocols need;
arm64 does not promise that without fences this package cannot issue (see the
README: on arm64 the pure-Python FrameRing is not guaranteed correct).
"""
from __future__ import annotations

import ctypes
import platform

ORDERED = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686", "x86")


class _PyBuffer(ctypes.Structure):
    _fields_ = [
        ("buf", ctypes.c_void_p),
        ("obj", ctypes.c_void_p),
        ("len", ctypes.c_ssize_t),
        ("itemsize", ctypes.c_ssize_t),
        ("readonly", ctypes.c_int),
        ("ndim", ctypes.c_int),
        ("format", ctypes.c_char_p),
        ("shape", ctypes.c_void_p),
        ("strides", ctypes.c_void_p),
        ("suboffsets", ctypes.c_void_p),
        ("internal", ctypes.c_void_p),
    ]


_get_buffer = ctypes.pythonapi.PyObject_GetBuffer
_get_buffer.argtypes = [ctypes.py_object, ctypes.POINTER(_PyBuffer), ctypes.c_int]
_get_buffer.restype = ctypes.c_int
_release_buffer = ctypes.pythonapi.PyBuffer_Release
_release_buffer.argtypes = [ctypes.POINTER(_PyBuffer)]
_release_buffer.restype = None


def address_of(obj: object) -> int:
    """The address of the first byte of a buffer (read-only ones too: an mmap made with PROT_READ).

    Valid while ``obj`` keeps its memory: for an mmap, until it is closed.
    """
    view = _PyBuffer()
    if _get_buffer(obj, ctypes.byref(view), 0) != 0:  # PyBUF_SIMPLE
        raise TypeError("not a buffer")
    try:
        return int(view.buf or 0)
    finally:
        _release_buffer(ctypes.byref(view))
