"""Fuzzing what a server may send after a valid opening handshake (CPython, hypothesis).

Two strategies feed the scripted server (tests/support/scripted_server.py, one server for every
example):

- **arbitrary bytes**, which mostly exercise the frame header checks;
- **frames**: sequences of structurally valid-ish frames (any opcode, FIN and RSV bits,
  a masked frame now and then, payloads that are text, invalid UTF-8, close codes and
  reasons, raw-deflated data or a deflate bomb for a connection that negotiated
  permessage-deflate; the declared length exact, shorter, longer or not minimally
  encoded), so the fuzzer gets past the header into the protocol's state machine.

After the bytes the server drops TCP, resets it, serves (echoes, answers the closing
handshake) or holds the connection until the client closes TCP; the client does
nothing, sends on open or closes on open (it always closes when the server would wait for
it). Every example must end in CLOSED within a bound, with the events in a legal order
(``open``, ``message``\\*, ``error``?, ``close``; ``error`` only with 1006), nothing
dispatched after ``close``, no exception outside the events (no loop exception handler
call, no ERROR log record from any logger: "Uncaught exception", websockets' "parser
failed"), no task left and the client's socket closed at the close event. After the run,
every file descriptor opened meanwhile is closed and no connection object is alive.

CI runs a fixed, derandomized set (PYWS_FUZZ_EXAMPLES examples per strategy, default
100). A longer, random run: ``PYWS_FUZZ_EXAMPLES=20000 PYWS_FUZZ_RANDOM=1
.venv/bin/python -m pytest tests/hardening/test_fuzz.py`` (docs/hardening.md).
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import os
import struct
import zlib
from collections.abc import Iterator
from typing import Any

import pytest

from scenarios import hostile
from support.leaks import ErrorLogs, FdBaseline, LoopErrors, client_sockets
from support.scripted_server import ScriptedServer, build_header, running_scripted_server

import pyws

hypothesis = pytest.importorskip("hypothesis", reason="hypothesis is a test dependency")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

pytestmark = [pytest.mark.skipif(pyws.backend != "cpython", reason="the CPython backend's own parser"),
              pytest.mark.slow]

EXAMPLES = int(os.environ.get("PYWS_FUZZ_EXAMPLES", "100"))
RANDOM = os.environ.get("PYWS_FUZZ_RANDOM", "") not in ("", "0")
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=not RANDOM, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
                print_blob=True)

#: Client options: timeouts short enough that every example ends quickly.
OPTIONS = {"open_timeout": 3.0, "close_timeout": 0.25}
#: Bound of one example: open + close timeouts + the 2 s wait for the server's TCP close.
BOUND = 10.0
_ids = itertools.count()


# -- strategies -------------------------------------------------------------------------------

def _deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-15)
    out = compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)
    return out[:-4] if out.endswith(b"\x00\x00\xff\xff") else out


_close_payload = st.one_of(
    st.just(b""),
    st.builds(lambda code, reason: struct.pack("!H", code) + reason,
              st.one_of(st.sampled_from([1000, 1001, 1002, 1005, 1006, 1009, 1015, 3000, 4999]),
                        st.integers(0, 65535)),
              st.one_of(st.text(max_size=20).map(lambda t: t.encode("utf-8", "surrogatepass")),
                        st.binary(max_size=130))),
)
_payload = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=60).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.binary(min_size=1000, max_size=3000),  # over a small max_size
    _close_payload,
)


@st.composite
def frames(draw: Any) -> bytes:
    """One frame, structurally plausible, broken in one way or another now and then."""
    opcode = draw(st.one_of(st.sampled_from([0, 1, 2, 8, 9, 10]), st.integers(0, 15)))
    fin = draw(st.one_of(st.just(True), st.booleans()))
    rsv = draw(st.one_of(st.just(0), st.just(4), st.integers(0, 7)))
    masked = draw(st.sampled_from([False] * 7 + [True]))
    payload = draw(_close_payload if opcode == 8 else _payload)
    if rsv & 4 and draw(st.booleans()):  # really compressed (or a small deflate bomb)
        payload = _deflate(payload if draw(st.booleans()) else bytes(draw(st.integers(0, 20000))))
    length = len(payload)
    declared = draw(st.sampled_from(["exact"] * 6 + ["shorter", "longer", "non-minimal"]))
    if declared == "shorter":
        length = max(0, length - draw(st.integers(1, 8)))
    elif declared == "longer":
        length += draw(st.integers(1, 8))
    if declared == "non-minimal" and length < 126:
        head = (0x80 if fin else 0) | (rsv << 4) | opcode
        header = struct.pack("!BBH", head, (0x80 if masked else 0) | 126, length)
        header += b"\x37\xfa\x21\x3d" if masked else b""
    else:
        header = build_header(opcode, length, fin=fin, rsv1=bool(rsv & 4), rsv2=bool(rsv & 2),
                              rsv3=bool(rsv & 1), mask=masked)
    return header + payload


#: How the server ends, and what the client does (it closes when the server waits for it).
endings = st.sampled_from(["drop", "reset", "serve", "hold"])
client_actions = st.sampled_from(["nothing", "send", "close"])
deflates = st.booleans()
max_sizes = st.sampled_from([None, 1024])  # None: the default option (64 MiB)


# -- one example ----------------------------------------------------------------------------------

class Run:
    """One fuzz run (one strategy): the shared server and what every example must keep."""

    def __init__(self, server: ScriptedServer) -> None:
        self.server = server
        self.examples = 0

    def example(self, data: bytes, ending: str, action: str, deflate: bool,
                max_size: int | None) -> None:
        self.examples += 1
        if ending in ("serve", "hold"):
            action = "close"  # the server waits for the client
        steps: list[list[Any]] = [["raw", data.hex()]]
        if ending == "drop":
            steps.append(["drop"])
        elif ending == "reset":
            steps += [["sleep", 0.01], ["reset"]]
        script = {"handshake": {"extensions": "deflate"} if deflate else {}, "steps": steps,
                  "tail": "hold" if ending == "hold" else "serve"}
        cid = f"fuzz{next(_ids)}"
        self.server.register(cid, script)
        options = dict(OPTIONS)
        if max_size is not None:
            options["max_size"] = max_size
        probe = _sender if action == "send" else None
        close_on = ("open",) if action == "close" else ()
        loop_errors = LoopErrors()

        async def main() -> tuple[dict[str, Any], list[int]]:
            loop_errors.install()
            result = await hostile.run(self.server.url(cid), close_on=close_on, bound=BOUND,
                                       options=options, probe=probe)
            return result, client_sockets(self.server.port)

        result, sockets_left = asyncio.run(main())
        self.server.record(cid)
        self.server.forget(cid)
        check(result)
        assert sockets_left == [], "the client's socket is still open after the close event"
        assert loop_errors.messages() == [], "an exception escaped to the loop"


def _sender(ws: Any, event: Any) -> None:
    if event.type == "open":
        ws.send("fuzz")
        ws.send(b"\x00\xff")


def check(result: dict[str, Any]) -> None:
    events = result["events"]
    types = [e["type"] for e in events]
    assert result["readyState"] == 3
    assert result["after_close"] == [], f"dispatched after close: {result['after_close']}"
    assert result["tasks_left"] == [], result["tasks_left"]
    # open, message*, error?, close (the handshake is valid: open always comes first).
    assert types[0] == "open" and types[-1] == "close", types
    middle = types[1:-1]
    if middle and middle[-1] == "error":
        middle = middle[:-1]
    assert all(t == "message" for t in middle), types
    for entry in events:
        if entry["type"] == "message":
            assert entry["readyState"] == 1, entry
        elif entry["type"] in ("error", "close"):
            assert entry["readyState"] == 3, entry
    close = events[-1]
    assert isinstance(close["code"], int) and 0 <= close["code"] <= 65535, close
    if "error" in types:
        assert close["code"] == 1006 and not close["wasClean"], events
    if close["wasClean"]:
        assert close["code"] != 1006, close


# -- the tests ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedServer]:
    with running_scripted_server() as server:
        yield server


def _connections() -> int:
    from pyws._cpython._connection import ClientConnection

    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, ClientConnection))


def _fuzz(server: ScriptedServer, strategy: Any) -> None:
    run = Run(server)
    connections = _connections()
    baseline = FdBaseline()

    @FUZZ
    @given(data=strategy, ending=endings, action=client_actions, deflate=deflates,
           max_size=max_sizes)
    def one(data: bytes, ending: str, action: str, deflate: bool, max_size: int | None) -> None:
        run.example(data, ending, action, deflate, max_size)

    with ErrorLogs() as error_logs:
        one()
    assert error_logs.messages() == [], "an exception escaped (logged at ERROR)"
    assert run.examples >= min(EXAMPLES, 10)
    baseline.assert_back()
    assert _connections() == connections, "ClientConnection objects left alive"


def test_fuzz_arbitrary_bytes(server: ScriptedServer) -> None:
    _fuzz(server, st.binary(max_size=512))


def test_fuzz_frames(server: ScriptedServer) -> None:
    _fuzz(server, st.lists(frames(), max_size=10).map(b"".join))
