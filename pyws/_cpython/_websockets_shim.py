"""The only module that reaches into websockets' internals: its ClientProtocol, read like a browser.

websockets' sans-I/O ``ClientProtocol`` does the framing, masking, handshake, compression
and closing handshake. Four rules of the browser (:mod:`._browser_rules`) need hooks it
does not offer publicly, so :class:`BrowserClientProtocol` overrides three of its private
methods (``recv_frame``, ``fail``, ``discard``) and reads its ``reader``, ``parser`` and
``current_size``:

- **the server's close frame** is parsed with the browser's rules (which codes fail,
  Chromium's close reason for invalid UTF-8), and a close frame between the fragments of
  a message proceeds with the closing handshake, dropping the message (websockets fails
  the connection);
- **anything after the server's close frame** is noticed (websockets discards it
  silently): the browser client fails the connection then;
- **the close frame pyws sends when the server breaks the protocol** carries Chromium's
  reason ("Invalid reserved bit", "Unknown opcode", ...);
- **the handshake request goes out as ISO-8859-1** in every supported release (websockets
  17 does so; 14 to 16 encode header values as UTF-8), so a header value's U+0080-U+00FF
  are one byte each, as :mod:`pyws._headers` promises;
- **its log records** (the ``websockets.client`` logger: every handshake header at DEBUG)
  go through :data:`PROTOCOL_LOGGER`, which masks credentials and cookies and escapes what
  the server sent;
- **pings are not answered** after our close frame (Chromium ignores them; websockets
  answers), nor at once while the server does not read our writes (:attr:`pongs_paused`:
  only the latest ping is answered, when it reads again, as RFC 6455 section 5.5.3
  allows, so a ping flood cannot grow our buffer without bound).

tests/unit/test_websockets_shim.py pins every internal used here, so a websockets release
that changes one fails there, loudly, before anything else. The supported releases are
the range in pyproject.toml; the oldest and the newest are tested.
"""

from __future__ import annotations

import logging
import struct
import sys
from collections.abc import Generator, Sequence
from typing import TYPE_CHECKING, Any

from websockets.client import ClientProtocol
from websockets.exceptions import ProtocolError
from websockets.extensions.base import Extension
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory, PerMessageDeflate
from websockets.frames import Close, CloseCode, Frame, Opcode
from websockets.http11 import Request
from websockets.protocol import State
from websockets.typing import ExtensionParameter

from .._redact import escape, redact_header
from ._browser_rules import (
    DEFLATE_WINDOW_BITS,
    INVALID_UTF8_CLOSE,
    allowed_from_server,
    chromium_reason,
)

__all__ = ["BrowserClientProtocol", "BrowserFailure", "BrowserDeflateFactory", "PROTOCOL_LOGGER"]

if TYPE_CHECKING:
    _Adapter = logging.LoggerAdapter[logging.Logger]
else:  # not subscriptable at run time before Python 3.11
    _Adapter = logging.LoggerAdapter

#: websockets' formats for one header line of the request (">") and the response ("<").
_HEADER_LINES = frozenset({"> %s: %s", "< %s: %s"})


class _RedactingLogger(_Adapter):
    """websockets' logger, as pyws lets it speak: the values of Authorization,
    Proxy-Authorization, Cookie and Set-Cookie masked (:func:`pyws._redact.redact_header`),
    every other argument (header values, reason phrases, frames) escaped."""

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if not self.isEnabledFor(level):
            return
        if msg in _HEADER_LINES and len(args) == 2:
            args = (args[0], redact_header(str(args[0]), str(args[1])))
        args = tuple(arg if isinstance(arg, int) else escape(str(arg)) for arg in args)
        super().log(level, msg, *args, **kwargs)


#: The logger every pyws connection gives websockets (see :class:`_RedactingLogger`).
PROTOCOL_LOGGER = _RedactingLogger(logging.getLogger("websockets.client"), {})


class BrowserFailure(ProtocolError):
    """A protocol error with the close code and reason the browser sends for it."""

    def __init__(self, message: str, code: int, reason: str) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason


class BrowserClientProtocol(ClientProtocol):
    """A ClientProtocol that reads like a browser (see the module docstring)."""

    #: Set when anything arrived after the server's close frame.
    data_after_close = False
    #: Set while the server does not read our writes: pings are then not answered at
    #: once; the latest one waits in :attr:`pending_pong`.
    pongs_paused = False
    pending_pong: bytes | None = None

    def send_pending_pong(self) -> bool:
        """Answer the ping that arrived while pongs were paused, if any (and if still
        OPEN); True if a pong is now in :meth:`data_to_send`."""
        data, self.pending_pong = self.pending_pong, None
        if data is None or self.state is not State.OPEN:
            return False
        self.send_pong(data)
        return True

    def send_request(self, request: Request) -> None:
        super().send_request(request)
        # websockets 14 to 16 encode the request as UTF-8: ISO-8859-1, as 17 does, so an
        # obs-text character (U+0080-U+00FF) is one byte in every release.
        if not self.writes[-1].isascii():
            lines = [f"GET {request.path} HTTP/1.1\r\n"]
            lines += [f"{name}: {value}\r\n" for name, value in request.headers.raw_items()]
            self.writes[-1] = "".join(lines + ["\r\n"]).encode("iso-8859-1")

    # -- overrides of websockets' private methods ----------------------------------------

    def fail(self, code: CloseCode | int, reason: str = "") -> None:
        # Called by parse() from inside its ``except`` clause: translate the error.
        exc = sys.exc_info()[1]
        if isinstance(exc, BrowserFailure):
            code, reason = exc.code, exc.reason
        elif isinstance(exc, ProtocolError) and code == CloseCode.PROTOCOL_ERROR:
            reason = chromium_reason(str(exc))
        super().fail(code, reason)

    def recv_frame(self, frame: Frame) -> None:
        if frame.opcode is Opcode.PING and (self.pongs_paused or self.state is not State.OPEN):
            # Not answered now: paused (the latest waits), or our close frame is out.
            if self.state is State.OPEN:
                self.pending_pong = bytes(frame.data)
            self.events.append(frame)
            return
        if frame.opcode is not Opcode.CLOSE:
            super().recv_frame(frame)
            return
        close = parse_close(bytes(frame.data))
        self.close_rcvd = close
        if self.state is State.CLOSING:
            self.close_rcvd_then_sent = False
        # A control frame may arrive between fragments: the message is abandoned.
        self._forget_fragmented_message()
        if self.state is State.OPEN:
            # Echo the payload as received (as websockets does), code and reason.
            self.send_frame(Frame(Opcode.CLOSE, frame.data))
            self.close_sent = close
            self.close_rcvd_then_sent = True
            self.state = State.CLOSING
        self.parser = self.discard()
        next(self.parser)
        self.events.append(frame)

    def _forget_fragmented_message(self) -> None:
        # The size of the message being received: current_size from websockets 16 on.
        if hasattr(self, "current_size"):
            self.current_size = None
        else:  # websockets 14 and 15
            self.cur_size = None

    def discard(self) -> Generator[None]:
        # websockets empties the reader's buffer through reader.discard() while it
        # discards: anything it drops after the close frame is noted here.
        reader = self.reader
        buffer = reader.buffer

        def discard_buffer() -> None:
            if buffer and self.close_rcvd is not None:
                self.data_after_close = True
            del buffer[:]

        reader.discard = discard_buffer  # type: ignore[method-assign]
        return super().discard()


def parse_close(data: bytes) -> Close:
    """Chromium's ParseClose: the close frame's code and reason, or a failure."""
    if len(data) == 0:
        return Close(CloseCode.NO_STATUS_RCVD, "")
    if len(data) == 1:
        raise BrowserFailure("close frame too short", CloseCode.PROTOCOL_ERROR, "")
    (code,) = struct.unpack("!H", data[:2])
    if not allowed_from_server(code):
        raise BrowserFailure(f"invalid close code {code}", CloseCode.PROTOCOL_ERROR, "")
    try:
        reason = data[2:].decode("utf-8")
    except UnicodeDecodeError:
        raise BrowserFailure("invalid UTF-8 in the close reason", CloseCode.PROTOCOL_ERROR,
                             INVALID_UTF8_CLOSE) from None
    return Close(code, reason)


class BrowserDeflateFactory(ClientPerMessageDeflateFactory):
    """permessage-deflate as browsers offer it ("permessage-deflate;
    client_max_window_bits"), accepting a server's client_max_window_bits=8 as Chromium
    does (:data:`._browser_rules.DEFLATE_WINDOW_BITS`)."""

    def __init__(self) -> None:
        super().__init__(client_max_window_bits=True)

    def process_response_params(self, params: Sequence[ExtensionParameter],
                                accepted_extensions: Sequence[Extension]) -> PerMessageDeflate:
        params = [(name, DEFLATE_WINDOW_BITS.get(value or "", value)
                   if name == "client_max_window_bits" else value)
                  for name, value in params]
        return super().process_response_params(params, accepted_extensions)
