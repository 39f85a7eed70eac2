"""The behaviour suite: every scenario of tests/scenarios/basic.py in every runtime.

A scenario is written once (plain async Python that asserts) and runs here on CPython
(in-process, on ``asyncio.run`` and on uvloop), and in Pyodide under Node 20, in Chromium's main
thread and in a Chromium Web Worker (tests/pyodide_harness.py), each time against the
real behaviour server of tests/servers.py on 127.0.0.1.
"""

from __future__ import annotations

import asyncio

import pytest
from scenarios import basic

SCENARIOS = basic.SCENARIOS
TIMEOUT = 30.0


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_cpython(scenario: str, behaviour_server, refused_url: str) -> None:
    base = f"ws://127.0.0.1:{behaviour_server.port}"
    asyncio.run(asyncio.wait_for(getattr(basic, scenario)(base, refused_url), TIMEOUT))


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_cpython_uvloop(scenario: str, behaviour_server, refused_url: str) -> None:
    uvloop = pytest.importorskip("uvloop", reason="uvloop is not installed (not on Windows)")
    base = f"ws://127.0.0.1:{behaviour_server.port}"
    uvloop.run(asyncio.wait_for(getattr(basic, scenario)(base, refused_url), TIMEOUT))


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_pyodide(scenario: str, pyodide_runtime, behaviour_server, refused_url: str) -> None:
    base = f"ws://127.0.0.1:{behaviour_server.port}"
    pyodide_runtime.run_async(
        f"await scenarios.basic.{scenario}({base!r}, {refused_url!r})", timeout=TIMEOUT)
