"""websockets' sans-I/O ClientProtocol with the browser's reading rules.

websockets implements RFC 6455; where the RFC leaves room, browsers chose differently,
and a script can see it (the close event, the close frame the server gets). pyws follows
Chromium, checked by tests/test_parity.py against Chromium's own WebSocket:

- **Close codes from the server.** RFC 6455 section 7.4: codes a server may not send
  (0-999, 1004, 1005, 1006, 1015, 1016-2999) fail the connection, with 1002 and no
  reason as Chromium sends for 1005/1006/1015; 1000-1003, 1007-1014, 3000-4999 and
  5000+ are reported (websockets also refuses 5000+). Chromium accepts everything but
  1005/1006/1015 (its ``ParseClose``): there pyws sides with the RFC, Autobahn's
  conformance suite (cases 7.9.x) and Node's WebSocket (undici); the difference is
  recorded in tests/parity_known.py.
- **A close frame between the fragments of a message** is a control frame like any
  other: the closing handshake proceeds and the unfinished message is dropped
  (websockets fails the connection).
- **Anything after the server's close frame** fails the connection, without a second
  close frame (websockets discards it silently): ``error``, then close 1006.
- **The close frame sent when the server breaks the protocol** carries Chromium's code
  and reason (1002 and "Invalid reserved bit", "Unknown opcode", ...), so the server sees
  the same thing from pyws as from a browser.
- **Pings after the client's close frame** are not answered (Chromium ignores pings once
  it has sent its close frame; websockets answers them).
- **Pongs while the server does not read** (the connection's transport is above its
  high-water mark, :attr:`BrowserClientProtocol.pongs_paused`): only the latest ping is
  answered, once the server reads again, as RFC 6455 section 5.5.3 allows. A server that
  floods pings and never reads cannot make the client's buffer grow without bound
  (websockets, and Chromium, queue a pong per ping).
- **permessage-deflate with client_max_window_bits=8** is accepted and compressed with a
  window of 9 bits, as Chromium does (zlib cannot compress with 8; with 9 its
  back-references stay within 250 bytes, which a window of 8 decodes). websockets
  refuses the handshake.

Framing, masking, handshakes and compression stay websockets' own.
"""

from __future__ import annotations

import struct
import sys
from typing import Any

from collections.abc import Sequence

from websockets.client import ClientProtocol
from websockets.exceptions import ProtocolError
from websockets.extensions.base import Extension
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory, PerMessageDeflate
from websockets.frames import Close, CloseCode, Frame, Opcode
from websockets.protocol import State
from websockets.typing import ExtensionParameter

__all__ = ["BrowserClientProtocol", "BrowserFailure", "BrowserDeflateFactory", "INVALID_UTF8_TEXT"]

#: The reason Chromium sends with 1002 for invalid UTF-8 in a text message.
INVALID_UTF8_TEXT = "Invalid UTF-8 in text frame"

#: websockets' ProtocolError messages -> Chromium's close reason (all with code 1002).
_CHROMIUM_REASONS = {
    "reserved bits must be 0": "Invalid reserved bit",
    "incorrect masking": "Masked frame from server",
    "invalid opcode": "Unknown opcode",
    "unexpected continuation frame": "Unexpected continuation",
    "expected a continuation frame": "Previous data frame unfinished",
}
#: Chromium's reason for errors of the frame layer (too long or fragmented control
#: frames, bad compressed data, ...).
_GENERIC_REASON = "WebSocket Protocol Error"
def _allowed_from_server(code: int) -> bool:
    """RFC 6455 section 7.4.1/7.4.2 and IANA's registry (1012-1014 added since)."""
    return (1000 <= code <= 1003 or 1007 <= code <= 1014 or code >= 3000) and code != 1015


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
    #: Set by the connection while the server does not read (its transport paused
    #: writing): pings are then not answered at once; the latest one waits here.
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

    def fail(self, code: CloseCode | int, reason: str = "") -> None:
        # Called by parse() from inside its ``except`` clause: translate the error.
        exc = sys.exc_info()[1]
        if isinstance(exc, BrowserFailure):
            code, reason = exc.code, exc.reason
        elif isinstance(exc, ProtocolError) and code == CloseCode.PROTOCOL_ERROR:
            reason = _CHROMIUM_REASONS.get(str(exc), _GENERIC_REASON)
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
        close = _parse_close(bytes(frame.data))
        self.close_rcvd = close
        if self.state is State.CLOSING:
            self.close_rcvd_then_sent = False
        # A control frame may arrive between fragments: the message is abandoned.
        for name in ("current_size", "cur_size"):  # websockets >= 14 / older spelling
            if getattr(self, name, None) is not None:
                setattr(self, name, None)
        if self.state is State.OPEN:
            # Echo the payload as received (as websockets does), code and reason.
            self.send_frame(Frame(Opcode.CLOSE, frame.data))
            self.close_sent = close
            self.close_rcvd_then_sent = True
            self.state = State.CLOSING
        self.parser = self.discard()
        next(self.parser)
        self.events.append(frame)

    def discard(self) -> Any:
        # websockets empties the reader buffer through reader.discard() while it
        # discards: anything it drops after the close frame is a protocol error here.
        reader = self.reader
        buffer = reader.buffer

        def discard_buffer() -> None:
            if buffer and self.close_rcvd is not None:
                self.data_after_close = True
            del buffer[:]

        reader.discard = discard_buffer  # type: ignore[method-assign]
        return super().discard()


def _parse_close(data: bytes) -> Close:
    """Chromium's ParseClose: the close frame's code and reason, or a failure."""
    if len(data) == 0:
        return Close(CloseCode.NO_STATUS_RCVD, "")
    if len(data) == 1:
        raise BrowserFailure("close frame too short", CloseCode.PROTOCOL_ERROR, "")
    (code,) = struct.unpack("!H", data[:2])
    if not _allowed_from_server(code):
        raise BrowserFailure(f"invalid close code {code}", CloseCode.PROTOCOL_ERROR, "")
    try:
        reason = data[2:].decode("utf-8")
    except UnicodeDecodeError:
        raise BrowserFailure("invalid UTF-8 in the close reason", CloseCode.PROTOCOL_ERROR,
                             "Invalid UTF-8 in Close frame") from None
    return Close(code, reason)


class BrowserDeflateFactory(ClientPerMessageDeflateFactory):
    """permessage-deflate as browsers offer it ("permessage-deflate;
    client_max_window_bits"), accepting a server's client_max_window_bits=8 as Chromium
    does: by compressing with 9 bits (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__(client_max_window_bits=True)

    def process_response_params(self, params: Sequence[ExtensionParameter],
                                accepted_extensions: Sequence[Extension]) -> PerMessageDeflate:
        params = [(name, "9" if name == "client_max_window_bits" and value == "8" else value)
                  for name, value in params]
        return super().process_response_params(params, accepted_extensions)
