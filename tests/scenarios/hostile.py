"""The client side of the hostile-server tests (tests/hardening/test_hostile.py), in every runtime.

:func:`run` opens one socket to a misbehaving server (tests/support/scripted_server.py), acts on
its events as told, waits for CLOSED within a bound and returns what happened, plus what
was left behind that the runtime can see: tasks on the loop and, under Pyodide, the
handler proxies of the JavaScript socket (each must be destroyed) and the connection
object itself (it must be garbage once the socket is dropped). CPython's own checks
(file descriptors, sockets, the transport's buffer) are made by the test around it.
"""

from __future__ import annotations

import asyncio
import gc
import weakref
from typing import Any, Callable

import pyws
from pyws import WebSocket

from .trace import describe

__all__ = ["run", "echo_once"]


async def run(url: str, *, close_on: tuple[str, ...] = (), bound: float = 10.0,
              options: dict[str, Any] | None = None,
              probe: Callable[[Any, Any], None] | None = None) -> dict[str, Any]:
    """Open ``url``; ``close_on``: "open" and/or message texts that make the client call
    ``close()``; ``probe(ws, event)`` runs first on every event (CPython's checks).

    Returns ``{"events": [...], "readyState", "elapsed", "tasks_left", "proxies_left",
    "connection_alive"}``; raises TimeoutError if CLOSED is not reached within
    ``bound`` seconds."""
    loop = asyncio.get_event_loop()
    tasks_before = set(asyncio.all_tasks())
    started = loop.time()
    ws = WebSocket(url, **(options or {}))
    events: list[dict[str, Any]] = []
    closed = loop.create_future()
    after_close: list[str] = []

    def on_event(event: Any) -> None:
        if probe is not None:
            probe(ws, event)
        if closed.done():  # nothing may be dispatched after close
            after_close.append(event.type)
        events.append(describe(ws, event))
        if event.type == "open" and "open" in close_on:
            ws.close()
        elif event.type == "message" and isinstance(event.data, str) and event.data in close_on:
            ws.close()
        elif event.type == "close" and not closed.done():
            closed.set_result(loop.time() - started)

    for kind in ("open", "message", "error", "close"):
        ws.addEventListener(kind, on_event)
    conn = ws._conn
    proxies = tuple(conn._proxies) if pyws.backend == "pyodide" else ()
    try:
        elapsed = await asyncio.wait_for(asyncio.shield(closed), bound)
    except asyncio.TimeoutError:
        raise TimeoutError(f"not CLOSED within {bound} s: readyState {int(ws.readyState)}, "
                           f"events {events}") from None
    for _ in range(3):  # whatever the close scheduled (proxies are destroyed a turn later)
        await asyncio.sleep(0)
    result: dict[str, Any] = {
        "events": events,
        "readyState": int(ws.readyState),
        "elapsed": elapsed,
        "after_close": after_close,
        "tasks_left": sorted(repr(t) for t in set(asyncio.all_tasks()) - tasks_before),
    }
    if pyws.backend == "pyodide":
        result["proxies_left"] = _live_proxies(conn, proxies)
    ref = weakref.ref(conn)
    del ws, conn, on_event, proxies
    gc.collect()
    result["connection_alive"] = ref() is not None
    return result


def _live_proxies(conn: Any, proxies: tuple[Any, ...]) -> int:
    """How many of the JavaScript socket's handler proxies (two) are not destroyed."""
    assert len(proxies) == 2, proxies
    live = 0
    for proxy in proxies:
        try:
            proxy(None)  # a destroyed proxy cannot be called any more
        except Exception as exc:  # noqa: BLE001 - JsException or pyodide's error
            if "destroyed" not in str(exc):
                live += 1
        else:
            live += 1
    return max(live, len(conn._proxies))  # the connection forgets them once destroyed


async def echo_once(url: str, bound: float = 10.0) -> list[str]:
    """The runtime is still healthy: a fresh socket opens, echoes and closes cleanly."""
    ws = WebSocket(url)
    loop = asyncio.get_event_loop()
    done = loop.create_future()
    got: list[str] = []
    ws.onopen = lambda event: ws.send("still alive")
    ws.onmessage = lambda event: (got.append(event.data), ws.close())
    ws.onclose = lambda event: done.done() or done.set_result(event.code)
    code = await asyncio.wait_for(done, bound)
    got.append(str(code))
    return got
