"""How a connection reaches its server: directly (under RFC 6455 section 4.1's endpoint
lock, :mod:`._endpoint_lock`) or through an HTTP proxy (:mod:`._proxy`), then TLS.

The connection (:mod:`._connection`) only sees ``connection_made()`` and the bytes;
everything before the opening handshake's first byte is here.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from . import _endpoint_lock, _proxy, _tls

if TYPE_CHECKING:
    from .._options import Options
    from .._spec import WebSocketURL

__all__ = ["connected", "route", "default_ssl_context"]

_default_ssl: ssl.SSLContext | None = None


def default_ssl_context() -> ssl.SSLContext:
    """System trust store, hostname checking (created once: loading CAs is slow)."""
    global _default_ssl
    if _default_ssl is None:
        _default_ssl = ssl.create_default_context()
    return _default_ssl


def route(options: Options, url: WebSocketURL) -> _proxy.ProxyURL | None:
    """The proxy a connection to ``url`` goes through, or None (directly); ``ProxyError``
    for an unusable proxy from the environment."""
    return _proxy.select(options.proxy, url.secure, url.connect_host, url.port)


@contextlib.asynccontextmanager
async def connected(protocol: asyncio.Protocol, url: WebSocketURL,
                    ssl_context: ssl.SSLContext | None, proxy: _proxy.ProxyURL | None,
                    options: Options, user_agent: str) -> AsyncIterator[None]:
    """Connect ``protocol`` to the server of ``url`` (``connection_made()`` has been
    called on entry), through ``proxy`` if not None; leaving the block ends the opening
    phase: the endpoint lock, if any, is released (the handshake is done, or failed).

    A failed TLS handshake raises :class:`._tls.TLSFailure` saying why."""
    loop = asyncio.get_running_loop()
    host, port = url.connect_host, url.port
    server_hostname = host if ssl_context is not None else None
    if ssl_context is not None and ssl_context is options.ssl:
        _tls.warn_if_unverified(ssl_context)
    if proxy is not None:
        proxy_ssl = None
        if proxy.scheme == "https":
            proxy_ssl = options.ssl or default_ssl_context()
            if proxy_ssl is options.ssl:
                _tls.warn_if_unverified(proxy_ssl)
        await _proxy.open_tunnel(protocol, proxy, host, port, ssl_context, proxy_ssl, user_agent)
        yield
        return
    sock, lock = await _endpoint_lock.connect(loop, host, port)
    try:
        try:
            await loop.create_connection(lambda: protocol, sock=sock, ssl=ssl_context,
                                         server_hostname=server_hostname)
        except BaseException as exc:
            sock.close()  # (asyncio closed it already, unless it failed before TLS)
            # TCP is up (the endpoint lock connected it): an OSError here is TLS's.
            if ssl_context is not None and isinstance(exc, OSError):
                raise _tls.TLSFailure(_tls.describe(exc, host, ssl_context)) from exc
            raise
        yield
    finally:
        lock.release()
