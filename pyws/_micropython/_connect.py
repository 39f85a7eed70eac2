"""The Python-native ways in under MicroPython: ``connect()``, ``run()``, ``connect_sync()``.

As pyws/_connect.py, within MicroPython's asyncio: ``await pyws.connect(url)`` and
``async with pyws.connect(url) as ws`` work; the blocking ``connect_sync()`` cannot.
"""

import asyncio

from ._errors import WebSocketError
from ._websocket import WebSocket, cannot_block

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Coroutine, Generator
    from typing import Any, TypeVar

    T = TypeVar("T")

__all__ = ["connect", "connect_sync", "run", "Connect"]

#: Seconds ``connect()`` waits for open or close: the default open timeout of the other
#: runtimes plus their margin (the host has its own connection timeout).
CONNECT_TIMEOUT = 35.0


class Connect:
    """What :func:`connect` returns: await it for an open WebSocket, or use it as an
    async context manager that closes the socket (1000) on exit."""

    def __init__(self, url: str, protocols: "Any", options: "dict[str, Any]") -> None:
        self._args = (url, protocols, options)
        self._ws: "WebSocket | None" = None

    def __iter__(self) -> "Generator[Any, None, WebSocket]":
        # MicroPython awaits an object through its iterator (it has no __await__); its
        # coroutines are generators.
        return self._open()  # type: ignore[return-value]

    __await__ = __iter__

    async def _open(self) -> WebSocket:
        url, protocols, options = self._args
        ws = WebSocket(url, protocols, **options)
        inbox = ws._waiting()
        inbox.want_messages()  # nothing is lost before the first recv()
        try:
            await asyncio.wait_for(inbox.wait_settled(), CONNECT_TIMEOUT)
        except BaseException:
            ws.close()
            raise
        if not inbox.opened:
            closed = await ws.wait_closed()
            raise WebSocketError.from_close(closed, "could not connect to " + ws.url)
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


def connect(url: str, protocols: "Any" = None, **options: "Any") -> Connect:
    """Open a WebSocket: ``ws = await connect(url)`` or ``async with connect(url) as ws``.

    Raises :class:`~pyws.WebSocketError` (``closeCode`` 1006) if the connection fails,
    and the constructor's errors for bad arguments.
    """
    return Connect(url, protocols, options)


def connect_sync(url: str, protocols: "Any" = None, *, timeout: "float | None" = None,
                 **options: "Any") -> WebSocket:
    """Not available: MicroPython cannot block on the host (``RuntimeError``)."""
    raise RuntimeError(cannot_block("await pyws.connect(url)"))


def run(main: "Coroutine[Any, Any, T]") -> "asyncio.Task[T]":
    """Schedule ``main`` on the host's running loop and return its task (the page's or
    worker's event loop always runs; MicroPython's asyncio has no ``asyncio.run`` there)."""
    return asyncio.create_task(main)
