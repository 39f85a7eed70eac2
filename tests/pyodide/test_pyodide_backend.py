"""The Pyodide backend's own guarantees, in Node, Chromium and a Chromium worker.

CPython has no JavaScript host: these scenarios cannot run there (the behaviour suite,
tests/behaviour/test_behaviour.py, covers what both backends share).
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from support.paths import ROOT, pyodide_dist_built

# The scenario module imports pyodide.ffi: here too, to list its scenarios (pyodide-py).
pytest.importorskip("pyodide.ffi", reason="needs pyodide-py, a test dependency (./build.sh setup)")
from scenarios import pyodide_only  # noqa: E402

pytestmark = pytest.mark.pyodide  # Node, and Pyodide from build/pyodide-dist


@pytest.mark.parametrize("scenario", pyodide_only.SCENARIOS)
def test_pyodide_backend(scenario: str, pyodide_runtime, behaviour_server, refused_url: str) -> None:
    base = f"ws://127.0.0.1:{behaviour_server.port}"
    pyodide_runtime.run_async(f"await scenarios.pyodide_only.{scenario}({base!r}, {refused_url!r})")


def test_runtime_kind_is_detected(pyodide_runtime, behaviour_server, refused_url: str) -> None:
    base = f"ws://127.0.0.1:{behaviour_server.port}"
    kind = pyodide_runtime.run_async(f"await scenarios.pyodide_only.host_reports_its_kind({base!r}, '')")
    assert kind == {"node": "node", "chrome": "browser", "chrome-worker": "worker"}[pyodide_runtime.kind]


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node")
@pytest.mark.skipif(not pyodide_dist_built(), reason="needs build/pyodide-dist (./build.sh dist)")
def test_node_without_a_global_websocket_gets_a_clear_error(tmp_path) -> None:
    script = tmp_path / "connect.py"
    script.write_text("from pyws import WebSocket\nWebSocket('ws://127.0.0.1:9/')\n")
    node_major = int(subprocess.run(["node", "--version"], capture_output=True, text=True,
                                    check=True).stdout.lstrip("v").split(".")[0])
    if node_major >= 22:
        pytest.skip("Node >= 22 always has a global WebSocket")
    done = subprocess.run(["node", str(ROOT / "js" / "run.mjs"), str(script)],
                          capture_output=True, text=True, timeout=120, env=dict(os.environ))
    assert done.returncode == 1
    assert "RuntimeError: pyws needs the global WebSocket of Node.js" in done.stderr
    assert "--experimental-websocket" in done.stderr
