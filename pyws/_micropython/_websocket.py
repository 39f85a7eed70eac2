"""The WebSocket interface under MicroPython: a facade over the host's JavaScript WebSocket.

The host's socket does the protocol work, parses the URL and checks the protocol tokens
(its ``SyntaxError`` becomes :class:`~pyws.DOMSyntaxError`); this class keeps pyws's
names, argument types, ``close()`` rules and events, and adds the Python-native methods.
Events are dispatched from the host's own event tasks, never inside a call.
"""

from ._errors import InvalidStateError
from ._events import CloseEvent, Event, EventTarget, MessageEvent, handler_property
from ._inbox import Inbox
from ._rules import as_bytes, check_close_args, check_options, check_protocols

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["WebSocket", "ReadyState"]


class ReadyState:
    """The values of ``readyState`` (plain ints: MicroPython has no ``enum``)."""

    CONNECTING = 0
    OPEN = 1
    CLOSING = 2
    CLOSED = 3


CONNECTING, OPEN, CLOSING, CLOSED = 0, 1, 2, 3
_STATE_NAMES = ("CONNECTING", "OPEN", "CLOSING", "CLOSED")
_BINARY_TYPES = ("blob", "arraybuffer")


class WebSocket(EventTarget):
    """A WebSocket connection with the browser's API (see pyws/_websocket.py).

    ``WebSocket(url, protocols=None, **options)`` starts connecting at once; ``open``,
    ``message``, ``error`` and ``close`` are dispatched later to the ``on<event>``
    attributes and to listeners added with :meth:`addEventListener`. Options are accepted
    at their defaults only (``TypeError`` otherwise). Raises :class:`~pyws.DOMSyntaxError`
    for an invalid URL or protocol list.
    """

    CONNECTING = 0
    OPEN = 1
    CLOSING = 2
    CLOSED = 3

    onopen = handler_property("open")
    onmessage = handler_property("message")
    onerror = handler_property("error")
    onclose = handler_property("close")

    def __init__(self, url: str, protocols: "Any" = None, **options: "Any") -> None:
        super().__init__()
        if not isinstance(url, str):
            raise TypeError("url must be a str, not " + type(url).__name__)
        protocol_list = check_protocols(protocols)
        check_options(options)
        self._inbox: "Inbox | None" = None  # until an async method needs it
        self._close_event: "CloseEvent | None" = None
        self._state = CONNECTING
        self._opened = False
        self._binary_type = "blob"
        self._protocol = ""
        self._extensions = ""
        from . import _host

        self._js = _host.open_socket(url, protocol_list, self._notify)
        self._url = str(self._js.url)

    # -- attributes ---------------------------------------------------------------

    @property
    def url(self) -> str:
        """The URL as the host parsed and serialized it (http -> ws, https -> wss)."""
        return self._url

    @property
    def readyState(self) -> int:
        """CONNECTING (0), OPEN (1), CLOSING (2) or CLOSED (3)."""
        if self._state == OPEN and self._js.readyState == CLOSING:  # the server started closing
            return CLOSING
        return self._state

    @property
    def bufferedAmount(self) -> int:
        """Bytes sent with :meth:`send` and not yet handed to the network, plus what was
        sent after the socket started closing (the host counts both)."""
        return int(self._js.bufferedAmount)

    @property
    def binaryType(self) -> str:
        """"blob" (the default) or "arraybuffer"; binary messages are ``bytes`` with
        either. Other values are ignored, as in the browser."""
        return self._binary_type

    @binaryType.setter
    def binaryType(self, value: str) -> None:
        if value in _BINARY_TYPES:
            self._binary_type = value

    @property
    def protocol(self) -> str:
        """The subprotocol the server selected ("" before open or if none)."""
        return self._protocol

    @property
    def extensions(self) -> str:
        """The extensions the server accepted ("" before open or if none)."""
        return self._extensions

    # -- methods ------------------------------------------------------------------

    def send(self, data: "Any") -> None:
        """Send a text (``str``) or binary (bytes-like) message.

        Raises :class:`~pyws.InvalidStateError` while CONNECTING; once closing, the host
        discards the data and counts it in ``bufferedAmount``.
        """
        if not isinstance(data, str):
            data = as_bytes(data)
        if self._state == CONNECTING:
            raise InvalidStateError("Still in CONNECTING state.")
        from . import _host

        _host.send(self._js, data)

    def close(self, code: "int | None" = None, reason: "str | None" = None) -> None:
        """Close: ``code`` 1000 or 3000-4999, ``reason`` at most 123 UTF-8 bytes. While
        CONNECTING this fails the connection (error and close 1006 follow). Does nothing
        once CLOSING or CLOSED. Raises :class:`~pyws.InvalidAccessError` for a bad code
        (checked first), :class:`~pyws.DOMSyntaxError` for a too-long reason."""
        code, reason_text = check_close_args(code, reason)
        if self._state == CLOSING or self._state == CLOSED:
            return
        self._state = CLOSING
        from . import _host

        _host.close(self._js, code, reason_text)

    def __repr__(self) -> str:
        return ("<pyws.WebSocket url=" + repr(self._url) + " readyState="
                + _STATE_NAMES[self._state] + ">")

    # -- the host's events (see _host.open_socket) ----------------------------------

    def _notify(self, kind: str, a: "Any", b: "Any", c: "Any") -> None:
        if kind == "text" or kind == "binary":
            if self._state != OPEN:  # messages after close() are dropped
                return
            if kind == "binary":
                from . import _host

                a = _host.from_hex(a)
            self._dispatch_trusted(MessageEvent(data=a, origin=b))
            inbox = self._inbox
            if inbox is not None and inbox.messages is not None:
                inbox.put(a)
        elif kind == "open":
            if self._state != CONNECTING:  # close() won the race
                return
            self._state = OPEN
            self._opened = True
            self._protocol, self._extensions = str(a), str(b)
            self._dispatch_trusted(Event("open"))
            if self._inbox is not None:
                self._inbox.open()
        elif kind == "error":
            self._state = CLOSED  # as the host's: CLOSED when error fires
            self._dispatch_trusted(Event("error"))
        elif kind == "close":
            self._closed(CloseEvent(code=int(a), reason=str(b), wasClean=bool(c)))

    def _closed(self, event: CloseEvent) -> None:
        self._state = CLOSED
        self._close_event = event
        self._dispatch_trusted(event)
        if self._inbox is not None:
            self._inbox.closed(event)

    def _dispatch_trusted(self, event: Event) -> None:
        event._trusted = True
        self._dispatch(event)

    # -- the Python-native methods ----------------------------------------------------

    def _waiting(self) -> Inbox:
        inbox = self._inbox
        if inbox is None:
            inbox = self._inbox = Inbox(self._close_event)
            if self._opened:
                inbox.open()
        return inbox

    async def recv(self) -> "Any":
        """The data of the next message (``str`` or ``bytes``). Raises
        :class:`~pyws.WebSocketError` once closed and every queued message was received;
        ``RuntimeError`` if another coroutine is already in ``recv()``."""
        return await self._waiting().get()

    def __aiter__(self) -> "_Messages":
        """Every message until the socket closes: a clean close (1000 or 1005, wasClean)
        ends the iteration, any other raises :class:`~pyws.WebSocketError`."""
        return _Messages(self)

    async def wait_closed(self) -> CloseEvent:
        """Wait until the socket is CLOSED; return its ``close`` event (does not close)."""
        return await self._waiting().wait_closed()

    async def drain(self, threshold: int = 0) -> None:
        """Wait until ``bufferedAmount`` is at most ``threshold`` bytes, or closed."""
        await self._waiting().wait_drained(lambda: self.bufferedAmount, threshold)

    def recv_sync(self, timeout: "float | None" = None) -> "Any":
        """Not available: MicroPython cannot block on the host here."""
        raise RuntimeError(cannot_block("await ws.recv()"))

    def wait_closed_sync(self, timeout: "float | None" = None) -> CloseEvent:
        """Not available: MicroPython cannot block on the host here."""
        raise RuntimeError(cannot_block("await ws.wait_closed()"))


class _Messages:
    """``async for`` over a socket (MicroPython has no async generators to do it with)."""

    def __init__(self, ws: WebSocket) -> None:
        self._ws = ws

    def __aiter__(self) -> "_Messages":
        return self

    async def __anext__(self) -> "Any":
        from ._errors import WebSocketError

        try:
            return await self._ws.recv()
        except WebSocketError as exc:
            if exc.wasClean and exc.closeCode in (1000, 1005):
                raise StopAsyncIteration from None
            raise


def cannot_block(async_form: str) -> str:
    return ("MicroPython cannot block on the network (no JSPI): use " + async_form + ".")
