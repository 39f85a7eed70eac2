"""``pyws.Options``: the keyword options beyond the browser's constructor.

The standard is moving towards an options bag (``new WebSocket(url, {protocols})``,
whatwg/websockets#76); pyws takes these as keywords. Defaults reproduce the browser.
Each option is checked here, where it is given; a runtime that cannot honour one refuses
it afterwards (``Backend.check_options``).
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ._headers import check_headers, check_origin
from ._redact import redact_header, redact_urls

if TYPE_CHECKING:
    import http.cookiejar  # imported when a jar is given: it imports urllib.request (slow)
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
    #: Proxy: True = from the environment (https_proxy for wss://, http_proxy for
    #: ws://, all_proxy, no_proxy; loopback hosts never), a URL
    #: "http://[user:password@]host:port" (or https://, socks5h://, socks5://, socks4a://,
    #: socks4://) for every connection, or None/False = directly. Checked by the CPython
    #: backend (pyws/_cpython/_proxy.py; SOCKS needs the ``socks`` extra).
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
    #: An ``http.cookiejar.CookieJar``: its cookies for the URL (as for the http:// or
    #: https:// URL of ws:// or wss://) go out with the opening handshake, and the
    #: ``Set-Cookie`` headers of the response are stored in it. None = no cookies.
    cookies: http.cookiejar.CookieJar | None = None
    #: A Unix domain socket path to connect through instead of the URL's host and port
    #: (the URL still gives ``Host``, the resource and TLS's server name); never through
    #: a proxy. None = the URL's host and port.
    unix_socket: str | os.PathLike[str] | None = None

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, object]) -> Options:
        """The options of a constructor call; ``TypeError``/``ValueError`` for a bad one."""
        if not kwargs:
            return DEFAULT_OPTIONS
        unknown = sorted(set(kwargs) - _OPTION_NAMES)
        if unknown:
            raise TypeError(f"WebSocket() got unexpected keyword argument(s): {', '.join(unknown)}")
        if kwargs.get("headers") is not None:
            # A checked copy: a later change to the caller's mapping cannot reach the wire.
            kwargs = {**kwargs, "headers": check_headers(kwargs["headers"])}
        options = cls(**kwargs)  # type: ignore[arg-type]
        options._check()
        return options

    def _check(self) -> None:
        """Every option's type and value, in every runtime (``TypeError``/``ValueError``
        naming the option); what only a backend can check (``ssl``'s type where the
        ``ssl`` module exists, the proxy URL) it checks in ``check_options``."""
        if self.origin is not None:
            check_origin(self.origin)
        _check_seconds("open_timeout", self.open_timeout)
        _check_seconds("close_timeout", self.close_timeout)
        if self.max_size is not None and (type(self.max_size) is not int):
            raise TypeError(f"max_size must be an int (bytes) or None, not "
                            f"{type(self.max_size).__name__}")
        if self.max_size is not None and self.max_size < 1:
            raise ValueError(f"max_size must be at least 1 byte (None: no limit), not {self.max_size}")
        if self.compression not in (None, "deflate"):
            raise ValueError('compression must be "deflate" or None')
        if self.proxy is not None and not isinstance(self.proxy, (bool, str)):
            raise TypeError("proxy must be a proxy URL (str), True (from the environment), "
                            "or None/False (no proxy)")
        for name in ("ping_interval", "ping_timeout"):
            _check_seconds(name, getattr(self, name))
        if self.ping_interval == 0:
            raise ValueError("ping_interval must be more than 0 seconds (None: no pings)")
        _check_count("max_queue", self.max_queue, minimum=1)
        _check_count("max_buffered", self.max_buffered, minimum=0)
        if self.cookies is not None:
            import http.cookiejar
            if not isinstance(self.cookies, http.cookiejar.CookieJar):
                raise TypeError(f"cookies must be an http.cookiejar.CookieJar or None, not "
                                f"{type(self.cookies).__name__}")
        if self.unix_socket is not None:
            _check_path("unix_socket", self.unix_socket)
            if isinstance(self.proxy, str):
                raise ValueError("unix_socket and proxy cannot be used together: a Unix "
                                 "socket is never reached through a proxy")

    def __repr__(self) -> str:
        # Credentials masked: a repr may end up in a log or a traceback.
        shown = []
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.name == "headers" and value is not None:
                value = {name: redact_header(name, text) for name, text in value.items()}
            elif field.name == "proxy" and isinstance(value, str):
                value = redact_urls(value)
            elif field.name == "cookies" and value is not None:
                # Not the jar's own repr: it shows every cookie's value.
                shown.append(f"cookies=<{type(value).__module__}.{type(value).__qualname__}>")
                continue
            shown.append(f"{field.name}={value!r}")
        return f"Options({', '.join(shown)})"

    def non_default(self) -> list[str]:
        """Names of the options set to something else than their default."""
        if self is DEFAULT_OPTIONS:
            return []
        return [field.name for field in dataclasses.fields(self)
                if getattr(self, field.name) != field.default]


def _check_seconds(name: str, value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds or None, not {type(value).__name__}")
    if not 0 <= value < math.inf:  # NaN fails too
        raise ValueError(f"{name} must be a finite number of seconds >= 0 (None: no limit), "
                         f"not {value}")


DEFAULT_OPTIONS = Options()
_OPTION_NAMES = frozenset(field.name for field in dataclasses.fields(Options))

#: What the Python-native entry points (``connect()``, ``connect_sync()``) use unless
#: told otherwise, where the runtime can honour them: websockets' defaults.
NATIVE_DEFAULTS = {"ping_interval": 20.0, "ping_timeout": 20.0}


def _check_path(name: str, value: object) -> None:
    if not isinstance(value, (str, os.PathLike)) or not isinstance(os.fspath(value), str):
        raise TypeError(f"{name} must be a path (str or os.PathLike of str) or None, not "
                        f"{type(value).__name__}")
    if not os.fspath(value):
        raise ValueError(f"{name} must be a non-empty path (None: the URL's host and port)")


def _check_count(name: str, value: object, minimum: int) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int or None, not {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum} or None, got {value!r}")
