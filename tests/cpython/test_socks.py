"""SOCKS proxies on CPython (``socks5h://``, ``socks5://``, ``socks4a://``, ``socks4://``),
through the ``proxy`` option and the environment, against a real SOCKS server on
127.0.0.1 (tiny-proxy, tests/support/socks_server.py).

The WebSocket servers are reached as ``echo.test``, a name only the proxy can resolve:
with ``socks5h://`` and ``socks4a://`` the proxy must get the name, and with
``socks5://`` and ``socks4://`` the client resolves it (and fails to). Under Pyodide the
host decides about proxies (tests/scenarios/pyodide_only.py).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import sys
import time
import urllib.parse
from collections.abc import Iterator

import pytest
from support.held_server import running_held_server
from support.exchange import ECHOED, FAILED, exchange, exchange_async
from support.servers import tls_echo_server, unused_port

import pyws
from pyws import WebSocket

pytestmark = [pytest.mark.skipif(pyws.backend != "cpython", reason="proxies are the host's under Pyodide"),
              pytest.mark.usefixtures("no_leaks")]
trustme = pytest.importorskip("trustme", reason="trustme is a test dependency (./build.sh setup)")
pytest.importorskip("python_socks", reason="python-socks is a test dependency (./build.sh setup)")
socks_server = pytest.importorskip("support.socks_server",
                                   reason="tiny-proxy is a test dependency (./build.sh setup)")

HOSTS = {"echo.test": "127.0.0.1"}
USER, PASSWORD = "user", "p@ss:w/rd%"
USERINFO = f"{USER}:{urllib.parse.quote(PASSWORD, safe='')}@"
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "ws_proxy", "wss_proxy", "no_proxy",
                   "REQUEST_METHOD")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy variable from the machine running the tests."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


def _proxy_fixture(version: int, auth: tuple[str, str] | None = None):  # type: ignore[no-untyped-def]
    @pytest.fixture(scope="module")
    def running() -> Iterator[socks_server.SocksProxy]:
        with socks_server.running_socks_proxy(version, HOSTS, auth) as proxy:
            yield proxy

    return running


socks5_module = _proxy_fixture(5)
socks5_auth_module = _proxy_fixture(5, (USER, PASSWORD))
socks4_module = _proxy_fixture(4)
socks4_user_module = _proxy_fixture(4, (USER, ""))


@pytest.fixture
def socks5(socks5_module: socks_server.SocksProxy) -> socks_server.SocksProxy:
    socks5_module.reset()
    return socks5_module


@pytest.fixture
def socks5_auth(socks5_auth_module: socks_server.SocksProxy) -> socks_server.SocksProxy:
    socks5_auth_module.reset()
    return socks5_auth_module


@pytest.fixture
def socks4(socks4_module: socks_server.SocksProxy) -> socks_server.SocksProxy:
    socks4_module.reset()
    return socks4_module


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def client_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


@pytest.fixture(scope="module")
def sni() -> list[str | None]:
    return []


@pytest.fixture(scope="module")
def tls_server(ca: trustme.CA, sni: list[str | None]) -> Iterator[int]:
    """A wss:// echo server whose certificate names only echo.test."""
    with tls_echo_server(ca, "echo.test", server_names=sni) as port:
        yield port


def _url(proxy: socks_server.SocksProxy, scheme: str, userinfo: str = "") -> str:
    return f"{scheme}://{userinfo}127.0.0.1:{proxy.port}"


def _pyws_records(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "pyws"]


# -- through an explicit proxy ---------------------------------------------------------


@pytest.mark.parametrize("scheme", ["socks5h", "socks4a"])
def test_the_proxy_resolves_the_name(scheme: str, socks5: socks_server.SocksProxy,
                                     socks4: socks_server.SocksProxy, behaviour_server) -> None:
    proxy = socks5 if scheme == "socks5h" else socks4
    port = behaviour_server.port
    assert exchange(f"ws://echo.test:{port}/echo", proxy=_url(proxy, scheme)) == ECHOED
    assert proxy.targets == [("echo.test", port)]  # the name, as the client sent it


@pytest.mark.parametrize("scheme", ["socks5", "socks4"])
def test_the_client_resolves_the_name(scheme: str, socks5: socks_server.SocksProxy,
                                      socks4: socks_server.SocksProxy, behaviour_server,
                                      caplog: pytest.LogCaptureFixture) -> None:
    proxy = socks5 if scheme == "socks5" else socks4
    port = behaviour_server.port
    assert exchange(f"ws://localhost:{port}/echo", proxy=_url(proxy, scheme)) == ECHOED
    assert proxy.targets == [("127.0.0.1", port)]  # an address, resolved here
    # A name only the proxy knows cannot be resolved here: the error says what to use.
    assert exchange(f"ws://echo.test:{port}/echo", proxy=_url(proxy, scheme)) == FAILED
    [message] = _pyws_records(caplog)
    assert (f"ProxyError: could not resolve 'echo.test' to send its address to the proxy "
            f"{scheme}://127.0.0.1:{proxy.port}") in message
    resolving = {"socks5": "socks5h", "socks4": "socks4a"}[scheme]
    assert f"with {resolving}:// the proxy resolves names" in message
    assert proxy.targets == [("127.0.0.1", port)]
    assert proxy.wait_idle()


def test_the_handshake_goes_to_the_server_through_the_tunnel(socks5: socks_server.SocksProxy,
                                                             behaviour_server) -> None:
    async def main() -> dict[str, str]:
        ws = await pyws.connect(f"ws://echo.test:{behaviour_server.port}/headers",
                                proxy=_url(socks5, "socks5h"), headers={"X-Test": "1"})
        import json
        headers: dict[str, str] = json.loads(await ws.recv())
        await ws.wait_closed()
        return headers

    headers = asyncio.run(main())
    assert headers["host"] == f"echo.test:{behaviour_server.port}"
    assert headers["x-test"] == "1"


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_wss_through_a_socks_proxy_checks_the_server(loop: str, socks5: socks_server.SocksProxy,
                                                     tls_server: int, client_tls: ssl.SSLContext,
                                                     sni: list[str | None]) -> None:
    sni.clear()
    coro = exchange_async(f"wss://echo.test:{tls_server}/", proxy=_url(socks5, "socks5h"), ssl=client_tls)
    if loop == "uvloop":
        events = pytest.importorskip("uvloop").run(coro)
    else:
        events = asyncio.run(coro)
    assert events == ECHOED
    assert socks5.targets == [("echo.test", tls_server)]
    assert sni == ["echo.test"]  # TLS is with the server, through the tunnel


def test_wss_through_a_socks_proxy_checks_the_server_name(
        socks5: socks_server.SocksProxy, ca: trustme.CA, client_tls: ssl.SSLContext,
        caplog: pytest.LogCaptureFixture) -> None:
    socks5.hosts["other.test"] = "127.0.0.1"
    try:
        with tls_echo_server(ca, "echo.test") as port:  # a certificate for another name
            assert exchange(f"wss://other.test:{port}/", proxy=_url(socks5, "socks5h"),
                            ssl=client_tls) == FAILED
    finally:
        del socks5.hosts["other.test"]
    [message] = _pyws_records(caplog)
    assert "TLS handshake failed" in message and "CERTIFICATE_VERIFY_FAILED" in message
    assert "other.test" in message
    assert socks5.wait_idle()


def test_a_socks_proxy_takes_no_endpoint_lock(socks5: socks_server.SocksProxy) -> None:
    """As through an HTTP proxy (and in Chromium): the client does not connect to the
    server's address, so a second connection does not wait for the first to open."""
    with running_held_server() as server:
        async def main() -> None:
            url = f"ws://127.0.0.1:{server.port}/"
            sockets = [WebSocket(url, proxy=_url(socks5, "socks5h")) for _ in range(2)]
            closed = [asyncio.get_running_loop().create_future() for _ in sockets]
            for ws, future in zip(sockets, closed):
                ws.onclose = lambda event, future=future: future.set_result(event.code)
            while server.arrived < 2:  # both handshakes are held at once
                await asyncio.sleep(0.01)
            server.release()
            for ws in sockets:
                while ws.readyState != WebSocket.OPEN:
                    await asyncio.sleep(0.01)
                ws.close()
            assert await asyncio.gather(*closed) == [1005, 1005]

        asyncio.run(asyncio.wait_for(main(), 20))
    assert socks5.targets == [("127.0.0.1", server.port)] * 2


# -- credentials -----------------------------------------------------------------------


def test_socks5_credentials_from_the_proxy_url(socks5_auth: socks_server.SocksProxy,
                                               behaviour_server, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"ws://echo.test:{behaviour_server.port}/echo"
    assert exchange(url, proxy=_url(socks5_auth, "socks5h", USERINFO)) == ECHOED
    assert socks5_auth.targets == [("echo.test", behaviour_server.port)]
    assert PASSWORD not in caplog.text and "p%40ss" not in caplog.text


@pytest.mark.parametrize("userinfo, why", [
    ("user:wrong@", "requires authentication (Username and password authentication failure): "
                    "it refused the credentials of the proxy URL"),
    ("", "requires authentication (No acceptable authentication methods were offered): "
         "give them in the proxy URL, socks5h://user:password@host:port"),
])
def test_refused_socks5_credentials_fail_the_connection(
        socks5_auth: socks_server.SocksProxy, behaviour_server, userinfo: str, why: str,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"ws://echo.test:{behaviour_server.port}/echo"
    assert exchange(url, proxy=_url(socks5_auth, "socks5h", userinfo)) == FAILED
    [record] = [r for r in caplog.records if r.name == "pyws"]
    assert record.levelno == logging.WARNING
    assert f"ProxyError: the proxy socks5h://127.0.0.1:{socks5_auth.port} {why}" in record.getMessage()
    assert "wrong" not in caplog.text  # the password never reaches a record
    assert socks5_auth.targets == []
    assert socks5_auth.wait_idle()


def test_a_socks4_user_id(socks4_user_module: socks_server.SocksProxy, behaviour_server,
                          caplog: pytest.LogCaptureFixture) -> None:
    proxy = socks4_user_module
    proxy.reset()
    url = f"ws://echo.test:{behaviour_server.port}/echo"
    assert exchange(url, proxy=_url(proxy, "socks4a", "user@")) == ECHOED
    assert exchange(url, proxy=_url(proxy, "socks4a", "intruder@")) == FAILED
    [message] = _pyws_records(caplog)
    assert f"the proxy socks4a://127.0.0.1:{proxy.port} refused to open a tunnel to " \
           f"echo.test:{behaviour_server.port}" in message
    assert "(SOCKS reply 0x5d)" in message


def test_ws_url_credentials_never_cross_a_socks_proxy_in_clear_text(
        socks5: socks_server.SocksProxy, caplog: pytest.LogCaptureFixture) -> None:
    """As through an HTTP proxy: over ws:// the proxy relays the handshake in clear text,
    so the URL's credentials are not sent after the 401; the connection fails saying why."""
    from support.auth_server import running_auth_server

    with running_auth_server(("alice", "s3cret")) as server:
        assert exchange(f"ws://alice:s3cret@echo.test:{server.port}/",
                        proxy=_url(socks5, "socks5h")) == FAILED
    assert [r["authorization"] for r in server.requests] == [None]
    assert (f"not sent over ws:// through the proxy socks5h://127.0.0.1:{socks5.port}, which "
            "could read them (use wss://)") in caplog.text
    assert "s3cret" not in caplog.text


# -- failures ----------------------------------------------------------------------------


@pytest.mark.parametrize("scheme, reply", [
    ("socks5h", "Connection refused by destination host (SOCKS reply 0x05)"),
    ("socks4a", "(SOCKS reply 0x5c)"),
])
def test_a_refused_tunnel(scheme: str, reply: str, socks5: socks_server.SocksProxy,
                          socks4: socks_server.SocksProxy, caplog: pytest.LogCaptureFixture) -> None:
    proxy = socks5 if scheme == "socks5h" else socks4
    port = unused_port()  # the proxy cannot connect to the target
    assert exchange(f"ws://echo.test:{port}/", proxy=_url(proxy, scheme)) == FAILED
    [record] = [r for r in caplog.records if r.name == "pyws"]
    assert record.levelno == logging.WARNING
    assert (f"ProxyError: the proxy {scheme}://127.0.0.1:{proxy.port} refused to open a tunnel "
            f"to echo.test:{port}: ") in record.getMessage()
    assert reply in record.getMessage()
    assert proxy.wait_idle()


def test_an_unreachable_proxy(caplog: pytest.LogCaptureFixture) -> None:
    port = unused_port()
    assert exchange("ws://echo.test:1/", proxy=f"socks5h://{USERINFO}127.0.0.1:{port}") == FAILED
    [record] = [r for r in caplog.records if r.name == "pyws"]
    message = record.getMessage()
    assert f"could not connect to the proxy socks5h://127.0.0.1:{port} (proxy)" in message
    assert "ConnectionRefusedError" in message
    assert PASSWORD not in caplog.text and "p%40ss" not in caplog.text


def test_open_timeout_covers_the_socks_handshake(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as silent:  # accepts TCP (the backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        start = time.monotonic()
        assert exchange("ws://echo.test:1/", proxy=f"socks5h://127.0.0.1:{silent.getsockname()[1]}",
                        open_timeout=0.5) == FAILED
        assert 0.4 < time.monotonic() - start < 5
    assert "the opening handshake timed out after 0.5 s" in caplog.text


# -- the environment ---------------------------------------------------------------------


@pytest.mark.parametrize("variable, scheme", [
    ("all_proxy", "ws"), ("ALL_PROXY", "wss"), ("http_proxy", "ws"), ("https_proxy", "wss"),
])
def test_the_environment_gives_the_socks_proxy(socks5: socks_server.SocksProxy, behaviour_server,
                                               tls_server: int, client_tls: ssl.SSLContext,
                                               monkeypatch: pytest.MonkeyPatch, variable: str,
                                               scheme: str) -> None:
    monkeypatch.setenv(variable, _url(socks5, "socks5h"))
    url = (f"ws://echo.test:{behaviour_server.port}/echo" if scheme == "ws"
           else f"wss://echo.test:{tls_server}/")
    assert exchange(url, ssl=client_tls) == ECHOED
    assert len(socks5.targets) == 1


def test_no_proxy_bypasses_the_environment_socks_proxy(socks5: socks_server.SocksProxy,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("all_proxy", _url(socks5, "socks5h"))
    monkeypatch.setenv("no_proxy", ".test")
    assert exchange(f"ws://echo.test:{unused_port()}/") == FAILED
    assert "gaierror" in caplog.text  # tried directly: only the proxy knows echo.test
    assert socks5.accepted == 0


def test_loopback_never_goes_through_an_environment_socks_proxy(
        socks5: socks_server.SocksProxy, behaviour_server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("all_proxy", _url(socks5, "socks5h"))
    assert exchange(f"ws://127.0.0.1:{behaviour_server.port}/echo") == ECHOED
    assert socks5.accepted == 0


# -- without python-socks ----------------------------------------------------------------


@pytest.fixture
def no_python_socks(monkeypatch: pytest.MonkeyPatch) -> None:
    """python-socks not installed: its import fails, as for a missing package (None in
    sys.modules is the import system's "not importable")."""
    for name in [name for name in sys.modules if name.split(".")[0] == "python_socks"]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "python_socks", None)


@pytest.mark.usefixtures("no_python_socks")
def test_without_python_socks_an_explicit_socks_proxy_raises() -> None:
    for make in (lambda: WebSocket("ws://echo.test:1/", proxy="socks5h://user:secret@127.0.0.1:1080"),
                 lambda: pyws.connect("ws://echo.test:1/", proxy="socks4://127.0.0.1:1080")):
        with pytest.raises(ImportError, match=r"proxies need python-socks, which is not installed: "
                                              r"pip install 'pyws-client\[socks\]'") as caught:
            make()
        assert "secret" not in str(caught.value)


@pytest.mark.usefixtures("no_python_socks")
def test_without_python_socks_an_environment_socks_proxy_fails_the_connection(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("all_proxy", "socks5h://user:secret@127.0.0.1:1080")
    assert exchange("ws://echo.test:1/") == FAILED
    [message] = _pyws_records(caplog)
    assert ("ProxyError: all_proxy: socks5h:// proxies need python-socks, which is not installed: "
            "pip install 'pyws-client[socks]' (from the environment; pass proxy=None to connect "
            "directly)") in message
    assert "secret" not in caplog.text


# -- bad values --------------------------------------------------------------------------


@pytest.mark.parametrize("value, message", [
    ("socks://127.0.0.1:1080", "does not say which SOCKS version: use socks5h://, socks5://"),
    ("socks4://user:secret@127.0.0.1:1080",
     "'socks4://user:***@127.0.0.1:1080': SOCKS4 has no password"),
    ("socks5h://user@127.0.0.1:1080", "SOCKS5 authentication needs a user name and a password"),
    ("socks5h://user:@127.0.0.1:1080", "SOCKS5 authentication needs a user name and a password"),
    (f"socks5h://user:{'x' * 256}@127.0.0.1:1080", "at most 255 bytes (RFC 1929)"),
    ("socks5h://user:s%C3%A9cret@127.0.0.1:1080", "must be ASCII"),
    ("socks5h://127.0.0.1:1080/path", "must have no path, query or fragment"),
    ("socks5h://:1080", "has no host"),
])
def test_bad_socks_urls_are_refused(value: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        WebSocket("ws://127.0.0.1:1/", proxy=value)
    assert message in str(caught.value)
    assert "cret" not in str(caught.value) and "x" * 256 not in str(caught.value)


def test_the_default_socks_port_is_1080() -> None:
    from pyws._cpython import _proxy

    assert [_proxy.parse(f"{scheme}://proxy.example").port
            for scheme in ("socks5h", "socks5", "socks4a", "socks4")] == [1080] * 4
