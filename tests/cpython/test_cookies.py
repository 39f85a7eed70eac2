"""The ``cookies`` option on CPython: an ``http.cookiejar.CookieJar`` whose cookies go out
with the opening handshake and which stores the ``Set-Cookie`` headers of the server's
response, against a real websockets server on 127.0.0.1 (ws:// and wss://) that sets
cookies on its 101 response and records the ``Cookie`` header of every request.

Under Pyodide the host owns cookies: tests/scenarios/pyodide_only.py checks that
``cookies`` is refused there.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.cookiejar
import logging
import ssl
import time
import urllib.parse
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.http11 import Request, Response

from support.server_thread import server_thread

import pyws
from pyws import WebSocket

pytestmark = [pytest.mark.skipif(pyws.backend != "cpython", reason="the host owns cookies under Pyodide"),
              pytest.mark.usefixtures("no_leaks")]
trustme = pytest.importorskip("trustme", reason="trustme is a test dependency (./build.sh setup)")

SECRET = "s3cret-session-value"


class CookieServer:
    """``/any/path?set=C&set=D&status=S``: answers with a ``Set-Cookie`` header for each
    ``set`` (101, or status S with no WebSocket), and for each of :attr:`preset` (cookies
    kept out of the URL, which the log shows); records the ``Cookie`` headers of every
    request in :attr:`requests` (path, [values])."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, list[str]]] = []
        self.preset: list[str] = []
        self.port = 0

    def _set_cookies(self, request: Request) -> list[str]:
        query = urllib.parse.urlsplit(request.path).query
        return [value for key, value in urllib.parse.parse_qsl(query) if key == "set"] + self.preset

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        self.requests.append((urllib.parse.urlsplit(request.path).path,
                              request.headers.get_all("Cookie")))
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(request.path).query))
        if "status" in query:
            response = connection.respond(int(query["status"]), "refused\n")
            for cookie in self._set_cookies(request):
                response.headers["Set-Cookie"] = cookie
            return response
        return None

    def process_response(self, connection: ServerConnection, request: Request,
                         response: Response) -> Response | None:
        if response.status_code == 101:
            for cookie in self._set_cookies(request):
                response.headers["Set-Cookie"] = cookie
        return None

    @staticmethod
    async def handler(connection: ServerConnection) -> None:
        await connection.close()


def cookie_server(ssl_context: ssl.SSLContext | None = None) -> contextlib.AbstractContextManager[CookieServer]:
    """Run a :class:`CookieServer` on 127.0.0.1 (TLS with ``ssl_context``), its own loop
    and thread."""
    server = CookieServer()

    @contextlib.asynccontextmanager
    async def serving() -> AsyncIterator[CookieServer]:
        async with serve(server.handler, "127.0.0.1", 0, ssl=ssl_context,
                         process_request=server.process_request,
                         process_response=server.process_response) as listening:
            server.port = next(iter(listening.sockets)).getsockname()[1]
            yield server

    return server_thread(serving, "cookie-server")


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def ws_server() -> Iterator[CookieServer]:
    with cookie_server() as server:
        yield server


@pytest.fixture(scope="module")
def wss_server(ca: trustme.CA) -> Iterator[CookieServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    with cookie_server(context) as server:
        yield server


@pytest.fixture
def servers(ws_server: CookieServer, wss_server: CookieServer) -> tuple[CookieServer, CookieServer]:
    for server in (ws_server, wss_server):
        server.requests.clear()
        server.preset.clear()
    return ws_server, wss_server


@pytest.fixture
def client_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


def _set(*cookies: str, **query: str) -> str:
    return "?" + urllib.parse.urlencode([("set", cookie) for cookie in cookies] + list(query.items()))


def visit(url: str, jar: http.cookiejar.CookieJar, **options: Any) -> list[tuple[str, Any]]:
    """One connection to ``url`` with ``jar``: its events, until it closes."""
    async def main() -> list[tuple[str, Any]]:
        ws = WebSocket(url, cookies=jar, **options)
        events: list[tuple[str, Any]] = []
        done = asyncio.get_running_loop().create_future()
        ws.onopen = lambda event: events.append(("open", None))
        ws.onerror = lambda event: events.append(("error", None))
        ws.onclose = lambda event: (events.append(("close", event.code)), done.set_result(None))
        await asyncio.wait_for(done, 20)
        await asyncio.sleep(0.02)  # the transport finishes closing
        return events

    return asyncio.run(main())


OPENED = [("open", None), ("close", 1000)]
FAILED = [("error", None), ("close", 1006)]


def _cookies(jar: http.cookiejar.CookieJar) -> dict[str, str | None]:
    return {cookie.name: cookie.value for cookie in jar}


# -- the round trip ----------------------------------------------------------------------


def test_a_cookie_set_on_the_101_goes_out_with_the_next_handshake(servers: Any) -> None:
    server, _ = servers
    jar = http.cookiejar.CookieJar()
    base = f"ws://127.0.0.1:{server.port}"
    assert visit(f"{base}/login{_set(f'session={SECRET}; HttpOnly')}", jar) == OPENED
    assert _cookies(jar) == {"session": SECRET}
    assert visit(f"{base}/chat", jar) == OPENED
    assert server.requests == [("/login", []), ("/chat", [f"session={SECRET}"])]


def test_a_login_over_http_carries_over(servers: Any) -> None:
    """A cookie the jar got from an http:// response (as an HTTP client's jar would) goes
    to ws:// on the same host: the jar sees the handshake as an http:// request."""
    server, _ = servers
    jar = http.cookiejar.CookieJar()
    _store(jar, f"http://127.0.0.1:{server.port}/login", f"token={SECRET}; Path=/")
    assert visit(f"ws://127.0.0.1:{server.port}/chat", jar) == OPENED
    assert server.requests == [("/chat", [f"token={SECRET}"])]


def test_the_headers_option_cookie_goes_first(servers: Any) -> None:
    server, _ = servers
    jar = http.cookiejar.CookieJar()
    _store(jar, f"http://127.0.0.1:{server.port}/", "from_jar=1")
    assert visit(f"ws://127.0.0.1:{server.port}/", jar, headers={"Cookie": "given=1"}) == OPENED
    assert server.requests == [("/", ["given=1; from_jar=1"])]  # one Cookie header (RFC 6265)


def test_cookies_of_a_refused_handshake_are_stored(servers: Any) -> None:
    """As a browser does, whatever the status: the next attempt sends them."""
    server, _ = servers
    jar = http.cookiejar.CookieJar()
    base = f"ws://127.0.0.1:{server.port}"
    assert visit(f"{base}/{_set('retry=1', status='403')}", jar) == FAILED
    assert visit(f"{base}/", jar) == OPENED
    assert server.requests == [("/", []), ("/", ["retry=1"])]


def test_no_jar_no_cookie(servers: Any) -> None:
    server, _ = servers
    async def main() -> None:
        ws = await pyws.connect(f"ws://127.0.0.1:{server.port}/{_set('x=1')}")
        await ws.wait_closed()

    asyncio.run(main())
    assert server.requests == [("/", [])]


# -- the jar's rules ---------------------------------------------------------------------


def _store(jar: http.cookiejar.CookieJar, url: str, *set_cookies: str) -> None:
    """Put cookies in the jar as an HTTP client would, from a response to ``url``."""
    import email.message
    import urllib.request

    headers = email.message.Message()
    for value in set_cookies:
        headers["Set-Cookie"] = value

    class Response:
        def info(self) -> email.message.Message:
            return headers

    jar.extract_cookies(Response(), urllib.request.Request(url))  # type: ignore[arg-type]


def test_path(servers: Any) -> None:
    server, _ = servers
    jar = http.cookiejar.CookieJar()
    base = f"ws://127.0.0.1:{server.port}"
    assert visit(f"{base}/chat/join{_set('room=1; Path=/chat', 'site=1; Path=/')}", jar) == OPENED
    visit(f"{base}/chat/room", jar)
    visit(f"{base}/other", jar)
    assert server.requests[1:] == [("/chat/room", ["room=1; site=1"]), ("/other", ["site=1"])]


def test_domain(servers: Any) -> None:
    server, _ = servers
    jar = http.cookiejar.CookieJar()
    _store(jar, "http://other.example/", "elsewhere=1")
    base = f"ws://127.0.0.1:{server.port}"
    # A Domain attribute naming another site is refused by the jar's policy.
    assert visit(f"{base}/{_set('foreign=1; Domain=example.org', 'mine=1')}", jar) == OPENED
    assert sorted(_cookies(jar)) == ["elsewhere", "mine"]
    visit(f"{base}/", jar)
    assert server.requests[1] == ("/", ["mine=1"])  # not the other site's


def test_secure_cookies_go_only_over_wss(servers: Any, client_tls: ssl.SSLContext) -> None:
    ws_server, wss_server = servers
    jar = http.cookiejar.CookieJar()
    # Set over wss:// (https:// for the jar); cookies do not depend on the port.
    assert visit(f"wss://127.0.0.1:{wss_server.port}/{_set('safe=1; Secure', 'plain=1')}", jar,
                 ssl=client_tls) == OPENED
    assert visit(f"wss://127.0.0.1:{wss_server.port}/", jar, ssl=client_tls) == OPENED
    assert visit(f"ws://127.0.0.1:{ws_server.port}/", jar) == OPENED
    assert wss_server.requests[1] == ("/", ["safe=1; plain=1"])
    assert ws_server.requests == [("/", ["plain=1"])]


def test_expiry(servers: Any) -> None:
    server, _ = servers
    jar = http.cookiejar.CookieJar()
    base = f"ws://127.0.0.1:{server.port}"
    jar.set_cookie(_cookie("stale", expires=int(time.time()) - 60))
    jar.set_cookie(_cookie("fresh", expires=int(time.time()) + 3600))
    jar.set_cookie(_cookie("gone"))
    # Max-Age=0 deletes "gone"; an Expires date in the past is never stored.
    assert visit(f"{base}/{_set('gone=; Max-Age=0', 'old=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT')}",
                 jar) == OPENED
    assert server.requests[0] == ("/", ["fresh=1; gone=1"])
    visit(f"{base}/", jar)
    assert server.requests[1] == ("/", ["fresh=1"])


def _cookie(name: str, expires: int | None = None) -> http.cookiejar.Cookie:
    return http.cookiejar.Cookie(
        version=0, name=name, value="1", port=None, port_specified=False, domain="127.0.0.1",
        domain_specified=False, domain_initial_dot=False, path="/", path_specified=True,
        secure=False, expires=expires, discard=expires is None, comment=None, comment_url=None,
        rest={})


# -- what is never shown -----------------------------------------------------------------


def test_cookie_values_never_reach_a_log_record(servers: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    server, _ = servers
    jar = http.cookiejar.CookieJar()
    base = f"ws://127.0.0.1:{server.port}"
    server.preset.append(f"session={SECRET}; Path=/")
    assert visit(f"{base}/", jar) == OPENED
    server.preset.clear()
    assert visit(f"{base}/", jar) == OPENED
    assert server.requests[1] == ("/", [f"session={SECRET}"])
    client = [r.getMessage() for r in caplog.records if not r.name.startswith("websockets.server")]
    assert any("< Set-Cookie: session=***; Path=/" in m for m in client), client
    assert any("> Cookie: session=***" in m for m in client), client
    assert not [m for m in client if SECRET in m]
    assert SECRET not in repr(pyws.Options(cookies=jar))
    assert "cookies=<http.cookiejar.CookieJar>" in repr(pyws.Options(cookies=jar))


def test_a_cookie_that_cannot_go_in_a_header_is_not_sent(servers: Any,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    server, _ = servers
    jar = http.cookiejar.CookieJar()
    _store(jar, f"http://127.0.0.1:{server.port}/", f"bad={SECRET}\x1b")
    assert visit(f"ws://127.0.0.1:{server.port}/", jar) == OPENED
    assert server.requests == [("/", [])]
    assert "no cookie sent to http://127.0.0.1" in caplog.text
    assert "U+001B" in caplog.text and SECRET not in caplog.text


# -- bad values --------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["session=1", {"session": "1"}, []])
def test_cookies_must_be_a_cookie_jar(value: object) -> None:
    with pytest.raises(TypeError, match="cookies must be an http.cookiejar.CookieJar or None"):
        WebSocket("ws://127.0.0.1:1/", cookies=value)
