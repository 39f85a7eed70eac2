"""The rules for what a script puts in the opening handshake: the ``headers`` and
``origin`` options.

Checked by the constructor, where the argument is given (:mod:`pyws._options`), with the
rules the wire applies, so a bad header fails at once instead of inside the event loop:

- a name is an HTTP token (RFC 9110 section 5.6.2);
- a value is an RFC 9110 ``field-value`` (section 5.5): visible ASCII, space, tab, and
  ``obs-text`` as one byte each (U+0080 to U+00FF; pyws sends them as ISO-8859-1 bytes,
  as websockets 17 does and as a browser's ``fetch()`` takes a ByteString). Anything else
  cannot go on the wire: CR, LF and NUL would end the line, other control characters
  (ESC, DEL, ...) are not allowed in a field value (websockets 17 refuses them), and a
  character above U+00FF has no single byte (websockets 17 refuses it; 14 to 16 would
  send UTF-8 instead).

An error names the option and the offending character (``U+20AC '€'``), never the value
around it: a header value is often a secret.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ._redact import describe_char

__all__ = ["check_headers", "check_origin", "check_field_value", "HANDSHAKE_HEADERS"]

#: RFC 9110 section 5.6.2: a header name is a token.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
#: RFC 9110 section 5.5, field-value: VCHAR, SP, HTAB and obs-text (one byte each).
_FIELD_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")
_NOT_FIELD_VALUE = re.compile(r"[^\t\x20-\x7e\x80-\xff]")
#: Characters that would end a header line early.
_LINE_BREAKING = "\r\n\0"
#: Headers of the opening handshake itself (lower-case): set by pyws, or by another
#: argument. The others (User-Agent and Host included) replace pyws's value if given.
HANDSHAKE_HEADERS = {
    "upgrade": "the WebSocket handshake sets it",
    "connection": "the WebSocket handshake sets it",
    "sec-websocket-key": "the WebSocket handshake sets it",
    "sec-websocket-version": "the WebSocket handshake sets it",
    "sec-websocket-accept": "the WebSocket handshake sets it",
    "sec-websocket-extensions": "use the compression option",
    "sec-websocket-protocol": "use the protocols argument",
    "origin": "use the origin option",
}


def check_field_value(value: str, what: str) -> None:
    """Raise ``ValueError`` if ``value`` is not an RFC 9110 field value pyws can send;
    ``what`` names it in the message ("the origin option")."""
    if _FIELD_VALUE.fullmatch(value):
        return
    match = _NOT_FIELD_VALUE.search(value)
    assert match is not None
    ch = match.group()
    if ch in _LINE_BREAKING:
        kind = "a line break or NUL, which would end the header line"
    elif ord(ch) > 0xFF:
        kind = "a character above U+00FF, which has no single byte on the wire"
    else:
        kind = "a control character, which a header value cannot contain"
    raise ValueError(
        f"{what} contains {describe_char(ch)} at position {match.start()}: {kind} (RFC 9110 "
        "field-value: visible ASCII, space, tab, U+0080-U+00FF)")


def check_headers(headers: object) -> dict[str, str]:
    """Check the ``headers`` option; return a copy (what is checked is what is sent,
    whatever happens to the caller's mapping later). Raises ``TypeError`` or
    ``ValueError``."""
    if not isinstance(headers, Mapping):
        raise TypeError(f"headers must be a mapping of str to str, not {type(headers).__name__}")
    checked: dict[str, str] = {}
    for name, value in headers.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError(f"headers must map str to str, not {type(name).__name__} to "
                            f"{type(value).__name__}")
        if not _TOKEN.fullmatch(name):
            bad = next((describe_char(ch) for ch in name if not _TOKEN.fullmatch(ch)), "")
            raise ValueError(f"headers: the header name {name!r} is not an HTTP token"
                             + (f" (it contains {bad})" if bad else " (it is empty)"))
        why = HANDSHAKE_HEADERS.get(name.lower())
        if why is not None:
            raise ValueError(f"headers: the header {name!r} cannot be set: {why}")
        check_field_value(value, f"headers: the value of {name!r}")
        checked[name] = value
    return checked


def check_origin(origin: object) -> None:
    """Check the ``origin`` option (sent as the ``Origin`` header)."""
    if not isinstance(origin, str):
        raise TypeError(f"origin must be a str or None, not {type(origin).__name__}")
    check_field_value(origin, "the origin option")
