"""``pyws.Options``: the keyword options beyond the browser's constructor.

The standard is moving towards an options bag (``new WebSocket(url, {protocols})``,
whatwg/websockets#76); pyws takes these as keywords. Defaults reproduce the browser.
Each option is checked here, where it is given; a runtime that cannot honour one refuses
it afterwards (``Backend.check_options``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ._headers import check_headers

if TYPE_CHECKING:
    import ssl as _ssl  # not at run time: Pyodide ships ssl as a separate package

__all__ = ["Options", "DEFAULT_OPTIONS", "NATIVE_DEFAULTS"]


@dataclasses.dataclass(frozen=True)
class Options:
    """Options beyond the browser's API (keyword arguments of the constructor)."""

    #: Extra HTTP headers for the opening handshake (e.g. Authorization, Cookie).
    headers: Mapping[str, str] | None = None
    #: The Origin header (a browser always sends its page's origin; pyws sends none).
    origin: str | None = None
    #: TLS for ``wss://``: None = verified against the system trust store.
    ssl: _ssl.SSLContext | None = None  # checked by the CPython backend
    #: Seconds for the whole opening: waiting for another connection to the same server
    #: to finish connecting (RFC 6455 4.1), the proxy, TCP, TLS and the opening handshake.
    open_timeout: float | None = 30.0
    #: Seconds to wait for the server's part of the closing handshake.
    close_timeout: float | None = 10.0
    #: Largest incoming message in bytes (also bounds decompression); None = no limit.
    max_size: int | None = 64 * 2**20
    #: Offer permessage-deflate, as browsers do ("deflate"), or not (None).
    compression: str | None = "deflate"
    #: HTTP proxy: True = from the environment (https_proxy for wss://, http_proxy for
    #: ws://, all_proxy, no_proxy; loopback hosts never), a URL
    #: "http://[user:password@]host:port" (or https://) for every connection, or
    #: None/False = directly. Checked by the CPython backend (pyws/_cpython/_proxy.py).
    proxy: str | bool | None = True
    #: Seconds between keepalive pings (websockets' ``ping_interval``); None = no pings,
    #: as in a browser. ``pyws.connect()`` pings every 20 s where the runtime can.
    ping_interval: float | None = None
    #: Seconds to wait for the pong before the connection is failed (close 1006);
    #: None = wait forever. ``pyws.connect()``: 20 s.
    ping_timeout: float | None = None
    #: Messages (or async listener tasks) waiting for the script before pyws stops
    #: reading the socket (websockets' ``max_queue``); None = no bound (a browser's way).
    max_queue: int | None = 16
    #: Fail the connection (error, close 1006) when ``bufferedAmount`` would exceed this
    #: many bytes (the standard's "buffer is full"); None = no bound, as in a browser.
    max_buffered: int | None = None

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, object]) -> Options:
        """The options of a constructor call; ``TypeError``/``ValueError`` for a bad one."""
        if not kwargs:
            return DEFAULT_OPTIONS
        names = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(kwargs) - names)
        if unknown:
            raise TypeError(f"WebSocket() got unexpected keyword argument(s): {', '.join(unknown)}")
        options = cls(**kwargs)  # type: ignore[arg-type]
        options._check()
        return options

    def _check(self) -> None:
        if self.compression not in (None, "deflate"):
            raise ValueError('compression must be "deflate" or None')
        if self.proxy is not None and not isinstance(self.proxy, (bool, str)):
            raise TypeError("proxy must be a proxy URL (str), True (from the environment), "
                            "or None/False (no proxy)")
        if self.headers is not None:
            check_headers(self.headers)
        for name in ("open_timeout", "close_timeout", "ping_interval", "ping_timeout"):
            _check_seconds(name, getattr(self, name))
        for name in ("max_size", "max_queue", "max_buffered"):
            _check_count(name, getattr(self, name), minimum=0 if name == "max_buffered" else 1)

    def non_default(self) -> list[str]:
        """Names of the options set to something else than their default."""
        if self is DEFAULT_OPTIONS:
            return []
        return [field.name for field in dataclasses.fields(self)
                if getattr(self, field.name) != field.default]


DEFAULT_OPTIONS = Options()

#: What the Python-native entry points (``connect()``, ``connect_sync()``) use unless
#: told otherwise, where the runtime can honour them: websockets' defaults.
NATIVE_DEFAULTS = {"ping_interval": 20.0, "ping_timeout": 20.0}


def _check_seconds(name: str, value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds or None, not {type(value).__name__}")
    if not value > 0 or value == float("inf"):
        raise ValueError(f"{name} must be a positive, finite number of seconds or None, got {value!r}")


def _check_count(name: str, value: object, minimum: int) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int or None, not {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum} or None, got {value!r}")
