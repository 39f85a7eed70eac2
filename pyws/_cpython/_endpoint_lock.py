"""RFC 6455 section 4.1: at most one connection in CONNECTING per remote endpoint.

    "If the client already has a WebSocket connection to the remote host (IP address)
    identified by /host/ and port /port/ pair, even if the remote host is known by
    another name, the client MUST wait until that connection has been established or
    for that connection to have failed."

pyws does what Chromium does (net/socket/websocket_endpoint_lock_manager.cc and
transport_connect_sub_job.cc; measured by tools/chromium_endpoint_lock.py):

- the key is the resolved address and port (IP:port), taken per connection attempt,
  after DNS and before TCP connects: two names of one address share a lock, two ports
  of one host do not;
- the lock is held through TCP, TLS and the opening handshake, and released when the
  handshake succeeds or the attempt fails in any way (refused, TLS error, rejected,
  timed out, closed by the script); the next waiter (first come, first served) gets
  it at once. One difference, of timing only: Chromium hands the endpoint on 10 ms
  later (``kUnlockDelayInMs``), which caps connections to one server near 100/s (10,000
  sockets to one server take 100 s to open; sequential connect + open + close, 13 ms
  instead of 1 ms here). RFC 6455 asks only for the wait, which pyws keeps;
- waiting counts towards ``open_timeout`` (Chromium's 240 s handshake timer also runs
  from the constructor);
- one table per event loop (a browser has one per network context); connections
  through a proxy take no lock (Chromium's proxied WebSocket pool has none: the
  client does not know the server's address);
- a connection through a Unix domain socket (the ``unix_socket`` option; browsers have
  none) is keyed by its path with symbolic links resolved (:func:`connect_unix`): the
  path is the endpoint, whatever the URL's host.

:func:`connect` also does Happy Eyeballs (RFC 8305) over the resolved addresses, each
attempt under its own address's lock, as Chromium's connect sub-jobs do.
"""

from __future__ import annotations

import asyncio
import collections
import os
import socket
import weakref
from typing import Any

__all__ = ["HAPPY_EYEBALLS_DELAY", "EndpointLock", "acquire", "connect", "connect_to",
           "connect_unix", "open_socket"]

#: Happy Eyeballs (RFC 8305) delay before trying the next address, as browsers do.
HAPPY_EYEBALLS_DELAY = 0.25

_Key = tuple[str, int]
#: The "port" of a Unix socket path's key: no TCP port is negative.
_UNIX_PORT = -1
_AddrInfo = tuple[int, int, int, str, Any]  # (family, type, proto, canonname, sockaddr)


class _Endpoints:
    """The locked endpoints of one event loop: for each, the futures of its waiters."""

    def __init__(self) -> None:
        self.waiters: dict[_Key, collections.deque[asyncio.Future[None]]] = {}

    def unlock(self, key: _Key) -> None:
        """Pass the lock of ``key`` to its first live waiter, or free it."""
        queue = self.waiters.get(key)
        if queue is None:
            return
        while queue:
            waiter = queue.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        del self.waiters[key]


_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Endpoints] = \
    weakref.WeakKeyDictionary()


class EndpointLock:
    """A held endpoint lock; :meth:`release` may be called any number of times."""

    __slots__ = ("_loop", "_endpoints", "_key", "_held")

    def __init__(self, loop: asyncio.AbstractEventLoop, endpoints: _Endpoints, key: _Key) -> None:
        self._loop = loop
        self._endpoints = endpoints
        self._key = key
        self._held = True

    def release(self) -> None:
        if not self._held:
            return
        self._held = False
        self._endpoints.unlock(self._key)  # to the next waiter, or free


async def acquire(loop: asyncio.AbstractEventLoop, key: _Key) -> EndpointLock:
    """Wait until ``key`` (address, port) is free on ``loop``, and lock it."""
    endpoints = _by_loop.get(loop)
    if endpoints is None:
        endpoints = _by_loop[loop] = _Endpoints()
    queue = endpoints.waiters.get(key)
    if queue is None:
        endpoints.waiters[key] = collections.deque()
        return EndpointLock(loop, endpoints, key)
    waiter: asyncio.Future[None] = loop.create_future()
    queue.append(waiter)
    try:
        await waiter
    except asyncio.CancelledError:
        if waiter.done() and not waiter.cancelled():
            endpoints.unlock(key)  # granted, but nobody will use it: the next one may
        else:
            try:
                queue.remove(waiter)
            except ValueError:
                pass
        raise
    return EndpointLock(loop, endpoints, key)


def _is_ip_literal(host: str) -> bool:
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host.split("%")[0])
    except OSError:
        return False
    return True


async def _resolve(loop: asyncio.AbstractEventLoop, host: str, port: int) -> list[_AddrInfo]:
    if _is_ip_literal(host):
        # No need for the resolver's thread: a numeric host resolves at once.
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_NUMERICHOST)
    else:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    if not infos:
        raise OSError(f"getaddrinfo({host!r}) returned no address")
    # RFC 8305 section 4: alternate address families, the resolver's first one first.
    by_family: dict[int, list[_AddrInfo]] = {}
    for info in infos:
        by_family.setdefault(info[0], []).append(info)
    groups = list(by_family.values())
    ordered: list[_AddrInfo] = []
    for i in range(max(len(group) for group in groups)):
        ordered.extend(group[i] for group in groups if i < len(group))
    return ordered


async def open_socket(loop: asyncio.AbstractEventLoop, info: _AddrInfo) -> socket.socket:
    """A non-blocking socket connected to one resolved address (no lock); closed again
    if that fails."""
    family, type_, proto, _, address = info
    sock = socket.socket(family, type_, proto)
    try:
        sock.setblocking(False)
        await loop.sock_connect(sock, address)
    except BaseException:
        sock.close()
        raise
    return sock


async def _attempt(loop: asyncio.AbstractEventLoop, info: _AddrInfo) -> tuple[socket.socket, EndpointLock]:
    address = info[4]
    lock = await acquire(loop, (str(address[0]), int(address[1])))
    try:
        sock = await open_socket(loop, info)
    except BaseException:
        lock.release()
        raise
    return sock, lock


async def connect_unix(loop: asyncio.AbstractEventLoop,
                       path: str) -> tuple[socket.socket, EndpointLock]:
    """A connected Unix domain socket to ``path`` and the lock of its endpoint (keyed by
    the path, symbolic links resolved), released by the caller as :func:`connect`'s; an
    ``OSError`` that names the path if nothing listens there."""
    lock = await acquire(loop, (os.path.realpath(path), _UNIX_PORT))
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        await loop.sock_connect(sock, path)
    except BaseException as exc:
        sock.close()
        lock.release()
        if isinstance(exc, OSError) and exc.errno is not None and exc.filename is None:
            exc.filename = path  # "[Errno 2] No such file or directory: '/run/app.sock'"
        raise
    return sock, lock


def _discard(task: asyncio.Task[tuple[socket.socket, EndpointLock]]) -> None:
    """A finished attempt whose result is not used: close what it connected."""
    if task.cancelled():
        return
    if task.exception() is None:  # (also marks a failure as retrieved)
        sock, lock = task.result()
        sock.close()
        lock.release()


async def connect(loop: asyncio.AbstractEventLoop, host: str, port: int,
                  delay: float = HAPPY_EYEBALLS_DELAY) -> tuple[socket.socket, EndpointLock]:
    """A connected TCP socket to ``host``:``port`` and the lock of its endpoint, which the
    caller releases once the opening handshake is over (done or failed)."""
    return await connect_to(loop, await _resolve(loop, host, port), delay)


async def connect_to(loop: asyncio.AbstractEventLoop, infos: list[_AddrInfo],
                     delay: float = HAPPY_EYEBALLS_DELAY) -> tuple[socket.socket, EndpointLock]:
    """:func:`connect` to resolved addresses (``getaddrinfo()`` entries), in order."""
    if len(infos) == 1:
        return await _attempt(loop, infos[0])
    # Happy Eyeballs: start the next address when the previous attempt failed or after
    # ``delay``; the first connected socket wins, the others are closed.
    errors: list[BaseException] = []
    pending: set[asyncio.Task[tuple[socket.socket, EndpointLock]]] = set()
    started = 0
    try:
        while True:
            if started < len(infos):
                pending.add(loop.create_task(_attempt(loop, infos[started])))
                started += 1
            if not pending:
                break
            done, _ = await asyncio.wait(pending, timeout=delay if started < len(infos) else None,
                                         return_when=asyncio.FIRST_COMPLETED)
            winner = None
            for task in done:
                pending.discard(task)
                exc = task.exception()
                if exc is not None:
                    errors.append(exc)
                elif winner is None:
                    winner = task.result()
                else:
                    _discard(task)
            if winner is not None:
                return winner
    finally:
        for task in pending:  # the losers: whatever they connect is closed
            task.cancel()
            task.add_done_callback(_discard)
        if pending:
            await asyncio.wait(pending)
    if len({type(exc) for exc in errors}) == 1:
        raise errors[0]
    raise OSError("Multiple exceptions: " + ", ".join(str(exc) for exc in errors))
