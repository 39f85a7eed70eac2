"""Static checks: both backends satisfy the Protocols of pyws/_backend.py (mypy --strict)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from support.paths import ROOT


def test_mypy_strict_on_pyws() -> None:
    pytest.importorskip("mypy", reason="mypy is a test dependency: ./build.sh setup installs it")
    done = subprocess.run([sys.executable, "-m", "mypy", "--no-incremental"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
