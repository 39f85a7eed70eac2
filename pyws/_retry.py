"""When to reconnect, and after how long: shared by :class:`~pyws.ReconnectingWebSocket`
and ``async for ws in pyws.connect(url)``.

- :class:`Backoff`: exponential backoff with full jitter. The n-th delay of a series
  (n = 0, 1, ...) is drawn uniformly from ``[0, min(maximum, initial * factor**n)]``:
  the first retry comes within ``initial`` seconds (RFC 6455 section 7.2.3 asks for a
  random first delay, so that clients dropped together do not come back together), and
  clients keep spreading out as the ceiling grows.
- :class:`Retries`: where one reconnecting socket is in its series. A connection that
  stayed open for ``min_uptime`` seconds starts a new series; one that drops sooner
  (a server that accepts and closes at once) continues the current one, so it cannot
  turn into a tight loop.
- :func:`connections`: the ``async for`` form, modelled on websockets' ``connect()``
  iterator.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from ._errors import WebSocketError
from ._redact import redact_url

if TYPE_CHECKING:
    from ._websocket import WebSocket

__all__ = ["Backoff", "RetryPolicy", "Retries", "connections", "sleep"]

logger = logging.getLogger("pyws")


@dataclasses.dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter: calling it starts a new series of delays.

    ``Backoff(initial=2.0, maximum=60.0, factor=2.0)``: the n-th delay (from 0) is
    uniform in ``[0, min(maximum, initial * factor**n)]`` seconds. Any callable that
    returns an iterable of delays in seconds can be used instead (a finite one stops
    reconnecting when it runs out).
    """

    #: Ceiling of the first delay, in seconds.
    initial: float = 2.0
    #: Largest ceiling, in seconds.
    maximum: float = 60.0
    #: How much the ceiling grows per attempt.
    factor: float = 2.0

    def __post_init__(self) -> None:
        if not 0 <= self.initial <= self.maximum:
            raise ValueError("Backoff needs 0 <= initial <= maximum")
        if self.factor < 1:
            raise ValueError("Backoff needs factor >= 1")

    def __call__(self) -> Iterator[float]:
        import random  # here: ``import pyws`` stays cheap

        ceiling = self.initial
        while True:
            yield random.random() * ceiling
            ceiling = min(self.maximum, ceiling * self.factor)


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """The reconnection keywords shared by both forms."""

    #: A callable returning the delays of one series (default: :class:`Backoff`).
    backoff: Callable[[], Iterable[float]] = Backoff()
    #: Most reconnection attempts in a row before giving up; None: no limit.
    max_retries: int | None = None
    #: Seconds a connection must stay open for the next drop to start a new series.
    min_uptime: float = 5.0

    NAMES = ("backoff", "max_retries", "min_uptime")

    @classmethod
    def pop(cls, kwargs: dict[str, Any]) -> RetryPolicy:
        """Take the policy's keywords out of ``kwargs``; check them."""
        policy = cls(**{name: kwargs.pop(name) for name in cls.NAMES if name in kwargs})
        if not callable(policy.backoff):
            raise TypeError("backoff must be a callable returning delays (e.g. pyws.Backoff())")
        if policy.max_retries is not None and (type(policy.max_retries) is not int
                                               or policy.max_retries < 0):
            raise ValueError("max_retries must be None or an int >= 0")
        if not policy.min_uptime >= 0:
            raise ValueError("min_uptime must be >= 0")
        return policy


class Retries:
    """Where one reconnecting socket is in its series of attempts."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        #: Reconnection attempts in the current series (0: none since the last stable
        #: connection, or since the start).
        self.count = 0
        self._delays: Iterator[float] | None = None

    def ended(self, uptime: float | None) -> None:
        """A connection ended after ``uptime`` seconds open (None: it never opened): one
        that stayed up ``min_uptime`` seconds starts a new series."""
        if uptime is not None and uptime >= self.policy.min_uptime:
            self.count = 0
            self._delays = None

    def next_delay(self, uptime: float | None) -> float | None:
        """A connection ended (``uptime`` as for :meth:`ended`): seconds to wait before
        the next attempt, which this counts; None to give up (``max_retries`` reached,
        or the delays ran out)."""
        self.ended(uptime)
        policy = self.policy
        if policy.max_retries is not None and self.count >= policy.max_retries:
            return None
        if self._delays is None:
            self._delays = iter(policy.backoff())
        delay = next(self._delays, None)
        if delay is None:
            return None
        self.count += 1
        return max(0.0, float(delay))


async def sleep(delay: float) -> None:
    """``asyncio.sleep(delay)`` in slices of at most a second: Pyodide's loop does not
    clear the host timer of a cancelled sleep, and Node would wait for that timer before
    exiting; a slice bounds that wait."""
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + delay
    while (left := deadline - loop.time()) > 0:
        await asyncio.sleep(min(left, 1.0))


async def connections(url: str, protocols: Any, options: dict[str, Any]) -> AsyncIterator[WebSocket]:
    """``async for ws in pyws.connect(url, ...)``: an open socket per iteration.

    As websockets' ``connect()`` iterator: the body runs once per connection; when the
    body ends the socket is closed (1000) if it is still open, and the next connection is
    made. Failed attempts are retried with :class:`Backoff`; after ``max_retries`` in a
    row a :class:`~pyws.WebSocketError` ("gave up ...", from the last failure) is raised. Beyond websockets: when the
    connection had already ended when the body finished (the server closed it, or it
    dropped), the next attempt waits a backoff delay first, and the series goes on
    unless the connection stayed open ``min_uptime`` seconds. An exception in the body
    ends the loop (catch :class:`~pyws.WebSocketError` in the body to go on).
    """
    from ._connect import Connect

    options = dict(options)
    retries = Retries(RetryPolicy.pop(options))
    delay = 0.0
    while True:
        await sleep(delay)
        try:
            ws = await Connect(url, protocols, options)
        except WebSocketError as exc:
            next_delay = retries.next_delay(None)
            if next_delay is None:
                raise WebSocketError(f"gave up connecting to {redact_url(url)} after {retries.count} "
                                     f"retries: {exc.message}", exc.closeCode, exc.reason,
                                     exc.wasClean) from exc
            logger.info("pyws: could not connect to %s; retrying in %.1f s (retry %d)",
                        redact_url(url), next_delay, retries.count)
            delay = next_delay
            continue
        uptime = _Uptime(ws)
        try:
            yield ws
        finally:
            dropped = ws.readyState != ws.OPEN
            if not dropped:
                ws.close(1000)
            await ws.wait_closed()
        if not dropped:
            retries.ended(uptime.seconds())
            delay = 0.0  # the body chose to end this connection: reconnect at once
            continue
        next_delay = retries.next_delay(uptime.seconds())
        if next_delay is None:
            closed = await ws.wait_closed()
            raise WebSocketError.from_close(
                closed, f"gave up reconnecting to {redact_url(url)} after {retries.count} retries")
        logger.info("pyws: connection to %s ended; reconnecting in %.1f s (retry %d)",
                    redact_url(url), next_delay, retries.count)
        delay = next_delay


class _Uptime:
    """How long a socket from ``connect()`` (open now) stays open."""

    def __init__(self, ws: WebSocket) -> None:
        self._opened = time.monotonic()
        self._closed: float | None = None if ws.readyState == ws.OPEN else self._opened
        ws.addEventListener("close", self._on_close, once=True)

    def _on_close(self, event: Any) -> None:
        if self._closed is None:
            self._closed = time.monotonic()

    def seconds(self) -> float:
        return (self._closed if self._closed is not None else time.monotonic()) - self._opened
