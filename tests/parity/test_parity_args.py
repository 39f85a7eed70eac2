"""Browser parity of argument handling: the table of tests/support/parity/arguments.py.

Every constructor row (URL, protocols) and close() row runs in Chromium's headless page
with the native ``WebSocket`` (the reference, recorded at test time) and with pyws on
CPython and in Pyodide under Node, in a Chromium page and in a Chromium worker; the
outcomes must be equal: the serialized ``url`` or the exception's DOM name; for close(),
the exception, ``readyState`` after the call, the close event and the close frame the
scripted server received.

Relative URLs (and "http:host/x", relative to an http: base): the standard parses the
URL against the base URL of the page or the worker. Their base URLs differ, and CPython
and Node have none, so for these rows pyws is compared with the native ``WebSocket`` of a
host with the same base: the page's in the page, the worker's in the worker, and Node's
(undici, no base URL: the parse fails, SyntaxError) for Node and CPython.

Like tests/parity/test_parity.py, each runtime evaluates the whole table once (first test) and
the rest only compare.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable

import pytest

from scenarios import parity
from support.parity.arguments import CLOSE_ROWS, URL_ROWS, row_id
from support.parity.harness import BATCH_TIMEOUT, CONCURRENCY, REFERENCE_JS, TIMINGS, ParityRuns
from support.parity.known import known_argument_reason

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_C0_SPACE = "".join(chr(c) for c in range(0x21))


def depends_on_base(row: dict[str, Any]) -> bool:
    """Whether the URL parser reads the base URL for this row: no scheme, or the base's
    own scheme (http) not followed by a slash ("http:host/x" is path-relative then)."""
    url = row["url"].strip(_C0_SPACE).replace("\t", "").replace("\n", "").replace("\r", "")
    match = _SCHEME.match(url)
    if match is None:
        return True
    return match.group(1).lower() == "http" and not url[match.end():].startswith(("/", "\\"))


ROWS = [("url", i, row) for i, row in enumerate(URL_ROWS)] + \
       [("close", i, row) for i, row in enumerate(CLOSE_ROWS)]
IDS = [row_id(kind, i, row) for kind, i, row in ROWS]


class ArgumentRuns:
    """The table per runtime, evaluated on first use and kept for the session."""

    def __init__(self, runs: ParityRuns) -> None:
        self.runs = runs
        self._results: dict[str, Any] = {}
        self._failed: dict[str, str] = {}
        self._lock = threading.Lock()

    def results(self, runtime: str, evaluate: Callable[[list[Any], list[Any]], dict[str, Any]]) -> dict[str, Any]:
        with self._lock:
            if runtime in self._failed:
                pytest.fail(f"the {runtime} argument run failed earlier: {self._failed[runtime]}")
            if runtime not in self._results:
                try:
                    self._results[runtime] = self._run(runtime, evaluate)
                except BaseException as exc:
                    self._failed[runtime] = f"{type(exc).__name__}: {str(exc)[:2000]}"
                    raise
            return self._results[runtime]

    def _run(self, runtime: str, evaluate: Callable[[list[Any], list[Any]], dict[str, Any]]) -> dict[str, Any]:
        nonce = uuid.uuid4().hex[:8]
        close_rows = []
        for i, row in enumerate(CLOSE_ROWS):
            cid = f"{runtime}.close{i:03d}.{nonce}"
            self.runs.server.register(cid, {})
            close_rows.append({"cid": cid, "args": row["args"]})
        started = time.monotonic()
        raw = evaluate(URL_ROWS, close_rows)
        TIMINGS.append((f"arguments/{runtime}", time.monotonic() - started))
        out: dict[str, Any] = {}
        for i, outcome in enumerate(raw["url"]):
            out[row_id("url", i, URL_ROWS[i])] = outcome
        for i, outcome in enumerate(raw["close"]):
            record = self.runs.server.record(close_rows[i]["cid"])
            outcome = dict(outcome, server=None if record is None else record["close"])
            out[row_id("close", i, CLOSE_ROWS[i])] = outcome
        dump = os.environ.get("PYWS_PARITY_DUMP")
        if dump:
            Path(dump).mkdir(parents=True, exist_ok=True)
            (Path(dump) / f"args-{runtime}.json").write_text(json.dumps(out, indent=1, ensure_ascii=False))
        return out


@pytest.fixture(scope="session")
def argument_runs(parity_runs: ParityRuns) -> ArgumentRuns:
    return ArgumentRuns(parity_runs)


def _native(runs: ArgumentRuns, runtime_name: str, runtime: Any) -> dict[str, Any]:
    host, refused = runs.runs.host, runs.runs.refused

    def evaluate(url_rows: list[Any], close_rows: list[Any]) -> dict[str, Any]:
        body = (f'const MODE = "arguments";\n'
                f"const URL_ROWS = {json.dumps(url_rows)};\n"
                f"const CLOSE_ROWS = {json.dumps(close_rows)};\n"
                f"const HOST = {json.dumps(host)};\n"
                f"const REFUSED = {json.dumps(refused)};\n"
                f"const CONCURRENCY = {CONCURRENCY};\n" + REFERENCE_JS)
        return runtime.run_js(body, timeout=BATCH_TIMEOUT)  # type: ignore[no-any-return]

    return runs.results(runtime_name, evaluate)


def _expected(runs: ArgumentRuns, pool: Any, runtime: str, test_id: str, row: dict[str, Any],
              kind: str) -> Any:
    if kind == "url" and depends_on_base(row):
        # The same host's native WebSocket has the same base URL (or none: Node).
        native = {"chrome": ("reference", "chrome"), "chrome-worker": ("reference-worker", "chrome-worker"),
                  "node": ("reference-node", "node"), "cpython": ("reference-node", "node")}[runtime]
        return _native(runs, native[0], pool.get(native[1]))[test_id]
    return _native(runs, "reference", pool.get("chrome"))[test_id]


def _mark_known(request: pytest.FixtureRequest, test_id: str, runtime: str) -> None:
    _, _, row = ROWS[IDS.index(test_id)]
    reason = known_argument_reason(row, runtime)
    if reason is not None:
        request.node.add_marker(pytest.mark.xfail(strict=True, reason=reason))


@pytest.fixture
def known_argument(request: pytest.FixtureRequest) -> None:
    params = request.node.callspec.params
    _mark_known(request, params["test_id"], params.get("pyodide_runtime", "cpython"))


@pytest.mark.parametrize("test_id", IDS)
def test_cpython(test_id: str, argument_runs: ArgumentRuns, pyodide_pool: Any,
                 known_argument: None) -> None:
    kind, _, row = ROWS[IDS.index(test_id)]
    runs = argument_runs.runs

    def evaluate(url_rows: list[Any], close_rows: list[Any]) -> dict[str, Any]:
        return asyncio.run(asyncio.wait_for(parity.run_arguments(
            url_rows, close_rows, runs.host, runs.refused, CONCURRENCY), BATCH_TIMEOUT))

    got = argument_runs.results("cpython", evaluate)[test_id]
    assert got == _expected(argument_runs, pyodide_pool, "cpython", test_id, row, kind), test_id


@pytest.mark.parametrize("test_id", IDS)
def test_pyodide(test_id: str, pyodide_runtime: Any, argument_runs: ArgumentRuns,
                 pyodide_pool: Any, known_argument: None) -> None:
    kind, _, row = ROWS[IDS.index(test_id)]
    runs = argument_runs.runs

    def evaluate(url_rows: list[Any], close_rows: list[Any]) -> dict[str, Any]:
        code = (f"import json\nawait scenarios.parity.run_arguments("
                f"json.loads({json.dumps(url_rows)!r}), json.loads({json.dumps(close_rows)!r}), "
                f"{runs.host!r}, {runs.refused!r}, {CONCURRENCY})")
        return pyodide_runtime.run_async(code, timeout=BATCH_TIMEOUT)  # type: ignore[no-any-return]

    got = argument_runs.results(pyodide_runtime.kind, evaluate)[test_id]
    expected = _expected(argument_runs, pyodide_pool, pyodide_runtime.kind, test_id, row, kind)
    assert got == expected, test_id


def test_row_count() -> None:
    assert len(ROWS) >= 120 and len(set(IDS)) == len(IDS)
