"""The README's demo command: demo/mdn_example.py in CPython, Node and a Chromium page."""

from __future__ import annotations

import subprocess
import sys

import pytest

from support.paths import ROOT, pyodide_dist_built

pytestmark = pytest.mark.pyodide  # Node, Chromium, and Pyodide from build/pyodide-dist


@pytest.mark.skipif(not pyodide_dist_built(), reason="needs build/pyodide-dist (./build.sh dist)")
def test_demo_prints_three_identical_transcripts() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "demo" / "run.py"), "--no-serve"],
                          cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    for column in ("CPython (plain script)", "Pyodide in Node 20", "Pyodide in Chromium (page)"):
        assert column in out
    transcript = [line for line in out.splitlines() if line.startswith("Message from server")]
    assert len(transcript) == 1 and transcript[0].count("Message from server Hello Server!") == 3
    assert "The three transcripts are identical." in out
    assert "Open the page yourself: http://127.0.0.1:" in out
