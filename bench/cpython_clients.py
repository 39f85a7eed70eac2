"""The CPython clients of bench/run.py, one subprocess per (client, loop, repetition).

  python bench/cpython_clients.py --kind KIND --loop default|uvloop --url URL
                                  --counts '{"w1": n, ...}'       W1-W4, prints RESULT {json}
                                  --w5 N                          W5 instead
                                  --profile w1|w2|w3|w4|w5        cProfile one workload instead

KIND: pyws, websockets (the baseline), aiohttp, websocket-client, picows, raw-tcp.
Each client uses its library's natural fast path: pyws its browser API (handlers only,
bench/workloads.py), websockets and aiohttp ``await send`` / ``await recv`` with a receiver
task where messages are pipelined, websocket-client blocking calls with a receiver thread
where messages are pipelined, picows and raw-tcp a callback listener. No permessage-deflate.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
import threading
import time

from _common import (BIN_SIZE, OP_TIMEOUT, TEXT_MSG, W3_INFLIGHT, CallbackWorkloads,
                     WsAsyncioWorkloads, make_picows, make_raw_tcp, pin, protocol_opener,
                     raise_nofile, run_loop)
from workloads import PywsWorkloads, run_workloads

KINDS = ("pyws", "websockets", "aiohttp", "websocket-client", "picows", "raw-tcp")
W5_BATCH = 100        # connections opening at once in W5
W5_WARM = 50          # connections opened (and kept) before the baseline RSS is read


class AiohttpWorkloads:
    """aiohttp's client: one ClientSession, ``ws_connect``, await send_str / receive."""

    def __init__(self, url):
        import aiohttp
        self.aiohttp = aiohttp
        self.url = url
        self._session = None

    def session(self):
        if self._session is None:
            self._session = self.aiohttp.ClientSession(
                connector=self.aiohttp.TCPConnector(limit=0))
        return self._session

    def connect(self):
        return self.session().ws_connect(self.url, max_msg_size=16 * BIN_SIZE)

    async def w1(self, n):
        pc = time.perf_counter_ns
        lat = [0] * n
        msg = TEXT_MSG
        async with self.connect() as ws:
            t = time.perf_counter()
            for i in range(n):
                t0 = pc()
                await ws.send_str(msg)
                m = await ws.receive_str()
                lat[i] = pc() - t0
                if m != msg:
                    raise AssertionError("bad echo")
            dt = time.perf_counter() - t
        return dt, lat

    async def w2(self, n):
        msg = TEXT_MSG
        async with self.connect() as ws:
            async def receiver():
                for _ in range(n):
                    await ws.receive_str()

            t = time.perf_counter()
            rt = asyncio.ensure_future(receiver())
            for _ in range(n):
                await ws.send_str(msg)
            await asyncio.wait_for(rt, OP_TIMEOUT)
            dt = time.perf_counter() - t
        return dt

    async def w3(self, n, payload):
        size = len(payload)
        async with self.connect() as ws:
            sem = asyncio.Semaphore(W3_INFLIGHT)

            async def receiver():
                for _ in range(n):
                    m = await ws.receive_bytes()
                    if len(m) != size:
                        raise AssertionError("bad echo size")
                    sem.release()

            t = time.perf_counter()
            rt = asyncio.ensure_future(receiver())
            for _ in range(n):
                await sem.acquire()
                await ws.send_bytes(payload)
            await asyncio.wait_for(rt, OP_TIMEOUT)
            dt = time.perf_counter() - t
        return dt

    async def w4(self, n):
        t = time.perf_counter()
        for _ in range(n):
            async with self.connect():
                pass
        return time.perf_counter() - t

    async def aclose(self):
        if self._session is not None:
            await self._session.close()
            self._session = None


class WebsocketClientWorkloads:
    """websocket-client: blocking ``create_connection``, send / recv; a receiver thread
    where messages are pipelined (W2, W3). The coroutines block the (otherwise idle) loop."""

    def __init__(self, url):
        import websocket
        self.url = url
        self.create = websocket.create_connection

    def connect(self):
        return self.create(self.url, timeout=OP_TIMEOUT)

    async def w1(self, n):
        pc = time.perf_counter_ns
        lat = [0] * n
        msg = TEXT_MSG
        ws = self.connect()
        t = time.perf_counter()
        for i in range(n):
            t0 = pc()
            ws.send(msg)
            m = ws.recv()
            lat[i] = pc() - t0
            if m != msg:
                raise AssertionError("bad echo")
        dt = time.perf_counter() - t
        ws.close()
        return dt, lat

    def _pipelined(self, n, sender, check):
        ws = self.connect()
        errors = []

        def receiver():
            try:
                for _ in range(n):
                    check(ws.recv())
            except BaseException as exc:  # reported below
                errors.append(exc)

        th = threading.Thread(target=receiver, daemon=True)
        t = time.perf_counter()
        th.start()
        sender(ws)
        th.join(OP_TIMEOUT)
        dt = time.perf_counter() - t
        if th.is_alive() or errors:
            raise AssertionError(f"receiver failed: {errors or 'timed out'}")
        ws.close()
        return dt

    async def w2(self, n):
        msg = TEXT_MSG

        def sender(ws):
            send = ws.send
            for _ in range(n):
                send(msg)

        return self._pipelined(n, sender, lambda m: None)

    async def w3(self, n, payload):
        size = len(payload)
        sem = threading.Semaphore(W3_INFLIGHT)

        def check(m):
            if len(m) != size:
                raise AssertionError("bad echo size")
            sem.release()

        def sender(ws):
            for _ in range(n):
                if not sem.acquire(timeout=OP_TIMEOUT):
                    raise AssertionError("W3 stalled")
                ws.send_binary(payload)

        return self._pipelined(n, sender, check)

    async def w4(self, n):
        t = time.perf_counter()
        for _ in range(n):
            self.connect().close()
        return time.perf_counter() - t


def make_workloads(kind, url):
    if kind == "pyws":
        return PywsWorkloads(url)
    if kind == "websockets":
        return WsAsyncioWorkloads(url)
    if kind == "aiohttp":
        return AiohttpWorkloads(url)
    if kind == "websocket-client":
        return WebsocketClientWorkloads(url)
    if kind == "picows":
        return CallbackWorkloads(make_picows(), url)
    if kind == "raw-tcp":
        return CallbackWorkloads(protocol_opener(make_raw_tcp()), url)
    raise SystemExit(f"unknown client kind {kind!r}")


# --------------------------------------------------------------------------- W5

def rss_bytes():
    """Resident set size now (not the peak)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def _open_pyws(url, n, keep):
    from pyws import WebSocket
    loop = asyncio.get_running_loop()
    for start in range(0, n, W5_BATCH):
        batch = []
        for _ in range(min(W5_BATCH, n - start)):
            ws = WebSocket(url, compression=None)
            ws.binaryType = "arraybuffer"
            fut = loop.create_future()
            ws.onopen = lambda ev, fut=fut: fut.done() or fut.set_result(None)
            ws.onclose = lambda ev, fut=fut: fut.done() or fut.set_exception(
                ConnectionError(f"closed {ev.code}"))
            batch.append((ws, fut))
        await asyncio.wait_for(asyncio.gather(*(f for _, f in batch)), OP_TIMEOUT)
        for ws, _ in batch:  # an idle socket: no handlers left from opening
            ws.onopen = ws.onclose = None
            keep.append(ws)


async def _open_gathered(opener, n, keep):
    for start in range(0, n, W5_BATCH):
        keep.extend(await asyncio.wait_for(
            asyncio.gather(*(opener() for _ in range(min(W5_BATCH, n - start)))), OP_TIMEOUT))


async def _open_many(kind, url, n, keep, state):
    if kind == "pyws":
        return await _open_pyws(url, n, keep)
    if kind == "websockets":
        from websockets.asyncio.client import connect
        return await _open_gathered(lambda: connect(url, compression=None), n, keep)
    if kind == "aiohttp":
        if "session" not in state:
            import aiohttp
            state["session"] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        return await _open_gathered(lambda: state["session"].ws_connect(url), n, keep)
    if kind == "picows":
        opener = state.setdefault("picows", make_picows())
        return await _open_gathered(lambda: opener(url), n, keep)
    if kind == "raw-tcp":
        opener = protocol_opener(make_raw_tcp())
        return await _open_gathered(lambda: opener(url), n, keep)
    if kind == "websocket-client":
        import websocket
        for _ in range(n):  # blocking, one at a time: how this library opens connections
            keep.append(websocket.create_connection(url, timeout=OP_TIMEOUT))
        return None
    raise SystemExit(f"unknown client kind {kind!r}")


async def w5(kind, url, n):
    """Memory per idle open connection: RSS growth over ``n`` connections, in KiB."""
    keep, state = [], {}
    await _open_many(kind, url, W5_WARM, keep, state)  # imports, code paths, first arenas
    gc.collect()
    r0 = rss_bytes()
    t = time.perf_counter()
    await _open_many(kind, url, n, keep, state)
    dt = time.perf_counter() - t
    await asyncio.sleep(0.2)  # let post-open callbacks settle
    gc.collect()
    r1 = rss_bytes()
    return {"w5": (r1 - r0) / n / 1024, "w5_n": n, "w5_open_s": dt, "w5_rss0_mib": r0 / 2**20}


# --------------------------------------------------------------------------- profiling

async def profile(kind, url, which, counts):
    import cProfile
    import io
    import pstats

    wl = make_workloads(kind, url)
    payload = os.urandom(BIN_SIZE)
    if which != "w5":
        await run_workloads(wl, {which: 10}, payload[:1 << 16])  # warm-up
    prof = cProfile.Profile()
    prof.enable()
    if which == "w5":
        await w5(kind, url, counts.get("w5", 1000))
    elif which == "w3":
        await wl.w3(counts["w3"], payload)
    else:
        await getattr(wl, which)(counts[which])
    prof.disable()
    out = io.StringIO()
    st = pstats.Stats(prof, stream=out).strip_dirs()
    st.sort_stats("tottime").print_stats(25)
    st.sort_stats("cumulative").print_stats(25)
    print(f"=== cProfile {kind} {which} n={counts.get(which)} ===")
    print(out.getvalue())


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kind", required=True, choices=KINDS)
    ap.add_argument("--loop", default="default", choices=("default", "uvloop"))
    ap.add_argument("--url", required=True)
    ap.add_argument("--counts", default="{}")
    ap.add_argument("--w5", type=int, default=None)
    ap.add_argument("--profile", default=None, choices=("w1", "w2", "w3", "w4", "w5"))
    ap.add_argument("--cpu-index", type=int, default=None)
    args = ap.parse_args()
    pin(args.cpu_index)
    counts = json.loads(args.counts)
    if args.profile:
        return run_loop(profile(args.kind, args.url, args.profile, counts), args.loop)
    if args.w5:
        raise_nofile(args.w5 + W5_WARM + 100)

        async def w5_and_exit():
            res = await w5(args.kind, args.url, args.w5)
            print("RESULT " + json.dumps(res), flush=True)
            # Closing 10,000 connections one by one only costs time: let the kernel do it.
            os._exit(0)

        return run_loop(w5_and_exit(), args.loop)
    res = run_loop(run_workloads(make_workloads(args.kind, args.url), counts), args.loop)
    print("RESULT " + json.dumps(res), flush=True)


if __name__ == "__main__":
    sys.exit(main())
