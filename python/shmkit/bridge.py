"""A peer of the ``@shmkit/electron-bridge`` host: ``client = shmkit.connect()``.

The host (``createNodeHost()`` of ``@shmkit/electron-bridge/node``, or the
Electron main process's ``createHost()``) starts this program with
``host.spawn('python3', [script])``; the bridge's channel is the inherited
socket named by ``SHMKIT_BRIDGE_FD``, carrying the frames of
docs/bridge-protocol.md. The host decides what this process may see: segments
by logical name, with the same grants, read-only rules, quotas and error codes
as any peer (a window, a Node child).

Threads: a background thread reads the channel. Requests may be made from any
thread; ``revoked`` and ``closed`` callbacks run on the reader thread (keep them
short). The process may exit without closing: the host then sees it gone.
"""
from __future__ import annotations

import json
import os
import socket
import struct
import threading
from typing import Callable, Dict, List, Optional, Union

from .errors import BridgeError
from .framering import FrameRing
from .segment import Segment

FD_ENV = "SHMKIT_BRIDGE_FD"
PROTOCOL_VERSION = 1
MAX_OUT_FRAME = 64 * 1024  # what the host takes from a peer
MAX_IN_FRAME = 4 * 1024 * 1024  # what the host sends at most
_CANCELLABLE = ("attach", "create", "createFrameRing")

Mapping = Union[Segment, FrameRing]


class _Pending:
    __slots__ = ("event", "reply", "op")

    def __init__(self, op: str) -> None:
        self.event = threading.Event()
        self.reply: Optional[dict] = None
        self.op = op


class Client:
    """The bridge as this process sees it. Made by :func:`connect`."""

    def __init__(self, sock: socket.socket, timeout: float) -> None:
        self._sock = sock
        self._timeout = timeout
        self._send_lock = threading.Lock()
        self._lock = threading.Lock()
        self._next_id = 1
        self._pending: Dict[int, _Pending] = {}
        self._handles: Dict[int, Mapping] = {}
        self._revoked_early: Dict[int, str] = {}
        self._revoked_listeners: List[Callable[[dict], None]] = []
        self._closed_listeners: List[Callable[[Optional[BridgeError]], None]] = []
        self._closed = False
        self._close_reason: Optional[BridgeError] = None
        self._reader = threading.Thread(target=self._read_loop, name="shmkit-bridge", daemon=True)
        self._reader.start()
        self.host: dict = self._request({"op": "hello"})

    # ---- segments -----------------------------------------------------------------------------
    def attach(self, name: str, readonly: Optional[bool] = None) -> Segment:
        """Maps a segment this process owns or was granted. ``readonly`` None: as granted."""
        body: dict = {"op": "attach", "name": name}
        if readonly is not None:
            body["readonly"] = bool(readonly)
        result = self._request(body)
        return self._map(result, lambda: Segment.attach(result["osName"], readonly=result["readonly"]))

    def create(self, name: str, size: int) -> Segment:
        """A segment owned by this process, in its own namespace, mapped read-write; unlinked when it goes."""
        result = self._request({"op": "create", "name": name, "size": size})
        return self._map(result, lambda: Segment.attach(result["osName"]))

    def attach_frame_ring(self, name: str, readonly: bool = True) -> FrameRing:
        """A reader of a FrameRing this process was granted (read-only unless asked and granted otherwise)."""
        result = self._request({"op": "attach", "name": name, "readonly": bool(readonly)})
        if result.get("kind") != "frame-ring":
            self._detach_quietly(result["handle"])
            raise BridgeError("ERR_INVALID_ARG_VALUE", f"segment {name} is not a FrameRing: use attach()")
        return self._map(result, lambda: FrameRing.attach(result["osName"], readonly=result["readonly"]))

    def create_frame_ring(self, name: str, slots: int, slot_bytes: int) -> FrameRing:
        """A FrameRing owned by this process with this process as its writer; returns the writer end.

        Readers the host grants it to (windows, Node children) see this process as the
        writer: ``ERR_SHM_RING_WRITER_GONE`` if it dies. The host learns of it by its
        ``segment-created`` event, and grants it to the pages that should draw it.
        """
        result = self._request({"op": "createFrameRing", "name": name, "slots": slots, "slotBytes": slot_bytes})
        return self._map(result, lambda: FrameRing.attach(result["osName"], writer=True))

    def detach(self, mapping: Mapping) -> None:
        """Closes a mapping this client handed out and tells the host."""
        with self._lock:
            handle = next((h for h, m in self._handles.items() if m is mapping), None)
        if handle is None:
            raise BridgeError("ERR_SHM_BRIDGE_UNKNOWN_HANDLE", "not a mapping of this client (or already detached)")
        self._forget(handle)
        self._request({"op": "detach", "handle": handle})

    def release(self, name: str) -> None:
        """Unlinks a segment this process owns (its own mappings of it get ``revoked``)."""
        self._request({"op": "release", "name": name})

    def list(self) -> List[dict]:
        """What this process may attach: ``[{name, size, kind, readonly, owned}]``, every page."""
        out: List[dict] = []
        after: Optional[str] = None
        page_size = self.host.get("listPageSize", 256)
        while True:
            body: dict = {"op": "list"}
            if after is not None:
                body["after"] = after
            page = self._request(body)
            if not isinstance(page, list):
                raise self._protocol("malformed list result from the host")
            out.extend(page)
            if len(page) < page_size:
                return out
            after = page[-1]["name"]

    # ---- events -------------------------------------------------------------------------------
    def on_revoked(self, callback: Callable[[dict], None]) -> Callable[[], None]:
        """``callback({'name', 'reason', 'handles'})`` after those mappings were closed. Returns the unsubscribe function."""
        self._revoked_listeners.append(callback)
        return lambda: self._revoked_listeners.remove(callback) if callback in self._revoked_listeners else None

    def on_closed(self, callback: Callable[[Optional[BridgeError]], None]) -> Callable[[], None]:
        """``callback(reason)`` once the channel is gone (``reason`` None when this client closed it)."""
        self._closed_listeners.append(callback)
        return lambda: self._closed_listeners.remove(callback) if callback in self._closed_listeners else None

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Closes every mapping it handed out and ends the channel: the host sees this process gone. Idempotent."""
        self._shutdown(None)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- internals ----------------------------------------------------------------------------
    def _map(self, result: dict, open_: Callable[[], Mapping]) -> Mapping:
        handle = result["handle"]
        try:
            mapping = open_()
        except BaseException:
            self._detach_quietly(handle)
            raise
        with self._lock:
            early = self._revoked_early.pop(handle, None)
            if early is None:
                self._handles[handle] = mapping
        if early is not None:
            _close(mapping)
            raise BridgeError("ERR_SHM_BRIDGE_NOT_GRANTED", f"segment {result['name']} was revoked ({early}) while it was being attached")
        return mapping

    def _detach_quietly(self, handle: int) -> None:
        try:
            self._request({"op": "detach", "handle": handle})
        except BridgeError:
            pass

    def _forget(self, handle: int) -> Optional[Mapping]:
        with self._lock:
            mapping = self._handles.pop(handle, None)
        if mapping is not None:
            _close(mapping)
        return mapping

    def _request(self, body: dict):
        if self._closed:
            raise self._close_reason or BridgeError("ERR_SHM_BRIDGE_CLOSED", "the bridge client is closed")
        with self._lock:
            rid = self._next_id
            self._next_id += 1
            pending = _Pending(body["op"])
            self._pending[rid] = pending
        try:
            self._send({"v": PROTOCOL_VERSION, "id": rid, **body})
        except BridgeError:
            with self._lock:
                self._pending.pop(rid, None)
            raise
        if not pending.event.wait(self._timeout):
            with self._lock:
                self._pending.pop(rid, None)
            if body["op"] in _CANCELLABLE:
                # served after the request it cancels (requests are served in order): undoes exactly what it did
                self._send_quietly({"v": PROTOCOL_VERSION, "id": self._take_id(), "op": "cancel", "request": rid})
            raise BridgeError("ERR_SHM_BRIDGE_TIMEOUT", f"no reply to {body['op']} from the host within {self._timeout} s")
        reply = pending.reply
        if reply is None:
            raise self._close_reason or BridgeError("ERR_SHM_BRIDGE_CLOSED", "the channel to the host is gone")
        if reply.get("ok") is True:
            return reply.get("result")
        error = reply.get("error") or {}
        raise BridgeError(str(error.get("code", "ERR_SHM_BRIDGE_INTERNAL")), str(error.get("message", "the host refused the request")))

    def _take_id(self) -> int:
        with self._lock:
            rid = self._next_id
            self._next_id += 1
            return rid

    def _send(self, message: dict) -> None:
        payload = json.dumps(message, separators=(",", ":")).encode("utf-8")
        if len(payload) > MAX_OUT_FRAME:
            raise BridgeError("ERR_SHM_BRIDGE_PROTOCOL", f"a request of {len(payload)} bytes is over the channel's {MAX_OUT_FRAME}")
        try:
            with self._send_lock:
                self._sock.sendall(struct.pack("<I", len(payload)) + payload)
        except OSError as exc:
            self._shutdown(BridgeError("ERR_SHM_BRIDGE_CLOSED", f"cannot reach the host: {exc}"))
            raise self._close_reason or BridgeError("ERR_SHM_BRIDGE_CLOSED", str(exc)) from None

    def _send_quietly(self, message: dict) -> None:
        try:
            self._send(message)
        except BridgeError:
            pass

    def _protocol(self, why: str) -> BridgeError:
        return BridgeError("ERR_SHM_BRIDGE_PROTOCOL", why)

    def _read_exactly(self, n: int) -> Optional[bytes]:
        chunks = []
        while n > 0:
            try:
                chunk = self._sock.recv(min(n, 1 << 20))
            except OSError:
                return None
            if not chunk:
                return None
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def _read_loop(self) -> None:
        reason: Optional[BridgeError] = BridgeError("ERR_SHM_BRIDGE_CLOSED", "the host ended the channel")
        while not self._closed:
            head = self._read_exactly(4)
            if head is None:
                break
            (length,) = struct.unpack("<I", head)
            if length == 0 or length > MAX_IN_FRAME:
                reason = self._protocol(f"a frame of {length} bytes from the host")
                break
            payload = self._read_exactly(length)
            if payload is None:
                break
            try:
                message = json.loads(payload.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                reason = self._protocol("a frame from the host that is not JSON")
                break
            if not isinstance(message, dict) or message.get("v") != PROTOCOL_VERSION:
                reason = self._protocol("a message from the host of another shape or version")
                break
            event = message.get("event")
            if event == "revoked":
                self._on_revoked(message)
            elif event == "disconnect":
                err = message.get("error") or {}
                reason = BridgeError(str(err.get("code", "ERR_SHM_BRIDGE_CLOSED")), str(err.get("message", "the host ended the channel")))
                break
            elif event is None:
                rid = message.get("id")
                with self._lock:
                    pending = self._pending.pop(rid, None) if isinstance(rid, int) else None
                if pending is not None:
                    pending.reply = message
                    pending.event.set()
            # unknown events are ignored, as the protocol says
        self._shutdown(None if self._closed else reason)

    def _on_revoked(self, message: dict) -> None:
        name, handles, reason = message.get("name"), message.get("handles"), message.get("reason")
        if not isinstance(name, str) or not isinstance(handles, list) or not isinstance(reason, str):
            return
        for handle in handles:
            if not isinstance(handle, int):
                continue
            if self._forget(handle) is None:
                with self._lock:
                    self._revoked_early[handle] = reason  # an attach whose reply is still on its way
                    while len(self._revoked_early) > 1024:
                        self._revoked_early.pop(next(iter(self._revoked_early)))
        info = {"name": name, "reason": reason, "handles": list(handles)}
        for callback in list(self._revoked_listeners):
            try:
                callback(info)
            except Exception:  # noqa: BLE001 - a listener's failure must not stop the channel
                pass

    def _shutdown(self, reason: Optional[BridgeError]) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._close_reason = reason
            pending = list(self._pending.values())
            self._pending.clear()
            handles = list(self._handles.values())
            self._handles.clear()
        for p in pending:
            p.event.set()  # reply None: the request fails with the close reason
        for mapping in handles:
            _close(mapping)
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()
        for callback in list(self._closed_listeners):
            try:
                callback(reason)
            except Exception:  # noqa: BLE001
                pass


def _close(mapping: Mapping) -> None:
    if isinstance(mapping, FrameRing):
        mapping.close()
    else:
        mapping.close(defer=True)


def connect(timeout: float = 10.0) -> Client:
    """Connects to the host that started this process (``host.spawn()``), over descriptor ``SHMKIT_BRIDGE_FD``.

    Taken once: the variable is removed, so a second ``connect()`` (and programs this one
    starts) find no channel. Raises :class:`BridgeError` ``ERR_SHM_BRIDGE_NO_HOST`` when
    there is none or the host does not answer within ``timeout`` seconds (also each
    request's timeout).
    """
    raw = os.environ.pop(FD_ENV, None)
    fd = int(raw) if raw is not None and raw.isdigit() else -1
    if fd < 3:
        raise BridgeError(
            "ERR_SHM_BRIDGE_NO_HOST",
            f"this process has no bridge channel (no usable {FD_ENV}): start it with host.spawn() of "
            "@shmkit/electron-bridge's host, and call connect() once",
        )
    try:
        sock = socket.socket(fileno=fd)
        os.set_inheritable(fd, False)
    except OSError as exc:
        raise BridgeError("ERR_SHM_BRIDGE_NO_HOST", f"descriptor {fd} ({FD_ENV}) is not a socket: {exc}") from None
    try:
        return Client(sock, timeout)
    except BridgeError as exc:
        sock.close()
        if exc.code in ("ERR_SHM_BRIDGE_TIMEOUT", "ERR_SHM_BRIDGE_CLOSED"):
            raise BridgeError("ERR_SHM_BRIDGE_NO_HOST", f"the parent process did not answer as a bridge host ({exc.code})") from None
        raise
