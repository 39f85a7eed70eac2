"""Pieces shared by bench/run.py, bench/cpython_clients.py and bench/protocol_candidates.py.

- the echo server: picows on uvloop, in its own process on 127.0.0.1 (``python
  bench/_common.py --server`` prints ``PORT n``; it stops when its stdin closes, or after
  SERVER_LIFETIME seconds);
- minimal callback clients on asyncio: picows (``WSListener``) and the raw-TCP reference
  (hand-rolled frames on an ``asyncio.Protocol``);
- the workloads of those callback clients and of websockets' asyncio client (the baseline).

The pyws workloads, shared with Pyodide, are in bench/workloads.py.
"""

from __future__ import annotations

import asyncio
import os
import select
import subprocess
import sys
import time

from workloads import BIN_SIZE, OP_TIMEOUT, TEXT_MSG, W3_INFLIGHT

HOST = "127.0.0.1"
SERVER_LIFETIME = 1800.0   # seconds: the echo server stops by itself after this
BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH_DIR)

PIN_CPUS = {"none": (None, None), "same": (0, 0), "split": (1, 0)}  # (server, client)


def pin(cpu):
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})


def raise_nofile(want=None):
    """Raise RLIMIT_NOFILE's soft limit (to the hard limit, or ``want``); return it."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if want is None else min(hard, max(soft, want))
    if hard == resource.RLIM_INFINITY and want is None:
        target = max(soft, 1 << 20)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def fmt_rate(x):
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 10:
        return f"{x:,.1f}"
    return f"{x:,.2f}"


# --------------------------------------------------------------------------- echo server

def run_server(cpu=None) -> None:
    import logging

    import uvloop
    from picows import WSListener, WSMsgType, ws_create_server

    class Echo(WSListener):
        def on_ws_frame(self, transport, frame):
            mt = frame.msg_type
            if mt == WSMsgType.CLOSE:
                transport.send_close(frame.get_close_code(), frame.get_close_message())
                transport.disconnect()
            elif mt == WSMsgType.PING:
                transport.send_pong(frame.get_payload_as_bytes())
            elif mt != WSMsgType.PONG:
                transport.send(mt, frame.get_payload_as_memoryview(), frame.fin)

    async def main():
        # W5 holds 10,000 connections open at once: a large backlog, and fds to match.
        server = await ws_create_server(lambda _req: Echo(), HOST, 0,
                                        max_frame_size=16 * BIN_SIZE, backlog=4096)
        port = server.sockets[0].getsockname()[1]
        print(f"PORT {port}", flush=True)
        # Stop on our own after a bound time, or when the parent closes our stdin.
        loop = asyncio.get_running_loop()
        stop = loop.create_future()
        loop.add_reader(sys.stdin.fileno(), lambda: stop.done() or stop.set_result(None))
        try:
            await asyncio.wait_for(stop, SERVER_LIFETIME)
        except asyncio.TimeoutError:
            pass
        server.close()

    # picows logs every write pause/resume at WARNING under W2/W3 load, and every
    # connection reset when a W5 client exits holding 10,000 connections.
    logging.getLogger("picows").setLevel(logging.CRITICAL)
    raise_nofile()
    pin(cpu)
    uvloop.run(main())


def start_server(cpu=None):
    cmd = [sys.executable, os.path.abspath(__file__), "--server"]
    if cpu is not None:
        cmd += ["--cpu-index", str(cpu)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    ready, _, _ = select.select([proc.stdout], [], [], 20)
    line = proc.stdout.readline() if ready else ""
    if not line.startswith("PORT "):
        proc.kill()
        raise SystemExit(f"echo server did not start: {line!r}")
    return proc, int(line.split()[1])


def stop_server(proc):
    try:
        proc.stdin.close()
        proc.wait(5)
    except Exception:
        proc.kill()
        proc.wait(5)


# --------------------------------------------------------------------------- callback clients
# Every callback client exposes: on_message (callable set by the workload), send_text(str),
# send_bytes(bytes), opened (future), closed (future), close() -> coroutine.

class Base:
    on_message = None

    async def close(self):
        self._send_close()
        await asyncio.wait_for(asyncio.shield(self.closed), 10)


def make_raw_tcp():
    """The socket-level reference, not a WebSocket library: hand-rolled minimal framing on an
    ``asyncio.Protocol``, zero mask key (no masking work), no validation, writes coalesced
    per dispatch / loop turn. Shows what the loop + transport + one Python callback per
    message cost with this server."""
    HANDSHAKE = (b"GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    ZERO_KEY = b"\0\0\0\0"

    def header(op, n):
        if n < 126:
            return bytes((0x80 | op, 0x80 | n)) + ZERO_KEY
        if n < 65536:
            return bytes((0x80 | op, 0xFE)) + n.to_bytes(2, "big") + ZERO_KEY
        return bytes((0x80 | op, 0xFF)) + n.to_bytes(8, "big") + ZERO_KEY

    class RawTCP(Base, asyncio.Protocol):
        def __init__(self, url):
            loop = asyncio.get_running_loop()
            self.hostport = url.split("//", 1)[1].rstrip("/").encode()
            self.opened = loop.create_future()
            self.closed = loop.create_future()
            self.buf = bytearray()
            self.handshaken = False
            self._out = []
            self._in_dispatch = False
            self._flush_pending = False

        def connection_made(self, transport):
            self.transport = transport
            transport.write(HANDSHAKE % self.hostport)

        def data_received(self, data):
            buf = self.buf
            buf += data
            if not self.handshaken:
                i = buf.find(b"\r\n\r\n")
                if i < 0:
                    return
                if not buf.startswith(b"HTTP/1.1 101"):
                    self.opened.set_exception(ConnectionError("handshake"))
                    return
                del buf[:i + 4]
                self.handshaken = True
                self.opened.set_result(None)
            self._in_dispatch = True
            pos, n = 0, len(buf)
            try:
                while n - pos >= 2:
                    op, ln = buf[pos] & 0x0F, buf[pos + 1] & 0x7F
                    hl = 2
                    if ln == 126:
                        if n - pos < 4:
                            break
                        ln, hl = int.from_bytes(buf[pos + 2:pos + 4], "big"), 4
                    elif ln == 127:
                        if n - pos < 10:
                            break
                        ln, hl = int.from_bytes(buf[pos + 2:pos + 10], "big"), 10
                    if n - pos < hl + ln:
                        break
                    payload = bytes(buf[pos + hl:pos + hl + ln])
                    pos += hl + ln
                    if op == 1:
                        self.on_message(payload.decode())
                    elif op == 2:
                        self.on_message(payload)
            finally:
                del buf[:pos]
                self._in_dispatch = False
            self._flush()

        def _flush(self):
            self._flush_pending = False
            out = self._out
            if out and not self.transport.is_closing():
                self.transport.write(out[0] if len(out) == 1 else b"".join(out))
            self._out = []

        def _queue(self, frame):
            self._out.append(frame)
            if not self._in_dispatch and not self._flush_pending:
                self._flush_pending = True
                asyncio.get_running_loop().call_soon(self._flush)

        def connection_lost(self, exc):
            if not self.opened.done():
                self.opened.set_exception(ConnectionError("lost before open"))
            if not self.closed.done():
                self.closed.set_result(None)

        def send_text(self, s):
            p = s.encode()
            self._queue(header(1, len(p)) + p)

        def send_bytes(self, b):
            self._queue(header(2, len(b)))
            self._queue(b)

        def _send_close(self):
            self._flush()
            self.transport.write(b"\x88\x82" + ZERO_KEY + b"\x03\xe8")

    return RawTCP


def protocol_opener(cls, create=None):
    """``async open(url) -> client`` for an ``asyncio.Protocol`` client class."""
    if create is None:
        async def create(factory, host, port):
            return await asyncio.get_running_loop().create_connection(factory, host, port)

    async def open_client(url):
        hostport = url.split("//", 1)[1].rstrip("/")
        host, port = hostport.rsplit(":", 1)
        _t, client = await create(lambda: cls(url), host, int(port))
        await asyncio.wait_for(client.opened, 10)
        return client

    return open_client


def make_picows(use_aiofastnet=None):
    """``async open(url) -> client`` for picows (Cython) with a ``WSListener``.
    ``use_aiofastnet=None``: picows's default (aiofastnet's transport when installed)."""
    from picows import WSCloseCode, WSListener, WSMsgType, ws_connect

    TEXT, BINARY, CONT, CLOSE = WSMsgType.TEXT, WSMsgType.BINARY, WSMsgType.CONTINUATION, WSMsgType.CLOSE

    class PicowsClient(Base, WSListener):
        def __init__(self):
            loop = asyncio.get_running_loop()
            self.opened = loop.create_future()
            self.closed = loop.create_future()
            self.t = None
            self._frag_op = None
            self._frag = []

        def on_ws_connected(self, transport):
            self.t = transport
            self.opened.set_result(None)

        def on_ws_frame(self, transport, frame):
            mt = frame.msg_type
            if mt == TEXT and frame.fin:
                self.on_message(frame.get_payload_as_utf8_text())
            elif mt == BINARY and frame.fin:
                self.on_message(frame.get_payload_as_bytes())
            elif mt == TEXT or mt == BINARY:
                self._frag_op, self._frag = mt, [frame.get_payload_as_bytes()]
            elif mt == CONT:
                self._frag.append(frame.get_payload_as_bytes())
                if frame.fin:
                    data, self._frag = b"".join(self._frag), []
                    self.on_message(data.decode() if self._frag_op == TEXT else data)
            elif mt == CLOSE:
                if not transport.is_close_frame_sent:
                    transport.send_close(frame.get_close_code(), frame.get_close_message())
                transport.disconnect()

        def on_ws_disconnected(self, transport):
            if not self.closed.done():
                self.closed.set_result(None)

        def send_text(self, s):
            self.t.send(TEXT, s.encode())

        def send_bytes(self, b):
            self.t.send(BINARY, b)

        def _send_close(self):
            self.t.send_close(WSCloseCode.OK)

    kwargs = {} if use_aiofastnet is None else {"use_aiofastnet": use_aiofastnet}

    async def open_client(url):
        _t, client = await ws_connect(PicowsClient, url, max_frame_size=16 * BIN_SIZE, **kwargs)
        await client.opened
        return client

    return open_client


# --------------------------------------------------------------------------- workloads

class CallbackWorkloads:
    """W1-W4 on a callback client returned by ``opener(url)``."""

    def __init__(self, opener, url):
        self.open = opener
        self.url = url

    async def w1(self, n):
        c = await self.open(self.url)
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        pc = time.perf_counter_ns
        lat = [0] * n
        st = {"i": 0, "t0": 0}
        msg = TEXT_MSG

        def on_message(m):
            t1 = pc()
            i = st["i"]
            lat[i] = t1 - st["t0"]
            i += 1
            st["i"] = i
            if m != msg:
                fut.done() or fut.set_exception(AssertionError("bad echo"))
            elif i < n:
                st["t0"] = pc()
                c.send_text(msg)
            elif not fut.done():
                fut.set_result(None)

        c.on_message = on_message
        t = time.perf_counter()
        st["t0"] = pc()
        c.send_text(msg)
        await asyncio.wait_for(fut, OP_TIMEOUT)
        dt = time.perf_counter() - t
        await c.close()
        return dt, lat

    async def w2(self, n):
        c = await self.open(self.url)
        fut = asyncio.get_running_loop().create_future()
        st = [0]
        msg = TEXT_MSG

        def on_message(m):
            st[0] += 1
            if st[0] >= n and not fut.done():
                fut.set_result(None)

        c.on_message = on_message
        t = time.perf_counter()
        send = c.send_text
        for _ in range(n):
            send(msg)
        await asyncio.wait_for(fut, OP_TIMEOUT)
        dt = time.perf_counter() - t
        await c.close()
        return dt

    async def w3(self, n, payload):
        c = await self.open(self.url)
        fut = asyncio.get_running_loop().create_future()
        st = {"sent": 0, "recv": 0}
        size = len(payload)

        def on_message(m):
            st["recv"] += 1
            if len(m) != size:
                fut.done() or fut.set_exception(AssertionError("bad echo size"))
            elif st["sent"] < n:
                st["sent"] += 1
                c.send_bytes(payload)
            if st["recv"] >= n and not fut.done():
                fut.set_result(None)

        c.on_message = on_message
        t = time.perf_counter()
        for _ in range(min(W3_INFLIGHT, n)):
            st["sent"] += 1
            c.send_bytes(payload)
        await asyncio.wait_for(fut, OP_TIMEOUT)
        dt = time.perf_counter() - t
        await c.close()
        return dt

    async def w4(self, n):
        t = time.perf_counter()
        for _ in range(n):
            c = await self.open(self.url)
            await c.close()
        return time.perf_counter() - t


class WsAsyncioWorkloads:
    """The baseline: websockets' own asyncio client, await send / await recv."""

    def __init__(self, url):
        from websockets.asyncio.client import connect
        self.connect = lambda: connect(url, compression=None, max_size=None)

    async def w1(self, n):
        pc = time.perf_counter_ns
        lat = [0] * n
        msg = TEXT_MSG
        async with self.connect() as ws:
            t = time.perf_counter()
            for i in range(n):
                t0 = pc()
                await ws.send(msg)
                m = await ws.recv()
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
                    await ws.recv()

            t = time.perf_counter()
            rt = asyncio.ensure_future(receiver())
            for _ in range(n):
                await ws.send(msg)
            await asyncio.wait_for(rt, OP_TIMEOUT)
            dt = time.perf_counter() - t
        return dt

    async def w3(self, n, payload):
        size = len(payload)
        async with self.connect() as ws:
            sem = asyncio.Semaphore(W3_INFLIGHT)

            async def receiver():
                for _ in range(n):
                    m = await ws.recv()
                    if len(m) != size:
                        raise AssertionError("bad echo size")
                    sem.release()

            t = time.perf_counter()
            rt = asyncio.ensure_future(receiver())
            for _ in range(n):
                await sem.acquire()
                await ws.send(payload)
            await asyncio.wait_for(rt, OP_TIMEOUT)
            dt = time.perf_counter() - t
        return dt

    async def w4(self, n):
        t = time.perf_counter()
        for _ in range(n):
            async with self.connect():
                pass
        return time.perf_counter() - t


def run_loop(coro, loop_name):
    """Run ``coro`` on the default asyncio loop or on uvloop."""
    if loop_name == "uvloop":
        import uvloop
        return uvloop.run(coro)
    return asyncio.run(coro)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--server"]:
        cpu = None
        if "--cpu-index" in sys.argv:
            cpu = int(sys.argv[sys.argv.index("--cpu-index") + 1])
        run_server(cpu)
    else:
        sys.exit("usage: python bench/_common.py --server [--cpu-index N]")
