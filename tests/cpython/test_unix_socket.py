"""The ``unix_socket`` option on CPython: a ``ws://`` (or ``wss://``) URL reached through a
Unix domain socket path, against websockets' own server on a path in tmp_path
(``websockets.asyncio.server.unix_serve``). Never through a proxy; RFC 6455 section 4.1's
endpoint lock is keyed by the path.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pathlib
import socket
import ssl
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, unix_serve
from websockets.exceptions import ConnectionClosed

from support.held_server import running_held_server
from support.server_thread import server_thread

import pyws
from pyws import WebSocket

pytestmark = [pytest.mark.skipif(pyws.backend != "cpython", reason="CPython backend only"),
              pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no Unix domain sockets"),
              pytest.mark.usefixtures("no_leaks")]


async def greet_then_echo(connection: ServerConnection) -> None:
    """Send what the request was (Host, path), then echo."""
    request = connection.request
    assert request is not None
    await connection.send(json.dumps({"host": request.headers["Host"], "path": request.path}))
    try:
        async for message in connection:
            await connection.send(message)
    except ConnectionClosed:
        pass


def _short_path(tmp_path: pathlib.Path, name: str) -> str:
    """A socket path under the 108-byte limit of sun_path, even for a deep tmp_path."""
    path = tmp_path / name
    return str(path) if len(str(path)) < 100 else f"/tmp/pyws-{os.getpid()}-{name}"


@contextlib.contextmanager
def unix_server(path: str, ssl_context: ssl.SSLContext | None = None) -> Iterator[str]:
    """websockets' server on the Unix socket ``path``, its own loop and thread."""
    @contextlib.asynccontextmanager
    async def serving() -> AsyncIterator[str]:
        async with unix_serve(greet_then_echo, path, ssl=ssl_context):
            yield path

    try:
        with server_thread(serving, "unix-server"):
            yield path
    finally:
        if os.path.exists(path):
            os.unlink(path)


@pytest.fixture
def path(tmp_path: pathlib.Path) -> Iterator[str]:
    """A running server's socket path."""
    with unix_server(_short_path(tmp_path, "ws.sock")) as path:
        yield path


async def _visit(url: str, **options: Any) -> tuple[list[tuple[str, Any]], dict[str, str]]:
    """Open, read the server's greeting, send one message, close on its echo."""
    ws = WebSocket(url, **options)
    events: list[tuple[str, Any]] = []
    greeting: dict[str, str] = {}
    done = asyncio.get_running_loop().create_future()

    def message(event: Any) -> None:
        if not greeting:
            greeting.update(json.loads(event.data))
            ws.send("over the Unix socket")
        else:
            events.append(("message", event.data))
            ws.close()

    ws.onmessage = message
    ws.onerror = lambda event: events.append(("error", None))
    ws.onclose = lambda event: (events.append(("close", event.code)), done.set_result(None))
    await asyncio.wait_for(done, 20)
    await asyncio.sleep(0.02)  # the transport finishes closing
    return events, greeting


def visit(url: str, **options: Any) -> tuple[list[tuple[str, Any]], dict[str, str]]:
    return asyncio.run(_visit(url, **options))


ECHOED = [("message", "over the Unix socket"), ("close", 1005)]
FAILED = [("error", None), ("close", 1006)]


# -- connecting ----------------------------------------------------------------------------


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_ws_through_a_unix_socket(path: str, loop: str) -> None:
    coro = _visit("ws://app.internal/v1/events?x=1", unix_socket=path)
    if loop == "uvloop":
        events, greeting = pytest.importorskip("uvloop").run(coro)
    else:
        events, greeting = asyncio.run(coro)
    assert events == ECHOED
    # The URL gives the request: Host and the resource, not the path of the socket.
    assert greeting == {"host": "app.internal", "path": "/v1/events?x=1"}


def test_a_path_object(path: str) -> None:
    events, greeting = visit("ws://localhost:8080/", unix_socket=pathlib.Path(path))
    assert events == ECHOED
    assert greeting["host"] == "localhost:8080"


def test_wss_through_a_unix_socket_checks_the_urls_host(tmp_path: pathlib.Path) -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("app.internal").configure_cert(server_tls)
    names: list[str | None] = []
    server_tls.sni_callback = lambda sslobj, name, context: names.append(name)  # type: ignore[assignment,misc]
    client_tls = ssl.create_default_context()
    ca.configure_trust(client_tls)
    with unix_server(_short_path(tmp_path, "wss.sock"), server_tls) as path:
        events, _ = visit("wss://app.internal/", unix_socket=path, ssl=client_tls)
        assert events == ECHOED
        assert names == ["app.internal"]
        # A certificate for another name than the URL's host fails.
        events, _ = visit("wss://other.internal/", unix_socket=path, ssl=client_tls)
        assert events == FAILED


def test_a_missing_path_fails_the_connection(tmp_path: pathlib.Path,
                                             caplog: pytest.LogCaptureFixture) -> None:
    missing = str(tmp_path / "missing.sock")
    events, _ = visit("ws://localhost/", unix_socket=missing)
    assert events == FAILED
    [record] = [r for r in caplog.records if r.name == "pyws"]
    assert (f"FileNotFoundError: [Errno 2] No such file or directory: '{missing}'"
            in record.getMessage())


def test_nothing_listening_on_the_path(tmp_path: pathlib.Path, caplog: pytest.LogCaptureFixture) -> None:
    stale = _short_path(tmp_path, "stale.sock")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(stale)  # a socket file nobody listens on (a server that died)
    events, _ = visit("ws://localhost/", unix_socket=stale)
    assert events == FAILED
    assert f"ConnectionRefusedError: [Errno 111] Connection refused: '{stale}'" in caplog.text
    os.unlink(stale)


# -- proxies --------------------------------------------------------------------------------


def test_never_through_an_environment_proxy(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "all_proxy"):  # a proxy that would fail every connection
        monkeypatch.setenv(name, "http://127.0.0.1:1")
    monkeypatch.delenv("no_proxy", raising=False)
    events, _ = visit("ws://app.internal/", unix_socket=path)
    assert events == ECHOED


def test_an_explicit_proxy_is_refused() -> None:
    with pytest.raises(ValueError, match="unix_socket and proxy cannot be used together"):
        WebSocket("ws://localhost/", unix_socket="/run/app.sock", proxy="socks5h://127.0.0.1:1080")
    for proxy in (None, False, True):  # no proxy, or the environment's (not used)
        options = pyws.Options.from_kwargs({"unix_socket": "/run/app.sock", "proxy": proxy})
        assert options.unix_socket == "/run/app.sock"


# -- the endpoint lock (RFC 6455 section 4.1), keyed by the path --------------------------


@pytest.mark.parametrize("second", ["same path", "symbolic link", "another path"])
def test_the_endpoint_lock_is_the_paths(tmp_path: pathlib.Path, second: str) -> None:
    first_path = _short_path(tmp_path, "held.sock")
    other_path = _short_path(tmp_path, "other.sock")
    link = _short_path(tmp_path, "link.sock")
    with running_held_server(first_path) as server, running_held_server(other_path) as other:
        os.symlink(first_path, link)
        target = {"same path": first_path, "symbolic link": link, "another path": other_path}[second]

        async def main() -> None:
            first = WebSocket("ws://a.internal/", unix_socket=first_path)
            while server.arrived < 1:
                await asyncio.sleep(0.01)
            # Another name in the URL changes nothing: the path is the endpoint.
            later = WebSocket("ws://b.internal/", unix_socket=target)
            await asyncio.sleep(0.3)
            arrived = server.arrived + other.arrived
            if second == "another path":
                assert arrived == 2  # not held up
            else:
                assert arrived == 1  # waits until the first is open
            server.release()
            other.release()
            for ws in (first, later):
                while ws.readyState != WebSocket.OPEN:
                    await asyncio.sleep(0.01)
            assert server.arrived + other.arrived == 2
            closed = [asyncio.get_running_loop().create_future() for _ in range(2)]
            for ws, future in zip((first, later), closed):
                ws.onclose = lambda event, future=future: future.set_result(event.code)
                ws.close()
            assert await asyncio.gather(*closed) == [1005, 1005]

        asyncio.run(asyncio.wait_for(main(), 20))
        os.unlink(link)


# -- bad values ----------------------------------------------------------------------------


@pytest.mark.parametrize("value, error, message", [
    (8080, TypeError, "unix_socket must be a path (str or os.PathLike of str) or None, not int"),
    (b"/run/app.sock", TypeError, "unix_socket must be a path (str or os.PathLike of str) or None, not bytes"),
    ("", ValueError, "unix_socket must be a non-empty path"),
])
def test_bad_unix_socket_values(value: object, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        WebSocket("ws://localhost/", unix_socket=value)
