"""Reconnection: ``pyws.ReconnectingWebSocket`` and ``async for ws in pyws.connect()``.

- Every scenario of tests/scenarios/reconnect.py on CPython (asyncio and uvloop; nothing
  left behind: no task, no ResourceWarning, no asyncio complaint) and in Pyodide (Node, a
  Chromium page, a Chromium worker), against tests/reconnect_server.py.
- On CPython, a server process killed (SIGKILL) and restarted on the same port while a
  reconnecting socket and an ``async for`` loop are connected; a plain script whose
  socket waits to retry (the script host keeps it alive); the loop ending while a socket
  is connected or waiting; the backoff's numbers.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from leaks import FdBaseline
from reconnect_server import running_reconnect_server
from scenarios import reconnect

import pyws
from pyws._retry import Retries, RetryPolicy

TESTS = Path(__file__).resolve().parent
TIMEOUT = 60.0


@pytest.fixture(scope="module")
def reconnect_server() -> Iterator[Any]:
    with running_reconnect_server() as server:
        yield server


def _run(loop_kind: str, coro: Any) -> Any:
    if loop_kind == "uvloop":
        uvloop = pytest.importorskip("uvloop", reason="uvloop is not installed (not on Windows)")
        return uvloop.run(coro)
    return asyncio.run(coro)


async def _leaving_no_task(coro: Any) -> None:
    before = asyncio.all_tasks()
    await asyncio.wait_for(coro, TIMEOUT)
    await asyncio.sleep(0.05)  # let the last close's callbacks run
    left = [t for t in asyncio.all_tasks() - before if not t.done()]
    assert not left, left


@pytest.mark.parametrize("loop_kind", ["asyncio", "uvloop"])
@pytest.mark.parametrize("scenario", reconnect.SCENARIOS)
def test_cpython(scenario: str, loop_kind: str, reconnect_server: Any, refused_url: str,
                 no_leaks: None) -> None:
    base = f"ws://127.0.0.1:{reconnect_server.port}"
    _run(loop_kind, _leaving_no_task(getattr(reconnect, scenario)(base, refused_url)))


@pytest.mark.parametrize("scenario", reconnect.SCENARIOS)
def test_pyodide(scenario: str, pyodide_runtime: Any, reconnect_server: Any, refused_url: str) -> None:
    base = f"ws://127.0.0.1:{reconnect_server.port}"
    pyodide_runtime.run_async(
        f"await scenarios.reconnect.{scenario}({base!r}, {refused_url!r})", timeout=TIMEOUT)
