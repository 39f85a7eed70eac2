"""A real SOCKS proxy on 127.0.0.1 for the SOCKS tests: tiny-proxy's SOCKS5 (RFC 1928,
user name and password authentication of RFC 1929) and SOCKS4/SOCKS4a servers, from
PyPI (the server python-socks' own tests run against), in a thread of its own
(:mod:`support.server_thread`).

Around the library's server, only what the tests need to see:

- :attr:`SocksProxy.targets`: the destination of every request, as the client sent it (a
  host name for ``socks5h://`` and ``socks4a://``, an address for ``socks5://`` and
  ``socks4://``);
- :attr:`SocksProxy.hosts`: names the proxy resolves from its own table first
  (``echo.test``: a name only the proxy knows proves a connection went through it, and
  that the proxy, not the client, resolved it);
- :attr:`SocksProxy.open_connections`: falls to 0 once the client closed its sockets.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import AbstractContextManager, asynccontextmanager
from typing import Any

import anyio
import anyio.abc
from tiny_proxy import Socks4Proxy, Socks4ProxyHandler, Socks5Proxy, Socks5ProxyHandler

from support.server_thread import server_thread

__all__ = ["SocksProxy", "running_socks_proxy"]


class SocksProxy:
    def __init__(self, version: int, hosts: dict[str, str] | None,
                 auth: tuple[str, str] | None) -> None:
        self.version = version
        self.hosts = dict(hosts or {})
        self.targets: list[tuple[str, int]] = []
        self.accepted = 0
        self.open_connections = 0
        self.port = 0
        base = Socks5Proxy if version == 5 else Socks4Proxy
        server = self

        class Recording(base):  # type: ignore[valid-type,misc]
            async def negotiate(self) -> tuple[str, int]:
                host, port = await super().negotiate()
                server.targets.append((host, port))
                return server.hosts.get(host, host), port  # the proxy's own DNS first

        if version == 5:
            username, password = auth or (None, None)
            self._handler: Any = Socks5ProxyHandler(username=username, password=password)
            self._handler.create_proxy = lambda stream: Recording(stream, username, password)
        else:
            user = auth[0] if auth else None
            self._handler = Socks4ProxyHandler(username=user)
            self._handler.create_proxy = lambda stream: Recording(stream, user)

    def reset(self) -> None:
        self.targets.clear()
        self.accepted = 0

    def wait_idle(self, timeout: float = 10) -> bool:
        """Wait until no client connection is open; False if one still is."""
        deadline = time.monotonic() + timeout
        while self.open_connections and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.open_connections == 0

    async def _handle(self, stream: Any) -> None:
        self.accepted += 1
        self.open_connections += 1
        try:
            await self._handler.handle(stream)
        finally:
            self.open_connections -= 1

    @asynccontextmanager
    async def listening(self) -> AsyncIterator[SocksProxy]:
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
        self.port = listener.extra(anyio.abc.SocketAttribute.local_port)
        async with anyio.create_task_group() as group:
            group.start_soon(listener.serve, self._handle)
            try:
                yield self
            finally:
                group.cancel_scope.cancel()
        await listener.aclose()


def running_socks_proxy(version: int = 5, hosts: dict[str, str] | None = None,
                        auth: tuple[str, str] | None = None) -> AbstractContextManager[SocksProxy]:
    """Run a SOCKS ``version`` (5, or 4, which also serves SOCKS4a) proxy on 127.0.0.1 in a
    thread of its own, requiring ``auth`` (user name and password for SOCKS5, a user ID for
    SOCKS4) if given; yields it with ``port`` set."""
    proxy = SocksProxy(version, hosts, auth)
    return server_thread(proxy.listening, f"socks{version}-proxy")
