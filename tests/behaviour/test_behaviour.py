"""The behaviour suite: every scenario of tests/scenarios/basic.py in every runtime.

A scenario is written once (plain async Python that asserts) and runs here on CPython
(in-process, on ``asyncio.run`` and on uvloop), and in Pyodide under Node 20, in Chromium's main
thread and in a Chromium Web Worker (tests/support/pyodide_harness.py), each time against the
real behaviour server of tests/support/servers.py on 127.0.0.1.
"""

from __future__ import annotations

import asyncio

import pytest

from scenarios import async_api, basic

# (module, scenario) pairs: the browser API, then the async API.
SCENARIOS = [f"basic.{name}" for name in basic.SCENARIOS] + \
    [f"async_api.{name}" for name in async_api.SCENARIOS]
MODULES = {"basic": basic, "async_api": async_api}
TIMEOUT = 30.0


def _scenario(qualified: str):  # type: ignore[no-untyped-def]
    module, name = qualified.split(".")
    return getattr(MODULES[module], name)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_cpython(scenario: str, behaviour_server, refused_url: str) -> None:
    base = f"ws://127.0.0.1:{behaviour_server.port}"
    asyncio.run(asyncio.wait_for(_scenario(scenario)(base, refused_url), TIMEOUT))


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_cpython_uvloop(scenario: str, behaviour_server, refused_url: str) -> None:
    uvloop = pytest.importorskip("uvloop", reason="uvloop is not installed (not on Windows)")
    base = f"ws://127.0.0.1:{behaviour_server.port}"
    uvloop.run(asyncio.wait_for(_scenario(scenario)(base, refused_url), TIMEOUT))


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_pyodide(scenario: str, pyodide_runtime, behaviour_server, refused_url: str) -> None:
    base = f"ws://127.0.0.1:{behaviour_server.port}"
    pyodide_runtime.run_async(
        f"await scenarios.{scenario}({base!r}, {refused_url!r})", timeout=TIMEOUT)
