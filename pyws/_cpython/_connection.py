"""One client connection on asyncio: the I/O shell around the sans-I/O browser client.

The protocol, the browser's rules and the connection's phase are
:class:`._browser_client.BrowserClient`'s; the outgoing side is :class:`._outbox.Outbox`'s.
This module only does what needs an event loop: reaching the server (:mod:`._opening`), the
transport callbacks, the timers, and reporting to the facade. It is callback-driven: no
task and no await per message.

Events are dispatched from the transport callback that brought them (``data_received``),
one listener call per message with no ``call_soon`` hop; what the listeners send meanwhile
is written once, when the callback ends.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from .._backend import DROPPED, Closed
from .._redact import redact_url
from .._version import __version__
from . import _host
from ._browser_client import (
    BrowserClient,
    Challenged,
    Closing,
    Event,
    Failed,
    Message,
    Opened,
    Phase,
    Pong,
    Rejected,
    encode_text,
)
from ._browser_rules import TCP_CLOSE_TIMEOUT
from ._keepalive import Keepalive
from ._opening import Opening
from ._outbox import Outbox
from ._reading import Reading
from ._timer import Timer

if TYPE_CHECKING:
    from .._backend import Owner
    from .._options import Options
    from .._spec import WebSocketURL

__all__ = ["ClientConnection", "USER_AGENT"]

logger = logging.getLogger("pyws")

USER_AGENT = f"pyws/{__version__} Python/{sys.version_info.major}.{sys.version_info.minor}"

_get_ident = threading.get_ident
_CLOSED = Phase.CLOSED


class ClientConnection(asyncio.Protocol):
    """A WebSocket client connection on an asyncio loop (see pyws._backend.Connection)."""

    def __init__(self, owner: Owner, url: WebSocketURL, protocols: tuple[str, ...],
                 options: Options) -> None:
        loop, hosted = _host.loop_for_new_socket()
        #: The event loop this connection lives on.
        self.loop = loop
        # The loop's thread: the current one for a running loop, the main thread for
        # the script host (it runs there when the script ends).
        self._thread_id = threading.main_thread().ident if hosted else _get_ident()
        self._owner = owner
        self._url = url
        #: The URL as every log record shows it: the password masked.
        self._shown = redact_url(url.href)
        self._options = options
        self._client = client = BrowserClient(url, protocols, options, USER_AGENT)
        self._outbox = Outbox(loop, client, self._thread_id)
        self._transport: asyncio.Transport | None = None
        self._opening = Opening(self, client, url, options, USER_AGENT, self._fail)
        self._end_timer = Timer(loop, self._end_timed_out)
        self._reading = Reading(loop, self._receive)
        self._keepalive = Keepalive(loop, options.ping_interval, options.ping_timeout, client,
                                    self._outbox, self._fail)
        self._on_loop(self._start)  # a task, so nothing happens inside the constructor

    # -- the facade's side (may be called from any thread) -----------------------

    @property
    def buffered_amount(self) -> int:
        return self._outbox.buffered_amount

    #: The facade hears of every state change here (_closing, _closed).
    closing = False

    def send_text(self, data: str) -> None:
        self._outbox.send(True, encode_text(data))

    def send_binary(self, data: bytes) -> None:
        self._outbox.send(False, data)

    def close(self, code: int | None, reason: str, *, quiet: bool = False) -> None:
        # On the loop's thread the close frame is written at once (after what was sent
        # before it); the events it leads to come later, from the loop.
        self._on_loop(self._close, code, reason, quiet)

    def fail(self, why: str) -> None:
        self._on_loop(self._fail, why)

    async def wait_buffered(self, threshold: int) -> None:
        await self._outbox.wait_buffered(threshold)

    def check_awaitable_here(self) -> None:
        _host.check_awaited_on(self.loop)

    def pause_reading(self) -> None:
        self._reading.pause()

    def resume_reading(self) -> None:
        self._reading.resume()

    def going_away(self) -> None:
        """The host is exiting (Ctrl-C, sys.exit, the loop shutting down): close with 1001."""
        if self._client.phase is not Phase.CLOSED:
            self._owner._going_away()

    def _on_loop_thread(self) -> bool:
        return _get_ident() == self._thread_id

    def _on_loop(self, call: Callable[..., None], *args: object) -> None:
        """Call now on the loop's thread, else hop over to it."""
        if self._on_loop_thread():
            call(*args)
        else:
            self.loop.call_soon_threadsafe(call, *args)

    # -- opening ----------------------------------------------------------------------

    def _start(self) -> None:
        if self._client.phase is Phase.CLOSED:  # close() came first, from another thread
            return
        _host.track(self.loop, self)
        self._opening.start(self.loop)

    # -- transport callbacks ------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport = cast(asyncio.Transport, transport)
        if self._client.phase is Phase.CLOSED:  # failed while the TCP connection was made
            transport.abort()
            return
        self._outbox.attach(transport)
        self._reading.attach(transport)
        self._client.start()
        self._outbox.write(self._client.data_to_send())

    def data_received(self, data: bytes) -> None:
        if self._reading.sliced:
            self._reading.received(data)
        else:  # the common case, without a call in between
            self._receive(data)

    def _receive(self, data: bytes) -> None:
        client = self._client
        events = client.receive_data(data)
        writes = client.data_to_send()
        if writes:
            self._outbox.write(writes)
        if events:
            self._handle(events)
        if client.awaiting_tcp_close and client.phase is not Phase.FAILING:
            self._start_end_timer(TCP_CLOSE_TIMEOUT, None)

    def eof_received(self) -> bool | None:
        self._reading.catch_up()
        events = self._client.receive_eof()
        self._outbox.write(self._client.data_to_send())
        if events:
            self._handle(events)
        return None  # let the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:
        self._reading.catch_up()  # what arrived while paused is part of the story
        self._reading.attach(None)
        self._transport = None
        self._outbox.attach(None)
        self._end_timer.cancel()
        client = self._client
        phase = client.phase
        self._opening.over()
        if self._opening.retrying:  # a 401 challenge: the dial goes on with a new connection
            return
        if phase is Phase.CLOSED:  # already reported (failed before TCP ended)
            return
        closed = client.connection_lost(exc)
        detail = f" ({exc})" if exc else ""
        if phase is Phase.CONNECTING:
            logger.warning("WebSocket connection to '%s' failed: the connection was closed "
                           "during the opening handshake%s", self._shown, detail)
        elif closed is DROPPED:
            # Not a failure (Chromium fires no error event), but worth a word.
            logger.info("WebSocket connection to '%s' closed abnormally: no close frame "
                        "was received%s", self._shown, detail)
        self._report(closed)

    def pause_writing(self) -> None:
        self._outbox.writing_paused()

    def resume_writing(self) -> None:
        self._outbox.writing_resumed()

    # -- what the client's events mean ---------------------------------------------------

    def _handle(self, events: list[Event]) -> None:
        owner = self._owner
        outbox = self._outbox
        client = self._client
        # Listeners run from here: what they send is written once, at the end.
        outbox.hold()
        try:
            for event in events:
                kind = type(event)
                if kind is Message:
                    if client.phase is _CLOSED:
                        return  # a listener's close() ended a connection still opening
                    owner._received(event.data)  # type: ignore[union-attr]
                elif kind is Opened:
                    self._opened(cast(Opened, event))
                elif kind is Pong:
                    self._keepalive.pong(cast(Pong, event).data)
                elif kind is Closing:
                    self._keepalive.stop()
                    owner._closing()
                elif kind is Failed:
                    self._protocol_error(cast(Failed, event).why)
                elif kind is Rejected:
                    self._rejected(cast(Rejected, event).why)
                elif kind is Challenged:
                    self._challenged(cast(Challenged, event).why)
        finally:
            outbox.release()

    def _opened(self, opened: Opened) -> None:
        self._opening.over()
        self._keepalive.start()
        if opened.extensions:  # permessage-deflate: bound what one read can inflate
            self._reading.in_slices()
        self._owner._opened(opened.protocol, opened.extensions)

    def _rejected(self, why: str) -> None:
        """The opening handshake failed: drop the connection; it is reported when TCP is
        gone."""
        logger.warning("WebSocket connection to '%s' failed: %s", self._shown, why)
        self._opening.over()
        if self._transport is not None:
            self._transport.abort()

    def _challenged(self, why: str) -> None:
        """A 401 with a Basic challenge, and the URL has credentials: answer it on a new
        connection, unless the credentials would cross a proxy in clear text."""
        proxy = self._opening.proxy
        if proxy is not None and not self._url.secure:
            self._rejected(f"{why}, but the URL's credentials are not sent over ws:// through "
                           f"the proxy {proxy}, which could read them (use wss://)")
            return
        logger.debug("WebSocket connection to '%s': %s: sending the URL's on a new "
                     "connection", self._shown, why)
        self._opening.retrying = True
        if self._transport is not None:
            self._transport.abort()

    def _protocol_error(self, why: str) -> None:
        """The server broke the protocol: our close frame (written already), then end TCP;
        it is reported when TCP is gone (within the close timeout)."""
        logger.warning("WebSocket connection to '%s' failed: %s", self._shown, why)
        if self._transport is not None:
            self._transport.close()
            self._start_end_timer(TCP_CLOSE_TIMEOUT, None)

    # -- closing ------------------------------------------------------------------------

    def _close(self, code: int | None, reason: str, quiet: bool) -> None:
        client = self._client
        if client.phase is Phase.CONNECTING or self._opening.retrying:
            if quiet:  # the user's own code gave up waiting (a cancelled connect())
                self._fail("connect() was cancelled before the connection was established",
                           logging.DEBUG)
            else:
                self._fail("close() was called before the connection was established")
            return
        self._outbox.flush()  # messages sent before close() go first
        self._keepalive.stop()
        if client.close(code, reason):
            self._outbox.write(client.data_to_send())
            self._start_end_timer(self._options.close_timeout,
                                  "the server did not complete the closing handshake")

    def _fail(self, why: str, level: int = logging.WARNING) -> None:
        """Give the connection up: it could not be established, or a keepalive ping went
        unanswered. Error and close 1006, on the next turn (the caller may be the user's
        close())."""
        client = self._client
        if client.phase is Phase.CLOSED:
            return
        logger.log(level, "WebSocket connection to '%s' failed: %s", self._shown, why)
        closed = client.abandon()
        self._opening.cancel()
        if self._transport is not None:
            self._transport.abort()
        self.loop.call_soon(self._report, closed)

    def _report(self, closed: Closed) -> None:
        self._keepalive.stop()
        self._opening.over()
        self._end_timer.cancel()
        try:
            self._owner._closed(closed)
        finally:
            _host.untrack(self.loop, self)

    # -- timers -------------------------------------------------------------------------

    def _start_end_timer(self, delay: float | None, failure: str | None) -> None:
        """Abort TCP after ``delay`` seconds if the server has not ended it; ``failure``
        is logged then (unless the server's close frame arrived meanwhile)."""
        self._end_timer.cancel()
        if delay is not None and self._transport is not None:
            self._end_timer.start(delay, failure)

    def _end_timed_out(self, failure: str | None) -> None:
        if failure is not None and not self._client.close_received:
            logger.warning("WebSocket connection to '%s': %s", self._shown, failure)
        if self._transport is not None:
            self._transport.abort()
