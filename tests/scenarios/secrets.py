"""Secrets and argument checks that hold in every runtime (the facade's shared code).

Run by tests/security/test_validation.py on CPython (asyncio) and in Pyodide (Node, a Chromium
page, a Chromium worker), against the behaviour server of tests/support/servers.py.
"""

from __future__ import annotations

import asyncio
import logging

import pyws
from pyws import WebSocket

from .trace import Trace


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


async def repr_and_logs_mask_the_password(server: str, refused: str) -> None:
    """The URL keeps its credentials (the standard); repr() and the log do not show the
    password. The behaviour server asks for no credentials: the socket just opens."""
    url = server.replace("ws://", "ws://alice:s3cret@", 1) + "/echo"
    records = _Records()
    logger = logging.getLogger("pyws")
    logger.addHandler(records)
    try:
        ws = WebSocket(url)
        assert ws.url == url, ws.url
        assert "s3cret" not in repr(ws) and "ws://alice:***@" in repr(ws), repr(ws)

        def boom(event: pyws.MessageEvent) -> None:
            raise RuntimeError("a listener's own bug")

        ws.addEventListener("message", boom)
        trace = Trace(ws)
        await trace.wait_for("open")
        ws.send("hello")
        await trace.wait_for("message")
        ws.close()
        await trace.closed()
    finally:
        logger.removeHandler(records)
    logged = "\n".join(records.messages)
    assert "Uncaught exception in a 'message' listener of <pyws.WebSocket " \
           "url='ws://alice:***@" in logged, logged
    assert "s3cret" not in logged, logged


async def bad_options_raise_in_the_constructor(server: str, refused: str) -> None:
    """Each bad option raises from the constructor (and from connect(), before any
    await), naming the option and the character, never the value around it."""
    cases = [
        ({"origin": "https://app.example\n"}, ValueError, "origin option contains U+000A"),
        ({"headers": {"X-Price": "5 €"}}, ValueError, "U+20AC"),
        ({"headers": {"Authorization": "Bearer s3cret\x1b"}}, ValueError, "U+001B"),
        ({"headers": {"X-Bad Name": "x"}}, ValueError, "not an HTTP token"),
        ({"headers": [("X-A", "b")]}, TypeError, "headers must be a mapping"),
        ({"open_timeout": "5"}, TypeError, "open_timeout must be a number"),
        ({"close_timeout": -1}, ValueError, "close_timeout must be a finite number"),
        ({"max_size": 0}, ValueError, "max_size must be at least 1"),
        ({"compression": "gzip"}, ValueError, "compression must be"),
    ]
    for options, error, words in cases:
        for make in (lambda: WebSocket(server + "/echo", **options),
                     lambda: pyws.connect(server + "/echo", **options)):
            try:
                make()
            except error as exc:
                assert words in str(exc), (options, str(exc))
                assert "s3cret" not in str(exc), str(exc)
            else:
                raise AssertionError(f"{options} was accepted")
    await asyncio.sleep(0)


SCENARIOS = [
    name for name, value in sorted(globals().items())
    if asyncio.iscoroutinefunction(value) and not name.startswith("_")
]
