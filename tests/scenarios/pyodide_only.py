"""Scenarios that only make sense under Pyodide (the JavaScript WebSocket backend)."""

from __future__ import annotations

import asyncio

import js
from pyodide.ffi import JsException

import pyws
from pyws import WebSocket

from .trace import Trace


async def handler_proxies_are_destroyed_after_close(server: str, refused: str) -> None:
    for url in (server + "/echo", refused):
        ws = WebSocket(url)
        trace = Trace(ws)
        proxies = ws._conn._proxies
        assert len(proxies) == 2  # onmessage; onopen, onerror and onclose share one
        if url.endswith("/echo"):
            await trace.wait_for("open")
            ws.send("x")
            await trace.wait_for("message")
            ws.close()
        await trace.closed()
        await asyncio.sleep(0)  # the proxies are destroyed on the turn after close
        await asyncio.sleep(0)
        assert ws._conn._proxies == ()
        for proxy in proxies:
            try:
                proxy()  # a destroyed proxy cannot be called any more
            except (JsException, Exception) as exc:
                assert "destroyed" in str(exc), exc
            else:
                raise AssertionError("a handler proxy is still alive after close")


async def bytes_go_out_as_binary_frames(server: str, refused: str) -> None:
    ws = WebSocket(server + "/echo")
    ws.binaryType = "arraybuffer"
    trace = Trace(ws)
    await trace.wait_for("open")
    ws.send(b"\x00\xffbin")
    await trace.wait_for("message")
    message = [e for e in trace.events if e["type"] == "message"][0]
    assert message.get("binary") == "00ff62696e", message  # not the text "b'...'"
    ws.close()
    await trace.closed()


async def host_reports_its_kind(server: str, refused: str) -> str:
    from pyws._pyodide import _probe

    assert pyws.backend == "pyodide"
    kind = _probe.host_kind()
    assert kind in ("node", "browser", "worker")
    assert _probe.base_url() is None if kind == "node" else str(js.location.href).startswith("http")
    return kind


async def unsupported_options_are_refused(server: str, refused: str) -> None:
    import http.cookiejar

    for option, value, why in (
            ("headers", {"A": "b"}, "cannot set request headers"), ("compression", None, "host"),
            ("max_size", 1, "host"), ("proxy", "http://127.0.0.1:3128", "proxy"),
            ("proxy", None, "proxy"), ("proxy", False, "proxy"),
            ("cookies", http.cookiejar.CookieJar(), "the host owns cookies"),
            ("unix_socket", "/run/app.sock", "cannot connect to a Unix domain socket"),
            ("ping_interval", 20.0, "cannot send pings"),
            ("ping_timeout", 5.0, "cannot send pings")):
        try:
            WebSocket(server + "/echo", **{option: value})
        except TypeError as exc:
            assert option in str(exc) and "Pyodide" in str(exc) and why in str(exc), exc
        else:
            raise AssertionError(f"option {option} was accepted")



async def the_default_proxy_setting_is_the_hosts(server: str, refused: str) -> None:
    # proxy=True (the default: "from the environment" on CPython) means "the host's" here:
    # it must not make sockets fail.
    ws = WebSocket(server + "/echo", proxy=True)
    trace = Trace(ws)
    await trace.wait_for("open")
    ws.close()
    await trace.closed()


SCENARIOS = [
    "handler_proxies_are_destroyed_after_close",
    "bytes_go_out_as_binary_frames",
    "unsupported_options_are_refused",
    "the_default_proxy_setting_is_the_hosts",
]
