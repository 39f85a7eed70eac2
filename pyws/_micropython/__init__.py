"""pyws under MicroPython (PyScript's ``<script type="mpy">``): the same names over the
host's JavaScript WebSocket.

``pyws/__init__.py`` imports this package (and ``pyws._version``), nothing else, when
``sys.implementation.name == "micropython"``: the rest of pyws needs parts of Python that
MicroPython lacks (``__future__``, ``typing``, ``enum``, ``dataclasses``, ``ipaddress``,
``collections.abc``, a full asyncio, ``bytes`` subclasses). What differs from CPython and
Pyodide is listed in docs/pyscript.md ("MicroPython").
"""

from ._connect import connect, connect_sync, run
from ._errors import (
    DOMException,
    DOMSyntaxError,
    InvalidAccessError,
    InvalidStateError,
    WebSocketError,
)
from ._events import CloseEvent, Event, EventTarget, MessageEvent
from ._websocket import ReadyState, WebSocket

#: The backend this runtime uses.
backend = "micropython"

__all__ = [
    "WebSocket",
    "connect",
    "connect_sync",
    "WebSocketError",
    "run",
    "ReadyState",
    "Event",
    "MessageEvent",
    "CloseEvent",
    "EventTarget",
    "DOMException",
    "DOMSyntaxError",
    "InvalidStateError",
    "InvalidAccessError",
    "backend",
]
