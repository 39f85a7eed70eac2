"""Static checks: both backends satisfy the Protocols of pyws/_backend.py (mypy --strict),
and the README is the front door."""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys

import pytest

from support.paths import ROOT


def test_mypy_strict_on_pyws() -> None:
    pytest.importorskip("mypy", reason="mypy is a test dependency: ./build.sh setup installs it")
    done = subprocess.run([sys.executable, "-m", "mypy", "--no-incremental"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


def test_readme_is_the_front_door() -> None:
    """README.md opens with the two commands, stays short, and every file it links exists
    (the docs site checks its own links: ./build.sh docs runs with warnings as errors)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) < 150, "README.md is the front door: details go to docs/"
    first_block = readme.split("```")[1]
    assert "./build.sh demo" in first_block and "./build.sh test" in first_block, first_block
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", readme)
    missing = [t for t in targets if "://" not in t and not (ROOT / t).exists()]
    assert not missing, missing
