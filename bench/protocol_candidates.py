#!/usr/bin/env python3
"""Measure RFC 6455 protocol-library candidates for pyws's CPython backend.

Each candidate is a minimal *callback-driven* client (an ``asyncio.Protocol`` or picows
``WSListener``: no ``await`` per message) run against a picows echo server on uvloop in its
own subprocess on 127.0.0.1. Workloads are those of shared/BASELINES.md with smaller counts:

  W1  sequential ping-pong of a 32-byte text          -> round trips/s, p50/p99 latency (us)
  W2  N pipelined 32-byte texts, count N echoes        -> messages/s
  W3  1 MiB binary echo, 8 in flight                   -> MB/s (10^6 bytes, one direction)
  W4  sequential connect + opening handshake + close   -> connections/s

The ``pyws`` row is not a minimal client but pyws's own ``WebSocket`` from this checkout
(``compression=None``, ``binaryType = "arraybuffer"``), driven through its browser API
(onopen/onmessage/onclose handlers only; see PywsWorkloads).

No permessage-deflate on either side. Every candidate runs in a fresh subprocess, the
repetitions are interleaved (A B C ... A B C ...), and the ratio column is the median of the
per-repetition ratios to websockets' asyncio client on the default loop in the same repetition.

Usage:  python bench/protocol_candidates.py [--quick] [--reps N] [--no-uvloop] [--cpu]
                                            [--json PATH] [--profile]
Needs: websockets==17.4 wsproto==1.3.2 picows==2.3.1 (brings aiofastnet) and uvloop.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import select
import statistics
import subprocess
import sys
import time

HOST = "127.0.0.1"
TEXT_MSG = "x" * 32
BIN_SIZE = 1 << 20
W3_INFLIGHT = 8
OP_TIMEOUT = 60.0          # seconds, per workload
CHILD_TIMEOUT = 150.0      # seconds, per client subprocess
RUN_DEADLINE = 900.0       # seconds, whole run: later repetitions are skipped past this

FULL_COUNTS = {"w1": 5000, "w2": 50000, "w3": 64, "w4": 300}
QUICK_COUNTS = {"w1": 1000, "w2": 10000, "w3": 16, "w4": 60}

# key -> label. Order = interleaving order inside a repetition.
CANDIDATES = {
    "ws-asyncio": "websockets 17.4 asyncio client (baseline, await send/recv)",
    "ws-sansio": "websockets 17.4 sans-I/O ClientProtocol + asyncio.Protocol",
    "wsproto": "wsproto 1.3.2 WSConnection + asyncio.Protocol",
    "picows": "picows 2.3.1 ws_connect + WSListener (default: aiofastnet transport)",
    "picows-looptr": "picows 2.3.1, use_aiofastnet=False (the loop's own transport)",
    "ws-sansio-afn": "websockets sans-I/O + asyncio.Protocol on aiofastnet transport",
    "ws-sansio-coal": "websockets sans-I/O, writes coalesced per dispatch / loop tick (design probe)",
    "pyws": "pyws.WebSocket itself (browser API, compression=None, binaryType arraybuffer)",
    "raw-floor": "ceiling, not a candidate: hand-rolled framing, zero mask key, no checks, coalesced writes",
}
BASELINE = ("ws-asyncio", "default")


# --------------------------------------------------------------------------- echo server

def _pin(cpu):
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})


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
        server = await ws_create_server(lambda _req: Echo(), HOST, 0,
                                        max_frame_size=16 * BIN_SIZE)
        port = server.sockets[0].getsockname()[1]
        print(f"PORT {port}", flush=True)
        # Stop on our own after a bound time, or when the parent closes our stdin.
        loop = asyncio.get_running_loop()
        stop = loop.create_future()
        loop.add_reader(sys.stdin.fileno(), lambda: stop.done() or stop.set_result(None))
        try:
            await asyncio.wait_for(stop, RUN_DEADLINE + 300)
        except asyncio.TimeoutError:
            pass
        server.close()

    # picows logs every write pause/resume at WARNING under W2/W3 load: keep stderr readable.
    logging.getLogger("picows").setLevel(logging.ERROR)
    _pin(cpu)
    uvloop.run(main())


# --------------------------------------------------------------------------- clients
# Every callback client exposes: on_message (callable set by the workload), send_text(str),
# send_bytes(bytes), opened (future), closed (future), close() -> coroutine.

class _Base:
    on_message = None

    async def close(self):
        self._send_close()
        await asyncio.wait_for(asyncio.shield(self.closed), 10)


def _make_ws_sansio():
    from websockets.client import ClientProtocol
    from websockets.frames import Frame, Opcode
    from websockets.http11 import Response
    from websockets.protocol import State
    from websockets.uri import parse_uri
    from websockets import speedups  # noqa: F401  (make sure the C masking is there)

    TEXT, BINARY, CONT = Opcode.TEXT, Opcode.BINARY, Opcode.CONT
    OPEN = State.OPEN

    class WsSansIOClient(_Base, asyncio.Protocol):
        def __init__(self, url):
            loop = asyncio.get_running_loop()
            self.proto = ClientProtocol(parse_uri(url), max_size=None)
            self.opened = loop.create_future()
            self.closed = loop.create_future()
            self.transport = None
            self._frag_op = None
            self._frag = []
            self._close_timer = None

        def connection_made(self, transport):
            self.transport = transport
            self.proto.send_request(self.proto.connect())
            self._flush()

        def _flush(self):
            self._flush_chunks(self.proto.data_to_send())

        def _flush_chunks(self, chunks):
            for chunk in chunks:
                if chunk:
                    self.transport.write(chunk)
                elif self.transport.can_write_eof():
                    self.transport.write_eof()

        def data_received(self, data):
            proto = self.proto
            proto.receive_data(data)
            events = proto.events_received()
            self._flush()  # pongs, close replies
            for ev in events:
                if type(ev) is Frame:
                    op = ev.opcode
                    if ev.fin and op is TEXT:
                        self.on_message(ev.data.decode())
                    elif ev.fin and op is BINARY:
                        self.on_message(ev.data)
                    elif op is TEXT or op is BINARY:
                        self._frag_op, self._frag = op, [ev.data]
                    elif op is CONT:
                        self._frag.append(ev.data)
                        if ev.fin:
                            data = b"".join(self._frag)
                            self._frag = []
                            self.on_message(data.decode() if self._frag_op is TEXT else data)
                elif isinstance(ev, Response):
                    if proto.state is OPEN:
                        self.opened.set_result(None)
                    else:
                        self.opened.set_exception(proto.handshake_exc or ConnectionError("handshake"))
            if proto.close_expected() and self._close_timer is None:
                self._close_timer = asyncio.get_running_loop().call_later(
                    10, self.transport.abort)

        def eof_received(self):
            self.proto.receive_eof()
            self._flush()
            return None  # let the transport close

        def connection_lost(self, exc):
            if self._close_timer is not None:
                self._close_timer.cancel()
            if not self.opened.done():
                self.opened.set_exception(ConnectionError("lost before open"))
            if not self.closed.done():
                self.closed.set_result(None)

        def send_text(self, s):
            self.proto.send_text(s.encode())
            self._flush()

        def send_bytes(self, b):
            self.proto.send_binary(b)
            self._flush()

        def _send_close(self):
            self.proto.send_close(1000)
            self._flush()

    class WsSansIOCoalescing(WsSansIOClient):
        """Design probe: sends made inside a data_received dispatch are flushed once at its
        end; sends made elsewhere are flushed once per loop tick (call_soon). Each flush is
        one transport.write of the joined frames."""

        _in_dispatch = False
        _flush_pending = False

        def _flush(self):
            chunks = self.proto.data_to_send()
            if not chunks:
                return
            if b"" in chunks:  # SEND_EOF marker: rare, keep order exactly
                return WsSansIOClient._flush_chunks(self, chunks)
            self.transport.write(chunks[0] if len(chunks) == 1 else b"".join(chunks))

        def _deferred_flush(self):
            self._flush_pending = False
            if self.transport is not None and not self.transport.is_closing():
                self._flush()

        def data_received(self, data):
            self._in_dispatch = True
            try:
                WsSansIOClient.data_received(self, data)
            finally:
                self._in_dispatch = False
            self._flush()

        def _send_later(self):
            if not self._in_dispatch and not self._flush_pending:
                self._flush_pending = True
                asyncio.get_running_loop().call_soon(self._deferred_flush)

        def send_text(self, s):
            self.proto.send_text(s.encode())
            self._send_later()

        def send_bytes(self, b):
            self.proto.send_binary(b)
            self._send_later()

    return WsSansIOClient, WsSansIOCoalescing


def _make_wsproto():
    from wsproto import ConnectionType, WSConnection
    from wsproto.connection import ConnectionState
    from wsproto.events import (AcceptConnection, BytesMessage, CloseConnection, Ping,
                                RejectConnection, Request, TextMessage)

    class WsprotoClient(_Base, asyncio.Protocol):
        def __init__(self, url):
            loop = asyncio.get_running_loop()
            self.hostport = url.split("//", 1)[1].rstrip("/")
            self.conn = WSConnection(ConnectionType.CLIENT)
            self.opened = loop.create_future()
            self.closed = loop.create_future()
            self._text = []
            self._bin = []

        def connection_made(self, transport):
            self.transport = transport
            transport.write(self.conn.send(Request(host=self.hostport, target="/")))

        def data_received(self, data):
            conn = self.conn
            conn.receive_data(data)
            for ev in conn.events():
                t = type(ev)
                if t is TextMessage:
                    if ev.message_finished and not self._text:
                        self.on_message(ev.data)
                    else:
                        self._text.append(ev.data)
                        if ev.message_finished:
                            s, self._text = "".join(self._text), []
                            self.on_message(s)
                elif t is BytesMessage:
                    if ev.message_finished and not self._bin:
                        self.on_message(bytes(ev.data))
                    else:
                        self._bin.append(ev.data)
                        if ev.message_finished:
                            b, self._bin = b"".join(self._bin), []
                            self.on_message(b)
                elif t is Ping:
                    self.transport.write(conn.send(ev.response()))
                elif t is CloseConnection:
                    if conn.state is ConnectionState.REMOTE_CLOSING:
                        self.transport.write(conn.send(ev.response()))
                elif t is AcceptConnection:
                    self.opened.set_result(None)
                elif t is RejectConnection:
                    self.opened.set_exception(ConnectionError("rejected"))

        def eof_received(self):
            self.conn.receive_data(None)
            return None

        def connection_lost(self, exc):
            if not self.opened.done():
                self.opened.set_exception(ConnectionError("lost before open"))
            if not self.closed.done():
                self.closed.set_result(None)

        def send_text(self, s):
            self.transport.write(self.conn.send(TextMessage(data=s)))

        def send_bytes(self, b):
            self.transport.write(self.conn.send(BytesMessage(data=b)))

        def _send_close(self):
            self.transport.write(self.conn.send(CloseConnection(code=1000)))

    return WsprotoClient


def _make_raw_floor():
    """Not a candidate: a ceiling. Hand-rolled minimal framing on asyncio.Protocol, zero mask
    key (no masking work), no validation, writes coalesced like ws-sansio-coal. Shows what the
    loop + transport + one Python callback per message cost with this server."""
    HANDSHAKE = (b"GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    ZERO_KEY = b"\0\0\0\0"

    def header(op, n):
        if n < 126:
            return bytes((0x80 | op, 0x80 | n)) + ZERO_KEY
        if n < 65536:
            return bytes((0x80 | op, 0xFE)) + n.to_bytes(2, "big") + ZERO_KEY
        return bytes((0x80 | op, 0xFF)) + n.to_bytes(8, "big") + ZERO_KEY

    class RawFloor(_Base, asyncio.Protocol):
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

    return RawFloor


def _make_picows(use_aiofastnet):
    from picows import WSCloseCode, WSListener, WSMsgType, ws_connect

    TEXT, BINARY, CONT, CLOSE = WSMsgType.TEXT, WSMsgType.BINARY, WSMsgType.CONTINUATION, WSMsgType.CLOSE

    class PicowsClient(_Base, WSListener):
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

    async def open_client(url):
        _t, client = await ws_connect(PicowsClient, url, max_frame_size=16 * BIN_SIZE,
                                      use_aiofastnet=use_aiofastnet)
        await client.opened
        return client

    return open_client


def make_opener(kind):
    """Return ``async open(url) -> client`` for a callback candidate."""
    if kind in ("picows", "picows-looptr"):
        return _make_picows(kind == "picows")
    if kind in ("ws-sansio", "ws-sansio-afn"):
        cls = _make_ws_sansio()[0]
    elif kind == "ws-sansio-coal":
        cls = _make_ws_sansio()[1]
    elif kind == "raw-floor":
        cls = _make_raw_floor()
    else:
        cls = _make_wsproto()
    if kind == "ws-sansio-afn":
        import aiofastnet

        async def create(factory, host, port):
            return await aiofastnet.create_connection(asyncio.get_running_loop(), factory, host, port)
    else:
        async def create(factory, host, port):
            return await asyncio.get_running_loop().create_connection(factory, host, port)

    async def open_client(url):
        hostport = url.split("//", 1)[1].rstrip("/")
        host, port = hostport.rsplit(":", 1)
        _t, client = await create(lambda: cls(url), host, int(port))
        await asyncio.wait_for(client.opened, 10)
        return client

    return open_client


# --------------------------------------------------------------------------- workloads

def _lat_stats(lat_ns):
    lat = sorted(lat_ns)
    return lat[len(lat) // 2] / 1000, lat[min(len(lat) - 1, int(len(lat) * 0.99))] / 1000


class CallbackWorkloads:
    def __init__(self, kind, url):
        self.open = make_opener(kind)
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


class PywsWorkloads:
    """pyws's own ``WebSocket`` (this repository), written as a user of the browser API
    would: handlers only, no await per message. Timing starts in ``onopen`` (as the
    callback clients start after ``opened``) and stops at the last message; W4 times
    WebSocket() -> onopen: close() -> onclose: next WebSocket()."""

    def __init__(self, url):
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        if root not in sys.path:
            sys.path.insert(0, root)  # import pyws from this checkout
        from pyws import WebSocket
        self.WebSocket = WebSocket
        self.url = url

    def _new(self, fut):
        """A WebSocket whose error/unclean close fails ``fut`` (unless it is done)."""
        ws = self.WebSocket(self.url, compression=None)
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
            for _ in range(n):  # all N from the open handler, as ws-sansio does
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
        WebSocket, url = self.WebSocket, self.url

        def start():
            ws = WebSocket(url, compression=None)
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


def make_workloads(kind, url):
    if kind == "ws-asyncio":
        return WsAsyncioWorkloads(url)
    if kind == "pyws":
        return PywsWorkloads(url)
    return CallbackWorkloads(kind, url)


class WsAsyncioWorkloads:
    """Baseline: websockets' own asyncio client, await send / await recv."""

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


async def run_workloads(kind, url, counts):
    wl = make_workloads(kind, url)
    payload = os.urandom(BIN_SIZE)
    # Warm-up (imports, code paths, allocator), not measured.
    await asyncio.wait_for(wl.w1(200), OP_TIMEOUT)
    await asyncio.wait_for(wl.w2(2000), OP_TIMEOUT)
    await asyncio.wait_for(wl.w3(4, payload), OP_TIMEOUT)
    await asyncio.wait_for(wl.w4(10), OP_TIMEOUT)
    res = {}
    pt = time.process_time

    gc.collect()
    c0 = pt()
    dt, lat = await asyncio.wait_for(wl.w1(counts["w1"]), OP_TIMEOUT)
    c1 = pt()
    p50, p99 = _lat_stats(lat)
    res["w1"] = counts["w1"] / dt
    res["w1_p50"], res["w1_p99"] = p50, p99
    res["w1_cpu_us"] = (c1 - c0) / counts["w1"] * 1e6

    gc.collect()
    c0 = pt()
    dt = await asyncio.wait_for(wl.w2(counts["w2"]), OP_TIMEOUT)
    res["w2"] = counts["w2"] / dt
    res["w2_cpu_us"] = (pt() - c0) / counts["w2"] * 1e6

    gc.collect()
    c0 = pt()
    dt = await asyncio.wait_for(wl.w3(counts["w3"], payload), OP_TIMEOUT)
    res["w3"] = counts["w3"] * BIN_SIZE / dt / 1e6
    res["w3_cpu_ms"] = (pt() - c0) / counts["w3"] * 1e3

    gc.collect()
    c0 = pt()
    dt = await asyncio.wait_for(wl.w4(counts["w4"]), OP_TIMEOUT)
    res["w4"] = counts["w4"] / dt
    res["w4_cpu_us"] = (pt() - c0) / counts["w4"] * 1e6
    return res


def run_client(kind, loop_name, url, counts, cpu=None):
    _pin(cpu)
    coro = run_workloads(kind, url, counts)
    if loop_name == "uvloop":
        import uvloop
        res = uvloop.run(coro)
    else:
        res = asyncio.run(coro)
    print("RESULT " + json.dumps(res), flush=True)


# --------------------------------------------------------------------------- profiling

def run_profile(url, counts, kind="ws-sansio"):
    """cProfile a callback candidate on W1, W2 and W3 (default loop), print top functions."""
    import cProfile
    import io
    import pstats

    async def one(which):
        wl = make_workloads(kind, url)
        await wl.w1(200)
        await wl.w2(2000)
        prof = cProfile.Profile()
        prof.enable()
        if which == "w1":
            await wl.w1(counts["w1"])
        elif which == "w2":
            await wl.w2(counts["w2"])
        else:
            await wl.w3(counts["w3"], os.urandom(BIN_SIZE))
        prof.disable()
        return prof

    for which in ("w1", "w2", "w3"):
        prof = asyncio.run(one(which))
        out = io.StringIO()
        st = pstats.Stats(prof, stream=out)
        st.strip_dirs().sort_stats("tottime").print_stats(18)
        print(f"\n=== cProfile {kind} {which.upper()} (sorted by tottime) ===")
        print("\n".join(out.getvalue().splitlines()[:40]))


# --------------------------------------------------------------------------- orchestration

PIN_CPUS = {"none": (None, None), "same": (0, 0), "split": (1, 0)}  # (server, client)


def _cpu_args(cpu):
    return [] if cpu is None else ["--cpu-index", str(cpu)]


def start_server(cpu=None):
    proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--server"] + _cpu_args(cpu),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
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


def child(kind, loop_name, url, counts, cpu=None):
    cmd = [sys.executable, os.path.abspath(__file__), "--client", kind, "--loop", loop_name,
           "--url", url, "--counts", json.dumps(counts)] + _cpu_args(cpu)
    try:
        cp = subprocess.run(cmd, capture_output=True, text=True, timeout=CHILD_TIMEOUT)
    except subprocess.TimeoutExpired:
        print(f"  ! {kind}/{loop_name}: timed out", file=sys.stderr)
        return None
    for line in cp.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    print(f"  ! {kind}/{loop_name} failed:\n{cp.stderr[-2000:]}", file=sys.stderr)
    return None


def fmt_rate(x):
    return f"{x:,.0f}" if x >= 100 else f"{x:,.1f}"


def render(results, rows, reps_done, cpu=False):
    """results[(kind, loop)] = list (per repetition) of dict or None."""
    base = results[BASELINE]

    def col(kind, loop, key):
        vals = [r[key] for r in results[(kind, loop)] if r]
        if not vals:
            return "n/a"
        ratios = [r[key] / b[key] for r, b in zip(results[(kind, loop)], base) if r and b]
        med = statistics.median(vals)
        s = f"{fmt_rate(med)} [{fmt_rate(min(vals))}-{fmt_rate(max(vals))}]"
        if ratios:
            s += f" ({statistics.median(ratios):.2f})"
        return s

    lines = ["| client | loop | W1 rt/s [min-max] (ratio) | W1 p50/p99 us | W2 msg/s [min-max] (ratio) "
             "| W3 MB/s [min-max] (ratio) | W4 conn/s [min-max] (ratio) |",
             "|---|---|---|---|---|---|---|"]
    for kind, loop in rows:
        ok = [r for r in results[(kind, loop)] if r]
        if ok:
            lat = f"{statistics.median(r['w1_p50'] for r in ok):.0f}/{statistics.median(r['w1_p99'] for r in ok):.0f}"
        else:
            lat = "n/a"
        lines.append(f"| {kind} | {loop} | {col(kind, loop, 'w1')} | {lat} | {col(kind, loop, 'w2')} "
                     f"| {col(kind, loop, 'w3')} | {col(kind, loop, 'w4')} |")
    if cpu:
        lines += ["", "Client CPU per operation (median): W1 us/rt, W2 us/msg, W3 ms/MiB echoed, W4 us/conn",
                  "", "| client | loop | W1 | W2 | W3 | W4 |", "|---|---|---|---|---|---|"]
        for kind, loop in rows:
            ok = [r for r in results[(kind, loop)] if r]
            if ok:
                m = {k: statistics.median(r[k] for r in ok)
                     for k in ("w1_cpu_us", "w2_cpu_us", "w3_cpu_ms", "w4_cpu_us")}
                lines.append(f"| {kind} | {loop} | {m['w1_cpu_us']:.1f} | {m['w2_cpu_us']:.2f} "
                             f"| {m['w3_cpu_ms']:.2f} | {m['w4_cpu_us']:.0f} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small counts, 2 repetitions")
    ap.add_argument("--reps", type=int, default=None, help="repetitions (default 5, quick 2)")
    ap.add_argument("--no-uvloop", action="store_true", help="default asyncio loop only")
    ap.add_argument("--only", default=None, help="comma-separated candidate keys (baseline always runs)")
    ap.add_argument("--cpu", action="store_true", help="also print client CPU per operation")
    ap.add_argument("--json", default=None, help="write raw per-repetition results here")
    ap.add_argument("--profile", nargs="?", const="ws-sansio", default=None, metavar="KIND",
                    help="cProfile a callback candidate (default ws-sansio) on W1/W2/W3 instead")
    ap.add_argument("--pin", choices=sorted(PIN_CPUS), default="none",
                    help="CPU affinity: none (default), same (server and client on CPU 0), "
                         "split (server CPU 1, client CPU 0)")
    # internal
    ap.add_argument("--cpu-index", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--server", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--client", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--loop", default="default", help=argparse.SUPPRESS)
    ap.add_argument("--url", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--counts", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.server:
        return run_server(args.cpu_index)
    if args.client:
        return run_client(args.client, args.loop, args.url, json.loads(args.counts), args.cpu_index)

    counts = QUICK_COUNTS if args.quick else FULL_COUNTS
    reps = args.reps or (2 if args.quick else 5)
    kinds = list(CANDIDATES)
    if args.only:
        wanted = set(args.only.split(",")) | {BASELINE[0]}
        kinds = [k for k in kinds if k in wanted]
    loops = ["default"] if args.no_uvloop else ["default", "uvloop"]
    rows = [(k, lp) for lp in loops for k in kinds]

    srv_cpu, cli_cpu = PIN_CPUS[args.pin]
    srv, port = start_server(srv_cpu)
    url = f"ws://{HOST}:{port}/"
    try:
        if args.profile:
            return run_profile(url, counts, args.profile)
        results = {row: [] for row in rows}
        t_start = time.monotonic()
        reps_done = 0
        for rep in range(reps):
            if time.monotonic() - t_start > RUN_DEADLINE:
                print(f"deadline reached after {reps_done} repetitions", file=sys.stderr)
                break
            for kind, loop in rows:
                results[(kind, loop)].append(child(kind, loop, url, counts, cli_cpu))
            reps_done += 1
            print(f"repetition {rep + 1}/{reps} done ({time.monotonic() - t_start:.0f} s)",
                  file=sys.stderr, flush=True)
    finally:
        stop_server(srv)

    import picows
    import websockets
    import wsproto
    try:
        import uvloop
        uv = uvloop.__version__
    except ImportError:
        uv = "absent"
    print(f"Python {sys.version.split()[0]}, websockets {websockets.__version__}, wsproto "
          f"{wsproto.__version__}, picows {getattr(picows, '__version__', '?')}, uvloop {uv}; "
          f"counts {counts}; {reps_done} interleaved repetitions; median [min-max] (median "
          f"per-repetition ratio to ws-asyncio on the default loop); pin={args.pin}\n")
    print(render(results, rows, reps_done, cpu=args.cpu))
    print()
    for k, label in CANDIDATES.items():
        if k in kinds:
            print(f"- {k}: {label}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"counts": counts, "results": {f"{k}|{lp}": v for (k, lp), v in results.items()}},
                      f, indent=1)


if __name__ == "__main__":
    main()
