"""The contract between the WebSocket facade and a runtime backend.

The facade (:mod:`pyws._websocket`) owns everything the standard says about state,
arguments and events. A backend owns the connection: it opens it, moves bytes, and
reports what happened through the upcalls of :class:`Owner`, each from a task of its own
(never from inside ``connect()``, ``send_*()`` or ``close()``), in the order things
happened on the wire.

Two backends exist (:mod:`pyws._runtime` picks one on ``sys.platform``):

- ``pyws._cpython``: asyncio sockets + the websockets sans-I/O protocol.
- ``pyws._pyodide``: the host's JavaScript ``WebSocket`` (browser, worker, Node).

Both are checked statically against :class:`Backend` (``mypy pyws``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol, TypeVar

if TYPE_CHECKING:
    from ._options import Options
    from ._spec import WebSocketURL

__all__ = ["Closed", "Owner", "Connection", "Backend"]

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Closed:
    """How a connection ended: what the ``close`` event reports."""

    #: The close code (1006 when no close frame was received, 1005 for an empty one).
    code: int
    #: The close reason the server sent ("" for none).
    reason: str
    #: True when the closing handshake completed and TCP then ended normally.
    was_clean: bool
    #: The standard's "fail the WebSocket connection" happened: ``error`` precedes ``close``.
    failed: bool


#: A connection that could not be established, or was failed (the standard's words).
FAILED = Closed(code=1006, reason="", was_clean=False, failed=True)
#: A connection that dropped without a closing handshake, and without a failure.
DROPPED = Closed(code=1006, reason="", was_clean=False, failed=False)


class Owner(Protocol):
    """What a connection reports to: the WebSocket facade."""

    def _opened(self, protocol: str, extensions: str) -> None:
        """The opening handshake succeeded."""

    def _received(self, data: str | bytes | bytearray) -> None:
        """A whole message arrived: ``str`` for text, ``bytes`` or ``bytearray`` (which
        the facade may keep: the backend lets go of it) for binary."""

    def _closing(self) -> None:
        """The server started the closing handshake."""

    def _closed(self, closed: Closed) -> None:
        """The connection is closed."""

    def _lost_loop(self, closed: Closed, why: str) -> None:
        """The connection ended where no event can be dispatched (CPython: its event
        loop was closed while it was open): CLOSED at once, with no events; ``why``
        says what happened (the end of ``recv()``'s message)."""

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

    def close(self, code: int | None, reason: str, *, quiet: bool = False) -> None:
        """Start the closing handshake, or fail the connection if it is not open yet.
        ``code`` None means a close frame without a body. Called at most once.
        ``quiet``: the user's own code gave up (a cancelled ``connect()``), so a
        connection still opening fails without a warning of pyws's."""

    def settle(self) -> None:
        """Report now, through :meth:`Owner._lost_loop`, an end the runtime cannot report
        from its event loop (CPython: the loop was closed while the connection was open,
        so nothing will run there again); a no-op otherwise. The facade calls it where a
        state change would show (``readyState``, ``close()``, the async and blocking
        calls)."""

    def check_awaitable_here(self) -> None:
        """Raise RuntimeError (saying which loop is which) if the running event loop is
        not the one this connection lives on: awaiting it there would never finish."""

    def fail(self, why: str) -> None:
        """Fail the connection (error, then close 1006); ``why`` is logged."""

    def pause_reading(self) -> None:
        """Too much waits for the script: stop reading from the server until as many
        :meth:`resume_reading` calls as pauses (a no-op where the host cannot pause)."""

    def resume_reading(self) -> None:
        """Undo one :meth:`pause_reading`."""

    async def wait_buffered(self, threshold: int) -> None:
        """Return once ``buffered_amount`` is at most ``threshold``, or the connection is
        closed (woken by the transport where the runtime can, polled elsewhere)."""


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

    def run_blocking(self, conn: Connection | None, make: Callable[[], Awaitable[T]],
                     timeout: float | None, async_form: str) -> T:
        """Block until ``make()``'s awaitable is done, on the loop of ``conn`` (None: the
        loop a new socket would live on); raise RuntimeError naming ``async_form`` where
        this runtime cannot block."""
