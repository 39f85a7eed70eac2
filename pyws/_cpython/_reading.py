"""Receive backpressure: stop reading the socket while too much waits for the script.

The facade pauses reading when ``max_queue`` messages (or async listener tasks) wait,
and resumes at the low-water mark (:mod:`pyws._flow`); websockets does the same, so a
server that sends faster than the script reads is slowed down by TCP instead of
filling memory. Pauses nest: reading resumes when every pause is undone.

With permessage-deflate a few KiB on the wire can inflate to megabytes, so once it is
negotiated the bytes of one read are fed to the protocol in slices, and what is left
when a pause comes waits here (at most one read) until reading resumes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

__all__ = ["Reading", "SLICE"]

#: Bytes fed to the protocol at once with permessage-deflate: deflate inflates at most
#: about 1032:1, so one slice adds at most about 8 MiB before a pause takes effect.
SLICE = 8192


class Reading:
    """The reading side of one transport (see the module docstring)."""

    __slots__ = ("_loop", "_receive", "_transport", "_pauses", "sliced", "_backlog",
                 "_resume_scheduled")

    def __init__(self, loop: asyncio.AbstractEventLoop, receive: Callable[[bytes], None]) -> None:
        self._loop = loop
        self._receive = receive
        self._transport: asyncio.Transport | None = None
        self._pauses = 0
        #: Whether reads are fed in slices (:meth:`in_slices`): the connection hands
        #: them to :meth:`received` then, else straight to the protocol.
        self.sliced = False
        self._backlog = b""
        self._resume_scheduled = False

    def attach(self, transport: asyncio.Transport | None) -> None:
        self._transport = transport
        if transport is not None and self._pauses:
            transport.pause_reading()

    def in_slices(self) -> None:
        """Feed reads in slices of :data:`SLICE` bytes from now on."""
        self.sliced = True

    def received(self, data: bytes) -> None:
        """A read from the transport."""
        if not self.sliced or len(data) <= SLICE:
            self._receive(data)
            return
        for start in range(0, len(data), SLICE):
            if self._pauses:
                self._backlog = data[start:]
                return
            self._receive(data[start:start + SLICE])

    def catch_up(self) -> None:
        """TCP ends: feed what waits, paused or not (it came before the end)."""
        backlog, self._backlog = self._backlog, b""
        if backlog:
            self._receive(backlog)

    def pause(self) -> None:
        self._pauses += 1
        if self._pauses == 1 and self._transport is not None and not self._transport.is_closing():
            self._transport.pause_reading()

    def resume(self) -> None:
        self._pauses -= 1
        if self._pauses == 0 and not self._resume_scheduled:
            # Not from inside recv(): the backlog's listeners run on a turn of their own.
            self._resume_scheduled = True
            self._loop.call_soon(self._resume)

    def _resume(self) -> None:
        self._resume_scheduled = False
        if self._pauses:
            return
        backlog, self._backlog = self._backlog, b""
        if backlog:
            self.received(backlog)
        transport = self._transport
        if not self._pauses and transport is not None and not transport.is_closing():
            transport.resume_reading()
