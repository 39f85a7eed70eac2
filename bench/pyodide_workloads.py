"""The Python clients run inside Pyodide (in Node and in Chromium) by bench/pyodide_bench.mjs.

- ``pyws``: pyws's WebSocket, the same code as on CPython (bench/workloads.py).
- ``raw``: what a user writes by hand on Pyodide: ``js.WebSocket.new(url)``, handlers made
  with ``create_proxy`` (and destroyed when the socket is done), ``binaryType =
  "arraybuffer"``, received binary data turned into bytes with ``.to_bytes()``, bytes sent
  as ``to_js(payload)`` (a Uint8Array: a bytes object would go out as the text "b'...'").
- ``pyscript``: PyScript's ``pyscript.WebSocket`` class (npm @pyscript/core), whose Python
  source pyodide_bench.mjs installs as the ``pyscript`` package with a stub ``__init__``
  (the real one imports PyScript's page runtime, polyscript). Handlers are plain
  assignments, as its documentation shows.

Each has the W1-W4 coroutines of bench/workloads.py; ``run(impl, url, counts_json)`` runs
them and returns JSON, with the client's CPU per operation read from the clock the host
passes (Node: ``process.cpuUsage()``; Chromium: run.py's reading of the browser's
processes).
"""

from __future__ import annotations

import asyncio
import json
import time

from workloads import OP_TIMEOUT, TEXT_MSG, W3_INFLIGHT, PywsWorkloads, run_workloads


class _HandlerWorkloads:
    """W1-W4 written once for the two "socket with onX handlers" styles below; a subclass
    says how to create a socket, set a handler, read ``event.data``, send, close."""

    def __init__(self, url):
        self.url = url

    # subclass API: new() -> sock; on(sock, name, fn); data(ev); send_text/send_bytes;
    # close(sock); done(sock) (release what new()/on() made)

    def _new(self, fut):
        sock = self.new()

        def onclose(ev):
            if not fut.done():
                fut.set_exception(ConnectionError(f"closed early: {ev.code}"))

        self.on(sock, "onclose", onclose)
        return sock

    async def _close(self, sock):
        closed = asyncio.get_running_loop().create_future()
        self.on(sock, "onclose", lambda ev: closed.done() or closed.set_result(None))
        self.close(sock)
        await asyncio.wait_for(closed, 10)
        self.done(sock)

    async def w1(self, n):
        fut = asyncio.get_running_loop().create_future()
        pc = time.perf_counter_ns
        lat = [0] * n
        st = {"i": 0, "t0": 0, "t": 0.0, "dt": 0.0}
        msg = TEXT_MSG
        sock = self._new(fut)
        send, data = self.send_text, self.data

        def onopen(ev):
            st["t"] = time.perf_counter()
            st["t0"] = pc()
            send(sock, msg)

        def onmessage(ev):
            t1 = pc()
            i = st["i"]
            lat[i] = t1 - st["t0"]
            i += 1
            st["i"] = i
            if data(ev) != msg:
                fut.done() or fut.set_exception(AssertionError("bad echo"))
            elif i < n:
                st["t0"] = pc()
                send(sock, msg)
            elif not fut.done():
                st["dt"] = time.perf_counter() - st["t"]
                fut.set_result(None)

        self.on(sock, "onopen", onopen)
        self.on(sock, "onmessage", onmessage)
        await asyncio.wait_for(fut, OP_TIMEOUT)
        await self._close(sock)
        return st["dt"], lat

    async def w2(self, n):
        fut = asyncio.get_running_loop().create_future()
        st = {"recv": 0, "t": 0.0, "dt": 0.0}
        msg = TEXT_MSG
        sock = self._new(fut)
        send, data = self.send_text, self.data

        def onopen(ev):
            st["t"] = time.perf_counter()
            for _ in range(n):
                send(sock, msg)

        def onmessage(ev):
            data(ev)
            st["recv"] += 1
            if st["recv"] >= n and not fut.done():
                st["dt"] = time.perf_counter() - st["t"]
                fut.set_result(None)

        self.on(sock, "onopen", onopen)
        self.on(sock, "onmessage", onmessage)
        await asyncio.wait_for(fut, OP_TIMEOUT)
        await self._close(sock)
        return st["dt"]

    async def w3(self, n, payload):
        fut = asyncio.get_running_loop().create_future()
        st = {"sent": 0, "recv": 0, "t": 0.0, "dt": 0.0}
        size = len(payload)
        sock = self._new(fut)
        send, data = self.send_bytes, self.data

        def onopen(ev):
            st["t"] = time.perf_counter()
            for _ in range(min(W3_INFLIGHT, n)):
                st["sent"] += 1
                send(sock, payload)

        def onmessage(ev):
            st["recv"] += 1
            if len(data(ev)) != size:
                fut.done() or fut.set_exception(AssertionError("bad echo size"))
            elif st["sent"] < n:
                st["sent"] += 1
                send(sock, payload)
            if st["recv"] >= n and not fut.done():
                st["dt"] = time.perf_counter() - st["t"]
                fut.set_result(None)

        self.on(sock, "onopen", onopen)
        self.on(sock, "onmessage", onmessage)
        await asyncio.wait_for(fut, OP_TIMEOUT)
        await self._close(sock)
        return st["dt"]

    async def w4(self, n):
        fut = asyncio.get_running_loop().create_future()
        st = {"done": 0}

        def start():
            sock = self.new()
            self.on(sock, "onopen", lambda ev: self.close(sock))
            self.on(sock, "onclose", lambda ev: onclose(sock, ev))

        def onclose(sock, ev):
            self.done(sock)
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


class RawJsWorkloads(_HandlerWorkloads):
    """js.WebSocket + create_proxy, by hand."""

    def __init__(self, url):
        super().__init__(url)
        from js import WebSocket
        from pyodide.ffi import create_proxy, to_js
        self.JSWebSocket, self.create_proxy, self.to_js = WebSocket, create_proxy, to_js
        self.proxies = {}   # id(sock) -> {handler name: proxy}

    def new(self):
        sock = self.JSWebSocket.new(self.url)
        sock.binaryType = "arraybuffer"
        self.proxies[id(sock)] = {}
        return sock

    def on(self, sock, name, fn):
        mine = self.proxies[id(sock)]
        proxy = self.create_proxy(fn)
        setattr(sock, name, proxy)
        old = mine.pop(name, None)
        if old is not None:
            # Never destroy the proxy that is running (W4's onopen -> close is fine: it
            # replaces nothing); a handler replaced from outside a callback can go now.
            old.destroy()
        mine[name] = proxy

    @staticmethod
    def data(ev):
        d = ev.data
        return d if isinstance(d, str) else d.to_bytes()

    @staticmethod
    def send_text(sock, s):
        sock.send(s)

    def send_bytes(self, sock, b):
        sock.send(self.to_js(b))

    @staticmethod
    def close(sock):
        sock.close(1000)

    def done(self, sock):
        mine = self.proxies.pop(id(sock), {})
        if mine:
            # destroyed once the current callback (the close handler) has returned
            asyncio.get_running_loop().call_soon(lambda: [p.destroy() for p in mine.values()])


class PyScriptWorkloads(_HandlerWorkloads):
    """PyScript's ``pyscript.WebSocket`` (its own code; it makes a new proxy per handler
    assignment and never destroys them)."""

    def __init__(self, url):
        super().__init__(url)
        from pyscript.websocket import WebSocket
        self.PSWebSocket = WebSocket

    def new(self):
        return self.PSWebSocket(self.url)

    @staticmethod
    def on(sock, name, fn):
        setattr(sock, name, fn)

    @staticmethod
    def data(ev):
        return ev.data  # str, or a memoryview of the ArrayBuffer (PyScript's choice)

    @staticmethod
    def send_text(sock, s):
        sock.send(s)

    @staticmethod
    def send_bytes(sock, b):
        sock.send(b)

    @staticmethod
    def close(sock):
        sock.close(1000)

    @staticmethod
    def done(sock):
        pass


IMPLS = {"pyws": PywsWorkloads, "raw": RawJsWorkloads, "pyscript": PyScriptWorkloads}


def import_time_ms(module):
    """Time of the first import of ``module`` in this runtime (W6), in ms."""
    import importlib
    import sys
    if module in sys.modules:
        return None
    t = time.perf_counter()
    importlib.import_module(module)
    return (time.perf_counter() - t) * 1e3


async def run(impl, url, counts_json, cpu_clock=None):
    """W1-W4 of ``impl``; ``cpu_clock``: the host's client-CPU clock (pyodide_bench.mjs)."""
    counts = json.loads(counts_json)
    res = await run_workloads(IMPLS[impl](url), counts, cpu_clock=cpu_clock)
    return json.dumps(res)


async def profile(impl, url, which, n):
    """cProfile one workload of one implementation in this runtime; the pstats text."""
    import cProfile
    import io
    import os
    import pstats

    from workloads import BIN_SIZE, WARM_BIN
    wl = IMPLS[impl](url)
    payload = os.urandom(BIN_SIZE)
    await run_workloads(wl, {which: 10}, payload[:WARM_BIN])  # warm-up
    prof = cProfile.Profile()
    prof.enable()
    if which == "w3":
        await wl.w3(n, payload)
    else:
        await getattr(wl, which)(n)
    prof.disable()
    out = io.StringIO()
    st = pstats.Stats(prof, stream=out).strip_dirs()
    st.sort_stats("tottime").print_stats(25)
    st.sort_stats("cumulative").print_stats(25)
    return f"=== cProfile {impl} {which} n={n} (Pyodide) ===\n" + out.getvalue()
