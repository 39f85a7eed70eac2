"""An asyncio server for a test, on an event loop of its own in a daemon thread.

The tests are synchronous (or run ``asyncio.run`` of their own, on asyncio or uvloop), so
every server they talk to needs a loop that outlives them: :func:`server_thread` gives it
one, waits until it listens, and stops it at the end of the ``with`` block.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from typing import TypeVar

__all__ = ["server_thread"]

T = TypeVar("T")

START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0


@contextmanager
def server_thread(serving: Callable[[], AbstractAsyncContextManager[T]], name: str) -> Iterator[T]:
    """Run ``serving()`` on a new event loop in a daemon thread called ``name``.

    ``serving()`` returns an async context manager that listens once entered and yields
    what the test needs (the server object, a port); this yields the same value once it
    listens (an error while starting is raised here). When the ``with`` block ends, the
    context manager is exited on its own loop (the server stops: close what is open
    there), any task it left is cancelled, then the thread is joined and the loop closed.
    """
    loop = asyncio.new_event_loop()
    ready: concurrent.futures.Future[T] = concurrent.futures.Future()
    stop: asyncio.Future[None] = loop.create_future()

    async def main() -> None:
        try:
            async with serving() as value:
                ready.set_result(value)
                await stop
        except BaseException as exc:
            if ready.done():
                raise
            ready.set_exception(exc)
            return
        await _end_the_rest()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), name=name,
                              daemon=True)
    thread.start()
    try:
        try:
            value = ready.result(START_TIMEOUT)
        except concurrent.futures.TimeoutError:
            raise RuntimeError(f"{name} did not start within {START_TIMEOUT:.0f} s") from None
        yield value
    finally:
        # A no-op if main() already ended (it failed to start): the loop has stopped.
        loop.call_soon_threadsafe(lambda: stop.done() or stop.set_result(None))
        thread.join(STOP_TIMEOUT)
        if thread.is_alive():
            raise RuntimeError(f"{name} did not stop within {STOP_TIMEOUT:.0f} s")
        loop.close()


async def _end_the_rest() -> None:
    """Cancel what the stopped server left running, and let the cancellations close their
    transports. A TLS handshake still in progress, for one, belongs to no connection the
    server knows about yet: left pending, asyncio reports "Task was destroyed but it is
    pending" when the closed loop is collected, and its socket stays open (a client or
    proxy at the other end never sees it close)."""
    rest = asyncio.all_tasks() - {asyncio.current_task()}
    for task in rest:
        task.cancel()
    await asyncio.gather(*rest, return_exceptions=True)
    for _ in range(3):  # closing a transport takes a few callbacks (TLS: its shutdown)
        await asyncio.sleep(0)
