"""The exceptions of pyws: the DOMException family of the WebSocket interface.

A browser throws a ``DOMException`` whose ``name`` says what went wrong. pyws raises
the same family in every runtime (CPython and Pyodide alike): each class carries the
DOM ``name`` and legacy ``code`` and also derives from the Python built-in a Python
programmer would reach for, so both styles work::

    try:
        ws.close(1001)
    except pyws.InvalidAccessError: ...      # the DOM way
    except ValueError: ...                   # the Python way
    except pyws.DOMException as e: e.name    # "InvalidAccessError"

A raw ``JsException`` never reaches the user: the Pyodide backend translates the
host's DOMExceptions with :func:`from_dom_name`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._events import CloseEvent

__all__ = [
    "DOMException",
    "DOMSyntaxError",
    "InvalidStateError",
    "InvalidAccessError",
    "QuotaExceededError",
    "WebSocketError",
    "from_dom_name",
]


class DOMException(Exception):
    """Base class: an error the WebSocket interface reports with a DOM name.

    ``DOMException(message, name)`` builds one like JavaScript's constructor does;
    when ``name`` names a known subclass, an instance of that subclass is returned.
    """

    #: The DOM name, as in JavaScript's ``error.name``.
    name: str = "Error"
    #: The legacy numeric code of the name (0 when it has none).
    code: int = 0

    def __new__(cls, *args: object, **kwargs: object) -> DOMException:
        if cls is DOMException:
            name = args[1] if len(args) > 1 else kwargs.get("name")
            if isinstance(name, str) and name in _BY_NAME:
                cls = _BY_NAME[name]
        # Only the message reaches the built-in base (OSError would parse more arguments).
        message = args[0] if args else kwargs.get("message", "")
        return super().__new__(cls, message)

    def __init__(self, message: str = "", name: str | None = None) -> None:
        super().__init__(message)
        self._message = str(message)
        if name is not None and name != type(self).name:
            self.name = name

    @property
    def message(self) -> str:
        """The human-readable message, as in JavaScript's ``error.message``."""
        return self._message

    def __str__(self) -> str:
        return f"{self.name}: {self.message}" if self.message else self.name


class DOMSyntaxError(DOMException, ValueError):
    """DOM ``SyntaxError``: an unparsable URL, a bad protocol list, a too-long reason.

    Named ``DOMSyntaxError`` so it does not shadow Python's own ``SyntaxError``;
    its ``.name`` is ``"SyntaxError"`` as in the browser.
    """

    name = "SyntaxError"
    code = 12


class InvalidStateError(DOMException, RuntimeError):
    """DOM ``InvalidStateError``: the call is not allowed in the socket's state
    (``send()`` while CONNECTING)."""

    name = "InvalidStateError"
    code = 11


class InvalidAccessError(DOMException, ValueError):
    """DOM ``InvalidAccessError``: a ``close()`` code other than 1000 or 3000-4999."""

    name = "InvalidAccessError"
    code = 15


class QuotaExceededError(DOMException, BufferError):
    """DOM ``QuotaExceededError``: a :class:`~pyws.ReconnectingWebSocket` cannot hold
    one more message while it waits to reconnect (its ``max_enqueued_*`` bounds)."""

    name = "QuotaExceededError"
    code = 22


class WebSocketError(DOMException, ConnectionError):
    """The connection failed or closed (like WebSocketStream's WebSocketError).

    ``closeCode`` and ``reason`` are the close event's; ``wasClean`` tells a clean close.
    Raised by ``await pyws.connect()``, ``recv()`` and ``async for`` (never by the
    browser API, which reports through events).
    """

    name = "WebSocketError"

    def __init__(self, message: str = "", closeCode: int = 1006, reason: str = "",
                 wasClean: bool = False) -> None:
        super().__init__(message)
        self.closeCode = closeCode
        self.reason = reason
        self.wasClean = wasClean

    @classmethod
    def from_close(cls, event: CloseEvent, what: str) -> WebSocketError:
        """The error for a socket that closed with ``event``; ``what`` says what failed."""
        detail = f" (code {event.code}{', ' + repr(event.reason) if event.reason else ''})"
        return cls(what + detail, event.code, event.reason, event.wasClean)


_BY_NAME: dict[str, type[DOMException]] = {
    cls.name: cls for cls in (DOMSyntaxError, InvalidStateError, InvalidAccessError,
                              QuotaExceededError)
}


def from_dom_name(name: str, message: str = "") -> DOMException:
    """The pyws exception for a DOM error name (a plain DOMException if unknown)."""
    return _BY_NAME.get(name, DOMException)(message, name)
