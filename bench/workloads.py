"""The workloads, runtime-neutral: imported by the CPython clients and loaded into Pyodide.

Nothing here imports more than asyncio, gc, os, sys and time, so the same file runs under
CPython (bench/cpython_clients.py, bench/protocol_candidates.py) and under Pyodide in Node
and in Chromium (bench/pyodide_bench.mjs writes it into Pyodide's file system).

A workloads object has four coroutines, each opening its own connection(s):

  w1(n)          sequential ping-pong of a 32-byte text  -> (seconds, [latency ns] * n)
  w2(n)          n pipelined 32-byte texts, count echoes -> seconds
  w3(n, payload) binary echo, W3_INFLIGHT in flight     -> seconds
  w4(n)          n sequential connect + open + close     -> seconds

The clock starts once the connection is open and stops at the last echo (W4: around all n).
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import sys
import time

TEXT_MSG = "x" * 32
BIN_SIZE = 1 << 20
W3_INFLIGHT = 8
OP_TIMEOUT = 60.0          # seconds, per workload
WARM_BIN = 1 << 16         # W3 warm-up payload (code paths, not bandwidth)
WARMUP = {"w1": 200, "w2": 2000, "w3": 4, "w4": 10}

IS_PYODIDE = sys.platform == "emscripten"


def lat_stats(lat_ns):
    """(p50, p99) in microseconds."""
    lat = sorted(lat_ns)
    return lat[len(lat) // 2] / 1000, lat[min(len(lat) - 1, int(len(lat) * 0.99))] / 1000


class PywsWorkloads:
    """pyws's own ``WebSocket``, written as a user of the browser API would: handlers only,
    no await per message, ``binaryType = "arraybuffer"`` and (CPython) ``compression=None``.
    Timing starts in ``onopen`` and stops at the last message; W4 times WebSocket() ->
    onopen: close(1000) -> onclose: next WebSocket(). Runs unchanged under Pyodide, where
    the options cannot be passed (the host's WebSocket negotiates compression itself)."""

    def __init__(self, url):
        from pyws import WebSocket
        self.WebSocket = WebSocket
        self.url = url
        # Keepalive on, as pyws.connect() has it (the receive queue bound is on by
        # default): the bench counts what long-lived connections cost.
        # PYWS_BENCH_OPTIONS (JSON) overrides, e.g. '{"ping_interval": null}' for an A/B.
        self.options = {} if IS_PYODIDE else {"compression": None, "ping_interval": 20.0,
                                               "ping_timeout": 20.0}
        if not IS_PYODIDE and os.environ.get("PYWS_BENCH_OPTIONS"):
            self.options.update(json.loads(os.environ["PYWS_BENCH_OPTIONS"]))

    def _new(self, fut):
        """A WebSocket whose error/unclean close fails ``fut`` (unless it is done)."""
        ws = self.WebSocket(self.url, **self.options)
        ws.binaryType = "arraybuffer"

        def onclose(ev):
            if not fut.done():
                fut.set_exception(ConnectionError(f"closed early: {ev.code} {ev.reason!r}"))

        ws.onclose = onclose
        return ws

    async def _close(self, ws):
        closed = asyncio.get_running_loop().create_future()
        ws.onclose = lambda ev: closed.done() or closed.set_result(ev.wasClean)
        ws.close(1000)  # see w4
        await asyncio.wait_for(closed, 10)

    async def w1(self, n):
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        pc = time.perf_counter_ns
        lat = [0] * n
        st = {"i": 0, "t0": 0, "t": 0.0, "dt": 0.0}
        msg = TEXT_MSG
        ws = self._new(fut)

        def onopen(ev):
            st["t"] = time.perf_counter()
            st["t0"] = pc()
            ws.send(msg)

        def onmessage(ev):
            t1 = pc()
            i = st["i"]
            lat[i] = t1 - st["t0"]
            i += 1
            st["i"] = i
            if ev.data != msg:
                fut.done() or fut.set_exception(AssertionError("bad echo"))
            elif i < n:
                st["t0"] = pc()
                ws.send(msg)
            elif not fut.done():
                st["dt"] = time.perf_counter() - st["t"]
                fut.set_result(None)

        ws.onopen = onopen
        ws.onmessage = onmessage
        await asyncio.wait_for(fut, OP_TIMEOUT)
        await self._close(ws)
        return st["dt"], lat

    async def w2(self, n):
        fut = asyncio.get_running_loop().create_future()
        st = {"recv": 0, "t": 0.0, "dt": 0.0}
        msg = TEXT_MSG
        ws = self._new(fut)

        def onopen(ev):
            st["t"] = time.perf_counter()
            send = ws.send
            for _ in range(n):  # all n from the open handler
                send(msg)

        def onmessage(ev):
            st["recv"] += 1
            if st["recv"] >= n and not fut.done():
                st["dt"] = time.perf_counter() - st["t"]
                fut.set_result(None)

        ws.onopen = onopen
        ws.onmessage = onmessage
        await asyncio.wait_for(fut, OP_TIMEOUT)
        await self._close(ws)
        return st["dt"]

    async def w3(self, n, payload):
        fut = asyncio.get_running_loop().create_future()
        st = {"sent": 0, "recv": 0, "t": 0.0, "dt": 0.0}
        size = len(payload)
        ws = self._new(fut)

        def onopen(ev):
            st["t"] = time.perf_counter()
            for _ in range(min(W3_INFLIGHT, n)):
                st["sent"] += 1
                ws.send(payload)

        def onmessage(ev):
            st["recv"] += 1
            if len(ev.data) != size:
                fut.done() or fut.set_exception(AssertionError("bad echo size"))
            elif st["sent"] < n:
                st["sent"] += 1
                ws.send(payload)
            if st["recv"] >= n and not fut.done():
                st["dt"] = time.perf_counter() - st["t"]
                fut.set_result(None)

        ws.onopen = onopen
        ws.onmessage = onmessage
        await asyncio.wait_for(fut, OP_TIMEOUT)
        await self._close(ws)
        return st["dt"]

    async def w4(self, n):
        fut = asyncio.get_running_loop().create_future()
        st = {"done": 0}
        WebSocket, url, options = self.WebSocket, self.url, self.options

        def start():
            ws = WebSocket(url, **options)
            ws.binaryType = "arraybuffer"
            # close(1000) like the other clients send: a bare close() sends an empty close
            # frame, which the picows echo server answers with code 0 (invalid: pyws fails
            # the connection with 1006).
            ws.onopen = lambda ev: ws.close(1000)
            ws.onclose = onclose

        def onclose(ev):
            if fut.done():
                return
            if not ev.wasClean:
                fut.set_exception(ConnectionError(f"unclean close {ev.code}"))
                return
            st["done"] += 1
            if st["done"] < n:
                start()
            else:
                fut.set_result(None)

        t = time.perf_counter()
        start()
        await asyncio.wait_for(fut, OP_TIMEOUT)
        return time.perf_counter() - t


async def read_cpu_clock(clock):
    """``clock()`` as {name: seconds}: ``clock`` returns seconds, a mapping of them, or
    (under Pyodide) a JavaScript number, object or Promise of either."""
    value = clock()
    if hasattr(value, "__await__"):   # Chromium: a fetch to run.py, which reads /proc
        value = await value
    if hasattr(value, "to_py"):
        value = value.to_py()
    return dict(value) if isinstance(value, dict) else {"cpu": float(value)}


async def run_workloads(wl, counts, payload=None, warmup=True, cpu_clock=None):
    """Run the workloads named in ``counts`` (w1..w4 -> n) on ``wl``, after a warm-up
    (imports, code paths, allocator; not measured). Returns rates, W1 latencies and the
    client's CPU time per operation, read from ``cpu_clock`` (see read_cpu_clock; default
    this process's time.process_time: the CPython client; under Pyodide the host passes
    its own) before and after each workload: ``wN_cpu_us`` (W3: ``w3_cpu_ms`` per MiB),
    plus ``wN_<name>_us`` for any other clock reading it returns."""
    if payload is None:
        payload = os.urandom(BIN_SIZE)
    if cpu_clock is None:
        cpu_clock = time.process_time
    if warmup:
        for key, n in WARMUP.items():
            if key not in counts:
                continue
            if key == "w3":
                await asyncio.wait_for(wl.w3(n, payload[:WARM_BIN]), OP_TIMEOUT)
            else:
                await asyncio.wait_for(getattr(wl, key)(n), OP_TIMEOUT)
    res = {}
    for key in ("w1", "w2", "w3", "w4"):
        n = counts.get(key)
        if not n:
            continue
        gc.collect()
        c0 = await read_cpu_clock(cpu_clock)
        if key == "w1":
            dt, lat = await asyncio.wait_for(wl.w1(n), OP_TIMEOUT)
            res["w1_p50"], res["w1_p99"] = lat_stats(lat)
        elif key == "w3":
            dt = await asyncio.wait_for(wl.w3(n, payload), OP_TIMEOUT)
        else:
            dt = await asyncio.wait_for(getattr(wl, key)(n), OP_TIMEOUT)
        c1 = await read_cpu_clock(cpu_clock)
        if key == "w3":
            res["w3"] = n * len(payload) / dt / 1e6          # MB/s, 10^6 bytes one way
        else:
            res[key] = n / dt
        for name, t1 in c1.items():
            if name in c0:
                # per MiB echoed (W3, ms) or per operation (us)
                scaled = (t1 - c0[name]) / n * (1e3 if key == "w3" else 1e6)
                res[f"{key}_{name}_{'ms' if key == 'w3' else 'us'}"] = scaled
        res[key + "_n"] = n
    if hasattr(wl, "aclose"):
        await wl.aclose()
    return res
