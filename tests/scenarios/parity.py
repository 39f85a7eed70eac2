"""The parity suite's client side in Python: runs a scenario (data) with pyws, records a trace.

tests/support/parity/reference.js is the same interpreter in JavaScript on the browser's own
``WebSocket`` (the reference). Both take the same scenario dicts (tests/support/parity/scenarios.py)
and produce the same trace format, so tests/parity/test_parity.py compares them as plain data.
This module runs everywhere pyws runs: CPython (in the test process) and Pyodide (Node,
a Chromium page, a Chromium worker).

A scenario's client part::

    {"url": "ws://{host}/s/{cid}",     # {host}: 127.0.0.1:PORT of the scripted server
     "protocols": None | str | [str],  # None: the argument is left out
     "on": {TRIGGER: [ACTION, ...]}}

In ``url``, ``{host}`` is the scripted server, ``{refused}`` a host:port where nothing
listens, ``{cid}`` the connection id.

Triggers: "start" (right after the constructor), "open", "message" (each), "message#N"
(the N-th, from 1), "error", "close", "signal:NAME" (the scripted server's control
socket said NAME), "L:LABEL" (listener LABEL was called; a label ending in "!" throws
after its actions).

Actions: ``["send", text]``, ``["send_hex", hex]`` (binary), ``["close", code?, reason?]``
(null code: left out, as ``undefined``), ``["binaryType", value]``, ``["get", attr...]``
(record attributes), ``["listen", type, label, options?]``, ``["unlisten", type, label,
options?]``, ``["listen_obj", type, label, options?]`` (an object with handleEvent),
``["on", type, label | None]`` (the onX slot), ``["dispatch", type]`` (a synthetic Event).

Trace entries: an event ``{"ev", "rs" (readyState), ...}`` (message: ``data`` or ``hex`` +
``kind`` ("blob"/"arraybuffer"), ``origin``; open and close: ``protocol``,
``extensions``; close: ``code``, ``reason``, ``wasClean``); a listener call ``{"L",
"ev", "rs"}``; an action that threw ``{"do", "throw": DOM name}``; an attribute read
``{"get", "value"}``; ``{"dispatch": result}``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pyws
from pyws import WebSocket

__all__ = ["run_batch", "run_one", "error_name"]

SCENARIO_TIMEOUT = 5.0


def error_name(exc: BaseException) -> str:
    """The DOM name of a pyws exception; the class name of a Python one."""
    name = getattr(exc, "name", None)
    return name if isinstance(name, str) and name else type(exc).__name__


class _Run:
    def __init__(self, spec: dict[str, Any], host: str, cid: str, refused: str) -> None:
        self.spec = spec
        self.host = host
        self.refused = refused
        self.cid = cid
        self.trace: list[dict[str, Any]] = []
        self.on: dict[str, list[list[Any]]] = spec.get("on", {})
        self.labels: dict[str, Any] = {}
        self.objects: dict[str, Any] = {}
        self.messages = 0
        self.ws: Any = None
        self.done = asyncio.get_event_loop().create_future()

    # -- listeners by label (the same label is the same callable) -----------------------

    def fn(self, label: str) -> Any:
        if label not in self.labels:
            def listener(event: Any) -> None:
                self.trace.append({"L": label, "ev": event.type, "rs": int(self.ws.readyState)})
                self.run(f"L:{label}")
                if label.endswith("!"):
                    raise RuntimeError(f"listener {label} throws (on purpose)")
            self.labels[label] = listener
        return self.labels[label]

    def obj(self, label: str) -> Any:
        if label not in self.objects:
            run = self

            class Listener:
                def handleEvent(self, event: Any) -> None:
                    run.trace.append({"L": label, "ev": event.type, "rs": int(run.ws.readyState)})
                    run.run(f"L:{label}")
            self.objects[label] = Listener()
        return self.objects[label]

    # -- actions --------------------------------------------------------------------------

    def run(self, trigger: str) -> None:
        for action in self.on.get(trigger, ()):
            self.act(action)

    def act(self, action: list[Any]) -> None:
        ws, op, args = self.ws, action[0], action[1:]
        try:
            if op == "send":
                ws.send(args[0])
            elif op == "send_hex":
                ws.send(bytes.fromhex(args[0]))
            elif op == "close":
                ws.close(*args)
            elif op == "binaryType":
                ws.binaryType = args[0]
            elif op == "get":
                for name in args:
                    value = getattr(ws, name)
                    self.trace.append({"get": name, "value": int(value) if name == "readyState" else value})
            elif op == "listen":
                ws.addEventListener(args[0], self.fn(args[1]), *args[2:])
            elif op == "unlisten":
                ws.removeEventListener(args[0], self.fn(args[1]), *args[2:])
            elif op == "listen_obj":
                ws.addEventListener(args[0], self.obj(args[1]), *args[2:])
            elif op == "on":
                setattr(ws, "on" + args[0], None if args[1] is None else self.fn(args[1]))
            elif op == "dispatch":
                self.trace.append({"dispatch": ws.dispatchEvent(pyws.Event(args[0]))})
            else:
                raise AssertionError(f"unknown action {op!r}")
        except (pyws.DOMException, TypeError, ValueError) as exc:
            self.trace.append({"do": op, "throw": error_name(exc)})

    # -- the trace of the socket's own events ----------------------------------------------

    def record(self, event: Any) -> None:
        ws = self.ws
        entry: dict[str, Any] = {"ev": event.type, "rs": int(ws.readyState)}
        if not event.isTrusted:
            entry["untrusted"] = True
        if event.type == "message" and isinstance(event, pyws.MessageEvent):
            data = event.data
            if isinstance(data, str):
                entry["data"] = data
            else:
                entry["hex"] = bytes(data).hex()
                entry["kind"] = "blob" if isinstance(data, pyws.Blob) else "arraybuffer"
            entry["origin"] = event.origin
        if event.type in ("open", "close"):
            entry["protocol"] = ws.protocol
            entry["extensions"] = ws.extensions
        if event.type == "close":
            entry.update(code=event.code, reason=event.reason, wasClean=event.wasClean)
        self.trace.append(entry)
        self.run(event.type)
        if event.type == "message":
            self.messages += 1
            self.run(f"message#{self.messages}")
        if event.type == "close" and not self.done.done():
            self.done.set_result(None)

    async def main(self, timeout: float) -> list[dict[str, Any]]:
        spec = self.spec
        control = None
        if any(key.startswith("signal:") for key in self.on):
            control = WebSocket(f"ws://{self.host}/signal/{self.cid}")
            opened = asyncio.get_event_loop().create_future()
            control.onopen = lambda event: opened.done() or opened.set_result(None)
            control.onmessage = lambda event: self.run("signal:" + event.data)
            await asyncio.wait_for(opened, timeout)
        url = spec.get("url", "ws://{host}/s/{cid}").replace("{host}", self.host) \
            .replace("{cid}", self.cid).replace("{refused}", self.refused)
        try:
            if "protocols" in spec:
                self.ws = WebSocket(url, spec["protocols"])
            else:
                self.ws = WebSocket(url)
        except (pyws.DOMException, TypeError, ValueError) as exc:
            self.trace.append({"do": "new", "throw": error_name(exc)})
            return self.trace
        for kind in ("open", "message", "error", "close"):
            self.ws.addEventListener(kind, self.record)
        self.run("start")
        try:
            await asyncio.wait_for(asyncio.shield(self.done), timeout)
        except asyncio.TimeoutError:
            self.trace.append({"ev": "TIMEOUT", "rs": int(self.ws.readyState)})
            self.ws.close()
        # Anything that would still be dispatched after close (nothing should be).
        for _ in range(3):
            await asyncio.sleep(0)
        if control is not None:
            control.close()
        return self.trace


async def run_one(spec: dict[str, Any], host: str, cid: str, refused: str = "",
                  timeout: float = SCENARIO_TIMEOUT) -> list[dict[str, Any]]:
    return await _Run(spec, host, cid, refused).main(spec.get("timeout", timeout))


async def run_batch(items: list[list[Any]], host: str, refused: str,
                    concurrency: int = 6) -> dict[str, Any]:
    """Run ``[name, cid, spec]`` items, ``concurrency`` at a time; ``{name: trace}``.
    In URLs, {host} is the scripted server (127.0.0.1:PORT), {refused} a host:port
    where nothing listens, {cid} the connection id."""
    semaphore = asyncio.Semaphore(concurrency)
    results: dict[str, Any] = {}

    async def one(name: str, cid: str, spec: dict[str, Any]) -> None:
        async with semaphore:
            try:
                results[name] = await run_one(spec, host, cid, refused)
            except Exception as exc:  # a broken interpreter run: shown in the diff
                results[name] = [{"INTERPRETER_ERROR": f"{type(exc).__name__}: {exc}"}]

    await asyncio.gather(*(one(*item) for item in items))
    return results


# -- the argument table (tests/support/parity/arguments.py) ---------------------------------------------


async def _close_row(row: dict[str, Any], host: str, timeout: float) -> dict[str, Any]:
    """Open a socket, call close(*args) on it, report what happened."""
    ws = WebSocket(f"ws://{host}/s/{row['cid']}")
    loop = asyncio.get_event_loop()
    opened, closed = loop.create_future(), loop.create_future()
    ws.onopen = lambda event: opened.done() or opened.set_result(None)
    ws.onclose = lambda event: closed.done() or closed.set_result(event)
    await asyncio.wait_for(asyncio.shield(opened), timeout)
    out: dict[str, Any] = {}
    try:
        ws.close(*row["args"])
    except (pyws.DOMException, TypeError, ValueError) as exc:
        out["throw"] = error_name(exc)
        out["readyState"] = int(ws.readyState)
        ws.close()
    else:
        out["readyState"] = int(ws.readyState)
    event = await asyncio.wait_for(asyncio.shield(closed), timeout)
    out["close"] = [event.code, event.reason, event.wasClean]
    return out


async def run_arguments(url_rows: list[dict[str, Any]], close_rows: list[dict[str, Any]],
                        host: str, refused: str, concurrency: int = 6,
                        timeout: float = 10.0) -> dict[str, Any]:
    """Evaluate the argument table: ``{"url": [outcome...], "close": [outcome...]}``.

    A URL row (``url``, optional ``protocols``) gives ``{"url": ws.url}`` or ``{"throw":
    DOM name}``; the socket, if any, is closed at once. A close row (``cid``, ``args``)
    gives ``{"throw"?, "readyState", "close": [code, reason, wasClean]}``."""
    semaphore = asyncio.Semaphore(concurrency)

    async def close_one(row: dict[str, Any]) -> dict[str, Any]:
        async with semaphore:
            try:
                return await _close_row(row, host, timeout)
            except Exception as exc:
                return {"INTERPRETER_ERROR": f"{type(exc).__name__}: {exc}"}

    closes = await asyncio.gather(*(close_one(row) for row in close_rows))
    urls: list[dict[str, Any]] = []
    pending: list[asyncio.Future[None]] = []
    loop = asyncio.get_event_loop()
    for row in url_rows:
        url = row["url"].replace("{host}", host).replace("{rport}", refused.rsplit(":", 1)[1])
        try:
            ws = WebSocket(url, row["protocols"]) if "protocols" in row else WebSocket(url)
        except (pyws.DOMException, TypeError, ValueError) as exc:
            urls.append({"throw": error_name(exc)})
            continue
        urls.append({"url": ws.url})
        done = loop.create_future()
        ws.onclose = lambda event, done=done: done.done() or done.set_result(None)
        ws.close()
        pending.append(done)
    if pending:  # every socket made here ends before the run does
        await asyncio.wait(pending, timeout=timeout)
    return {"url": urls, "close": list(closes)}
