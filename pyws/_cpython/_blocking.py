"""Blocking calls on CPython: which loop to drive or wait on, from which thread.

- A plain script's main thread, no running loop: the socket lives on the script host's
  loop (pyws._cpython._host), and a blocking call runs that loop until it has its
  answer; other sockets' events run meanwhile, as they would if the script had ended.
- Anywhere else (another thread, a Jupyter cell whose thread runs the kernel's loop):
  ``connect_sync()`` puts the socket on pyws's background loop, a daemon thread, and
  blocking calls wait for that loop's answer. Handlers of those sockets run on that
  thread. At exit its open sockets are closed with 1001.
- From inside the socket's own running loop (a handler, a coroutine) blocking would
  stop the very loop that must deliver the answer: RuntimeError, naming the async form.
- A socket whose loop has ended (``asyncio.run()`` returned, or the loop was closed by
  hand) is CLOSED: nothing can arrive any more, so the call is answered at once without
  a loop (messages queued before the end, the close event, or ``WebSocketError`` saying
  that the loop ended and what to do instead).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar, cast

from .._errors import WebSocketError
from . import _host
from ._connection import LOOP_CLOSED

if TYPE_CHECKING:
    from .._backend import Connection
    from ._connection import ClientConnection

__all__ = ["run_blocking"]

T = TypeVar("T")

_lock = threading.Lock()
_background: asyncio.AbstractEventLoop | None = None


def _background_loop() -> asyncio.AbstractEventLoop:
    global _background
    with _lock:
        if _background is None:
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="pyws-blocking-loop", daemon=True)
            thread.start()
            _host.at_exit(lambda: _stop_background(loop))
            _background = loop
        return _background


def _stop_background(loop: asyncio.AbstractEventLoop) -> None:
    if _host.open_count(loop):
        done = asyncio.run_coroutine_threadsafe(_host.close_all(loop), loop)
        try:
            done.result(_host.GOING_AWAY_TIMEOUT + 1)
        except Exception:
            pass
    loop.call_soon_threadsafe(loop.stop)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


async def _bounded(make: Callable[[], Awaitable[T]], timeout: float | None) -> T:
    try:
        return await asyncio.wait_for(make(), timeout)
    except asyncio.TimeoutError:
        raise TimeoutError(f"no answer within {timeout} s") from None


def run_blocking(conn: Connection | None, make: Callable[[], Awaitable[T]],
                 timeout: float | None, async_form: str) -> T:
    running = _running_loop()
    main_thread = threading.current_thread() is threading.main_thread()
    if conn is None:  # connect_sync(): choose where the new socket lives
        loop = _host.script_host_loop() if main_thread and running is None else _background_loop()
    else:
        loop = cast("ClientConnection", conn).loop
    if running is loop:
        raise RuntimeError(
            f"cannot block inside the event loop this WebSocket runs on: use {async_form}")
    if loop.is_running():
        return asyncio.run_coroutine_threadsafe(_bounded(make, timeout), loop).result()
    if loop.is_closed() and conn is not None:
        return _after_the_loop(conn, make)
    host = _host.is_script_host(loop)
    if host and main_thread and running is None:
        return loop.run_until_complete(_bounded(make, timeout))
    if host:
        raise RuntimeError(
            "this WebSocket lives on the main thread's script host: block on it from the "
            f"main thread, or open it with pyws.connect_sync() in this thread, or use {async_form}")
    raise RuntimeError(
        "this WebSocket lives on an event loop that is not running (the one that was running "
        "when it was made): block on it while that loop runs in another thread, or await it "
        f"on that loop ({async_form}), or open it with pyws.connect_sync() outside any loop")


#: What to do instead of blocking on a socket whose event loop has ended.
ADVICE = ("to block on a socket from code outside any event loop, open it there with "
          "pyws.connect_sync() (or WebSocket()); to use one made inside asyncio.run(), "
          "await it inside that coroutine")


def _after_the_loop(conn: Connection, make: Callable[[], Awaitable[T]]) -> T:
    """Answer a blocking call on a socket whose loop is closed: it is CLOSED (or is made
    so now), and a CLOSED socket's async calls never wait, so its coroutine runs to the
    end in one step, with no loop."""
    conn.settle()
    step = make().__await__()
    try:
        step.send(None)
    except StopIteration as done:
        return cast(T, done.value)
    except WebSocketError as exc:
        said = exc.message
        if LOOP_CLOSED not in said:  # closed before its loop ended: say that it ended
            said += "; the event loop it lived on has ended, so nothing more can arrive"
        raise WebSocketError(f"{said}: {ADVICE}", exc.closeCode, exc.reason,
                             exc.wasClean) from None
    step.close()  # pragma: no cover - a CLOSED socket's calls do not wait
    raise RuntimeError("pyws: a closed WebSocket's call waited")
