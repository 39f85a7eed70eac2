"""Which event loop a socket lives on, and the script host that keeps a script alive.

The browser's model: nothing happens until your code yields to the event loop.

- Inside a running asyncio loop (``asyncio.run``, a Jupyter kernel, ``python -m
  asyncio``): the socket lives on that loop.
- With no running loop (a plain script): the socket lives on the *script host*, an
  asyncio loop of pyws's own that is not running while the script's code runs, so
  handlers attached after the constructor never miss an event. When the main script
  ends, the host runs that loop on the main thread (as Node and a browser tab do)
  until every socket it hosts is CLOSED and no task is left, then the process exits
  as usual. Ctrl-C closes the open sockets with 1001 (going away) and exits with 130;
  ``sys.exit()`` in a handler closes them the same way and exits with its status; if
  the main script died with an exception, the sockets are closed with 1001 instead of
  being run.

On any other loop, pyws closes the sockets still open when the loop shuts down
(``asyncio.run`` ending, via ``loop.shutdown_asyncgens()``) with 1001 and waits a moment
for them, so no transport or socket is leaked.

The host runs from ``threading``'s exit hooks, which run on the main thread before
non-daemon threads are joined and before ``concurrent.futures`` stops accepting work
(the loop needs its executor for DNS).
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures.thread  # noqa: F401  (registers its exit hook before ours)
import logging
import os
import signal
import sys
import threading
import weakref
from typing import Any, Protocol

__all__ = [
    "Hosted", "GOING_AWAY_TIMEOUT", "loop_for_new_socket", "script_host_loop", "is_script_host",
    "track", "untrack", "forget", "open_count", "close_all", "at_exit", "check_awaited_on",
]

logger = logging.getLogger("pyws")

#: Seconds the host waits for sockets to finish closing after Ctrl-C or sys.exit().
GOING_AWAY_TIMEOUT = 3.0


class Hosted(Protocol):
    """A connection the loop's owner waits for."""

    def going_away(self) -> None:
        """Close with 1001 (or fail, if still connecting)."""


class _Sockets:
    """The open sockets of one event loop, and a way to wait until there are none."""

    def __init__(self) -> None:
        self.open: set[Hosted] = set()
        self._waiters: list[asyncio.Future[None]] = []
        self.guard: Any = None  # keeps the loop's shutdown sentinel alive

    def changed(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    async def wait_changed(self, timeout: float | None) -> bool:
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(waiter, timeout)
        except asyncio.TimeoutError:
            return False
        return True


_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_sockets: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Sockets] = weakref.WeakKeyDictionary()
_hook_registered = False


#: What a forked child inherited from its parent: the parent's loops and their sockets.
#: Kept, never run, touched or closed: a loop's selector is the parent's epoll instance
#: (shared across fork), and its sockets are the parent's connections.
_inherited: list[object] = []


def _after_fork_in_child() -> None:
    """The child of ``os.fork()`` (``multiprocessing``'s fork start method included)
    starts with no script host and no sockets: it never reads, writes or closes the
    parent's connections (their messages stay the parent's), and ends as it would
    without pyws. Sockets it opens itself get a host of their own."""
    global _lock, _loop, _sockets
    _lock = threading.Lock()  # another thread of the parent may have held it
    _inherited.extend((_loop, dict(_sockets)))
    _loop = None
    _sockets = weakref.WeakKeyDictionary()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def loop_for_new_socket() -> tuple[asyncio.AbstractEventLoop, bool]:
    """The loop a socket created now lives on, and whether it is the script host's."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return script_host_loop(), True
    # A handler running on the script host opens another socket: the host waits for it.
    return loop, loop is _loop


def script_host_loop() -> asyncio.AbstractEventLoop:
    """The script host's loop (made now if needed); it runs when the main script ends."""
    global _loop, _hook_registered
    with _lock:
        if _loop is None or _loop.is_closed():
            _loop = asyncio.new_event_loop()
        if not _hook_registered:
            at_exit(_run_host)
            _hook_registered = True
        return _loop


def is_script_host(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether ``loop`` is the script host's."""
    return loop is _loop


def check_awaited_on(loop: asyncio.AbstractEventLoop) -> None:
    """Raise RuntimeError (saying which loop is which) unless the running loop is
    ``loop``, the one a socket lives on: awaiting the socket elsewhere would never end."""
    if asyncio.get_running_loop() is loop:
        return
    where = ("the script host's loop (it was made outside any running event loop, and that "
             "loop runs when the script's code ends)" if loop is _loop
             else "another event loop (the one that was running when it was made)")
    raise RuntimeError(
        f"this WebSocket lives on {where}, not on the event loop awaiting it now: create it "
        "inside the coroutine that awaits it (e.g. inside asyncio.run()), or use the "
        "blocking calls (recv_sync(), wait_closed_sync())")


def at_exit(hook: Any) -> None:
    """Run ``hook`` when the main script ends, before non-daemon threads are joined."""
    register = getattr(threading, "_register_atexit", None)
    if register is not None:
        register(hook)
    else:  # pragma: no cover - every supported CPython has it
        atexit.register(hook)


def track(loop: asyncio.AbstractEventLoop, conn: Hosted) -> None:
    """``conn`` is open on ``loop`` (call from the loop's thread)."""
    sockets = _sockets.get(loop)
    if sockets is None:
        sockets = _sockets[loop] = _Sockets()
        if loop is not _loop:
            sockets.guard = _guard_loop_shutdown(sockets)
    sockets.open.add(conn)


def untrack(loop: asyncio.AbstractEventLoop, conn: Hosted) -> None:
    """``conn`` is CLOSED and its close event dispatched."""
    sockets = _sockets.get(loop)
    if sockets is not None:
        sockets.open.discard(conn)
        sockets.changed()


def forget(loop: asyncio.AbstractEventLoop, conn: Hosted) -> None:
    """``conn`` ended with ``loop`` closed (any thread): no waiter is woken (their
    futures belong to that loop)."""
    sockets = _sockets.get(loop)
    if sockets is not None:
        sockets.open.discard(conn)
        if not sockets.open:
            # Its shutdown sentinel's finalizer refers to the loop: let the loop go.
            _sockets.pop(loop, None)


def open_count(loop: asyncio.AbstractEventLoop) -> int:
    sockets = _sockets.get(loop)
    return 0 if sockets is None else len(sockets.open)


def _guard_loop_shutdown(sockets: _Sockets) -> Any:
    """An async generator the running loop finalizes in ``shutdown_asyncgens()``
    (``asyncio.run`` does): its ``finally`` closes the sockets still open."""

    async def sentinel() -> Any:
        try:
            yield
        finally:
            await _close_sockets(sockets, GOING_AWAY_TIMEOUT)

    guard = sentinel()
    try:  # the first iteration registers it with the running loop's asyncgen hooks
        guard.asend(None).send(None)
    except StopIteration:
        pass
    return guard


async def close_all(loop: asyncio.AbstractEventLoop, timeout: float = GOING_AWAY_TIMEOUT) -> None:
    """Close every socket open on ``loop`` (running it: call from the loop) with 1001
    and wait up to ``timeout`` seconds until they are CLOSED."""
    sockets = _sockets.get(loop)
    if sockets is not None and sockets.open:
        await _close_sockets(sockets, timeout)


async def _close_sockets(sockets: _Sockets, timeout: float) -> None:
    for conn in list(sockets.open):
        conn.going_away()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while sockets.open:
        if not await sockets.wait_changed(deadline - loop.time()):
            logger.warning("pyws: %d socket(s) did not close in time", len(sockets.open))
            return
    await asyncio.sleep(0)  # let the last close event's callbacks run


async def _until_idle(sockets: _Sockets, timeout: float | None = None) -> bool:
    """Run until no hosted socket is open and no other task is pending (False if
    ``timeout`` seconds passed first)."""
    loop = asyncio.get_running_loop()
    deadline = None if timeout is None else loop.time() + timeout
    me = asyncio.current_task()
    while True:
        remaining = None if deadline is None else deadline - loop.time()
        if remaining is not None and remaining <= 0:
            return False
        others = [task for task in asyncio.all_tasks() if task is not me]
        if others:
            await asyncio.wait(others, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
            continue
        if sockets.open:
            if not await sockets.wait_changed(remaining):
                return False
            continue
        # Let callbacks scheduled by the last close (call_soon) run, then check again.
        await asyncio.sleep(0)
        if not sockets.open and not [t for t in asyncio.all_tasks() if t is not me]:
            return True


def _main_script_failed() -> bool:
    return getattr(sys, "last_exc", None) is not None or getattr(sys, "last_value", None) is not None


def _run_host() -> None:
    loop = _loop
    if loop is None or loop.is_closed() or loop.is_running():
        return
    exit_status: int | None = None
    sockets = _sockets.setdefault(loop, _Sockets())
    try:
        if _main_script_failed():
            loop.run_until_complete(_close_sockets(sockets, GOING_AWAY_TIMEOUT))
        else:
            running = loop.create_task(_until_idle(sockets))
            try:
                _run_interruptibly(loop, running)
            except (KeyboardInterrupt, SystemExit) as exc:
                running.cancel()
                exit_status = 130 if isinstance(exc, KeyboardInterrupt) else _exit_status(exc)
                loop.run_until_complete(_close_sockets(sockets, GOING_AWAY_TIMEOUT))
    except BaseException:  # a second Ctrl-C while going away: stop now
        logger.debug("pyws: exit host interrupted", exc_info=True)
        exit_status = 130 if exit_status is None else exit_status
    finally:
        _shutdown(loop)
    if exit_status is not None:
        # The interpreter's own status was fixed before its exit hooks ran: run the
        # remaining atexit functions, flush, and leave with the status asked for.
        atexit._run_exitfuncs()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        os._exit(exit_status)


def _run_interruptibly(loop: asyncio.AbstractEventLoop, running: asyncio.Task[Any]) -> None:
    """Run ``running`` to its end; Ctrl-C raises ``KeyboardInterrupt`` here.

    As ``asyncio.run()`` does, the first Ctrl-C cancels the task instead of raising
    wherever the main thread happens to be: raised inside a callback whose exceptions are
    ignored (a weak reference's, during garbage collection), it would be lost and the
    script would keep running. A second Ctrl-C raises at once."""
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        loop.run_until_complete(running)  # someone else handles Ctrl-C
        return

    def on_sigint(signum: int, frame: object) -> None:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if running.done():
            raise KeyboardInterrupt
        running.cancel()
        loop.call_soon_threadsafe(lambda: None)  # wake the loop

    signal.signal(signal.SIGINT, on_sigint)
    try:
        loop.run_until_complete(running)
    except asyncio.CancelledError:
        if running.cancelled():
            raise KeyboardInterrupt from None
        raise
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _exit_status(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)
    return 1


def _shutdown(loop: asyncio.AbstractEventLoop) -> None:
    try:
        for task in asyncio.all_tasks(loop):
            task.cancel()
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
    except BaseException:
        pass
    finally:
        loop.close()
