"""The Python-native methods of :class:`pyws.WebSocket`, beyond the browser's API:
``await recv()``, ``async for``, ``await wait_closed()``, ``await drain()`` and the
blocking ``recv_sync()`` and ``wait_closed_sync()``.

They read what the browser's API dispatches (:mod:`pyws._inbox` queues the messages and
the close event the moment they are dispatched), so both kinds of use see the same
events; the facade (:mod:`pyws._websocket`) keeps every rule of the standard.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ._errors import WebSocketError
from ._inbox import Inbox
from ._runtime import backend
from ._spec import ReadyState

if TYPE_CHECKING:
    from ._backend import Connection
    from ._events import CloseEvent
    from ._flow import Backlog

__all__ = ["NativeMethods", "messages"]

CLOSED = ReadyState.CLOSED


def _never() -> bool:
    return False


async def messages(recv: Callable[[], Awaitable[Any]],
                   stopped: Callable[[], bool] = _never) -> AsyncIterator[Any]:
    """What ``recv()`` returns, until it raises: a clean close (1000 or 1005), or one after
    ``stopped()`` became true, ends the iteration; any other close raises."""
    while True:
        try:
            yield await recv()
        except WebSocketError as exc:
            if stopped() or exc.wasClean and exc.closeCode in (1000, 1005):
                return
            raise


class NativeMethods:
    """The Python-native methods, over the facade's connection and state."""

    # The facade's, as WebSocket.__init__ sets them.
    _conn: Connection
    _state: ReadyState
    _inbox: Inbox | None
    _close_event: CloseEvent | None
    _backlog: Backlog | None
    _end_why: str | None

    def _waiting(self) -> Inbox:
        if self._state is not CLOSED:  # a closed socket's messages and close are plain data
            self._conn.settle()
            if self._state is not CLOSED:
                self._conn.check_awaitable_here()
        inbox = self._inbox
        if inbox is None:
            inbox = self._inbox = Inbox(self._close_event, self._backlog, self._end_why)
        return inbox

    async def recv(self) -> Any:
        """The data of the next message (``str``, or bytes-like per ``binaryType``).

        Raises :class:`~pyws.WebSocketError` once the socket is closed and every queued
        message was received (``closeCode``/``reason``/``wasClean`` tell how it closed);
        ``RuntimeError`` if another coroutine is already in ``recv()``.
        """
        return await self._waiting().get()

    def __aiter__(self) -> AsyncIterator[Any]:
        """Every message until the socket closes: a clean close (1000 or 1005, wasClean)
        ends the iteration, any other raises :class:`~pyws.WebSocketError`."""
        return messages(self.recv)

    async def wait_closed(self) -> CloseEvent:
        """Wait until the socket is CLOSED; return its ``close`` event (code, reason,
        wasClean). Does not close the socket: call :meth:`close` for that."""
        return await self._waiting().wait_closed()

    async def drain(self, threshold: int = 0) -> None:
        """Wait until ``bufferedAmount`` is at most ``threshold`` bytes (backpressure
        for large uploads), or the socket is closed."""
        if self._state is not CLOSED:
            self._conn.settle()
        if self._state is not CLOSED:
            self._conn.check_awaitable_here()
            await self._conn.wait_buffered(threshold)

    def recv_sync(self, timeout: float | None = None) -> Any:
        """Block until the next message and return its data (see :meth:`recv`).

        Raises ``TimeoutError`` after ``timeout`` seconds. Works in plain scripts,
        threads and Jupyter cells on CPython; under Pyodide only where JSPI can block
        (otherwise it raises ``RuntimeError`` pointing to ``await ws.recv()``).
        """
        return backend().run_blocking(self._conn, self.recv, timeout, "await ws.recv()")

    def wait_closed_sync(self, timeout: float | None = None) -> CloseEvent:
        """Block until the socket is CLOSED; return its close event."""
        return backend().run_blocking(self._conn, self.wait_closed, timeout,
                                      "await ws.wait_closed()")
