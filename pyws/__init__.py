"""pyws: the browser's WebSocket API for Python, on CPython and under Pyodide.

::

    from pyws import WebSocket

    ws = WebSocket("ws://127.0.0.1:8765")
    ws.onopen = lambda event: ws.send("Hello Server!")
    ws.onmessage = lambda event: print("Message from server", event.data)

The backend is chosen on ``sys.platform``: pyws's own asyncio client on CPython, the
host's JavaScript WebSocket under Pyodide (``sys.platform == "emscripten"``). Under
MicroPython (PyScript's ``mpy``) only ``pyws._micropython``, a facade over the host's
WebSocket with the same names, is imported: the rest does not run there.
"""

import sys

# Checked before anything else is imported (mypy: always false, see pyproject.toml).
_MICROPYTHON = sys.implementation.name == "micropython"

if _MICROPYTHON:
    from ._micropython import *  # noqa: F403
    from ._micropython import __all__ as _names
    from ._version import __version__

    __all__ = _names + ["__version__"]
else:
    from typing import TYPE_CHECKING, Any

    from ._blob import Blob
    from ._connect import connect, connect_sync, run
    from ._errors import (
        DOMException,
        DOMSyntaxError,
        InvalidAccessError,
        InvalidStateError,
        QuotaExceededError,
        WebSocketError,
    )
    from ._events import CloseEvent, Event, EventTarget, MessageEvent
    from ._options import Options
    from ._runtime import BACKEND_NAME
    from ._version import __version__
    from ._websocket import ReadyState, WebSocket

    if TYPE_CHECKING:
        from ._reconnecting import ReconnectCloseEvent, ReconnectingWebSocket
        from ._retry import Backoff

    #: "cpython" or "pyodide": the backend this runtime uses.
    backend = BACKEND_NAME

    __all__ = [
        "WebSocket",
        "ReconnectingWebSocket",
        "connect",
        "connect_sync",
        "WebSocketError",
        "run",
        "ReadyState",
        "Event",
        "MessageEvent",
        "CloseEvent",
        "ReconnectCloseEvent",
        "Backoff",
        "EventTarget",
        "Blob",
        "Options",
        "DOMException",
        "DOMSyntaxError",
        "InvalidStateError",
        "InvalidAccessError",
        "QuotaExceededError",
        "backend",
        "__version__",
    ]

    # Loaded on first use: ``import pyws`` stays as cheap as the WebSocket alone.
    _LAZY = {"ReconnectingWebSocket": "_reconnecting", "ReconnectCloseEvent": "_reconnecting",
             "Backoff": "_retry"}


    def __getattr__(name: str) -> Any:
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module 'pyws' has no attribute {name!r}")
        import importlib

        value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
        globals()[name] = value
        return value


    def __dir__() -> list[str]:
        return sorted(set(globals()) | set(_LAZY))
