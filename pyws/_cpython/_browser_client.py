"""A sans-I/O WebSocket client that behaves like a browser: bytes in, events out, no asyncio.

:class:`BrowserClient` wraps websockets' ``ClientProtocol`` (through
:mod:`._websockets_shim`) and adds what the browser does on top of RFC 6455: the
standard's handshake checks, message reassembly with fail-fast UTF-8 checks, Chromium's
failure rules and close reasons (:mod:`._browser_rules`), what is dropped after close,
and how a connection's end is reported. The I/O layer (:mod:`._connection`) feeds it
bytes and the end of TCP, and writes what :meth:`BrowserClient.data_to_send` returns::

    client = BrowserClient(url, protocols, options, user_agent)
    client.start()                         # the handshake request is in data_to_send()
    for event in client.receive_data(data):
        ...                                # Opened, Message, Closing, Failed, Rejected
    closed = client.connection_lost(error) # Closed(code, reason, was_clean, failed)

The URL's credentials are sent the browser's way: not with the first request, but after
the server answers 401 with a ``Basic`` challenge (the :class:`Challenged` event), on a
second handshake over a new connection (:meth:`BrowserClient.retry_with_credentials`),
once.

Events are small immutable tuples (``typing.NamedTuple``): a message costs one
allocation on the hot path.
"""

from __future__ import annotations

import base64
import codecs
import enum
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple, Union, cast

from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import State
from websockets.uri import WebSocketURI

from .._backend import DROPPED, FAILED, Closed
from .._redact import escape
from .._spec import to_usv
from . import _cookies
from ._browser_rules import INVALID_UTF8_TEXT
from ._websockets_shim import PROTOCOL_LOGGER, BrowserClientProtocol, BrowserDeflateFactory

if TYPE_CHECKING:
    from .._options import Options
    from .._spec import WebSocketURL

__all__ = [
    "BrowserClient", "Phase", "Event", "Opened", "Message", "Pong", "Closing", "Failed",
    "Rejected", "Challenged",
]


class Phase(enum.Enum):
    """Where a connection is in its life (what ``readyState`` is made of, plus failing)."""

    #: The opening handshake is under way.
    CONNECTING = "connecting"
    #: Messages flow both ways.
    OPEN = "open"
    #: A close frame was sent or received: the closing handshake is under way.
    CLOSING = "closing"
    #: The connection was failed (the standard's words): nothing more is read, and TCP
    #: is ending; :meth:`BrowserClient.connection_lost` then reports 1006 with an error.
    FAILING = "failing"
    #: TCP is gone, or the attempt was abandoned: :class:`Closed` was returned.
    CLOSED = "closed"


class Opened(NamedTuple):
    """The opening handshake succeeded."""

    protocol: str
    extensions: str


class Message(NamedTuple):
    """A whole message: ``str`` for text, ``bytes`` for binary, read with one copy
    (:class:`._websockets_shim.ChunkReader`), which the facade hands to the script as it
    is for binaryType "arraybuffer". The client lets go of it: had it been a
    ``bytearray``, the receiver could keep it."""

    data: str | bytes | bytearray


class Pong(NamedTuple):
    """A pong arrived (the answer to :meth:`BrowserClient.send_ping`, or unsolicited)."""

    data: bytes | bytearray


class Closing(NamedTuple):
    """The server started the closing handshake (and our close frame answered it)."""


class Failed(NamedTuple):
    """The server broke the protocol: the connection is failed. Write
    :meth:`BrowserClient.data_to_send` (our close frame), then end TCP. ``why`` is for
    the log: scripts only ever see close code 1006."""

    why: str


class Rejected(NamedTuple):
    """The opening handshake failed: abort the connection. ``why`` is for the log."""

    why: str


class Challenged(NamedTuple):
    """The server answered 401 with a ``Basic`` challenge and the URL has credentials not
    sent yet: the shell may start over on a new connection with them
    (:meth:`BrowserClient.retry_with_credentials`), or abort like :class:`Rejected`
    (``why`` says what happened, for the log)."""

    why: str


Event = Union[Opened, Message, Pong, Closing, Failed, Rejected, Challenged]

#: An auth-scheme at the start of a challenge (RFC 9110 section 11.6.1), not an auth-param.
_CHALLENGE = re.compile(r"\s*([!#$%&'*+\-.^_`|~0-9A-Za-z]+)(?![!#$%&'*+\-.^_`|~0-9A-Za-z]|\s*=)")
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')


def offers_basic(challenges: list[str]) -> bool:
    """Whether ``WWW-Authenticate`` values offer the ``Basic`` scheme (among others)."""
    for value in challenges:
        for element in _QUOTED.sub('""', value).split(","):
            match = _CHALLENGE.match(element)
            if match is not None and match.group(1).lower() == "basic":
                return True
    return False

_new = tuple.__new__  # builds a Message without NamedTuple's own __new__ (3x the cost)
_TEXT, _BINARY, _CONT, _CLOSE, _PONG = (
    Opcode.TEXT, Opcode.BINARY, Opcode.CONT, Opcode.CLOSE, Opcode.PONG)
_utf8_decoder = codecs.getincrementaldecoder("utf-8")


class _Reassembly:
    """A fragmented message being received; text is decoded as it arrives, so invalid
    UTF-8 fails the connection at once, as in Chromium."""

    __slots__ = ("parts", "decoder")

    def __init__(self, text: bool) -> None:
        self.parts: list[str] | list[bytes] = []
        self.decoder = _utf8_decoder() if text else None

    def add(self, data: bytes | bytearray | memoryview, fin: bool) -> None:
        """Raises ``UnicodeDecodeError`` for invalid UTF-8 in a text message."""
        if self.decoder is not None:
            self.parts.append(self.decoder.decode(data, fin))  # type: ignore[arg-type]
        else:
            self.parts.append(data)  # type: ignore[arg-type]

    def message(self) -> str | bytes:
        if self.decoder is not None:
            return "".join(self.parts)  # type: ignore[arg-type]
        return b"".join(self.parts)  # type: ignore[arg-type]


class _UrlCredentials:
    """The URL's user name and password, sent the browser's way: only to answer a 401
    with a ``Basic`` challenge, once, on a new connection. Not used when the script
    gave an ``Authorization`` header itself."""

    __slots__ = ("pair", "authorization")

    def __init__(self, url: WebSocketURL, headers: Mapping[str, str]) -> None:
        explicit = any(name.lower() == "authorization" for name in headers)
        self.pair = (url.username, url.password) \
            if (url.username or url.password) and not explicit else None
        #: The Authorization header of the second handshake, once challenged.
        self.authorization: str | None = None

    def answer(self, response: Response, why: str) -> Challenged | Rejected:
        """What a 401 ``response`` means (``why``: websockets' words for it)."""
        if self.pair is None:
            return Rejected(why)
        if self.authorization is not None:
            return Rejected(f"{why}: the server refused the URL's credentials")
        if not offers_basic(response.headers.get_all("WWW-Authenticate")):
            return Rejected(f"{why}: the server offers no Basic authentication, the only "
                            "scheme pyws answers with the URL's credentials")
        return Challenged("the server asked for credentials (HTTP 401, Basic)")

    def use(self) -> None:
        """Build ``Authorization: Basic`` (UTF-8 of "user:password") for the next request."""
        assert self.pair is not None and self.authorization is None
        user_pass = ":".join(self.pair).encode("utf-8")
        self.authorization = "Basic " + base64.b64encode(user_pass).decode("ascii")


class BrowserClient:
    """One client connection's protocol state, as a browser keeps it (see the module
    docstring)."""

    def __init__(self, url: WebSocketURL, protocols: tuple[str, ...], options: Options,
                 user_agent: str) -> None:
        # No credentials in the URI: websockets would send them with the first request.
        self._uri = WebSocketURI(url.secure, url.connect_host, url.port, url.resource_name, "")
        self._protocols = protocols
        self._options = options
        self._headers = options.headers or {}
        self._user_agent = user_agent
        self._credentials = _UrlCredentials(url, self._headers)
        self._cookies = options.cookies
        #: The http(s) URL whose cookies the jar gives and takes (:mod:`._cookies`).
        self._cookie_url = _cookies.http_url(url) if options.cookies is not None else ""
        self.protocol = self._new_protocol()
        self.phase = Phase.CONNECTING
        self._reassembly: _Reassembly | None = None
        self._eof_received = False

    def _new_protocol(self) -> BrowserClientProtocol:
        options = self._options
        return BrowserClientProtocol(
            self._uri,
            origin=options.origin,
            # What browsers offer: "permessage-deflate; client_max_window_bits".
            extensions=[BrowserDeflateFactory()] if options.compression == "deflate" else None,
            subprotocols=list(self._protocols) or None,
            max_size=options.max_size,
            # Credentials and cookies never reach a log record; server text is escaped.
            logger=PROTOCOL_LOGGER,
        )

    def retry_with_credentials(self) -> None:
        """After :class:`Challenged`, once TCP is gone: start over for a second opening
        handshake, with ``Authorization: Basic`` from the URL's credentials (UTF-8), on
        the next connection (:meth:`start` queues it)."""
        self._credentials.use()
        self.protocol = self._new_protocol()
        self.phase = Phase.CONNECTING
        self._eof_received = False

    # -- sending ----------------------------------------------------------------------

    def start(self) -> None:
        """Queue the opening handshake's request (the transport is connected)."""
        protocol = self.protocol
        request = protocol.connect()
        headers = request.headers
        headers["User-Agent"] = self._user_agent
        for name, value in self._headers.items():
            if name in headers:  # replace (Host, User-Agent), never send it twice
                del headers[name]
            headers[name] = value
        if self._credentials.authorization is not None:
            headers["Authorization"] = self._credentials.authorization
        if self._cookies is not None:
            cookie = _cookies.cookie_header(self._cookies, self._cookie_url)
            if cookie is not None:
                given = headers.get("Cookie")  # the headers option's: it goes first
                if given is not None:
                    del headers["Cookie"]
                    cookie = f"{given}; {cookie}"
                headers["Cookie"] = cookie
        protocol.send_request(request)

    def send_text(self, payload: bytes) -> None:
        """Queue a text message (UTF-8) while OPEN; see :meth:`data_to_send`."""
        self.protocol.send_text(payload)

    def send_binary(self, payload: bytes) -> None:
        """Queue a binary message while OPEN."""
        self.protocol.send_binary(payload)

    def send_ping(self, payload: bytes) -> None:
        """Queue a ping while OPEN (keepalive); its pong comes back as :class:`Pong`."""
        self.protocol.send_ping(payload)

    @property
    def can_send(self) -> bool:
        """Whether messages can be sent: OPEN, and TCP has not ended."""
        return self.protocol.state is State.OPEN and self.phase is Phase.OPEN

    def close(self, code: int | None, reason: str) -> bool:
        """Start the closing handshake (our close frame); False if it was already started
        (by the server: its close frame was answered) or the connection is not OPEN."""
        if not self.can_send:
            return False
        self.protocol.send_close(code, reason)
        self.phase = Phase.CLOSING
        return True

    def data_to_send(self) -> list[bytes]:
        """Bytes to write, in order; an empty bytes object last means "end TCP's sending
        side" (websockets' ``SEND_EOF``)."""
        return self.protocol.data_to_send()

    # -- receiving ----------------------------------------------------------------------

    def receive_data(self, data: bytes) -> list[Event]:
        """Feed bytes from the server; return what they meant, in order."""
        protocol = self.protocol
        protocol.receive_data(data)
        frames = protocol.events_received()
        events: list[Event] = []
        if self.phase is Phase.CONNECTING:
            if not frames or not isinstance(frames[0], Response):
                if protocol.handshake_exc is not None:
                    return self._reject(events, self._handshake_failure())
                return events
            if not self._handshake_done(frames[0], events):
                return events
            frames = frames[1:]
        if frames and self.phase is not Phase.FAILING:
            self._frames(cast("list[Frame]", frames), events)
        if self.phase is Phase.FAILING:
            return events
        if protocol.parser_exc is not None:
            self._fail(events, f"{type(protocol.parser_exc).__name__}: {escape(str(protocol.parser_exc))}")
        elif protocol.data_after_close:
            # Chromium: a frame after the server's close frame fails the connection.
            self._fail(events, "the server sent data after its close frame")
        return events

    def receive_eof(self) -> list[Event]:
        """The server ended its sending side of TCP; a handshake response that ends with
        the connection (no Content-Length) is complete now: what it meant."""
        self._eof_received = True
        protocol = self.protocol
        protocol.receive_eof()
        if self.phase is not Phase.CONNECTING:
            return []
        events: list[Event] = []
        responses = [event for event in protocol.events_received() if isinstance(event, Response)]
        if responses:
            self._handshake_done(responses[0], events)
        return events

    @property
    def close_received(self) -> bool:
        """Whether the server's close frame arrived."""
        return self.protocol.close_rcvd is not None

    def hold_pongs(self) -> None:
        """The server does not read our writes: answer no ping now; keep the latest."""
        self.protocol.pongs_paused = True

    def release_pongs(self) -> bool:
        """The server reads again: True if a ping waits for its pong (:meth:`send_pong`)."""
        self.protocol.pongs_paused = False
        return self.protocol.pending_pong is not None

    def send_pong(self) -> bool:
        """Answer the latest ping that waited, unless pongs are held again or the
        connection is closing; True if the pong is in :meth:`data_to_send`."""
        protocol = self.protocol
        return not protocol.pongs_paused and protocol.send_pending_pong()

    @property
    def awaiting_tcp_close(self) -> bool:
        """Both close frames are exchanged, or the server's arrived: the server should now
        close TCP (RFC 6455 section 7.1.1), within :data:`._browser_rules.TCP_CLOSE_TIMEOUT`."""
        return self.protocol.close_rcvd is not None and self.protocol.close_expected()

    # -- the end ------------------------------------------------------------------------

    def abandon(self) -> Closed:
        """The attempt is given up before TCP ended (a timeout, ``close()`` while
        connecting, no route to the server): the connection failed."""
        self.phase = Phase.CLOSED
        return FAILED

    def connection_lost(self, error: Exception | None) -> Closed:
        """TCP is gone (``error`` if it did not end normally): how the connection ended."""
        phase, self.phase = self.phase, Phase.CLOSED
        if phase is Phase.CLOSED:
            raise RuntimeError("connection_lost() after the connection was reported closed")
        if phase is Phase.CONNECTING or phase is Phase.FAILING:
            return FAILED
        protocol = self.protocol
        protocol.receive_eof()
        received = protocol.close_rcvd
        if received is None:
            # A drop after open (or a closing handshake that timed out) is not a failure
            # of the connection: Chromium reports close 1006 without an error event.
            return DROPPED
        # Chromium: clean if TCP then ended normally, by the server's FIN; a reset is not
        # clean unless the FIN came first (a server that closes TCP right after its close
        # frame resets our reply: the error is ours, not the close's).
        ended_normally = error is None or self._eof_received
        return Closed(code=int(received.code), reason=received.reason,
                      was_clean=protocol.close_sent is not None and ended_normally, failed=False)

    # -- internals ----------------------------------------------------------------------

    def _handshake_done(self, response: Response, events: list[Event]) -> bool:
        """The response arrived: Opened (True), or Challenged or Rejected (False)."""
        protocol = self.protocol
        if self._cookies is not None:  # a browser stores them whatever the status
            _cookies.store(self._cookies, self._cookie_url, response.headers.get_all("Set-Cookie"))
        if protocol.handshake_exc is not None:
            why = self._handshake_failure()
            self.phase = Phase.FAILING  # this connection is over, even if a retry follows
            events.append(self._credentials.answer(response, why) if response.status_code == 401
                          else Rejected(why))
            return False
        selected = protocol.subprotocol or ""
        if self._protocols and not selected:
            # WebSockets Standard: stricter than RFC 6455, a server that selects no
            # subprotocol when some were requested fails the connection.
            self._reject(events, "the server selected no subprotocol, but some were requested")
            return False
        self.phase = Phase.OPEN
        extensions = ", ".join(response.headers.get_all("Sec-WebSocket-Extensions"))
        events.append(Opened(selected, extensions))
        return True

    def _handshake_failure(self) -> str:
        # websockets' message may quote the server's headers: escaped for the log.
        return f"the opening handshake failed: {escape(str(self.protocol.handshake_exc))}"

    def _reject(self, events: list[Event], why: str) -> list[Event]:
        self.phase = Phase.FAILING
        events.append(Rejected(why))
        return events

    def _fail(self, events: list[Event], why: str) -> None:
        self.phase = Phase.FAILING
        events.append(Failed(why))

    def _frames(self, frames: list[Frame], events: list[Event]) -> None:
        append = events.append
        for frame in frames:
            opcode = frame.opcode
            if opcode is _TEXT:
                if frame.fin:
                    try:
                        # Received frames hold bytes (ChunkReader, zlib), never a memoryview.
                        append(_new(Message, (frame.data.decode("utf-8"),)))  # type: ignore[union-attr]
                    except UnicodeDecodeError:
                        return self._invalid_utf8(events)
                else:
                    self._reassembly = _Reassembly(text=True)
                    if not self._fragment(frame, events):
                        return None
            elif opcode is _BINARY:
                if frame.fin:
                    append(_new(Message, (frame.data,)))
                else:
                    self._reassembly = _Reassembly(text=False)
                    self._fragment(frame, events)
            elif opcode is _CONT:
                if not self._fragment(frame, events):
                    return None
            elif opcode is _CLOSE:
                self._reassembly = None  # a message cut by a close frame is dropped
                if self.protocol.close_rcvd_then_sent:
                    self.phase = Phase.CLOSING
                    append(Closing())
            elif opcode is _PONG:
                append(Pong(frame.data))  # type: ignore[arg-type]  # received: never a memoryview
            # Ping: the protocol answered it already.
        return None

    def _fragment(self, frame: Frame, events: list[Event]) -> bool:
        reassembly = self._reassembly
        assert reassembly is not None
        try:
            reassembly.add(frame.data, frame.fin)
        except UnicodeDecodeError:
            self._invalid_utf8(events)
            return False
        if frame.fin:
            self._reassembly = None
            events.append(_new(Message, (reassembly.message(),)))
        return True

    def _invalid_utf8(self, events: list[Event]) -> None:
        self.protocol.fail(1002, INVALID_UTF8_TEXT)  # Chromium's code and reason
        self._fail(events, "the server sent invalid UTF-8 in a text message")


def encode_text(data: str) -> bytes:
    """A text message's payload: UTF-8 of ``data`` as a USVString (lone surrogates
    become U+FFFD, as the browser sends them)."""
    try:
        return data.encode("utf-8")
    except UnicodeEncodeError:
        return to_usv(data).encode("utf-8")
