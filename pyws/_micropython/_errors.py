"""The DOMException family under MicroPython: the same names, messages and attributes.

MicroPython cannot derive a class from two built-in exception types ("multiple bases have
instance lay-out conflict"), so each class here derives from :class:`DOMException` only:
``except pyws.InvalidAccessError`` and ``except pyws.DOMException`` work as everywhere,
but ``except ValueError`` / ``RuntimeError`` / ``ConnectionError`` do not catch them (on
CPython and Pyodide they do). MicroPython has no ``ConnectionError`` at all.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._events import CloseEvent

__all__ = ["DOMException", "DOMSyntaxError", "InvalidStateError", "InvalidAccessError",
           "WebSocketError", "from_dom_name"]


class DOMException(Exception):
    """Base class: an error the WebSocket interface reports with a DOM ``name``.

    ``DOMException(message, name)`` keeps ``name``; :func:`from_dom_name` picks the
    subclass for a known name.
    """

    #: The DOM name, as in JavaScript's ``error.name``.
    name = "Error"
    #: The legacy numeric code of the name (0 when it has none).
    code = 0

    def __init__(self, message: str = "", name: "str | None" = None) -> None:
        super().__init__(message)
        self._message = str(message)
        if name is not None and name != type(self).name:
            self.name = name

    @property
    def message(self) -> str:
        """The human-readable message, as in JavaScript's ``error.message``."""
        return self._message

    def __str__(self) -> str:
        return self.name + ": " + self._message if self._message else self.name


class DOMSyntaxError(DOMException):
    """DOM ``SyntaxError``: an unparsable URL, a bad protocol list, a too-long reason."""

    name = "SyntaxError"
    code = 12


class InvalidStateError(DOMException):
    """DOM ``InvalidStateError``: ``send()`` while CONNECTING."""

    name = "InvalidStateError"
    code = 11


class InvalidAccessError(DOMException):
    """DOM ``InvalidAccessError``: a ``close()`` code other than 1000 or 3000-4999."""

    name = "InvalidAccessError"
    code = 15


class WebSocketError(DOMException):
    """The connection failed or closed: ``closeCode``, ``reason``, ``wasClean``.

    Raised by ``await pyws.connect()``, ``recv()`` and ``async for``.
    """

    name = "WebSocketError"

    def __init__(self, message: str = "", closeCode: int = 1006, reason: str = "",
                 wasClean: bool = False) -> None:
        super().__init__(message)
        self.closeCode = closeCode
        self.reason = reason
        self.wasClean = wasClean

    @classmethod
    def from_close(cls, event: "CloseEvent", what: str) -> "WebSocketError":
        """The error for a socket that closed with ``event``; ``what`` says what failed."""
        detail = " (code " + str(event.code) + (", " + repr(event.reason) if event.reason else "") + ")"
        return cls(what + detail, event.code, event.reason, event.wasClean)


_BY_NAME = {cls.name: cls for cls in (DOMSyntaxError, InvalidStateError, InvalidAccessError)}


def from_dom_name(name: str, message: str = "") -> DOMException:
    """The pyws exception for a DOM error name (a plain DOMException if unknown)."""
    cls = _BY_NAME.get(name)
    return cls(message) if cls is not None else DOMException(message, name)
