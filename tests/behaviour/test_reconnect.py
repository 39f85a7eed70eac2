"""Reconnection: ``pyws.ReconnectingWebSocket`` and ``async for ws in pyws.connect()``.

- Every scenario of tests/scenarios/reconnect.py on CPython (asyncio and uvloop; nothing
  left behind: no task, no ResourceWarning, no asyncio complaint) and in Pyodide (Node, a
  Chromium page, a Chromium worker), against tests/support/reconnect_server.py.
- On CPython, a server process killed (SIGKILL) and restarted on the same port while a
  reconnecting socket and an ``async for`` loop are connected; a plain script whose
  socket waits to retry (the script host keeps it alive); the loop ending while a socket
  is connected or waiting; the backoff's numbers.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from typing import Any

import pytest
from support.leaks import FdBaseline
from support.paths import ROOT, TESTS
from support.reconnect_server import running_reconnect_server
from scenarios import reconnect

import pyws
from pyws._retry import Retries, RetryPolicy

TIMEOUT = 60.0


@pytest.fixture(scope="module")
def reconnect_server() -> Iterator[Any]:
    with running_reconnect_server() as server:
        yield server


def _run(loop_kind: str, coro: Any) -> Any:
    if loop_kind == "uvloop":
        uvloop = pytest.importorskip("uvloop", reason="uvloop is not installed (not on Windows)")
        return uvloop.run(coro)
    return asyncio.run(coro)


async def _leaving_no_task(coro: Any) -> None:
    before = asyncio.all_tasks()
    await asyncio.wait_for(coro, TIMEOUT)
    await asyncio.sleep(0.05)  # let the last close's callbacks run
    left = [t for t in asyncio.all_tasks() - before if not t.done()]
    assert not left, left


@pytest.mark.parametrize("loop_kind", ["asyncio", "uvloop"])
@pytest.mark.parametrize("scenario", reconnect.SCENARIOS)
def test_cpython(scenario: str, loop_kind: str, reconnect_server: Any, refused_url: str,
                 no_leaks: None) -> None:
    base = f"ws://127.0.0.1:{reconnect_server.port}"
    _run(loop_kind, _leaving_no_task(getattr(reconnect, scenario)(base, refused_url)))


@pytest.mark.parametrize("scenario", reconnect.SCENARIOS)
def test_pyodide(scenario: str, pyodide_runtime: Any, reconnect_server: Any, refused_url: str) -> None:
    base = f"ws://127.0.0.1:{reconnect_server.port}"
    pyodide_runtime.run_async(
        f"await scenarios.reconnect.{scenario}({base!r}, {refused_url!r})", timeout=TIMEOUT)


# -- a server killed and restarted on the same port ---------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _ServerProcess:
    """tests/support/reconnect_server.py in a process of its own, on a fixed port."""

    def __init__(self, port: int) -> None:
        self.proc = subprocess.Popen([sys.executable, str(TESTS / "support" / "reconnect_server.py"), str(port)],
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().strip() == "ready"

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        assert self.proc.stdout is not None
        self.proc.stdout.close()


@pytest.mark.parametrize("loop_kind", ["asyncio", "uvloop"])
def test_cpython_server_killed_and_restarted_on_the_same_port(loop_kind: str, no_leaks: None) -> None:
    port = _free_port()
    base = f"ws://127.0.0.1:{port}"
    fast = pyws.Backoff(initial=0.2, maximum=0.5)
    server = _ServerProcess(port)
    restarted: list[_ServerProcess] = []

    async def loop_body(connected: asyncio.Event, resumed: asyncio.Event) -> list[str]:
        seen = []
        async for ws in pyws.connect(f"{base}/echo?group=loop", backoff=fast):
            ws.send(f"loop{len(seen) + 1}")
            try:
                async for data in ws:
                    seen.append(data)
                    (resumed if connected.is_set() else connected).set()
                    if resumed.is_set():
                        ws.close()
            except pyws.WebSocketError as exc:
                assert exc.closeCode == 1006
                continue
            return seen
        raise AssertionError("unreachable")

    async def main() -> None:
        ws = pyws.ReconnectingWebSocket(f"{base}/echo?group=rws", backoff=fast)
        rec = reconnect.Recorder(ws)
        connected, resumed = asyncio.Event(), asyncio.Event()
        looping = asyncio.ensure_future(loop_body(connected, resumed))
        ws.send("before")
        await rec.wait_for("message")
        await asyncio.wait_for(connected.wait(), 10)
        server.kill()
        await rec.wait_for("close")
        assert rec.of("close")[0]["code"] == 1006 and ws.readyState == ws.CONNECTING
        for n in range(3):
            ws.send(f"held{n}")
        await asyncio.sleep(1.0)  # down for a second: attempts are refused meanwhile
        assert ws.readyState == ws.CONNECTING and ws.bufferedAmount == 15
        restarted.append(_ServerProcess(port))
        await rec.wait_for("open", 2, timeout=10)
        await rec.wait_for("message", 4)
        assert await asyncio.wait_for(looping, 10) == ["loop1", "loop2"]
        ws.close()
        await ws.wait_closed()
        errors_during_outage = rec.of("error")
        assert errors_during_outage, rec.events  # at least one refused attempt
        assert [e["data"] for e in rec.of("message")] == ["before", "held0", "held1", "held2"]
        log = await reconnect.control(base, "/log?group=rws")
        assert log["received"] == ["held0", "held1", "held2"], log  # once, in order
        loop_log = await reconnect.control(base, "/log?group=loop")
        assert loop_log["received"] == ["loop2"] and len(loop_log["paths"]) == 1, loop_log

    try:
        _run(loop_kind, _leaving_no_task(main()))
    finally:
        for proc in [server, *restarted]:
            if proc.proc.poll() is None:
                proc.kill()


def test_cpython_a_paused_server_is_detected_by_keepalive_and_reconnected_to(no_leaks: None) -> None:
    port = _free_port()
    server = _ServerProcess(port)

    async def main() -> None:
        ws = pyws.ReconnectingWebSocket(f"ws://127.0.0.1:{port}/echo?group=paused",
                                        backoff=reconnect.FAST, ping_interval=0.3,
                                        ping_timeout=0.3, open_timeout=0.5)
        default = pyws.ReconnectingWebSocket(f"ws://127.0.0.1:{port}/echo")
        assert default._options["ping_interval"] == 20  # connect()'s default, not the browser's
        default.close()
        await default.wait_closed()
        rec = reconnect.Recorder(ws)
        await rec.wait_for("open")
        server.proc.send_signal(signal.SIGSTOP)  # TCP stays up, nothing answers
        started = time.monotonic()
        first = (await rec.wait_for("close", timeout=5))[0]
        assert time.monotonic() - started < 0.6 + 1, rec.events  # ping_interval + timeout + 1 s
        assert (first["code"], first["wasClean"], first["willReconnect"]) == (1006, False, True)
        server.proc.send_signal(signal.SIGCONT)
        await rec.wait_for("open", 2, timeout=10)
        ws.send("back")
        await rec.wait_for("message")
        ws.close()
        await ws.wait_closed()

    try:
        asyncio.run(_leaving_no_task(main()))
    finally:
        server.proc.send_signal(signal.SIGCONT)
        server.kill()


# -- the script host and the loop's end -------------------------------------------------


def test_cpython_plain_script_stays_alive_while_waiting_to_retry(refused_url: str) -> None:
    script = textwrap.dedent(f"""
        import pyws
        ws = pyws.ReconnectingWebSocket({refused_url!r}, backoff=pyws.Backoff(0.2, 0.3),
                                        max_retries=3)
        ws.onclose = lambda e: print("close", e.code, e.willReconnect, e.retryCount, flush=True)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=30, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["close 1006 True 1", "close 1006 True 2",
                                        "close 1006 True 3", "close 1006 False 3"], done


@pytest.mark.parametrize("waiting", [False, True], ids=["connected", "waiting"])
def test_cpython_plain_script_interrupted(waiting: bool, reconnect_server: Any,
                                          refused_url: str) -> None:
    url = refused_url if waiting else f"ws://127.0.0.1:{reconnect_server.port}/echo"
    script = textwrap.dedent(f"""
        import pyws
        ws = pyws.ReconnectingWebSocket({url!r}, backoff=lambda: iter([30.0]))
        ws.onopen = lambda e: print("open", flush=True)
        ws.onclose = lambda e: print("close", e.code, e.willReconnect, flush=True)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout is not None
    first = proc.stdout.readline().strip()
    assert first == ("close 1006 True" if waiting else "open"), first
    proc.send_signal(signal.SIGINT)
    rest, _ = proc.communicate(timeout=10)
    assert proc.returncode == 130
    assert rest.splitlines() == ["close 1006 False" if waiting else "close 1001 False"], rest


def test_cpython_loop_end_closes_with_1001_and_does_not_reconnect(reconnect_server: Any,
                                                                  no_leaks: None) -> None:
    base = f"ws://127.0.0.1:{reconnect_server.port}"
    closes: list[Any] = []

    async def main() -> Any:
        ws = pyws.ReconnectingWebSocket(f"{base}/echo?group=loop-end", backoff=reconnect.FAST)
        ws.onclose = closes.append
        rec = reconnect.Recorder(ws)
        await rec.wait_for("open")
        return ws  # asyncio.run ends with the socket open

    ws = asyncio.run(main())
    assert ws.readyState == ws.CLOSED
    assert [(c.code, c.willReconnect) for c in closes] == [(1001, False)], closes
    time.sleep(0.3)
    log = asyncio.run(reconnect.control(base, "/log?group=loop-end"))
    assert len(log["paths"]) == 1, log


def test_cpython_loop_end_during_the_wait_ends_the_socket(refused_url: str, no_leaks: None) -> None:
    closes: list[Any] = []

    async def main() -> Any:
        ws = pyws.ReconnectingWebSocket(refused_url, backoff=lambda: iter([30.0]))
        ws.onclose = closes.append
        while not closes:
            await asyncio.sleep(0.01)
        return ws  # asyncio.run ends while the socket waits 30 s to retry

    started = time.monotonic()
    ws = asyncio.run(main())
    assert time.monotonic() - started < 5
    assert ws.readyState == ws.CLOSED
    assert [(c.code, c.willReconnect) for c in closes] == [(1006, True), (1006, False)], closes


def test_cpython_send_and_close_from_another_thread(reconnect_server: Any, no_leaks: None) -> None:
    base = f"ws://127.0.0.1:{reconnect_server.port}"

    async def main() -> None:
        ws = pyws.ReconnectingWebSocket(f"{base}/echo?group=thread", backoff=lambda: iter([30.0]))
        rec = reconnect.Recorder(ws)
        await rec.wait_for("open")
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, lambda: [ws.send(f"t{n}") for n in range(50)])
        await rec.wait_for("message", 50)
        assert [m["data"] for m in rec.of("message")] == [f"t{n}" for n in range(50)]
        await reconnect.control(base, "/drop?group=thread")
        await rec.wait_for("close")  # now waiting 30 s to retry
        started = time.monotonic()
        await loop.run_in_executor(None, lambda: (ws.send("held"), ws.close()))
        final = await asyncio.wait_for(ws.wait_closed(), 5)
        assert time.monotonic() - started < 1 and final.willReconnect is False
        assert ws.bufferedAmount == len("held")

    asyncio.run(_leaving_no_task(main()))


@pytest.mark.parametrize("loop_kind", ["asyncio", "uvloop"])
def test_cpython_recv_queue_is_bounded_by_max_queue(loop_kind: str, reconnect_server: Any,
                                                    no_leaks: None) -> None:
    base = f"ws://127.0.0.1:{reconnect_server.port}"
    n, size = 400, 64 * 1024  # 25 MiB, far beyond the socket buffers

    async def main() -> None:
        ws = pyws.ReconnectingWebSocket(f"{base}/flood?group=flood-{loop_kind}&n={n}&size={size}")
        assert len(await asyncio.wait_for(ws.recv(), 10)) == size  # the queue exists now
        await asyncio.sleep(0.5)  # not reading: pyws stops reading the socket (max_queue 16)
        log = await reconnect.control(base, f"/log?group=flood-{loop_kind}")
        assert log["sent"] < n // 2, log
        for _ in range(n - 1):  # reading again resumes it
            assert len(await asyncio.wait_for(ws.recv(), 10)) == size
        ws.close()
        await ws.wait_closed()

    _run(loop_kind, _leaving_no_task(main()))


def test_cpython_no_file_descriptor_left(reconnect_server: Any, refused_url: str) -> None:
    base = f"ws://127.0.0.1:{reconnect_server.port}"
    baseline = FdBaseline()
    for name in ("close_during_the_backoff_wait_stops_everything",
                 "resumes_after_a_drop_and_sends_held_messages_once_in_order",
                 "max_retries_ends_with_a_final_close"):
        asyncio.run(_leaving_no_task(getattr(reconnect, name)(base, refused_url)))
    baseline.assert_back()


# -- the numbers ---------------------------------------------------------------------------


def test_backoff_full_jitter_within_growing_ceilings() -> None:
    ceilings = [2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 60.0]
    firsts = []
    for _ in range(2000):
        delays = pyws.Backoff()()
        series = [next(delays) for _ in ceilings]
        assert all(0 <= d <= c for d, c in zip(series, ceilings)), series
        firsts.append(series[0])
    # full jitter: spread over the whole range, not clustered at the ceiling
    assert min(firsts) < 0.1 and max(firsts) > 1.9
    assert 0.9 < sum(firsts) / len(firsts) < 1.1
    custom = pyws.Backoff(initial=0.5, maximum=1.0, factor=3.0)()
    assert all(next(custom) <= c for c in (0.5, 1.0, 1.0))
    for bad in ({"initial": -1}, {"initial": 5, "maximum": 1}, {"factor": 0.5}):
        with pytest.raises(ValueError):
            pyws.Backoff(**bad)


def test_retries_count_max_and_min_uptime() -> None:
    retries = Retries(RetryPolicy(backoff=lambda: iter([1.0, 2.0, 3.0]), max_retries=5,
                                  min_uptime=5.0))
    assert [retries.next_delay(None), retries.next_delay(1.0)] == [1.0, 2.0]
    assert retries.count == 2  # a connection up for 1 s continues the series
    assert retries.next_delay(6.0) == 1.0 and retries.count == 1  # up 6 s: a new series
    assert [retries.next_delay(None) for _ in range(3)] == [2.0, 3.0, None]  # delays ran out
    capped = Retries(RetryPolicy(max_retries=2))
    assert [capped.next_delay(None) is None for _ in range(3)] == [False, False, True]
    assert capped.count == 2


def test_bad_reconnection_arguments(refused_url: str) -> None:
    for kwargs, error in (({"max_retries": -1}, ValueError), ({"max_retries": 1.5}, ValueError),
                          ({"min_uptime": -1}, ValueError), ({"backoff": 3}, TypeError),
                          ({"no_such_option": 1}, TypeError)):
        with pytest.raises(error):
            pyws.ReconnectingWebSocket(refused_url, **kwargs)
    with pytest.raises(TypeError):
        pyws.ReconnectingWebSocket(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        asyncio.run(pyws.connect(refused_url, max_retries=1)._open())  # only for async for
