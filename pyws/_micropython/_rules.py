"""pyws's argument rules under MicroPython (pyws/_spec.py and pyws/_options.py do not run
there: they need ``dataclasses``, ``ipaddress``, ``typing`` and ``__future__``).

What is checked here is checked as on CPython and Pyodide: argument types, ``close()``'s
code and reason, the options. What is left to the host: the URL and the protocol tokens
(the browser's own WebSocket constructor parses them and throws ``SyntaxError``).
"""

from ._errors import DOMSyntaxError, InvalidAccessError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["check_options", "check_protocols", "check_close_args", "as_bytes", "MAX_REASON_BYTES"]

#: RFC 6455 section 5.5: a control frame's payload is at most 125 bytes, 2 for the code.
MAX_REASON_BYTES = 123

#: Options of the other runtimes, at their defaults: accepted (one file runs everywhere);
#: any other value is refused, with the reason.
_OPTIONS = {
    "headers": (None, "the JavaScript WebSocket cannot set request headers"),
    "origin": (None, "the host sets the Origin header itself"),
    "ssl": (None, "TLS is the host's (the browser's trust store)"),
    "open_timeout": (30.0, "the host decides when a connection attempt times out"),
    "close_timeout": (10.0, "the host decides how long the closing handshake may take"),
    "max_size": (64 * 2**20, "the host decides how large a message may be"),
    "compression": ("deflate", "the host negotiates permessage-deflate itself"),
    "proxy": (True, "the host decides whether to use a proxy (the browser's settings)"),
    "cookies": (None, "the host owns cookies (the browser's cookie store)"),
    "unix_socket": (None, "the JavaScript WebSocket cannot connect to a Unix domain socket"),
}


def check_options(options: "dict[str, Any]") -> None:
    """``TypeError`` for an unknown option or one set to anything but its default."""
    unknown = sorted(name for name in options if name not in _OPTIONS)
    if unknown:
        raise TypeError("WebSocket() got unexpected keyword argument(s): " + ", ".join(unknown))
    for name in sorted(options):
        default, why = _OPTIONS[name]
        if options[name] != default:
            raise TypeError("WebSocket option " + repr(name)
                            + " is not available under MicroPython: " + why + ".")


def check_protocols(protocols: "Any") -> "list[str]":
    """The protocol list's types (its tokens are the host's to check)."""
    if protocols is None:
        return []
    if isinstance(protocols, str):
        return [protocols]
    if isinstance(protocols, (bytes, bytearray, memoryview)):
        raise TypeError("protocols must be a str or a sequence of str, not bytes")
    try:
        items = list(protocols)
    except TypeError:
        raise TypeError("protocols must be a str or a sequence of str, not "
                        + type(protocols).__name__) from None
    for item in items:
        if not isinstance(item, str):
            raise TypeError("each protocol must be a str, not " + type(item).__name__)
    return items


def check_close_args(code: "Any", reason: "Any") -> "tuple[int | None, str]":
    """``close(code, reason)`` steps 1-2, as pyws/_spec.py's ``check_close_args`` (a
    MicroPython ``str`` cannot hold a lone surrogate, so there is nothing to replace)."""
    if code is not None:
        if not isinstance(code, int) or isinstance(code, bool):
            raise TypeError("code must be an int, not " + type(code).__name__)
        if code != 1000 and not 3000 <= code <= 4999:
            raise InvalidAccessError("The close code must be either 1000, or between 3000 "
                                     "and 4999. " + str(code) + " is neither.")
    if reason is None:
        reason = ""
    elif not isinstance(reason, str):
        raise TypeError("reason must be a str, not " + type(reason).__name__)
    elif len(reason.encode()) > MAX_REASON_BYTES:
        raise DOMSyntaxError("The close reason must not be greater than "
                             + str(MAX_REASON_BYTES) + " UTF-8 bytes.")
    if code is None and reason:
        code = 1000
    return code, reason


def as_bytes(data: "Any") -> bytes:
    if isinstance(data, bytes):
        return data
    try:
        return bytes(memoryview(data))
    except TypeError:
        raise TypeError("send() takes str or a bytes-like object, not "
                        + type(data).__name__) from None
