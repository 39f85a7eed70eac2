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
import json
import os
import statistics
import subprocess
import sys
import time

# Shared with bench/run.py: the echo server, the picows and raw-TCP clients, the baseline's
# and the callback clients' workloads (bench/_common.py); pyws's workloads (bench/workloads.py).
from _common import (BIN_SIZE, HOST, PIN_CPUS, ROOT, Base, CallbackWorkloads,
                     WsAsyncioWorkloads, fmt_rate, make_picows, make_raw_tcp, pin,
                     protocol_opener, run_loop, start_server, stop_server)
from workloads import PywsWorkloads, run_workloads as _run_workloads

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

# --------------------------------------------------------------------------- clients
# Every callback client exposes: on_message (callable set by the workload), send_text(str),
# send_bytes(bytes), opened (future), closed (future), close() -> coroutine (see _common.Base).

_Base = Base


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


def make_opener(kind):
    """Return ``async open(url) -> client`` for a callback candidate."""
    if kind in ("picows", "picows-looptr"):
        return make_picows(True if kind == "picows" else False)
    if kind in ("ws-sansio", "ws-sansio-afn"):
        cls = _make_ws_sansio()[0]
    elif kind == "ws-sansio-coal":
        cls = _make_ws_sansio()[1]
    elif kind == "raw-floor":
        cls = make_raw_tcp()
    else:
        cls = _make_wsproto()
    if kind == "ws-sansio-afn":
        import aiofastnet

        async def create(factory, host, port):
            return await aiofastnet.create_connection(asyncio.get_running_loop(), factory, host, port)
    else:
        create = None
    return protocol_opener(cls, create)


# --------------------------------------------------------------------------- workloads

def make_workloads(kind, url):
    if kind == "ws-asyncio":
        return WsAsyncioWorkloads(url)
    if kind == "pyws":
        if ROOT not in sys.path:
            sys.path.insert(0, ROOT)  # import pyws from this checkout
        return PywsWorkloads(url)
    return CallbackWorkloads(make_opener(kind), url)


async def run_workloads(kind, url, counts):
    return await _run_workloads(make_workloads(kind, url), counts)


def run_client(kind, loop_name, url, counts, cpu=None):
    pin(cpu)
    res = run_loop(run_workloads(kind, url, counts), loop_name)
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

def _cpu_args(cpu):
    return [] if cpu is None else ["--cpu-index", str(cpu)]


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
    ap.add_argument("--client", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--loop", default="default", help=argparse.SUPPRESS)
    ap.add_argument("--url", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--counts", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()

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
