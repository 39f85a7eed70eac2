"""Pyodide in Node: a script ends when its sockets do, and a misbehaving server cannot
take the process down. Each case runs a Python file with js/run.mjs (Pyodide from
build/pyodide-dist, pyws from its wheel) on every Node the machine has.
"""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from support.node_versions import CASES, RUN_MJS, available
from support.paths import pyodide_dist_built
from support.scripted_server import running_scripted_server
from support.servers import running_server

pytestmark = pytest.mark.pyodide  # Node, and Pyodide from build/pyodide-dist

EXIT_AFTER_CONNECT = """\
import os, time
import pyws

async def main():
    ws = await pyws.connect(os.environ["ECHO_URL"])
    ws.send("hi")
    print("echo", await ws.recv())
    ws.close(1000)
    event = await ws.wait_closed()
    print("closed", event.code, flush=True)

pyws.run(main())
"""

UNOFFERED_SUBPROTOCOL = """\
import os
from pyws import WebSocket

ws = WebSocket(os.environ["SERVER_URL"])
ws.onopen = lambda event: print("open", repr(ws.protocol))
ws.onerror = lambda event: print("error")
ws.onclose = lambda event: print("close", event.code, event.wasClean)
"""


def run_node(case: str, script: str, env: dict[str, str], tmp_path) -> tuple[int, str, float]:  # type: ignore[no-untyped-def]
    if not pyodide_dist_built():
        pytest.skip("needs build/pyodide-dist (./build.sh dist)")
    if not available(case):
        pytest.skip(f"{case}: no Node binary here (./build.sh setup installs js/node-versions "
                    "on x86-64 Linux)")
    path = tmp_path / "script.py"
    path.write_text(script)
    node, flags = CASES[case]
    process = subprocess.Popen([node, *flags, str(RUN_MJS), str(path)],
                               env={**os.environ, **env}, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    lines = []
    closed_at = None
    assert process.stdout is not None
    with process:
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("closed"):
                closed_at = time.monotonic()
        status = process.wait(60)
    exit_delay = time.monotonic() - closed_at if closed_at is not None else float("nan")
    return status, "\n".join(lines), exit_delay


@pytest.mark.parametrize("case", list(CASES))
def test_a_script_that_used_connect_exits_when_its_socket_closes(case: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with running_server() as server:
        status, out, exit_delay = run_node(
            case, EXIT_AFTER_CONNECT, {"ECHO_URL": f"ws://127.0.0.1:{server.port}/echo"}, tmp_path)
    assert status == 0, out
    assert out.splitlines()[-2:] == ["echo hi", "closed 1000"], out
    assert exit_delay < 2.0, (exit_delay, out)


@pytest.mark.parametrize("case", list(CASES))
def test_a_server_selecting_an_unoffered_subprotocol_fails_only_that_socket(case: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    if case == "node20-flag":
        pytest.xfail("Node 20's WebSocket (undici) throws an uncaught TypeError for a "
                     "subprotocol the client did not offer, which ends the process; no guard "
                     "from Python can catch it (docs/limitations.md)")
    with running_scripted_server() as server:
        server.register("unoffered", {"handshake": {"protocol": "chat"}, "steps": [], "tail": "hold"})
        status, out, _ = run_node(case, UNOFFERED_SUBPROTOCOL,
                                  {"SERVER_URL": server.url("unoffered")}, tmp_path)
    assert status == 0, out
    assert out.splitlines()[-2:] == ["error", "close 1006 False"], out
