"""A real WebSocket server on 127.0.0.1 for the reconnection tests (websockets' asyncio server).

Connections belong to a *group* (``?group=G``, one per test run) so a test can act on its
own connections only, from any runtime: the control paths are plain WebSocket URLs, so a
scenario running in Pyodide drives the server the same way as CPython does.

``/echo?group=G``           echo every message; record it, in order, in G's log
``/drop?group=G``           abort every open connection of G (TCP ends, no close frame: the
                            client sees 1006, as when a server is killed), then close 1000
``/close?group=G&code=C``   close every open connection of G with code C, then close 1000
``/log?group=G``            send G's record as JSON text, then close 1000:
                            ``{"paths": [request path of each accepted connection],
                            "received": [every message echoed, in order; binary
                            ones as {"binary": hex}], "sent": messages /flood sent}``
``/flood?group=G&n=N&size=S``  send N binary messages of S bytes, counting each sent in G's
                            log, then wait for the client to close
``/reject``                 refuse the opening handshake with HTTP 403
``/accept-then-drop``       end TCP right after the opening handshake, without a close frame

The first subprotocol the client offers is selected (the standard fails a connection
whose server selects none when the client offered some).

Run as a script (``python tests/support/reconnect_server.py PORT``) it serves on PORT until killed,
printing "ready" once it listens: the process a test kills and restarts on the same port.
"""

from __future__ import annotations

import asyncio
import http
import json
import os
import sys
import urllib.parse
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

__all__ = ["ReconnectServer", "running_reconnect_server"]


class ReconnectServer:
    def __init__(self) -> None:
        self.port = 0
        self.paths: dict[str, list[str]] = defaultdict(list)
        self.received: dict[str, list[Any]] = defaultdict(list)
        self.sent: dict[str, int] = defaultdict(int)
        self.live: dict[str, set[ServerConnection]] = defaultdict(set)

    @staticmethod
    def _split(connection: ServerConnection) -> tuple[str, dict[str, str]]:
        assert connection.request is not None
        parsed = urllib.parse.urlsplit(connection.request.path)
        return parsed.path, dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True))

    def process_request(self, connection: ServerConnection, request: Any) -> Any:
        if self._split(connection)[0] == "/reject":
            return connection.respond(http.HTTPStatus.FORBIDDEN, "go away\n")
        return None

    async def handler(self, connection: ServerConnection) -> None:
        path, query = self._split(connection)
        group = query.get("group", "")
        try:
            if path == "/echo":
                assert connection.request is not None
                self.paths[group].append(connection.request.path)
                self.live[group].add(connection)
                try:
                    async for message in connection:
                        self.received[group].append(
                            message if isinstance(message, str) else {"binary": message.hex()})
                        await connection.send(message)
                finally:
                    self.live[group].discard(connection)
            elif path == "/drop":
                for peer in list(self.live.pop(group, ())):
                    assert peer.transport is not None
                    peer.transport.abort()
                await connection.close()
            elif path == "/close":
                peers = list(self.live.pop(group, ()))
                await asyncio.gather(*(peer.close(int(query["code"]), query.get("reason", ""))
                                       for peer in peers))
                await connection.close()
            elif path == "/log":
                await connection.send(json.dumps({"paths": self.paths[group],
                                                  "received": self.received[group],
                                                  "sent": self.sent[group]}))
                await connection.close()
            elif path == "/flood":
                payload = os.urandom(int(query["size"]))  # incompressible: deflate is on
                for _ in range(int(query["n"])):
                    await connection.send(payload)  # waits while the client does not read
                    self.sent[group] += 1
                await connection.wait_closed()
            elif path == "/accept-then-drop":
                assert connection.transport is not None
                connection.transport.close()  # FIN, no close frame (abort could lose the 101)
            else:
                await connection.close(4404, f"no such path {path}")
        except ConnectionClosed:
            pass


@asynccontextmanager
async def _serving(server: ReconnectServer, port: int) -> AsyncIterator[ReconnectServer]:
    ws_server: Server
    async with serve(server.handler, "127.0.0.1", port, process_request=server.process_request,
                     select_subprotocol=lambda connection, offered: offered[0] if offered else None,
                     compression="deflate") as ws_server:
        server.port = list(ws_server.sockets)[0].getsockname()[1]
        yield server


@contextmanager
def running_reconnect_server(port: int = 0) -> Iterator[ReconnectServer]:
    """Run a :class:`ReconnectServer` in a thread of its own (on ``port``, or a free one)."""
    # Imported here: run as a script, this file has no ``support`` package on its path.
    from support.server_thread import server_thread

    with server_thread(lambda: _serving(ReconnectServer(), port), "reconnect-server") as server:
        yield server


def main() -> None:
    """Serve on the port given as argument until killed."""
    port = int(sys.argv[1])

    async def run() -> None:
        async with _serving(ReconnectServer(), port):
            print("ready", flush=True)
            await asyncio.get_running_loop().create_future()  # until killed

    asyncio.run(run())


if __name__ == "__main__":
    main()
