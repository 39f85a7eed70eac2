"""The async API (pyws.connect, recv, async for, wait_closed, drain) in every runtime.

Same calling convention as basic.py: ``async def name(server, refused)``.
"""

from __future__ import annotations

import asyncio
import json
import uuid

import pyws


async def connect_send_recv(server: str, refused: str) -> None:
    ws = await pyws.connect(server + "/echo")
    assert ws.readyState == pyws.WebSocket.OPEN
    for n in range(3):
        ws.send(f"m{n}")
    ws.send(b"\x01\x02")
    assert [await ws.recv() for _ in range(3)] == ["m0", "m1", "m2"]
    binary = await ws.recv()
    assert binary == b"\x01\x02" and isinstance(binary, pyws.Blob)
    ws.close()
    closed = await ws.wait_closed()
    assert (closed.code, closed.wasClean) == (1005, True)
    try:
        await ws.recv()
    except pyws.WebSocketError as exc:
        assert (exc.closeCode, exc.wasClean, exc.name) == (1005, True, "WebSocketError")
        assert isinstance(exc, ConnectionError) and isinstance(exc, pyws.DOMException)
    else:
        raise AssertionError("recv() after close did not raise")


async def no_message_lost_before_first_recv(server: str, refused: str) -> None:
    # Waiting for the close before reading 50 messages needs an unbounded queue: with
    # max_queue (16 by default) pyws would stop reading, and the close would never come.
    ws = await pyws.connect(server + "/messages?n=50", max_queue=None)
    closed = await ws.wait_closed()  # every message arrived before the first recv()
    assert closed.code == 1000
    assert [await ws.recv() for _ in range(50)] == [str(n) for n in range(50)]


async def async_for_ends_on_clean_close(server: str, refused: str) -> None:
    ws = await pyws.connect(server + "/messages?n=5")
    assert [data async for data in ws] == ["0", "1", "2", "3", "4"]


async def async_for_raises_on_other_closes(server: str, refused: str) -> None:
    for path, code in (("/close?code=4001&reason=bye", 4001), ("/drop", 1006)):
        ws = await pyws.connect(server + path)
        try:
            async for _ in ws:
                pass
        except pyws.WebSocketError as exc:
            assert exc.closeCode == code, (path, exc.closeCode)
        else:
            raise AssertionError(f"{path}: async for ended without an error")


async def connect_failure_raises(server: str, refused: str) -> None:
    try:
        await pyws.connect(refused)
    except pyws.WebSocketError as exc:
        assert (exc.closeCode, exc.wasClean) == (1006, False)
    else:
        raise AssertionError("connect() to a refused port did not raise")
    try:
        await pyws.connect(server + "/echo?accept=", ["chat"])  # no subprotocol selected
    except pyws.WebSocketError as exc:
        assert exc.closeCode == 1006
    else:
        raise AssertionError("connect() without the required subprotocol did not raise")


async def async_with_closes_with_1000(server: str, refused: str) -> None:
    key = uuid.uuid4().hex
    async with pyws.connect(f"{server}/record?id={key}") as ws:
        ws.send("inside")
        assert await ws.recv() == "inside"
    assert ws.readyState == pyws.WebSocket.CLOSED
    async with pyws.connect(f"{server}/report?id={key}") as report:
        record = json.loads(await report.recv())
    assert record["code"] == 1000, record


async def callbacks_and_recv_both_see_every_message(server: str, refused: str) -> None:
    ws = await pyws.connect(server + "/echo")
    seen: list[str] = []
    ws.onmessage = lambda event: seen.append(event.data)
    for word in ("a", "b", "c"):
        ws.send(word)
    assert [await ws.recv() for _ in range(3)] == ["a", "b", "c"]
    assert seen == ["a", "b", "c"]  # listeners ran first
    ws.close()
    await ws.wait_closed()


async def recv_on_a_constructed_socket_queues_from_the_first_call(server: str, refused: str) -> None:
    ws = pyws.WebSocket(server + "/echo")
    opened = asyncio.get_event_loop().create_future()
    ws.onopen = lambda event: opened.set_result(None)
    await opened
    receiving = asyncio.ensure_future(ws.recv())
    await asyncio.sleep(0)
    ws.send("after recv()")
    assert await asyncio.wait_for(receiving, 10) == "after recv()"
    second = asyncio.ensure_future(ws.recv())
    await asyncio.sleep(0)
    try:
        await ws.recv()  # two concurrent recv() calls are a bug in the caller
    except RuntimeError:
        pass
    else:
        raise AssertionError("a second concurrent recv() did not raise")
    second.cancel()
    ws.close()
    await ws.wait_closed()


async def drain_waits_for_buffered_amount(server: str, refused: str) -> None:
    ws = await pyws.connect(server + "/echo")
    ws.binaryType = "arraybuffer"
    payload = bytes(range(256)) * 4096  # 1 MiB
    for _ in range(4):
        ws.send(payload)
    await asyncio.wait_for(ws.drain(), 30)
    assert ws.bufferedAmount == 0
    for _ in range(4):
        assert len(await ws.recv()) == len(payload)
    ws.close()
    await ws.wait_closed()


SCENARIOS = [
    "connect_send_recv",
    "no_message_lost_before_first_recv",
    "async_for_ends_on_clean_close",
    "async_for_raises_on_other_closes",
    "connect_failure_raises",
    "async_with_closes_with_1000",
    "callbacks_and_recv_both_see_every_message",
    "recv_on_a_constructed_socket_queues_from_the_first_call",
    "drain_waits_for_buffered_amount",
]
