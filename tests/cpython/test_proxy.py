"""HTTP proxies on CPython: the ``proxy`` option and the environment, through a real local
CONNECT proxy (tests/support/proxy_server.py).

The WebSocket servers are reached as ``echo.test``, a name only the proxy can resolve: a
connection that works went through the proxy, and one that did not use the proxy fails
to resolve the name (and the proxy saw nothing). Under Pyodide the host decides about
proxies: tests/scenarios/pyodide_only.py checks that ``proxy`` is refused there.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import ssl
import sys
import time
from collections.abc import Iterator

import pytest

from support.exchange import ECHOED, FAILED, exchange, exchange_async
from support.proxy_server import ConnectProxy, running_proxy
from support.servers import tls_echo_server, unused_port

import pyws
from pyws import WebSocket

pytestmark = [pytest.mark.skipif(pyws.backend != "cpython", reason="proxies are the host's under Pyodide"),
              pytest.mark.usefixtures("no_leaks")]
trustme = pytest.importorskip("trustme", reason="trustme is a test dependency (./build.sh setup)")

HOSTS = {"echo.test": "127.0.0.1"}
USER, PASSWORD = "user", "p@ss:wörd"
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "ws_proxy", "wss_proxy", "no_proxy",
                   "socks_proxy", "REQUEST_METHOD")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy variable from the machine running the tests."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def client_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


@pytest.fixture(scope="module")
def proxy_module() -> Iterator[ConnectProxy]:
    with running_proxy(HOSTS) as proxy:
        yield proxy


@pytest.fixture
def proxy(proxy_module: ConnectProxy) -> ConnectProxy:
    proxy_module.reset()
    return proxy_module


@pytest.fixture(scope="module")
def auth_proxy() -> Iterator[ConnectProxy]:
    with running_proxy(HOSTS, auth=(USER, PASSWORD)) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def https_proxy(ca: trustme.CA) -> Iterator[ConnectProxy]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(context)
    with running_proxy(HOSTS, ssl_context=context) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def sni() -> list[str | None]:
    return []


@pytest.fixture(scope="module")
def tls_server(ca: trustme.CA, sni: list[str | None]) -> Iterator[int]:
    """A wss:// echo server whose certificate names only echo.test."""
    with tls_echo_server(ca, "echo.test", server_names=sni) as port:
        yield port


def _url(proxy: ConnectProxy, scheme: str = "http", userinfo: str = "") -> str:
    host = "localhost" if scheme == "https" else "127.0.0.1"
    return f"{scheme}://{userinfo}{host}:{proxy.port}"


# -- through an explicit proxy ---------------------------------------------------------


def test_ws_through_a_proxy(proxy: ConnectProxy, behaviour_server) -> None:
    port = behaviour_server.port
    assert exchange(f"ws://echo.test:{port}/echo", proxy=_url(proxy)) == ECHOED
    [request] = proxy.requests
    assert request["method"] == "CONNECT" and request["target"] == f"echo.test:{port}"
    assert request["headers"]["host"] == f"echo.test:{port}"
    assert request["headers"]["user-agent"].startswith("pyws/")
    assert "proxy-authorization" not in request["headers"]


def test_the_handshake_goes_to_the_server_not_the_proxy(proxy: ConnectProxy, behaviour_server) -> None:
    async def main() -> dict[str, str]:
        ws = await pyws.connect(f"ws://echo.test:{behaviour_server.port}/headers",
                                proxy=_url(proxy), headers={"X-Test": "1"})
        import json
        headers = json.loads(await ws.recv())
        await ws.wait_closed()
        return headers

    headers = asyncio.run(main())
    assert headers["host"] == f"echo.test:{behaviour_server.port}"
    assert headers["x-test"] == "1"
    assert "x-test" not in proxy.requests[0]["headers"]  # extra headers are the server's


def test_wss_through_a_proxy_checks_the_server(proxy: ConnectProxy, tls_server: int,
                                               client_tls: ssl.SSLContext, sni: list[str | None]) -> None:
    sni.clear()
    assert exchange(f"wss://echo.test:{tls_server}/", proxy=_url(proxy), ssl=client_tls) == ECHOED
    assert proxy.requests[0]["target"] == f"echo.test:{tls_server}"
    assert sni == ["echo.test"]  # TLS is with the server, through the tunnel


def test_wss_through_a_proxy_checks_the_server_name(proxy: ConnectProxy, ca: trustme.CA,
                                                    client_tls: ssl.SSLContext,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    proxy.hosts["other.test"] = "127.0.0.1"
    with tls_echo_server(ca, "echo.test") as port:  # a certificate for another name
        assert exchange(f"wss://other.test:{port}/", proxy=_url(proxy), ssl=client_tls) == FAILED
    assert "CERTIFICATE_VERIFY_FAILED" in caplog.text and "other.test" in caplog.text
    assert proxy.wait_idle()


def test_a_proxy_url_without_a_scheme_is_http(proxy: ConnectProxy, behaviour_server) -> None:
    assert exchange(f"ws://echo.test:{behaviour_server.port}/echo",
                    proxy=f"127.0.0.1:{proxy.port}") == ECHOED
    assert len(proxy.requests) == 1


def test_an_explicit_proxy_is_used_even_for_loopback_and_no_proxy(
        proxy: ConnectProxy, behaviour_server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("no_proxy", "*")
    assert exchange(f"ws://127.0.0.1:{behaviour_server.port}/echo", proxy=_url(proxy)) == ECHOED
    assert [r["target"] for r in proxy.requests] == [f"127.0.0.1:{behaviour_server.port}"]


def test_ipv6_target_is_bracketed(proxy: ConnectProxy) -> None:
    # Nothing listens on [::1] here: the proxy answers 502, the client fails; the request
    # is what this test is about.
    assert exchange(f"ws://[::1]:{unused_port()}/", proxy=_url(proxy)) == FAILED
    assert proxy.requests[0]["target"].startswith("[::1]:")


# -- credentials -----------------------------------------------------------------------


def test_credentials_from_the_proxy_url(auth_proxy: ConnectProxy, behaviour_server,
                                        caplog: pytest.LogCaptureFixture) -> None:
    auth_proxy.reset()
    url = _url(auth_proxy, userinfo="user:p%40ss%3Aw%C3%B6rd@")
    assert exchange(f"ws://echo.test:{behaviour_server.port}/echo", proxy=url) == ECHOED
    expected = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    assert auth_proxy.requests[0]["headers"]["proxy-authorization"] == f"Basic {expected}"


@pytest.mark.parametrize("userinfo, why", [
    ("", "give them in the proxy URL"),
    ("user:wrong@", "it refused the credentials of the proxy URL"),
])
def test_a_407_is_a_connection_failure(auth_proxy: ConnectProxy, behaviour_server, userinfo: str,
                                       why: str, caplog: pytest.LogCaptureFixture) -> None:
    auth_proxy.reset()
    url = f"ws://echo.test:{behaviour_server.port}/echo"
    assert exchange(url, proxy=_url(auth_proxy, userinfo=userinfo)) == FAILED
    [record] = [r for r in caplog.records if r.name == "pyws"]
    assert record.levelno == logging.WARNING
    assert "requires authentication (407 Proxy Authentication Required)" in record.getMessage()
    assert why in record.getMessage()
    assert "wrong" not in caplog.text  # credentials never reach the log
    assert auth_proxy.wait_idle()


# -- failures ----------------------------------------------------------------------------


@pytest.mark.parametrize("answer, why", [
    ("403", "refused to open a tunnel: 403 Forbidden"),
    ("502", "refused to open a tunnel: 502 Bad Gateway"),
    ("garbage", "did not answer CONNECT with HTTP: b'SSH-2.0-OpenSSH_9.6'"),
    ("close", "closed the connection without answering CONNECT"),
    ("extra", "sent 8 bytes after its 200 Connection established answer"),
])
def test_proxy_failures(proxy: ConnectProxy, behaviour_server, answer: str, why: str,
                        caplog: pytest.LogCaptureFixture) -> None:
    proxy.answer = answer
    assert exchange(f"ws://echo.test:{behaviour_server.port}/echo", proxy=_url(proxy)) == FAILED
    [record] = [r for r in caplog.records if r.name == "pyws"]
    assert record.levelno == logging.WARNING
    assert f"ProxyError: the proxy http://127.0.0.1:{proxy.port} {why}" in record.getMessage()
    assert proxy.wait_idle()  # the client closed its socket


def test_a_refused_proxy(caplog: pytest.LogCaptureFixture) -> None:
    port = unused_port()
    assert exchange("ws://echo.test:1/", proxy=f"http://127.0.0.1:{port}") == FAILED
    message = caplog.records[-1].getMessage()
    assert f"could not connect to the proxy http://127.0.0.1:{port} (proxy)" in message
    assert "ConnectionRefusedError" in message


def test_open_timeout_covers_the_proxy(proxy: ConnectProxy, caplog: pytest.LogCaptureFixture) -> None:
    proxy.answer = "stall"
    start = time.monotonic()
    assert exchange("ws://echo.test:1/", proxy=_url(proxy), open_timeout=0.5) == FAILED
    assert 0.4 < time.monotonic() - start < 5
    assert "the opening handshake timed out after 0.5 s" in caplog.text
    assert proxy.wait_idle()


def test_close_while_the_proxy_stalls(proxy: ConnectProxy) -> None:
    proxy.answer = "stall"

    async def main() -> list[tuple[str, object]]:
        ws = WebSocket("ws://echo.test:1/", proxy=_url(proxy))
        events: list[tuple[str, object]] = []
        done = asyncio.get_running_loop().create_future()
        ws.onerror = lambda event: events.append(("error", None))
        ws.onclose = lambda event: (events.append(("close", event.code)), done.set_result(None))
        while not proxy.requests:
            await asyncio.sleep(0.01)
        ws.close()
        await asyncio.wait_for(done, 10)
        return events

    assert asyncio.run(main()) == FAILED
    assert proxy.wait_idle()


# -- an https:// proxy (TLS to the proxy) -------------------------------------------------


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
@pytest.mark.parametrize("target", ["ws", "wss"])
def test_https_proxy(https_proxy: ConnectProxy, behaviour_server, tls_server: int,
                     client_tls: ssl.SSLContext, loop: str, target: str,
                     caplog: pytest.LogCaptureFixture) -> None:
    https_proxy.reset()
    url = (f"ws://echo.test:{behaviour_server.port}/echo" if target == "ws"
           else f"wss://echo.test:{tls_server}/")
    coro = exchange_async(url, proxy=_url(https_proxy, "https"), ssl=client_tls)
    if loop == "uvloop":
        uvloop = pytest.importorskip("uvloop")
        events = uvloop.run(coro)
    else:
        events = asyncio.run(coro)
    if target == "wss" and sys.version_info < (3, 11):  # asyncio: no TLS inside TLS
        assert events == FAILED
        assert "needs Python 3.11 or later (TLS inside TLS)" in caplog.text
        assert https_proxy.accepted == 0
        return
    assert events == ECHOED
    assert len(https_proxy.requests) == 1


def test_https_proxy_is_verified(https_proxy: ConnectProxy, behaviour_server,
                                 caplog: pytest.LogCaptureFixture) -> None:
    # The default context does not trust the test CA: the proxy's certificate fails.
    assert exchange(f"ws://echo.test:{behaviour_server.port}/echo",
                    proxy=_url(https_proxy, "https")) == FAILED
    assert "could not connect to the proxy https://localhost" in caplog.text
    assert "CERTIFICATE_VERIFY_FAILED" in caplog.text


# -- the environment ---------------------------------------------------------------------


@pytest.mark.parametrize("variable, scheme", [
    ("http_proxy", "ws"), ("HTTP_PROXY", "ws"), ("all_proxy", "ws"), ("ws_proxy", "ws"),
    ("https_proxy", "wss"), ("HTTPS_PROXY", "wss"), ("all_proxy", "wss"), ("wss_proxy", "wss"),
])
def test_the_environment_gives_the_proxy(proxy: ConnectProxy, behaviour_server, tls_server: int,
                                         client_tls: ssl.SSLContext, monkeypatch: pytest.MonkeyPatch,
                                         variable: str, scheme: str) -> None:
    monkeypatch.setenv(variable, _url(proxy))
    url = (f"ws://echo.test:{behaviour_server.port}/echo" if scheme == "ws"
           else f"wss://echo.test:{tls_server}/")
    assert exchange(url, ssl=client_tls) == ECHOED
    assert len(proxy.requests) == 1


@pytest.mark.parametrize("variable, url", [
    ("https_proxy", "ws://echo.test:{port}/echo"),   # https_proxy is for wss:// only
    ("http_proxy", "wss://echo.test:{port}/"),       # http_proxy is for ws:// only
])
def test_the_other_schemes_proxy_is_not_used(proxy: ConnectProxy, monkeypatch: pytest.MonkeyPatch,
                                             variable: str, url: str,
                                             caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv(variable, _url(proxy))
    assert exchange(url.format(port=unused_port())) == FAILED
    assert "gaierror" in caplog.text  # tried directly: only the proxy knows echo.test
    assert proxy.accepted == 0


@pytest.mark.parametrize("no_proxy", ["echo.test", ".test", "test", "*", "example.org, echo.test",
                                      "NO_PROXY=echo.test"])
def test_no_proxy(proxy: ConnectProxy, monkeypatch: pytest.MonkeyPatch, no_proxy: str,
                  caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("http_proxy", _url(proxy))
    name, _, value = no_proxy.rpartition("=")
    monkeypatch.setenv(name or "no_proxy", value)
    assert exchange(f"ws://echo.test:{unused_port()}/") == FAILED
    assert "gaierror" in caplog.text
    assert proxy.accepted == 0


def test_no_proxy_for_another_host_keeps_the_proxy(proxy: ConnectProxy, behaviour_server,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("http_proxy", _url(proxy))
    monkeypatch.setenv("no_proxy", "example.org,localhost")
    assert exchange(f"ws://echo.test:{behaviour_server.port}/echo") == ECHOED
    assert len(proxy.requests) == 1


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_loopback_never_goes_through_an_environment_proxy(
        proxy: ConnectProxy, behaviour_server, monkeypatch: pytest.MonkeyPatch, host: str) -> None:
    monkeypatch.setenv("http_proxy", _url(proxy))
    monkeypatch.setenv("all_proxy", _url(proxy))
    assert exchange(f"ws://{host}:{behaviour_server.port}/echo") == ECHOED
    assert proxy.accepted == 0


@pytest.mark.parametrize("value", [None, False])
def test_no_proxy_option_ignores_the_environment(proxy: ConnectProxy, monkeypatch: pytest.MonkeyPatch,
                                                 value: object, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("http_proxy", _url(proxy))
    assert exchange(f"ws://echo.test:{unused_port()}/", proxy=value) == FAILED
    assert "gaierror" in caplog.text
    assert proxy.accepted == 0


@pytest.mark.parametrize("value, why", [
    ("ftp://127.0.0.1:21", "all_proxy: the proxy URL 'ftp://127.0.0.1:21' must start with http://"),
    ("http://", "all_proxy: the proxy URL 'http://' has no host"),
])
def test_an_unusable_environment_proxy_fails_the_connection(
        monkeypatch: pytest.MonkeyPatch, value: str, why: str,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("all_proxy", value)
    assert exchange("ws://echo.test:1/") == FAILED
    assert why in caplog.text
    assert "pass proxy=None to connect directly" in caplog.text


# -- bad values --------------------------------------------------------------------------


@pytest.mark.parametrize("value, error, message", [
    ("socks://127.0.0.1:1080", ValueError, "does not say which SOCKS version"),
    ("ftp://127.0.0.1:21", ValueError,
     "must start with http://, https://, socks5h://, socks5://, socks4a:// or socks4://"),
    ("http://127.0.0.1:3128/path", ValueError, "no path, query or fragment"),
    ("http://127.0.0.1:3128?x", ValueError, "no path, query or fragment"),
    ("http://127.0.0.1:99999", ValueError, "not a valid proxy URL"),
    ("http://:3128", ValueError, "has no host"),
    (3128, TypeError, "proxy must be a proxy URL"),
    (["http://127.0.0.1:3128"], TypeError, "proxy must be a proxy URL"),
])
def test_bad_proxy_values_are_refused(value: object, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")):
        WebSocket("ws://127.0.0.1:1/", proxy=value)
