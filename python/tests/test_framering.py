import os
import signal
import struct
import time
import unittest

from tests.helpers import child, cleanup, exists, unique

import shmkit
from shmkit import FrameRing, RingWriterGone, Segment, ShmkitError, futex
from shmkit import framering as fr

NO_FUTEX = futex.available()
try:
    import numpy
except ImportError:  # pragma: no cover - NumPy is optional
    numpy = None


@unittest.skipIf(NO_FUTEX, NO_FUTEX or "")
class FrameRingTest(unittest.TestCase):
    def setUp(self):
        self.addCleanup(cleanup)  # runs last: after the tests' own cleanups

    def ring(self, slots=3, slot_bytes=4096):
        w = FrameRing.create(slots, slot_bytes, unique("ring"))
        self.addCleanup(lambda: (w.close(), exists(w.name) and w.unlink()))
        return w

    def test_header_as_the_layout_document_has_it(self):
        w = self.ring(4, 5000)
        b = w.segment.buf
        self.assertEqual(w.segment.size, shmkit.size_for(4, 5000))
        self.assertEqual(w.segment.size, 4096 + 4 * 8192)
        magic, version, header_bytes, slots, slot_header = struct.unpack_from("<IHHII", b, 0)
        self.assertEqual((magic, version, header_bytes, slots, slot_header), (0x474E5246, 1, 128, 4, 64))
        self.assertEqual(struct.unpack_from("<QQQ", b, 16), (5000, 8192, 4096))
        pid, state = struct.unpack_from("<II", b, 44)
        self.assertEqual((pid, state), (os.getpid(), 1))
        start = struct.unpack_from("<d", b, 64)[0]
        self.assertLess(abs(start / 1000 - (time.time() - 3600)), 10 * 86400)  # a plausible epoch time

    def test_frames_round_trip_with_metadata_and_numpy_views(self):
        w = self.ring()
        r = FrameRing.attach(w.name)
        self.addCleanup(r.close)
        self.assertIsNone(r.latest())
        pixels = bytes(range(256)) * 3 + bytes(range(48))  # 16 x 13 rgb8 = 624 bytes... use 4x3 rgba
        n = w.write(pixels[:48], 4, 3, pixel_format="rgba8", timestamp=123.5)
        self.assertEqual(n, 0)
        f = r.latest()
        self.assertEqual((f.frame_number, f.width, f.height, f.stride, f.pixel_format, f.byte_length, f.timestamp), (0, 4, 3, 16, "rgba8", 48, 123.5))
        self.assertEqual(bytes(f.data), pixels[:48])
        self.assertTrue(f.data.readonly)
        self.assertTrue(f.valid())
        if numpy is not None:
            a = f.array()
            self.assertEqual(a.shape, (3, 4, 4))
            self.assertFalse(a.flags.writeable)
            self.assertEqual(a[1, 2, 3], pixels[16 + 8 + 3])
        # application pixel format codes and raw frames
        w.write(b"xyz", pixel_format=300)
        self.assertEqual(r.latest().pixel_format, 300)

    @unittest.skipIf(numpy is None, "NumPy is not installed (optional)")
    def test_numpy_strided_gray_frames(self):
        w = self.ring()
        r = FrameRing.attach(w.name)
        self.addCleanup(r.close)
        slot = w.acquire()
        view = numpy.frombuffer(slot, dtype=numpy.uint8)
        view[:] = 0
        for y in range(3):
            view[y * 10 : y * 10 + 4] = y + 1  # 4 pixels per row, rows 10 bytes apart
        w.publish(4, 3, stride=10, pixel_format="gray8", byte_length=24)
        a = r.latest().array()
        self.assertEqual(a.shape, (3, 4))
        self.assertEqual(a.tolist(), [[1] * 4, [2] * 4, [3] * 4])

    def test_a_view_turns_invalid_once_the_writer_laps_its_slot(self):
        w = self.ring(3, 64)
        r = FrameRing.attach(w.name)
        self.addCleanup(r.close)
        w.write(b"a")
        f = r.latest()
        w.write(b"b")
        w.write(b"c")
        self.assertTrue(f.valid(), "slots - 1 publishes later it is still intact")
        w.acquire()  # the writer starts on frame 0's slot
        self.assertFalse(f.valid())
        self.assertEqual(r.stats["rejected"], 1)

    def test_frames_skip_to_the_newest_count_drops_and_end_when_closed(self):
        w = self.ring(4, 64)
        r = FrameRing.attach(w.name)
        self.addCleanup(r.close)
        for k in range(3):
            w.write(bytes([k]))
        it = r.frames()
        f = next(it)
        self.assertEqual((f.frame_number, f.dropped), (2, 0), "includeLatest: the newest, no drops counted before the first")
        w.write(b"\x03")
        for k in range(4, 7):
            w.write(bytes([k]))
        f = next(it)
        self.assertEqual((f.frame_number, f.dropped), (6, 3))
        w.close()
        self.assertEqual(list(it), [])
        self.assertEqual(r.stats, {"received": 2, "dropped": 3, "rejected": 0})
        it2 = FrameRing.attach(w.name).frames(include_latest=False)
        self.assertEqual(list(it2), [], "a closed ring ends at once")

    def test_a_close_between_reading_the_state_and_the_liveness_check_is_a_clean_end(self):
        # The interleaving, made deterministic: frames() reads writer_closed (still open), finds no
        # new frame and checks liveness on entry; the writer closed in between, so writer_alive is
        # False. That is a close, never RingWriterGone.
        w = self.ring(2, 64)
        w.write(b"\x01")
        r = FrameRing.attach(w.name)
        self.addCleanup(r.close)
        it = r.frames(include_latest=False, timeout=15)
        w.close()
        reads = []

        class FirstReadBeforeTheClose(FrameRing):
            @property
            def writer_closed(self):
                reads.append(1)
                return len(reads) > 1 and FrameRing.writer_closed.fget(self)

        r.__class__ = FirstReadBeforeTheClose
        self.assertEqual(list(it), [])
        self.assertGreaterEqual(len(reads), 2, "the state was read again after the liveness check")

    def test_misuse_is_ring_state(self):
        w = self.ring()
        r = FrameRing.attach(w.name)
        self.addCleanup(r.close)
        for call in (lambda: w.publish(), lambda: r.acquire(), lambda: r.write(b"x")):
            with self.assertRaises(ShmkitError) as cm:
                call()
            self.assertEqual(cm.exception.code, "ERR_SHM_RING_STATE")
        w.acquire()
        with self.assertRaises(ShmkitError) as cm:
            w.acquire()
        self.assertEqual(cm.exception.code, "ERR_SHM_RING_STATE")
        for bad in (dict(width=-1), dict(pixel_format="rgb9"), dict(byte_length=10**9), dict(timestamp="now")):
            with self.assertRaises(ShmkitError):
                w.publish(**bad)
        w.publish(1, 1)  # still usable
        with self.assertRaises(ShmkitError) as cm:
            w.write(b"x" * 5000)
        self.assertEqual(cm.exception.code, "ERR_OUT_OF_RANGE")

    def test_damaged_headers_are_refused(self):
        for offset, fmt, value in ((0, "<I", 1), (4, "<H", 2), (8, "<I", 1), (16, "<Q", 0), (24, "<Q", 4095), (44, "<I", 0), (48, "<I", 7)):
            name = unique("bad")
            w = FrameRing.create(2, 64, name)
            struct.pack_into(fmt, w.segment.buf, offset, value)
            with self.assertRaises(ShmkitError) as cm:
                FrameRing.attach(name)
            self.assertEqual(cm.exception.code, "ERR_SHM_RING_FORMAT", f"offset {offset}")
            w.close()
            w.unlink()
        plain = Segment.create(64, unique("plain"))
        with self.assertRaises(ShmkitError) as cm:
            FrameRing.attach(plain.name)
        self.assertEqual(cm.exception.code, "ERR_SHM_RING_FORMAT")
        plain.close()
        plain.unlink()

    def test_a_ring_formatted_for_another_process_is_its_writers(self):
        name = unique("fmt")
        seg = Segment.create(shmkit.size_for(2, 64), name)
        self.addCleanup(lambda: (seg.close(defer=True), seg.unlink()))
        shmkit.format_ring(seg, 2, 64, writer_pid=1)
        with self.assertRaises(ShmkitError) as cm:
            shmkit.format_ring(seg, 2, 64, writer_pid=1)
        self.assertEqual(cm.exception.code, "ERR_SHM_RING_STATE")
        with self.assertRaises(ShmkitError) as cm:
            FrameRing.attach(name, writer=True)
        self.assertEqual(cm.exception.code, "ERR_SHM_RING_STATE")
        self.assertEqual(FrameRing.attach(name).writer_pid, 1)

    def test_a_killed_writer_process_ends_frames_with_writer_gone(self):
        name = unique("killed")
        p = child(
            "import shmkit, sys, time\n"
            "w = shmkit.FrameRing.create(3, 64, sys.argv[1], track=False)\n"
            "w.write(b'first')\n"
            "print('ready', flush=True)\n"
            "time.sleep(60)",
            name,
            wait=False,
        )
        self.assertEqual(p.stdout.readline().strip(), "ready")
        r = FrameRing.attach(name)
        self.addCleanup(r.close)
        it = r.frames()
        self.assertEqual(bytes(next(it).data), b"first")
        self.assertTrue(r.writer_alive)
        os.kill(p.pid, signal.SIGKILL)
        p.communicate(timeout=10)
        t0 = time.monotonic()
        with self.assertRaises(RingWriterGone) as cm:
            next(it)
        self.assertEqual(cm.exception.code, "ERR_SHM_RING_WRITER_GONE")
        self.assertLess(time.monotonic() - t0, 5)
        self.assertFalse(r.writer_alive)
        Segment.attach(name).unlink()

    def test_frames_timeout_ends_an_idle_iteration(self):
        w = self.ring()
        r = FrameRing.attach(w.name)
        self.addCleanup(r.close)
        t0 = time.monotonic()
        self.assertEqual(list(r.frames(include_latest=False, timeout=0.2)), [])
        self.assertGreaterEqual(time.monotonic() - t0, 0.15)


if __name__ == "__main__":
    unittest.main()
