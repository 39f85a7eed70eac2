"""A websockets server on 127.0.0.1 or on a Unix socket path (its own loop and thread)
that holds the opening handshake of every request until the test lets it go: the
RFC 6455 section 4.1 tests of SOCKS proxies and Unix sockets count the connections that
arrive while a first handshake is held (tests/cpython/test_endpoint_lock.py has the
fuller one for TCP)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AbstractContextManager, asynccontextmanager
from typing import Any

from websockets.asyncio.server import ServerConnection, serve, unix_serve
from websockets.http11 import Request, Response

from support.server_thread import server_thread
from support.servers import echo

__all__ = ["HeldServer", "running_held_server"]


class HeldServer:
    def __init__(self) -> None:
        #: How many connections arrived (TCP or Unix).
        self.arrived = 0
        #: The TCP port (0 on a Unix socket).
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._gate: asyncio.Event | None = None

    def release(self) -> None:
        """Let every held handshake, and all later ones, go on."""
        assert self._loop is not None and self._gate is not None
        self._loop.call_soon_threadsafe(self._gate.set)

    async def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        self.arrived += 1
        assert self._gate is not None
        await self._gate.wait()
        return None

    @asynccontextmanager
    async def listening(self, unix_path: str | None) -> AsyncIterator[HeldServer]:
        self._loop = asyncio.get_running_loop()
        self._gate = asyncio.Event()
        options: dict[str, Any] = {"process_request": self._process_request, "open_timeout": None}
        serving = (unix_serve(echo, unix_path, **options) if unix_path is not None
                   else serve(echo, "127.0.0.1", 0, **options))
        async with serving as server:
            if unix_path is None:
                self.port = next(iter(server.sockets)).getsockname()[1]
            try:
                yield self
            finally:
                self._gate.set()


def running_held_server(unix_path: str | None = None) -> AbstractContextManager[HeldServer]:
    """Run a :class:`HeldServer` on 127.0.0.1 (``port`` set), or on ``unix_path``."""
    server = HeldServer()
    return server_thread(lambda: server.listening(unix_path), "held-server")
