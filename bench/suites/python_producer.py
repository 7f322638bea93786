"""The producer of bench suite "python" (bench/suites/python.js): a Python process sends frames to a
Node consumer by one transport, one frame in flight.

    python3 python_producer.py TRANSPORT BYTES FRAMES [ADDRESS]

TRANSPORT: ``ring`` (shmkit's FrameRing: the frame is rendered into the slot, in place), ``pipe``
(length-prefixed frames on stdout), ``socket`` (length-prefixed frames on a Unix socket at ADDRESS)
or ``mpconn`` (``multiprocessing.connection.Client(ADDRESS).send_bytes``, a Unix socket, no
authentication). For the three byte streams the frame is rendered into this process's own buffer
and sent from there: the work users do today.

Every frame has the same layout: ``u32 frame number, u32 checksum, f64 stamp`` (little-endian), then
the body. The body is a window of a precomputed buffer (one memcpy: rendering, not timed), the
checksum the sum mod 2^32 of its u32 words (from prefix sums). The stamp (CLOCK_MONOTONIC, ms, the
clock of Node's ``process.hrtime``) is taken once the frame is rendered, just before it is handed to
the transport. The consumer verifies the number and the checksum of every frame, then stamps.

Control: the consumer writes one byte to this process's stdin per frame it has verified; this
process renders the next frame only then (and after a 2 ms pause, so the consumer starts asleep).
``ready <ring name>`` on stderr once the ring exists (ring only).
"""
import os
import struct
import sys
import time
from array import array
from itertools import accumulate

HEADER = 16
MASK = 0xFFFFFFFF
PAUSE = 0.002


def stamp_ms() -> float:
    return time.clock_gettime(time.CLOCK_MONOTONIC) * 1000.0


class Renderer:
    """Frame k's body: 4·(k mod 64) bytes into ``base``; its checksum by prefix sums of ``base``'s words."""

    def __init__(self, nbytes: int) -> None:
        if nbytes < HEADER + 4 or nbytes % 4:
            raise SystemExit(f"python_producer: BYTES must be a multiple of 4 and at least {HEADER + 4}")
        self.n = nbytes
        words = (nbytes + 256) // 4
        base = array("I", ((i * 2654435761) & MASK for i in range(words)))
        self.base = memoryview(base.tobytes())
        self.prefix = array("Q", accumulate(base, initial=0))

    def render(self, dest: memoryview, k: int) -> None:
        n, shift = self.n, 4 * (k % 64)
        dest[HEADER:n] = self.base[HEADER + shift : n + shift]
        checksum = (self.prefix[(n + shift) // 4] - self.prefix[(HEADER + shift) // 4]) & MASK
        struct.pack_into("<II", dest, 0, k & MASK, checksum)

    @staticmethod
    def stamp(dest: memoryview) -> None:
        struct.pack_into("<d", dest, 8, stamp_ms())


def main(argv) -> int:
    transport, nbytes, frames = argv[0], int(argv[1]), int(argv[2])
    address = argv[3] if len(argv) > 3 else None
    r = Renderer(nbytes)
    acks = sys.stdin.buffer

    def wait_ack() -> bool:
        return acks.read(1) == b"\x01"

    if transport == "ring":
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
        import shmkit

        ring = shmkit.FrameRing.create(3, nbytes)
        sys.stderr.write(f"ready {ring.name}\n")
        sys.stderr.flush()
        if not wait_ack():  # the consumer attached
            return 1
        for k in range(frames):
            time.sleep(PAUSE)
            slot = ring.acquire()
            r.render(slot, k)
            r.stamp(slot)
            del slot
            ring.publish(byte_length=nbytes)
            if not wait_ack():
                return 1
        ring.close()
        ring.unlink()
        return 0

    buf = bytearray(nbytes)
    view = memoryview(buf)
    if transport == "pipe":
        out = sys.stdout.buffer

        def send() -> None:
            out.write(struct.pack("<I", nbytes))
            out.write(view)
            out.flush()

    elif transport == "socket":
        import socket

        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(address)

        def send() -> None:
            sock.sendall(struct.pack("<I", nbytes))
            sock.sendall(view)

    elif transport == "mpconn":
        from multiprocessing.connection import Client

        conn = Client(address, family="AF_UNIX", authkey=None)

        def send() -> None:
            conn.send_bytes(view)

    else:
        raise SystemExit(f"python_producer: unknown transport {transport}")
    for k in range(frames):
        time.sleep(PAUSE)
        r.render(view, k)
        r.stamp(view)
        send()
        if not wait_ack():
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
