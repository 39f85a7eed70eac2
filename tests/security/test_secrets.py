"""Secrets stay secret (CPython): credentials never reach a log record, a repr or an
exception message, and the URL's credentials travel the browser's way.

- One test runs connections with every kind of secret (URL credentials answered after a
  challenge and refused, a proxy with credentials accepted and refused, a proxy URL with
  credentials from the environment, an Authorization header, a cookie, a listener that
  raises, bad arguments holding secrets) with every logger at DEBUG and asyncio in debug
  mode, and looks for each secret, raw and base64-encoded, in every record, repr and
  exception message.
- The URL's credentials: not sent with the first request; sent after a 401 with a
  ``Basic`` challenge, on a second handshake over a new TCP connection, once; never in
  clear text through a proxy (ws://), nor to a server that offers another scheme.

The test servers run in this process: their own log records (the ``websockets.server``
logger) are theirs, not the client's, and are left out.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import ssl
from collections.abc import Iterator
from typing import Any

import pytest
from support.auth_server import running_auth_server
from support.proxy_server import ConnectProxy, running_proxy

import pyws
from pyws import WebSocket

pytestmark = pytest.mark.skipif(pyws.backend != "cpython", reason="CPython backend only")

URL_PASSWORD = "s3cret-url"
PROXY_PASSWORD = "s3cret-proxy"
ENV_PASSWORD = "s3cret-env"
BEARER = "s3cret-bearer"
COOKIE = "s3cret-cookie"


def _forms(user: str, password: str) -> list[str]:
    return [password, base64.b64encode(f"{user}:{password}".encode()).decode()]


SECRETS = [*_forms("alice", URL_PASSWORD), *_forms("bob", PROXY_PASSWORD),
           *_forms("bob", "s3cret-wrong"), ENV_PASSWORD, BEARER, COOKIE]


class _Everything(logging.Handler):
    """Every record of every logger, formatted with its traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def texts(self) -> list[str]:
        return [self.format(r) for r in self.records if not r.name.startswith("websockets.server")]


@pytest.fixture
def everything() -> Iterator[_Everything]:
    handler = _Everything()
    root = logging.getLogger()
    saved = {name: logging.getLogger(name).level for name in ("pyws", "websockets", "asyncio")}
    saved_root = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name in saved:
        logging.getLogger(name).setLevel(logging.DEBUG)
        assert logging.getLogger(name).propagate
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(saved_root)
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def _raise_in_listener(event: Any) -> None:
    raise RuntimeError("a bug in the application's listener")


async def _echo(ws: WebSocket) -> None:
    ws.send("ping")
    assert await ws.recv() == "ping"
    ws.close()
    await ws.wait_closed()


async def _every_secret(auth_port: int, echo_port: int, proxy: ConnectProxy,
                        said: list[str]) -> None:
    """Connections with every kind of secret; ``said`` collects reprs and messages."""
    credentials_url = f"ws://alice:{URL_PASSWORD}@127.0.0.1:{auth_port}/"
    ws = await pyws.connect(credentials_url, open_timeout=5)  # answered after a challenge
    said.append(repr(ws))
    ws.addEventListener("message", _raise_in_listener)
    await _echo(ws)
    with pytest.raises(pyws.WebSocketError) as refused:  # the server refuses them
        await pyws.connect(credentials_url.replace(URL_PASSWORD, "s3cret-wrong"), open_timeout=5)
    said.append(str(refused.value))
    headers = {"Authorization": f"Bearer {BEARER}", "Cookie": f"session={COOKIE}; theme=dark"}
    proxy_url = f"http://bob:{PROXY_PASSWORD}@127.0.0.1:{proxy.port}"
    await _echo(await pyws.connect(f"ws://echo.test:{echo_port}/echo", headers=headers,
                                   proxy=proxy_url, open_timeout=5))
    with pytest.raises(pyws.WebSocketError) as refused:  # the proxy refuses its credentials
        await pyws.connect(f"ws://echo.test:{echo_port}/echo",
                           proxy=proxy_url.replace(PROXY_PASSWORD, "s3cret-wrong"))
    said.append(str(refused.value))
    for bad in ({"proxy": f"http://bob:{PROXY_PASSWORD}@127.0.0.1:1/corp"},
                {"headers": {"Authorization": f"Bearer {BEARER}\n"}}):
        with pytest.raises(ValueError) as invalid:
            WebSocket(f"ws://127.0.0.1:{echo_port}/", **bad)
        said.append(str(invalid.value))
    with pytest.raises(pyws.DOMSyntaxError) as invalid:
        WebSocket(f"ws://alice:{URL_PASSWORD}/x@127.0.0.1:1/")
    said.append(str(invalid.value))
    said.append(repr(pyws.Options(headers=headers, proxy=proxy_url)))


def test_no_secret_in_any_log_record_repr_or_exception(
        everything: _Everything, behaviour_server, monkeypatch: pytest.MonkeyPatch) -> None:
    said: list[str] = []
    with running_auth_server(("alice", URL_PASSWORD)) as auth, \
            running_proxy({"echo.test": "127.0.0.1"}, auth=("bob", PROXY_PASSWORD)) as proxy:
        asyncio.run(_every_secret(auth.port, behaviour_server.port, proxy, said), debug=True)
        # An environment proxy with credentials (and a path, so it is unusable: logged).
        monkeypatch.setenv("https_proxy", f"http://carol:{ENV_PASSWORD}@127.0.0.1:1/corp")
        with pytest.raises(pyws.WebSocketError) as failed:
            pyws.connect_sync("wss://echo.test:1/", timeout=10)
        said.append(str(failed.value))
    logged = everything.texts()
    for secret in SECRETS:
        leaks = [text for text in logged + said if secret in text]
        assert not leaks, (secret, leaks)
    # What was said is still useful: the records this test looks through were there.
    text = "\n".join(logged + said)
    for expected in [
        f"<pyws.WebSocket url='ws://alice:***@127.0.0.1:{auth.port}/' readyState=OPEN>",
        "Uncaught exception in a 'message' listener of <pyws.WebSocket url='ws://alice:***@",
        f"WebSocket connection to 'ws://alice:***@127.0.0.1:{auth.port}/' failed",
        "the server refused the URL's credentials",
        f"could not connect to ws://alice:***@127.0.0.1:{auth.port}/",
        "> Authorization: Basic ***", "> Authorization: Bearer ***",
        "> Cookie: session=***; theme=***",
        "it refused the credentials of the proxy URL",
        "proxy: the proxy URL 'http://bob:***@127.0.0.1:1/corp' must have no path",
        "https_proxy: the proxy URL 'http://carol:***@127.0.0.1:1/corp' must have no path",
        "The URL 'ws://alice:***@127.0.0.1:1/' is invalid.",
        "Options(headers={'Authorization': 'Bearer ***', 'Cookie': 'session=***; theme=***'}",
    ]:
        assert expected in text, expected


# -- the URL's credentials, the browser's way ---------------------------------------------


def _open(url: str, **options: Any) -> tuple[bool, WebSocket]:
    """Whether ``url`` opened (then closed cleanly), and the socket."""
    async def main() -> tuple[bool, WebSocket]:
        ws = WebSocket(url, **options)
        events: list[str] = []
        ws.onopen = lambda event: (events.append("open"), ws.close())
        ws.onerror = lambda event: events.append("error")
        await asyncio.wait_for(ws.wait_closed(), 15)
        return events == ["open"], ws
    return asyncio.run(main())


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_url_credentials_answer_a_basic_challenge_on_a_new_connection() -> None:
    with running_auth_server(("alice", "s3cret")) as server:
        opened, ws = _open(f"ws://alice:s3cret@127.0.0.1:{server.port}/")
    assert opened
    assert ws.url == f"ws://alice:s3cret@127.0.0.1:{server.port}/"  # the standard keeps them
    first, second = server.requests
    assert first["authorization"] is None  # not before the server asks
    assert second["authorization"] == _basic("alice", "s3cret")
    assert first["client_port"] != second["client_port"]  # a new TCP connection


def test_url_credentials_are_percent_decoded_utf8() -> None:
    with running_auth_server(("al ice", "pä:ss@")) as server:
        opened, _ = _open(f"ws://al%20ice:p%C3%A4%3Ass%40@127.0.0.1:{server.port}/")
    assert opened
    assert server.requests[1]["authorization"] == _basic("al ice", "pä:ss@")


def test_url_credentials_are_not_sent_without_a_challenge(behaviour_server) -> None:
    async def main() -> dict[str, str]:
        import json

        ws = await pyws.connect(f"ws://alice:s3cret@127.0.0.1:{behaviour_server.port}/headers")
        sent = json.loads(await ws.recv())
        await ws.wait_closed()
        return sent

    assert "authorization" not in asyncio.run(main())


def test_refused_url_credentials_are_sent_once(caplog: pytest.LogCaptureFixture) -> None:
    with running_auth_server(("alice", "s3cret")) as server:
        opened, _ = _open(f"ws://alice:wrong@127.0.0.1:{server.port}/")
    assert not opened
    assert [r["authorization"] for r in server.requests] == [None, _basic("alice", "wrong")]
    [record] = [r for r in caplog.records if r.name == "pyws" and r.levelno >= logging.WARNING]
    assert "HTTP 401: the server refused the URL's credentials" in record.getMessage()


def test_an_explicit_authorization_header_wins() -> None:
    """headers={"Authorization": ...} is sent with the first request, as given; the
    URL's credentials are then not used."""
    with running_auth_server(("alice", "s3cret")) as server:
        opened, _ = _open(f"ws://alice:wrong@127.0.0.1:{server.port}/",
                          headers={"Authorization": _basic("alice", "s3cret")})
    assert opened
    assert [r["authorization"] for r in server.requests] == [_basic("alice", "s3cret")]


def test_a_challenge_without_basic_is_not_answered(caplog: pytest.LogCaptureFixture) -> None:
    from support.scripted_server import running_scripted_server

    with running_scripted_server() as server:
        server.register("digest", {"handshake": {"status": 401, "reason": "Unauthorized",
                                                 "headers": [["WWW-Authenticate",
                                                              'Digest realm="x, Basic", nonce="1"']]}})
        opened, _ = _open(server.url("digest").replace("ws://", "ws://alice:s3cret@"))
        record = server.record("digest")
    assert not opened
    assert record is not None and "authorization" not in dict(record["headers"])
    assert "the server offers no Basic authentication" in caplog.text


def test_ws_url_credentials_never_cross_a_proxy_in_clear_text(
        caplog: pytest.LogCaptureFixture) -> None:
    """Over ws:// through a proxy the proxy could read them: not sent, the connection
    fails and says why."""
    with running_auth_server(("alice", "s3cret")) as server, \
            running_proxy({"auth.test": "127.0.0.1"}) as proxy:
        opened, _ = _open(f"ws://alice:s3cret@auth.test:{server.port}/",
                          proxy=f"http://127.0.0.1:{proxy.port}")
        assert proxy.wait_idle()
    assert not opened
    assert [r["authorization"] for r in server.requests] == [None]
    assert all("authorization" not in r["headers"] and "proxy-authorization" not in r["headers"]
               for r in proxy.requests)
    assert "not sent over ws:// through the proxy" in caplog.text


def test_wss_url_credentials_go_through_a_proxy_tunnel() -> None:
    """Over wss:// TLS runs to the server itself: the proxy sees only ciphertext, and
    never a credential in its own CONNECT requests."""
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("auth.test").configure_cert(server_tls)
    client_tls = ssl.create_default_context()
    ca.configure_trust(client_tls)
    with running_auth_server(("alice", "s3cret"), ssl_context=server_tls) as server, \
            running_proxy({"auth.test": "127.0.0.1"}) as proxy:
        opened, _ = _open(f"wss://alice:s3cret@auth.test:{server.port}/",
                          proxy=f"http://127.0.0.1:{proxy.port}", ssl=client_tls)
        assert proxy.wait_idle()
    assert opened
    assert [r["authorization"] for r in server.requests] == [None, _basic("alice", "s3cret")]
    assert len(proxy.requests) == 2 and all(
        set(r["headers"]) == {"host", "user-agent"} for r in proxy.requests), proxy.requests


@pytest.mark.parametrize(("values", "basic"), [
    (['Basic realm="x"'], True),
    (["basic"], True),
    (['Digest realm="a", nonce="b", Basic realm="c"'], True),
    (['Digest realm="x"', 'Basic realm="y", charset="UTF-8"'], True),
    (['Bearer realm="x", error="Basic realm"'], False),
    (['Digest realm="x, Basic y"'], False),
    (["Digest basic=1"], False),
    (["Basicx realm=1", "Negotiate"], False),
    ([], False),
])
def test_which_challenges_offer_basic(values: list[str], basic: bool) -> None:
    from pyws._cpython._browser_client import offers_basic

    assert offers_basic(values) is basic
