"""A restartable one-shot timer on an asyncio loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

__all__ = ["Timer"]


class Timer:
    """Calls ``callback(*args)`` once, ``delay`` seconds after :meth:`start`, unless
    cancelled or started again first. A loop timer rather than a task: no task per
    connection, and nothing to cancel when it has fired."""

    __slots__ = ("_loop", "_callback", "_handle")

    def __init__(self, loop: asyncio.AbstractEventLoop, callback: Callable[..., None]) -> None:
        self._loop = loop
        self._callback = callback
        self._handle: asyncio.TimerHandle | None = None

    @property
    def pending(self) -> bool:
        """Whether the timer is started and has not fired yet."""
        return self._handle is not None

    def start(self, delay: float, *args: Any) -> None:
        """(Re)start: the callback runs ``delay`` seconds from now."""
        self.cancel()
        self._handle = self._loop.call_later(delay, self._fire, *args)

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _fire(self, *args: Any) -> None:
        self._handle = None
        self._callback(*args)
