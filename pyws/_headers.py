"""The rules for the ``headers`` option: which extra handshake headers a script may set.

Checked by the constructor, where the argument is given (:mod:`pyws._options`), so a bad
header fails at once instead of inside the event loop.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["check_headers", "HANDSHAKE_HEADERS"]

#: RFC 9110 section 5.6.2: a header name is a token.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
#: Characters that would end a header line early (RFC 9110 section 5.5).
_LINE_BREAKING = frozenset("\r\n\0")
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


def check_headers(headers: Mapping[str, str]) -> None:
    """Raise ``TypeError`` or ``ValueError`` for a header the handshake cannot carry."""
    for name, value in headers.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError("headers must map str to str")
        if not _LINE_BREAKING.isdisjoint(name + value):
            raise ValueError(f"header {name!r} contains a line break or NUL")
        if not _TOKEN.fullmatch(name):
            raise ValueError(f"header name {name!r} is not an HTTP token")
        why = HANDSHAKE_HEADERS.get(name.lower())
        if why is not None:
            raise ValueError(f"header {name!r} cannot be set: {why}")
