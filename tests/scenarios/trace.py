"""Record what a WebSocket does, the same way in every runtime.

A :class:`Trace` listens to all four events and keeps, for each, the event type, the
``readyState`` at dispatch and the event's content, so a scenario can assert on the
whole sequence (and later compare it with the browser's).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pyws


def describe(ws: Any, event: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": event.type, "readyState": int(ws.readyState)}
    if event.type == "message":
        data = event.data
        if isinstance(data, str):
            entry["data"] = data
        else:
            entry["binary"] = bytes(data).hex()
            entry["data_type"] = type(data).__name__
    elif event.type == "close":
        entry.update(code=event.code, reason=event.reason, wasClean=event.wasClean)
    return entry


class Trace:
    """Attach to ``ws`` right after construction; ``await trace.closed()``."""

    def __init__(self, ws: pyws.WebSocket) -> None:
        self.ws = ws
        self.events: list[dict[str, Any]] = []
        loop = asyncio.get_event_loop()
        self._closed = loop.create_future()
        self._waiters: list[tuple[str, int, asyncio.Future[Any]]] = []
        for kind in ("open", "message", "error", "close"):
            ws.addEventListener(kind, self._record)

    def _record(self, event: Any) -> None:
        self.events.append(describe(self.ws, event))
        for waiter in list(self._waiters):
            kind, count, future = waiter
            if self.count(kind) >= count and not future.done():
                future.set_result(None)
                self._waiters.remove(waiter)
        if event.type == "close" and not self._closed.done():
            self._closed.set_result(None)

    def count(self, kind: str) -> int:
        return sum(1 for e in self.events if e["type"] == kind)

    def types(self) -> list[str]:
        return [e["type"] for e in self.events]

    async def wait_for(self, kind: str, count: int = 1, timeout: float = 10.0) -> None:
        if self.count(kind) >= count:
            return
        future = asyncio.get_event_loop().create_future()
        self._waiters.append((kind, count, future))
        await asyncio.wait_for(future, timeout)

    async def closed(self, timeout: float = 10.0) -> list[dict[str, Any]]:
        await asyncio.wait_for(asyncio.shield(self._closed), timeout)
        return self.events
