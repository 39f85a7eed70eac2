"""pyws under PyScript's MicroPython, on the page's main thread and in a worker.

The WebSocket server is ``?ws=URL`` (the tests run tests/servers.py's and pass its URL),
else the page's own server (demo/sites_server.py echoes at /echo; the section that needs
the tests' server is skipped then). ``?refused=PORT`` names a port where nothing listens.

1. demo/mdn_example.py and demo/async_example.py, unchanged, against /echo. They read
   ECHO_URL from the environment: a page has none, so this script gives MicroPython's
   ``os`` one, as js/pyws.mjs does for Pyodide. What they print goes into the page.
2. Binary data, a close code and reason (recorded by the server at /record), a subprotocol,
   closes started by the server, a refused connection, pyws's exceptions.
3. The argument rows of the location's hash (close() arguments and protocol lists, from
   tests/parity_arguments.py), each one's outcome, for the test to compare with CPython's.
4. What differs from CPython and Pyodide, and the MicroPython gaps that explain why
   (docs/pyscript.md, "MicroPython").

Each result is one line "section: text" in the page; the status says done or failed.
"""

import asyncio
import json
import logging
import os
import sys

import js
from pyscript import RUNNING_IN_WORKER, document, window

where = "worker" if RUNNING_IN_WORKER else "main"
transcript = document.getElementById(where + "-transcript")
status = document.getElementById(where + "-status")
lines = []

PARAMS = js.URLSearchParams.new(window.location.search)
SERVER = str(PARAMS.get("ws")) if PARAMS.has("ws") else None
ECHO = (SERVER or "ws://" + str(window.location.host)) + "/echo"
# /record echoes and keeps the close code and reason the client sent (tests/servers.py).
RECORD = SERVER + "/record?id=mpy-" + where if SERVER else ECHO
REFUSED = "ws://127.0.0.1:" + str(PARAMS.get("refused")) + "/"
TIMEOUT = 20


def show(section, *parts):
    lines.append(section + ": " + " ".join(str(part) for part in parts))
    transcript.textContent = "\n".join(lines) + "\n"


def outcome(call, message=False):
    """"ok", or the exception's class name (with DOM name and code for pyws's; with the
    message if asked)."""
    try:
        call()
    except Exception as error:  # noqa: BLE001 - the outcome is what is reported
        name = getattr(error, "name", None)
        text = type(error).__name__
        if isinstance(name, str):
            text += " " + name + " " + str(error.code)
        return text + (" " + str(error) if message else "")
    return "ok"


# -- 1. the demo files --------------------------------------------------------------------

async def run_example(section, path):
    closed = asyncio.Event()

    def example_print(*parts):
        show(section, *parts)
        if parts and parts[0] == "Closed":
            closed.set()

    os.environ = {"ECHO_URL": ECHO}  # the page is the host: it sets the environment
    with open(path) as source:
        exec(source.read(), {"__name__": "__main__", "print": example_print})
    await asyncio.wait_for(closed.wait(), TIMEOUT)


# -- 2. binary data, close reason, refused, exceptions -------------------------------------

async def binary_and_reason():
    import pyws

    async with pyws.connect(RECORD) as ws:
        show("binary", "readyState", ws.readyState, "binaryType", ws.binaryType)
        ws.send(b"\x00\x01\x02")
        data = await ws.recv()
        show("binary", "blob", type(data).__name__, repr(data))
        ws.binaryType = "arraybuffer"
        big = bytes(range(256)) * 300
        ws.send(bytearray(big))
        await ws.drain()
        show("binary", "drained", ws.bufferedAmount)
        data = await ws.recv()
        show("binary", "arraybuffer", type(data).__name__, len(data), data == big)
        ws.send("é ✓ \U0001f600")
        show("binary", "text", await ws.recv())
        ws.send("a\x00b")  # MicroPython's bridge alone would cut it at the NUL
        show("binary", "text with NUL", repr(await ws.recv()))
        ws.close(4000, "done é")
        show("binary", "readyState after close()", ws.readyState)
    closed = await ws.wait_closed()
    show("binary", "close", closed.code, closed.reason, closed.wasClean, ws.readyState)


async def server_side():
    """A subprotocol the server picks, and closes the server starts."""
    import pyws

    if not SERVER:
        show("server", "skipped: no ?ws=URL of tests/servers.py")
        return
    async with pyws.connect(SERVER + "/echo?accept=b", ["a", "b"]) as ws:
        show("server", "protocol", ws.protocol, "extensions", ws.extensions.split(";")[0])
    ws = await pyws.connect(SERVER + "/messages?n=3")
    show("server", "messages", await collect(ws))
    ws = await pyws.connect(SERVER + "/close?code=4001&reason=bye")
    try:
        await collect(ws)
    except pyws.WebSocketError as error:
        show("server", "close", type(error).__name__, error.closeCode, error.reason,
             error.wasClean, ws.readyState)


async def collect(ws):
    """Every message until the socket closes (``async for``)."""
    got = []
    async for data in ws:
        got.append(data)
    return got


async def refused():
    import pyws

    ws = pyws.WebSocket(REFUSED)
    events = []
    ws.onerror = lambda event: events.append(event.type + " readyState=" + str(ws.readyState))
    ws.addEventListener("close", lambda event: events.append(
        "close " + str(event.code) + " " + repr(event.reason) + " wasClean=" + str(event.wasClean)))
    await asyncio.wait_for(ws.wait_closed(), TIMEOUT)
    show("refused", "events", " | ".join(events))
    try:
        await pyws.connect(REFUSED)
        show("refused", "connect", "opened?")
    except pyws.WebSocketError as error:
        show("refused", "connect", type(error).__name__, error.closeCode, error.wasClean,
             isinstance(error, pyws.DOMException))
    return ws


async def exceptions(closed_socket):
    import pyws

    connecting = pyws.WebSocket(ECHO)
    cases = [
        ("bad scheme", lambda: pyws.WebSocket("ftp://127.0.0.1/")),
        ("fragment", lambda: pyws.WebSocket(ECHO + "#frag")),
        ("url type", lambda: pyws.WebSocket(8765)),
        ("duplicate protocol", lambda: pyws.WebSocket(ECHO, ["a", "a"])),
        ("send while connecting", lambda: connecting.send("x")),
        ("close(1001)", lambda: closed_socket.close(1001)),
        ("close long reason", lambda: closed_socket.close(1000, "x" * 124)),
        ("option headers", lambda: pyws.WebSocket(ECHO, headers={"X-A": "b"})),
        ("option default", lambda: pyws.WebSocket(ECHO, open_timeout=30.0).close()),
        ("unknown option", lambda: pyws.WebSocket(ECHO, nope=1)),
    ]
    for label, call in cases:
        show("exception", label, "->", outcome(call))
    connecting.close()
    rewritten = pyws.WebSocket(ECHO.replace("ws:", "http:"))
    show("exception", "url rewritten", rewritten.url)
    rewritten.close()


async def listeners(ws):
    """The DOM's listener rules, on a socket's own dispatch (``dispatchEvent``)."""
    import pyws

    calls = []

    class Handler:
        def handleEvent(self, event):
            calls.append("handleEvent")

    async def later(event):
        await asyncio.sleep(0)
        calls.append("async")

    def first(event):
        calls.append("first")
        ws.removeEventListener("message", removed)  # during the dispatch: not called

    def removed(event):
        calls.append("removed")

    def failing(event):
        raise ValueError("a listener's error is logged; the dispatch goes on")

    logged = []

    class Capture(logging.Handler):  # instead of stderr, which PyScript shows in the page
        def emit(self, record):
            logged.append(str(getattr(record, "message", None) or record.msg))

    capture = Capture()
    logging.getLogger("pyws").addHandler(capture)
    ws.onmessage = lambda event: calls.append("slot 1")
    for listener in (first, first, removed, Handler(), later, failing):  # first twice: once
        ws.addEventListener("message", listener)
    ws.addEventListener("message", lambda event: calls.append("once"), once=True)
    ws.addEventListener("message", lambda event: calls.append("once (dict)"), {"once": True})
    ws.onmessage = lambda event: calls.append("slot 2")  # keeps the slot's place
    event = pyws.MessageEvent("message", data="x")
    show("listeners", "dispatchEvent", ws.dispatchEvent(event), "isTrusted", event.isTrusted,
         "target", event.target is ws)
    ws.dispatchEvent(pyws.MessageEvent("message", data="y"))
    await asyncio.sleep(0.05)
    logging.getLogger("pyws").handlers.remove(capture)  # MicroPython: no removeHandler()
    show("listeners", "calls", " ".join(calls))
    show("listeners", "logged", len(logged), logged[0].partition(" of ")[0],
         "|", [line for line in logged[1].splitlines() if "ValueError" in line][0])


# -- 3. argument rows --------------------------------------------------------------------

def argument_rows(closed_socket):
    import pyws

    hash_text = str(window.location.hash)
    rows = json.loads(str(js.decodeURIComponent(hash_text[1:]))) if len(hash_text) > 1 else {}
    for index, args in enumerate(rows.get("close", [])):
        show("close-row", index, outcome(lambda: closed_socket.close(*args), message=True))
    opened = []
    for index, protocols in enumerate(rows.get("protocols", [])):
        show("protocols-row", index, outcome(lambda: opened.append(pyws.WebSocket(ECHO, protocols))))
    for ws in opened:
        ws.close()


# -- 4. what differs ------------------------------------------------------------------------

def differences():
    import pyws

    ws = pyws.WebSocket(ECHO)
    show("differs", "readyState is", type(ws.readyState).__name__)
    try:
        pyws.WebSocket("ftp://127.0.0.1/")
    except ValueError:
        show("differs", "except ValueError catches DOMSyntaxError")
    except pyws.DOMSyntaxError:
        show("differs", "except ValueError misses DOMSyntaxError")
    ws.close()
    show("differs", "connect_sync", outcome(lambda: pyws.connect_sync(ECHO)))
    show("differs", "recv_sync", outcome(lambda: ws.recv_sync()))
    for name in ("Blob", "Options"):
        show("differs", "pyws." + name, "present" if hasattr(pyws, name) else "missing")
    show("differs", "import pyws._spec", outcome(lambda: __import__("pyws._spec")))


def two_exception_bases():
    class Both(ValueError, RuntimeError):  # as pyws.InvalidStateError on CPython
        pass


class _Bytes(bytes):  # as pyws.Blob on CPython
    pass


def gaps():
    """Why pyws/_micropython/ exists: what the rest of pyws needs and MicroPython lacks."""
    names = ("__future__", "typing", "enum", "dataclasses", "collections.abc", "ipaddress",
             "urllib.parse", "codecs", "pyodide.ffi")
    missing = [name for name in names if outcome(lambda: __import__(name)) != "ok"]
    show("gaps", "missing modules", ", ".join(missing))
    show("gaps", "two built-in exception bases", outcome(two_exception_bases))
    show("gaps", "len() of a bytes subclass", outcome(lambda: len(_Bytes(b"abc"))))
    loop = asyncio.get_event_loop()
    show("gaps", "loop.call_soon", "present" if hasattr(loop, "call_soon") else "missing")
    show("gaps", "loop.create_future()", outcome(loop.create_future))
    show("gaps", "ConnectionError", "present" if "ConnectionError" in dir(__import__("builtins")) else "missing")


async def main():
    import pyws

    impl = sys.implementation
    show("runtime", impl.name, ".".join(str(n) for n in impl.version[:3]))
    show("import pyws", pyws.backend, pyws.__version__)
    await run_example("mdn", "mdn_example.py")
    await run_example("async", "async_example.py")
    await binary_and_reason()
    await server_side()
    closed_socket = await refused()
    await exceptions(closed_socket)
    await listeners(closed_socket)
    argument_rows(closed_socket)
    differences()
    gaps()


async def run():
    try:
        await main()
        status.textContent = "done"
    except BaseException as error:  # noqa: BLE001 - shown in the page, the test fails on it
        show("failed", type(error).__name__, error)
        sys.print_exception(error)
        status.textContent = "failed"


status.textContent = "running"
asyncio.create_task(run())
