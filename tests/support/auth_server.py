"""A WebSocket echo server on 127.0.0.1 that requires HTTP Basic authentication
(websockets' own ``basic_auth``: 401 with ``WWW-Authenticate: Basic realm="..."`` until
the right credentials come), and records every handshake request it gets.

``running_auth_server(("alice", "s3cret"))`` yields an :class:`AuthServer` with ``port``
and ``requests``: one dict per opening handshake, in order, with the client's TCP port
(``client_port``: two requests on one connection would share it) and its ``authorization``
header (None if absent). ``ssl_context`` makes it a wss:// server.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from support.server_thread import server_thread
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

    @asynccontextmanager
    async def serving() -> AsyncIterator[AuthServer]:
        async with serve(echo, "127.0.0.1", 0, process_request=server.process_request,
                         ssl=ssl_context) as ws_server:
            server.port = next(iter(ws_server.sockets)).getsockname()[1]
            yield server

    with server_thread(serving, "auth-server"):
        yield server
