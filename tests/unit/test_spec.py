"""The runtime-independent rules (pyws._spec, pyws._errors, pyws._events): unit tests.

These rules are pure Python shared by both backends; the behaviour suite runs them in
every runtime through real sockets. Here they are checked row by row.
"""

from __future__ import annotations

import logging

import pytest

import pyws
from pyws._errors import from_dom_name
from pyws._spec import check_close_args, parse_protocols, parse_url


@pytest.mark.parametrize("url, expected", [
    ("ws://example.com", "ws://example.com/"),
    ("WS://EXAMPLE.com:80/a", "ws://example.com/a"),
    ("http://example.com:8080/x?y=1", "ws://example.com:8080/x?y=1"),
    ("https://example.com:443/", "wss://example.com/"),
    ("wss://example.com:443", "wss://example.com/"),
    ("wss://example.com:80", "wss://example.com:80/"),
    ("ws://[::1]:9000/", "ws://[::1]:9000/"),
    ("ws://[0:0:0:0:0:0:0:1]/", "ws://[::1]/"),
    ("ws://127.1/", "ws://127.0.0.1/"),
    ("ws://0x7f.1/", "ws://127.0.0.1/"),
    ("ws://2130706433/", "ws://127.0.0.1/"),
    ("ws://münchen.de/", "ws://xn--mnchen-3ya.de/"),
    ("ws://h/a/../b/./c", "ws://h/b/c"),
    ("ws://h/a b?c d", "ws://h/a%20b?c%20d"),
    ("ws://h/\u00e9", "ws://h/%C3%A9"),
    ("ws://user:pass@h/", "ws://user:pass@h/"),
    ("  ws://h/  ", "ws://h/"),
    ("ws://h\\path", "ws://h/path"),
])
def test_url_serialization(url, expected):
    assert parse_url(url).href == expected


@pytest.mark.parametrize("url", [
    "ws://h/#", "ws://h/#frag", "ftp://h/", "file:///x", "javascript:alert(1)", "mailto:a@b",
    "ws://", "ws://h:99999/", "ws://h:x/", "ws://a b/", "ws://[::1/", "ws://[zz]/",
    "ws://256.0.0.1/", "relative/path", "", "ws://h%00/",
])
def test_url_errors(url):
    with pytest.raises(pyws.DOMSyntaxError) as excinfo:
        parse_url(url)
    assert excinfo.value.name == "SyntaxError"


def test_relative_url_needs_a_base():
    assert parse_url("/chat?x", "https://example.com/app/page").href == "wss://example.com/chat?x"
    assert parse_url("chat", "http://example.com/app/page").href == "ws://example.com/app/chat"
    assert parse_url("//other:81/", "http://example.com/").href == "ws://other:81/"
    with pytest.raises(pyws.DOMSyntaxError):
        parse_url("chat")


def test_url_fields_used_to_connect():
    url = parse_url("wss://[::1]:8443/p?q")
    assert (url.connect_host, url.port, url.resource_name, url.secure) == ("::1", 8443, "/p?q", True)
    assert url.origin == "wss://[::1]:8443"
    assert parse_url("ws://h/").port == 80 and parse_url("wss://h/").port == 443


@pytest.mark.parametrize("protocols, expected", [
    (None, ()), ([], ()), ("chat", ("chat",)), (["a", "b"], ("a", "b")), (("x",), ("x",)),
    (["a", "A"], ("a", "A")),  # case-sensitive: not duplicates
])
def test_protocols(protocols, expected):
    assert parse_protocols(protocols) == expected


@pytest.mark.parametrize("protocols", [
    [""], ["a b"], ["a,b"], ["a", "a"], ["é"], ["a\tb"], ["(x)"], ["x/y"], ["{"], ["\x7f"],
])
def test_protocol_errors(protocols):
    with pytest.raises(pyws.DOMSyntaxError):
        parse_protocols(protocols)


@pytest.mark.parametrize("protocols", [b"chat", 1, [b"chat"], [None]])
def test_protocol_type_errors(protocols):
    with pytest.raises(TypeError):
        parse_protocols(protocols)


@pytest.mark.parametrize("code, reason, expected", [
    (None, None, (None, "")),
    (1000, None, (1000, "")),
    (3000, "", (3000, "")),
    (4999, "bye", (4999, "bye")),
    (None, "bye", (1000, "bye")),             # a reason alone implies 1000
    (1000, "a" * 123, (1000, "a" * 123)),
    (1000, "\ud800", (1000, "\ufffd")),      # lone surrogate -> U+FFFD (USVString)
])
def test_close_args(code, reason, expected):
    assert check_close_args(code, reason) == expected


@pytest.mark.parametrize("code", [0, 999, 1001, 1002, 1005, 1006, 1015, 2999, 5000, 65536])
def test_close_code_errors_come_before_reason_errors(code):
    with pytest.raises(pyws.InvalidAccessError):
        check_close_args(code, "x" * 500)


def test_close_reason_too_long():
    with pytest.raises(pyws.DOMSyntaxError):
        check_close_args(1000, "a" * 124)
    with pytest.raises(pyws.DOMSyntaxError):
        check_close_args(1000, "\u00e9" * 62)  # 124 UTF-8 bytes
    with pytest.raises(TypeError):
        check_close_args(1000.0, None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        check_close_args(True, None)  # type: ignore[arg-type]


def test_exception_family():
    for cls, name, code, builtin in [
        (pyws.DOMSyntaxError, "SyntaxError", 12, ValueError),
        (pyws.InvalidStateError, "InvalidStateError", 11, RuntimeError),
        (pyws.InvalidAccessError, "InvalidAccessError", 15, ValueError),
    ]:
        exc = cls("message")
        assert isinstance(exc, pyws.DOMException) and isinstance(exc, builtin)
        assert (exc.name, exc.code, exc.message, str(exc)) == (name, code, "message", f"{name}: message")
        assert type(from_dom_name(name, "m")) is cls
        assert type(pyws.DOMException("m", name)) is cls  # JavaScript's constructor form
    other = from_dom_name("SecurityError", "blocked port")
    assert type(other) is pyws.DOMException and other.name == "SecurityError"


def test_events_and_listeners():
    target = pyws.EventTarget()
    calls: list[str] = []

    def first(event: pyws.Event) -> None:
        calls.append("first")
        event.stopImmediatePropagation()

    target.addEventListener("x", first)
    target.addEventListener("x", lambda e: calls.append("never"))
    event = pyws.Event("x", cancelable=True)
    assert target.dispatchEvent(event) is True
    assert calls == ["first"] and event.target is target and event.currentTarget is None
    assert not event.isTrusted

    def reentrant(event: pyws.Event) -> None:
        with pytest.raises(pyws.InvalidStateError):
            target.dispatchEvent(event)
        event.preventDefault()

    target.addEventListener("y", reentrant)
    assert target.dispatchEvent(pyws.Event("y", cancelable=True)) is False
    with pytest.raises(TypeError):
        target.addEventListener("x", 42)
    with pytest.raises(TypeError):
        target.addEventListener("x", first, {"once": True}, bogus=1)


def test_a_raising_listener_is_reported_and_the_others_still_run(caplog):
    target = pyws.EventTarget()
    calls: list[str] = []

    def broken(event: pyws.Event) -> None:
        raise RuntimeError("listener bug")

    target.addEventListener("x", broken)
    target.addEventListener("x", lambda e: calls.append("after"))
    with caplog.at_level(logging.ERROR, logger="pyws"):
        target.dispatchEvent(pyws.Event("x"))
    assert calls == ["after"]
    assert "listener bug" in caplog.text


def test_removing_a_later_listener_during_dispatch_skips_it():
    target = pyws.EventTarget()
    calls: list[str] = []

    def second(event: pyws.Event) -> None:
        calls.append("second")

    def first(event: pyws.Event) -> None:
        calls.append("first")
        target.removeEventListener("x", second)
        target.addEventListener("x", lambda e: calls.append("added"))  # next dispatch only

    target.addEventListener("x", first)
    target.addEventListener("x", second)
    target.dispatchEvent(pyws.Event("x"))
    assert calls == ["first"]


def test_event_objects():
    message = pyws.MessageEvent("message", data=b"x", origin="ws://h")
    assert (message.type, message.data, message.origin, message.lastEventId) == ("message", b"x", "ws://h", "")
    close = pyws.CloseEvent("close", code=1000, reason="r", wasClean=True)
    assert (close.code, close.reason, close.wasClean) == (1000, "r", True)
    blob = pyws.Blob(b"abc")
    assert blob == b"abc" and blob.size == 3 and blob.slice(-2) == b"bc"
    assert repr(blob) == "<Blob size=3 type=''>"


def test_unknown_and_unsupported_options():
    with pytest.raises(TypeError, match="bogus"):
        pyws.WebSocket("ws://127.0.0.1:1/", bogus=True)
    with pytest.raises(ValueError):
        pyws.WebSocket("ws://127.0.0.1:1/", compression="zstd")


def test_websocket_error():
    exc = pyws.WebSocketError("could not connect", 1006, "", False)
    assert isinstance(exc, ConnectionError) and isinstance(exc, pyws.DOMException)
    assert (exc.name, exc.closeCode, exc.reason, exc.wasClean) == ("WebSocketError", 1006, "", False)
    assert exc.message == "could not connect" and str(exc) == "WebSocketError: could not connect"


def test_parsed_urls_are_reused_but_never_ones_with_credentials() -> None:
    """A service opening many connections to one URL parses it once; a URL with
    credentials is parsed every time (its password is not kept around), and a URL that
    does not parse raises every time."""
    from pyws import _spec

    plain = "ws://example.com:8080/feed?x=1"
    assert _spec.parse_url(plain) is _spec.parse_url(plain)
    assert _spec.parse_url(plain, "https://other.test/") is not _spec.parse_url(plain)
    secret = "ws://alice:s3cret@example.com/"
    assert _spec.parse_url(secret).password == "s3cret"
    assert all("s3cret" not in url for url, _ in _spec._recent)
    for _ in range(2):
        with pytest.raises(pyws.DOMSyntaxError):
            _spec.parse_url("ws://example.com/#fragment")
    for i in range(_spec._RECENT_MAX + 5):  # bounded
        _spec.parse_url(f"ws://example.com/{i}")
    assert len(_spec._recent) <= _spec._RECENT_MAX
