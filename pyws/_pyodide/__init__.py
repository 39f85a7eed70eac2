"""The Pyodide backend: the host's JavaScript WebSocket (browser page, Web Worker, Node).

Every ``import js`` / ``pyodide`` of pyws lives in this subpackage.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import _probe
from ._blocking import run_blocking
from ._connection import JSConnection

if TYPE_CHECKING:
    from .._backend import Backend, Owner
    from .._options import Options
    from .._spec import WebSocketURL

__all__ = ["backend"]

# Options the JavaScript WebSocket API has no way to express.
_UNSUPPORTED = {
    "headers": "the JavaScript WebSocket cannot set request headers",
    "origin": "the host sets the Origin header itself",
    "ssl": "TLS is the host's (the browser's or Node's trust store)",
    "open_timeout": "the host decides when a connection attempt times out",
    "close_timeout": "the host decides how long the closing handshake may take",
    "max_size": "the host decides how large a message may be",
    "compression": "the host negotiates permessage-deflate itself",
    "proxy": "the host decides whether to use a proxy (the browser's settings, Node's own)",
    "ping_interval": "the JavaScript WebSocket cannot send pings (the host may keep the "
                     "connection alive itself)",
    "ping_timeout": "the JavaScript WebSocket cannot send pings",
    "cookies": "the host owns cookies (a browser sends those of its own cookie store)",
    "unix_socket": "the JavaScript WebSocket cannot connect to a Unix domain socket",
}
# Honoured by the shared code: max_buffered; max_queue bounds the queue but cannot
# pause the host's socket (docs/long-lived.md).
_SHARED = {"max_queue", "max_buffered"}


class _PyodideBackend:
    name = "pyodide"

    def base_url(self) -> str | None:
        return _probe.base_url()

    def check_options(self, options: Options) -> None:
        for name in set(options.non_default()) - _SHARED:
            raise TypeError(
                f"WebSocket option {name!r} is not available under Pyodide "
                f"({_probe.host_kind()}): {_UNSUPPORTED[name]}."
            )

    def connect(self, owner: Owner, url: WebSocketURL, protocols: tuple[str, ...],
                options: Options) -> JSConnection:
        return JSConnection(owner, url, protocols)

    run_blocking = staticmethod(run_blocking)


backend = _PyodideBackend()

if TYPE_CHECKING:
    _check: Backend = backend
