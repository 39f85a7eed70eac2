"""Logs a person can trust (CPython): what a server or proxy controls is escaped before it
is logged, and a user's own cancellation is not reported as a failure.

- A proxy's reason phrase with terminal escapes and a NUL (the issue's
  ``403 \\x1b[2J\\x1b[31mFAKE: all good\\x00``), a server's handshake header and reason
  phrase with C1 controls (websockets' parser lets ``obs-text`` through: U+009B is the
  8-bit CSI some terminals obey) reach the log escaped, ``repr()``-style, in pyws's records
  and in the protocol library's DEBUG records alike.
- Cancelling ``await pyws.connect(...)`` (a task's ``cancel()``, ``asyncio.wait_for``)
  logs at DEBUG, not WARNING; ``close()`` while connecting still warns, as the browser's
  console does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
from collections.abc import Iterator

import pytest
from support.scripted_server import running_scripted_server

import pyws
from pyws import WebSocket

pytestmark = pytest.mark.skipif(pyws.backend != "cpython", reason="CPython backend only")

RAW = ("\x1b", "\x00", "\x9b")  # what must never reach a log record as is


@contextlib.contextmanager
def _lying_proxy(answer: bytes) -> Iterator[int]:
    """A proxy that answers every CONNECT with ``answer``, then waits for the client to
    close."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                conn.sendall(answer)
                with contextlib.suppress(OSError):
                    while conn.recv(4096):
                        pass

    thread = threading.Thread(target=serve, daemon=True, name="lying-proxy")
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()
        thread.join(5)


def _client_records(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if not r.name.startswith("websockets.server")]


async def _fails(url: str, **options: object) -> None:
    ws = WebSocket(url, **options)
    events: list[str] = []
    ws.onerror = lambda event: events.append("error")
    await asyncio.wait_for(ws.wait_closed(), 15)
    assert events == ["error"]


def test_a_proxys_reason_phrase_is_escaped(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    answer = b"HTTP/1.1 403 \x1b[2J\x1b[31mFAKE: all good\x00\r\nContent-Length: 0\r\n\r\n"
    with _lying_proxy(answer) as port:
        asyncio.run(_fails("ws://echo.test:1/", proxy=f"http://127.0.0.1:{port}"))
    records = _client_records(caplog)
    assert not [text for text in records if any(ch in text for ch in RAW)], records
    assert any("refused to open a tunnel: 403 \\x1b[2J\\x1b[31mFAKE: all good\\x00" in text
               for text in records), records


def test_a_servers_handshake_text_is_escaped(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with running_scripted_server() as server:
        server.register("upgrade", {"handshake": {"upgrade": "\x9b2J\x9b31mFAKE"}})
        server.register("reason", {"handshake": {"status": 403, "reason": "\x9b2JFAKE: all good"}})
        asyncio.run(_fails(server.url("upgrade")))
        asyncio.run(_fails(server.url("reason")))
    records = _client_records(caplog)
    assert not [text for text in records if any(ch in text for ch in RAW)], records
    text = "\n".join(records)
    # pyws's record (websockets' message quotes the header; the server sent UTF-8, read
    # as ISO-8859-1: C2 is a printable "\xc2") ...
    assert any("the opening handshake failed: invalid Upgrade header" in record
               and "\xc2\\x9b2J\xc2\\x9b31mFAKE" in record for record in records), records
    # ... and the protocol library's DEBUG records of the response.
    assert "< Upgrade: \xc2\\x9b2J\xc2\\x9b31mFAKE" in text, text
    assert "< HTTP/1.1 403 \xc2\\x9b2JFAKE: all good" in text, text


def _stalled(server: object) -> str:
    server.register("stall", {"handshake": {"stall": True}})  # type: ignore[attr-defined]
    return server.url("stall")  # type: ignore[attr-defined,no-any-return]


def _pyws_records(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    return [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "pyws"]


def test_cancelling_connect_logs_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="pyws")

    async def main(url: str) -> None:
        task = asyncio.ensure_future(pyws.connect(url))
        await asyncio.sleep(0.3)  # connected, the server holds the handshake
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        with pytest.raises(asyncio.TimeoutError):  # the user's own timeout: the same
            await asyncio.wait_for(pyws.connect(url.replace("stall", "stall2")), 0.3)
        await asyncio.sleep(0.1)  # the sockets' close events

    with running_scripted_server() as server:
        url = _stalled(server)
        server.register("stall2", {"handshake": {"stall": True}})
        asyncio.run(main(url))
    records = _pyws_records(caplog)
    assert [level for level, _ in records] == [logging.DEBUG, logging.DEBUG], records
    assert all("connect() was cancelled before the connection was established" in text
               for _, text in records), records


def test_close_while_connecting_still_warns(caplog: pytest.LogCaptureFixture) -> None:
    """The browser's console warns ("WebSocket is closed before the connection is
    established."): close() by the script is not a cancellation of connect()."""
    caplog.set_level(logging.DEBUG, logger="pyws")

    async def main(url: str) -> None:
        ws = WebSocket(url)
        await asyncio.sleep(0.3)
        ws.close()
        await ws.wait_closed()

    with running_scripted_server() as server:
        asyncio.run(main(_stalled(server)))
    assert _pyws_records(caplog) == [(logging.WARNING, f"WebSocket connection to "
                                      f"'ws://127.0.0.1:{server.port}/s/stall' failed: close() "
                                      "was called before the connection was established")]
