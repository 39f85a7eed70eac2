"""The Python-native ways in: the async example file in every runtime, and the blocking
API where each runtime can block (and its error where it cannot)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading

import pytest

from scenarios import blocking
from support.paths import ROOT, SCRIPTS, pyodide_dist_built

import pyws

EXAMPLE = ROOT / "demo" / "async_example.py"
EXPECTED = ["Message from server Hello Server!", "Echo message 0", "Echo message 1",
            "Echo message 2", "Closed 1000 True"]


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), **extra}


def test_async_example_as_a_cpython_script(behaviour_server) -> None:
    env = _env(ECHO_URL=f"ws://127.0.0.1:{behaviour_server.port}/echo")
    done = subprocess.run([sys.executable, str(EXAMPLE)], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == EXPECTED


def test_async_example_under_pyodide(pyodide_runtime, behaviour_server) -> None:
    # The file's own text, run as __main__ (its pyws.run() makes a task on the running loop).
    url = f"ws://127.0.0.1:{behaviour_server.port}/echo"
    out = pyodide_runtime.run_async(f"""
        import contextlib, io, os
        os.environ["ECHO_URL"] = {url!r}
        namespace = {{"__name__": "__main__"}}
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            exec(compile({EXAMPLE.read_text()!r}, "async_example.py", "exec"), namespace)
            await namespace["done"]
        output.getvalue()
    """)
    assert out.splitlines() == EXPECTED


def test_blocking_api_in_a_plain_script(behaviour_server) -> None:
    url = f"ws://127.0.0.1:{behaviour_server.port}/echo"
    done = subprocess.run([sys.executable, str(SCRIPTS / "blocking_script.py"), url],
                          env=_env(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["one two", "closed 1000 done True"]


@pytest.mark.pyodide
@pytest.mark.skipif(not pyodide_dist_built(), reason="needs build/pyodide-dist (./build.sh dist)")
def test_blocking_api_in_node_with_jspi(behaviour_server) -> None:
    # Node 20 blocks on promises only with --experimental-wasm-stack-switching (JSPI).
    url = f"ws://127.0.0.1:{behaviour_server.port}/echo"
    command = ["node", "--experimental-websocket", "--experimental-wasm-stack-switching",
               str(ROOT / "js" / "run.mjs"), str(SCRIPTS / "blocking_script.py")]
    done = subprocess.run(command, env=_env(ECHO_URL=url), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == ["one two", "closed 1000 done True"]


@pytest.mark.skipif(pyws.backend != "cpython", reason="CPython threads")
def test_blocking_api_from_a_thread(behaviour_server, refused_url: str) -> None:
    base = f"ws://127.0.0.1:{behaviour_server.port}"
    results: list[object] = []

    def worker() -> None:
        try:
            results.append(asyncio.run(blocking.blocking_round_trip(base, refused_url)))
        except BaseException as exc:  # reported below
            results.append(exc)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(60)
    assert results == ["ok"]


@pytest.mark.skipif(pyws.backend != "cpython", reason="CPython event loops")
def test_blocking_api_inside_a_running_loop_like_a_jupyter_cell(behaviour_server, refused_url: str) -> None:
    # A Jupyter cell runs on the thread of the kernel's running loop: the socket goes to
    # pyws's background loop and the cell blocks on it.
    base = f"ws://127.0.0.1:{behaviour_server.port}"
    assert asyncio.run(blocking.blocking_round_trip(base, refused_url)) == "ok"


def test_blocking_api_under_pyodide(pyodide_runtime, behaviour_server, refused_url: str) -> None:
    base = f"ws://127.0.0.1:{behaviour_server.port}"
    result = pyodide_runtime.run_async(
        f"await scenarios.blocking.blocking_round_trip({base!r}, {refused_url!r})")
    # JSPI: Chromium has it (main thread and workers); Node 20 only with
    # --experimental-wasm-stack-switching, which the test runtime does not pass.
    expected = {"node": "unavailable", "chrome": "ok", "chrome-worker": "ok"}[pyodide_runtime.kind]
    assert result == expected
