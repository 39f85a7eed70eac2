"""SOCKS proxies: the tunnel through a ``socks5h://``, ``socks5://``, ``socks4a://`` or
``socks4://`` proxy (:mod:`._proxy` says which proxy a connection uses).

The SOCKS handshake is python-socks' (its asyncio API, as websockets' own client uses
it), an optional dependency: ``pip install pyws-client[socks]``. It is imported only when
a SOCKS proxy is used; without it an explicit ``proxy="socks5://..."`` raises
``ImportError`` naming the extra in the constructor, and one from the environment fails
the connection saying the same.

- ``socks5h://`` and ``socks4a://`` send the WebSocket host's name: the proxy resolves it
  (curl's and websockets' meaning of the ``h`` and the ``a``);
- ``socks5://`` and ``socks4://`` resolve it here first and send the address (IPv4 only
  for SOCKS4, which has no other);
- SOCKS5 authenticates with the URL's user name and password (RFC 1929: both 1 to 255
  bytes; ASCII, which python-socks sends them as); SOCKS4 has no password: a user name
  alone is sent as its user ID.

A tunnel is a TCP connection to the WebSocket server as far as the client can tell:
``wss://`` then runs TLS through it with the WebSocket host as server name (SNI and the
certificate check are the server's). Like a connection through an HTTP proxy it takes
no RFC 6455 section 4.1 endpoint lock (:mod:`._endpoint_lock`): the client does not
connect to the server's address itself.
"""

from __future__ import annotations

import asyncio
import socket
from typing import TYPE_CHECKING, Any

from .._redact import escape

if TYPE_CHECKING:
    from ._proxy import ProxyURL

__all__ = ["EXTRA", "check_credentials", "require", "open_socket"]

#: What to install for SOCKS proxies.
EXTRA = "pip install 'pyws-client[socks]'"
#: Schemes whose host name the proxy resolves (SOCKS5 "h", SOCKS4 "a").
_REMOTE_DNS = {"socks5h": True, "socks5": False, "socks4a": True, "socks4": False}
#: The scheme that lets the proxy resolve names instead.
_RESOLVING = {"socks5": "socks5h", "socks4": "socks4a"}
#: python-socks' own timeout, far beyond any ``open_timeout``: ``open_timeout`` bounds the
#: whole opening by cancelling the dial, and with ``open_timeout=None`` a wait must not be
#: cut at python-socks' default 60 s either.
_NO_TIMEOUT = 365 * 24 * 3600.0


def check_credentials(scheme: str, username: str | None, password: str | None) -> str | None:
    """What is wrong with a SOCKS proxy URL's user information, or None."""
    if scheme.startswith("socks4"):
        if password is not None:
            return "SOCKS4 has no password (a user name alone is sent as the user ID)"
        return None
    if username is None:
        return None
    if not username or not password:
        return "SOCKS5 authentication needs a user name and a password (RFC 1929)"
    if not (username + password).isascii():
        return "SOCKS5 user names and passwords must be ASCII (python-socks sends them as ASCII)"
    if len(username) > 255 or len(password) > 255:
        return "SOCKS5 user names and passwords are at most 255 bytes (RFC 1929)"
    return None


def require(scheme: str, source: str = "proxy") -> Any:
    """python-socks' asyncio ``Proxy`` class; ``ImportError`` naming the extra if it is not
    installed."""
    try:
        from python_socks.async_.asyncio import Proxy
    except ImportError:
        raise ImportError(f"{source}: {scheme}:// proxies need python-socks, which is not "
                          f"installed: {EXTRA}") from None
    return Proxy


async def open_socket(proxy: ProxyURL, host: str, port: int) -> socket.socket:
    """A socket tunnelled through the SOCKS ``proxy`` to ``host``:``port``; ``ProxyError``
    says why there is none (credentials never in it)."""
    from python_socks import ProxyConnectionError, ProxyType
    from python_socks import ProxyError as SocksError

    from ._proxy import ProxyError

    socks_proxy = require(proxy.scheme, proxy.source)(
        ProxyType.SOCKS5 if proxy.scheme.startswith("socks5") else ProxyType.SOCKS4,
        proxy.host, proxy.port, username=proxy.username, password=proxy.password,
        rdns=_REMOTE_DNS[proxy.scheme], loop=asyncio.get_running_loop())
    try:
        sock: socket.socket = await socks_proxy.connect(host, port, timeout=_NO_TIMEOUT)
    except ProxyConnectionError as exc:  # (an OSError) TCP to the proxy
        cause = exc.__cause__ or exc
        raise ProxyError(f"could not connect to the proxy {proxy} ({proxy.source}): "
                         f"{type(cause).__name__}: {cause}") from exc
    except SocksError as exc:  # what the proxy answered
        raise ProxyError(_refusal(proxy, exc, host, port)) from exc
    except socket.gaierror as exc:  # socks5:// and socks4:// resolve the name here
        raise ProxyError(f"could not resolve {host!r} to send its address to the proxy "
                         f"{proxy} ({exc}); with {_RESOLVING[proxy.scheme]}:// the proxy "
                         "resolves names") from exc
    return sock


def _refusal(proxy: ProxyURL, exc: Exception, host: str, port: int) -> str:
    """Why the proxy gave no tunnel, from python-socks' error (the proxy's answer)."""
    # python-socks' words for the proxy's reply; escaped: they may quote its bytes.
    why = escape(str(exc)) or "it closed the connection during the SOCKS handshake"
    code: int | None = getattr(exc, "error_code", None)
    if code is not None:
        target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        return (f"the proxy {proxy} refused to open a tunnel to {target}: {why} "
                f"(SOCKS reply 0x{code:02x})")
    if "authentication" in why.lower():
        return (f"the proxy {proxy} requires authentication ({why}): "
                + ("it refused the credentials of the proxy URL" if proxy.username is not None
                   else f"give them in the proxy URL, {proxy.scheme}://user:password@host:port"))
    return f"the proxy {proxy} failed the SOCKS handshake: {why}"
