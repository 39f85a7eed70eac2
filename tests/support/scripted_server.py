"""A WebSocket server on raw asyncio sockets that misbehaves on purpose, and records.

The parity suite (tests/parity/test_parity.py) runs each scenario against this server once with
Chromium's own ``WebSocket`` and once with pyws, and compares. The server is scripted:
the test registers a script under a connection id (``cid``), the client connects to
``ws://127.0.0.1:PORT/s/CID``, and the server does what the script says, byte for byte.
The correct parts (the accept key, frame layout) are computed here the way RFC 6455 says;
everything can also be broken on purpose.

A script is a JSON-able dict::

    {"handshake": {...}, "steps": [[op, args...], ...], "tail": "serve" | "hold"}

``handshake`` (all optional):

``status``       HTTP status to answer (default 101); anything else ends the connection
                 after the response (``location`` adds a Location header: a redirect)
``accept``       "ok" (default), "wrong" (a valid-looking but wrong key), "none" (omitted)
``upgrade``      the Upgrade header value (default "websocket"; None omits it)
``connection``   the Connection header value (default "Upgrade"; None omits it)
``protocol``     "first" (default: the first offered, none if none offered), None (no
                 header), or any string (sent even if the client did not offer it)
``extensions``   None (default: no header), "deflate" (``permessage-deflate`` if the
                 client offered it) or any string, sent as the header value
``headers``      extra ``[name, value]`` pairs
``stall``        true: read the request, signal "request", never answer
``trickle``      seconds: write the response one byte at a time, this long between bytes
                 (stops when the client goes away)
``raw``          a str sent instead of the whole response (then the steps run)

``steps``, run in order once the handshake is answered (frames are built here, so they
can be invalid on purpose; text is UTF-8, ``{"hex": ...}`` is raw bytes):

``["text", s, {opts}]`` ``["binary", hex, {opts}]`` ``["ping", s]`` ``["pong", s]``
``["cont", s|{"hex"}, {opts}]`` ``["frame", opcode, payload, {opts}]``
    opts: ``fin`` (default true), ``rsv1``/``rsv2``/``rsv3``, ``mask`` (a masked server
    frame, which the client must reject), ``compress`` (permessage-deflate the payload
    and set RSV1), ``opcode`` override
``["close", code, reason]``   a close frame with any code (even one invalid on the wire);
                              code None: an empty close frame; reason may be {"hex"}
``["raw", hex]``              raw bytes on the wire
``["wait_close"]``            wait (up to 10 s) for the client's close frame
``["wait_messages", n]``      wait until the client has sent n data messages
``["echo_close"]``            send back the client's close frame payload as received
``["signal", name]``          tell the scenario's control socket ``name`` (below)
``["header", opcode, length, {opts}]``  a frame header alone, declaring ``length``
                              payload bytes (any, up to 2**64-1); nothing follows
``["flood", op, count, size]`` ``count`` frames of opcode name ``op`` ("ping", ...) with
                              ``size``-byte payloads, as fast as the client reads
``["endless", kind, size]``   until the client goes away (bounded by ENDLESS seconds):
                              "payload" streams zero bytes (after a ``header`` step: an
                              endless message), "fragments" sends a non-final binary frame
                              then non-final continuation frames of ``size`` bytes
``["stop_reading"]``          stop reading from the client (its data piles up in the
                              kernel buffers: a server that ignores pongs and close frames)
``["resume_reading"]``        read again
``["wait_pong", s]``          wait (up to 10 s) for a pong whose payload is s
``["sleep", s]``              wait s seconds
``["drop"]``                  close TCP now, no close frame (FIN)
``["reset"]``                 abort TCP with RST (SO_LINGER 0)
``["end"]``                   end TCP now: FIN first, then close (after a close handshake)

``tail`` says what happens after the steps: "serve" (default) echoes data messages,
answers the client's close frame by echoing it, and closes TCP once both close frames
are exchanged; "hold" waits (up to 6 s) for the client to close TCP. A test may end a connection at any
time with :meth:`ScriptedServer.abort` (TCP reset), e.g. one whose server stopped reading
and so cannot see the client go.

Any other path gets a plain, correct server (the default handshake and tail, nothing
recorded): the argument table's valid URLs connect there.

Control sockets: a client may open ``/signal/CID`` (a normal, correct WebSocket); every
``signal`` step of connection CID is sent there as a text message (queued until the
control socket is there). A stalled handshake signals "request" once the request is in,
so a scenario can act on it without sleeping.

Records: :meth:`ScriptedServer.record` returns, per cid, the request (path, headers), the
client's data messages (text, or ``{"hex"}``), its close frame (``{"code", "reason"}``,
``{"code": None}`` for an empty one, None if it sent none), every frame's opcode (and the
payload of pings and pongs, hex), and whether the client closed TCP (``eof``).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import socket
import struct
import threading
import zlib
from collections.abc import AsyncIterator
from contextlib import AbstractContextManager, asynccontextmanager
from typing import Any

from support.server_thread import server_thread

__all__ = ["ScriptedServer", "running_scripted_server"]

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OPCODES = {"cont": 0, "text": 1, "binary": 2, "close": 8, "ping": 9, "pong": 10}
OPNAMES = {v: k for k, v in OPCODES.items()}
WAIT = 10.0  # bound of every wait of a script step
HOLD = 6.0  # bound of the "hold" tail (longer than the 5 s a scenario gives a hanging client)
ENDLESS = 30.0  # bound of an "endless" step (so a client that never gives up cannot pin the server)


def accept_key(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def _payload(value: Any) -> bytes:
    if value is None:
        return b""
    if isinstance(value, dict):
        return bytes.fromhex(value["hex"])
    return str(value).encode("utf-8", "surrogatepass")


def build_frame(opcode: int, payload: bytes, *, fin: bool = True, rsv1: bool = False,
                rsv2: bool = False, rsv3: bool = False, mask: bool = False) -> bytes:
    """One frame, laid out as RFC 6455 section 5.2 says (nothing is validated)."""
    head = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | (0x20 if rsv2 else 0) | \
        (0x10 if rsv3 else 0) | (opcode & 0x0F)
    length = len(payload)
    mask_bit = 0x80 if mask else 0
    if length < 126:
        header = struct.pack("!BB", head, mask_bit | length)
    elif length < 2**16:
        header = struct.pack("!BBH", head, mask_bit | 126, length)
    else:
        header = struct.pack("!BBQ", head, mask_bit | 127, length)
    if mask:
        key = b"\x37\xfa\x21\x3d"
        payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
        header += key
    return header + payload


def build_header(opcode: int, length: int, *, fin: bool = True, rsv1: bool = False,
                 rsv2: bool = False, rsv3: bool = False, mask: bool = False) -> bytes:
    """A frame header alone, declaring ``length`` payload bytes (the payload is up to the
    caller: an endless message, a truncated frame...)."""
    head = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | (0x20 if rsv2 else 0) | \
        (0x10 if rsv3 else 0) | (opcode & 0x0F)
    mask_bit = 0x80 if mask else 0
    if length < 126:
        header = struct.pack("!BB", head, mask_bit | length)
    elif length < 2**16:
        header = struct.pack("!BBH", head, mask_bit | 126, length)
    else:
        header = struct.pack("!BBQ", head, mask_bit | 127, length)
    return header + (b"\x37\xfa\x21\x3d" if mask else b"")


class _Connection:
    """One scripted connection: its record and the state the steps look at."""

    def __init__(self, server: ScriptedServer, cid: str, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter, record: dict[str, Any]) -> None:
        self.server = server
        self.cid = cid
        self.reader = reader
        self.writer = writer
        self.record = record
        self.changed = asyncio.Event()
        self.close_frame: bytes | None = None  # the client's close payload, once received
        self.close_sent = False
        self.eof = False
        self.compress = False
        self.no_context_takeover = False
        self._compressor: Any = None
        self._decompressor: Any = None

    # -- writing ----------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        if not self.writer.is_closing():
            self.writer.write(data)

    @property
    def gone(self) -> bool:
        """The client went away (or the test aborted the connection)."""
        return self.writer.is_closing() or self.reader.at_eof()

    def frame(self, opcode: int, payload: bytes, opts: dict[str, Any]) -> None:
        rsv1 = bool(opts.get("rsv1"))
        if opts.get("compress"):
            payload = self.deflate(payload)
            rsv1 = True
        self.write(build_frame(int(opts.get("opcode", opcode)), payload,
                               fin=opts.get("fin", True), rsv1=rsv1, rsv2=bool(opts.get("rsv2")),
                               rsv3=bool(opts.get("rsv3")), mask=bool(opts.get("mask"))))

    def deflate(self, payload: bytes) -> bytes:
        if self._compressor is None or self.no_context_takeover:
            self._compressor = zlib.compressobj(wbits=-15)
        data = self._compressor.compress(payload) + self._compressor.flush(zlib.Z_SYNC_FLUSH)
        return data[:-4] if data.endswith(b"\x00\x00\xff\xff") else data

    def inflate(self, payload: bytes) -> bytes:
        if self._decompressor is None or self._decompressor.eof:
            self._decompressor = zlib.decompressobj(wbits=-15)
        return self._decompressor.decompress(payload + b"\x00\x00\xff\xff")

    # -- reading the client's frames ----------------------------------------------------

    async def read_frames(self) -> None:
        record = self.record
        fragments: list[bytes] = []
        message_op = 0
        message_compressed = False
        try:
            while True:
                head = await self.reader.readexactly(2)
                fin, rsv1, opcode = head[0] & 0x80, head[0] & 0x40, head[0] & 0x0F
                masked, length = head[1] & 0x80, head[1] & 0x7F
                if length == 126:
                    length = struct.unpack("!H", await self.reader.readexactly(2))[0]
                elif length == 127:
                    length = struct.unpack("!Q", await self.reader.readexactly(8))[0]
                key = await self.reader.readexactly(4) if masked else b""
                data = await self.reader.readexactly(length)
                if masked:
                    data = bytes(b ^ key[i % 4] for i, b in enumerate(data))
                entry = {"op": OPNAMES.get(opcode, opcode), "fin": bool(fin),
                         "rsv1": bool(rsv1), "masked": bool(masked), "length": length}
                if opcode in (9, 10):  # ping, pong: their payload too
                    entry["data"] = data.hex()
                record["frames"].append(entry)
                if opcode in (1, 2):
                    fragments, message_op, message_compressed = [data], opcode, bool(rsv1)
                elif opcode == 0:
                    fragments.append(data)
                elif opcode == 8:
                    self.close_frame = data
                    if len(data) >= 2:
                        code = struct.unpack("!H", data[:2])[0]
                        reason: Any = data[2:].decode("utf-8", "replace")
                        record["close"] = {"code": code, "reason": reason}
                    else:
                        record["close"] = {"code": None, "reason": data.hex()}
                if opcode in (0, 1, 2) and fin:
                    body = b"".join(fragments)
                    if message_compressed:
                        body = self.inflate(body)
                    if message_op == 1:
                        try:
                            record["messages"].append(body.decode("utf-8"))
                        except UnicodeDecodeError:
                            record["messages"].append({"hex": body.hex(), "invalid_utf8": True})
                    else:
                        record["messages"].append({"hex": body.hex()})
                    fragments = []
                self.changed.set()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.eof = True
            record["eof"] = True
            self.changed.set()

    async def wait_until(self, predicate: Any, bound: float = WAIT) -> bool:
        try:
            async with asyncio.timeout(bound):
                while not predicate():
                    self.changed.clear()
                    await self.changed.wait()
        except TimeoutError:
            self.record["timeouts"] = self.record.get("timeouts", 0) + 1
            return False
        return True


class ScriptedServer:
    """The server (see the module docstring). Thread-safe: register and read records
    from the test's thread; the server runs on a loop of its own."""

    def __init__(self) -> None:
        self.port = 0
        self.loop: asyncio.AbstractEventLoop | None = None
        self._scripts: dict[str, dict[str, Any]] = {}
        self._records: dict[str, dict[str, Any]] = {}
        self._done: dict[str, threading.Event] = {}
        self._signals: dict[str, list[str]] = {}
        self._signal_writers: dict[str, asyncio.StreamWriter] = {}
        self._lock = threading.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._connections: dict[str, _Connection] = {}

    # -- the test's side ------------------------------------------------------------------

    def register(self, cid: str, script: dict[str, Any]) -> None:
        # A JSON round trip: the script is data, and the server must not share it.
        with self._lock:
            self._scripts[cid] = json.loads(json.dumps(script))
            self._done[cid] = threading.Event()

    def record(self, cid: str, timeout: float = 10.0) -> dict[str, Any] | None:
        """What connection ``cid`` saw, once it ended (None if it never connected)."""
        with self._lock:
            done = self._done.get(cid)
            started = cid in self._records
        if done is None:
            raise KeyError(cid)
        if not started:
            return None
        done.wait(timeout)
        with self._lock:
            return json.loads(json.dumps(self._records[cid]))

    def url(self, cid: str) -> str:
        return f"ws://127.0.0.1:{self.port}/s/{cid}"

    def abort(self, cid: str) -> None:
        """End connection ``cid`` now with a TCP reset, wherever its script is (a server
        that stopped reading cannot see its client go: the test ends it)."""
        assert self.loop is not None

        def abort() -> None:
            conn = self._connections.get(cid)
            if conn is not None and not conn.writer.is_closing():
                _reset(conn.writer)

        self.loop.call_soon_threadsafe(abort)

    def forget(self, cid: str) -> None:
        """Drop what the server keeps for ``cid`` (long fuzz runs register many)."""
        with self._lock:
            self._scripts.pop(cid, None)
            self._records.pop(cid, None)
            self._done.pop(cid, None)

    # -- serving ------------------------------------------------------------------------------

    @asynccontextmanager
    async def listening(self, rcvbuf: int | None) -> AsyncIterator[ScriptedServer]:
        self.loop = asyncio.get_running_loop()
        sock = socket.socket()
        if rcvbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.bind(("127.0.0.1", 0))
        tcp = await asyncio.start_server(self.handle, sock=sock, limit=2**20)
        self.port = tcp.sockets[0].getsockname()[1]
        try:
            yield self
        finally:
            tcp.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            try:
                first = await asyncio.wait_for(reader.readexactly(1), WAIT)
                if first == b"\x16":  # a TLS ClientHello: this server speaks no TLS
                    return
                head = first + await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError,
                    ConnectionError):
                return
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = (lines[0].split(" ") + ["", ""])[:3]
            headers = [tuple(line.split(":", 1)) for line in lines[1:] if ":" in line]
            headers = [(name.strip(), value.strip()) for name, value in headers]
            path = target.split("?", 1)[0]
            if path.startswith("/signal/"):
                await self._control(path[len("/signal/"):], headers, reader, writer)
            elif path.startswith("/s/"):
                cid = path[len("/s/"):].split("/", 1)[0]
                with self._lock:
                    script = self._scripts.get(cid)
                    fresh = script is not None and cid not in self._records
                    if fresh:
                        record: dict[str, Any] = {
                            "method": method, "target": target,
                            "headers": [[n.lower(), v] for n, v in headers],
                            "frames": [], "messages": [], "close": None, "eof": False,
                        }
                        self._records[cid] = record
                if not fresh:
                    writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                    return
                assert script is not None
                try:
                    await self._scripted(cid, script, record, headers, reader, writer)
                except Exception as exc:  # a broken script: visible in the record
                    record["server_error"] = f"{type(exc).__name__}: {exc}"
                finally:
                    self._done[cid].set()
            else:  # any other path: a plain, correct server (echo), nothing recorded
                record = {"headers": [], "frames": [], "messages": [], "close": None, "eof": False}
                await self._scripted("", {}, record, headers, reader, writer)
        finally:
            if not writer.is_closing():
                writer.close()
            self._tasks.discard(task)

    def _signal(self, cid: str, name: str) -> None:
        writer = self._signal_writers.get(cid)
        if writer is not None and not writer.is_closing():
            writer.write(build_frame(1, name.encode()))
        else:
            self._signals.setdefault(cid, []).append(name)

    async def _control(self, cid: str, headers: list[tuple[str, str]],
                       reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        key = next((v for n, v in headers if n.lower() == "sec-websocket-key"), "")
        writer.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept_key(key)}\r\n\r\n").encode())
        self._signal_writers[cid] = writer
        for name in self._signals.pop(cid, []):
            writer.write(build_frame(1, name.encode()))
        try:  # until the client closes: echo its close frame, then end
            while True:
                head = await reader.readexactly(2)
                length = head[1] & 0x7F
                if length == 126:
                    length = struct.unpack("!H", await reader.readexactly(2))[0]
                elif length == 127:
                    length = struct.unpack("!Q", await reader.readexactly(8))[0]
                key_bytes = await reader.readexactly(4) if head[1] & 0x80 else b""
                data = await reader.readexactly(length)
                if head[0] & 0x0F == 8:
                    data = bytes(b ^ key_bytes[i % 4] for i, b in enumerate(data)) if key_bytes else data
                    writer.write(build_frame(8, data))
                    await writer.drain()
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._signal_writers.pop(cid, None)

    async def _scripted(self, cid: str, script: dict[str, Any], record: dict[str, Any],
                        headers: list[tuple[str, str]], reader: asyncio.StreamReader,
                        writer: asyncio.StreamWriter) -> None:
        conn = _Connection(self, cid, reader, writer, record)
        hs = script.get("handshake", {})
        if hs.get("stall"):
            self._signal(cid, "request")
            try:  # until the client gives up (closes TCP)
                await asyncio.wait_for(reader.read(), 30)
            except (TimeoutError, ConnectionError):
                pass
            record["eof"] = True
            return
        if cid:
            self._connections[cid] = conn
        try:
            response, continues = self._answer(conn, hs, headers)
            if hs.get("trickle"):
                if not await self._trickle(conn, response, float(hs["trickle"])):
                    return
            else:
                conn.write(response)
            if not continues:
                await writer.drain()
                return
            await self._run(conn, script)
        finally:
            if self._connections.get(cid) is conn:
                del self._connections[cid]

    async def _trickle(self, conn: _Connection, response: bytes, interval: float) -> bool:
        """Write ``response`` one byte at a time; False if the client went away first."""
        for i in range(len(response)):
            if conn.gone:
                break
            conn.write(response[i:i + 1])
            try:
                await conn.writer.drain()
            except ConnectionError:
                break
            if i + 1 < len(response):
                await asyncio.sleep(interval)
        else:
            return True
        conn.record["eof"] = True
        return False

    async def _run(self, conn: _Connection, script: dict[str, Any]) -> None:
        writer = conn.writer
        reading = asyncio.ensure_future(conn.read_frames())
        try:
            try:
                ended = await self._steps(conn, script.get("steps", []))
                if not ended:
                    await self._tail(conn, script.get("tail", "serve"))
            except ConnectionError:  # the client (or the test) ended it mid-step
                pass
        finally:
            if not writer.is_closing():
                writer.close()
            try:
                await asyncio.wait_for(asyncio.shield(reading), 2)
            except TimeoutError:
                reading.cancel()

    def _answer(self, conn: _Connection, hs: dict[str, Any],
                headers: list[tuple[str, str]]) -> tuple[bytes, bool]:
        """The handshake response, and False if the connection ends with it."""
        get = {n.lower(): v for n, v in reversed(headers)}
        if "raw" in hs:
            return hs["raw"].encode("latin-1"), True
        status = int(hs.get("status", 101))
        if status != 101:
            lines = [f"HTTP/1.1 {status} {hs.get('reason', 'Nope')}", "Content-Length: 0",
                     "Connection: close"]
            if "location" in hs:
                lines.append(f"Location: {hs['location']}")
            return ("\r\n".join(lines) + "\r\n\r\n").encode(), False
        lines = ["HTTP/1.1 101 Switching Protocols"]
        if hs.get("upgrade", "websocket") is not None:
            lines.append(f"Upgrade: {hs.get('upgrade', 'websocket')}")
        if hs.get("connection", "Upgrade") is not None:
            lines.append(f"Connection: {hs.get('connection', 'Upgrade')}")
        accept = hs.get("accept", "ok")
        if accept == "ok":
            lines.append(f"Sec-WebSocket-Accept: {accept_key(get.get('sec-websocket-key', ''))}")
        elif accept == "wrong":
            lines.append(f"Sec-WebSocket-Accept: {accept_key('not the key')}")
        protocol = hs.get("protocol", "first")
        if protocol == "first":
            offered = [p.strip() for p in get.get("sec-websocket-protocol", "").split(",") if p.strip()]
            protocol = offered[0] if offered else None
        if protocol is not None:
            lines.append(f"Sec-WebSocket-Protocol: {protocol}")
        extensions = hs.get("extensions")
        if extensions == "deflate":
            extensions = "permessage-deflate" if "permessage-deflate" in \
                get.get("sec-websocket-extensions", "") else None
        if extensions is not None:
            lines.append(f"Sec-WebSocket-Extensions: {extensions}")
            conn.compress = "permessage-deflate" in extensions
            conn.no_context_takeover = "server_no_context_takeover" in extensions
        for name, value in hs.get("headers", []):
            lines.append(f"{name}: {value}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode(), True

    async def _steps(self, conn: _Connection, steps: list[list[Any]]) -> bool:
        """Run the steps; True if the connection is over (no tail)."""
        for step in steps:
            op, args = step[0], step[1:]
            opts = args[-1] if args and isinstance(args[-1], dict) and "hex" not in args[-1] else {}
            if op in ("text", "binary", "ping", "pong", "cont"):
                value = args[0] if args else ""
                if op == "binary" and isinstance(value, str):
                    value = {"hex": value}
                conn.frame(OPCODES[op], _payload(value), opts)
            elif op == "frame":
                conn.frame(int(args[0]), _payload(args[1]), opts)
            elif op == "close":
                code, reason = args[0], args[1] if len(args) > 1 else ""
                payload = b"" if code is None else struct.pack("!H", code) + _payload(reason)
                conn.frame(8, payload, opts)
                conn.close_sent = True
            elif op == "raw":
                conn.write(bytes.fromhex(args[0]))
            elif op == "header":
                conn.write(build_header(int(args[0]), int(args[1]), fin=opts.get("fin", True),
                                        rsv1=bool(opts.get("rsv1")), mask=bool(opts.get("mask"))))
            elif op == "flood":
                frame = build_frame(OPCODES[args[0]], b"p" * int(args[2]))
                for i in range(int(args[1])):
                    conn.write(frame)
                    if i % 256 == 255:
                        await conn.writer.drain()  # at the pace the client reads
                    if conn.gone:
                        return True
            elif op == "endless":
                if not await self._endless(conn, args[0], int(args[1])):
                    return True
            elif op == "stop_reading":
                conn.writer.transport.pause_reading()  # type: ignore[attr-defined]
            elif op == "resume_reading":
                conn.writer.transport.resume_reading()  # type: ignore[attr-defined]
            elif op == "wait_pong":
                hexed = _payload(args[0]).hex()
                await conn.wait_until(lambda: conn.eof or any(
                    f["op"] == "pong" and f.get("data") == hexed for f in conn.record["frames"]))
            elif op == "sleep":
                await asyncio.sleep(float(args[0]))
            elif op == "wait_close":
                await conn.wait_until(lambda: conn.close_frame is not None or conn.eof)
            elif op == "wait_messages":
                await conn.wait_until(lambda: len(conn.record["messages"]) >= args[0] or conn.eof)
            elif op == "wait_eof":
                await conn.wait_until(lambda: conn.eof)
            elif op == "echo_close":
                conn.frame(8, conn.close_frame or b"", {})
                conn.close_sent = True
            elif op == "signal":
                self._signal(conn.cid, args[0])
            elif op == "drop":
                await conn.writer.drain()
                conn.writer.close()
                return True
            elif op == "reset":
                _reset(conn.writer)
                return True
            elif op == "end":
                await conn.writer.drain()
                # The FIN goes out now, right behind what was written: a client's reply
                # that arrives before close() then meets a reset only after the FIN, never
                # instead of it (which close() alone races against).
                if conn.writer.can_write_eof():
                    conn.writer.write_eof()
                conn.writer.close()
                return True
            else:
                raise ValueError(f"unknown step {op!r}")
            await conn.writer.drain()
        return False

    async def _endless(self, conn: _Connection, kind: str, size: int) -> bool:
        """Send forever (until the client goes away, at most ENDLESS s); False when the
        connection is over."""
        if kind == "payload":
            chunk = bytes(size)
        elif kind == "fragments":
            conn.write(build_frame(2, bytes(size), fin=False))
            chunk = build_frame(0, bytes(size), fin=False)
        else:
            raise ValueError(f"unknown endless kind {kind!r}")
        deadline = asyncio.get_running_loop().time() + ENDLESS
        while not conn.gone and asyncio.get_running_loop().time() < deadline:
            conn.write(chunk)
            await conn.writer.drain()
        return False

    async def _tail(self, conn: _Connection, tail: str) -> None:
        if tail == "hold":  # Chromium closes TCP itself 2 s after the closing handshake
            await conn.wait_until(lambda: conn.eof, HOLD)
            return
        echoed = 0
        while True:
            if conn.close_frame is not None:
                if not conn.close_sent:
                    conn.frame(8, conn.close_frame, {})
                    conn.close_sent = True
                break
            if conn.eof:
                break
            messages = conn.record["messages"]
            while echoed < len(messages):
                message = messages[echoed]
                echoed += 1
                if isinstance(message, str):
                    conn.frame(1, message.encode("utf-8"), {"compress": conn.compress})
                else:
                    conn.frame(2, bytes.fromhex(message["hex"]), {"compress": conn.compress})
            await conn.writer.drain()
            if not await conn.wait_until(
                    lambda: conn.close_frame is not None or conn.eof or len(messages) > echoed):
                break
        await conn.writer.drain()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Abort TCP with RST (SO_LINGER 0)."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    writer.transport.abort()


def running_scripted_server(rcvbuf: int | None = None) -> AbstractContextManager[ScriptedServer]:
    """Run a :class:`ScriptedServer` on 127.0.0.1 in a thread of its own. ``rcvbuf``: the
    SO_RCVBUF of every connection (set on the listening socket, so each connection
    advertises a small window from the start: a client's unread output then piles up in
    the client. Shrinking it on an open connection instead makes Linux drop the client's
    segments, ACKs included, and the server's own sending stalls)."""
    server = ScriptedServer()
    return server_thread(lambda: server.listening(rcvbuf), "scripted-server")
