import threading
import time
import unittest

from tests.helpers import child, cleanup, unique

import shmkit
from shmkit import Segment, ShmkitError, futex

NO_FUTEX = futex.available()


@unittest.skipIf(NO_FUTEX, NO_FUTEX or "")
class FutexTest(unittest.TestCase):
    def setUp(self):
        self.addCleanup(cleanup)  # runs last: after the tests' own cleanups

    def test_not_equal_and_timed_out(self):
        s = Segment.create(64, unique("fx"))
        try:
            s.view("i")[1] = 5
            self.assertEqual(shmkit.wait(s, 4, 4, 0.5), "not-equal")
            t0 = time.monotonic()
            self.assertEqual(shmkit.wait(s, 4, 5, 0.05), "timed-out")
            self.assertGreaterEqual(time.monotonic() - t0, 0.04)
            self.assertEqual(shmkit.wait(s, 4, 5, 0), "timed-out")
            self.assertEqual(shmkit.notify(s, 4), 0, "nobody waits")
        finally:
            s.close()
            s.unlink()

    def test_a_thread_is_woken_and_others_keep_running(self):
        s = Segment.create(64, unique("fx-thread"))
        try:
            results = []
            t = threading.Thread(target=lambda: results.append(shmkit.wait(s, 0, 0, 10)))
            t.start()
            time.sleep(0.1)  # asleep, without the GIL: this thread runs
            s.view("i")[0] = 1
            woken = 0
            for _ in range(100):
                woken += shmkit.notify(s, 0)
                if results:
                    break
                time.sleep(0.01)
            t.join(5)
            self.assertEqual(results, ["ok"])
            self.assertEqual(woken, 1)
        finally:
            s.close()
            s.unlink()

    def test_another_process_wakes_a_waiter_on_a_readonly_mapping(self):
        name = unique("fx-proc")
        s = Segment.create(64, name)
        ro = Segment.attach(name, readonly=True)
        try:
            p = child(
                "import shmkit, sys, time\n"
                "s = shmkit.Segment.attach(sys.argv[1])\n"
                "time.sleep(0.2); s.view('i')[0] = 7\n"
                "n = 0\n"
                "for _ in range(200):\n"
                "    n += shmkit.notify(s, 0)\n"
                "    if n: break\n"
                "    time.sleep(0.01)\n"
                "print(n); s.close()",
                name,
                wait=False,
            )
            self.assertEqual(shmkit.wait(ro, 0, 0, 10), "ok")
            self.assertEqual(futex.load(ro, 0), 7)
            out, err = p.communicate(timeout=10)
            self.assertEqual(p.returncode, 0, err)
            self.assertEqual(out.strip(), "1")
        finally:
            ro.close()
            s.close()
            s.unlink()

    def test_bad_arguments(self):
        s = Segment.create(64, unique("fx-bad"))
        try:
            for offset in (-4, 2, 64, 1000):
                with self.assertRaises(ShmkitError) as cm:
                    shmkit.wait(s, offset, 0, 0)
                self.assertEqual(cm.exception.code, "ERR_OUT_OF_RANGE")
            with self.assertRaises(TypeError):
                shmkit.notify(s, "0")
        finally:
            s.close()
            s.unlink()


if __name__ == "__main__":
    unittest.main()
