"""wss:// on CPython: verified by default (system trust store, host name, validity dates).

A failed verification gives what the browser gives: ``error``, then ``close`` 1006, with
nothing in the events that says why (a page cannot tell a TLS failure from a refused
connection); the ``pyws`` logger says why, like the browser's console. Each failure is
checked for its log record and for leaving nothing behind (tests/support/leaks.py).

A private CA is trusted with the ``ssl`` option (an ``ssl.SSLContext``, e.g.
``ssl.create_default_context(cafile="ca.pem")``) or, with no code, through OpenSSL's
``SSL_CERT_FILE`` for the default context.

Under Pyodide TLS belongs to the host (Chromium's or Node's trust store), which a test
cannot extend with a throwaway CA: these tests are CPython-only for that reason.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import os
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.exchange import echo_once
from support.leaks import ErrorLogs, FdBaseline, LoopErrors, client_sockets
from support.servers import tls_echo_server

import pyws

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


@pytest.fixture(scope="module")
def expired_server(ca: trustme.CA) -> Iterator[int]:
    """The same with a certificate for 'localhost' that expired yesterday."""
    now = datetime.datetime.now(datetime.timezone.utc)
    with tls_echo_server(ca, "localhost", not_before=now - datetime.timedelta(days=30),
                         not_after=now - datetime.timedelta(days=1)) as port:
        yield port


def trusting(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


def test_wss_with_a_trusted_ca(ca: trustme.CA, tls_server: int) -> None:
    events = asyncio.run(echo_once(f"wss://localhost:{tls_server}/", "over TLS", ssl=trusting(ca)))
    assert events == [("message", "over TLS"), ("close", 1005)]


def test_wss_with_a_ca_file(ca: trustme.CA, tls_server: int, tmp_path: Path) -> None:
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    context = ssl.create_default_context(cafile=str(ca_file))
    events = asyncio.run(echo_once(f"wss://localhost:{tls_server}/", "over TLS", ssl=context))
    assert events == [("message", "over TLS"), ("close", 1005)]


def test_wss_ca_file_from_ssl_cert_file(ca: trustme.CA, tls_server: int, tmp_path: Path) -> None:
    """No code: OpenSSL's SSL_CERT_FILE reaches pyws's default context (a fresh process:
    the default context is made once)."""
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    url = f"wss://localhost:{tls_server}/"
    env = {**os.environ, "SSL_CERT_FILE": str(ca_file)}
    done = subprocess.run([sys.executable, "-m", "pyws", url, "-x", "over TLS", "-n", "1"],
                          capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    assert "< over TLS" in done.stdout
    # And without it, the same command fails verification.
    env.pop("SSL_CERT_FILE")
    done = subprocess.run([sys.executable, "-m", "pyws", url, "-x", "over TLS", "-n", "1"],
                          capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 1, (done.stdout, done.stderr)


#: case -> (what the pyws log must say, which server, trust the test CA?, host)
FAILURES = {
    "unknown_ca": ("certificate verify failed: unable to get local issuer certificate",
                   "tls_server", False, "localhost"),
    "hostname_mismatch": ("certificate verify failed: IP address mismatch, certificate is not "
                          "valid for '127.0.0.1'", "tls_server", True, "127.0.0.1"),
    "expired": ("certificate verify failed: certificate has expired", "expired_server", True,
                "localhost"),
}


@pytest.mark.parametrize("case", list(FAILURES))
def test_wss_verification_failure(case: str, ca: trustme.CA, request: pytest.FixtureRequest,
                                  caplog: pytest.LogCaptureFixture) -> None:
    why, server, trust, host = FAILURES[case]
    port = request.getfixturevalue(server)
    url = f"wss://{host}:{port}/"
    options = {"ssl": trusting(ca)} if trust else {}
    caplog.set_level(logging.INFO, logger="pyws")
    baseline = FdBaseline()
    loop_errors = LoopErrors()

    async def main() -> tuple[list[tuple[str, object]], list[int]]:
        loop_errors.install()
        tasks = set(asyncio.all_tasks())
        events = await echo_once(url, "over TLS", **options)
        for _ in range(3):
            await asyncio.sleep(0)
        assert set(asyncio.all_tasks()) == tasks, "tasks left on the loop"
        return events, client_sockets(port)

    with ErrorLogs() as error_logs:
        events, sockets_left = asyncio.run(main())
    # The events say nothing more than the browser's.
    assert events == [("error", None), ("close", 1006)]
    # The log says why: one warning of the pyws logger, naming the URL and the reason.
    records = [r for r in caplog.records if r.name == "pyws"]
    assert len(records) == 1, [r.getMessage() for r in records]
    assert records[0].levelno == logging.WARNING
    assert f"WebSocket connection to '{url}' failed" in records[0].getMessage()
    assert why in records[0].getMessage(), records[0].getMessage()
    # Nothing left behind.
    assert sockets_left == []
    assert loop_errors.messages() == [] and error_logs.messages() == []
    baseline.assert_back()
