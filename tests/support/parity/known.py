"""Where pyws cannot give Chromium's behaviour, and why (docs/parity.md says more).

:func:`known_reason` answers for one (scenario, aspect, runtime) of tests/parity/test_parity.py;
each answer becomes an ``xfail(strict=True)`` there, so a difference that goes away
fails the suite until it is removed here.
"""

from __future__ import annotations

__all__ = ["known_reason", "known_argument_reason", "NOT_RUN"]

PYODIDE = ("node", "chrome", "chrome-worker")
EVERYWHERE = ("cpython",) + PYODIDE

# -- the reasons ---------------------------------------------------------------------------

CLOSE_UNDEFINED = (
    "Chromium's bindings turn close(undefined, reason) into close(0, reason) and throw "
    "InvalidAccessError; WebIDL and the standard treat the code as missing (1000 is sent "
    "with the reason), which is what pyws's close(None, reason) / close(reason=...) does")
UNDICI_NO_CLOSE_FRAME_ON_ERROR = (
    "Node 20's undici closes TCP without a close frame when the server breaks the "
    "protocol; Chromium first sends 1002 with its reason. pyws cannot make undici write "
    "a frame")
UNDICI_ECHO_WITHOUT_REASON = (
    "Node 20's undici answers the server's close frame with the code only; Chromium "
    "echoes code and reason. Only the server can see it")
UNDICI_CLOSE_CODES = (
    "Node 20's undici fails the connection on close codes RFC 6455 does not allow on the "
    "wire (0-999, 1004, 1016-2999, 5000+); Chromium accepts and reports every code except "
    "1005, 1006 and 1015. pyws never sees the code undici rejected")
RFC_CLOSE_CODES = (
    "pyws on CPython fails the connection (1002) on close codes RFC 6455 section 7.4 does "
    "not allow a server to send (0-999, 1004, 1016-2999), as Autobahn's conformance suite "
    "(7.9.x) and Node's undici do; Chromium accepts and reports them")
UNDICI_RESERVED_CODE_REASON = (
    "Node 20's undici fails on 1005/1006/1015 like Chromium, but sends 1002 with the reason "
    "'Invalid status code' where Chromium sends no reason")
UNDICI_CLOSE_REASON_UTF8 = (
    "Node 20's undici answers invalid UTF-8 in the server's close reason with 1007 "
    "'Invalid UTF-8'; Chromium sends 1002 'Invalid UTF-8 in Close frame'")
UNDICI_DATA_AFTER_CLOSE = (
    "Node 20's undici ignores frames after the server's close frame; Chromium fails the "
    "connection (error, close 1006). The JavaScript socket tells pyws nothing about them")
UNDICI_WAITS_FOR_TCP = (
    "Node 20's undici waits for the server to close TCP after the closing handshake for "
    "as long as it takes; Chromium gives up after 2 s and reports the clean close")
UNDICI_HANDSHAKE_HEADERS = (
    "Node 20's undici neither opens nor fails on a 101 response without Upgrade or "
    "Connection header until the server closes TCP; Chromium fails at once")
UNDICI_CONNECTION_TOKENS = (
    "Node 20's undici requires the Connection header to be exactly 'upgrade'; RFC 6455 "
    "and Chromium accept a token list that contains it ('keep-alive, Upgrade')")
UNDICI_RESET_IS_CLEAN = (
    "Node 20's undici reports wasClean true when TCP is reset after the closing handshake; "
    "Chromium reports a reset as not clean (only a normal end of TCP is)")
UNDICI_DEFLATE_PARAMS = (
    "Node 20's undici accepts unknown permessage-deflate parameters; Chromium fails the "
    "handshake")
UNDICI_RSV1_CONTROL = (
    "Node 20's undici accepts RSV1 on a control frame when permessage-deflate is on; "
    "Chromium fails the connection")

CHROMIUM_URL_PARSER = (
    "Chromium's URL parser (GURL) deviates from the URL Standard here; pyws parses every "
    "URL with the standard's rules, the same in every runtime")
IDNA_2003 = (
    "pyws converts non-ASCII host names with Python's IDNA 2003 codec, not UTS #46 "
    "(nontransitional) as the URL Standard and Chromium do: a few names such as 'faß' "
    "serialize differently")
UNDICI_PROTOCOL_CASE = (
    "Node 20's undici compares subprotocols case-insensitively and throws SyntaxError for "
    "['A', 'a']; the standard and Chromium compare them exactly")

#: Argument rows (tests/support/parity/arguments.py) pyws cannot match: (kind, value) -> (runtimes,
#: reason). kind: "url" (the URL template), "protocols" (repr of the list), "close"
#: (repr of the arguments).
KNOWN_ARGUMENTS: dict[tuple[str, str], tuple[tuple[str, ...], str]] = {
    **{("url", url): (EVERYWHERE, CHROMIUM_URL_PARSER) for url in (
        "ws://a b.test/", "ws://a%20b.test/", "ws://xn--.test/", "ws://xn--a.test/",
        "ws://a*b.test/", "ws://{host}/{}|^")},
    ("url", "ws://faß.test/"): (EVERYWHERE, IDNA_2003),
    ("protocols", repr(["A", "a"])): (("node",), UNDICI_PROTOCOL_CASE),
    ("close", repr([None, "only a reason"])): (EVERYWHERE, CLOSE_UNDEFINED),
}


def known_argument_reason(row: dict[str, object], runtime: str) -> str | None:
    if "args" in row:
        key = ("close", repr(row["args"]))
    elif "protocols" in row:
        key = ("protocols", repr(row["protocols"]))
    else:
        key = ("url", str(row["url"]))
    runtimes, reason = KNOWN_ARGUMENTS.get(key, ((), ""))
    return reason if runtime in runtimes else None


#: (scenario, runtime) -> why it is not run there at all: it takes the shared runtime
#: down (xfail(run=False)).
NOT_RUN: dict[tuple[str, str], str] = {
    ("protocol_selected_unasked", "node"):
        "Node 20's undici throws an uncaught TypeError (the Node process dies) when a "
        "server selects a subprotocol although the client offered none",
}

_PROTOCOL_ERRORS = [
    "invalid_utf8_text", "invalid_utf8_fragmented", "invalid_utf8_truncated_at_end",
    "masked_server_frame", "reserved_bit_rsv1", "reserved_bit_rsv2", "reserved_bit_rsv3",
    "unknown_data_opcode", "unknown_control_opcode", "oversized_ping", "fragmented_ping",
    "unexpected_continuation", "text_inside_fragmented_message", "close_payload_one_byte",
    "close_reason_too_long", "extension_bad_deflate_data",
]
_SERVER_CLOSE_WITH_REASON = [
    *(f"server_close_{code}" for code in (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010,
                                           1011, 1012, 1013, 1014, 3000, 4999)),
    "server_close_reason_123_bytes", "messages_burst_then_close", "server_close_then_data",
    "server_close_frame_then_state", "server_fin_after_close_handshake",
    "server_reset_after_close_handshake",
]
_UNDICI_INVALID_CODES = [f"server_close_invalid_{code}"
                         for code in (0, 999, 1004, 1016, 2000, 2999, 5000, 65535)]

#: (scenario, aspect, runtime) -> reason. aspect: "events" or "wire".
KNOWN: dict[tuple[str, str, str], str] = {}


def _add(names: list[str] | str, aspects: tuple[str, ...], runtimes: tuple[str, ...], reason: str) -> None:
    for name in [names] if isinstance(names, str) else names:
        for aspect in aspects:
            for runtime in runtimes:
                KNOWN[(name, aspect, runtime)] = reason


BOTH = ("events", "wire")
_add("client_close_reason_only", BOTH, EVERYWHERE, CLOSE_UNDEFINED)
_add(_PROTOCOL_ERRORS, ("wire",), ("node",), UNDICI_NO_CLOSE_FRAME_ON_ERROR)
_add(_SERVER_CLOSE_WITH_REASON, ("wire",), ("node",), UNDICI_ECHO_WITHOUT_REASON)
_add(_UNDICI_INVALID_CODES, BOTH, ("node",), UNDICI_CLOSE_CODES)
_add([f"server_close_invalid_{c}" for c in (0, 999, 1004, 1016, 2000, 2999)], BOTH,
     ("cpython",), RFC_CLOSE_CODES)
_add([f"server_close_invalid_{c}" for c in (1005, 1006, 1015)], ("wire",), ("node",),
     UNDICI_RESERVED_CODE_REASON)
_add("close_reason_invalid_utf8", ("wire",), ("node",), UNDICI_CLOSE_REASON_UTF8)
_add(["server_close_then_data", "server_close_then_more_frames_then_echo"], ("events",), ("node",),
     UNDICI_DATA_AFTER_CLOSE)
_add(["server_close_keeps_tcp_open", "server_close_frame_then_state"], ("events",), ("node",),
     UNDICI_WAITS_FOR_TCP)
_add(["handshake_missing_upgrade", "handshake_missing_connection"], ("events",), ("node",),
     UNDICI_HANDSHAKE_HEADERS)
_add("handshake_connection_token_list", BOTH, ("node",), UNDICI_CONNECTION_TOKENS)
_add("server_reset_after_close_handshake", ("events",), ("node",), UNDICI_RESET_IS_CLEAN)
_add("extension_deflate_bad_param", BOTH, ("node",), UNDICI_DEFLATE_PARAMS)
_add("extension_rsv1_on_control_frame", BOTH, ("node",), UNDICI_RSV1_CONTROL)


def known_reason(name: str, aspect: str, runtime: str) -> str | None:
    return KNOWN.get((name, aspect, runtime))
