"""Messages on their way out: batched per event-loop turn, counted until the kernel has them.

The browser sends what a task sent when the task ends, and ``bufferedAmount`` counts it
until it is handed to the network. So outgoing messages wait here for the end of the
loop turn (or of the transport callback whose listeners sent them) and are then framed
and written at once, in one ``writelines``; their bytes count in ``buffered_amount``
until the transport has passed them to the kernel. A large payload comes from the framing
as a buffer of its own (masked once, after its header's): where ``writelines`` would join
it with the rest (asyncio's plain sockets before Python 3.12), it is written on its own.

``send()`` may come from any thread: from another thread, the message crosses over with
``call_soon_threadsafe`` and counts meanwhile.

``drain()`` waits here (:meth:`Outbox.wait_buffered`), woken by the transport: its
write-buffer limits are set so that it calls ``resume_writing()`` when the amount is
reached; no polling.
"""

from __future__ import annotations

import asyncio
import collections
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._browser_client import BrowserClient

__all__ = ["Outbox"]

_get_ident = threading.get_ident

#: Where ``writelines`` joins its buffers, chunks from this size on are written on their
#: own (an extra ``send`` costs less than copying them); smaller ones are joined.
WRITE_APART = 65536

_JOINING_WRITELINES = asyncio.WriteTransport.writelines


class Outbox:
    """The outgoing side of one connection (see the module docstring)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, client: BrowserClient, thread_id: int | None) -> None:
        self._loop = loop
        self._client = client
        #: The thread the loop runs on (messages from others cross over).
        self._thread_id = thread_id
        self._transport: asyncio.Transport | None = None
        self._joins = False  # whether the transport's writelines() joins (see WRITE_APART)
        # Messages of the current turn.
        self._queued: list[tuple[bool, bytes]] = []
        self._queued_bytes = 0
        self._flush_scheduled = False
        self._holding = False
        # Messages from other threads, on their way to the loop.
        self._foreign_lock = threading.Lock()
        self._foreign_bytes = 0
        # Written to the transport and not yet to the kernel: (wire total once written,
        # application bytes) per write, oldest first.
        self._in_flight: collections.deque[tuple[int, int]] = collections.deque()
        self._in_flight_bytes = 0
        self._wire_total = 0
        self._drain_waiters: list[asyncio.Future[None]] = []

    def attach(self, transport: asyncio.Transport | None) -> None:
        """Write to ``transport`` from now on (None: TCP is gone)."""
        self._transport = transport
        if transport is None:
            self.writable()
        else:
            self._joins = getattr(type(transport), "writelines", None) is _JOINING_WRITELINES

    @property
    def buffered_amount(self) -> int:
        """Application bytes sent and not yet handed to the kernel."""
        amount = self._queued_bytes + self._foreign_bytes
        if self._in_flight_bytes:
            transport = self._transport
            pending = transport.get_write_buffer_size() if transport is not None else 0
            handed = self._wire_total - pending
            in_flight = self._in_flight
            while in_flight and in_flight[0][0] <= handed:
                self._in_flight_bytes -= in_flight.popleft()[1]
        return amount + self._in_flight_bytes

    # -- queueing ---------------------------------------------------------------------

    def send(self, is_text: bool, payload: bytes) -> None:
        """Queue a message (any thread); it is written at the end of this loop turn."""
        if _get_ident() == self._thread_id:
            self._queued.append((is_text, payload))
            self._queued_bytes += len(payload)
            if not self._flush_scheduled and not self._holding:
                self._flush_scheduled = True
                self._loop.call_soon(self.flush)
        else:
            with self._foreign_lock:
                self._foreign_bytes += len(payload)
            self._loop.call_soon_threadsafe(self._arrive, is_text, payload)

    def _arrive(self, is_text: bool, payload: bytes) -> None:
        with self._foreign_lock:
            self._foreign_bytes -= len(payload)
        self._queued.append((is_text, payload))
        self._queued_bytes += len(payload)
        self.flush()

    def hold(self) -> None:
        """Listeners run now (inside a transport callback): write what they send once,
        at :meth:`release`, instead of on the next turn."""
        self._holding = True

    def release(self) -> None:
        self._holding = False
        if self._queued:
            self.flush()

    # -- writing ----------------------------------------------------------------------

    def flush(self) -> None:
        """Frame and write the queued messages (dropped if the connection cannot send
        any more: the standard discards them)."""
        self._flush_scheduled = False
        queued = self._queued
        if not queued:
            return
        app_bytes = self._queued_bytes
        self._queued = []
        self._queued_bytes = 0
        client = self._client
        if self._transport is None or not client.can_send:
            return
        for is_text, payload in queued:
            if is_text:
                client.send_text(payload)
            else:
                client.send_binary(payload)
        self.write(client.data_to_send(), app_bytes)

    def write(self, chunks: list[bytes], app_bytes: int = 0) -> None:
        """Write protocol output (``app_bytes`` of it application data); an empty bytes
        object last ends TCP's sending side."""
        transport = self._transport
        if transport is None:
            return
        eof = False
        if chunks and not chunks[-1]:  # websockets' SEND_EOF marker (frames are never empty)
            chunks = chunks[:-1]
            eof = True
        if chunks:
            if len(chunks) == 1:
                transport.write(chunks[0])
                self._wire_total += len(chunks[0])
            else:
                if self._joins:
                    _write_apart(transport, chunks)
                else:
                    # One write per flush: fewer syscalls, no copy (sendmsg, uvloop, TLS).
                    transport.writelines(chunks)
                self._wire_total += sum(map(len, chunks))
            if app_bytes:
                if transport.get_write_buffer_size():
                    self._in_flight.append((self._wire_total, app_bytes))
                    self._in_flight_bytes += app_bytes
                elif self._in_flight_bytes:
                    self._in_flight.clear()
                    self._in_flight_bytes = 0
        if eof and transport.can_write_eof():
            transport.write_eof()

    # -- the transport's flow control ------------------------------------------------------

    def writing_paused(self) -> None:
        """The transport's buffer passed its high-water mark: the server is not reading
        what we write. Pings are then answered once, for the latest, when it reads again,
        so a server that floods pings and never reads cannot grow the buffer without
        bound. Reading goes on: pausing it could deadlock a server that stops reading
        while its own writes are blocked."""
        self._client.hold_pongs()

    def writing_resumed(self) -> None:
        """The buffer fell to its low-water mark: answer the latest ping (next turn, not
        from inside the transport's own callback); wake ``drain()``."""
        if self._client.release_pongs():
            self._loop.call_soon(self._send_pending_pong)
        self.writable()

    def _send_pending_pong(self) -> None:
        if self._transport is not None and self._client.send_pong():
            self.write(self._client.data_to_send())

    # -- draining ---------------------------------------------------------------------

    async def wait_buffered(self, threshold: int) -> None:
        """Return once :attr:`buffered_amount` is at most ``threshold`` or TCP is gone."""
        while self.buffered_amount > threshold and self._transport is not None:
            if self._queued or self._foreign_bytes:
                await asyncio.sleep(0)  # written at the end of this turn: count it then
                continue
            waiter = self._loop.create_future()
            self._drain_waiters.append(waiter)
            self._wake_at(threshold)
            await waiter

    def writable(self) -> None:
        """The transport's buffer fell to its low-water mark (or TCP is gone): waiters
        check the amount again, and the buffer's limits go back to the defaults."""
        waiters, self._drain_waiters = self._drain_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)
        if waiters and self._transport is not None:
            self._transport.set_write_buffer_limits()

    def _wake_at(self, threshold: int) -> None:
        """Set the transport's limits so it calls resume_writing() once the bytes still
        in its buffer hold at most ``threshold`` bytes of messages."""
        transport = self._transport
        assert transport is not None
        remaining = self._in_flight_bytes
        handed_at = 0  # the wire total the kernel must have taken
        for wire_total, app_bytes in self._in_flight:
            if remaining <= threshold:
                break
            remaining -= app_bytes
            handed_at = wire_total
        target = max(self._wire_total - handed_at, 0)
        # Pauses at once (the buffer holds more than the target), resumes at the target.
        transport.set_write_buffer_limits(high=target, low=target)



def _write_apart(transport: asyncio.Transport, chunks: list[bytes]) -> None:
    """Write ``chunks`` in order: each from :data:`WRITE_APART` bytes on by itself, the
    ones between them joined (one ``send`` when the transport's buffer is empty)."""
    small: list[bytes] = []
    for chunk in chunks:
        if len(chunk) < WRITE_APART:
            small.append(chunk)
            continue
        if small:
            transport.write(b"".join(small))
            small = []
        transport.write(chunk)
    if small:
        transport.write(b"".join(small))
