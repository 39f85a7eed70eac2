"""The CPython backend: pyws's own client on asyncio, on websockets' sans-I/O protocol.

Everything specific to CPython lives here: the connection (:mod:`._connection`) and
the loop host that gives plain scripts the browser's event-loop model (:mod:`._host`).
"""

from __future__ import annotations

import re
import ssl
from typing import TYPE_CHECKING

from . import _proxy
from ._blocking import run_blocking
from ._connection import ClientConnection

if TYPE_CHECKING:
    from .._backend import Backend, Options, Owner
    from .._spec import WebSocketURL

__all__ = ["backend"]


#: RFC 9110 section 5.6.2: a header name is a token.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
#: Headers of the opening handshake itself (lower-case): set by pyws, or by another
#: argument. The others (User-Agent and Host included) replace pyws's value if given.
_HANDSHAKE_HEADERS = {
    "upgrade": "the WebSocket handshake sets it",
    "connection": "the WebSocket handshake sets it",
    "sec-websocket-key": "the WebSocket handshake sets it",
    "sec-websocket-version": "the WebSocket handshake sets it",
    "sec-websocket-accept": "the WebSocket handshake sets it",
    "sec-websocket-extensions": "use the compression option",
    "sec-websocket-protocol": "use the protocols argument",
    "origin": "use the origin option",
}


class _CPythonBackend:
    name = "cpython"

    def base_url(self) -> str | None:
        return None  # a script has no page to resolve relative URLs against

    def check_options(self, options: Options) -> None:
        if options.ssl is not None and not isinstance(options.ssl, ssl.SSLContext):
            raise TypeError("ssl must be an ssl.SSLContext or None")
        if options.headers is not None:
            for name, value in options.headers.items():
                if not isinstance(name, str) or not isinstance(value, str):
                    raise TypeError("headers must map str to str")
                if any(ch in name + value for ch in "\r\n\0"):
                    raise ValueError(f"header {name!r} contains a line break or NUL")
                if not _TOKEN.fullmatch(name):
                    raise ValueError(f"header name {name!r} is not an HTTP token")
                why = _HANDSHAKE_HEADERS.get(name.lower())
                if why is not None:
                    raise ValueError(f"header {name!r} cannot be set: {why}")
        if isinstance(options.proxy, str):
            _proxy.parse(options.proxy)  # ValueError for an unusable URL (SOCKS included)

    def connect(self, owner: Owner, url: WebSocketURL, protocols: tuple[str, ...],
                options: Options) -> ClientConnection:
        return ClientConnection(owner, url, protocols, options)

    run_blocking = staticmethod(run_blocking)


backend = _CPythonBackend()

if TYPE_CHECKING:
    _check: Backend = backend
