"""Browser parity: every scenario of tests/support/parity/scenarios.py, Chromium against pyws.

Each scenario runs once with Chromium's native JavaScript ``WebSocket`` in the headless
``chrome`` page (tests/support/parity/reference.js: the reference, recorded at test time, never
written by hand) and once with pyws on CPython (in this process), in Pyodide under Node,
in a Chromium page and in a Chromium worker (tests/scenarios/parity.py). All of them talk
to the scripted server of tests/support/scripted_server.py, each connection under its own id.

A test passes when pyws's trace equals Chromium's (event types in order, readyState at
each dispatch, data, code, reason, wasClean, protocol, extensions, listener calls,
exceptions by DOM name, attribute reads) and the server saw the same thing from both
clients (close frame, data messages, control frames, what was offered).

Speed: the first test of a runtime runs ALL scenarios there in one batch (several at a
time) and caches the traces; the other tests of that runtime only compare. The Chromium
reference is run once per session the same way.

Environment knobs for working on the suite: see tests/support/parity/harness.py.

Known differences that cannot be removed are in tests/support/parity/known.py (an
xfail(strict) each, with the reason; docs/parity.md explains them).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from scenarios import parity
from support.parity.harness import BATCH_TIMEOUT, CONCURRENCY, REFERENCE_JS, ParityRuns, selected
from support.parity.known import NOT_RUN, known_reason
from support.parity.scenarios import BY_NAME, SCENARIOS


def _reference(parity_runs: ParityRuns, pool: Any) -> dict[str, Any]:
    chrome = pool.get("chrome")

    def run(items: list[list[Any]]) -> dict[str, Any]:
        body = (f"const ITEMS = {json.dumps(items)};\n"
                f"const HOST = {json.dumps(parity_runs.host)};\n"
                f"const REFUSED = {json.dumps(parity_runs.refused)};\n"
                f"const CONCURRENCY = {CONCURRENCY};\n" + REFERENCE_JS)
        return chrome.run_js(body, timeout=BATCH_TIMEOUT)  # type: ignore[no-any-return]
    return parity_runs.results("reference", run)


ASPECTS = ("events", "wire")


def _compare(name: str, aspect: str, reference: dict[str, Any], got: dict[str, Any]) -> None:
    if aspect == "events":
        assert got["trace"] == reference["trace"], f"{name}: the events differ from Chromium's"
    else:
        assert got["server"] == reference["server"], f"{name}: the server saw something else"


@pytest.fixture
def known_difference(request: pytest.FixtureRequest) -> None:
    """Mark a known (scenario, aspect, runtime) xfail(strict) before the call."""
    params = request.node.callspec.params
    key = (params["name"], params["aspect"], params.get("pyodide_runtime", "cpython"))
    crash = NOT_RUN.get((key[0], key[2]))
    if crash is not None:
        request.node.add_marker(pytest.mark.xfail(run=False, reason=crash))
        return
    reason = known_reason(*key)
    if reason is not None:
        request.node.add_marker(pytest.mark.xfail(strict=True, reason=reason))


NAMES = [s["name"] for s in selected()]


@pytest.mark.parametrize("aspect", ASPECTS)
@pytest.mark.parametrize("name", NAMES)
def test_cpython(name: str, aspect: str, parity_runs: ParityRuns, pyodide_pool: Any,
                 known_difference: None) -> None:
    reference = _reference(parity_runs, pyodide_pool)

    def run(items: list[list[Any]]) -> dict[str, Any]:
        return asyncio.run(asyncio.wait_for(
            parity.run_batch(items, parity_runs.host, parity_runs.refused, CONCURRENCY), BATCH_TIMEOUT))

    got = parity_runs.results("cpython", run)
    _compare(name, aspect, reference[name], got[name])


@pytest.mark.parametrize("aspect", ASPECTS)
@pytest.mark.parametrize("name", NAMES)
def test_pyodide(name: str, aspect: str, pyodide_runtime: Any, parity_runs: ParityRuns,
                 pyodide_pool: Any, known_difference: None) -> None:
    reference = _reference(parity_runs, pyodide_pool)

    def run(items: list[list[Any]]) -> dict[str, Any]:
        code = (f"import json\nawait scenarios.parity.run_batch(json.loads({json.dumps(items)!r}), "
                f"{parity_runs.host!r}, {parity_runs.refused!r}, {CONCURRENCY})")
        return pyodide_runtime.run_async(code, timeout=BATCH_TIMEOUT)  # type: ignore[no-any-return]

    got = parity_runs.results(pyodide_runtime.kind, run)
    _compare(name, aspect, reference[name], got[name])


def test_scenario_count() -> None:
    assert len(SCENARIOS) >= 60 and len(BY_NAME) == len(SCENARIOS)
