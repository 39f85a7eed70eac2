"""The Python-native ways in, on top of the same WebSocket object and the same events.

- Async (CPython asyncio; Pyodide's event loop in a page, a worker or Node)::

      async with pyws.connect(url) as ws:      # or: ws = await pyws.connect(url)
          await ws.send("hi")                   # plain ws.send() works too
          async for data in ws:                 # or: data = await ws.recv()
              ...
      event = await ws.wait_closed()            # CloseEvent: code, reason, wasClean

- Blocking (scripts, threads, a Jupyter cell; Pyodide where JSPI allows)::

      ws = pyws.connect_sync(url)
      ws.send("hi")
      data = ws.recv_sync(timeout=5)
      ws.close(); ws.wait_closed_sync()

The message queue behind ``recv()`` exists only for sockets opened with ``connect()`` /
``connect_sync()`` (from the moment they are created, so nothing is lost before the
first ``recv()``) or, for a socket made with the constructor, from the first ``recv()``
on. A callback-only user pays for no queue. Listeners always run first; then the
message is queued for ``recv()``: mixing both, each sees every message.
"""

from __future__ import annotations

import collections
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from ._errors import DOMException

# asyncio is imported where it is used, not here: ``import pyws`` stays cheap (asyncio
# is a third of a cold import); by the time these run the backend has imported it.
if TYPE_CHECKING:
    import asyncio

    from ._events import CloseEvent
    from ._websocket import WebSocket

__all__ = ["WebSocketError", "connect", "connect_sync", "run", "AsyncMixin", "Connect"]

T = TypeVar("T")

#: Seconds ``connect()`` waits at most on top of the connection's own open timeout.
CONNECT_MARGIN = 5.0


class WebSocketError(DOMException, ConnectionError):
    """The connection failed or closed (like WebSocketStream's WebSocketError).

    ``closeCode`` and ``reason`` are the close event's; ``wasClean`` tells a clean close.
    """

    name = "WebSocketError"

    def __init__(self, message: str = "", closeCode: int = 1006, reason: str = "",
                 wasClean: bool = False) -> None:
        super().__init__(message)
        self.closeCode = closeCode
        self.reason = reason
        self.wasClean = wasClean

    @classmethod
    def from_close(cls, event: CloseEvent, what: str) -> WebSocketError:
        detail = f" (code {event.code}{', ' + repr(event.reason) if event.reason else ''})"
        return cls(what + detail, event.code, event.reason, event.wasClean)


def _settle(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class AsyncMixin:
    """``recv()``, ``async for``, ``wait_closed()`` and ``drain()`` for WebSocket."""

    # Set by the facade: None until a queue is wanted.
    _inbox: collections.deque[Any] | None
    _inbox_waiter: asyncio.Future[None] | None
    _close_event: CloseEvent | None
    _close_waiters: list[asyncio.Future[None]]
    _drain_waiters: list[tuple[int, asyncio.Future[None]]]

    def _init_async(self, queue: bool) -> None:
        self._inbox = collections.deque() if queue else None
        self._inbox_waiter = None
        self._close_event = None
        self._close_waiters = []
        self._drain_waiters = []

    # -- fed by the facade --------------------------------------------------------------

    def _queue_message(self, data: Any) -> None:
        inbox = self._inbox
        if inbox is not None:
            inbox.append(data)
            waiter = self._inbox_waiter
            if waiter is not None and not waiter.done():
                waiter.set_result(None)

    def _async_closed(self, event: CloseEvent) -> None:
        self._close_event = event
        for waiter in [self._inbox_waiter, *self._close_waiters,
                       *(w for _, w in self._drain_waiters)]:
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
        self._close_waiters.clear()
        self._drain_waiters.clear()

    # -- public ---------------------------------------------------------------------------

    async def recv(self) -> Any:
        """The data of the next message (``str``, or bytes-like per ``binaryType``).

        Raises :class:`WebSocketError` once the socket is closed and every queued message
        was received (``closeCode``/``reason``/``wasClean`` tell how it closed).
        """
        if self._inbox is None:
            self._inbox = collections.deque()
        while True:
            if self._inbox:
                return self._inbox.popleft()
            if self._close_event is not None:
                raise WebSocketError.from_close(self._close_event, "the WebSocket is closed")
            if self._inbox_waiter is not None and not self._inbox_waiter.done():
                raise RuntimeError("recv() is already being awaited by another coroutine")
            import asyncio

            self._inbox_waiter = asyncio.get_running_loop().create_future()
            try:
                await self._inbox_waiter
            finally:
                self._inbox_waiter = None

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._messages()

    async def _messages(self) -> AsyncIterator[Any]:
        """Every message until the socket closes: a clean close (1000 or 1005, wasClean)
        ends the iteration, any other raises :class:`WebSocketError`."""
        while True:
            try:
                yield await self.recv()
            except WebSocketError as exc:
                if exc.wasClean and exc.closeCode in (1000, 1005):
                    return
                raise

    async def wait_closed(self) -> CloseEvent:
        """Wait until the socket is CLOSED; return its ``close`` event (code, reason,
        wasClean). Does not close the socket: call ``close()`` for that."""
        import asyncio

        while self._close_event is None:
            waiter = asyncio.get_running_loop().create_future()
            self._close_waiters.append(waiter)
            await waiter
        return self._close_event

    async def drain(self, threshold: int = 0) -> None:
        """Wait until ``bufferedAmount`` is at most ``threshold`` bytes (backpressure
        for large uploads), or the socket is closed."""
        import asyncio

        ws: Any = self
        loop = asyncio.get_running_loop()
        while ws.bufferedAmount > threshold and self._close_event is None:
            waiter = loop.create_future()
            self._drain_waiters.append((threshold, waiter))
            # The backends have no "drained" event (JavaScript has none either): poll the
            # amount on a short timer; it only runs while someone waits.
            handle = loop.call_later(0.005, _settle, waiter)
            try:
                await waiter
            finally:
                handle.cancel()
                self._drain_waiters = [(t, w) for t, w in self._drain_waiters if w is not waiter]

    # -- blocking counterparts (see the backend's run_blocking) ----------------------------

    def recv_sync(self, timeout: float | None = None) -> Any:
        """Block until the next message and return its data (see :meth:`recv`).

        Raises ``TimeoutError`` after ``timeout`` seconds. Works in plain scripts,
        threads and Jupyter cells on CPython; under Pyodide only where JSPI can block
        (otherwise it raises ``RuntimeError`` pointing to ``await ws.recv()``).
        """
        return _run_blocking(self, self.recv, timeout, "await ws.recv()")

    def wait_closed_sync(self, timeout: float | None = None) -> CloseEvent:
        """Block until the socket is CLOSED; return its close event."""
        return _run_blocking(self, self.wait_closed, timeout, "await ws.wait_closed()")


def _run_blocking(ws: Any, make: Callable[[], Awaitable[T]], timeout: float | None,
                  async_form: str) -> T:
    from ._backend import BACKEND

    return BACKEND.run_blocking(ws, make, timeout, async_form)


class Connect:
    """What :func:`connect` returns: await it for an open WebSocket, or use it as an
    async context manager that closes the socket (1000) on exit."""

    def __init__(self, url: str, protocols: str | Iterable[str] | None, options: dict[str, Any]) -> None:
        self._args = (url, protocols, options)
        self._ws: WebSocket | None = None

    def __await__(self) -> Generator[Any, None, WebSocket]:
        return self._open().__await__()

    async def _open(self) -> WebSocket:
        import asyncio

        from ._websocket import WebSocket

        url, protocols, options = self._args
        ws = WebSocket(url, protocols, **options)
        ws._init_async(queue=True)
        timeout = options.get("open_timeout", 30.0)
        loop = asyncio.get_running_loop()
        opened: asyncio.Future[bool] = loop.create_future()

        def settle(event: Any) -> None:
            if not opened.done():
                opened.set_result(event.type == "open")

        ws.addEventListener("open", settle, once=True)
        ws.addEventListener("close", settle, once=True)
        try:
            was_opened = await asyncio.wait_for(
                opened, None if timeout is None else timeout + CONNECT_MARGIN)
        except BaseException:
            ws.close()
            raise
        finally:
            ws.removeEventListener("open", settle)
            ws.removeEventListener("close", settle)
        if not was_opened:
            assert ws._close_event is not None
            raise WebSocketError.from_close(ws._close_event, f"could not connect to {ws.url}")
        # Opened (it may have closed since: recv() gives its messages, then the error).
        self._ws = ws
        return ws

    async def __aenter__(self) -> WebSocket:
        return await self._open()

    async def __aexit__(self, *exc_info: object) -> None:
        ws = self._ws
        if ws is not None:
            ws.close(1000)
            await ws.wait_closed()


def connect(url: str, protocols: str | Iterable[str] | None = None, **options: Any) -> Connect:
    """Open a WebSocket: ``ws = await connect(url)`` or ``async with connect(url) as ws``.

    Raises :class:`WebSocketError` (``closeCode`` 1006) if the connection fails, and the
    constructor's errors (``DOMSyntaxError``...) for bad arguments.
    """
    return Connect(url, protocols, options)


def connect_sync(url: str, protocols: str | Iterable[str] | None = None, *,
                 timeout: float | None = None, **options: Any) -> WebSocket:
    """Open a WebSocket, blocking until it is open (see :func:`connect`)."""
    from ._backend import BACKEND

    return BACKEND.run_blocking(None, lambda: connect(url, protocols, **options)._open(),
                                timeout, "await pyws.connect(url)")


def run(main: Awaitable[T]) -> T | asyncio.Future[T]:
    """Run the coroutine ``main`` the way this runtime can, so one file runs everywhere.

    With no running loop (a CPython script) this is ``asyncio.run(main)`` and returns its
    result. Where a loop already runs (Pyodide in a page, a worker or Node; a Jupyter
    kernel) it schedules ``main`` as a task on that loop and returns the task.
    """
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(main)  # type: ignore[arg-type]
    return asyncio.ensure_future(main)
