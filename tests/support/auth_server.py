"""A WebSocket echo server on 127.0.0.1 that requires HTTP Basic authentication
(websockets' own ``basic_auth``: 401 with ``WWW-Authenticate: Basic realm="..."`` until
the right credentials come), and records every handshake request it gets.

``running_auth_server(("alice", "s3cret"))`` yields an :class:`AuthServer` with ``port``
and ``requests``: one dict per opening handshake, in order, with the client's TCP port
(``client_port``: two requests on one connection would share it) and its ``authorization``
header (None if absent). ``ssl_context`` makes it a wss:// server.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from support.servers import echo
from websockets.asyncio.server import ServerConnection, basic_auth, serve

__all__ = ["AuthServer", "running_auth_server"]


class AuthServer:
    def __init__(self, credentials: tuple[str, str], realm: str) -> None:
        self.port = 0
        self.requests: list[dict[str, Any]] = []
        self._check = basic_auth(realm=realm, credentials=credentials)

    async def process_request(self, connection: ServerConnection, request: Any) -> Any:
        self.requests.append({
            "client_port": connection.remote_address[1],
            "authorization": request.headers.get("Authorization"),
        })
        return await self._check(connection, request)


@contextmanager
def running_auth_server(credentials: tuple[str, str], realm: str = "pyws tests",
                        ssl_context: ssl.SSLContext | None = None) -> Iterator[AuthServer]:
    """Run an :class:`AuthServer` in a thread of its own."""
    server = AuthServer(credentials, realm)
    loop = asyncio.new_event_loop()
    started = threading.Event()
    stop = loop.create_future()

    async def main() -> None:
        async with serve(echo, "127.0.0.1", 0, process_request=server.process_request,
                         ssl=ssl_context) as ws_server:
            server.port = next(iter(ws_server.sockets)).getsockname()[1]
            started.set()
            await stop

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True,
                              name="auth-server")
    thread.start()
    if not started.wait(10):
        raise RuntimeError("the auth server did not start")
    try:
        yield server
    finally:
        loop.call_soon_threadsafe(stop.set_result, None)
        thread.join(10)
        loop.close()
