"""A websockets server on 127.0.0.1 or on a Unix socket path (its own loop and thread)
that holds the opening handshake of every request until the test lets it go: the
RFC 6455 section 4.1 tests of SOCKS proxies and Unix sockets count the TCP connections
that arrive while a first handshake is held (tests/test_endpoint_lock.py has the fuller
one for TCP)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

from servers import echo
from websockets.asyncio.server import ServerConnection, serve, unix_serve
from websockets.http11 import Request, Response

__all__ = ["HeldServer", "running_held_server"]


class HeldServer:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        #: How many connections arrived (TCP or Unix).
        self.arrived = 0
        self.port = 0
        self._gate: asyncio.Event | None = None

    def release(self) -> None:
        """Let every held handshake, and all later ones, go on."""
        gate = self._gate
        assert gate is not None
        self.loop.call_soon_threadsafe(gate.set)

    def wait_arrived(self, count: int, timeout: float = 10) -> bool:
        deadline = time.monotonic() + timeout
        while self.arrived < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.arrived >= count

    async def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        self.arrived += 1
        assert self._gate is not None
        await self._gate.wait()
        return None


@contextlib.contextmanager
def running_held_server(unix_path: str | None = None) -> Iterator[HeldServer]:
    """Run a :class:`HeldServer` on 127.0.0.1 (``port`` set), or on ``unix_path``."""
    server = HeldServer()
    started = threading.Event()
    stop = server.loop.create_future()

    async def main() -> None:
        server._gate = asyncio.Event()
        options: dict[str, Any] = {"process_request": server._process_request,
                                   "open_timeout": None}
        serving = (unix_serve(echo, unix_path, **options) if unix_path is not None
                   else serve(echo, "127.0.0.1", 0, **options))
        async with serving as listening:
            if unix_path is None:
                server.port = next(iter(listening.sockets)).getsockname()[1]
            started.set()
            await stop
            server._gate.set()

    thread = threading.Thread(target=server.loop.run_until_complete, args=(main(),), daemon=True,
                              name="held-server")
    thread.start()
    if not started.wait(10):
        raise RuntimeError("the held server did not start")
    try:
        yield server
    finally:
        server.loop.call_soon_threadsafe(stop.set_result, None)
        thread.join(10)
        server.loop.close()
