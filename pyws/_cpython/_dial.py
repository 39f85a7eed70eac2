"""How a connection reaches its server: directly (under RFC 6455 section 4.1's endpoint
lock, :mod:`._endpoint_lock`), through an HTTP proxy (:mod:`._proxy`) or a SOCKS proxy
(:mod:`._socks`), or through a Unix domain socket (the ``unix_socket`` option; under the
endpoint lock of its path, never through a proxy), then TLS.

The connection (:mod:`._connection`) only sees ``connection_made()``, the bytes, and the
``socket.socket`` pyws made for it: every route creates its own socket and passes it to
the loop with ``sock=``, so that the connection can close it itself when its event loop
was closed under it (asyncio can no longer run the transport's own close then).
Everything before the opening handshake's first byte is here.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import ssl
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from . import _endpoint_lock, _proxy, _socks, _tls

if TYPE_CHECKING:
    from .._options import Options
    from .._spec import WebSocketURL

__all__ = ["connected", "route", "default_ssl_context", "release"]

_default_ssl: ssl.SSLContext | None = None
_AF_UNIX = getattr(socket, "AF_UNIX", None)  # not on Windows


def default_ssl_context() -> ssl.SSLContext:
    """System trust store, hostname checking (created once: loading CAs is slow)."""
    global _default_ssl
    if _default_ssl is None:
        _default_ssl = ssl.create_default_context()
    return _default_ssl


def route(options: Options, url: WebSocketURL) -> _proxy.ProxyURL | None:
    """The proxy a connection to ``url`` goes through, or None (directly, or through the
    ``unix_socket`` option's path: never through a proxy); ``ProxyError`` for an
    unusable proxy from the environment."""
    if options.unix_socket is not None:
        return None
    return _proxy.select(options.proxy, url.secure, url.connect_host, url.port)


@contextlib.asynccontextmanager
async def connected(protocol: asyncio.Protocol, url: WebSocketURL,
                    ssl_context: ssl.SSLContext | None, proxy: _proxy.ProxyURL | None,
                    options: Options, user_agent: str) -> AsyncIterator[socket.socket]:
    """Connect ``protocol`` to the server of ``url`` (``connection_made()`` has been
    called on entry), through ``proxy`` if not None, or through the ``unix_socket``
    option's path; the block gets the connected socket (the one the transport owns, TLS
    or not). Leaving the block ends the opening phase: the endpoint lock, if any, is
    released (the handshake is done, or failed).

    A failed TLS handshake raises :class:`._tls.TLSFailure` saying why."""
    loop = asyncio.get_running_loop()
    host, port = url.connect_host, url.port
    if ssl_context is not None and ssl_context is options.ssl:
        _tls.warn_if_unverified(ssl_context)
    if proxy is not None and not proxy.socks:
        proxy_ssl = None
        if proxy.scheme == "https":
            proxy_ssl = options.ssl or default_ssl_context()
            if proxy_ssl is options.ssl:
                _tls.warn_if_unverified(proxy_ssl)
        yield await _proxy.open_tunnel(protocol, proxy, host, port, ssl_context, proxy_ssl,
                                       user_agent)
        return
    lock: _endpoint_lock.EndpointLock | None = None
    if proxy is not None:  # SOCKS: no endpoint lock, as through an HTTP proxy
        sock = await _socks.open_socket(proxy, host, port)
    elif options.unix_socket is not None:
        sock, lock = await _endpoint_lock.connect_unix(loop, os.fspath(options.unix_socket))
    else:
        sock, lock = await _endpoint_lock.connect(loop, host, port)
    try:
        await _attach(loop, protocol, sock, ssl_context, host)
        yield sock
    finally:
        if lock is not None:
            lock.release()


async def _attach(loop: asyncio.AbstractEventLoop, protocol: asyncio.Protocol,
                  sock: socket.socket, ssl_context: ssl.SSLContext | None, host: str) -> None:
    """Give the connected ``sock`` to ``protocol``, after TLS with ``host`` as server name
    for ``wss://``; the socket is closed if that fails."""
    create = loop.create_unix_connection if sock.family == _AF_UNIX else loop.create_connection
    try:
        await create(lambda: protocol, sock=sock, ssl=ssl_context,
                     server_hostname=host if ssl_context is not None else None)
    except BaseException as exc:
        sock.close()  # (asyncio closed it already, unless it failed before TLS)
        # The socket is connected: an OSError here is TLS's.
        if ssl_context is not None and isinstance(exc, OSError):
            raise _tls.TLSFailure(_tls.describe(exc, host, ssl_context)) from exc
        raise


def release(transport: asyncio.Transport | None, sock: socket.socket | None) -> None:
    """Let go of a connection whose event loop is closed: nothing runs there again, so
    the transport's own close (``connection_lost()``, scheduled on that loop) never
    comes. ``sock`` is the socket the dial made (pyws's own: closing it releases the
    file descriptor, whatever the transport)."""
    if transport is not None:
        try:
            transport.abort()  # marks it closed (for TLS, the TLS layer too)
        except RuntimeError:
            pass  # "Event loop is closed": it could not schedule connection_lost()
    if sock is not None:
        sock.close()  # (a no-op on uvloop: closing the loop closed it, and detached it)
    if transport is not None:
        _forget_transport(transport)


def _forget_transport(transport: asyncio.BaseTransport) -> None:
    """asyncio's own selector transports warn "unclosed transport" (ResourceWarning)
    when collected while they still hold their socket, which only their
    ``connection_lost()`` step lets go of: run that step, the one ``abort()`` could not
    schedule, for the transport and, under TLS, the one below it. Nothing else is left
    for it to do: the socket is closed and its loop will never run. Other loops' transports
    (uvloop's) have no such step and need none."""
    layers = [transport]
    inner = getattr(getattr(transport, "_ssl_protocol", None), "_transport", None)
    if inner is not None:
        layers.append(inner)
    for layer in layers:
        finish = getattr(layer, "_call_connection_lost", None)
        if finish is None:
            continue
        layer.set_protocol(asyncio.Protocol())  # not the connection (or TLS) again
        try:
            finish(None)
        except Exception:  # pragma: no cover - asyncio's own bookkeeping, best effort
            pass
