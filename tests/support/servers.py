"""Real WebSocket servers on 127.0.0.1 for the behaviour suite (websockets' asyncio server).

One server, behaviours chosen by the request path, so a scenario needs nothing but a
base URL and runs the same from CPython, Node and Chromium:

``/echo``                 echo every message (text stays text, binary stays binary)
``/close?code=C&reason=R`` after the opening handshake, close with C and R
``/close-empty``           close with an empty close frame (the client sees 1005)
``/drop``                  drop TCP right after the handshake, without a close frame
``/record?id=ID``          echo, and record the client's close code and reason under ID
``/report?id=ID``          send the record of ID as JSON text (waits up to 5 s for it)
``/messages?n=N``          send N text messages "0".."N-1", then close with 1000
``/headers``               send the request's headers as a JSON object (lower-case
                           names; ``?raw=1``: a list of [name, value] pairs, as sent),
                           then close with 1000
``/stall?id=ID``           stop reading from the client until ``/resume?id=ID`` connects,
                           then echo
``/resume?id=ID``          resume reading on the stalled connection ID, then close

Subprotocols: the server selects the first protocol the client offers that is listed in
``?accept=a,b`` (default: the first offered); ``?accept=`` (empty) selects none.
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import urllib.parse
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractContextManager, asynccontextmanager, contextmanager
from typing import Any

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from support.server_thread import server_thread

__all__ = ["BehaviourServer", "reported_close", "running_server", "tls_echo_server", "unused_port"]


def unused_port() -> int:
    """A loopback port nothing listens on (connecting to it is refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class BehaviourServer:
    def __init__(self) -> None:
        self.records: dict[str, dict[str, object]] = {}
        self.stalled: dict[str, asyncio.Transport] = {}
        self._record_events: dict[str, asyncio.Event] = {}
        self.port = 0

    def _event(self, key: str) -> asyncio.Event:
        return self._record_events.setdefault(key, asyncio.Event())

    @staticmethod
    def _query(connection: ServerConnection) -> dict[str, str]:
        assert connection.request is not None
        parsed = urllib.parse.urlsplit(connection.request.path)
        return dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True))

    @staticmethod
    def _path(connection: ServerConnection) -> str:
        assert connection.request is not None
        return urllib.parse.urlsplit(connection.request.path).path

    def select_subprotocol(self, connection: ServerConnection, offered: list[str]) -> str | None:
        query = self._query(connection)
        if "accept" in query:
            accepted = [p for p in query["accept"].split(",") if p]
            return next((p for p in offered if p in accepted), None)
        return offered[0] if offered else None

    def process_request(self, connection: ServerConnection, request: object) -> None:
        # ?deflate=0: decline permessage-deflate for this connection (frames then reach
        # the client exactly as sent, without the extension's decoding step).
        if self._query(connection).get("deflate") == "0":
            connection.protocol.available_extensions = []

    @asynccontextmanager
    async def listening(self) -> AsyncIterator[BehaviourServer]:
        # Accepts permessage-deflate, as most servers do, so its negotiation is tested.
        async with serve(self.handler, "127.0.0.1", 0, compression="deflate",
                         process_request=self.process_request,
                         select_subprotocol=self.select_subprotocol,
                         max_size=None) as ws_server:
            self.port = list(ws_server.sockets)[0].getsockname()[1]
            try:
                yield self
            finally:
                for transport in self.stalled.values():  # nobody will resume them now
                    transport.abort()

    async def handler(self, connection: ServerConnection) -> None:
        path, query = self._path(connection), self._query(connection)
        try:
            if path == "/echo":
                async for message in connection:
                    await connection.send(message)
            elif path == "/close":
                await connection.close(int(query.get("code", 1000)), query.get("reason", ""))
            elif path == "/close-empty":
                async with connection.send_context():  # a close frame without a body
                    connection.protocol.send_close()
            elif path == "/close-hold":
                # A message, then a close frame, then no more reading until /resume?id=:
                # the client's socket stays CLOSING (its close frame unread, TCP open).
                assert connection.transport is not None
                await connection.send("before close")
                connection.transport.pause_reading()
                self.stalled[query["id"]] = connection.transport
                async with connection.send_context():
                    connection.protocol.send_close(4000, "held")
            elif path == "/drop":
                assert connection.transport is not None
                connection.transport.abort()
            elif path == "/record":
                key = query["id"]
                try:
                    async for message in connection:
                        await connection.send(message)
                finally:
                    rcvd = connection.protocol.close_rcvd
                    self.records[key] = {
                        "code": None if rcvd is None else int(rcvd.code),
                        "reason": None if rcvd is None else rcvd.reason,
                        "user_agent": connection.request.headers.get("User-Agent") if connection.request else None,
                    }
                    self._event(key).set()
            elif path == "/report":
                key = query["id"]
                await asyncio.wait_for(self._event(key).wait(), 5)
                await connection.send(json.dumps(self.records[key]))
                await connection.close()
            elif path == "/stall":
                assert connection.transport is not None
                connection.transport.pause_reading()
                self.stalled[query["id"]] = connection.transport
                async for message in connection:
                    await connection.send(message)
            elif path == "/resume":
                self.stalled.pop(query["id"]).resume_reading()
                await connection.close()
            elif path == "/messages":
                for i in range(int(query.get("n", "3"))):
                    await connection.send(str(i))
                await connection.close()
            elif path == "/headers":
                assert connection.request is not None
                raw = list(connection.request.headers.raw_items())
                await connection.send(json.dumps(raw if query.get("raw") else
                                                 {name.lower(): value for name, value in raw}))
                await connection.close()
            else:
                await connection.close(4404, f"no such path {path}")
        except ConnectionClosed:
            pass


def running_server() -> AbstractContextManager[BehaviourServer]:
    """Run a :class:`BehaviourServer` in a thread of its own; yields it with ``port``."""
    return server_thread(BehaviourServer().listening, "behaviour-server")


def reported_close(server: BehaviourServer, key: str) -> dict[str, Any]:
    """What ``server`` saw of a client's close on ``/record?id=key`` (its ``code`` and
    ``reason``), asked for on ``/report?id=key`` with a pyws socket of its own."""
    from pyws import WebSocket

    async def fetch() -> dict[str, Any]:
        ws = WebSocket(f"ws://127.0.0.1:{server.port}/report?id={key}")
        loop = asyncio.get_running_loop()
        got, closed = loop.create_future(), loop.create_future()
        ws.onmessage = lambda event: got.set_result(json.loads(event.data))
        ws.onclose = lambda event: closed.set_result(None)
        await asyncio.wait_for(closed, 10)  # the server closes after the report
        return got.result()

    return asyncio.run(fetch())


async def echo(connection: ServerConnection) -> None:
    """A websockets server handler that echoes every message until the connection ends."""
    try:
        async for message in connection:
            await connection.send(message)
    except ConnectionClosed:
        pass


@contextmanager
def tls_echo_server(ca: Any, *names: str, server_names: list[str | None] | None = None,
                    not_before: Any = None, not_after: Any = None) -> Iterator[int]:
    """A wss:// echo server on 127.0.0.1 (its own loop and thread) whose certificate,
    issued by the ``trustme`` CA ``ca``, names ``names`` (valid from ``not_before`` to
    ``not_after``, datetimes, if given); yields its port. The server name (SNI) of every
    TLS handshake is appended to ``server_names`` if given."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names, not_before=not_before, not_after=not_after).configure_cert(context)
    if server_names is not None:
        def record(sslobj: Any, name: str | None, ctx: Any) -> None:
            server_names.append(name)

        context.sni_callback = record

    @asynccontextmanager
    async def serving() -> AsyncIterator[int]:
        async with serve(echo, "127.0.0.1", 0, ssl=context) as server:
            yield next(iter(server.sockets)).getsockname()[1]

    with server_thread(serving, "tls-echo-server") as port:
        yield port
