"""Bad input fails at once: every option is checked where it is given, by the constructor
and by ``connect()``, with the rules the wire applies, before anything touches the
network; the message names the option and the offending character, never the secret
around it.

The shared checks also run in every Pyodide runtime (tests/scenarios/secrets.py), with
the password masking of ``repr()`` and of the listener-exception log record.
"""

from __future__ import annotations

import asyncio
import json
import math
import socket
import ssl
from collections.abc import Iterator

import pytest
from scenarios import secrets

import pyws
from pyws import WebSocket

cpython_only = pytest.mark.skipif(pyws.backend != "cpython", reason="CPython backend only")

SECRET = "s3cret-value"

#: (options, exception, words the message must contain)
BAD_OPTIONS = [
    ({"origin": "https://app.example\n"}, ValueError, "the origin option contains U+000A '\\n'"),
    ({"origin": "https://app.example\x1b"}, ValueError, "U+001B '\\x1b'"),
    ({"origin": b"https://app.example"}, TypeError, "origin must be a str or None"),
    ({"headers": {"X-Price": "5 €"}}, ValueError,
     "headers: the value of 'X-Price' contains U+20AC '€' at position 2"),
    ({"headers": {"Authorization": f"Bearer {SECRET}\x1b[2J"}}, ValueError,
     "the value of 'Authorization' contains U+001B '\\x1b' at position 19: a control character"),
    ({"headers": {"Cookie": f"id={SECRET}\x00"}}, ValueError, "U+0000 '\\x00'"),
    ({"headers": {"X-Split": f"{SECRET}\r\nInjected: 1"}}, ValueError, "a line break"),
    ({"headers": {"X-Del": "a\x7f"}}, ValueError, "U+007F '\\x7f'"),
    ({"headers": {"X Name": "x"}}, ValueError, "'X Name' is not an HTTP token (it contains U+0020"),
    ({"headers": {"X-É": "x"}}, ValueError, "U+00C9 'É'"),
    ({"headers": {"": "x"}}, ValueError, "not an HTTP token (it is empty)"),
    ({"headers": {"Sec-WebSocket-Key": "x"}}, ValueError, "the WebSocket handshake sets it"),
    ({"headers": {"X-Number": 5}}, TypeError, "headers must map str to str"),
    ({"headers": [("X-A", "b")]}, TypeError, "headers must be a mapping of str to str, not list"),
    ({"open_timeout": "5"}, TypeError, "open_timeout must be a number of seconds or None, not str"),
    ({"open_timeout": True}, TypeError, "open_timeout must be a number"),
    ({"open_timeout": -1}, ValueError, "open_timeout must be a finite number of seconds >= 0"),
    ({"open_timeout": math.nan}, ValueError, "open_timeout must be a finite number"),
    ({"close_timeout": math.inf}, ValueError, "close_timeout must be a finite number"),
    ({"max_size": 0}, ValueError, "max_size must be at least 1 byte"),
    ({"max_size": 1.5}, TypeError, "max_size must be an int (bytes) or None, not float"),
    ({"max_size": "1"}, TypeError, "max_size must be an int"),
    ({"compression": "gzip"}, ValueError, 'compression must be "deflate" or None'),
    ({"proxy": 3128}, TypeError, "proxy must be a proxy URL"),
]

#: CPython only: what its backend checks (the Pyodide backend refuses these options).
BAD_CPYTHON_OPTIONS = [
    ({"ssl": "yes"}, TypeError, "ssl must be an ssl.SSLContext or None"),
    ({"proxy": f"http://bob:{SECRET}@127.0.0.1:3128/corp"}, ValueError,
     "proxy: the proxy URL 'http://bob:***@127.0.0.1:3128/corp' must have no path"),
    ({"proxy": f"http://bob:{SECRET}@127.0.0.1:99999"}, ValueError,
     "'http://bob:***@127.0.0.1:99999' is not a valid proxy URL (the port must be a number"),
    ({"proxy": f"bob:{SECRET}@a b.example:3128"}, ValueError,
     "the proxy URL 'http://bob:***@a b.example:3128' has an invalid host"),
]


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A TCP listener on 127.0.0.1 that must never see a connection."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        sock.setblocking(False)
        yield sock


def _raises_at_once(url: str, options: dict[str, object], error: type[Exception],
                    words: str) -> None:
    for make in (lambda: WebSocket(url, **options), lambda: pyws.connect(url, **options)):
        with pytest.raises(error) as caught:
            make()  # connect() raises at the call, before any await
        assert words in str(caught.value), str(caught.value)
        assert SECRET not in str(caught.value), str(caught.value)


@cpython_only
@pytest.mark.parametrize(("options", "error", "words"), BAD_OPTIONS + BAD_CPYTHON_OPTIONS,
                         ids=lambda value: repr(value)[:40])
def test_bad_option_raises_in_the_constructor(options: dict[str, object], error: type[Exception],
                                              words: str, listener: socket.socket) -> None:
    port = listener.getsockname()[1]

    async def main() -> None:
        _raises_at_once(f"ws://127.0.0.1:{port}/", options, error, words)
        await asyncio.sleep(0.1)  # a connection attempt, if one had started, would be in

    asyncio.run(main())
    with pytest.raises(BlockingIOError):  # nobody connected: no network round trip
        listener.accept()


@cpython_only
def test_a_bad_url_never_shows_its_password() -> None:
    with pytest.raises(pyws.DOMSyntaxError) as caught:
        WebSocket(f"ws://alice:{SECRET}/x@127.0.0.1:1/")  # '/' in a password: unparsable
    assert SECRET not in str(caught.value), str(caught.value)
    assert "The URL 'ws://alice:***@127.0.0.1:1/' is invalid." in str(caught.value)


@cpython_only
def test_obs_text_is_sent_as_single_bytes(behaviour_server) -> None:
    """U+0080-U+00FF are field-value characters (obs-text): accepted, sent as one
    ISO-8859-1 byte each, whatever the websockets release (14-16 would send UTF-8);
    tab and space inside a value pass too."""
    async def main() -> dict[str, str]:
        ws = await pyws.connect(f"ws://127.0.0.1:{behaviour_server.port}/headers",
                                headers={"X-Name": "Jos\xe9\tM\xfcller"}, origin="null")
        sent = json.loads(await ws.recv())
        await ws.wait_closed()
        return sent

    sent = asyncio.run(main())
    # The server decodes header bytes as ISO-8859-1: one byte each gives back the text.
    assert sent["x-name"] == "Jos\xe9\tM\xfcller", sent
    assert sent["origin"] == "null"


@cpython_only
def test_what_is_checked_is_what_is_sent(behaviour_server) -> None:
    """The constructor keeps a checked copy of ``headers``: changing the caller's dict
    afterwards cannot put a line break on the wire."""
    headers = {"X-A": "1"}

    async def main() -> dict[str, str]:
        ws = WebSocket(f"ws://127.0.0.1:{behaviour_server.port}/headers", headers=headers)
        headers["X-A"] = "1\r\nInjected: yes"
        messages: list[str] = []
        ws.onmessage = lambda event: messages.append(event.data)
        await ws.wait_closed()
        return json.loads(messages[0])

    sent = asyncio.run(main())
    assert sent["x-a"] == "1" and "injected" not in sent, sent


@cpython_only
def test_the_command_line_reports_a_bad_origin_as_usage() -> None:
    from pyws._cli import EXIT_USAGE, main

    assert main(["ws://127.0.0.1:9/", "--origin", "https://app.example\x1b", "-x", "hi"]) == EXIT_USAGE


def test_a_valid_unusual_value_is_accepted() -> None:
    """Every field-value character is accepted: no false alarm (the options are only
    checked; the socket is closed at once)."""
    if pyws.backend != "cpython":
        pytest.skip("the Pyodide backend refuses headers as a whole")

    async def main() -> None:
        ws = WebSocket("ws://127.0.0.1:9/", headers={"X-All": "".join(
            map(chr, [9, *range(0x20, 0x7F), *range(0x80, 0x100)]))}, origin="", open_timeout=0,
            close_timeout=0.0, max_size=1, ssl=ssl.create_default_context())
        ws.close()
        await ws.wait_closed()

    asyncio.run(main())


# -- every runtime ---------------------------------------------------------------------


@pytest.mark.parametrize("scenario", secrets.SCENARIOS)
def test_cpython(scenario: str, behaviour_server, refused_url: str) -> None:
    base = f"ws://127.0.0.1:{behaviour_server.port}"
    asyncio.run(asyncio.wait_for(getattr(secrets, scenario)(base, refused_url), 30))


@pytest.mark.parametrize("scenario", secrets.SCENARIOS)
def test_pyodide(scenario: str, pyodide_runtime, behaviour_server, refused_url: str) -> None:
    base = f"ws://127.0.0.1:{behaviour_server.port}"
    pyodide_runtime.run_async(f"await scenarios.secrets.{scenario}({base!r}, {refused_url!r})",
                              timeout=30)
