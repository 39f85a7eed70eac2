"""Load: one process holding 10,000 open connections, each exchanging messages.

The server is websockets' asyncio server in its own process on 127.0.0.1 (an echo), so
both sides' file descriptors fit their limits and the client's figures are its own. The
client is this process: pyws's browser API on asyncio, ``compression=None`` (with
permessage-deflate, zlib's buffers would be most of the memory on both sides: Chromium
pays the same per socket). The test checks that every socket opens, echoes its own
message, closes cleanly, and that nothing is left behind (file descriptors, tasks); it
reports the memory per idle connection (bench/ W5 measures it against the peers).

PYWS_LOAD_CONNECTIONS changes the count (default 10,000).
"""

from __future__ import annotations

import asyncio
import gc
import os
import resource
import subprocess
import sys
import time

import pytest

import pyws
from pyws import WebSocket

pytestmark = [pytest.mark.skipif(pyws.backend != "cpython", reason="CPython backend only: "
                                 "under Pyodide the host's sockets are the host's to count"),
              pytest.mark.slow]

N = int(os.environ.get("PYWS_LOAD_CONNECTIONS", "10000"))
BATCH = 1000  # sockets created per step (the server's accept backlog is bounded)
STEP_TIMEOUT = 120.0

SERVER = r"""
import asyncio, resource, sys
from websockets.asyncio.server import serve

resource.setrlimit(resource.RLIMIT_NOFILE, (int(sys.argv[1]),) * 2)

async def echo(ws):
    async for message in ws:
        await ws.send(message)

async def main():
    async with serve(echo, "127.0.0.1", 0, compression=None, ping_interval=None,
                     backlog=4096) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)

asyncio.run(main())
"""


def _raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return
    try:  # root may raise the hard limit too
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, max(hard, needed)))
    except (ValueError, OSError):
        if hard < needed:
            pytest.skip(f"needs {needed} file descriptors; the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


@pytest.fixture(scope="module")
def load_server():
    needed = N + 200
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(needed)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        yield f"ws://127.0.0.1:{port}/"
    finally:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.close()  # the server stops when its stdin ends
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def test_ten_thousand_connections_in_one_process(load_server: str) -> None:
    _raise_fd_limit(N + 200)
    gc.collect()
    fds_before = _open_fds()

    async def main() -> dict[str, float]:
        loop = asyncio.get_running_loop()
        sockets: list[WebSocket] = []
        opened, echoed, closed = [0], [0], []
        waiters: dict[str, tuple[list[int], int, asyncio.Future[None]]] = {}

        def wait(name: str, counter: list[int], target: int) -> asyncio.Future[None]:
            fut = loop.create_future()
            waiters[name] = (counter, target, fut)
            check(name)
            return fut

        def check(name: str) -> None:
            if name in waiters:
                counter, target, fut = waiters[name]
                if counter[0] >= target and not fut.done():
                    fut.set_result(None)

        def make(i: int) -> WebSocket:
            ws = WebSocket(load_server, compression=None)
            expected = f"message {i}"

            def on_open(event: pyws.Event) -> None:
                opened[0] += 1
                check("open")
                ws.send(expected)

            def on_message(event: pyws.MessageEvent) -> None:
                assert event.data == expected, (event.data, expected)
                echoed[0] += 1
                check("echo")

            def on_close(event: pyws.CloseEvent) -> None:
                closed.append((event.code, event.wasClean))

            ws.onopen, ws.onmessage, ws.onclose = on_open, on_message, on_close
            return ws

        started = time.perf_counter()
        for first in range(0, N, BATCH):
            sockets.extend(make(i) for i in range(first, min(first + BATCH, N)))
            await asyncio.wait_for(wait("open", opened, len(sockets)), STEP_TIMEOUT)
        open_seconds = time.perf_counter() - started
        await asyncio.wait_for(wait("echo", echoed, N), STEP_TIMEOUT)
        assert all(ws.readyState == WebSocket.OPEN for ws in sockets)
        assert not closed, closed[:5]

        # Idle: every socket open, its message echoed; what does one cost?
        gc.collect()
        await asyncio.sleep(0.5)
        idle_rss = _rss_kib()

        for ws in sockets:
            ws.close(1000)
        deadline = time.perf_counter() + STEP_TIMEOUT
        while len(closed) < N:
            if time.perf_counter() > deadline:
                raise AssertionError(f"only {len(closed)} of {N} sockets closed")
            await asyncio.sleep(0.05)
        assert set(closed) == {(1000, True)}, sorted(set(closed))[:5]
        assert all(ws.readyState == WebSocket.CLOSED for ws in sockets)
        # Nothing left on the loop but this coroutine.
        await asyncio.sleep(0)
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        assert not others, others[:5]
        return {"open_seconds": open_seconds, "idle_rss": idle_rss}

    rss_before = _rss_kib()
    figures = asyncio.run(main())
    per_connection = (figures["idle_rss"] - rss_before) / N
    print(f"\n{N} connections: opened in {figures['open_seconds']:.1f} s; "
          f"{per_connection:.1f} KiB of RSS per idle connection (tests/hardening/test_load.py)")
    gc.collect()
    assert _open_fds() == fds_before, "file descriptors were left open"
    # Generous: bench/ W5 measures 8-9 KiB; this catches a leak or a buffer per socket.
    assert per_connection < 64, per_connection
