"""Autobahn|Testsuite conformance of the CPython client (docs/compliance.md).

Runs the quick suite once (every case but 12.* and 13.*, permessage-deflate: 301 cases,
about 20 s) with compliance/run.py against the fuzzing server that ``./build.sh setup``
installs (compliance/setup.sh), and checks the server's verdicts: every case OK,
NON-STRICT or INFORMATIONAL, none FAILED, UNIMPLEMENTED or missing.

The full run (all 517 cases, 12-14 min, server-bound) is ``./build.sh compliance``.
PYWS_SKIP_COMPLIANCE=1 skips this file (e.g. for a quick local loop).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from typing import Any

import pytest

from support.paths import ROOT

import pyws

RUN = ROOT / "compliance" / "run.py"

_spec = importlib.util.spec_from_file_location("pyws_compliance_run", RUN)
assert _spec is not None and _spec.loader is not None
run = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(run)

pytestmark = [
    pytest.mark.slow,  # and it needs the Autobahn fuzzing server (./build.sh setup)
    pytest.mark.skipif(pyws.backend != "cpython" or sys.platform == "win32",
                       reason="the Autobahn client is pyws's CPython backend; the server is POSIX-only here"),
    pytest.mark.skipif(os.environ.get("PYWS_SKIP_COMPLIANCE") == "1",
                       reason="PYWS_SKIP_COMPLIANCE=1"),
]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if not os.access(run.WSTEST, os.X_OK):
        pytest.fail(f"the Autobahn fuzzing server is not installed at {run.WSTEST}: "
                    f"run ./build.sh setup (it runs compliance/setup.sh)")
    outdir = tmp_path_factory.mktemp("autobahn")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, str(RUN), "--quick", "--outdir", str(outdir)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    summary_path = outdir / "summary.json"
    assert summary_path.exists(), (
        f"compliance/run.py exited with {done.returncode} and no summary:\n"
        f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    summary: dict[str, Any] = json.loads(summary_path.read_text())
    summary["output"] = done.stdout
    summary["returncode"] = done.returncode
    return summary


def test_autobahn_quick_no_case_failed_or_unimplemented(quick_run: dict[str, Any]) -> None:
    s = quick_run
    assert s["client_exit_status"] == 0, f"the Autobahn client failed:\n{s['output']}"
    assert s["cases_offered"] == 301 and s["missing"] == 0, (
        f"{s['missing']} of {s['cases_offered']} cases have no result:\n{s['output']}")
    unexpected = {c: s["not_passing"][c] for c in s["unexpected"]}
    assert not unexpected, (
        f"Autobahn cases not OK / NON-STRICT / INFORMATIONAL: {unexpected} "
        f"(reports in {s['outdir']}/reports/clients):\n{s['output']}")
    assert s["returncode"] == 0, s["output"]
