"""The contract between the WebSocket facade and a runtime backend, and the choice of one.

The facade (:mod:`pyws._websocket`) owns everything the standard says about state,
arguments and events. A backend owns the connection: it opens it, moves bytes, and
reports what happened through the four upcalls of :class:`Owner`, each from a task of
its own (never from inside ``connect()``, ``send_*()`` or ``close()``), in the order
things happened on the wire.

Two backends exist, chosen once, at import, on ``sys.platform``:

- ``pyws._cpython``: asyncio sockets + the websockets sans-I/O protocol.
- ``pyws._pyodide``: the host's JavaScript ``WebSocket`` (browser, worker, Node).

Both are checked statically against :class:`Backend` (``mypy pyws``).
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Mapping
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, Union, cast

if TYPE_CHECKING:
    import ssl as _ssl  # not at run time: Pyodide ships ssl as a separate package

    from ._spec import WebSocketURL

__all__ = ["Owner", "Connection", "Backend", "Options", "BACKEND"]

BytesLike = Union[bytes, bytearray, memoryview]
T = TypeVar("T")


class Owner(Protocol):
    """What a connection reports to: the WebSocket facade."""

    def _opened(self, protocol: str, extensions: str) -> None:
        """The opening handshake succeeded."""

    def _received(self, data: str | bytes | bytearray) -> None:
        """A whole message arrived: ``str`` for text, ``bytes`` or ``bytearray`` (which
        the facade may keep: the backend lets go of it) for binary."""

    def _closing(self) -> None:
        """The server started the closing handshake."""

    def _closed(self, code: int, reason: str, was_clean: bool, failed: bool) -> None:
        """The connection is closed; ``failed`` means the standard's "fail the
        WebSocket connection" happened (an ``error`` event precedes ``close``)."""

    def _going_away(self) -> None:
        """The host is going away (the process exits): close with 1001, as a browser
        does when its page is unloaded."""


class Connection(Protocol):
    """One connection, as the facade drives it."""

    @property
    def buffered_amount(self) -> int:
        """Bytes of application data accepted by ``send_*`` and not yet handed to the
        network."""

    @property
    def closing(self) -> bool:
        """True once the connection is CLOSING without the facade having been told (the
        Pyodide host's socket changes state on the server's close frame with no event);
        False where every change comes through an upcall (CPython)."""

    def send_text(self, data: str) -> None:
        """Queue a text message (only called while the facade is OPEN). If the connection
        is in fact closing (``closing``), discard it and count it in ``buffered_amount``,
        as the standard says."""

    def send_binary(self, data: bytes) -> None:
        """Queue a binary message (as ``send_text``)."""

    def close(self, code: int | None, reason: str) -> None:
        """Start the closing handshake, or fail the connection if it is not open yet.
        ``code`` None means a close frame without a body. Called at most once."""


class Backend(Protocol):
    """A runtime: how to open a connection there."""

    name: str

    def base_url(self) -> str | None:
        """The base URL relative WebSocket URLs resolve against (a page's), or None."""

    def check_options(self, options: Options) -> None:
        """Raise ``TypeError`` naming an option this runtime cannot honour."""

    def connect(self, owner: Owner, url: WebSocketURL, protocols: tuple[str, ...],
                options: Options) -> Connection:
        """Start connecting; report through ``owner`` later, from other tasks."""

    def run_blocking(self, ws: Any, make: Callable[[], Awaitable[T]], timeout: float | None,
                     async_form: str) -> T:
        """Block until ``make()``'s awaitable is done, on ``ws``'s loop (None: the loop a
        new socket would live on); raise RuntimeError naming ``async_form`` where this
        runtime cannot block."""


@dataclasses.dataclass(frozen=True)
class Options:
    """Options beyond the browser's API (keyword arguments of the constructor).

    The standard is moving towards an options bag (``new WebSocket(url, {protocols})``,
    whatwg/websockets#76); pyws takes these as keywords. Defaults reproduce the browser.
    """

    #: Extra HTTP headers for the opening handshake (e.g. Authorization, Cookie).
    headers: Mapping[str, str] | None = None
    #: The Origin header (a browser always sends its page's origin; pyws sends none).
    origin: str | None = None
    #: TLS for ``wss://``: None = verified against the system trust store.
    ssl: _ssl.SSLContext | None = None  # checked by the CPython backend
    #: Seconds for the whole opening: waiting for another connection to the same server
    #: to finish connecting (RFC 6455 4.1), the proxy, TCP, TLS and the opening handshake.
    open_timeout: float | None = 30.0
    #: Seconds to wait for the server's part of the closing handshake.
    close_timeout: float | None = 10.0
    #: Largest incoming message in bytes (also bounds decompression); None = no limit.
    max_size: int | None = 64 * 2**20
    #: Offer permessage-deflate, as browsers do ("deflate"), or not (None).
    compression: str | None = "deflate"
    #: HTTP proxy: True = from the environment (https_proxy for wss://, http_proxy for
    #: ws://, all_proxy, no_proxy; loopback hosts never), a URL
    #: "http://[user:password@]host:port" (or https://) for every connection, or
    #: None/False = directly. Checked by the CPython backend (pyws/_cpython/_proxy.py).
    proxy: str | bool | None = True

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, object]) -> Options:
        if not kwargs:
            return _DEFAULT_OPTIONS
        names = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(kwargs) - names)
        if unknown:
            raise TypeError(f"WebSocket() got unexpected keyword argument(s): {', '.join(unknown)}")
        options = cls(**kwargs)  # type: ignore[arg-type]
        if options.compression not in (None, "deflate"):
            raise ValueError('compression must be "deflate" or None')
        if options.proxy is not None and not isinstance(options.proxy, (bool, str)):
            raise TypeError("proxy must be a proxy URL (str), True (from the environment), "
                            "or None/False (no proxy)")
        return options

    def non_default(self) -> list[str]:
        """Names of the options set to something else than their default."""
        if self is _DEFAULT_OPTIONS:
            return []
        return [field.name for field in dataclasses.fields(self)
                if getattr(self, field.name) != field.default]


class _Deferred:
    """The backend chosen at import, loaded on first use: ``import pyws`` then costs the
    facade only; asyncio, ssl and websockets (or the js module) load with the first
    socket. Every attribute is forwarded to the loaded backend."""

    def __init__(self, module: str, name: str) -> None:
        self.name = name
        self._module = module

    def __getattr__(self, attr: str) -> Any:
        import importlib

        backend = importlib.import_module(self._module, __package__).backend
        # Bind the loaded backend's attributes here: later lookups skip __getattr__.
        for key in ("base_url", "check_options", "connect", "run_blocking"):
            setattr(self, key, getattr(backend, key))
        return getattr(backend, attr)


_DEFAULT_OPTIONS = Options()


def _select() -> Backend:
    if sys.platform == "emscripten":
        return cast(Backend, _Deferred("._pyodide", "pyodide"))
    return cast(Backend, _Deferred("._cpython", "cpython"))


#: The backend of this runtime, chosen once at import (on ``sys.platform``) and loaded
#: with the first socket.
BACKEND: Backend = _select()
