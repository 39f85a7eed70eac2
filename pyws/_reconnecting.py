"""``ReconnectingWebSocket``: the browser's WebSocket API over a series of connections.

It opens a :class:`~pyws.WebSocket` (a ``_Link``) and, whenever that connection ends
without ``close()`` having been called, opens another after a backoff delay
(:mod:`pyws._retry`), until ``close()``, a close code that says "do not come back", or
``max_retries``. Its events are the links' events, dispatched on the reconnecting socket
itself, from the same loop turn (no extra hop); its ``close`` events say whether and when
a retry follows (:class:`ReconnectCloseEvent`). ``send()`` while there is no open
connection is held, within bounds, and sent when the next one opens.

Runtime-independent: it uses only the facade (and, on CPython, the script host's rule for
which loop a new socket lives on), so it behaves the same on CPython and under Pyodide.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, Union, cast

from ._connect import native_defaults
from ._errors import DOMSyntaxError, QuotaExceededError
from ._events import CloseEvent, Event, EventTarget, TrustedEvent, _Trusted, handler_property
from ._inbox import Inbox
from ._native_methods import messages
from ._options import Options
from ._redact import redact_url
from ._retry import Retries, RetryPolicy, sleep
from ._runtime import BACKEND_NAME, backend
from ._spec import check_close_args, parse_protocols
from ._websocket import ReadyState, WebSocket, _usv_bytes

if TYPE_CHECKING:
    import asyncio

    from ._flow import Backlog

__all__ = ["ReconnectingWebSocket", "ReconnectCloseEvent", "FATAL_CODES"]

logger = logging.getLogger("pyws")

#: What ``url`` may be: the URL, or a function (sync or async) called before each attempt.
URLSource = Union[str, Callable[[], Union[str, Awaitable[str]]]]

#: Close codes after which a ReconnectingWebSocket does not reconnect (by default): the
#: server says this client's own behaviour is wrong (protocol error, unacceptable data,
#: invalid UTF-8, policy violation, a missing extension), so it would be turned away again.
FATAL_CODES = frozenset({1002, 1003, 1007, 1008, 1010})

CONNECTING, OPEN, CLOSING, CLOSED = ReadyState


class ReconnectCloseEvent(CloseEvent):
    """The ``close`` event of a :class:`ReconnectingWebSocket`: one connection ended.

    ``code``, ``reason`` and ``wasClean`` are that connection's. ``willReconnect`` tells
    whether another attempt follows, ``retryDelay`` in how many seconds (None if none),
    and ``retryCount`` its number in the current series (1 for the first retry after a
    drop; with ``willReconnect`` False, the retries made).
    """

    __slots__ = ("willReconnect", "retryDelay", "retryCount")

    def __init__(self, type: str = "close", *, code: int = 0, reason: str = "",
                 wasClean: bool = False, willReconnect: bool = False,
                 retryDelay: float | None = None, retryCount: int = 0,
                 bubbles: bool = False, cancelable: bool = False) -> None:
        CloseEvent.__init__(self, type, code=code, reason=reason, wasClean=wasClean,
                            bubbles=bubbles, cancelable=cancelable)
        self.willReconnect = willReconnect
        self.retryDelay = retryDelay
        self.retryCount = retryCount

    def __repr__(self) -> str:
        retry = f" retryDelay={self.retryDelay:.3f} retryCount={self.retryCount}" \
            if self.willReconnect else ""
        return (f"<ReconnectCloseEvent code={self.code} reason={self.reason!r} "
                f"wasClean={self.wasClean} willReconnect={self.willReconnect}{retry}>")


class _TrustedReconnectCloseEvent(_Trusted, ReconnectCloseEvent):
    __slots__ = ()


class _Link(WebSocket):
    """One connection of a :class:`ReconnectingWebSocket`: its events go to the owner."""

    def __init__(self, owner: _Reconnector, url: str, protocols: tuple[str, ...],
                 options: dict[str, Any]) -> None:
        self._owner = owner
        super().__init__(url, protocols, **options)

    def _dispatch(self, event: Event) -> None:
        self._owner._link_event(self, event)

    def _going_away(self) -> None:
        self._owner._going_away()
        super()._going_away()


class _SendQueue:
    """What ``send()`` was given while no connection was open, within two bounds."""

    __slots__ = ("messages", "size", "max_messages", "max_bytes")

    def __init__(self, max_messages: int | None, max_bytes: int | None) -> None:
        self.messages: collections.deque[str | bytes] = collections.deque()
        self.size = 0  # bytes: UTF-8 for text
        self.max_messages = max_messages
        self.max_bytes = max_bytes

    def put(self, data: str | bytes, size: int) -> None:
        if self.max_messages is not None and len(self.messages) >= self.max_messages \
                or self.max_bytes is not None and self.size + size > self.max_bytes:
            raise QuotaExceededError(
                f"send(): {len(self.messages)} messages ({self.size} bytes) already wait for "
                f"the connection to reopen (max_enqueued_messages={self.max_messages}, "
                f"max_enqueued_bytes={self.max_bytes})")
        self.messages.append(data)
        self.size += size

    def take(self) -> list[str | bytes]:
        messages = list(self.messages)
        self.messages.clear()
        self.size = 0
        return messages


class _Backlogs:
    """The ``recv()`` queue of a reconnecting socket, counted against ``max_queue`` of the
    connection each message came from (:class:`pyws._flow.Backlog`: that connection stops
    reading above it). Messages leave the queue in the order they entered it."""

    __slots__ = ("_owner", "_sources")

    def __init__(self, owner: _Reconnector) -> None:
        self._owner = owner
        self._sources: collections.deque[Backlog | None] = collections.deque()

    def queued(self, size: int) -> None:
        link = self._owner._link
        backlog = link._backlog if link is not None else None
        self._sources.append(backlog)
        if backlog is not None:
            backlog.queued(size)

    def dequeued(self, size: int) -> None:
        backlog = self._sources.popleft()
        if backlog is not None:
            backlog.dequeued(size)


class _Reconnector(EventTarget):
    """The state and the reconnection machinery of a :class:`ReconnectingWebSocket`
    (the public API is the subclass's)."""

    def __init__(self, url: URLSource, protocols: str | Iterable[str] | None,
                 should_reconnect: Callable[[ReconnectCloseEvent], bool] | None,
                 max_enqueued_messages: int | None, max_enqueued_bytes: int | None,
                 options: dict[str, Any]) -> None:
        super().__init__()
        if not isinstance(url, str) and not callable(url):
            raise TypeError(f"url must be a str or a callable, not {type(url).__name__}")
        self._retries = Retries(RetryPolicy.pop(options))
        options = {**native_defaults(), **options}  # a Python-native entry point's
        backend().check_options(Options.from_kwargs(options))
        self._protocols = parse_protocols(protocols)
        self._options = options
        self._should_reconnect = should_reconnect
        self._queue = _SendQueue(max_enqueued_messages, max_enqueued_bytes)
        self._lock = threading.Lock()  # send() and close() may come from other threads
        self._loop = _home_loop()
        self._source = url
        self._url = ""
        self._link: _Link | None = None
        self._task: asyncio.Task[None] | None = None
        self._state = ReadyState.CONNECTING
        self._stop: tuple[int | None, str] | None = None  # close()'s code and reason
        self._opened_at: float | None = None
        self._binary_type = "blob"
        self._discarded = 0
        self._inbox: Inbox | None = None
        self._close_event: ReconnectCloseEvent | None = None
        #: drain() calls waiting for the held messages to be sent (or dropped).
        self._drains: list[asyncio.Future[None]] = []
        if isinstance(url, str):
            self._open_link(url)  # an invalid URL raises here, as WebSocket's does
        else:
            self._loop.call_soon_threadsafe(self._schedule, 0.0)

    # -- the connections ---------------------------------------------------------------

    def _open_link(self, url: str) -> None:
        link = _Link(self, url, self._protocols, self._options)
        link.binaryType = self._binary_type
        self._link = link
        self._url = link.url

    def _schedule(self, delay: float) -> None:
        if self._stop is None:
            self._task = self._loop.create_task(self._reconnect(delay))

    async def _reconnect(self, delay: float) -> None:
        """Wait ``delay`` seconds, get the URL, open the next connection."""
        import asyncio

        try:
            await sleep(delay)  # a task, not a timer: the script host waits for it
            url = await self._next_url()
            self._task = None
            if self._stop is None:
                self._open_link(url)
        except asyncio.CancelledError:
            if self._stop is None:  # not close(): the loop is shutting down
                self._stop = (None, "")
                self._finish(self._event(1006, "", False))
            raise
        except Exception as exc:
            self._task = None
            self._attempt_failed(exc)

    async def _next_url(self) -> str:
        source = self._source
        url = source if isinstance(source, str) else source()
        if isinstance(url, Awaitable):
            url = await url
        if not isinstance(url, str):
            raise TypeError(f"the url callable returned {type(url).__name__}, not str")
        return url

    def _attempt_failed(self, exc: Exception) -> None:
        """Getting the URL or starting the connection failed: a failed attempt, or the
        end for a URL that can never work (TypeError, DOMSyntaxError)."""
        fatal = isinstance(exc, (TypeError, DOMSyntaxError))
        logger.log(logging.ERROR if fatal else logging.WARNING,
                   "pyws: could not start a connection (%s: %s)%s", type(exc).__name__, exc,
                   "; not reconnecting" if fatal else "", exc_info=exc)
        self._dispatch(TrustedEvent("error"))
        if fatal:
            self._finish(self._event(1006, "", False))
        else:
            self._ended(1006, "", False)

    # -- what the links report -------------------------------------------------------

    def _link_event(self, link: _Link, event: Event) -> None:
        if link is not self._link:
            return
        kind = event.type
        if kind == "message":
            self._dispatch(event)
            inbox = self._inbox
            if inbox is not None and inbox.messages is not None:
                inbox.put(event.data)  # type: ignore[attr-defined]
        elif kind == "open":
            self._opened_at = time.monotonic()
            with self._lock:
                if self._stop is None:
                    self._state = ReadyState.OPEN
            self._dispatch(event)
            self._flush(link)
        elif kind == "close":
            assert isinstance(event, CloseEvent)
            self._ended(event.code, event.reason, event.wasClean)
        else:  # error
            self._dispatch(event)

    def _flush(self, link: _Link) -> None:
        """Send what waited for this connection (after the open listeners: a login or
        subscribe message they send goes first)."""
        with self._lock:
            if self._stop is None and link.readyState is OPEN and link is self._link:
                for data in self._queue.take():
                    link.send(data)
        self._wake_drains()

    def _wake_drains(self) -> None:
        waiters, self._drains = self._drains, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def _ended(self, code: int, reason: str, was_clean: bool) -> None:
        """A connection ended (or an attempt failed): retry, or this is the end."""
        uptime = None if self._opened_at is None else time.monotonic() - self._opened_at
        self._opened_at = None
        event = self._event(code, reason, was_clean)
        delay = None
        if self._stop is None and self._wants_retry(event):
            delay = self._retries.next_delay(uptime)
            if delay is None:
                logger.warning("pyws: gave up reconnecting to %s after %d retries",
                               redact_url(self._url), self._retries.count)
        if delay is None:
            self._finish(event)
            return
        event.willReconnect, event.retryDelay = True, delay
        event.retryCount = self._retries.count
        with self._lock:
            self._state = ReadyState.CONNECTING
        logger.info("pyws: connection to %s closed (code %d); reconnecting in %.1f s "
                    "(retry %d)", redact_url(self._url), code, delay, self._retries.count)
        self._schedule(delay)  # first: a close listener may call close()
        self._dispatch(event)

    def _wants_retry(self, event: ReconnectCloseEvent) -> bool:
        decide = self._should_reconnect
        try:
            retry = decide(event) if decide is not None else event.code not in FATAL_CODES
        except Exception:
            logger.exception("pyws: should_reconnect raised: not reconnecting")
            return False
        if not retry:
            logger.info("pyws: not reconnecting to %s after close code %d", redact_url(self._url),
                        event.code)
        return bool(retry)

    def _going_away(self) -> None:
        """The host is going away (the loop shuts down, the process exits): no retry."""
        with self._lock:
            if self._stop is None:
                self._stop = (1001, "")
                self._state = ReadyState.CLOSING

    def _stop_waiting(self) -> None:
        """close() came while no connection was live (or one started meanwhile)."""
        if self._state is CLOSED or self._stop is None:
            return
        link = self._link
        if link is not None and link.readyState is not CLOSED:
            link.close(*self._stop)
            return
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self._finish(self._event(1006, "", False))

    def _event(self, code: int, reason: str, was_clean: bool) -> ReconnectCloseEvent:
        return _TrustedReconnectCloseEvent(code=code, reason=reason, wasClean=was_clean,
                                           retryCount=self._retries.count)

    def _spawn(self, coro: Any, event: Event) -> asyncio.Future[Any]:
        # An async listener's task counts against max_queue of the current connection.
        task = super()._spawn(coro, event)
        link = self._link
        if link is not None and link._backlog is not None:
            link._backlog.task_started(task)
        return task

    def _finish(self, event: ReconnectCloseEvent) -> None:
        with self._lock:
            if self._state is CLOSED:
                return
            self._state = ReadyState.CLOSED
            self._discarded += self._queue.size  # held messages that will never be sent
            dropped = len(self._queue.take())
        if dropped:
            logger.info("pyws: %d message(s) held for a reconnection were not sent", dropped)
        self._close_event = event
        self._dispatch(event)
        self._wake_drains()
        if self._inbox is not None:
            self._inbox.closed(event)


class ReconnectingWebSocket(_Reconnector):
    """A WebSocket that reconnects by itself: the browser's API over many connections.

    ``ReconnectingWebSocket(url, protocols=None, **options)`` has the attributes,
    methods and events of :class:`~pyws.WebSocket`. When a connection ends without
    :meth:`close` having been called, a new one is attempted after a backoff delay
    (``backoff``, default ``pyws.Backoff()``: first retry within 2 s, ceiling doubling up
    to 60 s, full jitter), unless the close code is in :data:`FATAL_CODES` (or
    ``should_reconnect(event)`` returns False) or ``max_retries`` retries in a row failed.

    - ``url``: a URL, or a callable (sync or async) returning one, called before each
      attempt (tokens that expire). ``url`` (the attribute) is the last one used.
    - ``readyState``: CONNECTING while connecting and while waiting to retry; OPEN while a
      connection is open; CLOSING once ``close()`` was called (or the server is closing
      the current connection); CLOSED only at the end.
    - ``send()`` while not OPEN holds the message (``max_enqueued_messages``, 1000;
      ``max_enqueued_bytes``, 1 MiB; beyond: :class:`~pyws.QuotaExceededError`) and sends
      it when the next connection opens, after the ``open`` listeners have run.
    - Events: ``open`` per connection; ``message``; ``error`` when a connection fails;
      ``close`` per connection, a :class:`ReconnectCloseEvent` (``willReconnect``,
      ``retryDelay``, ``retryCount``); the last one has ``willReconnect`` False.
    - ``recv()``, ``async for``, ``wait_closed()`` and their blocking forms span the
      connections; they end when the socket is CLOSED. ``drain()`` waits through a
      reconnection for the held messages to be sent.

    Other keywords: ``max_retries`` (None), ``min_uptime`` (5 s: a connection open that
    long starts a new backoff series), and the :class:`~pyws.Options` of every connection,
    with :func:`pyws.connect`'s defaults (keepalive pings every 20 s on CPython).
    """

    CONNECTING = ReadyState.CONNECTING
    OPEN = ReadyState.OPEN
    CLOSING = ReadyState.CLOSING
    CLOSED = ReadyState.CLOSED
    FATAL_CODES = FATAL_CODES

    onopen = handler_property("open")
    onmessage = handler_property("message")
    onerror = handler_property("error")
    onclose = handler_property("close")

    def __init__(self, url: URLSource, protocols: str | Iterable[str] | None = None, *,
                 should_reconnect: Callable[[ReconnectCloseEvent], bool] | None = None,
                 max_enqueued_messages: int | None = 1000,
                 max_enqueued_bytes: int | None = 2**20, **options: Any) -> None:
        super().__init__(url, protocols, should_reconnect, max_enqueued_messages,
                         max_enqueued_bytes, options)

    # -- attributes ---------------------------------------------------------------

    @property
    def url(self) -> str:
        """The URL of the current (or last) connection; "" before a callable's first."""
        return self._url

    @property
    def readyState(self) -> ReadyState:
        """CONNECTING (also between connections), OPEN, CLOSING or CLOSED (the end)."""
        link = self._link
        if self._state is OPEN and link is not None and link.readyState is CLOSING:
            return CLOSING
        return self._state

    @property
    def bufferedAmount(self) -> int:
        """The open connection's ``bufferedAmount``, plus the bytes held for the next
        connection, plus what was discarded after ``close()``."""
        amount = self._queue.size + self._discarded
        link = self._link  # a closed link's leftovers are lost, not waiting: not counted
        if link is not None and (link.readyState is not CLOSED or self._state is CLOSED):
            amount += link.bufferedAmount
        return amount

    @property
    def binaryType(self) -> str:
        """"blob" or "arraybuffer", as :attr:`pyws.WebSocket.binaryType`."""
        return self._binary_type

    @binaryType.setter
    def binaryType(self, value: str) -> None:
        if value in ("blob", "arraybuffer"):
            self._binary_type = value
            if self._link is not None:
                self._link.binaryType = value

    @property
    def protocol(self) -> str:
        """The subprotocol of the current (or last) connection."""
        return self._link.protocol if self._link is not None else ""

    @property
    def extensions(self) -> str:
        """The extensions of the current (or last) connection."""
        return self._link.extensions if self._link is not None else ""

    @property
    def retryCount(self) -> int:
        """Reconnection attempts in the current series (0 after a stable connection)."""
        return self._retries.count

    # -- methods ------------------------------------------------------------------

    def send(self, data: str | bytes | bytearray | memoryview) -> None:
        """Send a message now if a connection is OPEN; otherwise hold it for the next one.

        Raises :class:`~pyws.QuotaExceededError` when the held messages would pass
        ``max_enqueued_messages`` or ``max_enqueued_bytes``. After :meth:`close` the data
        is discarded (``bufferedAmount`` grows), as WebSocket does.
        """
        message: str | bytes
        if type(data) is str or isinstance(data, bytes):
            message = data
        else:
            try:
                message = bytes(memoryview(data))  # type: ignore[arg-type]  # the contents now
            except TypeError:
                raise TypeError(
                    f"send() takes str or a bytes-like object, not {type(data).__name__}"
                ) from None
        with self._lock:
            if self._stop is None:
                link = self._link
                if self._state is OPEN and link is not None and link.readyState is OPEN:
                    link.send(message)
                else:
                    self._queue.put(message, _size(message))
                return
            self._discarded += _size(message)

    def close(self, code: int | None = None, reason: str | None = None) -> None:
        """Close the current connection (as :meth:`pyws.WebSocket.close`) and stop
        reconnecting; while waiting to retry, the wait ends and ``close`` (1006) follows.
        Does nothing once closing."""
        code, reason_text = check_close_args(code, reason)
        with self._lock:
            if self._stop is not None or self._state is CLOSED:
                return
            self._stop = (code, reason_text)
            self._state = ReadyState.CLOSING
            link = self._link
        if link is not None and link.readyState is not CLOSED:
            link.close(code, reason_text)  # its close event ends this socket
        else:
            self._loop.call_soon_threadsafe(self._stop_waiting)

    def __repr__(self) -> str:
        return (f"<pyws.ReconnectingWebSocket url={redact_url(self._url)!r} "
                f"readyState={self._state.name}>")

    # -- the Python-native methods (as WebSocket's, across connections) -----------------

    def _waiting(self) -> Inbox:
        link = self._link
        if link is not None and self._state is not CLOSED:
            link._conn.check_awaitable_here()  # a clear error from another loop
        if self._inbox is None:
            self._inbox = Inbox(self._close_event, cast("Backlog", _Backlogs(self)))
        return self._inbox

    async def recv(self) -> Any:
        """The next message's data, whichever connection brought it; raises
        :class:`~pyws.WebSocketError` once CLOSED and every message was received."""
        return await self._waiting().get()

    def __aiter__(self) -> AsyncIterator[Any]:
        """Every message, across reconnections: ends after :meth:`close`, raises
        :class:`~pyws.WebSocketError` when the socket gave up."""
        return messages(self.recv, lambda: self._stop is not None)

    async def drain(self, threshold: int = 0) -> None:
        """Wait until every message sent so far was handed to a connection and that
        connection's ``bufferedAmount`` is at most ``threshold`` bytes: while reconnecting,
        through the next open and the sending of the held messages. Returns at once when
        nothing waits (no message held, and the connection closed or still opening: what
        a connection that dropped had not sent is lost, not waiting), and once CLOSED;
        after :meth:`close`, as :meth:`pyws.WebSocket.drain` on a closing socket (held
        messages are then discarded, not sent)."""
        import asyncio

        while self._state is not CLOSED:
            link = self._link
            if link is not None:
                link._conn.check_awaitable_here()  # a clear error from another loop
            if self._queue.messages:  # sent when the next connection opens (or dropped)
                waiter = asyncio.get_running_loop().create_future()
                self._drains.append(waiter)
                await waiter
                continue
            if link is None or link.readyState is CONNECTING or link.readyState is CLOSED:
                return
            await link.drain(threshold)
            if link is self._link and not self._queue.messages:
                return

    async def wait_closed(self) -> ReconnectCloseEvent:
        """Wait until CLOSED (no more reconnection); return the last close event."""
        await self._waiting().wait_closed()
        assert self._close_event is not None
        return self._close_event

    def recv_sync(self, timeout: float | None = None) -> Any:
        """Block until the next message (see :meth:`pyws.WebSocket.recv_sync`)."""
        return backend().run_blocking(self._conn(), self.recv, timeout, "await ws.recv()")

    def wait_closed_sync(self, timeout: float | None = None) -> ReconnectCloseEvent:
        """Block until CLOSED; return the last close event."""
        return backend().run_blocking(self._conn(), self.wait_closed, timeout,
                                      "await ws.wait_closed()")

    def _conn(self) -> Any:
        return self._link._conn if self._link is not None else None


def _size(data: str | bytes) -> int:
    return len(_usv_bytes(data)) if isinstance(data, str) else len(data)


def _home_loop() -> asyncio.AbstractEventLoop:
    """The loop a socket made now lives on (the same rule as the backends')."""
    import asyncio

    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        pass
    if BACKEND_NAME == "cpython":
        from ._cpython._host import loop_for_new_socket

        return loop_for_new_socket()[0]
    return asyncio.get_event_loop()
