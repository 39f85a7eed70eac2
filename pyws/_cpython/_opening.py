"""Reaching the server, within ``open_timeout``: the dial task, the open timer, and what
a failed or challenged opening handshake leads to.

The dial (:mod:`._dial`: a proxy tunnel, or RFC 6455 section 4.1's endpoint lock held
until the handshake is over; Happy Eyeballs; TLS) calls ``connection_made()`` on the
connection; this task then waits until the opening handshake is over, either way. A
timer rather than ``asyncio.wait_for()`` bounds it: no second task per connection.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from collections.abc import Callable
from typing import TYPE_CHECKING

from .._redact import redact_url
from . import _dial, _tls
from ._browser_client import Phase
from ._dial import default_ssl_context
from ._timer import Timer

if TYPE_CHECKING:
    from .._options import Options
    from .._spec import WebSocketURL
    from ._browser_client import BrowserClient
    from ._proxy import ProxyURL

__all__ = ["Opening"]

logger = logging.getLogger("pyws")


class Opening:
    """The opening of one connection; ``fail(why)`` gives the connection up; ``shown`` is
    the URL as log records show it."""

    __slots__ = ("_protocol", "_client", "_url", "_options", "_user_agent", "_fail", "_shown",
                 "_task", "_timer", "_over", "proxy", "retrying", "socket")

    def __init__(self, protocol: asyncio.Protocol, client: BrowserClient, url: WebSocketURL,
                 options: Options, user_agent: str, fail: Callable[[str], None],
                 shown: str) -> None:
        #: The proxy the connection goes through (None: directly), once known.
        self.proxy: ProxyURL | None = None
        #: Set when a 401 challenge is answered on a new connection: the first one's
        #: end is then not the socket's.
        self.retrying = False
        #: The socket the dial made (the transport's), once connected.
        self.socket: socket.socket | None = None
        self._client = client
        self._protocol = protocol
        self._url = url
        self._options = options
        self._user_agent = user_agent
        self._fail = fail
        self._shown = shown
        self._task: asyncio.Task[None] | None = None
        self._timer: Timer | None = None
        self._over: asyncio.Future[None] | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start dialing (on the loop's thread)."""
        self._over = loop.create_future()
        self._task = loop.create_task(self._dial())
        timeout = self._options.open_timeout
        if timeout is not None:
            self._timer = Timer(loop, self._fail)
            self._timer.start(timeout, f"the opening handshake timed out after {timeout} s")

    def over(self) -> None:
        """The opening handshake is over, either way: let go of the endpoint lock."""
        if self._timer is not None:
            self._timer.cancel()
        if self._over is not None and not self._over.done():
            self._over.set_result(None)

    def rejected(self, why: str, transport: asyncio.Transport | None) -> None:
        """The opening handshake failed: drop the connection; it is reported when TCP is
        gone."""
        logger.warning("WebSocket connection to '%s' failed: %s", self._shown, why)
        self.over()
        if transport is not None:
            transport.abort()

    def challenged(self, why: str, transport: asyncio.Transport | None) -> None:
        """A 401 with a Basic challenge, and the URL has credentials: answer it on a new
        connection, unless the credentials would cross a proxy in clear text."""
        if self.proxy is not None and not self._url.secure:
            self.rejected(f"{why}, but the URL's credentials are not sent over ws:// through "
                          f"the proxy {self.proxy}, which could read them (use wss://)",
                          transport)
            return
        logger.debug("WebSocket connection to '%s': %s: sending the URL's on a new "
                     "connection", self._shown, why)
        self.retrying = True
        if transport is not None:
            transport.abort()

    def cancel(self) -> None:
        """The connection is given up: stop dialing (unless this is the dial itself)."""
        self.over()
        task = self._task
        if task is not None and not task.done() and task is not asyncio.current_task():
            task.cancel()

    def _retry(self) -> bool:
        """The first connection is gone: True to dial again (a 401 challenge answered)."""
        if not self.retrying or self._client.phase is Phase.CLOSED:
            return False
        self.retrying = False
        self._client.retry_with_credentials()
        return True

    async def _dial(self) -> None:
        url, options = self._url, self._options
        loop = asyncio.get_running_loop()
        try:
            ssl_context = (options.ssl or default_ssl_context()) if url.secure else None
            self.proxy = _dial.route(options, url)
            while True:
                async with _dial.connected(self._protocol, url, ssl_context, self.proxy, options,
                                           self._user_agent) as sock:
                    self.socket = sock
                    assert self._over is not None
                    await self._over
                if not self._retry():
                    break
                # A 401 challenge: a second handshake with the URL's credentials, on a new
                # connection (the first one is gone).
                self._over = loop.create_future()
        except asyncio.CancelledError:
            self._fail("the connection attempt was cancelled")
        except _tls.TLSFailure as exc:
            self._fail(f"TLS handshake failed: {exc}")
        except (OSError, ssl.SSLError) as exc:
            self._fail(f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # never let an unexpected error hang the socket
            logger.exception("pyws: unexpected error while connecting to %s", redact_url(url.href))
            self._fail(f"{type(exc).__name__}: {exc}")
        finally:
            if self._timer is not None:
                self._timer.cancel()
