"""A socket whose event loop ends under it (CPython): closed by hand while the socket is
open, or ended by ``asyncio.run()`` before a blocking call. Real servers on 127.0.0.1
(tests/support/servers.py, and the CONNECT proxy of tests/support/proxy_server.py), on
asyncio's default loop and on uvloop; descriptors read from /proc/self/fd."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import ssl
import warnings
from collections.abc import Callable, Iterator

import pytest

import pyws
from support.leaks import FdBaseline, client_sockets
from support.proxy_server import running_proxy
from support.servers import tls_echo_server

trustme = pytest.importorskip("trustme", reason="trustme is a test dependency (./build.sh setup)")


@pytest.fixture(params=["asyncio", "uvloop"])
def loop_kind(request: pytest.FixtureRequest) -> str:
    if request.param == "uvloop":
        uvloop = pytest.importorskip("uvloop", reason="uvloop is not installed (not on Windows)")
        uvloop.new_event_loop().close()  # libuv's pipe for the whole process, made once
    return str(request.param)


def new_loop(kind: str) -> asyncio.AbstractEventLoop:
    if kind == "uvloop":
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


@contextlib.contextmanager
def route(kind: str, behaviour_server) -> Iterator[tuple[str, dict[str, object], int]]:  # type: ignore[no-untyped-def]
    """(url, options, the port the client's TCP connection goes to)."""
    if kind == "ws":
        yield f"ws://127.0.0.1:{behaviour_server.port}/echo", {}, behaviour_server.port
    elif kind == "proxy":
        with running_proxy() as proxy:
            yield (f"ws://127.0.0.1:{behaviour_server.port}/echo",
                   {"proxy": f"http://127.0.0.1:{proxy.port}"}, proxy.port)
    else:
        ca = trustme.CA()
        context = ssl.create_default_context()
        ca.configure_trust(context)
        with tls_echo_server(ca, "localhost") as port:
            yield f"wss://localhost:{port}/", {"ssl": context}, port


def close_loop(loop: asyncio.AbstractEventLoop, kind: str) -> None:
    """Close the loop by hand, as a script would; uvloop closes the transports it still
    has itself, and says so (ResourceWarning), before pyws can know."""
    if kind == "uvloop":
        with pytest.warns(ResourceWarning, match="unclosed resource <TCPTransport"):
            loop.close()
    else:
        loop.close()


async def constructed(url: str, options: dict[str, object]) -> pyws.WebSocket:
    ws = pyws.WebSocket(url, **options)
    await asyncio.wait_for(_opened(ws), 10)
    return ws


async def _opened(ws: pyws.WebSocket) -> None:
    while ws.readyState is pyws.WebSocket.CONNECTING:
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("how", ["connect", "constructor"])
@pytest.mark.parametrize("kind", ["ws", "wss", "proxy"])
def test_a_loop_closed_under_an_open_socket_closes_it_and_releases_it(  # type: ignore[no-untyped-def]
        loop_kind: str, kind: str, how: str, behaviour_server, caplog, no_leaks) -> None:
    with route(kind, behaviour_server) as (url, options, port):
        baseline = FdBaseline()
        loop = new_loop(loop_kind)
        make: Callable[[], object] = (lambda: pyws.connect(url, **options)) if how == "connect" \
            else (lambda: constructed(url, options))
        ws = loop.run_until_complete(make())  # type: ignore[arg-type]
        assert ws.readyState is pyws.WebSocket.OPEN
        assert len(client_sockets(port)) == 1
        close_loop(loop, loop_kind)
        del loop
        with caplog.at_level(logging.WARNING, "pyws"):
            assert ws.readyState is pyws.WebSocket.CLOSED  # noticed here
            assert client_sockets(port) == []
            ws.send("after the loop")  # the standard's CLOSED rule: nothing sent, counted
            assert ws.bufferedAmount >= len("after the loop")
            ws.close()  # a no-op
            ws.close(1000)
            with pytest.raises(pyws.WebSocketError) as info:
                ws.recv_sync(timeout=5)
            with pytest.raises(pyws.WebSocketError) as awaited:
                asyncio.run(ws.recv())
            event = ws.wait_closed_sync(timeout=5)
        for error in (info.value, awaited.value):
            assert (error.closeCode, error.wasClean) == (1006, False)
            assert "the event loop it lived on was closed while it was open" in error.message
        assert (event.code, event.wasClean) == (1006, False)
        warned = [r for r in caplog.records if r.name == "pyws" and r.levelno == logging.WARNING]
        assert len(warned) == 1, caplog.text
        assert "the event loop it lived on was closed while it was open" in warned[0].getMessage()
        del ws
        gc.collect()
        baseline.assert_back()


def test_send_is_what_notices_a_closed_loop(loop_kind: str, behaviour_server, caplog,  # type: ignore[no-untyped-def]
                                            no_leaks) -> None:
    loop = new_loop(loop_kind)
    ws = loop.run_until_complete(pyws.connect(f"ws://127.0.0.1:{behaviour_server.port}/echo"))
    close_loop(loop, loop_kind)
    with caplog.at_level(logging.WARNING, "pyws"):
        ws.send("x")  # asyncio's "Event loop is closed" before: now no exception
        assert "was closed while it was open" in caplog.text  # noticed by send()
        assert ws.readyState is pyws.WebSocket.CLOSED
    del ws, loop
    gc.collect()


def test_recv_sync_after_asyncio_run_says_the_loop_ended(loop_kind: str, behaviour_server) -> None:  # type: ignore[no-untyped-def]
    runner = asyncio.run
    if loop_kind == "uvloop":
        import uvloop

        runner = uvloop.run

    async def main() -> pyws.WebSocket:
        return await pyws.connect(f"ws://127.0.0.1:{behaviour_server.port}/echo")

    ws = runner(main())  # asyncio.run() closed it with 1001 as it ended
    with pytest.raises(pyws.WebSocketError) as info:
        ws.recv_sync(timeout=5)
    assert info.value.closeCode == 1001
    assert info.value.message == (
        "the WebSocket is closed (code 1001); the event loop it lived on has ended, so nothing "
        "more can arrive: to block on a socket from code outside any event loop, open it there "
        "with pyws.connect_sync() (or WebSocket()); to use one made inside asyncio.run(), "
        "await it inside that coroutine")
    assert ws.wait_closed_sync(timeout=5).code == 1001


def test_recv_sync_on_a_loop_that_is_not_running_says_so(behaviour_server) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.new_event_loop()
    try:
        ws = loop.run_until_complete(pyws.connect(f"ws://127.0.0.1:{behaviour_server.port}/echo"))
        with pytest.raises(RuntimeError, match="lives on an event loop that is not running"):
            ws.recv_sync(timeout=5)
        ws.close()
        loop.run_until_complete(ws.wait_closed())
    finally:
        with warnings.catch_warnings():
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
