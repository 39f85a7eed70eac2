"""wss:// on CPython: verified by default (system trust store, hostname, SNI).

Under Pyodide TLS belongs to the host (Chromium's or Node's trust store), which a test
cannot extend with a throwaway CA: these tests are CPython-only for that reason.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator

import pytest
from servers import tls_echo_server

import pyws
from pyws import WebSocket

pytestmark = pytest.mark.skipif(pyws.backend != "cpython", reason="TLS is the host's under Pyodide")
trustme = pytest.importorskip("trustme", reason="trustme is a test dependency (./build.sh setup)")


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def tls_server(ca: trustme.CA) -> Iterator[int]:
    """A websockets echo server on 127.0.0.1 with a certificate for 'localhost' only."""
    with tls_echo_server(ca, "localhost") as port:
        yield port


async def _echo_once(url: str, **options: object) -> list[tuple[str, object]]:
    ws = WebSocket(url, **options)
    events: list[tuple[str, object]] = []
    done = asyncio.get_running_loop().create_future()
    ws.onopen = lambda event: ws.send("over TLS")
    ws.onmessage = lambda event: (events.append(("message", event.data)), ws.close())
    ws.onerror = lambda event: events.append(("error", None))
    ws.onclose = lambda event: (events.append(("close", event.code)), done.set_result(None))
    await asyncio.wait_for(done, 20)
    return events


def test_wss_with_a_trusted_ca(ca: trustme.CA, tls_server: int) -> None:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    events = asyncio.run(_echo_once(f"wss://localhost:{tls_server}/", ssl=context))
    assert events == [("message", "over TLS"), ("close", 1005)]


def test_wss_is_verified_by_default(tls_server: int, caplog: pytest.LogCaptureFixture) -> None:
    # The default context uses the system trust store, which does not know the test CA.
    events = asyncio.run(_echo_once(f"wss://localhost:{tls_server}/"))
    assert events == [("error", None), ("close", 1006)]
    assert "CERTIFICATE_VERIFY_FAILED" in caplog.text  # the log says why; the event does not


def test_wss_checks_the_host_name(ca: trustme.CA, tls_server: int, caplog: pytest.LogCaptureFixture) -> None:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    # The same server, reached by its address: the certificate names only localhost.
    events = asyncio.run(_echo_once(f"wss://127.0.0.1:{tls_server}/", ssl=context))
    assert events == [("error", None), ("close", 1006)]
    assert "IP address mismatch" in caplog.text or "doesn't match" in caplog.text, caplog.text
