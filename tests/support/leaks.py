"""Proof that a CPython socket leaves nothing behind (tests/hardening/test_hostile.py, test_fuzz.py,
test_tls.py).

- **File descriptors**: :func:`open_fds` reads /proc/self/fd; :func:`client_sockets`
  finds, through /proc/self/net/tcp{,6}, the descriptors of TCP connections to a given
  server port (the client's side). :class:`FdBaseline` waits until every descriptor opened
  since the baseline is closed again (the in-process servers close their side a moment
  after the client), and names the ones that are not.
- **Loop errors**: :class:`LoopErrors` is a loop exception handler that records (asyncio
  reports "Task exception was never retrieved", "Task was destroyed but it is pending",
  exceptions in callbacks through it); :class:`ErrorLogs` records every log record at
  ERROR or above, from any logger ("Uncaught exception in a listener", websockets'
  "parser failed", ...).
- **Tasks and objects**: the client side (tests/scenarios/hostile.py) compares the loop's
  tasks before and after and checks the connection object is garbage once dropped.

Unclosed transports and sockets also raise ResourceWarning when collected, which the
suite's ``filterwarnings = error`` turns into failures.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any

__all__ = ["open_fds", "client_sockets", "FdBaseline", "LoopErrors", "ErrorLogs"]


def open_fds() -> dict[int, str]:
    """This process's open file descriptors and what each points to."""
    fds = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            fds[int(name)] = os.readlink(f"/proc/self/fd/{name}")
        except OSError:  # closed meanwhile (or the listing's own descriptor)
            pass
    return fds


def _tcp_table() -> dict[str, tuple[int, int]]:
    """socket inode -> (local port, remote port) of every TCP socket on this host."""
    table = {}
    for path in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        try:
            with open(path) as fh:
                lines = fh.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, remote, inode = fields[1], fields[2], fields[9]
            table[inode] = (int(local.rsplit(":", 1)[1], 16), int(remote.rsplit(":", 1)[1], 16))
    return table


def client_sockets(server_port: int) -> list[int]:
    """Descriptors of this process that are TCP connections to ``server_port`` (the
    client's side: their remote port is the server's)."""
    table = _tcp_table()
    found = []
    for fd, target in open_fds().items():
        if target.startswith("socket:["):
            ports = table.get(target[len("socket:["):-1])
            if ports is not None and ports[1] == server_port:
                found.append(fd)
    return found


class FdBaseline:
    """The descriptors open now; :meth:`assert_back` waits until no other is open."""

    def __init__(self) -> None:
        self.fds = open_fds()

    def new(self) -> dict[int, str]:
        return {fd: target for fd, target in open_fds().items() if self.fds.get(fd) != target}

    def assert_back(self, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            new = self.new()
            if not new or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        assert not new, f"file descriptors left open: {new}"


class LoopErrors:
    """A loop exception handler that records what asyncio would have logged."""

    def __init__(self) -> None:
        self.contexts: list[dict[str, Any]] = []

    def install(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        (loop or asyncio.get_running_loop()).set_exception_handler(self._handler)

    def _handler(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        self.contexts.append(context)

    def messages(self) -> list[str]:
        return [f"{c.get('message')}: {c.get('exception')!r}" for c in self.contexts]


class ErrorLogs(logging.Handler):
    """Records every log record at ``level`` (ERROR) or above of ``logger`` (the root
    logger) while used as a context manager."""

    def __init__(self, level: int = logging.ERROR, logger: str | None = None) -> None:
        super().__init__(level)
        self.records: list[logging.LogRecord] = []
        self._logger = logger

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def messages(self) -> list[str]:
        return [f"{r.name}: {r.getMessage()}" for r in self.records]

    def __enter__(self) -> ErrorLogs:
        logging.getLogger(self._logger).addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger(self._logger).removeHandler(self)
