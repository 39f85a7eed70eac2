"""Each TLS failure logs its real reason (CPython, asyncio and uvloop), against real local
TLS servers: an unknown CA, a host name mismatch, an expired certificate (trustme
certificates), a server that only speaks TLS 1.1 (and sends the ``protocol_version``
alert, as OpenSSL servers do), an asyncio TLS 1.1 server (which closes the connection
without a word), and an HTTP server on a wss:// URL. The script still sees only what the
browser shows: ``error``, then ``close`` 1006.

An ``ssl=`` context with verification turned off logs one WARNING per process (checked
in fresh processes: the warning is once per process).

TLS 1.1 needs ``@SECLEVEL=0`` on the server with OpenSSL 3 (SHA-1 signatures); the
test skips if the local OpenSSL cannot offer TLS 1.1 at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import http.server
import logging
import socket
import ssl
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from support.servers import tls_echo_server

import pyws
from pyws import WebSocket

pytestmark = pytest.mark.skipif(pyws.backend != "cpython", reason="TLS is the host's under Pyodide")
trustme = pytest.importorskip("trustme", reason="trustme is a test dependency (./build.sh setup)")

LOOPS = ["asyncio", "uvloop"]


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def _trusting(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


def _tls11_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("localhost").configure_cert(context)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.1 is, on purpose
        try:
            context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_1
            context.set_ciphers("DEFAULT:@SECLEVEL=0")
        except (ValueError, ssl.SSLError) as exc:
            pytest.skip(f"this OpenSSL cannot offer TLS 1.1: {exc}")
    return context


@contextlib.contextmanager
def _blocking_tls11_server(ca: trustme.CA) -> Iterator[int]:
    """A TLS 1.1-only server on plain sockets: it reads the client's hello, answers with
    OpenSSL's ``protocol_version`` alert and closes the connection cleanly."""
    context = _tls11_context(ca)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:  # closed: the test is over
                return
            with conn:
                with contextlib.suppress(OSError):
                    context.wrap_socket(conn, server_side=True)

    thread = threading.Thread(target=serve, daemon=True, name="tls11-server")
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()
        thread.join(5)


@contextlib.contextmanager
def _asyncio_tls11_server(ca: trustme.CA) -> Iterator[int]:
    """A TLS 1.1-only asyncio server: its failed handshake just drops the connection."""
    context = _tls11_context(ca)
    loop = asyncio.new_event_loop()
    ports: list[int] = []
    started = threading.Event()
    stop = loop.create_future()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context)
        ports.append(server.sockets[0].getsockname()[1])
        started.set()
        async with server:
            await stop

    def run() -> None:
        # The server's failed handshakes are logged by asyncio: not the client's business.
        loop.set_exception_handler(lambda loop, context: None)
        loop.run_until_complete(main())

    thread = threading.Thread(target=run, daemon=True, name="asyncio-tls11-server")
    thread.start()
    assert started.wait(10)
    try:
        yield ports[0]
    finally:
        loop.call_soon_threadsafe(stop.set_result, None)
        thread.join(10)
        loop.close()


@contextlib.contextmanager
def _http_server() -> Iterator[int]:
    """A plain HTTP server (the standard library's): it answers a TLS hello with 400."""
    class Quiet(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True, name="http-server")
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def _run(loop_kind: str, coro: Any) -> Any:
    if loop_kind == "uvloop":
        uvloop = pytest.importorskip("uvloop", reason="uvloop is not installed (not on Windows)")
        return uvloop.run(coro)
    return asyncio.run(coro)


async def _events(url: str, **options: Any) -> list[tuple[str, object]]:
    ws = WebSocket(url, **options)
    events: list[tuple[str, object]] = []
    ws.onopen = lambda event: events.append(("open", None))
    ws.onerror = lambda event: events.append(("error", None))
    ws.onclose = lambda event: events.append(("close", event.code))
    await asyncio.wait_for(ws.wait_closed(), 20)
    return events


def _failure(loop_kind: str, url: str, caplog: pytest.LogCaptureFixture, **options: Any) -> str:
    """Connect; the events must be the browser's; return the one pyws WARNING."""
    caplog.set_level(logging.INFO, logger="pyws")
    assert _run(loop_kind, _events(url, **options)) == [("error", None), ("close", 1006)]
    records = [r for r in caplog.records if r.name == "pyws"]
    assert len(records) == 1 and records[0].levelno == logging.WARNING, \
        [r.getMessage() for r in records]
    message = records[0].getMessage()
    assert message.startswith(f"WebSocket connection to '{url}' failed: TLS handshake failed: ")
    return message


@pytest.mark.parametrize("loop_kind", LOOPS)
def test_unknown_ca(loop_kind: str, ca: trustme.CA, caplog: pytest.LogCaptureFixture) -> None:
    with tls_echo_server(ca, "localhost") as port:
        message = _failure(loop_kind, f"wss://localhost:{port}/", caplog)
    assert "the server's certificate is not issued by a trusted certificate authority" in message
    assert "unable to get local issuer certificate" in message  # OpenSSL's words, kept
    assert "ssl=ssl.create_default_context(cafile=...)" in message


@pytest.mark.parametrize("loop_kind", LOOPS)
def test_host_name_mismatch(loop_kind: str, ca: trustme.CA,
                            caplog: pytest.LogCaptureFixture) -> None:
    with tls_echo_server(ca, "localhost") as port:
        message = _failure(loop_kind, f"wss://127.0.0.1:{port}/", caplog, ssl=_trusting(ca))
    assert "the server's certificate is not valid for 127.0.0.1" in message


@pytest.mark.parametrize("loop_kind", LOOPS)
def test_expired_certificate(loop_kind: str, ca: trustme.CA,
                             caplog: pytest.LogCaptureFixture) -> None:
    now = datetime.datetime.now(datetime.timezone.utc)
    with tls_echo_server(ca, "localhost", not_before=now - datetime.timedelta(days=30),
                         not_after=now - datetime.timedelta(days=1)) as port:
        message = _failure(loop_kind, f"wss://localhost:{port}/", caplog, ssl=_trusting(ca))
    assert "the server's certificate has expired" in message


@pytest.mark.parametrize("loop_kind", LOOPS)
def test_a_tls11_only_server_that_sends_its_alert(loop_kind: str, ca: trustme.CA,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    with _blocking_tls11_server(ca) as port:
        message = _failure(loop_kind, f"wss://localhost:{port}/", caplog, ssl=_trusting(ca))
    assert "the server supports none of the TLS versions this client offers (TLS 1.2 and " \
           "later; TLS 1.0 and 1.1 are refused, as browsers refuse them)" in message
    assert "TLSV1_ALERT_PROTOCOL_VERSION" in message


@pytest.mark.parametrize("loop_kind", LOOPS)
def test_a_tls11_only_server_that_just_closes(loop_kind: str, ca: trustme.CA,
                                              caplog: pytest.LogCaptureFixture) -> None:
    with _asyncio_tls11_server(ca) as port:
        message = _failure(loop_kind, f"wss://localhost:{port}/", caplog, ssl=_trusting(ca))
    assert "the server closed the connection during the TLS handshake: it supports no TLS " \
           "version or cipher this client offers (TLS 1.2 and later)" in message


@pytest.mark.parametrize("loop_kind", LOOPS)
def test_a_server_that_does_not_speak_tls(loop_kind: str, caplog: pytest.LogCaptureFixture) -> None:
    with _http_server() as port:
        message = _failure(loop_kind, f"wss://127.0.0.1:{port}/", caplog)
    assert "the server did not answer with TLS (a ws:// server on a wss:// URL?)" in message


# -- verification turned off ----------------------------------------------------------------

SCRIPT = """
import asyncio, logging, ssl, sys
logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
import pyws
context = ssl.create_default_context()
if sys.argv[2] != "default":
    context.check_hostname = False
if sys.argv[2] == "none":
    context.verify_mode = ssl.CERT_NONE
elif len(sys.argv) > 3:
    context.load_verify_locations(sys.argv[3])

async def main():
    for _ in range(3):
        ws = pyws.WebSocket(sys.argv[1], ssl=context)
        ws.onopen = lambda event, ws=ws: ws.close()
        event = await ws.wait_closed()
        print(event.code)

asyncio.run(main())
"""


@pytest.mark.parametrize(("mode", "host", "warning"), [
    ("none", "localhost", "does not verify the server's certificate or host name "
                          "(verify_mode=CERT_NONE, check_hostname=False)"),
    ("no-hostname", "127.0.0.1", "does not verify the server's host name "
                                 "(verify_mode=CERT_REQUIRED, check_hostname=False)"),
    ("default", "localhost", None),
])
def test_verification_turned_off_warns_once_per_process(
        mode: str, host: str, warning: str | None, ca: trustme.CA, tmp_path: Any) -> None:
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    with tls_echo_server(ca, "localhost") as port:
        done = subprocess.run([sys.executable, "-c", SCRIPT, f"wss://{host}:{port}/", mode,
                               str(ca_file)], capture_output=True, text=True, timeout=60)
    # Each of the three sockets opened (closed by the script with 1005), verified or not.
    assert done.stdout.split() == ["1005"] * 3, (done.stdout, done.stderr)
    warnings_seen = [line for line in done.stderr.splitlines() if line.startswith("WARNING pyws")]
    if warning is None:
        assert warnings_seen == [], done.stderr
    else:
        assert len(warnings_seen) == 1 and warning in warnings_seen[0], done.stderr
