import os
import unittest

from tests.helpers import child, cleanup, exists, unique

import shmkit
from shmkit import Segment, ShmkitError


class SegmentTest(unittest.TestCase):
    def setUp(self):
        self.addCleanup(cleanup)  # runs last: after the tests' own cleanups

    def test_create_attach_share_bytes(self):
        name = unique("seg")
        a = Segment.create(10000, name)
        self.assertEqual(a.name, name)
        self.assertEqual(a.size, 10000)
        self.assertFalse(a.readonly)
        b = Segment.attach(name)
        b.buf[0:3] = b"abc"
        self.assertEqual(bytes(a.buf[0:3]), b"abc")
        self.assertEqual(a.view("I")[0], int.from_bytes(b"abc\0", "little"))
        b.close()
        a.close()
        a.close()  # idempotent
        self.assertTrue(a.closed)
        with self.assertRaises(ShmkitError) as cm:
            a.buf
        self.assertEqual(cm.exception.code, "ERR_SHM_CLOSED")
        a.unlink()
        self.assertFalse(exists(name))

    def test_generated_names(self):
        s = Segment.create(64)
        try:
            self.assertRegex(s.name, r"^psm_[0-9a-f]{8}$")
        finally:
            s.close()
            s.unlink()

    def test_readonly_attach_cannot_write(self):
        name = unique("ro")
        a = Segment.create(4096, name)
        a.buf[0] = 7
        ro = Segment.attach(name, readonly=True)
        self.assertTrue(ro.readonly)
        self.assertTrue(ro.buf.readonly)
        with self.assertRaises(TypeError):
            ro.buf[0] = 1
        self.assertEqual(a.buf[0], 7)
        ro.close()
        a.close()
        a.unlink()

    def test_errors_have_codes(self):
        with self.assertRaises(FileNotFoundError) as cm:
            Segment.attach(unique("missing"))
        self.assertEqual(cm.exception.code, "ENOENT")
        name = unique("dup")
        a = Segment.create(64, name)
        with self.assertRaises(FileExistsError) as cm:
            Segment.create(64, name)
        self.assertEqual(cm.exception.code, "EEXIST")
        a.close()
        a.unlink()
        for bad in ("", "a/b", "x" * 300):
            with self.assertRaises(ShmkitError) as cm:
                Segment.attach(bad)
            self.assertEqual(cm.exception.code, "ERR_INVALID_ARG_VALUE")
        with self.assertRaises(TypeError):
            Segment.attach(3)
        for bad in (0, -1, 1.5, True):
            with self.assertRaises(ShmkitError) as cm:
                Segment.create(bad)
            self.assertEqual(cm.exception.code, "ERR_OUT_OF_RANGE")

    def test_close_with_live_views(self):
        name = unique("views")
        a = Segment.create(64, name)
        view = a.buf[0:8]
        with self.assertRaises(BufferError):
            a.close()  # CPython's rule
        self.assertFalse(a.closed)
        a.close(defer=True)  # closed for the API; unmapped once the view goes
        self.assertTrue(a.closed)
        view[0] = 5  # the view stays valid
        del view
        a.unlink()

    def test_an_attaching_process_exit_never_unlinks(self):
        # CPython 3.8-3.12's resource tracker unlinks at exit what a process merely attached to
        name = unique("tracker")
        a = Segment.create(64, name)
        try:
            r = child("import shmkit, sys; s = shmkit.Segment.attach(sys.argv[1]); s.buf[0] = 42; s.close()", name)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stderr, "", "no resource-tracker warning")
            self.assertTrue(exists(name), "the attacher's exit left the segment in place")
            self.assertEqual(a.buf[0], 42)
        finally:
            a.close()
            a.unlink()

    def test_a_crashed_creator_is_cleaned_up_by_the_resource_tracker(self):
        name = unique("crash")
        r = child("import os, shmkit, sys; shmkit.Segment.create(64, sys.argv[1]); os.kill(os.getpid(), 9)", name)
        self.assertEqual(r.returncode, -9)
        # CPython's tracker process unlinks what the dead creator registered (it may take a moment)
        import time

        for _ in range(100):
            if not exists(name):
                break
            time.sleep(0.05)
        self.assertFalse(exists(name))

    def test_interop_with_cpython_shared_memory(self):
        from multiprocessing import shared_memory

        name = unique("cpython")
        s = Segment.create(4096, name)
        # CPython's attach registers the name with its tracker too: the same entry our create made,
        # which our unlink() unregisters (no tracker warning, no KeyError in the tracker)
        theirs = shared_memory.SharedMemory(name=name)
        theirs.buf[0:2] = b"hi"
        self.assertEqual(bytes(s.buf[0:2]), b"hi")
        theirs.close()
        s.close()
        s.unlink()


if __name__ == "__main__":
    unittest.main()
