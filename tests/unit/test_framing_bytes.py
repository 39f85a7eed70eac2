"""pyws's copy-saving framing compared, byte for byte, with websockets' own.

The shim frames outgoing messages with ``serialize_frame`` (websockets' ``Frame``, its
extensions and its C masking, the payload masked once into a buffer of its own) instead of
``Frame.serialize``, and reads incoming bytes with ``ChunkReader`` instead of websockets'
``StreamReader``. These tests hold them to websockets' bytes: every opcode, every size class
(0, 125, 126, 65535, 65536, several MiB), fragments, permessage-deflate on and off.

The mask makes every client frame random: the comparisons draw the same mask on both sides
by replacing ``secrets.token_bytes`` (where websockets draws each frame's mask) and pyws's
``draw_mask`` (which draws them ahead from the same source) with one fixed sequence; one
test also reads pyws's frames back with websockets' parser, with the real random masks.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import random
import secrets
import socket
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.client import ClientProtocol
from websockets.exceptions import ProtocolError
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    PerMessageDeflate,
    ServerPerMessageDeflateFactory,
)
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.server import ServerProtocol
from websockets.streams import StreamReader
from websockets.uri import parse_uri

from pyws._cpython import _outbox, _websockets_shim
from pyws._cpython._browser_client import BrowserClient, Message, Opened
from pyws._cpython._websockets_shim import (
    SEPARATE_PAYLOAD,
    BrowserClientProtocol,
    BrowserDeflateFactory,
    ChunkReader,
    serialize_frame,
)
from pyws._options import DEFAULT_OPTIONS
from pyws._spec import parse_url

MiB = 1 << 20
SIZES = [0, 1, 125, 126, 127, SEPARATE_PAYLOAD - 1, SEPARATE_PAYLOAD, 65535, 65536, 3 * MiB + 7]
CONTROL_SIZES = [0, 1, 125]
DATA_OPCODES = [Opcode.TEXT, Opcode.BINARY]
CONTROL_OPCODES = [Opcode.CLOSE, Opcode.PING, Opcode.PONG]


def payload(size: int, seed: int = 0) -> bytes:
    """``size`` bytes of printable ASCII (valid UTF-8 for text frames)."""
    rng = random.Random(seed * 1_000_003 + size)
    block = bytes(rng.randrange(32, 127) for _ in range(min(size, 4096)))
    return (block * (size // 4096 + 1))[:size]


def close_payload(size: int) -> bytes:
    return b"\x03\xe8" + b"r" * (size - 2) if size >= 2 else b""


@pytest.fixture
def fixed_masks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """websockets and pyws both draw masks from ``secrets.token_bytes(4)``: the same
    sequence of masks for both, so that their frames can be compared byte for byte."""
    counters: dict[str, Iterator[int]] = {}
    real = secrets.token_bytes

    def token_bytes(n: int | None = None) -> bytes:
        if n != 4:  # a handshake key
            return real(n)
        # One sequence per caller, so that pyws's and websockets' n-th masks are equal.
        caller = sys._getframe(1).f_globals["__name__"]
        counter = counters.setdefault(caller, itertools.count(1))
        return (next(counter) * 0x9E3779B1 & 0xFFFFFFFF).to_bytes(4, "big")

    monkeypatch.setattr(secrets, "token_bytes", token_bytes)
    monkeypatch.setattr(_websockets_shim, "draw_mask", lambda: token_bytes(4))
    yield


def deflate() -> PerMessageDeflate:
    """permessage-deflate as pyws negotiates it against a server's defaults."""
    return PerMessageDeflate(False, False, 15, 15)


def websockets_bytes(frames: list[Frame], extensions: list[Any]) -> bytes:
    return b"".join(frame.serialize(mask=True, extensions=extensions) for frame in frames)


def pyws_bytes(frames: list[Frame], extensions: list[Any]) -> bytes:
    chunks: list[bytes] = []
    for frame in frames:
        chunks += serialize_frame(frame, extensions)
    return b"".join(chunks)


def frame_cases() -> list[tuple[str, list[Frame]]]:
    cases: list[tuple[str, list[Frame]]] = []
    for opcode in DATA_OPCODES:
        for size in SIZES:
            cases.append((f"{opcode.name}-{size}", [Frame(opcode, payload(size))]))
        # A fragmented message: first frame, continuations (all size classes), last frame.
        parts = [Frame(opcode, payload(126), fin=False)]
        parts += [Frame(Opcode.CONT, payload(size, 1), fin=False) for size in SIZES]
        parts += [Frame(Opcode.CONT, payload(65536, 2), fin=True)]
        cases.append((f"{opcode.name}-fragmented", parts))
    for opcode in CONTROL_OPCODES:
        for size in CONTROL_SIZES:
            data = close_payload(size) if opcode is Opcode.CLOSE else payload(size)
            cases.append((f"{opcode.name}-{size}", [Frame(opcode, data)]))
    return cases


CASES = frame_cases()


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "deflate"])
@pytest.mark.parametrize("frames", [frames for _, frames in CASES], ids=[name for name, _ in CASES])
def test_frames_are_websockets_bytes(fixed_masks: None, frames: list[Frame], compressed: bool) -> None:
    ours = [deflate()] if compressed else []
    theirs = [deflate()] if compressed else []
    assert pyws_bytes(frames, ours) == websockets_bytes(frames, theirs)


def test_a_conversation_is_websockets_bytes(fixed_masks: None) -> None:
    """One compressor for many messages (context takeover), control frames between them:
    every frame of the sequence is websockets' frame."""
    frames = [frame for _, case in CASES for frame in case]
    random.Random(7).shuffle(frames)  # fragments out of order do not matter to the framing
    for compressed in (False, True):
        ours = [deflate()] if compressed else []
        theirs = [deflate()] if compressed else []
        assert pyws_bytes(frames, ours) == websockets_bytes(frames, theirs)


def test_large_payloads_are_a_chunk_of_their_own(fixed_masks: None) -> None:
    for size in SIZES:
        data = payload(size)
        chunks = serialize_frame(Frame(Opcode.BINARY, data), [])
        [expected] = [Frame(Opcode.BINARY, data).serialize(mask=True)]
        if size >= SEPARATE_PAYLOAD:
            header, masked = chunks
            assert len(masked) == size and len(header) == len(expected) - size
        else:
            assert len(chunks) == 1
    # The frames above drew the same masks on both sides.
    assert serialize_frame(Frame(Opcode.PING, b""), []) == [Frame(Opcode.PING, b"").serialize(mask=True)]


def test_what_websockets_refuses_pyws_refuses() -> None:
    for frame in (Frame(Opcode.PING, b"x" * 126), Frame(Opcode.CLOSE, b"\x03\xe8" + b"r" * 124),
                  Frame(Opcode.PONG, b"", fin=False), Frame(Opcode.BINARY, b"", rsv2=True)):
        with pytest.raises(ProtocolError) as theirs:
            frame.serialize(mask=True)
        with pytest.raises(ProtocolError) as ours:
            serialize_frame(frame, [])
        assert str(ours.value) == str(theirs.value)


def test_random_masks_read_back_with_websockets_parser() -> None:
    """No fixed mask: websockets' server-side parser unmasks pyws's frames with the mask
    each header carries, and finds websockets' frames; the masks differ per frame."""
    for _, frames in CASES:
        for compressed in (False, True):
            reader = StreamReader()
            reader.feed_data(pyws_bytes(frames, [deflate()] if compressed else []))
            decoder = [deflate()] if compressed else []
            for frame in frames:
                parser = Frame.parse(reader.read_exact, mask=True, extensions=decoder)
                with pytest.raises(StopIteration) as done:
                    next(parser)
                assert done.value.value == frame
            assert not reader.buffer
    masks = {serialize_frame(Frame(Opcode.BINARY, b"x"), [])[0][2:6] for _ in range(20)}
    assert len(masks) > 1


# -- the protocol: pyws's client against websockets' own, after a real handshake ----------


def opened(protocol: ClientProtocol, compressed: bool) -> ClientProtocol:
    server = ServerProtocol(extensions=[ServerPerMessageDeflateFactory()] if compressed else None)
    protocol.send_request(protocol.connect())
    server.receive_data(b"".join(protocol.data_to_send()))
    [request] = server.events_received()
    server.send_response(server.accept(request))  # type: ignore[arg-type]
    protocol.receive_data(b"".join(server.data_to_send()))
    assert protocol.state is State.OPEN
    assert bool(protocol.extensions) is compressed
    return protocol


def client_pair(compressed: bool) -> tuple[ClientProtocol, BrowserClientProtocol]:
    uri = parse_uri("ws://example.com/")
    theirs = ClientProtocol(uri, extensions=[ClientPerMessageDeflateFactory(client_max_window_bits=True)]
                            if compressed else None)
    ours = BrowserClientProtocol(uri, extensions=[BrowserDeflateFactory()] if compressed else None)
    opened(theirs, compressed)
    opened(ours, compressed)
    return theirs, ours


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "deflate"])
def test_protocol_writes_websockets_bytes(fixed_masks: None, compressed: bool) -> None:
    """Every send method of the protocol: the same bytes out of pyws's protocol as out of
    websockets' ClientProtocol, message after message on one connection."""
    theirs, ours = client_pair(compressed)
    for protocol in (theirs, ours):
        protocol.data_to_send()
    steps: list[tuple[str, tuple[Any, ...]]] = []
    for size in SIZES:
        steps += [("send_text", (payload(size),)), ("send_binary", (payload(size, 3),))]
        steps += [("send_ping", (payload(min(size, 125)),)), ("send_pong", (payload(min(size, 125), 4),))]
    steps += [("send_binary", (payload(70000), False)), ("send_continuation", (payload(126), False)),
              ("send_continuation", (payload(0), True)), ("send_close", (1000, "bye"))]
    for name, args in steps:
        getattr(theirs, name)(*args)
        getattr(ours, name)(*args)
        sent = ours.data_to_send()
        assert b"".join(sent) == b"".join(theirs.data_to_send()), (name, len(args[0]))
        assert all(type(chunk) is bytes for chunk in sent)


# -- receiving: ChunkReader against websockets' StreamReader -------------------------------


def chunked(data: bytes, rng: random.Random, sizes: list[int] | None = None) -> Iterator[bytes]:
    """``data`` in reads of random ``sizes`` (1 byte to 300 KiB by default)."""
    sizes = sizes or [1, 2, 3, 7, 100, 4096] * 4 + [65536, 262144, 300_000]
    position = 0
    while position < len(data):
        size = rng.choice(sizes)
        yield data[position:position + size]
        position += size


#: (stream length, the reads' sizes, the sizes of what arrives at once)
READ_PATTERNS = {
    "tiny": (60_000, [0, 1, 2, 3, 8, 125, 126], [1, 2, 3, 7]),
    "frames": (1_500_000, [2, 8, 126, 4096, 65535, 65536], [100, 4096, 65536]),
    "large": (8_000_000, [2, 8, 65536, 300_000, MiB + 3], [65536, 262144, 300_000]),
    "mixed": (4_000_000, [0, 1, 2, 3, 8, 125, 126, 4096] * 20 + [65535, 65536, 300_000, MiB + 3],
              [1, 2, 3, 7, 100, 4096] * 4 + [65536, 262144, 300_000]),
}


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("pattern", READ_PATTERNS)
def test_chunk_reader_reads_what_stream_reader_reads(pattern: str, seed: int) -> None:
    """The same reads (lines, exact sizes, to EOF) over the same stream cut into random
    reads, some fed ahead: the same bytes, the same ends; pyws's exact reads are ``bytes``."""
    length, read_sizes, arrival_sizes = READ_PATTERNS[pattern]
    rng = random.Random(seed)
    stream = bytes(rng.randrange(256) for _ in range(5000)) * (length // 5000)
    stream = b"HTTP/1.1 101 OK\r\nA: b\r\n\r\n" + stream
    theirs, ours = StreamReader(), ChunkReader()
    feed = chunked(stream, rng, arrival_sizes)
    got = 0
    for _ in range(3):  # the handshake response's lines, read by websockets' own code
        got += len(drive_pair(theirs, ours, "read_line", (100,), feed))
    while got < len(stream) * 3 // 4:
        for _ in range(rng.choice([0, 0, 0, 1, 3])):  # data waiting before the read
            chunk = next(feed, b"")
            theirs.feed_data(chunk)
            ours.feed_data(chunk)
        data = drive_pair(theirs, ours, "read_exact", (rng.choice(read_sizes),), feed)
        got += len(data)
        assert drive_pair(theirs, ours, "at_eof", (), feed) is False
    rest = drive_pair(theirs, ours, "read_to_eof", (len(stream),), feed)
    assert got + len(rest) == len(stream)
    assert drive_pair(theirs, ours, "at_eof", (), feed) is True
    with pytest.raises(EOFError):
        next(ours.read_exact(1))


def test_chunk_reader_reads_across_reads() -> None:
    """A read that starts inside one arrival and ends with another's last byte, then one
    that starts a new arrival."""
    reader = ChunkReader()
    reader.feed_data(b"abcdef")
    assert next_value(reader.read_exact(2)) == b"ab"
    reader.feed_data(b"gh")
    assert next_value(reader.read_exact(6)) == b"cdefgh"
    reader.feed_data(b"ijk")
    assert next_value(reader.read_exact(3)) == b"ijk"
    reader.feed_data(b"lmn")
    reader.feed_data(b"opq")
    assert next_value(reader.read_exact(1)) == b"l"
    assert next_value(reader.read_exact(4)) == b"mnop"
    assert next_value(reader.read_exact(1)) == b"q"
    assert reader.size == 0


def next_value(read: Iterator[Any]) -> Any:
    """The value of a read that needs no more data."""
    with pytest.raises(StopIteration) as done:
        next(read)
    return done.value.value


def drive_pair(theirs: StreamReader, ours: ChunkReader, method: str, args: tuple[Any, ...],
               feed: Iterator[bytes]) -> Any:
    """The same read on both readers, fed the same chunks while either waits."""
    read_theirs = getattr(theirs, method)(*args)
    read_ours = getattr(ours, method)(*args)
    results: dict[str, Any] = {}
    while len(results) < 2:
        for name, read in (("theirs", read_theirs), ("ours", read_ours)):
            if name in results:
                continue
            try:
                next(read)
            except StopIteration as done:
                results[name] = done.value
        if len(results) < 2:
            chunk = next(feed, None)
            for reader in (theirs, ours):
                if chunk is None:
                    reader.feed_eof()
                else:
                    reader.feed_data(chunk)
            if chunk is None:
                feed = iter(())
    assert results["ours"] == results["theirs"], method
    if method == "read_exact":
        assert type(results["ours"]) is bytes
    assert ours.size == len(theirs.buffer)
    return results["ours"]


def test_chunk_reader_ends_like_stream_reader() -> None:
    for n, fed in ((4, b"abc"), (1, b""), (10, b"x" * 9)):
        messages = []
        for reader in (StreamReader(), ChunkReader()):
            reader.feed_data(fed)
            reader.feed_eof()
            with pytest.raises(EOFError) as failure:
                next(reader.read_exact(n))
            messages.append(str(failure.value))
            with pytest.raises(EOFError):
                reader.feed_data(b"more")
        assert messages[0] == messages[1]


def messages_from(data: bytes, client: BrowserClient, rng: random.Random) -> list[object]:
    events: list[object] = []
    for chunk in chunked(data, rng):
        events += client.receive_data(chunk)
    return events


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "deflate"])
def test_received_messages_are_websockets_frames_as_bytes(compressed: bool) -> None:
    """A server (websockets' ServerProtocol) sends every size class, whole and fragmented,
    text and binary, with pings between: pyws's client gets each message whole, binary ones
    as ``bytes`` (handed to the script with no further copy for binaryType
    "arraybuffer"), in reads cut at random."""
    options = DEFAULT_OPTIONS if compressed else dataclasses.replace(DEFAULT_OPTIONS, compression=None)
    client = BrowserClient(parse_url("ws://example.com/"), (), options, "test")
    client.start()
    server = ServerProtocol(extensions=[ServerPerMessageDeflateFactory()])
    server.receive_data(b"".join(client.data_to_send()))
    [request] = server.events_received()
    server.send_response(server.accept(request))  # type: ignore[arg-type]
    rng = random.Random(1)
    expected: list[str | bytes] = []
    for size in SIZES:
        text, binary = payload(size).decode(), payload(size, 5)
        server.send_text(text.encode())
        server.send_binary(binary)
        server.send_ping(b"p")
        server.send_binary(binary[:size // 2], fin=False)
        server.send_continuation(b"", fin=False)
        server.send_continuation(binary[size // 2:], fin=True)
        expected += [text, binary, binary]
    events = messages_from(b"".join(server.data_to_send()), client, rng)
    assert isinstance(events[0], Opened) and bool(events[0].extensions) is compressed
    received = [event.data for event in events if isinstance(event, Message)]
    assert received == expected
    assert all(type(data) is (str if isinstance(data, str) else bytes) for data in received)


# -- writing: chunks from WRITE_APART on go to the transport on their own -------------------


def test_chunks_reach_the_socket_in_order() -> None:
    """A real transport over a socket pair: what the outbox hands it arrives whole and in
    order, whether the transport joins writelines() (Python < 3.12) or not."""
    chunks = [b"h1", payload(3 * MiB), b"h2", b"small", payload(_outbox.WRITE_APART),
              payload(_outbox.WRITE_APART - 1), b"end"]

    async def main() -> bytes:
        ours, theirs = socket.socketpair()
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_connection(asyncio.Protocol, sock=ours)
        expected_join = sys.version_info < (3, 12) and type(loop).__module__.startswith("asyncio")
        joins = type(transport).writelines is asyncio.WriteTransport.writelines
        assert joins is expected_join
        _outbox._write_apart(transport, list(chunks))  # type: ignore[arg-type]
        transport.close()
        theirs.setblocking(False)
        received = bytearray()
        while True:
            data = await loop.sock_recv(theirs, 1 << 20)
            if not data:
                break
            received += data
        theirs.close()
        return bytes(received)

    assert asyncio.run(main()) == b"".join(chunks)


def test_mask_keys_are_drawn_ahead_from_the_csprng_and_never_repeat() -> None:
    """Keys come from ``secrets.token_bytes`` (websockets' source), one draw per
    ``MASKS_AHEAD`` frames; across refills, threads and a fork no key comes back."""
    draws: list[int] = []
    real = secrets.token_bytes

    def counting(n: int | None = None) -> bytes:
        draws.append(n or 0)
        return real(n)

    _websockets_shim._forked()  # start from an empty store
    secrets_token_bytes = secrets.token_bytes
    secrets.token_bytes = counting  # type: ignore[assignment]
    try:
        keys = [_websockets_shim.draw_mask() for _ in range(3 * _websockets_shim.MASKS_AHEAD)]
    finally:
        secrets.token_bytes = secrets_token_bytes  # type: ignore[assignment]
    assert draws == [4 * _websockets_shim.MASKS_AHEAD] * 3
    assert all(len(key) == 4 for key in keys)
    assert len(set(keys)) == len(keys)  # 768 random 32-bit keys: a repeat is a bug

    import threading
    other: list[bytes] = []
    thread = threading.Thread(target=lambda: other.extend(
        _websockets_shim.draw_mask() for _ in range(16)))
    thread.start()
    thread.join()
    mine = [_websockets_shim.draw_mask() for _ in range(16)]
    assert not set(other) & set(mine), "two threads drew the same keys"


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="no os.fork() here")
def test_a_forked_child_draws_keys_its_parent_does_not() -> None:
    import os

    _websockets_shim.draw_mask()  # the parent has keys drawn ahead
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: send its next keys to the parent, then leave at once
        os.close(read_end)
        os.write(write_end, b"".join(_websockets_shim.draw_mask() for _ in range(8)))
        os._exit(0)
    os.close(write_end)
    child = b""
    while chunk := os.read(read_end, 64):
        child += chunk
    os.close(read_end)
    os.waitpid(pid, 0)
    parent = b"".join(_websockets_shim.draw_mask() for _ in range(8))
    assert len(child) == 32
    assert child != parent, "the child drew its parent's next keys"
