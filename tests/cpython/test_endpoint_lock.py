"""RFC 6455 section 4.1 on CPython: one connection in CONNECTING per server address:port.

Against real servers (websockets' own, on 127.0.0.1) that hold the opening handshake
of ``/gate?id=ID`` until the test releases it, and record when every TCP connection
arrives. What Chromium does, and so pyws (tools/chromium_endpoint_lock.py measures it):
a second connection to the same address and port opens its TCP connection only once
the first is OPEN or has failed, whatever name it uses; another port is
not held up; the wait counts towards the open timeout.
"""

from __future__ import annotations

import asyncio
import threading
import time
import urllib.parse
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.http11 import Request, Response

from support.server_thread import server_thread
from support.servers import echo

import pyws
from pyws import WebSocket

pytestmark = [pytest.mark.skipif(pyws.backend != "cpython", reason="CPython backend only"),
              pytest.mark.usefixtures("no_leaks")]


class GateServer:
    """Two websockets servers (ports ``ports[0]`` and ``ports[1]``) in one thread."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[float, int]] = []  # (time.monotonic(), port)
        self.requests: list[str] = []  # the paths of the requests, in order
        self.ports: list[int] = []
        self.loop: asyncio.AbstractEventLoop | None = None
        self._gates: dict[str, asyncio.Future[str]] = {}

    def _gate(self, key: str) -> asyncio.Future[str]:
        return self._gates.setdefault(key, asyncio.get_running_loop().create_future())

    def release(self, key: str, how: str = "accept") -> None:
        """Answer the held handshake ``key``: "accept" (101) or "reject" (503)."""
        assert self.loop is not None
        self.loop.call_soon_threadsafe(lambda: self._gate(key).done() or self._gate(key).set_result(how))

    def count(self, port: int | None = None) -> int:
        return sum(1 for _, p in self.arrivals if port is None or p == port)

    async def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        self.requests.append(request.path)
        url = urllib.parse.urlsplit(request.path)
        if url.path == "/gate":
            key = dict(urllib.parse.parse_qsl(url.query))["id"]
            if await self._gate(key) == "reject":
                return connection.respond(503, "rejected\n")
        return None

    echo = staticmethod(echo)

    @asynccontextmanager
    async def listening(self) -> AsyncIterator[GateServer]:
        self.loop = asyncio.get_running_loop()
        servers = [serve(self.echo, "127.0.0.1", 0, process_request=self.process_request,
                         create_connection=self.connection_class(), open_timeout=None)
                   for _ in range(2)]
        async with servers[0] as first, servers[1] as second:
            self.ports = [next(iter(s.sockets)).getsockname()[1] for s in (first, second)]
            try:
                yield self
            finally:
                for gate in self._gates.values():
                    gate.cancel()

    def connection_class(self) -> type[ServerConnection]:
        server = self

        class Recording(ServerConnection):
            def connection_made(self, transport: Any) -> None:
                server.arrivals.append((time.monotonic(), transport.get_extra_info("sockname")[1]))
                super().connection_made(transport)

        return Recording


@pytest.fixture(scope="module")
def gate_server() -> Iterator[GateServer]:
    with server_thread(GateServer().listening, "gate-servers") as server:
        yield server


@pytest.fixture
def gates(gate_server: GateServer) -> GateServer:
    gate_server.arrivals.clear()
    gate_server.requests.clear()
    return gate_server


class Watch:
    """A socket's events, with the time of each."""

    def __init__(self, url: str, **options: Any) -> None:
        self.ws = WebSocket(url, **options)
        self.events: list[tuple[str, Any]] = []
        self.times: dict[str, float] = {}
        self.closed = asyncio.get_running_loop().create_future()
        for kind in ("open", "error", "close"):
            self.ws.addEventListener(kind, self._record)

    def _record(self, event: Any) -> None:
        self.times.setdefault(event.type, time.monotonic())
        self.events.append((event.type, getattr(event, "code", None)))
        if event.type == "open":
            self.ws.close()
        if event.type == "close":
            self.closed.set_result(None)

    async def wait(self, kind: str, timeout: float = 10) -> float:
        deadline = time.monotonic() + timeout
        while kind not in self.times:
            assert time.monotonic() < deadline, f"no {kind} event: {self.events}"
            await asyncio.sleep(0.005)
        return self.times[kind]


async def until(predicate: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.005)


def run(main: Any) -> None:
    async def checked() -> None:
        await main()
        await asyncio.sleep(0.05)  # closing transports finish
        assert asyncio.all_tasks() == {asyncio.current_task()}, asyncio.all_tasks()

    asyncio.run(checked())


OPENED = [("open", None), ("close", 1005)]
FAILED = [("error", None), ("close", 1006)]


def test_the_second_connection_waits_until_the_first_is_open(gates: GateServer) -> None:
    port = gates.ports[0]

    async def main() -> None:
        first = Watch(f"ws://127.0.0.1:{port}/gate?id=open")
        second = Watch(f"ws://127.0.0.1:{port}/echo")
        await until(lambda: gates.requests == ["/gate?id=open"])
        await asyncio.sleep(0.3)
        assert gates.count() == 1  # the second has not even connected TCP
        gates.release("open")
        opened = await first.wait("open")
        await second.wait("open")
        await asyncio.gather(first.closed, second.closed)
        assert first.events == second.events == OPENED
        assert gates.count() == 2 and gates.arrivals[1][0] >= opened - 0.005

    run(main)


@pytest.mark.parametrize("how", ["rejected", "closed", "timed out"])
def test_a_failed_first_connection_lets_the_next_one_in(gates: GateServer, how: str) -> None:
    port = gates.ports[0]

    async def main() -> None:
        first = Watch(f"ws://127.0.0.1:{port}/gate?id={how}",
                      open_timeout=0.5 if how == "timed out" else 30)
        second = Watch(f"ws://127.0.0.1:{port}/echo")
        await until(lambda: len(gates.requests) == 1)
        if how == "rejected":
            gates.release(how, "reject")
        elif how == "closed":
            await asyncio.sleep(0.1)
            first.ws.close()
        failed = await first.wait("close")
        await second.wait("open")
        await asyncio.gather(first.closed, second.closed)
        assert first.events == FAILED
        assert second.events == OPENED
        assert gates.count() == 2 and gates.arrivals[1][0] >= failed - 0.005

    run(main)
    gates.release(how)  # the server side of a closed or timed-out attempt


def test_another_port_is_not_held_up(gates: GateServer) -> None:
    async def main() -> None:
        first = Watch(f"ws://127.0.0.1:{gates.ports[0]}/gate?id=port")
        other = Watch(f"ws://127.0.0.1:{gates.ports[1]}/echo")
        await other.wait("close")
        assert other.events == OPENED
        assert "open" not in first.times  # still held
        gates.release("port")
        await first.closed
        assert first.events == OPENED

    run(main)


def test_another_name_for_the_same_address_waits(gates: GateServer) -> None:
    # localhost resolves to 127.0.0.1 (and maybe ::1, where nothing listens): the lock
    # is the address's, not the name's.
    port = gates.ports[0]

    async def main() -> None:
        first = Watch(f"ws://localhost:{port}/gate?id=name")
        await until(lambda: gates.requests == ["/gate?id=name"])  # (after DNS)
        second = Watch(f"ws://127.0.0.1:{port}/echo")
        await asyncio.sleep(0.3)
        assert gates.count(port) == 1
        gates.release("name")
        await asyncio.gather(first.closed, second.closed)
        assert first.events == second.events == OPENED

    run(main)


def test_the_wait_counts_towards_open_timeout(gates: GateServer, caplog: pytest.LogCaptureFixture) -> None:
    port = gates.ports[0]

    async def main() -> None:
        first = Watch(f"ws://127.0.0.1:{port}/gate?id=timeout")
        await until(lambda: len(gates.requests) == 1)
        start = time.monotonic()
        second = Watch(f"ws://127.0.0.1:{port}/echo", open_timeout=0.3)
        await second.closed
        assert 0.25 < time.monotonic() - start < 3
        assert second.events == FAILED
        assert gates.count() == 1  # it never connected
        gates.release("timeout")
        await first.closed
        assert first.events == OPENED

    run(main)
    assert "timed out after 0.3 s" in caplog.text


def test_closing_a_waiting_socket(gates: GateServer) -> None:
    port = gates.ports[0]

    async def main() -> None:
        first = Watch(f"ws://127.0.0.1:{port}/gate?id=waiting")
        await until(lambda: len(gates.requests) == 1)
        waiting = Watch(f"ws://127.0.0.1:{port}/echo")
        third = Watch(f"ws://127.0.0.1:{port}/echo")
        await asyncio.sleep(0.05)
        waiting.ws.close()
        await waiting.closed
        assert waiting.events == FAILED
        gates.release("waiting")
        await asyncio.gather(first.closed, third.closed)
        assert first.events == third.events == OPENED
        assert gates.count() == 2  # the closed one never connected

    run(main)


def test_waiters_go_in_order(gates: GateServer) -> None:
    port = gates.ports[0]

    async def main() -> None:
        first = Watch(f"ws://127.0.0.1:{port}/gate?id=order")
        await until(lambda: len(gates.requests) == 1)
        rest = [Watch(f"ws://127.0.0.1:{port}/echo?n={i}") for i in range(3)]
        await asyncio.sleep(0.2)
        assert gates.count() == 1
        gates.release("order")
        await asyncio.gather(first.closed, *(w.closed for w in rest))
        assert gates.requests == ["/gate?id=order", "/echo?n=0", "/echo?n=1", "/echo?n=2"]

    run(main)


def test_sockets_on_different_loops_do_not_wait_for_each_other(gates: GateServer) -> None:
    # One table per event loop (a browser has one per network context): a socket on
    # another thread's loop is not held up.
    port = gates.ports[0]
    result: list[list[tuple[str, Any]]] = []

    async def other_loop() -> None:
        watch = Watch(f"ws://127.0.0.1:{port}/echo")
        await watch.closed
        result.append(watch.events)

    async def main() -> None:
        first = Watch(f"ws://127.0.0.1:{port}/gate?id=loops")
        await until(lambda: len(gates.requests) == 1)
        thread = threading.Thread(target=asyncio.run, args=(other_loop(),))
        thread.start()
        await asyncio.to_thread(thread.join, 10)
        assert result == [OPENED]
        gates.release("loops")
        await first.closed

    run(main)


# -- Happy Eyeballs under the lock (pyws._cpython._endpoint_lock.connect_to) --------------
#
# A name that resolves to several addresses is tried address by address, each attempt
# under its own address's lock, the next one starting when the previous failed or after
# 250 ms (RFC 8305). Real listening sockets on 127.0.0.1, 127.0.0.2 and ::1 stand for
# the addresses of one name.


@pytest.fixture
def listeners() -> Iterator[dict[str, tuple[Any, ...]]]:
    """Listening sockets: their getaddrinfo() entries by name; "refused" is an entry
    where nothing listens."""
    import socket

    from support.servers import unused_port

    socks = []
    infos: dict[str, tuple[Any, ...]] = {}
    for name, family, host in (("v4", socket.AF_INET, "127.0.0.2"), ("v6", socket.AF_INET6, "::1")):
        sock = socket.socket(family)
        sock.bind((host, 0))
        sock.listen()
        socks.append(sock)
        infos[name] = (family, socket.SOCK_STREAM, 6, "", sock.getsockname())
    infos["refused"] = (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", unused_port()))
    yield infos
    for sock in socks:
        sock.close()


def _table_is_empty(loop: asyncio.AbstractEventLoop) -> bool:
    from pyws._cpython import _endpoint_lock

    endpoints = _endpoint_lock._by_loop.get(loop)
    return endpoints is None or not endpoints.waiters


def test_happy_eyeballs_skips_a_refused_address(listeners: dict[str, tuple[Any, ...]]) -> None:
    from pyws._cpython import _endpoint_lock

    async def main() -> None:
        loop = asyncio.get_running_loop()
        start = time.monotonic()
        sock, lock = await _endpoint_lock.connect_to(loop, [listeners["refused"], listeners["v4"]])
        assert time.monotonic() - start < 0.2  # a failure starts the next attempt at once
        assert sock.getpeername() == listeners["v4"][4]
        sock.close()
        lock.release()
        await asyncio.sleep(0.05)
        assert _table_is_empty(loop)

    run(main)


def test_happy_eyeballs_does_not_wait_for_a_locked_address(listeners: dict[str, tuple[Any, ...]]) -> None:
    from pyws._cpython import _endpoint_lock

    async def main() -> None:
        loop = asyncio.get_running_loop()
        v6 = listeners["v6"][4]
        held = await _endpoint_lock.acquire(loop, (v6[0], v6[1]))  # another connection's
        start = time.monotonic()
        sock, lock = await _endpoint_lock.connect_to(loop, [listeners["v6"], listeners["v4"]])
        assert 0.2 < time.monotonic() - start < 2  # the next address after 250 ms
        assert sock.getpeername() == listeners["v4"][4]
        sock.close()
        lock.release()
        held.release()
        await asyncio.sleep(0.05)
        assert _table_is_empty(loop)  # the abandoned attempt left no waiter behind

    run(main)


def test_happy_eyeballs_failure_and_cancellation(listeners: dict[str, tuple[Any, ...]]) -> None:
    from pyws._cpython import _endpoint_lock

    async def main() -> None:
        loop = asyncio.get_running_loop()
        with pytest.raises(ConnectionRefusedError):
            await _endpoint_lock.connect_to(loop, [listeners["refused"], listeners["refused"]])
        v4, v6 = listeners["v4"][4], listeners["v6"][4]
        held = [await _endpoint_lock.acquire(loop, (a[0], a[1])) for a in (v4, v6)]
        attempt = loop.create_task(_endpoint_lock.connect_to(loop, [listeners["v4"], listeners["v6"]]))
        await asyncio.sleep(0.4)  # both attempts wait for their locks
        attempt.cancel()
        with pytest.raises(asyncio.CancelledError):
            await attempt
        for lock in held:
            lock.release()
        await asyncio.sleep(0.05)
        assert _table_is_empty(loop)

    run(main)
