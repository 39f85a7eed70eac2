"""pyws under PyScript's MicroPython (``<script type="mpy">``), in headless Chromium.

build/pyscript-site/micropython.html (from demo/pyscript/) runs
demo/pyscript/micropython_examples.py under MicroPython (npm
@micropython/micropython-webassembly-pyscript, the build @pyscript/core 0.7.31 loads for
``mpy``, served with the page: no CDN) on the page's main thread (pyws from ``packages``)
and in a PyScript worker (pyws from ``files``), against tests/support/servers.py's server
(``?ws=URL``). It runs demo/mdn_example.py and demo/async_example.py unchanged, then
binary data, a close code and reason (the server records what it received), a
subprotocol, closes started by the server, a connection refused by a port where nothing
listens (``?refused=PORT``), pyws's exceptions, and what differs from CPython; each result
is a line "section: text" in the page.

The close() arguments and protocol lists of tests/parity_arguments.py travel in the page's
hash (rows with lone surrogates stay out: a MicroPython ``str`` cannot hold one); each
row's outcome under MicroPython must equal pyws's own rules on CPython (pyws/_spec.py).
One browser for the module.
"""

from __future__ import annotations

import json
import pathlib
import time
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from support.parity.arguments import CLOSE_ROWS, URL_ROWS
from support.servers import BehaviourServer, running_server, unused_port
from support.sites_browser import chromium, console_log, serving_sites

from pyws._spec import check_close_args, parse_protocols

ROOT = pathlib.Path(__file__).resolve().parents[2]
SITE = ROOT / "build" / "pyscript-site"
MICROPYTHON_PACKAGE = ROOT / "js" / "node_modules" / "@micropython" / "micropython-webassembly-pyscript"
TIMEOUT = 90.0
WHERE = ["main", "worker"]

pytestmark = [pytest.mark.pyodide, pytest.mark.skipif(not (SITE / "micropython.html").exists(),
                                reason="needs build/pyscript-site (./build.sh dist)")]


def _has_surrogate(value: Any) -> bool:
    return isinstance(value, str) and any(0xD800 <= ord(ch) <= 0xDFFF for ch in value)


CLOSE_ARGS = [row["args"] for row in CLOSE_ROWS if not any(map(_has_surrogate, row["args"]))]
PROTOCOL_LISTS = [row["protocols"] for row in URL_ROWS if "protocols" in row]


def _outcome(call: Callable[[], object], message: bool = False) -> str:
    """What the page reports for a call: "ok", or the exception's class (and DOM name and
    code; and message if asked)."""
    try:
        call()
    except Exception as error:
        name = getattr(error, "name", None)
        text = type(error).__name__
        if isinstance(name, str):
            text += f" {name} {error.code}"  # type: ignore[attr-defined]
        return text + (f" {error}" if message else "")
    return "ok"


_FINISHED = """(() => {
  const final = (id) => ["done", "failed"].includes(document.getElementById(id).textContent);
  const error = document.querySelector(".py-error");
  if (error) return {error: error.textContent};
  return final("main-status") && final("worker-status") && {ok: true};
})()"""


@pytest.fixture(scope="module")
def server() -> Iterator[BehaviourServer]:
    with running_server() as behaviour_server:
        yield behaviour_server


@pytest.fixture(scope="module")
def transcripts(server: BehaviourServer) -> Iterator[dict[str, list[str]]]:
    # ensure_ascii=False: MicroPython's json reads an escaped surrogate pair as two characters.
    rows = urllib.parse.quote(json.dumps({"close": CLOSE_ARGS, "protocols": PROTOCOL_LISTS},
                                         ensure_ascii=False))
    query = urllib.parse.urlencode({"ws": f"ws://127.0.0.1:{server.port}",
                                    "refused": unused_port()})
    with serving_sites() as base, chromium() as driver:
        driver.get(f"{base}/pyscript/micropython.html?{query}#{rows}")
        deadline = time.monotonic() + TIMEOUT
        finished = None
        while not finished and time.monotonic() < deadline:
            finished = driver.execute_script(f"return {_FINISHED}")
            time.sleep(0.2)
        page = driver.execute_script("return document.body.innerText")
        assert finished, f"timed out after {TIMEOUT} s\n{page}\n{console_log(driver)}"
        assert "error" not in finished, f"PyScript error: {finished['error']}\n{console_log(driver)}"
        result = {}
        for where in WHERE:
            status = driver.find_element("id", f"{where}-status").text
            lines = driver.find_element("id", f"{where}-transcript").text.splitlines()
            assert status == "done", f"{where}: {status}\n" + "\n".join(lines) + console_log(driver)
            result[where] = lines
        yield result


def _section(lines: list[str], name: str) -> list[str]:
    return [line.partition(": ")[2] for line in lines if line.partition(": ")[0] == name]


@pytest.mark.parametrize("where", WHERE)
def test_micropython_imports_pyws(transcripts: dict[str, list[str]], where: str) -> None:
    version = json.loads((MICROPYTHON_PACKAGE / "package.json").read_text())["version"]
    assert _section(transcripts[where], "runtime") == [f"micropython {version.split('-')[0]}"]
    assert _section(transcripts[where], "import pyws") == ["micropython 0.1.0"]


@pytest.mark.parametrize("where", WHERE)
def test_mdn_example_runs_unchanged(transcripts: dict[str, list[str]], where: str) -> None:
    # socket.close() with no code: the server echoes a close frame with no body (1005).
    assert _section(transcripts[where], "mdn") == [
        "Message from server Hello Server!", "Closed 1005 True"]


@pytest.mark.parametrize("where", WHERE)
def test_async_example_runs_unchanged(transcripts: dict[str, list[str]], where: str) -> None:
    assert _section(transcripts[where], "async") == [
        "Message from server Hello Server!", "Echo message 0", "Echo message 1",
        "Echo message 2", "Closed 1000 True"]


@pytest.mark.parametrize("where", WHERE)
def test_binary_text_and_close_reason(transcripts: dict[str, list[str]], where: str) -> None:
    assert _section(transcripts[where], "binary") == [
        "readyState 1 binaryType blob",
        "blob bytes b'\\x00\\x01\\x02'",          # "blob" gives bytes under MicroPython
        "drained 0",                              # drain(): bufferedAmount back to 0
        "arraybuffer bytes 76800 True",           # 75 KiB through the hex bridge, intact
        "text é ✓ \U0001f600",
        "text with NUL 'a\\x00b'",
        "readyState after close() 2",
        "close 4000 done é True 3",
    ]


@pytest.mark.parametrize("where", WHERE)
def test_close_code_and_reason_reach_the_server(transcripts: dict[str, list[str]],
                                                 server: BehaviourServer, where: str) -> None:
    record = server.records[f"mpy-{where}"]
    assert (record["code"], record["reason"]) == (4000, "done é")


@pytest.mark.parametrize("where", WHERE)
def test_subprotocol_and_closes_started_by_the_server(
        transcripts: dict[str, list[str]], where: str) -> None:
    assert _section(transcripts[where], "server") == [
        "protocol b extensions permessage-deflate",
        "messages ['0', '1', '2']",               # async for ends at the clean close
        "close WebSocketError 4001 bye True 3",   # ... and raises at any other
    ]


@pytest.mark.parametrize("where", WHERE)
def test_refused_connection_fires_error_then_close_1006(
        transcripts: dict[str, list[str]], where: str) -> None:
    assert _section(transcripts[where], "refused") == [
        "events error readyState=3 | close 1006 '' wasClean=False",
        "connect WebSocketError 1006 False True",  # and it is a pyws.DOMException
    ]


@pytest.mark.parametrize("where", WHERE)
def test_exceptions_are_pyws_exceptions(transcripts: dict[str, list[str]], where: str) -> None:
    lines = _section(transcripts[where], "exception")
    outcomes = dict(line.split(" -> ") for line in lines if " -> " in line)
    assert outcomes == {
        "bad scheme": "DOMSyntaxError SyntaxError 12",
        "fragment": "DOMSyntaxError SyntaxError 12",
        "url type": "TypeError",
        "duplicate protocol": "DOMSyntaxError SyntaxError 12",
        "send while connecting": "InvalidStateError InvalidStateError 11",
        "close(1001)": "InvalidAccessError InvalidAccessError 15",
        "close long reason": "DOMSyntaxError SyntaxError 12",
        "option headers": "TypeError",
        "option default": "ok",
        "unknown option": "TypeError",
    }
    port = lines[-1].rsplit(":", 1)[1]
    assert lines[-1] == f"url rewritten ws://127.0.0.1:{port}"  # http:// -> ws://


@pytest.mark.parametrize("where", WHERE)
def test_listener_rules(transcripts: dict[str, list[str]], where: str) -> None:
    # The slot keeps its first place; a duplicate is ignored; a listener removed during a
    # dispatch is not called; handleEvent objects; once; an async listener runs as a task;
    # a failing listener does not stop the dispatch.
    assert _section(transcripts[where], "listeners") == [
        "dispatchEvent True isTrusted False target True",
        "calls slot 2 first handleEvent once once (dict) slot 2 first handleEvent async async",
        # Twice (one per dispatch): the message, then the traceback (MicroPython's logging
        # logs it as a record of its own).
        "logged 4 Uncaught exception in a 'message' listener | ValueError: a listener's "
        "error is logged; the dispatch goes on",
    ]


@pytest.mark.parametrize("where", WHERE)
def test_close_arguments_match_cpython(transcripts: dict[str, list[str]], where: str) -> None:
    got = _section(transcripts[where], "close-row")
    # The same exception, DOM name, code and message as pyws's rules on CPython.
    want = [f"{index} {_outcome(lambda: check_close_args(*(list(args) + [None, None])[:2]), True)}"
            for index, args in enumerate(CLOSE_ARGS)]
    assert len(want) > 30
    assert got == want


@pytest.mark.parametrize("where", WHERE)
def test_protocol_lists_match_cpython(transcripts: dict[str, list[str]], where: str) -> None:
    got = _section(transcripts[where], "protocols-row")
    want = [f"{index} {_outcome(lambda: parse_protocols(protocols))}"
            for index, protocols in enumerate(PROTOCOL_LISTS)]
    assert len(want) > 20
    assert got == want


#: What differs under MicroPython, as docs/pyscript.md ("MicroPython") lists it.
DIFFERENCES = [
    "readyState is int",                                  # no enum: no ReadyState IntEnum
    "except ValueError misses DOMSyntaxError",            # one built-in base per class
    "connect_sync RuntimeError",                          # nothing can block
    "recv_sync RuntimeError",
    "pyws.Blob missing",                                  # binary data is bytes
    "pyws.Options missing",
    "import pyws._spec ImportError",                      # the shared rules need __future__...
]


@pytest.mark.parametrize("where", WHERE)
def test_what_differs_is_as_documented(transcripts: dict[str, list[str]], where: str) -> None:
    assert _section(transcripts[where], "differs") == DIFFERENCES


#: Why pyws/_micropython/ exists: what the rest of pyws uses and MicroPython 1.28 lacks.
GAPS = [
    "missing modules __future__, typing, enum, dataclasses, collections.abc, ipaddress, "
    "urllib.parse, codecs, pyodide.ffi",
    "two built-in exception bases TypeError",          # DOMSyntaxError(DOMException, ValueError)
    "len() of a bytes subclass TypeError",             # pyws.Blob is a bytes subclass
    "loop.call_soon missing",
    "loop.create_future() NameError",
    "ConnectionError missing",                         # WebSocketError's built-in base
]


@pytest.mark.parametrize("where", WHERE)
def test_micropython_gaps_are_as_documented(transcripts: dict[str, list[str]], where: str) -> None:
    assert _section(transcripts[where], "gaps") == GAPS
