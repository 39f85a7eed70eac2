"""What the async API of a socket waits on: its messages for ``recv()`` and its close.

The queue behind ``recv()`` exists only once someone wants it: from the start for sockets
opened with ``pyws.connect()`` (nothing is lost before the first ``recv()``), from the
first ``recv()`` for a socket made with the constructor. A callback-only user pays for
no queue. Listeners always run first; then the message is queued for ``recv()``: mixing
both, each sees every message.
"""

from __future__ import annotations

import collections
from typing import TYPE_CHECKING, Any

from ._errors import WebSocketError

# asyncio is imported where it is used, not here: ``import pyws`` stays cheap (asyncio
# is a third of a cold import); by the time these run the backend has imported it.
if TYPE_CHECKING:
    import asyncio

    from ._events import CloseEvent
    from ._flow import Backlog

__all__ = ["Inbox"]


def _settle(waiter: asyncio.Future[None] | None) -> None:
    if waiter is not None and not waiter.done():
        waiter.set_result(None)


class Inbox:
    """The messages waiting for ``recv()`` and the coroutines waiting on one socket."""

    __slots__ = ("messages", "close_event", "why", "_backlog", "_message_waiter",
                 "_close_waiters")

    def __init__(self, close_event: CloseEvent | None = None, backlog: Backlog | None = None,
                 why: str | None = None) -> None:
        #: Messages not received yet; None until a queue is wanted (:meth:`want_messages`).
        self.messages: collections.deque[Any] | None = None
        #: The socket's close event, once CLOSED.
        self.close_event = close_event
        #: What ``recv()`` says once the socket is closed and every message was received.
        self.why = "the WebSocket is closed" if why is None else f"the WebSocket is closed: {why}"
        #: Counts the queued messages, to stop reading above max_queue (None: no bound).
        self._backlog = backlog
        self._message_waiter: asyncio.Future[None] | None = None
        self._close_waiters: list[asyncio.Future[None]] = []

    def want_messages(self) -> None:
        """Queue every message from now on."""
        if self.messages is None:
            self.messages = collections.deque()

    # -- fed by the socket --------------------------------------------------------------

    def put(self, data: Any) -> None:
        """A message arrived (only called once :meth:`want_messages` was)."""
        assert self.messages is not None
        self.messages.append(data)
        if self._backlog is not None:
            self._backlog.queued(len(data))
        _settle(self._message_waiter)

    def closed(self, event: CloseEvent) -> None:
        """The socket is CLOSED: wake everyone."""
        self.close_event = event
        for waiter in (self._message_waiter, *self._close_waiters):
            _settle(waiter)
        self._close_waiters.clear()

    def lost(self, event: CloseEvent, why: str) -> None:
        """The socket ended with its event loop closed: nobody waiting can be woken (their
        tasks belong to that loop, and settling a future schedules on it)."""
        self.close_event = event
        self.why = f"the WebSocket is closed: {why}"
        self._message_waiter = None
        self._close_waiters.clear()

    # -- waited on by the socket's coroutines --------------------------------------------

    async def get(self) -> Any:
        """The next message; :class:`WebSocketError` once closed and empty."""
        self.want_messages()
        messages = self.messages
        assert messages is not None
        while True:
            if messages:
                data = messages.popleft()
                if self._backlog is not None:
                    self._backlog.dequeued(len(data))
                return data
            if self.close_event is not None:
                raise WebSocketError.from_close(self.close_event, self.why)
            if self._message_waiter is not None and not self._message_waiter.done():
                raise RuntimeError("recv() is already being awaited by another coroutine")
            import asyncio

            self._message_waiter = asyncio.get_running_loop().create_future()
            try:
                await self._message_waiter
            finally:
                self._message_waiter = None

    async def wait_closed(self) -> CloseEvent:
        """The close event, once the socket is CLOSED."""
        import asyncio

        while self.close_event is None:
            waiter = asyncio.get_running_loop().create_future()
            self._close_waiters.append(waiter)
            await waiter
        return self.close_event
