"""Proxies: which one a connection uses, and the HTTP CONNECT tunnel through it (SOCKS
tunnels are :mod:`._socks`'s).

The ``proxy`` option (:class:`pyws.Options`):

- ``True`` (the default): from the environment, as ``urllib.request.getproxies()`` reads
  it (lower-case names win over upper-case ones): ``wss_proxy``, else ``https_proxy``,
  else ``all_proxy`` for ``wss://``; ``ws_proxy``, else ``http_proxy``, else
  ``all_proxy`` for ``ws://``. ``no_proxy`` lists hosts to reach directly
  (``urllib.request.proxy_bypass()``: names, domain suffixes, ``host:port``, ``*``).
  As in Chromium (its implicit bypass rules), loopback and link-local hosts
  (``localhost``, ``*.localhost``, ``127.0.0.0/8``, ``::1``, ``169.254.0.0/16``,
  ``fe80::/10``) never go through an environment proxy (Go's net/http skips loopback too).
- a URL, ``http://[user:password@]host[:port]`` (port 80 by default) or ``https://...``
  (TLS to the proxy too; port 443 by default), or a SOCKS proxy, ``socks5h://``,
  ``socks5://``, ``socks4a://`` or ``socks4://`` (port 1080 by default; :mod:`._socks`):
  every connection of that socket goes through it, whatever the environment says. A URL
  without a scheme is ``http://``. The environment's values take the same forms.
- ``None`` or ``False``: connect directly.

The tunnel is HTTP ``CONNECT host:port`` (RFC 9110 section 9.3.6), as browsers do for
``ws://`` and ``wss://`` alike, with ``Proxy-Authorization: Basic`` from the URL's
user information; any 2xx answer opens it. TLS for ``wss://`` then runs through the
tunnel with the WebSocket host as server name (SNI and certificate checks are against
the server, not the proxy).
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import functools
import ipaddress
import re
import socket
import ssl
import sys
import urllib.parse
from typing import Any

from .._redact import escape, redact_urls
from .._spec import parse_host
from . import _endpoint_lock, _socks, _tls

__all__ = ["ProxyError", "ProxyURL", "parse", "select", "open_tunnel"]

#: Largest proxy response head (status line and headers) pyws reads.
MAX_RESPONSE_HEAD = 64 * 1024
#: asyncio runs TLS inside a TLS transport (an https:// proxy with wss://) from 3.11.
TLS_IN_TLS = sys.version_info >= (3, 11)

#: The proxy URL schemes pyws speaks, and their default ports.
_SCHEMES = {"http": 80, "https": 443, "socks5h": 1080, "socks5": 1080, "socks4a": 1080,
            "socks4": 1080}
_STATUS_LINE = re.compile(rb"HTTP/1\.[01] ([0-9]{3})(?: ([^\r\n]*))?\r?")
_HEAD_END = re.compile(rb"\r?\n\r?\n")


class ProxyError(ConnectionError):
    """The proxy could not be reached, or did not open the tunnel (the log says why)."""


@dataclasses.dataclass(frozen=True)
class ProxyURL:
    scheme: str  # "http", "https", "socks5h", "socks5", "socks4a" or "socks4"
    host: str
    port: int
    username: str | None
    password: str | None
    #: Where it came from, for messages: "proxy" (the option) or "https_proxy" etc.
    source: str

    @property
    def socks(self) -> bool:
        """Whether this is a SOCKS proxy (:mod:`._socks`), not an HTTP one."""
        return self.scheme.startswith("socks")

    def __str__(self) -> str:  # never shows the credentials
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


def parse(value: str, source: str = "proxy") -> ProxyURL:
    """Parse a proxy URL; ``ValueError`` says what is wrong with it (with the URL's
    credentials masked: the message may be logged)."""
    text = value.strip()
    if "://" not in text:
        text = "http://" + text
    shown = redact_urls(text)
    try:
        parts = urllib.parse.urlsplit(text)
        port = parts.port
    except ValueError as exc:
        # Not urllib's message: it quotes the "port", which may be a piece of a password
        # with a '#' or '/' typed in it.
        what = "a bad IPv6 address" if "IPv6" in str(exc) else \
            "the port must be a number from 1 to 65535"
        raise ValueError(f"{source}: {shown!r} is not a valid proxy URL ({what})") from None
    if port == 0:
        raise ValueError(f"{source}: {shown!r} is not a valid proxy URL "
                         "(the port must be a number from 1 to 65535)")
    scheme = parts.scheme.lower()
    if scheme == "socks":  # curl and Chromium read it as different SOCKS versions
        raise ValueError(f"{source}: the proxy URL {shown!r} does not say which SOCKS version: "
                         "use socks5h://, socks5://, socks4a:// or socks4://")
    if scheme not in _SCHEMES:
        raise ValueError(f"{source}: the proxy URL {shown!r} must start with http://, https://, "
                         "socks5h://, socks5://, socks4a:// or socks4://")
    if not parts.hostname:
        raise ValueError(f"{source}: the proxy URL {shown!r} has no host")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"{source}: the proxy URL {shown!r} must have no path, query or fragment")
    host = _check_host(parts.hostname, source, shown)
    username = None if parts.username is None else urllib.parse.unquote(parts.username)
    password = None if parts.password is None else urllib.parse.unquote(parts.password)
    if scheme.startswith("socks"):
        wrong = _socks.check_credentials(scheme, username, password)
        if wrong:
            raise ValueError(f"{source}: the proxy URL {shown!r}: {wrong}")
    elif username is not None:
        password = password or ""  # Basic sends "user:" for a user name alone
    return ProxyURL(scheme=scheme, host=host, port=port or _SCHEMES[scheme], username=username,
                    password=password, source=source)


def _check_host(hostname: str, source: str, shown: str) -> str:
    """The proxy's host as the URL Standard parses a host (IDNA, IPv4 forms, IPv6), in
    the form to connect to; ``ValueError`` if it is not a valid host."""
    serialized = parse_host(f"[{hostname}]" if ":" in hostname else hostname)
    if not serialized:
        raise ValueError(f"{source}: the proxy URL {shown!r} has an invalid host")
    return serialized[1:-1] if serialized.startswith("[") else serialized


@functools.lru_cache(maxsize=256)  # asked again for every connection to the host
def _never_proxied(host: str) -> bool:
    """Chromium's implicit bypass rules: loopback and link-local hosts."""
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    return address.is_loopback or address.is_link_local


def from_environment(secure: bool, host: str, port: int) -> ProxyURL | None:
    """The environment's proxy for a ``ws://`` (``secure`` False) or ``wss://`` URL."""
    if _never_proxied(host):
        return None
    import urllib.request  # only when connecting: it is slow to import

    proxies = urllib.request.getproxies()
    for key in ("wss", "https", "all") if secure else ("ws", "http", "all"):
        value = proxies.get(key)
        if value:
            break
    else:
        return None
    authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if urllib.request.proxy_bypass(authority):  # no_proxy
        return None
    source = f"{key}_proxy"
    try:
        return parse(value, source)
    except ValueError as exc:
        raise ProxyError(f"{exc} (from the environment; pass proxy=None to connect "
                         "directly)") from None


def select(option: object, secure: bool, host: str, port: int) -> ProxyURL | None:
    """The proxy a connection to ``host``:``port`` goes through, or None (directly);
    ``ProxyError`` for an environment proxy pyws cannot use (python-socks missing
    included: an explicit SOCKS proxy was refused by the constructor already)."""
    if option is None or option is False:
        return None
    if isinstance(option, str):
        return parse(option)
    proxy = from_environment(secure, host, port)
    if proxy is not None and proxy.socks:
        try:
            _socks.require(proxy.scheme, proxy.source)
        except ImportError as exc:
            raise ProxyError(f"{exc} (from the environment; pass proxy=None to connect "
                             "directly)") from None
    return proxy


class _Tunnel(asyncio.Protocol):
    """Sends the CONNECT request and reads the proxy's answer, then steps aside."""

    def __init__(self, request: bytes, proxy: ProxyURL, loop: asyncio.AbstractEventLoop) -> None:
        self._request = request
        self._proxy = proxy
        self._head = bytearray()
        self.transport: asyncio.Transport | None = None
        self.opened: asyncio.Future[None] = loop.create_future()

    def _fail(self, why: str) -> None:
        if not self.opened.done():
            self.opened.set_exception(ProxyError(f"the proxy {self._proxy} {why}"))
        if self.transport is not None:
            self.transport.abort()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.transport.write(self._request)  # type: ignore[union-attr]

    def data_received(self, data: bytes) -> None:
        if self.opened.done():
            return
        self._head += data
        end = _HEAD_END.search(self._head)
        if end is None:
            if len(self._head) > MAX_RESPONSE_HEAD:
                self._fail(f"sent a response head longer than {MAX_RESPONSE_HEAD} bytes")
            return
        head, rest = bytes(self._head[:end.start()]), self._head[end.end():]
        status_line = head.split(b"\n", 1)[0]
        match = _STATUS_LINE.fullmatch(status_line)
        if match is None:
            self._fail(f"did not answer CONNECT with HTTP: {status_line[:80]!r}")
            return
        status = int(match.group(1))
        # The reason phrase is the proxy's text: escaped before it reaches a log.
        reason = escape((match.group(2) or b"").decode("latin-1").strip())
        answer = f"{status} {reason}".strip()
        if status == 407:
            self._fail(f"requires authentication ({answer}): "
                       + ("it refused the credentials of the proxy URL" if self._proxy.username
                          is not None else "give them in the proxy URL, "
                          "http://user:password@host:port"))
        elif not 200 <= status < 300:
            self._fail(f"refused to open a tunnel: {answer}")
        elif rest:
            self._fail(f"sent {len(rest)} bytes after its {answer} answer, "
                       "before the WebSocket handshake")
        else:
            assert self.transport is not None
            self.transport.pause_reading()  # until the connection takes over
            self.opened.set_result(None)

    def eof_received(self) -> bool | None:
        self._fail("closed the connection without answering CONNECT")
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self._fail("closed the connection without answering CONNECT"
                       + (f" ({exc})" if exc else ""))


def _connect_request(proxy: ProxyURL, host: str, port: int, user_agent: str) -> bytes:
    authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    lines = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}", f"User-Agent: {user_agent}"]
    if proxy.username is not None:
        credentials = f"{proxy.username}:{proxy.password or ''}".encode()
        lines.append("Proxy-Authorization: Basic " + base64.b64encode(credentials).decode())
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def open_tunnel(protocol: Any, proxy: ProxyURL, host: str, port: int,
                      ssl_context: ssl.SSLContext | None, proxy_ssl: ssl.SSLContext | None,
                      user_agent: str) -> socket.socket:
    """Connect ``protocol`` to ``host``:``port`` through ``proxy`` (TLS with
    ``ssl_context`` for ``wss://``; ``proxy_ssl`` for an https:// proxy); calls
    ``protocol.connection_made()`` and returns the socket to the proxy (pyws's own: the
    transports own it, and the connection may close it itself, :mod:`._dial`)."""
    loop = asyncio.get_running_loop()
    secure_proxy = proxy.scheme == "https"
    if secure_proxy and proxy_ssl is None:
        raise ValueError("an https:// proxy needs an SSLContext")
    if secure_proxy and ssl_context is not None and not TLS_IN_TLS:
        raise ProxyError(f"wss:// through the https:// proxy {proxy} needs Python 3.11 or "
                         "later (TLS inside TLS)")
    request = _connect_request(proxy, host, port, user_agent)
    try:
        sock = await _connect_socket(loop, proxy.host, proxy.port)
        try:
            transport, tunnel = await loop.create_connection(
                lambda: _Tunnel(request, proxy, loop), sock=sock,
                ssl=proxy_ssl, server_hostname=proxy.host if secure_proxy else None)
        except BaseException:
            sock.close()  # (asyncio closed it already, unless it failed before TLS)
            raise
    except ssl.SSLError as exc:  # TLS to an https:// proxy
        raise ProxyError(f"could not connect to the proxy {proxy} ({proxy.source}): TLS "
                         f"handshake failed: {_tls.describe(exc, proxy.host, proxy_ssl)}") from exc
    except OSError as exc:
        raise ProxyError(f"could not connect to the proxy {proxy} ({proxy.source}): "
                         f"{type(exc).__name__}: {exc}") from exc
    try:
        await tunnel.opened
        if transport.is_closing():
            raise ProxyError(f"the proxy {proxy} closed the tunnel")
        if ssl_context is None:
            transport.set_protocol(protocol)
            protocol.connection_made(transport)
            transport.resume_reading()
        else:
            # The connection takes over once TLS is up (as when create_connection() does
            # TLS): a failed TLS handshake is reported by the exception alone.
            try:
                tls = await loop.start_tls(transport, asyncio.Protocol(), ssl_context,
                                           server_hostname=host)
            except OSError as exc:  # also ssl.SSLError
                raise _tls.TLSFailure(_tls.describe(exc, host, ssl_context)) from exc
            assert tls is not None
            if tls.is_closing():
                raise ProxyError(f"the connection through the proxy {proxy} closed during TLS")
            tls.set_protocol(protocol)
            protocol.connection_made(tls)
    except BaseException:
        transport.abort()
        raise
    return sock


async def _connect_socket(loop: asyncio.AbstractEventLoop, host: str, port: int) -> socket.socket:
    """A TCP socket connected to the proxy: its addresses tried in turn, as
    ``loop.create_connection(host, port)`` does (no endpoint lock: the proxy is not the
    WebSocket server)."""
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    if not infos:
        raise OSError("getaddrinfo() returned empty list")
    errors: list[OSError] = []
    for info in infos:
        try:
            return await _endpoint_lock.open_socket(loop, info)
        except OSError as exc:
            errors.append(exc)
    if len(errors) == 1:
        raise errors[0]
    raise OSError(f"Multiple exceptions: {', '.join(map(str, errors))}")
