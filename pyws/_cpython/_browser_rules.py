"""What a browser does where RFC 6455 leaves room, as data (Chromium is the reference).

A script can see these choices (the close event, the close frame the server gets), so
pyws follows Chromium, checked by the parity suite against Chromium's own WebSocket;
where pyws sides with the RFC instead, it says so here and tests/parity/ records it.
"""

from __future__ import annotations

__all__ = [
    "allowed_from_server",
    "chromium_reason",
    "INVALID_UTF8_TEXT",
    "INVALID_UTF8_CLOSE",
    "TCP_CLOSE_TIMEOUT",
    "DEFLATE_WINDOW_BITS",
]

#: Seconds to wait for the server to close TCP once both close frames are exchanged
#: (Chromium's kUnderlyingConnectionCloseTimeout; RFC 6455 section 7.1.1 asks clients to
#: let the server close first).
TCP_CLOSE_TIMEOUT = 2.0

#: The reason Chromium sends with 1002 for invalid UTF-8 in a text message.
INVALID_UTF8_TEXT = "Invalid UTF-8 in text frame"
#: ... and for invalid UTF-8 in the reason of the server's close frame.
INVALID_UTF8_CLOSE = "Invalid UTF-8 in Close frame"

#: websockets' ProtocolError messages -> Chromium's close reason (all with code 1002).
CHROMIUM_REASONS = {
    "reserved bits must be 0": "Invalid reserved bit",
    "incorrect masking": "Masked frame from server",
    "invalid opcode": "Unknown opcode",
    "unexpected continuation frame": "Unexpected continuation",
    "expected a continuation frame": "Previous data frame unfinished",
}
#: Chromium's reason for the other errors of the frame layer (too long or fragmented
#: control frames, bad compressed data, ...).
GENERIC_REASON = "WebSocket Protocol Error"

#: permessage-deflate: a server's ``client_max_window_bits=8`` is accepted and pyws
#: compresses with 9 bits, as Chromium does: zlib cannot compress with 8, and with 9 its
#: back-references stay within 250 bytes, which a window of 8 decodes (websockets refuses
#: the handshake).
DEFLATE_WINDOW_BITS = {"8": "9"}


def allowed_from_server(code: int) -> bool:
    """Whether a server may send close ``code``: RFC 6455 sections 7.4.1/7.4.2 and IANA's
    registry (1012-1014 added since). 0-999, 1004-1006, 1015 and 1016-2999 fail the
    connection with 1002 and no reason (what Chromium sends for 1005/1006/1015); 5000+
    are reported (websockets refuses them).

    Chromium accepts every code but 1005/1006/1015 (its ``ParseClose``): pyws sides with
    the RFC, Autobahn's conformance suite (cases 7.9.x) and Node's WebSocket (undici).
    """
    return (1000 <= code <= 1003 or 1007 <= code <= 1014 or code >= 3000) and code != 1015


def chromium_reason(protocol_error: str) -> str:
    """The reason Chromium sends with 1002 for one of websockets' ProtocolError messages."""
    return CHROMIUM_REASONS.get(protocol_error, GENERIC_REASON)
