"""A real HTTP CONNECT proxy on 127.0.0.1 for the proxy tests (asyncio, its own thread).

It records every request it gets (:attr:`ConnectProxy.requests`), resolves host names
through its own table first (:attr:`hosts`: a name like ``echo.test`` that only the
proxy knows proves a connection went through it), can require Basic credentials, can
speak TLS itself (an ``https://`` proxy), and can misbehave on demand (:attr:`answer`):

``"tunnel"``   (default) open the tunnel: ``200 Connection established``, then bytes
               both ways until either side closes
``"403"``, ``"502"``   answer that status (then wait for the client to close)
``"garbage"``  answer something that is not HTTP (then wait for the client to close)
``"close"``    close the connection without answering
``"stall"``    never answer (wait for the client to close)
``"extra"``    open the tunnel, but send bytes right after the 200 answer

After an answer that is not a tunnel the proxy keeps its end open until the client
closes it, so :attr:`open_connections` falling to 0 shows the client closed its socket.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ssl
import time
from collections.abc import AsyncIterator
from contextlib import AbstractContextManager
from typing import Any

from support.server_thread import server_thread

__all__ = ["ConnectProxy", "running_proxy"]


class ConnectProxy:
    def __init__(self, hosts: dict[str, str] | None = None,
                 auth: tuple[str, str] | None = None) -> None:
        self.hosts = dict(hosts or {})
        self.auth = auth
        self.answer = "tunnel"
        self.requests: list[dict[str, Any]] = []
        self.accepted = 0
        self.open_connections = 0
        self.port = 0
        self.loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def reset(self) -> None:
        """Forget what was recorded (between the cases of one test)."""
        self.requests.clear()
        self.accepted = 0
        self.answer = "tunnel"

    def wait_idle(self, timeout: float = 10) -> bool:
        """Wait until no client connection is open; False if one still is."""
        deadline = time.monotonic() + timeout
        while self.open_connections and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.open_connections == 0

    def _authorized(self, headers: dict[str, str]) -> bool:
        if self.auth is None:
            return True
        expected = base64.b64encode(":".join(self.auth).encode()).decode()
        return headers.get("proxy-authorization") == f"Basic {expected}"

    @contextlib.asynccontextmanager
    async def listening(self, ssl_context: ssl.SSLContext | None) -> AsyncIterator[ConnectProxy]:
        self.loop = asyncio.get_running_loop()
        server = await asyncio.start_server(self.handle, "127.0.0.1", 0, ssl=ssl_context)
        self.port = server.sockets[0].getsockname()[1]
        async with server:
            try:
                yield self
            finally:
                for task in list(self._tasks):
                    task.cancel()
                await asyncio.gather(*self._tasks, return_exceptions=True)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.accepted += 1
        self.open_connections += 1
        try:
            await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                ssl.SSLError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            self.open_connections -= 1
            self._tasks.discard(task)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        self.requests.append({"method": method, "target": target, "headers": headers})
        answer = self.answer
        if answer == "close":
            return
        if answer == "stall":
            await reader.read()
            return
        if answer == "garbage":
            writer.write(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
            await reader.read()
            return
        if not self._authorized(headers):
            writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                         b'Proxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n')
            await reader.read()
            return
        if answer in ("403", "502"):
            reason = {"403": "Forbidden", "502": "Bad Gateway"}[answer]
            writer.write(f"HTTP/1.1 {answer} {reason}\r\nContent-Length: 0\r\n\r\n".encode())
            await reader.read()
            return
        if method != "CONNECT":
            writer.write(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        host, _, port = target.rpartition(":")
        host = host.strip("[]")
        try:
            up_reader, up_writer = await asyncio.open_connection(self.hosts.get(host, host), int(port))
        except OSError:
            writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            await reader.read()
            return
        # "extra": in the same write, so the client reads both at once.
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n"
                     + (b"surprise" if answer == "extra" else b""))
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            up_writer.close()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()
        except (ConnectionError, OSError):
            writer.close()


def running_proxy(hosts: dict[str, str] | None = None, auth: tuple[str, str] | None = None,
                  ssl_context: ssl.SSLContext | None = None) -> AbstractContextManager[ConnectProxy]:
    """Run a :class:`ConnectProxy` on 127.0.0.1 in a thread of its own (TLS with
    ``ssl_context``: an https:// proxy); yields it with ``port`` set."""
    proxy = ConnectProxy(hosts, auth)
    return server_thread(lambda: proxy.listening(ssl_context), "connect-proxy")
