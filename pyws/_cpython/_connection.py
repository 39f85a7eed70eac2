"""One client connection on asyncio: transport callbacks around websockets' sans-I/O core.

Framing, masking, the opening handshake, permessage-deflate and the closing handshake
are websockets' ``ClientProtocol`` (RFC 6455 / RFC 7692), with the browser's reading
rules where the RFC leaves room (:mod:`._protocol`); this module only moves bytes
between it and an asyncio transport, applies the browser's extra rules, and reports to
the facade. It is callback-driven: no task and no await per message.

Events are dispatched from the transport callback that brought them (``data_received``),
one listener call per message with no ``call_soon`` hop; what the listeners send meanwhile
is written once, when the callback ends. Anywhere else, outgoing messages are queued and
written once per event-loop turn (the browser sends at the end of the task), so
``bufferedAmount`` counts everything sent in the current task and falls as the transport
hands bytes to the kernel.
"""

from __future__ import annotations

import asyncio
import codecs
import collections
import logging
import ssl
import sys
import threading
from typing import TYPE_CHECKING, Any, cast

from websockets.frames import Opcode
from websockets.http11 import Response
from websockets.protocol import State
from websockets.uri import WebSocketURI

from .._spec import to_usv
from .._version import __version__
from . import _dial, _host
from ._dial import default_ssl_context
from ._protocol import INVALID_UTF8_TEXT, BrowserClientProtocol, BrowserDeflateFactory

if TYPE_CHECKING:
    from .._backend import Options, Owner
    from .._spec import WebSocketURL

__all__ = ["ClientConnection"]

logger = logging.getLogger("pyws")

#: Seconds to wait for the server to close TCP once both close frames are exchanged
#: (Chromium's kUnderlyingConnectionCloseTimeout).
TCP_CLOSE_TIMEOUT = 2.0

USER_AGENT = f"pyws/{__version__} Python/{sys.version_info.major}.{sys.version_info.minor}"

_OP_TEXT, _OP_BINARY, _OP_CONT, _OP_CLOSE = Opcode.TEXT, Opcode.BINARY, Opcode.CONT, Opcode.CLOSE
_OPEN = State.OPEN
_utf8_decoder = codecs.getincrementaldecoder("utf-8")
_get_ident = threading.get_ident


class _Failure(Exception):
    """Why the connection failed (logged; scripts only see 1006)."""


class ClientConnection(asyncio.Protocol):
    """A WebSocket client connection on an asyncio loop (see pyws._backend.Connection)."""

    def __init__(self, owner: Owner, url: WebSocketURL, protocols: tuple[str, ...],
                 options: Options) -> None:
        loop, hosted = _host.loop_for_new_socket()
        self._loop = loop
        self._hosted = hosted
        # The loop's thread: the current one for a running loop, the main thread for
        # the script host (it runs there when the script ends).
        self._thread_id = threading.main_thread().ident if hosted else threading.get_ident()
        self._owner = owner
        self._url = url
        self._protocols = protocols
        self._options = options
        uri = WebSocketURI(url.secure, url.connect_host, url.port, url.resource_name, "",
                           url.username or None, url.password if url.username else None)
        extensions = None
        if options.compression == "deflate":
            # What browsers offer: "permessage-deflate; client_max_window_bits".
            extensions = [BrowserDeflateFactory()]
        self._proto = BrowserClientProtocol(
            uri,
            origin=options.origin,  # type: ignore[arg-type]
            extensions=extensions,
            subprotocols=list(protocols) or None,  # type: ignore[arg-type]
            max_size=options.max_size,
        )
        self._transport: asyncio.Transport | None = None
        self._handshake: asyncio.Future[None] = loop.create_future()
        self._connect_task: asyncio.Task[None] | None = None
        self._open_timer: asyncio.TimerHandle | None = None
        self._opened = False
        self._failed = False
        self._finished = False
        self._timer: asyncio.TimerHandle | None = None
        # Outgoing: messages of the current loop turn, then the transport's buffer.
        self._outbox: list[tuple[bool, bytes]] = []
        self._outbox_bytes = 0
        self._flush_scheduled = False
        self._in_flight: collections.deque[tuple[int, int]] = collections.deque()
        self._in_flight_bytes = 0
        self._wire_total = 0
        self._foreign_lock = threading.Lock()
        self._foreign_bytes = 0
        # Incoming: a fragmented message being reassembled.
        self._fragments: list[bytes] = []
        self._fragment_text = False
        self._decoder: codecs.IncrementalDecoder | None = None
        if self._on_loop_thread():
            self._start()  # a task, so nothing happens inside the constructor
        else:
            loop.call_soon_threadsafe(self._start)

    # -- the facade's side (may be called from any thread) -----------------------

    @property
    def buffered_amount(self) -> int:
        amount = self._outbox_bytes + self._foreign_bytes
        if self._in_flight_bytes:
            transport = self._transport
            pending = transport.get_write_buffer_size() if transport is not None else 0
            handed = self._wire_total - pending
            in_flight = self._in_flight
            while in_flight and in_flight[0][0] <= handed:
                self._in_flight_bytes -= in_flight.popleft()[1]
        return amount + self._in_flight_bytes

    #: The facade hears of every state change here (_closing, _closed).
    closing = False

    def send_text(self, data: str) -> None:
        try:
            payload = data.encode("utf-8")
        except UnicodeEncodeError:
            payload = to_usv(data).encode("utf-8")
        self._queue(True, payload)

    def send_binary(self, data: bytes) -> None:
        self._queue(False, data)

    def close(self, code: int | None, reason: str) -> None:
        # On the loop's thread the close frame is written at once (after what was sent
        # before it); the events it leads to come later, from the loop.
        if self._on_loop_thread():
            self._close(code, reason)
        else:
            self._loop.call_soon_threadsafe(self._close, code, reason)

    def going_away(self) -> None:
        """The script host is exiting (Ctrl-C, sys.exit): close with 1001."""
        if self._finished:
            return
        self._owner._going_away()

    # -- scheduling ---------------------------------------------------------------

    def _on_loop_thread(self) -> bool:
        return _get_ident() == self._thread_id

    def _queue(self, is_text: bool, payload: bytes) -> None:
        if _get_ident() == self._thread_id:
            self._outbox.append((is_text, payload))
            self._outbox_bytes += len(payload)
            if not self._flush_scheduled:
                self._flush_scheduled = True
                self._loop.call_soon(self._flush)
        else:
            with self._foreign_lock:
                self._foreign_bytes += len(payload)
            self._loop.call_soon_threadsafe(self._queue_foreign, is_text, payload)

    def _queue_foreign(self, is_text: bool, payload: bytes) -> None:
        with self._foreign_lock:
            self._foreign_bytes -= len(payload)
        self._outbox.append((is_text, payload))
        self._outbox_bytes += len(payload)
        self._flush()

    def _flush(self) -> None:
        self._flush_scheduled = False
        outbox = self._outbox
        if not outbox:
            return
        app_bytes = self._outbox_bytes
        self._outbox = []
        self._outbox_bytes = 0
        proto = self._proto
        if proto.state is not _OPEN or self._transport is None:
            return  # closing or gone: the standard discards it
        for is_text, payload in outbox:
            if is_text:
                proto.send_text(payload)
            else:
                proto.send_binary(payload)
        self._write(proto.data_to_send(), app_bytes)

    def _write(self, chunks: list[bytes], app_bytes: int = 0) -> None:
        transport = self._transport
        if transport is None:
            return
        eof = False
        if chunks and chunks[-1] == b"":  # websockets' SEND_EOF marker
            chunks = chunks[:-1]
            eof = True
        if chunks:
            wire = sum(map(len, chunks))
            if len(chunks) == 1:
                transport.write(chunks[0])
            else:
                # One write per flush: fewer syscalls (writelines() joins on 3.11).
                transport.writelines(chunks)
            self._wire_total += wire
            if app_bytes:
                if transport.get_write_buffer_size():
                    self._in_flight.append((self._wire_total, app_bytes))
                    self._in_flight_bytes += app_bytes
                elif self._in_flight_bytes:
                    self._in_flight.clear()
                    self._in_flight_bytes = 0
        if eof and transport.can_write_eof():
            transport.write_eof()

    # -- opening ----------------------------------------------------------------------

    def _start(self) -> None:
        if self._finished:
            return
        _host.track(self._loop, self)
        self._connect_task = self._loop.create_task(self._connect())
        timeout = self._options.open_timeout
        if timeout is not None:
            # A timer rather than asyncio.wait_for(): no second task per connection.
            self._open_timer = self._loop.call_later(timeout, self._open_timed_out)

    def _open_timed_out(self) -> None:
        self._open_timer = None
        if self._opened or self._finished:
            return
        self._fail(f"the opening handshake timed out after {self._options.open_timeout} s")
        if self._connect_task is not None:
            self._connect_task.cancel()

    async def _connect(self) -> None:
        url = self._url
        try:
            ssl_context = None
            if url.secure:
                ssl_context = self._options.ssl or default_ssl_context()
            await self._open(ssl_context)
        except asyncio.CancelledError:
            self._fail("the connection attempt was cancelled")
        except _Failure as exc:
            self._fail(str(exc))
        except (OSError, ssl.SSLError) as exc:
            self._fail(f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # never let an unexpected error hang the socket
            logger.exception("pyws: unexpected error while connecting to %s", url.href)
            self._fail(f"{type(exc).__name__}: {exc}")
        finally:
            if self._open_timer is not None:
                self._open_timer.cancel()
                self._open_timer = None

    async def _open(self, ssl_context: ssl.SSLContext | None) -> None:
        # Reaching the server (a proxy tunnel, or RFC 6455 4.1's one-connection-at-a-time
        # endpoint lock, held until the handshake is over; Happy Eyeballs; TLS) is
        # _dial's: it calls connection_made() on this protocol.
        async with _dial.connected(self, self._url, ssl_context, self._options, USER_AGENT):
            await self._handshake

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport = cast(asyncio.Transport, transport)
        if self._finished:  # close() while the TCP connection was being made
            transport.abort()
            return
        request = self._proto.connect()
        headers = request.headers
        headers["User-Agent"] = USER_AGENT
        for name, value in (self._options.headers or {}).items():
            if name in headers:  # replace (Host, User-Agent), never send it twice
                del headers[name]
            headers[name] = value
        self._proto.send_request(request)
        self._write(self._proto.data_to_send())

    def _handshake_done(self, response: Response) -> None:
        proto = self._proto
        if proto.handshake_exc is not None:
            raise _Failure(f"the opening handshake failed: {proto.handshake_exc}")
        selected = proto.subprotocol or ""
        if self._protocols and not selected:
            # WebSockets Standard: stricter than RFC 6455, a server that selects no
            # subprotocol when some were requested fails the connection.
            raise _Failure("the server selected no subprotocol, but some were requested")
        extensions = ", ".join(response.headers.get_all("Sec-WebSocket-Extensions"))
        self._opened = True
        if not self._handshake.done():
            self._handshake.set_result(None)
        self._owner._opened(selected, extensions)

    # -- receiving ----------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        proto = self._proto
        proto.receive_data(data)
        events = proto.events_received()
        writes = proto.data_to_send()
        if writes:
            self._write(writes)
        if events:
            # Listeners run from here: what they send is written once, at the end.
            flush_was_scheduled = self._flush_scheduled
            self._flush_scheduled = True
            try:
                if not self._opened:
                    first = events[0]
                    if isinstance(first, Response):
                        try:
                            self._handshake_done(first)
                        except _Failure as exc:
                            self._reject(exc)
                            return
                        events = events[1:]
                if events:
                    self._frames(events)
            finally:
                self._flush_scheduled = flush_was_scheduled
                if self._outbox:
                    self._flush()
        elif not self._opened and proto.handshake_exc is not None:
            self._reject(_Failure(f"the opening handshake failed: {proto.handshake_exc}"))
            return
        if proto.parser_exc is not None and not self._failed and self._opened:
            self._protocol_error(f"{type(proto.parser_exc).__name__}: {proto.parser_exc}")
        elif proto.data_after_close and not self._failed:
            # Chromium: a frame after the server's close frame fails the connection.
            self._protocol_error("the server sent data after its close frame")
        elif proto.close_expected():
            self._expect_tcp_close()

    def _reject(self, exc: _Failure) -> None:
        if not self._handshake.done():
            self._handshake.set_exception(exc)
        if self._transport is not None:
            self._transport.abort()

    def _frames(self, frames: list[Any]) -> None:
        received = self._owner._received
        for frame in frames:
            if self._finished or self._failed:
                return  # a listener's close() while CONNECTING, or a failure: stop here
            opcode = frame.opcode
            if opcode is _OP_TEXT:
                if frame.fin:
                    try:
                        text = frame.data.decode("utf-8")
                    except UnicodeDecodeError:
                        self._invalid_utf8()
                        return
                    received(text)
                else:
                    self._fragment_text = True
                    self._decoder = _utf8_decoder()
                    if not self._fragment(frame.data, False):
                        return
            elif opcode is _OP_BINARY:
                if frame.fin:
                    received(frame.data)  # a bytearray: the facade makes it bytes or a Blob
                else:
                    self._fragment_text = False
                    self._fragments.append(frame.data)
            elif opcode is _OP_CONT:
                if not self._fragment(frame.data, frame.fin):
                    return
            elif opcode is _OP_CLOSE:
                if self._proto.close_rcvd_then_sent:
                    self._owner._closing()
            # Ping and pong: websockets answered the ping already.

    def _fragment(self, data: bytes, fin: bool) -> bool:
        if self._fragment_text:
            assert self._decoder is not None
            try:
                # Decode as the fragments arrive, to fail fast on invalid UTF-8.
                self._fragments.append(self._decoder.decode(data, fin))  # type: ignore[arg-type]
            except UnicodeDecodeError:
                self._invalid_utf8()
                return False
        else:
            self._fragments.append(data)
        if fin:
            parts, self._fragments = self._fragments, []
            message: str | bytes = "".join(parts) if self._fragment_text else b"".join(parts)  # type: ignore[arg-type]
            self._decoder = None
            self._owner._received(message)
        return True

    def _invalid_utf8(self) -> None:
        self._proto.fail(1002, INVALID_UTF8_TEXT)  # Chromium's code and reason
        self._protocol_error("the server sent invalid UTF-8 in a text message")

    def _protocol_error(self, why: str) -> None:
        """The server broke the protocol: fail the connection (close frame, then TCP)."""
        self._failed = True
        logger.warning("WebSocket connection to '%s' failed: %s", self._url.href, why)
        self._write(self._proto.data_to_send())
        if self._transport is not None:
            self._transport.close()

    # -- flow control (hostile servers) ----------------------------------------------------

    def pause_writing(self) -> None:
        """The transport's buffer passed its high-water mark: the server is not reading
        what we write. Pings are then answered once, for the latest, when it reads again
        (:attr:`BrowserClientProtocol.pongs_paused`), so a server that floods pings and
        never reads cannot grow the buffer without bound. Reading goes on: pausing it
        could deadlock a server that stops reading while its own writes are blocked."""
        self._proto.pongs_paused = True

    def resume_writing(self) -> None:
        """The buffer fell to its low-water mark: answer the latest ping (next turn, not
        from inside the transport's own callback)."""
        self._proto.pongs_paused = False
        if self._proto.pending_pong is not None:
            self._loop.call_soon(self._send_pending_pong)

    def _send_pending_pong(self) -> None:
        proto = self._proto
        if not proto.pongs_paused and self._transport is not None and proto.send_pending_pong():
            self._write(proto.data_to_send())

    def eof_received(self) -> bool | None:
        self._proto.receive_eof()
        self._write(self._proto.data_to_send())
        return None  # let the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._cancel_timer()
        if not self._handshake.done():
            if self._finished:  # close() or a timeout already failed the connection
                self._handshake.cancel()
            else:  # _connect() reports the failure
                self._handshake.set_exception(_Failure(
                    "the connection was closed during the opening handshake"
                    + (f" ({exc})" if exc else "")))
            return
        if not self._opened:
            return
        proto = self._proto
        proto.receive_eof()
        received = proto.close_rcvd
        if self._failed:
            self._finish(1006, "", False, True, now=True)
        elif received is None:
            # A drop after open (or a closing handshake that timed out) is not a failure
            # of the connection: Chromium reports close 1006 without an error event.
            logger.info("WebSocket connection to '%s' closed abnormally: no close frame "
                        "was received%s", self._url.href, f" ({exc})" if exc else "")
            self._finish(1006, "", False, False, now=True)
        else:
            # Chromium: clean only if TCP then ended normally (a reset is not clean).
            self._finish(int(received.code), received.reason,
                         proto.close_sent is not None and exc is None, False, now=True)

    # -- closing ------------------------------------------------------------------------

    def _close(self, code: int | None, reason: str) -> None:
        if self._finished:
            return
        if not self._opened:
            # close() while CONNECTING: fail the connection.
            self._fail("close() was called before the connection was established")
            if self._connect_task is not None:
                self._connect_task.cancel()
            return
        proto = self._proto
        if proto.state is not _OPEN:
            return  # the server started closing first: its close frame was echoed
        self._flush()  # messages sent before close() go first
        proto.send_close(code, reason)
        self._write(proto.data_to_send())
        self._start_timer(self._options.close_timeout, "the server did not complete the closing handshake")

    def _expect_tcp_close(self) -> None:
        """Both close frames are exchanged (or the server's arrived): give the server a
        moment to close TCP first, as RFC 6455 section 7.1.1 asks of clients."""
        if self._proto.close_rcvd is not None:
            self._start_timer(TCP_CLOSE_TIMEOUT, None)

    def _start_timer(self, delay: float | None, failure: str | None) -> None:
        self._cancel_timer()
        if delay is not None and self._transport is not None:
            self._timer = self._loop.call_later(delay, self._timed_out, failure)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _timed_out(self, failure: str | None) -> None:
        self._timer = None
        if failure is not None and self._proto.close_rcvd is None:
            logger.warning("WebSocket connection to '%s': %s", self._url.href, failure)
        if self._transport is not None:
            self._transport.abort()

    def _fail(self, why: str) -> None:
        """The connection could not be established."""
        if self._finished:
            return
        logger.warning("WebSocket connection to '%s' failed: %s", self._url.href, why)
        if self._transport is not None:
            self._transport.abort()
        self._finish(1006, "", False, True)

    def _finish(self, code: int, reason: str, was_clean: bool, failed: bool,
                now: bool = False) -> None:
        """Report the end: ``now`` from a transport callback, else on the next turn (the
        caller may be the user's close())."""
        if self._finished:
            return
        self._finished = True
        self._cancel_timer()
        if self._open_timer is not None:
            self._open_timer.cancel()
            self._open_timer = None
        if now:
            self._report_closed(code, reason, was_clean, failed)
        else:
            self._loop.call_soon(self._report_closed, code, reason, was_clean, failed)

    def _report_closed(self, code: int, reason: str, was_clean: bool, failed: bool) -> None:
        try:
            self._owner._closed(code, reason, was_clean, failed)
        finally:
            _host.untrack(self._loop, self)
