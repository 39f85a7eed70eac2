"""Reconnection (``pyws.ReconnectingWebSocket`` and ``async for ws in pyws.connect()``),
written once, run on CPython (asyncio, uvloop) and in Pyodide (Node, a Chromium page, a
Chromium worker) by tests/behaviour/test_reconnect.py.

Each scenario is ``async def name(server, refused)``: ``server`` is the base URL of the
reconnect server (tests/support/reconnect_server.py), ``refused`` a ws:// URL nobody listens on.
The server is driven through its control paths (``/drop``, ``/close``, ``/log``): for the
client, aborting every connection of its group is what a killed server looks like.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import pyws

CONNECTING, OPEN, CLOSING, CLOSED = 0, 1, 2, 3

#: Quick retries for the tests: the first within 0.1 s, never more than 0.3 s.
FAST = pyws.Backoff(initial=0.1, maximum=0.3)


class Recorder:
    """Every event of a reconnecting socket, with readyState at dispatch."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.events: list[dict[str, Any]] = []
        self._changed = asyncio.Event()
        for kind in ("open", "message", "error", "close"):
            ws.addEventListener(kind, self._record)

    def _record(self, event: Any) -> None:
        entry: dict[str, Any] = {"type": event.type, "readyState": int(self.ws.readyState)}
        if event.type == "message":
            entry["data"] = event.data
        elif event.type == "close":
            entry.update(code=event.code, wasClean=event.wasClean,
                         willReconnect=event.willReconnect, retryDelay=event.retryDelay,
                         retryCount=event.retryCount)
        self.events.append(entry)
        self._changed.set()

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == kind]

    async def wait_for(self, kind: str, count: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.of(kind)) < count:
            self._changed.clear()
            await asyncio.wait_for(self._changed.wait(), max(0.0, deadline - time.monotonic()))
        return self.of(kind)


def _group() -> str:
    return uuid.uuid4().hex


async def control(server: str, path: str) -> Any:
    """Run a control path of the server (``/drop?group=G`` ...); its text answer, if any."""
    async with pyws.connect(server + path) as ws:
        if path.startswith("/log"):
            return json.loads(await ws.recv())
        await ws.wait_closed()
    return None


async def resumes_after_a_drop_and_sends_held_messages_once_in_order(server: str, refused: str) -> None:
    group = _group()
    ws = pyws.ReconnectingWebSocket(f"{server}/echo?group={group}", backoff=FAST)
    rec = Recorder(ws)
    opens = [0]

    def on_open(event: Any) -> None:
        opens[0] += 1
        ws.send(f"hello{opens[0]}")  # an open listener's message goes before the held ones

    while_waiting: list[tuple[int, int, int]] = []

    def on_close(event: Any) -> None:
        # Sent while it waits to retry (the retry may come before the test's own await
        # returns, so this happens in the listener, where the state is certain): held.
        if event.willReconnect and not while_waiting:
            state = (int(ws.readyState), ws.retryCount)
            ws.send("b")
            ws.send(b"c")
            while_waiting.append((*state, ws.bufferedAmount))

    ws.onopen = on_open
    ws.addEventListener("close", on_close)
    assert ws.readyState == CONNECTING
    ws.send("held0")  # not open yet: held, as every send until the first open
    await rec.wait_for("message", 2)
    assert ws.readyState == OPEN
    ws.send("a")
    await rec.wait_for("message", 3)
    await control(server, f"/drop?group={group}")
    closes = await rec.wait_for("close")
    assert closes[0]["code"] == 1006 and closes[0]["willReconnect"] is True, closes
    assert 0 <= closes[0]["retryDelay"] <= 0.1 and closes[0]["retryCount"] == 1, closes
    assert closes[0]["readyState"] == CONNECTING, closes  # waiting to retry
    assert while_waiting == [(CONNECTING, 1, 2)], while_waiting
    await rec.wait_for("message", 6)
    assert ws.readyState == OPEN and ws.bufferedAmount == 0
    ws.close()
    final = await ws.wait_closed()
    assert (final.code, final.wasClean, final.willReconnect) == (1005, True, False), final
    assert ws.readyState == CLOSED
    log = await control(server, f"/log?group={group}")
    assert log["received"] == ["hello1", "held0", "a", "hello2", "b", {"binary": "63"}], log
    assert len(log["paths"]) == 2, log
    assert [e["type"] for e in rec.events] == [
        "open", "message", "message", "message", "close",
        "open", "message", "message", "message", "close"], rec.events
    assert [e["data"] for e in rec.of("message")][-1] == b"c"


async def recv_and_async_for_span_reconnections(server: str, refused: str) -> None:
    group = _group()
    ws = pyws.ReconnectingWebSocket(f"{server}/echo?group={group}", backoff=FAST)
    got: list[str] = []
    ws.send("one")
    assert await asyncio.wait_for(ws.recv(), 10) == "one"
    await control(server, f"/drop?group={group}")
    ws.send("two")
    ws.send("stop")
    async for data in ws:  # across the reconnection; ends quietly after close()
        got.append(data)
        if data == "stop":
            ws.close()
    assert got == ["two", "stop"], got
    assert (await ws.wait_closed()).willReconnect is False


async def async_for_connect_yields_a_new_socket_after_each_drop(server: str, refused: str) -> None:
    group = _group()
    url = f"{server}/echo?group={group}"
    seen: list[str] = []
    sockets = []
    async for ws in pyws.connect(url, backoff=FAST):
        sockets.append(ws)
        ws.send(f"m{len(sockets)}")
        try:
            async for data in ws:
                seen.append(data)
                if len(sockets) == 1:
                    await control(server, f"/drop?group={group}")
                else:
                    break
        except pyws.WebSocketError as exc:  # the drop: go on with the next connection
            assert exc.closeCode == 1006
            continue
        break
    assert seen == ["m1", "m2"], seen
    assert sockets[0].readyState == CLOSED and sockets[1].readyState == OPEN
    sockets[1].close()  # break leaves the iterator suspended: close what it gave
    await sockets[1].wait_closed()
    log = await control(server, f"/log?group={group}")
    assert log["received"] == ["m1", "m2"] and len(log["paths"]) == 2, log


async def async_for_connect_body_end_reconnects_at_once(server: str, refused: str) -> None:
    group = _group()
    sockets = []
    started = time.monotonic()
    async for ws in pyws.connect(f"{server}/echo?group={group}", backoff=FAST):
        sockets.append(ws)
        if len(sockets) == 3:
            break
        # the body ends with the socket open: it is closed (1000), the next one made at once
    assert time.monotonic() - started < 5
    assert [ws.readyState for ws in sockets] == [CLOSED, CLOSED, OPEN]
    sockets[2].close()
    await sockets[2].wait_closed()
    log = await control(server, f"/log?group={group}")
    assert len(log["paths"]) == 3, log


async def async_for_connect_gives_up_after_max_retries(server: str, refused: str) -> None:
    started = time.monotonic()
    try:
        async for _ in pyws.connect(refused, backoff=FAST, max_retries=2):
            raise AssertionError("connected to the refused port")
    except pyws.WebSocketError as exc:
        assert exc.closeCode == 1006 and "after 2 retries" in exc.message, exc
    else:
        raise AssertionError("async for ended without an error")
    assert time.monotonic() - started < 10


async def max_retries_ends_with_a_final_close(server: str, refused: str) -> None:
    # A rejected handshake (HTTP 403) is a failed connection in every browser API: error,
    # close 1006; it is retried like a server that is down, up to max_retries.
    ws = pyws.ReconnectingWebSocket(f"{server}/reject", backoff=FAST, max_retries=2)
    rec = Recorder(ws)
    final = await asyncio.wait_for(ws.wait_closed(), 20)
    closes = rec.of("close")
    assert [(c["code"], c["willReconnect"], c["retryCount"]) for c in closes] == [
        (1006, True, 1), (1006, True, 2), (1006, False, 2)], closes
    assert [e["type"] for e in rec.events] == ["error", "close"] * 3, rec.events
    assert closes[-1]["readyState"] == CLOSED and ws.readyState == CLOSED
    assert final.willReconnect is False and final.retryDelay is None
    try:
        await ws.recv()
    except pyws.WebSocketError as exc:
        assert exc.closeCode == 1006
    else:
        raise AssertionError("recv() after giving up did not raise")


async def a_short_lived_connection_continues_the_backoff_series(server: str, refused: str) -> None:
    ws = pyws.ReconnectingWebSocket(f"{server}/accept-then-drop", backoff=FAST, max_retries=3)
    rec = Recorder(ws)
    await asyncio.wait_for(ws.wait_closed(), 20)
    closes = rec.of("close")
    assert len(rec.of("open")) == 4, rec.events  # each connection opened, then dropped
    assert [c["retryCount"] for c in closes] == [1, 2, 3, 3], closes
    assert [c["willReconnect"] for c in closes] == [True, True, True, False], closes


async def callable_url_is_called_before_each_attempt(server: str, refused: str) -> None:
    for is_async in (False, True):
        group = _group()
        calls: list[int] = []

        def make_url() -> str:
            calls.append(len(calls) + 1)
            return f"{server}/echo?group={group}&token=t{len(calls)}"

        async def make_url_async() -> str:
            await asyncio.sleep(0)
            return make_url()

        ws = pyws.ReconnectingWebSocket(make_url_async if is_async else make_url, backoff=FAST)
        assert ws.url == ""  # not called yet: it is called on the loop, before each attempt
        rec = Recorder(ws)
        await rec.wait_for("open")
        assert ws.url.endswith("token=t1"), ws.url
        await control(server, f"/drop?group={group}")
        await rec.wait_for("open", 2)
        assert ws.url.endswith("token=t2") and calls == [1, 2], (ws.url, calls)
        ws.close()
        await ws.wait_closed()
        log = await control(server, f"/log?group={group}")
        assert [p.rsplit("=", 1)[1] for p in log["paths"]] == ["t1", "t2"], log


async def a_failing_url_callable_is_a_failed_attempt(server: str, refused: str) -> None:
    group = _group()
    calls = [0]

    def flaky() -> str:
        calls[0] += 1
        if calls[0] == 1:
            raise ConnectionError("token service unavailable")
        return f"{server}/echo?group={group}"

    ws = pyws.ReconnectingWebSocket(flaky, backoff=FAST)
    rec = Recorder(ws)
    await rec.wait_for("open")
    assert [e["type"] for e in rec.events] == ["error", "close", "open"], rec.events
    assert rec.of("close")[0]["willReconnect"] is True
    ws.close()
    await ws.wait_closed()
    # A callable that returns something that can never be a URL ends the socket.
    bad = pyws.ReconnectingWebSocket(lambda: "ftp://127.0.0.1/", backoff=FAST)
    final = await asyncio.wait_for(bad.wait_closed(), 10)
    assert (final.code, final.willReconnect) == (1006, False)


async def close_during_the_backoff_wait_stops_everything(server: str, refused: str) -> None:
    group = _group()
    ws = pyws.ReconnectingWebSocket(f"{server}/echo?group={group}",
                                    backoff=lambda: iter([30.0]))
    rec = Recorder(ws)
    await rec.wait_for("open")
    await control(server, f"/drop?group={group}")
    closes = await rec.wait_for("close")
    assert closes[0]["retryDelay"] == 30.0 and ws.readyState == CONNECTING
    ws.send("never sent")
    started = time.monotonic()
    ws.close()
    assert ws.readyState == CLOSING
    final = await asyncio.wait_for(ws.wait_closed(), 5)
    assert time.monotonic() - started < 1
    assert (final.code, final.wasClean, final.willReconnect) == (1006, False, False), final
    assert ws.readyState == CLOSED and ws.bufferedAmount == len("never sent")
    assert [e["type"] for e in rec.events] == ["open", "close", "close"], rec.events
    await asyncio.sleep(0.3)
    log = await control(server, f"/log?group={group}")
    assert len(log["paths"]) == 1, log


async def close_codes_decide_whether_to_reconnect(server: str, refused: str) -> None:
    # 1012 (service restart) is retried; 1008 (policy violation) is not.
    group = _group()
    ws = pyws.ReconnectingWebSocket(f"{server}/echo?group={group}", backoff=FAST)
    rec = Recorder(ws)
    await rec.wait_for("open")
    await control(server, f"/close?group={group}&code=1012")
    await rec.wait_for("open", 2)
    assert rec.of("close")[0]["code"] == 1012 and rec.of("close")[0]["willReconnect"]
    await control(server, f"/close?group={group}&code=1008")
    final = await asyncio.wait_for(ws.wait_closed(), 10)
    assert (final.code, final.wasClean, final.willReconnect) == (1008, True, False), final
    assert 1008 in pyws.ReconnectingWebSocket.FATAL_CODES
    # should_reconnect decides instead, from the close event.
    group = _group()
    ws = pyws.ReconnectingWebSocket(f"{server}/echo?group={group}", backoff=FAST,
                                    should_reconnect=lambda event: event.code != 4001)
    rec = Recorder(ws)
    await rec.wait_for("open")
    await control(server, f"/close?group={group}&code=1008")
    await rec.wait_for("open", 2)
    await control(server, f"/close?group={group}&code=4001")
    final = await asyncio.wait_for(ws.wait_closed(), 10)
    assert (final.code, final.willReconnect) == (4001, False), final


async def held_sends_are_bounded(server: str, refused: str) -> None:
    ws = pyws.ReconnectingWebSocket(refused, backoff=lambda: iter([30.0]),
                                    max_enqueued_messages=2, max_enqueued_bytes=10)
    ws.send("ab")
    ws.send(b"cd")
    try:
        ws.send("e")
    except pyws.QuotaExceededError as exc:
        assert isinstance(exc, BufferError) and exc.name == "QuotaExceededError"
        assert "max_enqueued_messages=2" in str(exc), exc
    else:
        raise AssertionError("a third held message did not raise")
    assert ws.bufferedAmount == 4
    ws.close()
    await asyncio.wait_for(ws.wait_closed(), 10)
    sized = pyws.ReconnectingWebSocket(refused, backoff=lambda: iter([30.0]),
                                       max_enqueued_bytes=10)
    sized.send("☃☃☃")  # 9 bytes of UTF-8
    try:
        sized.send("ab")
    except pyws.QuotaExceededError:
        pass
    else:
        raise AssertionError("held bytes beyond max_enqueued_bytes did not raise")
    sized.close()
    await asyncio.wait_for(sized.wait_closed(), 10)


async def drain_waits_for_the_next_open_and_the_held_messages(server: str, refused: str) -> None:
    group = _group()
    ws = pyws.ReconnectingWebSocket(f"{server}/echo?group={group}",
                                    backoff=lambda: iter([0.5, 0.5, 0.5]))
    rec = Recorder(ws)
    ws.send("held0")  # held until the first open
    await asyncio.wait_for(ws.drain(), 10)
    assert ws.readyState == OPEN and ws.bufferedAmount == 0
    assert len(rec.of("open")) == 1
    assert (await rec.wait_for("message"))[0]["data"] == "held0"
    await asyncio.wait_for(ws.drain(10**9), 1)  # at or below the threshold already
    # What happens while it waits to retry is done from the close listener, where the
    # state is certain (a loaded machine may resume this coroutine after the retry).
    waiting: dict[str, Any] = {}
    at_drained: list[tuple[int, int, int]] = []

    def on_close(event: Any) -> None:
        if not event.willReconnect or waiting:
            return
        waiting["idle"] = ws.drain()  # nothing sent since the drop: nothing waits
        ws.send("b")  # held while waiting to retry (0.5 s)
        waiting["state"] = (int(ws.readyState), ws.bufferedAmount)
        waiting["draining"] = asyncio.ensure_future(drained())

    async def drained() -> None:
        await ws.drain()
        at_drained.append((int(ws.readyState), ws.bufferedAmount, len(rec.of("open"))))

    ws.addEventListener("close", on_close)
    await control(server, f"/drop?group={group}")
    await rec.wait_for("close")
    await asyncio.wait_for(waiting["idle"], 1)
    assert waiting["state"] == (CONNECTING, 1), waiting
    await asyncio.wait_for(waiting["draining"], 10)
    assert at_drained == [(OPEN, 0, 2)], at_drained  # not before the next open
    assert (await rec.wait_for("message", 2))[1]["data"] == "b"
    ws.close()
    await asyncio.wait_for(ws.drain(), 10)  # as WebSocket.drain() on a closing socket
    await ws.wait_closed()
    await asyncio.wait_for(ws.drain(), 1)  # CLOSED: at once
    log = await control(server, f"/log?group={group}")
    assert log["received"] == ["held0", "b"], log
    # A socket that gives up with messages held: drain() returns at the end, unsent.
    gone = pyws.ReconnectingWebSocket(refused, backoff=FAST, max_retries=1)
    gone.send("never")
    await asyncio.wait_for(gone.drain(), 10)
    assert gone.readyState == CLOSED and gone.bufferedAmount == len("never")


async def same_api_as_websocket(server: str, refused: str) -> None:
    ws = pyws.ReconnectingWebSocket(server + "/echo", ["chat"])
    assert ws.url == server + "/echo" and ws.CONNECTING == 0 and pyws.ReconnectingWebSocket.OPEN == 1
    assert (ws.protocol, ws.extensions, ws.binaryType) == ("", "", "blob")
    ws.binaryType = "arraybuffer"
    opened = asyncio.get_event_loop().create_future()
    ws.onopen = lambda event: opened.set_result(event)
    event = await asyncio.wait_for(opened, 10)
    assert event.type == "open" and event.target is ws and event.isTrusted
    assert ws.protocol == "chat"
    ws.send(b"\x01")
    data = await asyncio.wait_for(ws.recv(), 10)
    assert data == b"\x01" and type(data) is bytes
    for bad in (lambda: pyws.ReconnectingWebSocket("ftp://127.0.0.1/"),
                lambda: ws.close(1001)):
        try:
            bad()
        except pyws.DOMException:
            pass
        else:
            raise AssertionError("no DOMException")
    ws.close(1000, "bye")
    final = await ws.wait_closed()
    assert (final.code, final.reason, final.wasClean) == (1000, "bye", True), final
    ws.close()  # nothing more
    assert ws.readyState == CLOSED


SCENARIOS = [
    name for name, value in sorted(globals().items())
    if asyncio.iscoroutinefunction(value) and not name.startswith("_") and name != "control"
]
