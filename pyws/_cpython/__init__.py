"""The CPython backend: pyws's own client on asyncio, on websockets' sans-I/O protocol.

Read it from the wire up:

- :mod:`._websockets_shim` websockets' ClientProtocol, with the hooks the browser needs;
- :mod:`._browser_rules` what a browser does where RFC 6455 leaves room, as data;
- :mod:`._browser_client` the sans-I/O browser client: bytes in, events out;
- :mod:`._outbox` outgoing messages: batching per loop turn, ``bufferedAmount``;
- :mod:`._connection` the asyncio shell: transport callbacks, timers, reporting;
- :mod:`._dial` reaching the server: :mod:`._endpoint_lock` (RFC 6455 4.1, Happy
  Eyeballs; a Unix socket path), :mod:`._proxy` (HTTP CONNECT) or :mod:`._socks`, then TLS;
- :mod:`._cookies` the ``cookies`` option's jar, for the handshake;
- :mod:`._host` which loop a socket lives on, and the script host of plain scripts;
- :mod:`._blocking` the blocking calls.
"""

from __future__ import annotations

import socket
import ssl
from typing import TYPE_CHECKING

from . import _proxy, _socks
from ._blocking import run_blocking
from ._connection import ClientConnection

if TYPE_CHECKING:
    from .._backend import Backend, Owner
    from .._options import Options
    from .._spec import WebSocketURL

__all__ = ["backend"]


class _CPythonBackend:
    name = "cpython"

    def base_url(self) -> str | None:
        return None  # a script has no page to resolve relative URLs against

    def check_options(self, options: Options) -> None:
        if options.ssl is not None and not isinstance(options.ssl, ssl.SSLContext):
            raise TypeError("ssl must be an ssl.SSLContext or None")
        if isinstance(options.proxy, str):
            proxy = _proxy.parse(options.proxy)  # ValueError for an unusable URL
            if proxy.socks:
                _socks.require(proxy.scheme)  # ImportError naming the extra
        if options.unix_socket is not None and not hasattr(socket, "AF_UNIX"):
            raise ValueError("unix_socket: this platform has no Unix domain sockets")

    def connect(self, owner: Owner, url: WebSocketURL, protocols: tuple[str, ...],
                options: Options) -> ClientConnection:
        return ClientConnection(owner, url, protocols, options)

    run_blocking = staticmethod(run_blocking)


backend = _CPythonBackend()

if TYPE_CHECKING:
    _check: Backend = backend
