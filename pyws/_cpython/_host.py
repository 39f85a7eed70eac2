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
import sys
import threading
from typing import Any, Protocol

__all__ = ["loop_for_new_socket", "Hosted"]

logger = logging.getLogger("pyws")

#: Seconds the host waits for sockets to finish closing after Ctrl-C or sys.exit().
GOING_AWAY_TIMEOUT = 3.0


class Hosted(Protocol):
    """A connection the script host waits for."""

    def going_away(self) -> None:
        """Close with 1001 (or fail, if still connecting)."""


_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_hosted: set[Hosted] = set()
_changed: asyncio.Event | None = None
_hook_registered = False


def loop_for_new_socket() -> tuple[asyncio.AbstractEventLoop, bool]:
    """The loop a socket created now lives on, and whether it is the script host's."""
    try:
        return asyncio.get_running_loop(), False
    except RuntimeError:
        return _host_loop(), True


def _host_loop() -> asyncio.AbstractEventLoop:
    global _loop, _hook_registered
    with _lock:
        if _loop is None or _loop.is_closed():
            _loop = asyncio.new_event_loop()
        if not _hook_registered:
            _register_exit_hook(_run_host)
            _hook_registered = True
        return _loop


def _register_exit_hook(hook: Any) -> None:
    register = getattr(threading, "_register_atexit", None)
    if register is not None:
        register(hook)
    else:  # pragma: no cover - every supported CPython has it
        atexit.register(hook)


def track(conn: Hosted) -> None:
    """Keep the process alive for ``conn`` (call on the host loop's side)."""
    _hosted.add(conn)


def untrack(conn: Hosted) -> None:
    """``conn`` is CLOSED and its close event dispatched."""
    _hosted.discard(conn)
    if _changed is not None:
        _changed.set()


def hosted_count() -> int:
    return len(_hosted)


async def _until_idle() -> None:
    """Run until no hosted socket is open and no other task is pending."""
    global _changed
    _changed = asyncio.Event()
    me = asyncio.current_task()
    while True:
        others = [task for task in asyncio.all_tasks() if task is not me]
        if others:
            await asyncio.wait(others, return_when=asyncio.FIRST_COMPLETED)
            continue
        if _hosted:
            _changed.clear()
            await _changed.wait()
            continue
        # Let callbacks scheduled by the last close (call_soon) run, then check again.
        await asyncio.sleep(0)
        if not _hosted and not [t for t in asyncio.all_tasks() if t is not me]:
            return


async def _going_away() -> None:
    for conn in list(_hosted):
        conn.going_away()
    try:
        await asyncio.wait_for(_until_idle(), GOING_AWAY_TIMEOUT)
    except asyncio.TimeoutError:
        logger.warning("pyws: %d socket(s) did not close in time", len(_hosted))


def _main_script_failed() -> bool:
    return getattr(sys, "last_exc", None) is not None or getattr(sys, "last_value", None) is not None


def _run_host() -> None:
    loop = _loop
    if loop is None or loop.is_closed() or loop.is_running():
        return
    exit_status: int | None = None
    try:
        if _main_script_failed():
            loop.run_until_complete(_going_away())
        else:
            try:
                loop.run_until_complete(_until_idle())
            except KeyboardInterrupt:
                exit_status = 130
                loop.run_until_complete(_going_away())
            except SystemExit as exc:
                exit_status = _exit_status(exc)
                loop.run_until_complete(_going_away())
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
