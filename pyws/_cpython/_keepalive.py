"""Keepalive pings: websockets' ``ping_interval`` and ``ping_timeout``, on loop timers.

A peer that stops answering without closing TCP (a paused process, a dead NAT entry)
leaves a connection OPEN forever: nothing is read, nothing fails. Every
``ping_interval`` seconds a ping goes out; if its pong has not come back within
``ping_timeout`` seconds, the connection is failed (error, then close 1006), as any
other failure is in the browser's API. Off for ``WebSocket(...)`` (a browser never
pings); ``pyws.connect()`` turns it on with websockets' defaults.
"""

from __future__ import annotations

import asyncio
import random
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING

from ._timer import Timer

if TYPE_CHECKING:
    from ._browser_client import BrowserClient
    from ._outbox import Outbox

__all__ = ["Keepalive"]


class Keepalive:
    """The pings of one connection (none if ``interval`` is None); ``fail(why)`` fails
    the connection."""

    __slots__ = ("_interval", "_timeout", "_client", "_outbox", "_fail", "_ping_timer",
                 "_pong_timer", "_awaited")

    def __init__(self, loop: asyncio.AbstractEventLoop, interval: float | None,
                 timeout: float | None, client: BrowserClient, outbox: Outbox,
                 fail: Callable[[str], None]) -> None:
        self._interval = interval
        self._timeout = timeout
        self._client = client
        self._outbox = outbox
        self._fail = fail
        self._ping_timer = Timer(loop, self._ping)
        self._pong_timer = Timer(loop, self._missed)
        #: The payload of the ping whose pong has not come back yet.
        self._awaited: bytes | None = None

    def start(self) -> None:
        """The connection is open: the first ping goes out in ``interval`` seconds."""
        if self._interval is not None:
            self._ping_timer.start(self._interval)

    def stop(self) -> None:
        """The connection is closing or closed: no more pings, no more waiting."""
        self._ping_timer.cancel()
        self._pong_timer.cancel()
        self._awaited = None

    def pong(self, payload: bytes | bytearray) -> None:
        """A pong arrived (unsolicited ones, and those of older pings, are ignored)."""
        if self._awaited is not None and payload == self._awaited:
            self._awaited = None
            self._pong_timer.cancel()

    def _ping(self) -> None:
        assert self._interval is not None
        self._ping_timer.start(self._interval)
        client = self._client
        if self._awaited is not None or not client.can_send:
            return  # the last ping is still unanswered (ping_timeout is longer or None)
        self._awaited = struct.pack("!I", random.getrandbits(32))
        client.send_ping(self._awaited)
        self._outbox.write(client.data_to_send())
        if self._timeout is not None:
            self._pong_timer.start(self._timeout)

    def _missed(self) -> None:
        self.stop()
        self._fail(f"no pong within {self._timeout:g} s of a keepalive ping (ping_timeout)")
