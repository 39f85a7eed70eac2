"""What the async API of a socket waits on under MicroPython: messages, open, close, drain.

As pyws/_inbox.py: the queue behind ``recv()`` exists from the start for sockets opened
with ``pyws.connect()`` and from the first ``recv()`` for the others; listeners run first,
then the message is queued. Waiting uses ``asyncio.Event``, which MicroPython's asyncio has
(it has no ``loop.create_future()`` or ``call_soon``).
"""

import asyncio

from ._errors import WebSocketError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

    from ._events import CloseEvent

__all__ = ["Inbox"]


class Inbox:
    """The messages waiting for ``recv()`` and the coroutines waiting on one socket."""

    def __init__(self, close_event: "CloseEvent | None" = None) -> None:
        #: Messages not received yet; None until a queue is wanted.
        self.messages: "list[Any] | None" = None
        #: The socket's close event, once CLOSED.
        self.close_event = close_event
        #: True once the socket opened (what ``connect()`` waits for, with the close).
        self.opened = False
        self._arrived: "asyncio.Event | None" = None  # while a recv() waits
        self._settled = asyncio.Event()  # set on open or close
        self._closed = asyncio.Event()
        if close_event is not None:
            self._settled.set()
            self._closed.set()

    def want_messages(self) -> None:
        """Queue every message from now on."""
        if self.messages is None:
            self.messages = []

    # -- fed by the socket -------------------------------------------------------------

    def open(self) -> None:
        self.opened = True
        self._settled.set()

    def put(self, data: "Any") -> None:
        """A message arrived (only called once :meth:`want_messages` was)."""
        assert self.messages is not None
        self.messages.append(data)
        if self._arrived is not None:
            self._arrived.set()

    def closed(self, event: "CloseEvent") -> None:
        """The socket is CLOSED: wake everyone."""
        self.close_event = event
        if self._arrived is not None:
            self._arrived.set()
        self._settled.set()
        self._closed.set()

    # -- waited on by the socket's coroutines --------------------------------------------

    async def get(self) -> "Any":
        """The next message; :class:`WebSocketError` once closed and empty."""
        self.want_messages()
        messages = self.messages
        assert messages is not None
        while True:
            if messages:
                return messages.pop(0)
            if self.close_event is not None:
                raise WebSocketError.from_close(self.close_event, "the WebSocket is closed")
            if self._arrived is not None:
                raise RuntimeError("recv() is already being awaited by another coroutine")
            self._arrived = asyncio.Event()
            try:
                await self._arrived.wait()
            finally:
                self._arrived = None

    async def wait_settled(self) -> None:
        """Until the socket is open or closed."""
        await self._settled.wait()

    async def wait_closed(self) -> "CloseEvent":
        """The close event, once the socket is CLOSED."""
        await self._closed.wait()
        assert self.close_event is not None
        return self.close_event

    async def wait_drained(self, buffered_amount: "Callable[[], int]", threshold: int) -> None:
        """Until ``buffered_amount()`` is at most ``threshold``, or the socket is closed:
        polled every 5 ms (the host has no "drained" event)."""
        while buffered_amount() > threshold and self.close_event is None:
            await asyncio.sleep(0.005)
