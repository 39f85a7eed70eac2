"""The sans-I/O browser client: bytes in, events out (no socket, no event loop).

The server's side of each exchange is websockets' own ``ServerProtocol`` where the
server behaves, and bytes written by hand where it misbehaves on purpose. What the
client writes is read back with a ``ServerProtocol`` too, so the tests check what a
server would see.
"""

from __future__ import annotations

import struct

import pytest
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory
from websockets.frames import Frame, Opcode
from websockets.server import ServerProtocol
from websockets.utils import accept_key

from pyws._backend import DROPPED, FAILED, Closed
from pyws._cpython._browser_client import (
    BrowserClient,
    Closing,
    Failed,
    Message,
    Opened,
    Phase,
    Rejected,
    encode_text,
)
from pyws._options import DEFAULT_OPTIONS, Options
from pyws._spec import parse_url

USER_AGENT = "pyws-unit-test"


def new_client(url: str = "ws://example.com/chat?x=1", protocols: tuple[str, ...] = (),
               options: Options = DEFAULT_OPTIONS) -> BrowserClient:
    client = BrowserClient(parse_url(url), protocols, options, USER_AGENT)
    client.start()
    return client


class Server:
    """The server's end, on websockets' ServerProtocol."""

    def __init__(self, client: BrowserClient, *, subprotocols: list[str] | None = None,
                 deflate: bool = True) -> None:
        self.client = client
        self.protocol = ServerProtocol(
            subprotocols=subprotocols,  # type: ignore[arg-type]
            extensions=[ServerPerMessageDeflateFactory()] if deflate else None)
        self.protocol.receive_data(self.sent_by_client())
        [self.request] = self.protocol.events_received()

    def sent_by_client(self) -> bytes:
        return b"".join(self.client.data_to_send())

    def accept(self) -> list[object]:
        response = self.protocol.accept(self.request)
        self.protocol.send_response(response)
        return self.flush()

    def flush(self) -> list[object]:
        """Feed what the server wrote to the client; the client's events."""
        return list(self.client.receive_data(b"".join(self.protocol.data_to_send())))

    def frames_from_client(self) -> list[Frame]:
        self.protocol.receive_data(self.sent_by_client())
        return [event for event in self.protocol.events_received() if isinstance(event, Frame)]


def open_pair(**kwargs: object) -> tuple[BrowserClient, Server]:
    client = new_client()
    server = Server(client, **kwargs)  # type: ignore[arg-type]
    [opened] = server.accept()
    assert isinstance(opened, Opened) and client.phase is Phase.OPEN
    return client, server


def raw_frame(opcode: int, payload: bytes, *, fin: bool = True, rsv1: bool = False) -> bytes:
    """An unmasked frame with a short payload, written by hand (the server misbehaves)."""
    assert len(payload) < 126
    return bytes([(0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode, len(payload)]) + payload


def handshake_response(request_key: str, extra: str = "") -> bytes:
    return (
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Accept: {accept_key(request_key)}\r\n{extra}\r\n"
    ).encode()


# -- the opening handshake ----------------------------------------------------------------


def test_request_carries_the_user_agent_and_replaces_headers_with_user_values() -> None:
    options = Options(headers={"Host": "other.example", "X-Token": "t"}, origin="https://app.example")
    client = new_client(protocols=("chat", "superchat"), options=options)
    request = Server(client).request
    assert request.path == "/chat?x=1"
    assert request.headers.get_all("Host") == ["other.example"]
    assert request.headers["User-Agent"] == USER_AGENT
    assert request.headers["X-Token"] == "t"
    assert request.headers["Origin"] == "https://app.example"
    assert request.headers["Sec-WebSocket-Protocol"] == "chat, superchat"
    assert request.headers["Sec-WebSocket-Extensions"] == "permessage-deflate; client_max_window_bits"


def test_no_compression_offers_no_extension() -> None:
    request = Server(new_client(options=Options(compression=None))).request
    assert "Sec-WebSocket-Extensions" not in request.headers


def test_accepted_handshake_opens_with_the_selected_protocol_and_extensions() -> None:
    client = new_client(protocols=("chat", "superchat"))
    events = Server(client, subprotocols=["superchat"]).accept()
    assert events == [Opened("superchat", "permessage-deflate")]
    assert client.phase is Phase.OPEN and client.can_send


def test_response_in_pieces_opens_once_complete() -> None:
    client = new_client()
    server = Server(client, deflate=False)
    server.protocol.send_response(server.protocol.accept(server.request))
    response = b"".join(server.protocol.data_to_send())
    assert client.receive_data(response[:20]) == []
    assert client.phase is Phase.CONNECTING
    assert client.receive_data(response[20:]) == [Opened("", "")]


def test_refused_handshake_is_rejected_and_ends_failed() -> None:
    client = new_client()
    events = client.receive_data(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
    assert len(events) == 1 and isinstance(events[0], Rejected)
    assert "403" in events[0].why
    assert client.phase is Phase.FAILING and not client.can_send
    assert client.connection_lost(None) == FAILED
    assert client.phase is Phase.CLOSED


def test_server_selecting_no_subprotocol_when_some_were_requested_is_rejected() -> None:
    """WebSockets Standard, stricter than RFC 6455."""
    client = new_client(protocols=("chat",))
    events = Server(client).accept()
    assert events == [Rejected("the server selected no subprotocol, but some were requested")]


def test_server_selecting_an_unoffered_subprotocol_is_rejected() -> None:
    client = new_client()
    key = Server(client).request.headers["Sec-WebSocket-Key"]
    [event] = client.receive_data(handshake_response(key, "Sec-WebSocket-Protocol: chat\r\n"))
    assert isinstance(event, Rejected)


def test_server_window_bits_8_is_accepted_as_chromium_does() -> None:
    client = new_client()
    key = Server(client).request.headers["Sec-WebSocket-Key"]
    extension = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=8\r\n"
    [event] = client.receive_data(handshake_response(key, extension))
    assert event == Opened("", "permessage-deflate; client_max_window_bits=8")


def test_connection_lost_while_connecting_fails() -> None:
    assert new_client().connection_lost(ConnectionResetError()) == FAILED


def test_abandoned_attempt_fails() -> None:
    client = new_client()
    assert client.abandon() == FAILED
    assert client.phase is Phase.CLOSED


# -- messages -------------------------------------------------------------------------------


@pytest.mark.parametrize("deflate", [False, True])
def test_messages_both_ways(deflate: bool) -> None:
    client, server = open_pair(deflate=deflate)
    client.send_text(encode_text("héllo"))
    client.send_binary(b"\x00\xff")
    frames = server.frames_from_client()
    assert [(f.opcode, bytes(f.data)) for f in frames] == [
        (Opcode.TEXT, "héllo".encode()), (Opcode.BINARY, b"\x00\xff")]
    server.protocol.send_text("wörld".encode())
    server.protocol.send_binary(b"\x01" * 1000)
    assert server.flush() == [Message("wörld"), Message(b"\x01" * 1000)]


def test_fragmented_messages_are_reassembled() -> None:
    client, server = open_pair(deflate=False)
    text = "€uro".encode()
    server.protocol.send_text(text[:2], fin=False)
    assert server.flush() == []
    server.protocol.send_continuation(text[2:], fin=True)
    server.protocol.send_binary(b"ab", fin=False)
    server.protocol.send_continuation(b"", fin=False)
    server.protocol.send_continuation(b"cd", fin=True)
    events = server.flush()
    assert events == [Message("€uro"), Message(b"abcd")]
    assert type(events[1].data) is bytes  # type: ignore[union-attr]


def test_invalid_utf8_fails_with_chromiums_close_frame() -> None:
    client, server = open_pair(deflate=False)
    [event] = client.receive_data(raw_frame(0x1, b"\xff"))
    assert event == Failed("the server sent invalid UTF-8 in a text message")
    assert client.phase is Phase.FAILING and not client.can_send
    [close] = server.frames_from_client()
    assert bytes(close.data) == struct.pack("!H", 1002) + b"Invalid UTF-8 in text frame"
    assert client.connection_lost(None) == FAILED


def test_invalid_utf8_in_a_fragment_fails_before_the_message_ends() -> None:
    client, _server = open_pair(deflate=False)
    events = client.receive_data(raw_frame(0x1, b"ok\xc3(", fin=False))
    assert events == [Failed("the server sent invalid UTF-8 in a text message")]


def test_invalid_utf8_is_found_even_when_a_character_spans_fragments() -> None:
    client, _server = open_pair(deflate=False)
    assert client.receive_data(raw_frame(0x1, b"\xe2\x82", fin=False)) == []
    assert client.receive_data(raw_frame(0x0, b"\xac")) == [Message("€")]


@pytest.mark.parametrize(("data", "reason"), [
    (raw_frame(0x2, b"x", rsv1=True), "Invalid reserved bit"),
    (raw_frame(0x3, b""), "Unknown opcode"),
    (raw_frame(0x0, b"x"), "Unexpected continuation"),
    (raw_frame(0x1, b"a", fin=False) + raw_frame(0x1, b"b"), "Previous data frame unfinished"),
    (bytes([0x82, 0x81, 0, 0, 0, 0, 0]), "Masked frame from server"),
    (raw_frame(0x9, b"x", fin=False), "WebSocket Protocol Error"),
])
def test_protocol_errors_fail_with_chromiums_reason(data: bytes, reason: str) -> None:
    client, server = open_pair(deflate=False)
    events = client.receive_data(data)
    assert len(events) == 1 and isinstance(events[0], Failed)
    [close] = server.frames_from_client()
    assert bytes(close.data) == struct.pack("!H", 1002) + reason.encode()


def test_message_larger_than_max_size_fails_with_1009() -> None:
    client = new_client(options=Options(max_size=10))
    server = Server(client, deflate=False)
    server.accept()
    server.protocol.send_binary(b"x" * 11)
    [event] = server.flush()
    assert isinstance(event, Failed)
    [close] = server.frames_from_client()
    assert bytes(close.data)[:2] == struct.pack("!H", 1009)


def test_pings_are_answered_while_open() -> None:
    client, server = open_pair(deflate=False)
    server.protocol.send_ping(b"p1")
    assert server.flush() == []
    [pong] = server.frames_from_client()
    assert (pong.opcode, bytes(pong.data)) == (Opcode.PONG, b"p1")


def test_held_pongs_answer_only_the_latest_ping_when_released() -> None:
    client, server = open_pair(deflate=False)
    client.hold_pongs()
    for payload in (b"p1", b"p2", b"p3"):
        server.protocol.send_ping(payload)
    server.flush()
    assert server.frames_from_client() == []
    assert client.release_pongs() is True
    assert client.send_pong() is True
    [pong] = server.frames_from_client()
    assert bytes(pong.data) == b"p3"
    assert client.send_pong() is False


# -- the closing handshake -----------------------------------------------------------------


def test_server_initiated_close_is_echoed_and_clean_when_tcp_ends_normally() -> None:
    client, server = open_pair(deflate=False)
    server.protocol.send_close(4000, "bye")
    assert server.flush() == [Closing()]
    assert client.phase is Phase.CLOSING and not client.can_send
    [reply] = server.frames_from_client()
    assert bytes(reply.data) == struct.pack("!H", 4000) + b"bye"
    assert client.awaiting_tcp_close
    assert client.connection_lost(None) == Closed(4000, "bye", was_clean=True, failed=False)


def test_close_then_reset_is_not_clean() -> None:
    client, server = open_pair(deflate=False)
    server.protocol.send_close(1000, "")
    server.flush()
    assert client.connection_lost(ConnectionResetError()) == Closed(1000, "", was_clean=False,
                                                                    failed=False)


def test_close_then_fin_then_reset_is_clean() -> None:
    """A server that closes TCP right after its close frame: our reply meets a reset,
    but TCP had ended normally first (Chromium reports wasClean)."""
    client, server = open_pair(deflate=False)
    server.protocol.send_close(1000, "bye")
    server.flush()
    client.receive_eof()
    assert client.connection_lost(OSError(107, "not connected")) == Closed(
        1000, "bye", was_clean=True, failed=False)


def test_client_initiated_close() -> None:
    client, server = open_pair(deflate=False)
    assert client.close(3001, "done") is True
    assert client.phase is Phase.CLOSING
    assert client.close(1000, "") is False  # already closing
    [close] = server.frames_from_client()
    assert bytes(close.data) == struct.pack("!H", 3001) + b"done"
    assert server.flush() == []  # the server's reply: no Closing event, we started it
    assert client.close_received and client.awaiting_tcp_close
    assert client.connection_lost(None) == Closed(3001, "done", was_clean=True, failed=False)


def test_empty_close_frame_reports_1005() -> None:
    client, _server = open_pair(deflate=False)
    assert client.receive_data(raw_frame(0x8, b"")) == [Closing()]
    assert client.connection_lost(None) == Closed(1005, "", was_clean=True, failed=False)


@pytest.mark.parametrize("code", [999, 1004, 1005, 1006, 1015, 1016, 2999])
def test_close_codes_a_server_may_not_send_fail_the_connection(code: int) -> None:
    client, server = open_pair(deflate=False)
    [event] = client.receive_data(raw_frame(0x8, struct.pack("!H", code)))
    assert isinstance(event, Failed)
    [close] = server.frames_from_client()
    assert bytes(close.data) == struct.pack("!H", 1002)


@pytest.mark.parametrize("code", [1000, 1003, 1007, 1014, 3000, 4999, 5000])
def test_close_codes_a_server_may_send_are_reported(code: int) -> None:
    client, _server = open_pair(deflate=False)
    assert client.receive_data(raw_frame(0x8, struct.pack("!H", code))) == [Closing()]
    assert client.connection_lost(None).code == code


def test_invalid_utf8_in_the_close_reason_fails_with_chromiums_reason() -> None:
    client, server = open_pair(deflate=False)
    [event] = client.receive_data(raw_frame(0x8, struct.pack("!H", 1000) + b"\xff"))
    assert isinstance(event, Failed)
    [close] = server.frames_from_client()
    assert bytes(close.data) == struct.pack("!H", 1002) + b"Invalid UTF-8 in Close frame"


def test_one_byte_close_payload_fails() -> None:
    client, _server = open_pair(deflate=False)
    [event] = client.receive_data(raw_frame(0x8, b"\x03"))
    assert isinstance(event, Failed)


def test_close_frame_between_fragments_drops_the_message_and_closes() -> None:
    client, _server = open_pair(deflate=False)
    data = raw_frame(0x1, b"part", fin=False) + raw_frame(0x8, struct.pack("!H", 1000))
    assert client.receive_data(data) == [Closing()]
    assert client.connection_lost(None) == Closed(1000, "", was_clean=True, failed=False)


def test_data_after_the_close_frame_fails_the_connection() -> None:
    client, _server = open_pair(deflate=False)
    data = raw_frame(0x8, struct.pack("!H", 1000)) + raw_frame(0x1, b"late")
    assert client.receive_data(data) == [Closing(), Failed("the server sent data after its close frame")]
    assert client.connection_lost(None) == FAILED


def test_pings_after_our_close_frame_are_not_answered() -> None:
    client, server = open_pair(deflate=False)
    client.close(1000, "")
    server.frames_from_client()
    assert client.receive_data(raw_frame(0x9, b"late ping")) == []
    assert server.frames_from_client() == []


def test_drop_after_open_is_1006_without_a_failure() -> None:
    client, _server = open_pair(deflate=False)
    assert client.connection_lost(None) == DROPPED


def test_connection_lost_is_reported_once() -> None:
    client, _server = open_pair(deflate=False)
    client.connection_lost(None)
    with pytest.raises(RuntimeError):
        client.connection_lost(None)


def test_encode_text_sends_lone_surrogates_as_replacement_characters() -> None:
    assert encode_text("a\ud800b") == "a\ufffdb".encode()
    assert encode_text("plain") == b"plain"
