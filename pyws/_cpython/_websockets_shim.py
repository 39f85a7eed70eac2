"""The only module that reaches into websockets' internals: its ClientProtocol, read like a browser.

websockets' sans-I/O ``ClientProtocol`` does the framing, masking, handshake, compression
and closing handshake. Four rules of the browser (:mod:`._browser_rules`) need hooks it
does not offer publicly, so :class:`BrowserClientProtocol` overrides three of its private
methods (``recv_frame``, ``fail``, ``discard``) and reads its ``reader``, ``parser`` and
``current_size``. Two more overrides save copies of large messages, with websockets' own
pieces: ``send_frame`` (:func:`serialize_frame`: websockets' ``Frame``, extensions and C
masking, the payload masked once into a buffer of its own) and the ``reader``
(:class:`ChunkReader`: websockets' frame parser reads a payload copied once):

- **the server's close frame** is parsed with the browser's rules (which codes fail,
  Chromium's close reason for invalid UTF-8), and a close frame between the fragments of
  a message proceeds with the closing handshake, dropping the message (websockets fails
  the connection);
- **anything after the server's close frame** is noticed (websockets discards it
  silently): the browser client fails the connection then;
- **the close frame pyws sends when the server breaks the protocol** carries Chromium's
  reason ("Invalid reserved bit", "Unknown opcode", ...);
- **the handshake request goes out as ISO-8859-1** in every supported release (websockets
  17 does so; 14 to 16 encode header values as UTF-8), so a header value's U+0080-U+00FF
  are one byte each, as :mod:`pyws._headers` promises;
- **its log records** (the ``websockets.client`` logger: every handshake header at DEBUG)
  go through :data:`PROTOCOL_LOGGER`, which masks credentials and cookies and escapes what
  the server sent;
- **pings are not answered** after our close frame (Chromium ignores them; websockets
  answers), nor at once while the server does not read our writes (:attr:`pongs_paused`:
  only the latest ping is answered, when it reads again, as RFC 6455 section 5.5.3
  allows, so a ping flood cannot grow our buffer without bound).

tests/unit/test_websockets_shim.py pins every internal used here, so a websockets release
that changes one fails there, loudly, before anything else. The supported releases are
the range in pyproject.toml; the oldest and the newest are tested.
"""

from __future__ import annotations

import collections
import logging
import os
import secrets
import struct
import sys
from collections.abc import Generator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from websockets.client import ClientProtocol
from websockets.exceptions import ProtocolError
from websockets.extensions.base import Extension
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory, PerMessageDeflate
from websockets.frames import Close, CloseCode, Frame, Opcode
from websockets.http11 import Request
from websockets.protocol import State
from websockets.streams import StreamReader
from websockets.typing import ExtensionParameter

from .._redact import escape, redact_header

try:  # websockets' own masking, as websockets.frames picks it: C, else Python
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover - a websockets built without its C extension
    from websockets.utils import apply_mask
from ._browser_rules import (
    DEFLATE_WINDOW_BITS,
    INVALID_UTF8_CLOSE,
    allowed_from_server,
    chromium_reason,
)

__all__ = ["BrowserClientProtocol", "BrowserFailure", "BrowserDeflateFactory", "PROTOCOL_LOGGER",
           "ChunkReader", "serialize_frame"]

if TYPE_CHECKING:
    _Adapter = logging.LoggerAdapter[logging.Logger]
else:  # not subscriptable at run time before Python 3.11
    _Adapter = logging.LoggerAdapter

#: websockets' formats for one header line of the request (">") and the response ("<").
_HEADER_LINES = frozenset({"> %s: %s", "< %s: %s"})


class _RedactingLogger(_Adapter):
    """websockets' logger, as pyws lets it speak: the values of Authorization,
    Proxy-Authorization, Cookie and Set-Cookie masked (:func:`pyws._redact.redact_header`),
    every other argument (header values, reason phrases, frames) escaped."""

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if not self.isEnabledFor(level):
            return
        if msg in _HEADER_LINES and len(args) == 2:
            args = (args[0], redact_header(str(args[0]), str(args[1])))
        args = tuple(arg if isinstance(arg, int) else escape(str(arg)) for arg in args)
        super().log(level, msg, *args, **kwargs)


#: The logger every pyws connection gives websockets (see :class:`_RedactingLogger`).
PROTOCOL_LOGGER = _RedactingLogger(logging.getLogger("websockets.client"), {})


class BrowserFailure(ProtocolError):
    """A protocol error with the close code and reason the browser sends for it."""

    def __init__(self, message: str, code: int, reason: str) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason


_TEXT, _BINARY, _CONT = Opcode.TEXT, Opcode.BINARY, Opcode.CONT
#: websockets' handling of a received frame, called for data frames without ``super()``.
_protocol_recv_frame = ClientProtocol.recv_frame


class BrowserClientProtocol(ClientProtocol):
    """A ClientProtocol that reads like a browser (see the module docstring)."""

    #: Set when anything arrived after the server's close frame.
    data_after_close = False
    #: Set while the server does not read our writes: pings are then not answered at
    #: once; the latest one waits in :attr:`pending_pong`.
    pongs_paused = False
    pending_pong: bytes | None = None

    def send_pending_pong(self) -> bool:
        """Answer the ping that arrived while pongs were paused, if any (and if still
        OPEN); True if a pong is now in :meth:`data_to_send`."""
        data, self.pending_pong = self.pending_pong, None
        if data is None or self.state is not State.OPEN:
            return False
        self.send_pong(data)
        return True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # websockets' parser started on its own reader: start it again on ours.
        self.parser.close()
        self.reader = ChunkReader()
        self.parser = self.parse()
        next(self.parser)

    def send_frame(self, frame: Frame) -> None:
        # websockets' send_frame() with serialize_frame() for Frame.serialize(): a large
        # payload is masked once into its own buffer, after the header's.
        if self.debug:
            self.logger.debug("> %s", frame)
        self.writes += serialize_frame(frame, self.extensions)

    def send_request(self, request: Request) -> None:
        super().send_request(request)
        # websockets 14 to 16 encode the request as UTF-8: ISO-8859-1, as 17 does, so an
        # obs-text character (U+0080-U+00FF) is one byte in every release.
        if not self.writes[-1].isascii():
            lines = [f"GET {request.path} HTTP/1.1\r\n"]
            lines += [f"{name}: {value}\r\n" for name, value in request.headers.raw_items()]
            self.writes[-1] = "".join(lines + ["\r\n"]).encode("iso-8859-1")

    # -- overrides of websockets' private methods ----------------------------------------

    def fail(self, code: CloseCode | int, reason: str = "") -> None:
        # Called by parse() from inside its ``except`` clause: translate the error.
        exc = sys.exc_info()[1]
        if isinstance(exc, BrowserFailure):
            code, reason = exc.code, exc.reason
        elif isinstance(exc, ProtocolError) and code == CloseCode.PROTOCOL_ERROR:
            reason = chromium_reason(str(exc))
        super().fail(code, reason)

    def recv_frame(self, frame: Frame) -> None:
        opcode = frame.opcode
        if opcode is _TEXT or opcode is _BINARY or opcode is _CONT:  # as websockets does
            _protocol_recv_frame(self, frame)
            return
        if opcode is Opcode.PING and (self.pongs_paused or self.state is not State.OPEN):
            # Not answered now: paused (the latest waits), or our close frame is out.
            if self.state is State.OPEN:
                self.pending_pong = bytes(frame.data)
            self.events.append(frame)
            return
        if opcode is not Opcode.CLOSE:
            super().recv_frame(frame)
            return
        close = parse_close(bytes(frame.data))
        self.close_rcvd = close
        if self.state is State.CLOSING:
            self.close_rcvd_then_sent = False
        # A control frame may arrive between fragments: the message is abandoned.
        self._forget_fragmented_message()
        if self.state is State.OPEN:
            # Echo the payload as received (as websockets does), code and reason.
            self.send_frame(Frame(Opcode.CLOSE, frame.data))
            self.close_sent = close
            self.close_rcvd_then_sent = True
            self.state = State.CLOSING
        self.parser = self.discard()
        next(self.parser)
        self.events.append(frame)

    def _forget_fragmented_message(self) -> None:
        # The size of the message being received: current_size from websockets 16 on.
        if hasattr(self, "current_size"):
            self.current_size = None
        else:  # websockets 14 and 15
            self.cur_size = None

    def discard(self) -> Generator[None]:
        # websockets empties the reader's buffer through reader.discard() while it
        # discards: anything it drops after the close frame is noted here.
        reader = self.reader
        assert isinstance(reader, ChunkReader)
        drop = reader.discard

        def discard_buffer() -> None:
            if reader.size and self.close_rcvd is not None:
                self.data_after_close = True
            drop()

        reader.discard = discard_buffer  # type: ignore[method-assign]
        return super().discard()


#: Payloads from this size on are written as a chunk of their own after the header (one
#: copy: the masking); below it, joining the two costs less than a second chunk.
SEPARATE_PAYLOAD = 2048

# The masked frame header, by length class (RFC 6455 section 5.2).
_pack_short = struct.Struct("!BB4s").pack
_pack_medium = struct.Struct("!BBH4s").pack
_pack_long = struct.Struct("!BBQ4s").pack


def serialize_frame(frame: Frame, extensions: Sequence[Extension]) -> list[bytes]:
    """What websockets' ``frame.serialize(mask=True, extensions=extensions)`` returns (the
    same steps, the same bytes for the same mask), as ``[header + masked payload]``, or as
    ``[header, masked payload]`` from :data:`SEPARATE_PAYLOAD` on: the payload is then
    copied once, by websockets' C masking, where ``serialize()`` copies it three times
    (masking, into its ``BytesIO``, and the write that follows it into the same buffer as
    the header). The mask comes from :func:`draw_mask` (websockets' source, drawn ahead).
    tests/unit/test_framing_bytes.py compares the two."""
    frame.check()
    for extension in extensions:
        frame = extension.encode(frame)
    head1 = frame.opcode | (0b10000000 if frame.fin else 0)
    if frame.rsv1 or frame.rsv2 or frame.rsv3:  # (rsv1: permessage-deflate)
        head1 |= ((0b01000000 if frame.rsv1 else 0) | (0b00100000 if frame.rsv2 else 0)
                  | (0b00010000 if frame.rsv3 else 0))
    data = frame.data
    length = len(data)
    mask = draw_mask()
    if length < 126:
        header = _pack_short(head1, 0b10000000 | length, mask)
    elif length < 65536:
        header = _pack_medium(head1, 0b10000000 | 126, length, mask)
    else:
        header = _pack_long(head1, 0b10000000 | 127, length, mask)
    masked = apply_mask(data, mask)
    if length < SEPARATE_PAYLOAD:
        return [header + masked]
    return [header, masked]


#: Mask keys drawn at once (4 bytes each).
MASKS_AHEAD = 256

#: Mask keys drawn ahead from the source websockets draws each frame's from
#: (``secrets.token_bytes``, the OS's CSPRNG): one ``getrandom()`` per
#: :data:`MASKS_AHEAD` frames instead of one per frame. ``list.pop()`` is atomic, so two
#: threads never take the same key; a forked child drops what its parent drew (:func:`_forked`).
_mask_keys: list[bytes] = []
_KEY_SLICES = [slice(i, i + 4) for i in range(0, 4 * MASKS_AHEAD, 4)]


def draw_mask() -> bytes:
    """A new, unpredictable 4-byte masking key (RFC 6455 section 5.3)."""
    while True:
        try:
            return _mask_keys.pop()
        except IndexError:
            _mask_keys.extend(map(secrets.token_bytes(4 * MASKS_AHEAD).__getitem__, _KEY_SLICES))


def _forked() -> None:
    # The child would draw the same keys as its parent: drop the ones drawn ahead.
    _mask_keys.clear()


if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(after_in_child=_forked)


_T = TypeVar("_T")


class ChunkReader(StreamReader):
    """websockets' ``StreamReader`` that keeps each read as the ``bytes`` it arrived in, so
    :meth:`read_exact` copies a frame's payload once (a slice of one read, or one join of
    several) and returns ``bytes``, which the facade hands to the script as they are.
    websockets' reader appends every read to a ``bytearray`` and slices the payload out of
    it (two copies), and its ``bytearray`` costs a third copy to become ``bytes``.

    Only websockets' frame parser reads through :meth:`read_exact` and :meth:`at_eof`
    here; the handshake response's reads (:meth:`read_line`, :meth:`read_to_eof`) are
    websockets' own, over ``buffer``, which takes what arrived first (:meth:`_merged`).
    tests/unit/test_framing_bytes.py compares every read with websockets' reader."""

    def __init__(self) -> None:
        super().__init__()
        self._data = b""  # the read being consumed
        self._pos = 0  # where its unread bytes start
        self._chunks: collections.deque[bytes] = collections.deque()  # the reads after it
        self._queued = 0  # bytes in _chunks

    @property
    def size(self) -> int:
        """Bytes fed and not read yet."""
        return len(self.buffer) + len(self._data) - self._pos + self._queued

    def feed_data(self, data: bytes | bytearray) -> None:
        if self.eof:
            raise EOFError("stream ended")
        if data:
            if type(data) is not bytes:
                data = bytes(data)
            # ``buffer`` holds what the handshake's reads left: nothing may overtake it.
            if self._pos == len(self._data) and not self._chunks and not self.buffer:
                self._data, self._pos = data, 0
            else:
                self._chunks.append(data)
                self._queued += len(data)

    # ``bytes``, not the ``bytearray`` of websockets' reader: Frame.parse() takes either.
    def read_exact(self, n: int) -> Generator[None, None, bytes]:  # type: ignore[override]
        # The common case, a frame's header or payload within the current read, in as few
        # steps as possible: while ``buffer`` holds anything, the current read is empty.
        data = self._data
        pos = self._pos
        end = pos + n
        if end <= len(data):
            self._pos = end
            return data[pos:end]
        return (yield from self._read_across(n))

    def _read_across(self, n: int) -> Generator[None, None, bytes]:
        """The next ``n`` bytes, once they have arrived, across reads."""
        if self.buffer:  # left by the handshake response's reads
            self._unmerge()
        while len(self._data) - self._pos + self._queued < n:
            if self.eof:
                raise EOFError(f"stream ends after {self.size} bytes, expected {n} bytes")
            yield
        data, pos = self._data, self._pos
        if pos + n <= len(data):
            self._pos = pos + n
            return data[pos:pos + n]
        parts: list[bytes | memoryview] = [memoryview(data)[pos:]]
        left = n - (len(data) - pos)
        chunks = self._chunks
        while True:
            chunk = chunks.popleft()
            self._queued -= len(chunk)
            if len(chunk) < left:
                parts.append(chunk)
                left -= len(chunk)
                continue
            parts.append(chunk if len(chunk) == left else memoryview(chunk)[:left])
            self._data, self._pos = chunk, left
            return b"".join(parts)

    def at_eof(self) -> Generator[None, None, bool]:
        while True:
            if self._pos < len(self._data) or self._queued or self.buffer:
                return False
            if self.eof:
                return True
            yield

    def read_line(self, m: int, *args: Any) -> Generator[None, None, bytearray]:
        return self._merged(super().read_line(m, *args))

    def read_to_eof(self, m: int, *args: Any) -> Generator[None, None, bytearray]:
        return self._merged(super().read_to_eof(m, *args))

    def discard(self) -> None:
        del self.buffer[:]
        self._chunks.clear()
        self._data = b""
        self._pos = self._queued = 0

    def _merged(self, read: Generator[None, None, _T]) -> Generator[None, None, _T]:
        """Run one of websockets' own reads over ``buffer``, moving what was fed into it
        before each step."""
        while True:
            self._merge()
            try:
                next(read)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            yield

    def _merge(self) -> None:
        buffer = self.buffer
        if self._pos < len(self._data):
            buffer += memoryview(self._data)[self._pos:]
        for chunk in self._chunks:
            buffer += chunk
        self._chunks.clear()
        self._data = b""
        self._pos = self._queued = 0

    def _unmerge(self) -> None:
        self._merge()
        self._data, self._pos = bytes(self.buffer), 0
        del self.buffer[:]


def parse_close(data: bytes) -> Close:
    """Chromium's ParseClose: the close frame's code and reason, or a failure."""
    if len(data) == 0:
        return Close(CloseCode.NO_STATUS_RCVD, "")
    if len(data) == 1:
        raise BrowserFailure("close frame too short", CloseCode.PROTOCOL_ERROR, "")
    (code,) = struct.unpack("!H", data[:2])
    if not allowed_from_server(code):
        raise BrowserFailure(f"invalid close code {code}", CloseCode.PROTOCOL_ERROR, "")
    try:
        reason = data[2:].decode("utf-8")
    except UnicodeDecodeError:
        raise BrowserFailure("invalid UTF-8 in the close reason", CloseCode.PROTOCOL_ERROR,
                             INVALID_UTF8_CLOSE) from None
    return Close(code, reason)


class BrowserDeflateFactory(ClientPerMessageDeflateFactory):
    """permessage-deflate as browsers offer it ("permessage-deflate;
    client_max_window_bits"), accepting a server's client_max_window_bits=8 as Chromium
    does (:data:`._browser_rules.DEFLATE_WINDOW_BITS`)."""

    def __init__(self) -> None:
        super().__init__(client_max_window_bits=True)

    def process_response_params(self, params: Sequence[ExtensionParameter],
                                accepted_extensions: Sequence[Extension]) -> PerMessageDeflate:
        params = [(name, DEFLATE_WINDOW_BITS.get(value or "", value)
                   if name == "client_max_window_bits" else value)
                  for name, value in params]
        return super().process_response_params(params, accepted_extensions)
