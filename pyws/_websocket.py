"""The WebSocket interface (WHATWG WebSockets Standard section 3), runtime-independent.

This facade owns all the behaviour the standard specifies: argument checks, the
``readyState`` machine, ``bufferedAmount`` accounting for discarded data, which events
fire, in which order, with what content. The backend (:mod:`pyws._backend`) only moves
bytes and reports what happened on the wire.

Beyond the browser, the same object has the Python-native methods
(:mod:`pyws._native_methods`), fed by the same dispatch (:mod:`pyws._inbox`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ._blob import Blob
from ._errors import InvalidStateError
from ._events import (
    EventTarget,
    TrustedCloseEvent,
    TrustedEvent,
    TrustedMessageEvent,
    handler_property,
)
from ._flow import Backlog, buffer_full
from ._inbox import Inbox
from ._options import Options
from ._redact import redact_url
from ._runtime import backend
from ._native_methods import NativeMethods
from ._spec import ReadyState, check_close_args, parse_protocols, parse_url, to_usv

if TYPE_CHECKING:
    import asyncio

    from ._backend import Closed, Connection
    from ._events import CloseEvent, Event

__all__ = ["WebSocket", "ReadyState"]


CONNECTING, OPEN, CLOSING, CLOSED = ReadyState
_BINARY_TYPES = ("blob", "arraybuffer")


class WebSocket(NativeMethods, EventTarget):
    """A WebSocket connection with the browser's API.

    ``WebSocket(url, protocols=None, **options)`` starts connecting at once; events
    (``open``, ``message``, ``error``, ``close``) are dispatched later, on the event
    loop, to the ``on<event>`` attributes and to listeners added with
    :meth:`addEventListener`. Keyword options go beyond the browser (see
    :class:`pyws.Options`); a runtime that cannot honour one raises ``TypeError``.

    Beyond the browser: ``await recv()``, ``async for``, ``await wait_closed()``,
    ``await drain()`` and their blocking forms ``recv_sync()``, ``wait_closed_sync()``.

    Raises :class:`~pyws.DOMSyntaxError` for an invalid URL or protocol list.

    On CPython, a socket whose event loop is closed while it is open (a loop made and
    closed by hand, without ``shutdown_asyncgens()``) is noticed lazily, at the next
    ``readyState`` read, ``send()``, ``close()`` or async or blocking call: it is then
    CLOSED (1006, not clean) with no events (they would run on that loop), its socket
    is released, and a WARNING on the ``pyws`` logger says so.
    """

    CONNECTING = ReadyState.CONNECTING
    OPEN = ReadyState.OPEN
    CLOSING = ReadyState.CLOSING
    CLOSED = ReadyState.CLOSED

    onopen = handler_property("open")
    onmessage = handler_property("message")
    onerror = handler_property("error")
    onclose = handler_property("close")

    _conn: Connection

    def __init__(self, url: str, protocols: str | Iterable[str] | None = None, **options: Any) -> None:
        super().__init__()
        runtime = backend()
        parsed = parse_url(url, runtime.base_url())
        protocol_list = parse_protocols(protocols)
        opts = Options.from_kwargs(options)
        runtime.check_options(opts)
        self._inbox: Inbox | None = None  # until an async method needs it
        self._close_event: CloseEvent | None = None
        self._url = parsed.href
        self._origin = parsed.origin
        self._state = ReadyState.CONNECTING
        self._binary_type = "blob"
        self._protocol = ""
        self._extensions = ""
        self._discarded = 0
        #: What ended the socket where no close event could say it (recv()'s message).
        self._end_why: str | None = None
        self._conn = runtime.connect(self, parsed, protocol_list, opts)
        self._max_buffered = opts.max_buffered
        self._backlog = None if opts.max_queue is None else Backlog(self._conn, opts.max_queue)

    # -- attributes ---------------------------------------------------------------

    @property
    def url(self) -> str:
        """The URL, parsed, rewritten (http -> ws, https -> wss) and serialized."""
        return self._url

    @property
    def readyState(self) -> ReadyState:
        """CONNECTING (0), OPEN (1), CLOSING (2) or CLOSED (3)."""
        state = self._state
        if state is CLOSED:
            return state
        self._conn.settle()  # (its loop may have been closed under it)
        state = self._state
        if state is OPEN and self._conn.closing:  # the server started closing
            return CLOSING
        return state

    @property
    def bufferedAmount(self) -> int:
        """Bytes of application data sent with :meth:`send` and not yet handed to the
        network, plus everything sent after the socket started closing (the standard
        counts discarded data too)."""
        return self._conn.buffered_amount + self._discarded

    @property
    def binaryType(self) -> str:
        """"blob" (default: binary messages are :class:`~pyws.Blob`, a ``bytes``
        subclass) or "arraybuffer" (plain ``bytes``). Other values are ignored, as in
        the browser. Read when each message is dispatched."""
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

    def send(self, data: str | bytes | bytearray | memoryview) -> None:
        """Send a text (``str``) or binary (bytes-like) message.

        Raises :class:`~pyws.InvalidStateError` while CONNECTING. After the socket
        started closing the data is discarded silently (``bufferedAmount`` still grows,
        as the standard says).
        """
        if type(data) is str:
            is_text = True
        elif isinstance(data, bytes):
            is_text = False
        else:
            try:
                # Copy: the browser sends the buffer's contents as they are now.
                data = bytes(memoryview(data))  # type: ignore[arg-type]
            except TypeError:
                raise TypeError(
                    f"send() takes str or a bytes-like object, not {type(data).__name__}"
                ) from None
            is_text = False
        state = self._state
        if state is OPEN:
            if self._max_buffered is not None and buffer_full(self._conn, self._max_buffered, data):
                return
            # Also when the server has started closing (readyState CLOSING with no
            # event): the connection discards and counts the data then, as the host
            # does under Pyodide, without a readyState read per message here.
            if is_text:
                self._conn.send_text(data)  # type: ignore[arg-type]
            else:
                self._conn.send_binary(data)  # type: ignore[arg-type]
            return
        if state is CONNECTING:
            self._conn.settle()
            if self._state is CONNECTING:
                raise InvalidStateError("Still in CONNECTING state.")
        self._discarded += len(_usv_bytes(data)) if is_text else len(data)  # type: ignore[arg-type]

    def close(self, code: int | None = None, reason: str | None = None) -> None:
        """Close the connection: ``code`` is 1000 or 3000-4999, ``reason`` at most 123
        UTF-8 bytes. While CONNECTING this fails the connection (error and close 1006
        follow). Does nothing once CLOSING or CLOSED.

        Raises :class:`~pyws.InvalidAccessError` for a bad code (checked first) and
        :class:`~pyws.DOMSyntaxError` for a too-long reason.
        """
        code, reason_text = check_close_args(code, reason)
        if self._state is not CLOSED:
            self._conn.settle()
        if self._state is CLOSING or self._state is CLOSED:
            return
        self._state = ReadyState.CLOSING
        self._conn.close(code, reason_text)

    def _spawn(self, coro: Any, event: Event) -> asyncio.Future[Any]:
        task = super()._spawn(coro, event)
        if self._backlog is not None:
            self._backlog.task_started(task)
        return task

    def _give_up(self) -> None:
        """The user's own code stopped waiting for this socket (a cancelled
        ``await connect()``): as :meth:`close`, but a connection still opening fails
        without a warning in the log (a DEBUG record instead)."""
        if self._state is CLOSING or self._state is CLOSED:
            return
        self._state = ReadyState.CLOSING
        self._conn.close(None, "", quiet=True)

    def __repr__(self) -> str:
        # The password masked: a repr ends up in logs ("Uncaught exception in a
        # 'message' listener of <pyws.WebSocket ...>").
        return f"<pyws.WebSocket url={redact_url(self._url)!r} readyState={self._state.name}>"

    # -- upcalls from the backend (see pyws._backend.Owner) -----------------------

    def _opened(self, protocol: str, extensions: str) -> None:
        if self._state is not CONNECTING:  # close() won the race: no open event
            return
        self._state = ReadyState.OPEN
        self._protocol = protocol
        self._extensions = extensions
        self._dispatch(TrustedEvent("open"))

    def _received(self, data: str | bytes | bytearray) -> None:
        if self._state is not OPEN:  # messages after close() are dropped
            return
        if not isinstance(data, str):
            # One copy at most: a bytearray from the backend becomes the Blob or bytes.
            if self._binary_type == "blob":
                data = Blob(data)
            elif type(data) is not bytes:
                data = bytes(data)
        self._dispatch(TrustedMessageEvent(data, self._origin))
        inbox = self._inbox
        if inbox is not None and inbox.messages is not None:
            inbox.put(data)

    def _going_away(self) -> None:
        if self._state is OPEN:
            self._state = ReadyState.CLOSING
            self._conn.close(1001, "")
        elif self._state is CONNECTING:
            self._state = ReadyState.CLOSING
            self._conn.close(None, "")

    def _closing(self) -> None:
        if self._state is OPEN:
            self._state = ReadyState.CLOSING

    def _lost_loop(self, closed: Closed, why: str) -> None:
        if self._state is CLOSED:
            return
        self._state = ReadyState.CLOSED
        # Recorded for recv() and wait_closed(), not dispatched: listeners run on the
        # socket's loop, which is closed.
        event = TrustedCloseEvent("close", code=closed.code, reason=closed.reason,
                                  wasClean=closed.was_clean)
        self._close_event = event
        self._end_why = why
        if self._inbox is not None:
            self._inbox.lost(event, why)

    def _closed(self, closed: Closed) -> None:
        if self._state is CLOSED:
            return
        self._state = ReadyState.CLOSED
        if closed.failed:
            self._dispatch(TrustedEvent("error"))
        event = TrustedCloseEvent("close", code=closed.code, reason=closed.reason,
                                  wasClean=closed.was_clean)
        self._close_event = event
        self._dispatch(event)
        if self._inbox is not None:
            self._inbox.closed(event)


def _usv_bytes(text: str) -> bytes:
    """UTF-8 of ``text`` as a USVString (lone surrogates become U+FFFD)."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return to_usv(text).encode("utf-8")
