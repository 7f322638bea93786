"""The client's side of docs/bridge-protocol.md against a host stood in for in this process (a socket
pair; the real host is @shmkit/electron-bridge's, exercised by python/interop/*.test.js)."""
import json
import os
import socket
import struct
import threading
import unittest

from tests.helpers import cleanup, unique

import shmkit
from shmkit import BridgeError, Segment
from shmkit.bridge import FD_ENV


class FakeHost:
    """Reads the client's frames; answers with what the test queues. STAND-IN of the bridge host."""

    def __init__(self):
        self.host_end, peer_end = socket.socketpair()
        os.set_inheritable(peer_end.fileno(), True)
        os.environ[FD_ENV] = str(peer_end.detach())  # the client's from now on
        self.requests = []
        self.answer = lambda req: {"v": 1, "id": req["id"], "ok": True, "result": None}
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _recv(self, n):
        out = b""
        while len(out) < n:
            chunk = self.host_end.recv(n - len(out))
            if not chunk:
                return None
            out += chunk
        return out

    def _loop(self):
        while True:
            try:
                head = self._recv(4)
            except OSError:
                return
            if head is None:
                return
            req = json.loads(self._recv(struct.unpack("<I", head)[0]))
            self.requests.append(req)
            if req["op"] == "hello":
                self.send({"v": 1, "id": req["id"], "ok": True, "result": {"version": 1, "maxNameLength": 128, "maxCreateBytes": 1 << 30, "maxBytesPerPeer": 1 << 30, "listPageSize": 2}})
                continue
            reply = self.answer(req)
            if reply is not None:
                self.send(reply)

    def send(self, message):
        payload = json.dumps(message).encode()
        self.host_end.sendall(struct.pack("<I", len(payload)) + payload)

    def raw(self, data):
        self.host_end.sendall(data)

    def close(self):
        try:
            self.host_end.shutdown(socket.SHUT_RDWR)  # wakes our reader thread and tells the client
        except OSError:
            pass
        self.host_end.close()


class BridgeClientTest(unittest.TestCase):
    def setUp(self):
        self.addCleanup(cleanup)
        os.environ.pop(FD_ENV, None)

    def test_no_channel_is_no_host(self):
        with self.assertRaises(BridgeError) as cm:
            shmkit.connect()
        self.assertEqual(cm.exception.code, "ERR_SHM_BRIDGE_NO_HOST")
        os.environ[FD_ENV] = "1"
        with self.assertRaises(BridgeError) as cm:
            shmkit.connect()
        self.assertEqual(cm.exception.code, "ERR_SHM_BRIDGE_NO_HOST")

    def test_requests_replies_errors_and_paged_list(self):
        host = FakeHost()
        self.addCleanup(host.close)
        seg = Segment.create(4096, unique("granted"))
        self.addCleanup(lambda: (seg.close(), seg.unlink()))

        def answer(req):
            if req["op"] == "attach" and req["name"] == "table":
                return {"v": 1, "id": req["id"], "ok": True, "result": {"handle": 1, "name": "table", "osName": seg.name, "size": 4096, "readonly": True, "kind": "segment"}}
            if req["op"] == "list":
                pages = {None: [{"name": "a"}, {"name": "b"}], "b": [{"name": "c"}]}
                return {"v": 1, "id": req["id"], "ok": True, "result": pages[req.get("after")]}
            return {"v": 1, "id": req["id"], "ok": False, "error": {"name": "Error", "code": "ERR_SHM_BRIDGE_NOT_FOUND", "message": "no segment named x"}}

        host.answer = answer
        client = shmkit.connect(timeout=5)
        self.assertNotIn(FD_ENV, os.environ, "taken once")
        self.assertEqual(client.host["version"], 1)
        table = client.attach("table")
        self.assertTrue(table.readonly)
        with self.assertRaises(TypeError):
            table.buf[0] = 1
        with self.assertRaises(BridgeError) as cm:
            client.attach("x")
        self.assertEqual(cm.exception.code, "ERR_SHM_BRIDGE_NOT_FOUND")
        self.assertEqual([e["name"] for e in client.list()], ["a", "b", "c"])
        self.assertEqual(host.requests[1], {"v": 1, "id": 2, "op": "attach", "name": "table"})
        client.close()
        self.assertTrue(table.closed, "close() closes every mapping it handed out")
        with self.assertRaises(BridgeError) as cm:
            client.list()
        self.assertEqual(cm.exception.code, "ERR_SHM_BRIDGE_CLOSED")

    def test_revoked_closes_the_mapping_then_calls_back(self):
        host = FakeHost()
        self.addCleanup(host.close)
        seg = Segment.create(4096, unique("revoked"))
        self.addCleanup(lambda: (seg.close(), seg.unlink()))
        host.answer = lambda req: {"v": 1, "id": req["id"], "ok": True, "result": {"handle": 7, "name": "s", "osName": seg.name, "size": 4096, "readonly": False, "kind": "segment"}}
        client = shmkit.connect(timeout=5)
        self.addCleanup(client.close)
        mapping = client.attach("s")
        seen = threading.Event()
        got = []
        client.on_revoked(lambda info: (got.append((info, mapping.closed)), seen.set()))
        host.send({"v": 1, "event": "revoked", "name": "s", "handles": [7], "reason": "owner-gone"})
        self.assertTrue(seen.wait(5))
        self.assertEqual(got, [({"name": "s", "reason": "owner-gone", "handles": [7]}, True)])

    def test_a_malformed_frame_from_the_host_ends_the_channel_with_a_code(self):
        host = FakeHost()
        self.addCleanup(host.close)
        host.answer = lambda req: None  # never answers
        client = shmkit.connect(timeout=5)
        closed = threading.Event()
        reasons = []
        client.on_closed(lambda reason: (reasons.append(reason), closed.set()))
        host.raw(struct.pack("<I", 0))
        self.assertTrue(closed.wait(5))
        self.assertEqual(reasons[0].code, "ERR_SHM_BRIDGE_PROTOCOL")
        with self.assertRaises(BridgeError) as cm:
            client.attach("x")
        self.assertEqual(cm.exception.code, "ERR_SHM_BRIDGE_PROTOCOL")

    def test_a_timed_out_attach_is_cancelled(self):
        host = FakeHost()
        self.addCleanup(host.close)
        host.answer = lambda req: None
        client = shmkit.connect(timeout=0.3)
        self.addCleanup(client.close)
        with self.assertRaises(BridgeError) as cm:
            client.attach("slow")
        self.assertEqual(cm.exception.code, "ERR_SHM_BRIDGE_TIMEOUT")
        for _ in range(100):
            if any(r["op"] == "cancel" for r in host.requests):
                break
            threading.Event().wait(0.01)
        attach = next(r for r in host.requests if r["op"] == "attach")
        cancel = next(r for r in host.requests if r["op"] == "cancel")
        self.assertEqual(cancel["request"], attach["id"])

    def test_the_host_going_away_fails_pending_requests(self):
        host = FakeHost()
        host.answer = lambda req: None
        client = shmkit.connect(timeout=5)
        result = []
        t = threading.Thread(target=lambda: result.append(self._code(lambda: client.attach("x"))))
        t.start()
        threading.Event().wait(0.1)
        host.close()
        t.join(5)
        self.assertEqual(result, ["ERR_SHM_BRIDGE_CLOSED"])
        self.assertTrue(client.closed)

    @staticmethod
    def _code(fn):
        try:
            fn()
        except BridgeError as e:
            return e.code
        return None


if __name__ == "__main__":
    unittest.main()
