"""The example app's Python video source (``npm start -- --source python``).

Started by the app's host as a bridge peer (``host.spawn(python, [this file, ...])``), it creates the
FrameRing ``video`` in its own namespace (``client.create_frame_ring``: the host makes the segment and
formats it with this process as the writer), and renders the test pattern (``pattern.py``: the same
frames as the Node producer) into each slot in place at ``--fps``, with NumPy when installed. The
host grants the ring to the windows (or the terminal version's consumers), which verify every frame.

It reports on stdout, one JSON object per line: ``{"event": "ready", "numpy": …, "python": …, "pid": …}``
once the ring exists, then ``{"event": "progress", "published": n}`` twice a second, and
``{"event": "stopped", "published": n, "reason": …}`` at the end. It stops when the host ends the
channel (the host closed, or it released the ring), on SIGTERM/SIGINT, or after ``--frames`` frames.

    python3 producer.py --width 1920 --height 1080 [--fps 60] [--slots 4] [--name video] [--frames N] [--no-numpy]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import pattern  # noqa: E402

import shmkit  # noqa: E402  (PYTHONPATH: the repository's python/ folder, or an installed shmkit)


def say(**fields) -> None:
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def parse(argv):
    p = argparse.ArgumentParser(prog="producer.py", description="renders the example app's test pattern into a FrameRing it creates through the bridge")
    p.add_argument("--width", type=int, required=True)
    p.add_argument("--height", type=int, required=True)
    p.add_argument("--fps", type=float, default=60.0)
    p.add_argument("--slots", type=int, default=4)
    p.add_argument("--name", default="video")
    p.add_argument("--frames", type=int, default=0, help="stop after this many frames (0: until the host ends the channel)")
    p.add_argument("--no-numpy", action="store_true", help="render with the standard library even where NumPy is installed")
    a = p.parse_args(argv)
    if not 1 <= a.fps <= 240:
        p.error("--fps takes a number from 1 to 240")
    if a.width < pattern.MIN_WIDTH or a.height < pattern.MIN_HEIGHT:
        p.error(f"the pattern needs --width >= {pattern.MIN_WIDTH} and --height >= {pattern.MIN_HEIGHT}")
    return a


def main(argv) -> int:
    a = parse(argv)
    stop = threading.Event()
    reason = {"why": "frames"}

    def on_signal(signum, _frame):
        reason["why"] = signal.Signals(signum).name
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    renderer = pattern.renderer(a.width, a.height, use_numpy=not a.no_numpy)
    client = shmkit.connect()

    def on_closed(error):
        reason["why"] = "channel closed" if error is None else error.code
        stop.set()

    def on_revoked(info):
        if info.get("name") == a.name:
            reason["why"] = f"revoked: {info.get('reason')}"
            stop.set()

    client.on_closed(on_closed)
    client.on_revoked(on_revoked)
    ring = client.create_frame_ring(a.name, a.slots, a.width * a.height * 4)
    say(event="ready", numpy=renderer.numpy, python=platform.python_version(), pid=os.getpid(), slots=ring.slot_count, slotBytes=ring.slot_bytes)

    interval = 1.0 / a.fps
    published = 0
    next_at = time.monotonic()
    last_report = 0.0
    try:
        while not stop.is_set() and (a.frames == 0 or published < a.frames):
            slot = ring.acquire()
            renderer.render(slot, published)
            del slot  # the view is the slot's until publish(): drop it before, so nothing holds it after
            ring.publish(a.width, a.height, pixel_format="rgba8", byte_length=a.width * a.height * 4)
            published += 1
            now = time.monotonic()
            if now - last_report >= 0.5:
                say(event="progress", published=published)
                last_report = now
            next_at += interval
            if next_at < now - 4 * interval:
                next_at = now  # late: do not burst to catch up
            stop.wait(max(0.0, next_at - time.monotonic()))
    except shmkit.ShmkitError as error:
        if not stop.is_set():  # a ring closed under us because the host revoked it is a stop, not an error
            raise
        reason["why"] = reason["why"] or error.code
    say(event="stopped", published=published, reason=reason["why"])
    client.close()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except (shmkit.ShmkitError, OSError) as e:  # coded: str(e) starts with the code; OS errors carry theirs
        code = getattr(e, "code", None)
        sys.stderr.write(f"python producer: {e if isinstance(e, shmkit.ShmkitError) else f'{code}: {e}'}\n")
        sys.exit(1)
