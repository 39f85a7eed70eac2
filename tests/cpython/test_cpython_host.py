"""The CPython event-loop contract: plain scripts, running loops, threads, bufferedAmount.

Scripts run as real subprocesses against the real behaviour server (tests/support/servers.py).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import uuid

import pytest

from support.paths import ROOT, SCRIPTS
from support.servers import reported_close

import pyws
from pyws import WebSocket

pytestmark = pytest.mark.skipif(pyws.backend != "cpython", reason="CPython backend only")

TIMEOUT = 30


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}


def _script(name: str, *args: str, **kwargs: object) -> subprocess.Popen[str]:
    # SIGINT may be ignored in CI's process tree: give the child Python's usual handler.
    return subprocess.Popen(
        [sys.executable, str(SCRIPTS / name), *args], env=_env(), text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL), **kwargs)  # type: ignore[call-overload]


def test_mdn_example_runs_as_a_plain_script(behaviour_server):
    env = {**_env(), "ECHO_URL": f"ws://127.0.0.1:{behaviour_server.port}/echo"}
    done = subprocess.run([sys.executable, str(ROOT / "demo" / "mdn_example.py")], env=env,
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["Message from server Hello Server!", "Closed 1005 True"]
    assert done.stderr == ""


def test_events_wait_until_the_script_ends(behaviour_server):
    proc = _script("events_wait_for_script_end.py", f"ws://127.0.0.1:{behaviour_server.port}/echo")
    out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, err
    assert out.split() == ["script-end", "open", "close", "1005"]


def test_a_socket_opened_by_a_handler_keeps_the_process_alive(behaviour_server):
    proc = _script("chained_sockets.py", f"ws://127.0.0.1:{behaviour_server.port}/echo")
    out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, err
    assert out.splitlines() == ["first closed 1000", "echo second", "second closed 1005"]


def test_ctrl_c_closes_with_1001_and_exits_130(behaviour_server):
    key = uuid.uuid4().hex
    proc = _script("ctrl_c.py", f"ws://127.0.0.1:{behaviour_server.port}/record?id={key}")
    assert proc.stdout is not None
    assert proc.stdout.readline() == "open\n"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=TIMEOUT)
    assert out == "close 1001 True\n", err
    assert proc.returncode == 130
    assert reported_close(behaviour_server, key)["code"] == 1001


def test_sys_exit_in_a_handler_closes_with_1001_and_keeps_the_status(behaviour_server):
    key = uuid.uuid4().hex
    proc = _script("exit_in_handler.py", f"ws://127.0.0.1:{behaviour_server.port}/record?id={key}")
    out, err = proc.communicate(timeout=TIMEOUT)
    assert out == "open\nclose 1001 True\n", err
    assert proc.returncode == 3
    assert reported_close(behaviour_server, key)["code"] == 1001


def test_an_exception_in_the_main_script_closes_sockets_and_exits(behaviour_server):
    proc = _script("main_raises.py", f"ws://127.0.0.1:{behaviour_server.port}/echo")
    out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 1
    assert "ValueError: boom" in err
    assert out == "close 1006 False\n"  # never opened: the handlers did not run before


def test_socket_lives_on_the_running_loop(behaviour_server):
    async def main() -> None:
        ws = WebSocket(f"ws://127.0.0.1:{behaviour_server.port}/echo")
        loops: list[asyncio.AbstractEventLoop] = []
        closed = asyncio.get_running_loop().create_future()
        ws.onopen = lambda event: (loops.append(asyncio.get_running_loop()), ws.close())
        ws.onclose = lambda event: closed.set_result(event.code)
        assert await asyncio.wait_for(closed, 10) == 1005
        assert loops == [asyncio.get_running_loop()]

    asyncio.run(main())


def test_send_and_close_from_another_thread(behaviour_server):
    async def main() -> None:
        loop = asyncio.get_running_loop()
        ws = WebSocket(f"ws://127.0.0.1:{behaviour_server.port}/echo")
        opened, echoed, closed = (loop.create_future() for _ in range(3))
        handler_threads: set[int] = set()
        ws.onopen = lambda event: opened.set_result(None)

        def on_message(event: pyws.MessageEvent) -> None:
            handler_threads.add(threading.get_ident())
            echoed.set_result(event.data)

        ws.onmessage = on_message
        ws.onclose = lambda event: closed.set_result((event.code, event.reason))
        await asyncio.wait_for(opened, 10)
        worker = threading.Thread(target=lambda: ws.send("from a thread"))
        worker.start()
        worker.join()
        assert await asyncio.wait_for(echoed, 10) == "from a thread"
        assert handler_threads == {threading.get_ident()}  # handlers run on the loop
        worker = threading.Thread(target=lambda: ws.close(4000, "thread"))
        worker.start()
        worker.join()
        assert await asyncio.wait_for(closed, 10) == (4000, "thread")

    asyncio.run(main())


def test_buffered_amount_counts_this_task_and_falls_as_data_is_written(behaviour_server):
    base, key = f"ws://127.0.0.1:{behaviour_server.port}", uuid.uuid4().hex

    async def main() -> None:
        loop = asyncio.get_running_loop()
        # The server stops reading; no compression, so 64 MiB stay 64 MiB on the wire.
        ws = WebSocket(f"{base}/stall?id={key}", compression=None)
        ws.binaryType = "arraybuffer"
        opened, all_echoed, closed = loop.create_future(), loop.create_future(), loop.create_future()
        sizes: list[int] = []
        ws.onopen = lambda event: opened.set_result(None)

        def on_message(event: pyws.MessageEvent) -> None:
            sizes.append(len(event.data))
            if len(sizes) == 3:
                all_echoed.set_result(None)

        ws.onmessage = on_message
        ws.onclose = lambda event: closed.set_result(event.code)
        await asyncio.wait_for(opened, 10)
        assert ws.bufferedAmount == 0
        big = b"\x01" * (64 * 2**20)
        ws.send("é" * 10)                # 20 bytes of UTF-8
        ws.send(b"\x00" * 1000)
        ws.send(big)
        total = 20 + 1000 + len(big)
        # Nothing was handed to the network yet: this task has not yielded.
        assert ws.bufferedAmount == total
        await asyncio.sleep(0)           # a loop turn: the frames go to the transport
        stuck = ws.bufferedAmount        # the kernel cannot take 64 MiB nobody reads
        assert 0 < stuck <= total, stuck
        WebSocket(f"{base}/resume?id={key}")
        await asyncio.wait_for(all_echoed, 60)
        assert sizes == [10, 1000, len(big)]
        assert ws.bufferedAmount == 0    # everything came back, so everything went out
        ws.close()
        assert await asyncio.wait_for(closed, 20) == 1005

    asyncio.run(main())


def test_sockets_left_open_when_asyncio_run_ends_are_closed_with_1001(behaviour_server):
    key = uuid.uuid4().hex
    events: list[tuple[str, int]] = []

    async def main() -> None:
        ws = WebSocket(f"ws://127.0.0.1:{behaviour_server.port}/record?id={key}")
        opened = asyncio.get_running_loop().create_future()
        ws.onopen = lambda event: opened.set_result(None)
        ws.onclose = lambda event: events.append(("close", event.code))
        await asyncio.wait_for(opened, 10)
        # main() returns with the socket open: asyncio.run's shutdown closes it.

    asyncio.run(main())
    assert events == [("close", 1001)]
    assert reported_close(behaviour_server, key)["code"] == 1001


def test_the_script_host_follows_the_event_loop_policy(behaviour_server):
    """A script that installs uvloop's policy gets its sockets on uvloop (pyws's own loops
    come from asyncio.new_event_loop(), which follows the policy)."""
    pytest.importorskip("uvloop", reason="uvloop is not installed (not on Windows)")
    code = (
        "import asyncio, uvloop, pyws\n"
        "asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())\n"
        f"ws = pyws.WebSocket('ws://127.0.0.1:{behaviour_server.port}/echo')\n"
        "ws.onopen = lambda e: (print(type(asyncio.get_running_loop()).__module__), ws.send('hi'))\n"
        "ws.onmessage = lambda e: (print(e.data), ws.close())\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=_env(), capture_output=True,
                          text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["uvloop", "hi"], done.stdout
