"""The parity suite's shared machinery.

- :class:`ParityRuns`: the scripted server (tests/support/scripted_server.py) and the
  cache of every runtime's batch of scenarios (tests/parity/test_parity.py) and argument
  rows (tests/parity/test_parity_args.py); tests/parity/conftest.py makes it the session
  fixture ``parity_runs``;
- :func:`selected`: the scenarios a batch runs (tests/hardening/test_hostile.py runs
  them all in one batch too);
- ``REFERENCE_JS``: reference.js, next to this file, the reference interpreter's source.

Environment, for working on the suite: ``PYWS_PARITY_ONLY=a,b`` runs only the scenarios
whose names contain a or b; ``PYWS_PARITY_DUMP=DIR`` writes every runtime's traces to
DIR/RUNTIME.json; ``PYWS_PARITY_BATCH_TIMEOUT`` bounds one runtime's batch (s, default 240).
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable

import pytest

from support.parity.known import NOT_RUN
from support.parity.scenarios import SCENARIOS, record_view

__all__ = ["ParityRuns", "selected", "REFERENCE_JS", "CONCURRENCY", "BATCH_TIMEOUT", "TIMINGS"]

#: (what, seconds) of every batch this session, for the terminal summary.
TIMINGS: list[tuple[str, float]] = []

HERE = Path(__file__).resolve().parent
REFERENCE_JS = (HERE / "reference.js").read_text()
CONCURRENCY = 6
BATCH_TIMEOUT = float(os.environ.get("PYWS_PARITY_BATCH_TIMEOUT", 240))


def selected() -> list[dict[str, Any]]:
    """The scenarios a batch runs: all, or those named in PYWS_PARITY_ONLY (a comma-
    separated list of substrings: for working on a few)."""
    only = [part for part in os.environ.get("PYWS_PARITY_ONLY", "").split(",") if part]
    return [s for s in SCENARIOS if not only or any(part in s["name"] for part in only)]


class ParityRuns:
    """Batches per runtime, run on first use and kept for the session."""

    def __init__(self, server: Any, refused: str) -> None:
        self.server = server
        self.refused = refused
        self.host = f"127.0.0.1:{server.port}"
        self._results: dict[str, dict[str, Any]] = {}
        self._failed: dict[str, str] = {}
        self._lock = threading.Lock()

    def results(self, runtime: str, run: Callable[[list[list[Any]]], dict[str, Any]]) -> dict[str, Any]:
        with self._lock:
            if runtime in self._failed:  # one failed batch fails its tests at once
                pytest.fail(f"the {runtime} batch failed earlier: {self._failed[runtime]}")
            if runtime not in self._results:
                try:
                    self._results[runtime] = self._run(runtime, run)
                except BaseException as exc:
                    self._failed[runtime] = f"{type(exc).__name__}: {str(exc)[:2000]}"
                    raise
            return self._results[runtime]

    def _run(self, runtime: str, run: Callable[[list[list[Any]]], dict[str, Any]]) -> dict[str, Any]:
        nonce = uuid.uuid4().hex[:8]
        items, cids = [], {}
        for s in selected():
            if (s["name"], runtime) in NOT_RUN:
                continue
            cid = f"{runtime}.{s['name']}.{nonce}"
            self.server.register(cid, s["server"])
            items.append([s["name"], cid, s["client"]])
            cids[s["name"]] = cid
        started = time.monotonic()
        traces = run(items)
        TIMINGS.append((f"scenarios/{runtime}", time.monotonic() - started))
        out = {}
        for s in selected():
            name = s["name"]
            if name not in cids:
                continue
            record = self.server.record(cids[name]) if s["record"] else None
            # The connection id is in ``url``: the same placeholder for every runtime.
            trace = json.loads(json.dumps(traces.get(name, [{"MISSING": True}]))
                               .replace(cids[name], "{cid}"))
            out[name] = {"trace": trace, "server": record_view(record, s["record"])}
        dump = os.environ.get("PYWS_PARITY_DUMP")
        if dump:  # for a human: every trace of this runtime, to diff with the reference's
            Path(dump).mkdir(parents=True, exist_ok=True)
            (Path(dump) / f"{runtime}.json").write_text(json.dumps(out, indent=1, ensure_ascii=False))
        return out
