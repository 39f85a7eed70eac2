"""Connections left running: keepalive, receive backpressure, drain, max_buffered (CPython).

Servers run in processes of their own (tests/support/scripts/long_lived_server.py) so that they
can be paused with SIGSTOP; memory is measured in a client process of its own (its peak
RSS), so the test process's own allocations do not count.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator

import pytest

import pyws
from support.paths import SCRIPTS

SERVER = SCRIPTS / "long_lived_server.py"


@contextlib.contextmanager
def server_process() -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen([sys.executable, str(SERVER)], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        process.port = int(process.stdout.readline())  # type: ignore[attr-defined]
        yield process
    finally:
        os.kill(process.pid, signal.SIGCONT)
        process.kill()
        process.wait(10)
        process.stdout.close()  # type: ignore[union-attr]


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    if request.param == "uvloop":
        uvloop = pytest.importorskip("uvloop", reason="uvloop is not installed (not on Windows)")
        return uvloop.run
    return asyncio.run


# -- keepalive ----------------------------------------------------------------------------


def test_keepalive_fails_a_paused_server_within_interval_plus_timeout(run, caplog) -> None:  # type: ignore[no-untyped-def]
    interval, timeout = 0.5, 0.5
    with server_process() as server, caplog.at_level(logging.WARNING, "pyws"):
        async def main() -> tuple[float, list[str], pyws.WebSocketError]:
            ws = await pyws.connect(f"ws://127.0.0.1:{server.port}/echo",
                                    ping_interval=interval, ping_timeout=timeout)
            events: list[str] = []
            ws.onerror = lambda event: events.append("error")
            ws.onclose = lambda event: events.append(f"close {event.code} {event.wasClean}")
            ws.send("hi")
            assert await ws.recv() == "hi"
            os.kill(server.pid, signal.SIGSTOP)
            start = time.monotonic()
            with pytest.raises(pyws.WebSocketError) as info:
                await ws.recv()
            return time.monotonic() - start, events, info.value

        elapsed, events, error = run(main())
    assert elapsed < interval + timeout + 1.0, elapsed
    assert events == ["error", "close 1006 False"]
    assert error.closeCode == 1006
    assert any("no pong within 0.5 s" in r.getMessage() for r in caplog.records), caplog.text


def test_websocket_constructor_sends_no_pings_as_a_browser(run) -> None:  # type: ignore[no-untyped-def]
    with server_process() as server:
        async def main() -> str:
            ws = pyws.WebSocket(f"ws://127.0.0.1:{server.port}/echo")
            opened = asyncio.Event()
            ws.onopen = lambda event: opened.set()
            await opened.wait()
            os.kill(server.pid, signal.SIGSTOP)
            await asyncio.sleep(1.5)
            state = ws.readyState.name
            os.kill(server.pid, signal.SIGCONT)
            ws.close()
            await ws.wait_closed()
            return state

        assert run(main()) == "OPEN"


def test_connect_pings_by_default_and_none_turns_it_off() -> None:
    with server_process() as server:
        async def main() -> tuple[object, object]:
            url = f"ws://127.0.0.1:{server.port}/echo"
            async with pyws.connect(url) as on, pyws.connect(url, ping_interval=None) as off:
                return on._conn._keepalive._interval, off._conn._keepalive._interval  # type: ignore[attr-defined]

        assert asyncio.run(main()) == (20.0, None)


@pytest.mark.parametrize(("options", "error"), [
    ({"ping_interval": 0}, ValueError), ({"ping_interval": "20"}, TypeError),
    ({"ping_timeout": -1}, ValueError), ({"max_queue": 0}, ValueError),
    ({"max_queue": 1.5}, TypeError), ({"max_buffered": -1}, ValueError),
    ({"open_timeout": float("inf")}, ValueError),
])
def test_bad_long_lived_options_raise_from_the_constructor(options: dict[str, object],
                                                           error: type[Exception]) -> None:
    with pytest.raises(error, match=next(iter(options))):
        pyws.WebSocket("ws://127.0.0.1:9/", **options)


# -- receive backpressure ---------------------------------------------------------------------

CLIENT = textwrap.dedent("""
    import asyncio, sys
    import pyws

    async def main(url, n, pause, max_queue):
        ws = await pyws.connect(url, max_queue=None if max_queue == "None" else int(max_queue))
        ws.binaryType = "arraybuffer"
        for _ in range(n):
            await ws.recv()
            await asyncio.sleep(pause)
        # VmHWM: this process's own peak (ru_maxrss keeps the forking parent's, on Linux).
        with open("/proc/self/status") as status:
            peak = next(line for line in status if line.startswith("VmHWM:"))
        print(int(peak.split()[1]) // 1024)
        ws.close()

    asyncio.run(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]))
""")


def peak_rss_mib(url: str, messages: int, pause: float, max_queue: str = "16") -> int:
    done = subprocess.run([sys.executable, "-c", CLIENT, url, str(messages), str(pause), max_queue],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return int(done.stdout)


@pytest.mark.slow  # a client process per measurement
def test_a_flood_read_slowly_holds_memory_bounded() -> None:
    """200 MiB of 64 KiB messages, read at 50 messages/s: reading stops at max_queue."""
    with server_process() as server:
        url = f"ws://127.0.0.1:{server.port}/flood?size=65536&count=3200"
        assert peak_rss_mib(url, 100, 0.02) < 60


@pytest.mark.slow  # a client process per measurement
def test_a_compressed_flood_is_bounded_by_its_inflated_size() -> None:
    """24 messages of 16 MiB of zeros: a few hundred KiB on the wire."""
    with server_process() as server:
        url = f"ws://127.0.0.1:{server.port}/flood?size={16 * 2**20}&count=24"
        assert peak_rss_mib(url, 2, 0.5) < 150


@pytest.mark.slow  # a client process per measurement
def test_without_max_queue_the_flood_is_read_in_full() -> None:
    """The measurement above can fail: with no bound, the flood fills memory."""
    with server_process() as server:
        url = f"ws://127.0.0.1:{server.port}/flood?size=65536&count=1600"
        assert peak_rss_mib(url, 50, 0.02, max_queue="None") > 90


def test_async_listeners_in_flight_are_bounded_by_max_queue() -> None:
    async def main(port: int) -> tuple[int, int]:
        ws = pyws.WebSocket(f"ws://127.0.0.1:{port}/flood?size=65536&count=400", max_queue=8)
        gate = asyncio.Event()
        active = peak = done = 0

        async def on_message(event: object) -> None:
            nonlocal active, peak, done
            active += 1
            peak = max(peak, active)
            await gate.wait()
            active -= 1
            done += 1

        ws.onmessage = on_message
        await asyncio.sleep(1.0)
        stalled_peak = peak
        gate.set()
        await ws.wait_closed()
        await asyncio.sleep(0.1)
        return stalled_peak, done

    with server_process() as server:
        stalled_peak, done = asyncio.run(main(server.port))
    # Reading stops at 8; the messages of the read that crossed it (64 KiB each) still run.
    assert stalled_peak < 24, stalled_peak
    assert done == 400


# -- the send side ------------------------------------------------------------------------------


def test_drain_waits_for_the_transport_and_wakes_when_it_drains() -> None:
    with server_process() as server:
        async def main() -> tuple[int, int, float]:
            ws = await pyws.connect(f"ws://127.0.0.1:{server.port}/echo", ping_interval=None,
                                    compression=None)  # zeros would deflate to nothing
            os.kill(server.pid, signal.SIGSTOP)  # nobody reads: the kernel's buffers fill
            ws.send(bytes(32 * 2**20))
            await asyncio.sleep(0.2)
            before = ws.bufferedAmount
            loop = asyncio.get_running_loop()
            loop.call_later(0.3, os.kill, server.pid, signal.SIGCONT)
            start = time.monotonic()
            await ws.drain(threshold=2**20)
            waited = time.monotonic() - start
            after = ws.bufferedAmount
            ws.close()
            await ws.wait_closed()
            return before, after, waited

        before, after, waited = asyncio.run(main())
    assert before > 2**20 and after <= 2**20, (before, after)
    assert waited >= 0.25, waited  # it waited for the server to read


def test_max_buffered_fails_the_connection_when_full(caplog) -> None:  # type: ignore[no-untyped-def]
    with server_process() as server:
        async def main() -> tuple[list[str], int]:
            ws = await pyws.connect(f"ws://127.0.0.1:{server.port}/echo", max_buffered=2**20,
                                    compression=None)
            events: list[str] = []
            ws.onerror = lambda event: events.append("error")
            os.kill(server.pid, signal.SIGSTOP)  # nobody reads: the buffer fills
            for _ in range(2000):
                if ws.readyState != ws.OPEN:
                    break
                ws.send(bytes(64 * 1024))
                await asyncio.sleep(0.001)
            closed = await ws.wait_closed()
            return events, closed.code

        with caplog.at_level(logging.WARNING, "pyws"):
            events, code = asyncio.run(main())
    assert events == ["error"] and code == 1006
    assert "max_buffered" in caplog.text


# -- fork safety --------------------------------------------------------------------------------


@pytest.mark.slow  # a script process and a 2,000-message echo per case
@pytest.mark.parametrize("mode", ["fork", "multiprocessing"])
def test_a_forked_child_leaves_the_parents_socket_alone(mode: str) -> None:
    script = SCRIPTS / "fork_with_open_socket.py"
    with server_process() as server:
        done = subprocess.run([sys.executable, str(script), f"ws://127.0.0.1:{server.port}/echo", mode],
                              capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1] == "parent 1000 True", done.stdout
    child, after = lines[0].rsplit(" after ", 1)
    assert child in ("child status 0", "child exit code 0"), done.stdout
    assert float(after) < 3.0, done.stdout


# -- lifecycle ------------------------------------------------------------------------------------

SCRIPT_HOST_SOCKET_AWAITED_ELSEWHERE = """
import asyncio, sys
import pyws

ws = pyws.WebSocket(sys.argv[1])  # no running loop: the script host's

async def main():
    try:
        await asyncio.wait_for(ws.recv(), 5)
    except RuntimeError as exc:
        print("RuntimeError:", exc)
    except asyncio.TimeoutError:
        print("hung")
    ws.close()

asyncio.run(main())
"""


def test_a_socket_awaited_from_a_loop_it_does_not_live_on_says_so(behaviour_server) -> None:  # type: ignore[no-untyped-def]
    done = subprocess.run([sys.executable, "-c", SCRIPT_HOST_SOCKET_AWAITED_ELSEWHERE,
                           f"ws://127.0.0.1:{behaviour_server.port}/echo"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("RuntimeError: this WebSocket lives on the script host's loop"), done.stdout
    assert "asyncio.run()" in done.stdout


# -- a server that closes TCP right after its close frame (hypercorn) ---------------------------


@pytest.mark.parametrize("loop_kind", ["asyncio", "uvloop"])
def test_a_server_closing_tcp_right_after_its_close_frame_closes_cleanly(loop_kind: str) -> None:
    """The server's FIN arrives before our close frame meets its reset: the closing
    handshake completed and TCP ended normally, so wasClean is True (Chromium reports it
    so too, when the FIN is read first; the outcome there depends on that race, so this is
    not a parity scenario)."""
    from support.scripted_server import running_scripted_server

    runner = asyncio.run
    if loop_kind == "uvloop":
        runner = pytest.importorskip("uvloop", reason="uvloop is not installed").run
    with running_scripted_server() as server:
        server.register("hypercorn", {"handshake": {}, "steps": [["close", 1000, "bye"], ["end"]]})

        async def main() -> tuple[int, str, bool]:
            ws = pyws.WebSocket(server.url("hypercorn"))
            event = await ws.wait_closed()
            return event.code, event.reason, event.wasClean

        assert runner(main()) == (1000, "bye", True)
