"""Python side of bench/suites/lifecycle.js: CPython's SharedMemory lifecycle cycles.

Driven over stdin/stdout, one JSON object a line:
  {"op": "create", "name": N, "size": S, "n": K, "tracked": true}
      K times: SharedMemory(name=N, create=True, size=S); close(); unlink()
  {"op": "attach", "name": N, "n": K, "tracked": true}
      K times: SharedMemory(name=N); close()   (N exists: the Node side made it)
  {"op": "quit"}
Each answer: {"ok": true, "seconds": elapsed} (time.perf_counter around the K cycles) or
{"ok": false, "error": "..."}. The process ends on "quit" or when stdin closes.

tracked=true is Python as its users run it: create registers the segment with the resource
tracker (a separate process fed through a pipe) and unlink() unregisters it. An attach must not
stay registered (3.11 and 3.12 register attachments too and the tracker would unlink the Node
segment when this process exits), so a tracked attach is attach + resource_tracker.unregister(),
the documented workaround, and on 3.13+ SharedMemory(name, track=False).
tracked=false takes the tracker out entirely (3.13's track=False; on older versions the module's
reference to the tracker is swapped for a no-op during the cycles): the bare system calls.
"""
import inspect
import json
import sys
import time
from multiprocessing import resource_tracker, shared_memory

SharedMemory = shared_memory.SharedMemory
HAS_TRACK = "track" in inspect.signature(SharedMemory.__init__).parameters


class _NoTracker:
    @staticmethod
    def register(name, rtype):
        pass

    @staticmethod
    def unregister(name, rtype):
        pass


class _Untracked:
    """Makes shared_memory skip the resource tracker (Python < 3.13 has no track=False)."""

    def __enter__(self):
        self.saved = shared_memory.resource_tracker
        shared_memory.resource_tracker = _NoTracker
        return self

    def __exit__(self, *exc):
        shared_memory.resource_tracker = self.saved
        return False


def create_cycles(name, size, n, tracked):
    if HAS_TRACK:
        t0 = time.perf_counter()
        for _ in range(n):
            s = SharedMemory(name=name, create=True, size=size, track=tracked)
            s.close()
            s.unlink()
        return time.perf_counter() - t0
    if tracked:
        t0 = time.perf_counter()
        for _ in range(n):
            s = SharedMemory(name=name, create=True, size=size)
            s.close()
            s.unlink()
        return time.perf_counter() - t0
    with _Untracked():
        t0 = time.perf_counter()
        for _ in range(n):
            s = SharedMemory(name=name, create=True, size=size)
            s.close()
            s.unlink()
        return time.perf_counter() - t0


def attach_cycles(name, n, tracked):
    if HAS_TRACK:
        t0 = time.perf_counter()
        for _ in range(n):
            s = SharedMemory(name=name, track=False)
            s.close()
        return time.perf_counter() - t0
    if tracked:
        unregister = resource_tracker.unregister
        t0 = time.perf_counter()
        for _ in range(n):
            s = SharedMemory(name=name)
            unregister(s._name, "shared_memory")
            s.close()
        return time.perf_counter() - t0
    with _Untracked():
        t0 = time.perf_counter()
        for _ in range(n):
            s = SharedMemory(name=name)
            s.close()
        return time.perf_counter() - t0


def cleanup(name):
    """After a failed create cycle: remove the name if this process left it behind."""
    try:
        s = SharedMemory(name=name)
    except FileNotFoundError:
        return
    except OSError:
        return
    try:
        s.close()
        s.unlink()  # also unregisters it
    except OSError:
        pass


def main():
    out = sys.stdout
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        msg = json.loads(line)
        op = msg.get("op")
        if op == "quit":
            break
        try:
            if op == "create":
                try:
                    seconds = create_cycles(msg["name"], msg["size"], msg["n"], msg["tracked"])
                except BaseException:
                    cleanup(msg["name"])
                    raise
            elif op == "attach":
                seconds = attach_cycles(msg["name"], msg["n"], msg["tracked"])
            elif op == "hello":
                seconds = 0.0
            else:
                raise ValueError("unknown op %r" % (op,))
            answer = {"ok": True, "seconds": seconds, "python": sys.version.split()[0], "hasTrack": HAS_TRACK}
        except Exception as error:  # reported to Node, which fails the suite
            answer = {"ok": False, "error": "%s: %s" % (type(error).__name__, error)}
        out.write(json.dumps(answer) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
