"""Receive backpressure, the facade's side: how much waits for the script.

What waits is the messages queued for ``recv()`` and the async listeners' tasks still
running. Above ``max_queue`` of either (websockets' option and default, 16), or
:data:`QUEUE_BYTES` of queued data (so a flood of large or highly compressed messages
cannot fill memory either), the connection stops reading from the server; it resumes
once the script has caught up to a quarter of that (websockets' low-water mark). TCP
then slows the server down. Under Pyodide the host's socket cannot stop reading, so
this bounds nothing there (docs/long-lived.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncio

    from ._backend import Connection

__all__ = ["Backlog", "QUEUE_BYTES", "buffer_full"]

#: Bytes of queued messages (text counted in characters) above which reading pauses.
QUEUE_BYTES = 16 * 2**20


class Backlog:
    """Counts what waits for the script and pauses the connection's reading (see the
    module docstring)."""

    __slots__ = ("_conn", "_high", "_low", "_messages", "_bytes", "_tasks", "_paused")

    def __init__(self, conn: Connection, max_queue: int) -> None:
        self._conn = conn
        self._high = max_queue
        self._low = max_queue // 4
        self._messages = 0
        self._bytes = 0
        self._tasks = 0
        self._paused = False

    def queued(self, size: int) -> None:
        """A message of ``size`` bytes waits for ``recv()``."""
        self._messages += 1
        self._bytes += size
        if not self._paused and (self._messages >= self._high or self._bytes >= QUEUE_BYTES):
            self._pause()

    def dequeued(self, size: int) -> None:
        """``recv()`` took a message of ``size`` bytes."""
        self._messages -= 1
        self._bytes -= size
        if self._paused:
            self._maybe_resume()

    def task_started(self, task: asyncio.Future[Any]) -> None:
        """An async listener's task runs."""
        self._tasks += 1
        task.add_done_callback(self._task_done)
        if not self._paused and self._tasks >= self._high:
            self._pause()

    def _task_done(self, task: asyncio.Future[Any]) -> None:
        self._tasks -= 1
        if self._paused:
            self._maybe_resume()

    def _pause(self) -> None:
        self._paused = True
        self._conn.pause_reading()

    def _maybe_resume(self) -> None:
        low = self._low
        if self._messages <= low and self._tasks <= low and self._bytes <= QUEUE_BYTES // 4:
            self._paused = False
            self._conn.resume_reading()


def buffer_full(conn: Connection, max_buffered: int, data: str | bytes) -> bool:
    """The standard's "buffer is full", with ``max_buffered`` as the buffer's size: if
    ``data`` does not fit, fail the connection and return True."""
    size = len(data.encode("utf-8", "replace")) if isinstance(data, str) else len(data)
    if conn.buffered_amount + size <= max_buffered:
        return False
    conn.fail(f"bufferedAmount would exceed max_buffered ({max_buffered} bytes)")
    return True
