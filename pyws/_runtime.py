"""Which backend this runtime uses: chosen on ``sys.platform``, loaded with the first socket.

``import pyws`` costs the facade only; asyncio, ssl and websockets (or the ``js`` module)
load when the first socket is made.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._backend import Backend

__all__ = ["BACKEND_NAME", "backend"]

#: "pyodide" under Pyodide (``sys.platform == "emscripten"``), else "cpython".
BACKEND_NAME = "pyodide" if sys.platform == "emscripten" else "cpython"

_loaded: Backend | None = None


def backend() -> Backend:
    """The backend of this runtime (imported on the first call)."""
    global _loaded
    if _loaded is None:
        if sys.platform == "emscripten":
            from ._pyodide import backend as loaded
        else:
            from ._cpython import backend as loaded
        _loaded = loaded
    return _loaded
