"""The Python-native ways in: ``connect()``, ``connect_sync()`` and ``run()``.

They open the same :class:`~pyws.WebSocket` with the same events::

    async with pyws.connect(url) as ws:      # or: ws = await pyws.connect(url)
        ws.send("hi")
        async for data in ws:                 # or: data = await ws.recv()
            ...
    event = await ws.wait_closed()            # CloseEvent: code, reason, wasClean

    ws = pyws.connect_sync(url)               # scripts, threads, a Jupyter cell
    data = ws.recv_sync(timeout=5)

    async for ws in pyws.connect(url):        # reconnects: a new open socket per drop
        ...
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Generator, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from ._errors import WebSocketError
from ._options import NATIVE_DEFAULTS, Options
from ._redact import redact_url
from ._runtime import BACKEND_NAME, backend
from ._spec import parse_protocols, parse_url
from ._websocket import WebSocket

if TYPE_CHECKING:
    import asyncio

__all__ = ["connect", "connect_sync", "run", "Connect"]

T = TypeVar("T")

#: Seconds ``connect()`` waits at most on top of the connection's own open timeout.
CONNECT_MARGIN = 5.0


class Connect:
    """What :func:`connect` returns: await it for an open WebSocket, use it as an
    async context manager that closes the socket (1000) on exit, or iterate it with
    ``async for`` for a new open socket after each drop (:func:`pyws._retry.connections`)."""

    #: Keywords of ``async for`` only (:class:`pyws._retry.RetryPolicy`).
    RETRY_KEYWORDS = ("backoff", "max_retries", "min_uptime")

    def __init__(self, url: str, protocols: str | Iterable[str] | None, options: dict[str, Any]) -> None:
        options = {**native_defaults(), **options}
        self._retry = {name: options.pop(name) for name in self.RETRY_KEYWORDS if name in options}
        if self._retry:
            from ._retry import RetryPolicy

            RetryPolicy.pop(dict(self._retry))  # checked here, where given
        # The constructor's checks, now: a bad argument raises where it is given.
        runtime = backend()
        parse_url(url, runtime.base_url())
        parse_protocols(protocols)
        runtime.check_options(Options.from_kwargs(options))
        self._args = (url, protocols, options)
        self._ws: WebSocket | None = None

    def __await__(self) -> Generator[Any, None, WebSocket]:
        return self._open().__await__()

    def _single_connection(self) -> None:
        if self._retry:
            raise TypeError(f"{', '.join(self._retry)}: only for `async for ws in "
                            "pyws.connect(...)`, which reconnects")

    async def _open(self) -> WebSocket:
        import asyncio

        self._single_connection()
        url, protocols, options = self._args
        ws = WebSocket(url, protocols, **options)
        ws._waiting().want_messages()  # nothing is lost before the first recv()
        # On CPython the connection's own open_timeout ends the attempt; this is a margin
        # on top. Under Pyodide the host times out itself, and a timer here would keep
        # Node alive: Pyodide's loop never clears the JavaScript timer of a cancelled
        # call_later, so Node would wait for it after the last socket closed.
        timeout = options.get("open_timeout", 30.0) if BACKEND_NAME == "cpython" else None
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
        except Exception:  # connect()'s own timeout: a failure like any other
            ws.close()
            raise
        except BaseException:  # the user's cancellation (or Ctrl-C): nothing went wrong
            ws._give_up()
            raise
        finally:
            ws.removeEventListener("open", settle)
            ws.removeEventListener("close", settle)
        if not was_opened:
            closed = await ws.wait_closed()
            raise WebSocketError.from_close(closed, f"could not connect to {redact_url(ws.url)}")
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

    def __aiter__(self) -> AsyncIterator[WebSocket]:
        from ._retry import connections

        url, protocols, options = self._args
        return connections(url, protocols, {**options, **self._retry})


def native_defaults() -> dict[str, Any]:
    """websockets' defaults (keepalive pings) where this runtime can honour them: the
    Python-native entry points use them, ``WebSocket(...)`` keeps the browser's."""
    return dict(NATIVE_DEFAULTS) if BACKEND_NAME == "cpython" else {}


def connect(url: str, protocols: str | Iterable[str] | None = None, **options: Any) -> Connect:
    """Open a WebSocket: ``ws = await connect(url)`` or ``async with connect(url) as ws``;
    or ``async for ws in connect(url):``, which reconnects after each drop with backoff
    (keywords ``backoff``, ``max_retries``, ``min_uptime``: see :func:`pyws._retry.connections`).

    Raises :class:`~pyws.WebSocketError` (``closeCode`` 1006) if the connection fails,
    and the constructor's errors (``DOMSyntaxError``...) for bad arguments. Unlike
    ``WebSocket(...)``, it keeps the connection alive with pings on CPython
    (``ping_interval=20, ping_timeout=20``, websockets' defaults; pass None to turn off).
    """
    return Connect(url, protocols, options)


def connect_sync(url: str, protocols: str | Iterable[str] | None = None, *,
                 timeout: float | None = None, **options: Any) -> WebSocket:
    """Open a WebSocket, blocking until it is open (see :func:`connect`).

    Raises :class:`~pyws.WebSocketError` if the connection fails, ``TimeoutError`` after
    ``timeout`` seconds, and ``RuntimeError`` where this runtime cannot block (under
    Pyodide without JSPI; on CPython, on the very loop the new socket would live on).
    """
    return backend().run_blocking(None, lambda: connect(url, protocols, **options)._open(),
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
