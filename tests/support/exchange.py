"""One exchange: open, send one message, close on its echo, as the proxy (HTTP CONNECT,
SOCKS) and TLS tests run it."""

from __future__ import annotations

import asyncio

from pyws import WebSocket

#: What :func:`exchange` returns when the message went through and back.
ECHOED = [("message", "through the proxy"), ("close", 1005)]
#: ... and when the connection failed.
FAILED = [("error", None), ("close", 1006)]


async def echo_once(url: str, text: str, **options: object) -> list[tuple[str, object]]:
    """Open, send ``text``, close on its echo; the events, in order."""
    ws = WebSocket(url, **options)
    events: list[tuple[str, object]] = []
    done = asyncio.get_running_loop().create_future()
    ws.onopen = lambda event: ws.send(text)
    ws.onmessage = lambda event: (events.append(("message", event.data)), ws.close())
    ws.onerror = lambda event: events.append(("error", None))
    ws.onclose = lambda event: (events.append(("close", event.code)), done.set_result(None))
    await asyncio.wait_for(done, 20)
    return events


async def exchange_async(url: str, **options: object) -> list[tuple[str, object]]:
    """:func:`echo_once` through a proxy; no task is left once the transport has finished
    closing."""
    events = await echo_once(url, "through the proxy", **options)
    for _ in range(50):  # the transport finishes closing
        if asyncio.all_tasks() == {asyncio.current_task()}:
            break
        await asyncio.sleep(0.01)
    assert asyncio.all_tasks() == {asyncio.current_task()}, asyncio.all_tasks()
    return events


def exchange(url: str, **options: object) -> list[tuple[str, object]]:
    """:func:`exchange_async` in a loop of its own."""
    return asyncio.run(exchange_async(url, **options))
