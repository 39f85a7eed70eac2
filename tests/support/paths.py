"""The checkout's directories, and the build outputs some tests need."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
SCENARIOS = TESTS / "scenarios"
SCRIPTS = TESTS / "support" / "scripts"
#: What ``./build.sh dist`` makes: Pyodide's core files, the pyws wheel and a lock file.
PYODIDE_DIST = ROOT / "build" / "pyodide-dist"


def pyodide_dist_built() -> bool:
    """True once ``./build.sh dist`` has made build/pyodide-dist."""
    return (PYODIDE_DIST / "pyodide-lock.json").exists()
