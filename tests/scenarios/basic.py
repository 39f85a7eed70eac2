"""The end-to-end behaviours of pyws, written once, run on CPython, Node and Chromium.

Each scenario is ``async def name(server, refused)``: ``server`` is the base URL of the
behaviour server (tests/support/servers.py), ``refused`` a ws:// URL nobody listens on. A
scenario asserts itself and returns nothing; an AssertionError is a failure in
whichever runtime ran it.
"""

from __future__ import annotations

import asyncio

import pyws
from pyws import WebSocket

from .trace import Trace

CONNECTING, OPEN, CLOSING, CLOSED = 0, 1, 2, 3


async def text_and_binary_echo(server: str, refused: str) -> None:
    ws = WebSocket(server + "/echo")
    trace = Trace(ws)
    ws.binaryType = "arraybuffer"
    await trace.wait_for("open")
    assert ws.readyState == OPEN
    ws.send("héllo ☃")
    ws.send(b"\x00\x01\xfe\xff")
    ws.send(bytearray(b"ba"))
    ws.send(memoryview(b"mv"))
    await trace.wait_for("message", 4)
    ws.close()
    events = await trace.closed()
    messages = [e for e in events if e["type"] == "message"]
    assert messages[0] == {"type": "message", "readyState": OPEN, "data": "héllo ☃"}, messages
    assert messages[1]["binary"] == "0001feff" and messages[1]["data_type"] == "bytes", messages
    assert [m["binary"] for m in messages[2:]] == [b"ba".hex(), b"mv".hex()], messages
    assert events[-1] == {"type": "close", "readyState": CLOSED, "code": 1005, "reason": "",
                          "wasClean": True}, events


async def binary_type_blob_default(server: str, refused: str) -> None:
    await _binary_types(server + "/echo")
    # Without permessage-deflate, frames reach pyws's CPython backend as read from the
    # socket: the types must not change.
    await _binary_types(server + "/echo?deflate=0")


async def _binary_types(url: str) -> None:
    ws = WebSocket(url)
    assert ws.binaryType == "blob"
    ws.binaryType = "nonsense"  # ignored silently, as in the browser
    assert ws.binaryType == "blob"
    got: list[object] = []
    done = asyncio.get_event_loop().create_future()

    def on_message(event: pyws.MessageEvent) -> None:
        got.append(event.data)
        if len(got) == 1:
            ws.binaryType = "arraybuffer"  # read when each message is dispatched
        else:
            done.set_result(None)

    ws.onopen = lambda event: (ws.send(b"one"), ws.send(b"two"))
    ws.onmessage = on_message
    await asyncio.wait_for(done, 10)
    ws.close()
    assert (ws.extensions == "") == url.endswith("deflate=0"), ws.extensions
    blob, raw = got
    assert isinstance(blob, pyws.Blob) and isinstance(blob, bytes) and blob == b"one", blob
    assert blob.size == 3 and blob.type == ""
    assert await blob.text() == "one" and await blob.arrayBuffer() == b"one"
    assert blob.slice(1) == b"ne" and isinstance(blob.slice(1), pyws.Blob)
    assert type(raw) is bytes and raw == b"two", raw


async def protocols_negotiation(server: str, refused: str) -> None:
    ws = WebSocket(server + "/echo?accept=superchat,chat", ["v1.pyws", "chat", "superchat"])
    trace = Trace(ws)
    assert ws.protocol == "" and ws.extensions == ""
    await trace.wait_for("open")
    assert ws.protocol == "chat", ws.protocol
    ws.close()
    await trace.closed()
    # A single string is a one-item list.
    ws = WebSocket(server + "/echo", "chat")
    trace = Trace(ws)
    await trace.wait_for("open")
    assert ws.protocol == "chat"
    ws.close()
    await trace.closed()


async def protocol_not_selected_fails(server: str, refused: str) -> None:
    # The standard is stricter than RFC 6455: protocols requested, none selected -> fail.
    ws = WebSocket(server + "/echo?accept=", ["chat"])
    trace = Trace(ws)
    events = await trace.closed()
    assert trace.types() == ["error", "close"], events
    assert events[-1]["code"] == 1006 and events[-1]["wasClean"] is False, events


async def extensions_negotiated(server: str, refused: str) -> None:
    ws = WebSocket(server + "/echo")
    trace = Trace(ws)
    await trace.wait_for("open")
    # Browsers offer permessage-deflate; the server accepted it.
    assert ws.extensions.startswith("permessage-deflate"), ws.extensions
    ws.send("x" * 10000)
    await trace.wait_for("message")
    assert trace.events[-1]["data"] == "x" * 10000
    ws.close()
    await trace.closed()


async def server_close_with_code_and_reason(server: str, refused: str) -> None:
    ws = WebSocket(server + "/close?code=4001&reason=bye+now")
    trace = Trace(ws)
    events = await trace.closed()
    assert trace.types() == ["open", "close"], events
    assert events[-1] == {"type": "close", "readyState": CLOSED, "code": 4001,
                          "reason": "bye now", "wasClean": True}, events


async def server_empty_close_frame_is_1005(server: str, refused: str) -> None:
    ws = WebSocket(server + "/close-empty")
    trace = Trace(ws)
    events = await trace.closed()
    assert events[-1]["code"] == 1005 and events[-1]["wasClean"] is True, events


async def server_drop_is_1006(server: str, refused: str) -> None:
    # Chromium (and Node) report a TCP drop after open as close 1006, without error.
    ws = WebSocket(server + "/drop")
    trace = Trace(ws)
    events = await trace.closed()
    assert trace.types() == ["open", "close"], events
    assert events[-1] == {"type": "close", "readyState": CLOSED, "code": 1006, "reason": "",
                          "wasClean": False}, events


async def refused_connection(server: str, refused: str) -> None:
    ws = WebSocket(refused)
    trace = Trace(ws)
    assert ws.readyState == CONNECTING
    events = await trace.closed()
    assert events == [
        {"type": "error", "readyState": CLOSED},
        {"type": "close", "readyState": CLOSED, "code": 1006, "reason": "", "wasClean": False},
    ], events


async def client_close_reaches_server(server: str, refused: str) -> None:
    key = f"close-{id(object())}"
    ws = WebSocket(f"{server}/record?id={key}")
    trace = Trace(ws)
    await trace.wait_for("open")
    ws.close(4321, "fin ✓")
    assert ws.readyState == CLOSING
    ws.close(1000)  # CLOSING: does nothing
    events = await trace.closed()
    assert events[-1]["code"] == 4321 and events[-1]["reason"] == "fin ✓", events
    assert events[-1]["wasClean"] is True
    report = WebSocket(f"{server}/report?id={key}")
    report_trace = Trace(report)
    await report_trace.wait_for("message")
    import json

    record = json.loads(next(e["data"] for e in report_trace.events if e["type"] == "message"))
    assert record["code"] == 4321 and record["reason"] == "fin ✓", record
    await report_trace.closed()


async def send_while_connecting_raises(server: str, refused: str) -> None:
    ws = WebSocket(server + "/echo")
    for data in ("text", b"bytes"):
        try:
            ws.send(data)
        except pyws.InvalidStateError as exc:
            assert exc.name == "InvalidStateError" and isinstance(exc, RuntimeError)
            assert isinstance(exc, pyws.DOMException) and exc.code == 11
        else:
            raise AssertionError("send() while CONNECTING did not raise")
    try:
        ws.send(12)  # type: ignore[arg-type]
    except TypeError:
        pass
    else:
        raise AssertionError("send(int) did not raise TypeError")
    trace = Trace(ws)
    ws.close()
    events = await trace.closed()
    assert trace.types() == ["error", "close"], events  # close() while CONNECTING fails it
    assert events[-1]["code"] == 1006


async def close_argument_errors(server: str, refused: str) -> None:
    ws = WebSocket(server + "/echo")
    trace = Trace(ws)
    await trace.wait_for("open")
    for code in (999, 1001, 1005, 1006, 2999, 5000):
        try:
            ws.close(code, "x" * 200)  # the code is checked before the reason
        except pyws.InvalidAccessError as exc:
            assert exc.name == "InvalidAccessError" and isinstance(exc, ValueError), exc
        else:
            raise AssertionError(f"close({code}) did not raise")
    try:
        ws.close(1000, "é" * 62)  # 124 bytes
    except pyws.DOMSyntaxError as exc:
        assert exc.name == "SyntaxError" and isinstance(exc, ValueError)
    else:
        raise AssertionError("a 124-byte reason did not raise")
    assert ws.readyState == OPEN  # nothing happened
    ws.close(1000, "é" * 61 + "a")  # 123 bytes: fine
    events = await trace.closed()
    assert events[-1]["code"] == 1000 and events[-1]["reason"] == "é" * 61 + "a", events


async def events_never_synchronous(server: str, refused: str) -> None:
    seen: list[str] = []
    ws = WebSocket(refused)
    ws.onerror = lambda event: seen.append("error")
    ws.close()  # fails the connection, but the events come later
    assert seen == [] and ws.readyState == CLOSING
    ws.onclose = lambda event: seen.append("close")  # attached after close(): still called
    trace = Trace(ws)
    await trace.closed()
    assert seen == ["error", "close"], seen


async def send_after_close_is_discarded(server: str, refused: str) -> None:
    ws = WebSocket(server + "/echo")
    trace = Trace(ws)
    await trace.wait_for("open")
    before = ws.bufferedAmount
    ws.close()
    ws.send("1234")        # CLOSING: discarded, but counted
    ws.send(b"\x00" * 10)
    assert ws.bufferedAmount == before + 14, ws.bufferedAmount
    await trace.closed()
    ws.send("é")           # CLOSED: 2 UTF-8 bytes more
    assert ws.bufferedAmount >= before + 16, ws.bufferedAmount
    assert trace.count("message") == 0


async def send_after_the_servers_close_frame_is_counted(server: str, refused: str) -> None:
    # CLOSING without close(): the server's close frame arrived (after a message) and the
    # close event has not. Data sent then is discarded and counted, from a handler of the
    # socket or not (Node's WebSocket does not count it: pyws does).
    key = f"hold-{id(object())}"
    ws = WebSocket(f"{server}/close-hold?id={key}")
    trace = Trace(ws)
    await trace.wait_for("message")
    for _ in range(500):
        if ws.readyState == CLOSING:
            break
        await asyncio.sleep(0.01)
    assert ws.readyState == CLOSING, ws.readyState
    before = ws.bufferedAmount
    ws.send("abc")
    ws.send(b"\x00" * 4)
    assert ws.bufferedAmount == before + 7, (before, ws.bufferedAmount)
    resume = WebSocket(f"{server}/resume?id={key}")
    await Trace(resume).closed()
    events = await trace.closed()
    assert trace.types() == ["open", "message", "close"], events
    assert events[-1]["code"] == 4000 and events[-1]["wasClean"] is True, events


async def binary_messages_of_every_size_echo_intact(server: str, refused: str) -> None:
    # Sizes around 256 KiB, where the Pyodide backend stops copying the bytes into a
    # Uint8Array and hands the host a view of them: every byte must arrive, in order.
    import os

    sizes = [0, 1, 125, 65536, 256 * 1024 - 1, 256 * 1024, 256 * 1024 + 1, (1 << 20) + 3]
    payloads = [os.urandom(size) for size in sizes]
    payloads.append(payloads[-2])  # sent again as a bytearray
    ws = WebSocket(server + "/echo")
    ws.binaryType = "arraybuffer"
    trace = Trace(ws)
    received: list[bytes] = []
    done = asyncio.get_running_loop().create_future()

    def on_message(event: pyws.MessageEvent) -> None:
        received.append(event.data)
        if len(received) == len(payloads) and not done.done():
            done.set_result(None)

    ws.onmessage = on_message
    await trace.wait_for("open")
    for payload in payloads[:-1]:
        ws.send(payload)
    ws.send(bytearray(payloads[-1]))  # bytes-like: the facade copies it first
    await asyncio.wait_for(done, 20)
    assert [len(data) for data in received] == [len(p) for p in payloads]
    assert received == payloads
    ws.close()
    await trace.closed()


async def messages_after_close_are_dropped(server: str, refused: str) -> None:
    ws = WebSocket(server + "/messages?n=50")
    trace = Trace(ws)

    def first_message(event: pyws.MessageEvent) -> None:
        ws.close()  # the other 49 messages may already be queued: none is dispatched

    ws.addEventListener("message", first_message, {"once": True})
    events = await trace.closed()
    assert trace.count("message") == 1, events


async def url_and_attributes(server: str, refused: str) -> None:
    port = server.rsplit(":", 1)[1]
    ws = WebSocket(f"HTTP://127.0.0.1:{port}/echo?q=a b")
    assert ws.url == f"ws://127.0.0.1:{port}/echo?q=a%20b", ws.url
    assert (ws.CONNECTING, ws.OPEN, ws.CLOSING, ws.CLOSED) == (0, 1, 2, 3)
    assert (WebSocket.CONNECTING, WebSocket.CLOSED) == (0, 3)
    trace = Trace(ws)
    ws.close()
    await trace.closed()
    for bad in ("ws://127.0.0.1/#frag", "ws://127.0.0.1/#", "ftp://127.0.0.1/", "ws://", "ws://a b/"):
        try:
            WebSocket(bad)
        except pyws.DOMSyntaxError as exc:
            assert exc.name == "SyntaxError" and isinstance(exc, ValueError)
        else:
            raise AssertionError(f"WebSocket({bad!r}) did not raise")
    for protocols in (["a", "a"], [""], ["a b"], "x,y", ["ü"]):
        try:
            WebSocket(server + "/echo", protocols)
        except pyws.DOMSyntaxError:
            pass
        else:
            raise AssertionError(f"protocols {protocols!r} did not raise")


async def listener_machinery(server: str, refused: str) -> None:
    calls: list[str] = []
    ws = WebSocket(server + "/messages?n=2")

    def a(event: object) -> None:
        calls.append("a")

    def b(event: object) -> None:
        calls.append("b")

    class Handler:
        def handleEvent(self, event: object) -> None:
            calls.append("obj")

    ws.addEventListener("message", a)
    ws.addEventListener("message", a)          # duplicate: ignored
    ws.onmessage = b                           # slot takes its place now...
    ws.addEventListener("message", Handler())
    ws.addEventListener("message", lambda e: calls.append("once"), once=True)
    ws.onmessage = lambda e: calls.append("b2")  # ...and keeps it when reassigned
    trace = Trace(ws)
    await trace.closed()
    assert calls == ["a", "b2", "obj", "once", "a", "b2", "obj"], calls
    ws.onmessage = None
    assert ws.onmessage is None
    ws.removeEventListener("message", a)
    event = pyws.MessageEvent("message", data="synthetic")
    assert ws.dispatchEvent(event) is True and event.target is ws
    assert calls[-1] == "obj" and len(calls) == 8, calls


async def async_handlers_run(server: str, refused: str) -> None:
    ws = WebSocket(server + "/echo")
    done = asyncio.get_event_loop().create_future()

    async def on_open(event: object) -> None:
        await asyncio.sleep(0)
        ws.send("from a coroutine")

    ws.onopen = on_open
    ws.onmessage = lambda event: done.set_result(event.data)
    assert await asyncio.wait_for(done, 10) == "from a coroutine"
    trace = Trace(ws)
    ws.close()
    await trace.closed()


SCENARIOS = [
    name for name, value in sorted(globals().items())
    if asyncio.iscoroutinefunction(value) and not name.startswith("_")
]
