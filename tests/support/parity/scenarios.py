"""The parity scenarios: what the scripted server does, what the client does, as data.

Each scenario runs with Chromium's own WebSocket (tests/support/parity/reference.js) and with pyws
(tests/scenarios/parity.py) in every runtime; tests/parity/test_parity.py compares the traces and
what the server saw. Nothing here says what the outcome should be: Chromium, recorded at
test time, is the reference. The server script format is in tests/support/scripted_server.py,
the client's in tests/scenarios/parity.py.

``record`` names the parts of the server's record compared (see :func:`record_view`):
"close" (the client's close frame), "messages" (the client's data messages), "control"
(the opcodes of the client's control frames: pongs, close), "offer" (the subprotocols and
extensions the client offered). False: compare none (the connection may or may not have
reached the server, e.g. close() right after the constructor).
"""

from __future__ import annotations

from typing import Any

__all__ = ["SCENARIOS", "BY_NAME", "record_view"]

ALL_RECORD = ("close", "messages", "control", "offer")
SCENARIOS: list[dict[str, Any]] = []


def scenario(name: str, *, hs: dict[str, Any] | None = None, steps: list[list[Any]] | None = None,
             tail: str | None = None, on: dict[str, list[list[Any]]] | None = None,
             url: str | None = None, protocols: Any = ..., record: Any = ALL_RECORD,
             timeout: float | None = None) -> None:
    server: dict[str, Any] = {"handshake": hs or {}, "steps": steps or []}
    if tail is not None:
        server["tail"] = tail
    client: dict[str, Any] = {"on": on or {}}
    if url is not None:
        client["url"] = url
    if protocols is not ...:
        client["protocols"] = protocols
    if timeout is not None:
        client["timeout"] = timeout
    assert name not in {s["name"] for s in SCENARIOS}, name
    SCENARIOS.append({"name": name, "server": server, "client": client,
                      "record": tuple(record) if record else ()})


def record_view(record: dict[str, Any] | None, parts: tuple[str, ...]) -> dict[str, Any]:
    """The comparable part of a server record."""
    if not parts:
        return {}
    if record is None:
        return {"connected": False}
    view: dict[str, Any] = {}
    headers = dict(record["headers"])
    for part in parts:
        if part == "close":
            view["close"] = record["close"]
        elif part == "messages":
            view["messages"] = record["messages"]
        elif part == "control":
            view["control"] = [f["op"] for f in record["frames"] if f["op"] in ("ping", "pong", "close")]
        elif part == "offer":
            view["offer"] = {"protocol": headers.get("sec-websocket-protocol"),
                             "extensions": headers.get("sec-websocket-extensions"),
                             "version": headers.get("sec-websocket-version")}
    return view


CLOSE = [["close"]]
GET_STATE = ["get", "readyState"]

# -- the opening handshake ----------------------------------------------------------------

scenario("handshake_ok_attributes", on={
    "start": [["get", "readyState", "url", "protocol", "extensions", "binaryType", "bufferedAmount"]],
    "open": [["get", "readyState", "protocol", "extensions", "bufferedAmount"], ["close"]],
    "close": [["get", "readyState", "protocol", "extensions"]]})
for status in (404, 500, 200, 400):
    scenario(f"handshake_status_{status}", hs={"status": status})
scenario("handshake_redirect_302", hs={"status": 302, "location": "ws://{host}/elsewhere"})
scenario("handshake_redirect_301_http", hs={"status": 301, "location": "http://127.0.0.1/"})
scenario("handshake_wrong_accept", hs={"accept": "wrong"})
scenario("handshake_missing_accept", hs={"accept": "none"})
scenario("handshake_missing_upgrade", hs={"upgrade": None})
scenario("handshake_wrong_upgrade", hs={"upgrade": "h2c"})
scenario("handshake_missing_connection", hs={"connection": None})
scenario("handshake_garbage_response", hs={"raw": "garbage\r\n\r\n"})
scenario("handshake_http10", hs={"raw": "HTTP/1.0 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                                        "Connection: Upgrade\r\n\r\n"})
scenario("handshake_drop_before_response", hs={"raw": ""}, steps=[["drop"]])
scenario("handshake_upgrade_case", hs={"upgrade": "WebSocket", "connection": "upgrade"},
         on={"open": CLOSE})
scenario("handshake_connection_token_list", hs={"connection": "keep-alive, Upgrade"},
         on={"open": CLOSE})
scenario("handshake_extra_headers", hs={"headers": [["Set-Cookie", "a=b"], ["X-Thing", "1"]]},
         on={"open": CLOSE})
scenario("handshake_then_frame_at_once", steps=[["text", "early"]], on={"message": CLOSE})
scenario("handshake_stall_then_close", hs={"stall": True}, on={
    "signal:request": [["close"], GET_STATE]})
scenario("handshake_stall_then_close_code", hs={"stall": True}, on={
    "signal:request": [["close", 4000, "bye"], GET_STATE, ["send", "x"]]})

# -- subprotocols ----------------------------------------------------------------------

scenario("protocol_first_of_two", protocols=["a", "b"], on={"open": CLOSE})
scenario("protocol_second_selected", protocols=["a", "b"], hs={"protocol": "b"}, on={"open": CLOSE})
scenario("protocol_single_string", protocols="chat", on={"open": CLOSE})
scenario("protocol_none_selected", protocols=["chat"], hs={"protocol": None})
scenario("protocol_not_offered_selected", protocols=["a", "b"], hs={"protocol": "c"})
scenario("protocol_selected_unasked", hs={"protocol": "chat"})
scenario("protocol_empty_list", protocols=[], on={"open": CLOSE})
scenario("protocol_case_mismatch", protocols=["chat"], hs={"protocol": "Chat"})
scenario("protocol_two_selected", protocols=["a", "b"], hs={"protocol": "a, b"})
scenario("protocol_header_twice", protocols=["a", "b"], hs={
    "protocol": "a", "headers": [["Sec-WebSocket-Protocol", "a"]]})

# -- extensions ------------------------------------------------------------------------

scenario("extension_deflate", hs={"extensions": "deflate"}, on={
    "open": [["send", "x" * 300], ["send_hex", "00ff" * 50]], "message#2": CLOSE})
scenario("extension_deflate_params", hs={
    "extensions": "permessage-deflate; server_no_context_takeover; client_no_context_takeover"},
    on={"open": [["send", "abc"]], "message": CLOSE})
scenario("extension_deflate_client_bits", hs={
    "extensions": "permessage-deflate; client_max_window_bits=10"},
    on={"open": [["send", "y" * 500]], "message": CLOSE})
scenario("extension_deflate_server_bits", hs={
    "extensions": "permessage-deflate; server_max_window_bits=10"},
    steps=[["text", "abc" * 100, {"compress": True}]], on={"message": CLOSE})
scenario("extension_deflate_client_bits_8", hs={
    "extensions": "permessage-deflate; client_max_window_bits=8"},
    on={"open": [["send", "z" * 400]], "message": CLOSE})
scenario("extension_deflate_bad_param", hs={"extensions": "permessage-deflate; foo=1"})
scenario("extension_unknown", hs={"extensions": "x-webkit-nothing"})
scenario("extension_deflate_twice", hs={"extensions": "permessage-deflate, permessage-deflate"})
scenario("extension_compressed_from_server", hs={"extensions": "deflate"}, steps=[
    ["text", "compressed ✓ " * 20, {"compress": True}],
    ["binary", "0102030405" * 20, {"compress": True}],
    ["text", "compressed ✓ " * 20, {"compress": True}]], on={"message#3": CLOSE})
scenario("extension_bad_deflate_data", hs={"extensions": "deflate"},
         steps=[["text", {"hex": "ffffffff"}, {"rsv1": True}]])
scenario("extension_rsv1_on_control_frame", hs={"extensions": "deflate"},
         steps=[["ping", "x", {"rsv1": True}]])

# -- connection failures ---------------------------------------------------------------

scenario("refused_connection", url="ws://{refused}/", record=False)
scenario("tls_to_a_plain_server", url="wss://{host}/s/{cid}", record=False)
scenario("close_right_after_constructor", record=False, on={
    "start": [["close"], GET_STATE, ["send", "x"], ["get", "bufferedAmount"]],
    "close": [GET_STATE]})
scenario("close_code_right_after_constructor", record=False, on={
    "start": [["close", 3000, "why"], GET_STATE]})
scenario("send_while_connecting", on={
    "start": [["send", "early"], ["send_hex", "00"], GET_STATE],
    "open": [["send", "now"]], "message": CLOSE})

# -- messages from the server ------------------------------------------------------------

scenario("echo_text", on={"open": [["send", "héllo ☃ \U0001f600"]], "message": CLOSE})
scenario("echo_binary_blob", on={"open": [["send_hex", "0001feff"]], "message": CLOSE})
scenario("echo_binary_arraybuffer", on={
    "start": [["binaryType", "arraybuffer"]], "open": [["send_hex", "0001feff"]],
    "message": CLOSE})
scenario("binary_type_invalid_ignored", on={
    "start": [["binaryType", "Blob"], ["get", "binaryType"], ["binaryType", "arraybuffer"],
              ["binaryType", "nonsense"], ["binaryType", ""], ["get", "binaryType"]],
    "open": [["send_hex", "aa"]], "message": CLOSE})
scenario("binary_type_read_at_dispatch", steps=[["binary", "01"], ["binary", "02"], ["binary", "03"]],
         on={"message#1": [["binaryType", "arraybuffer"]], "message#2": [["binaryType", "blob"]],
             "message#3": CLOSE})
scenario("empty_messages", steps=[["text", ""], ["binary", ""]], on={
    "start": [["binaryType", "arraybuffer"]], "message#2": CLOSE})
scenario("large_messages", steps=[["text", "ü" * 40000], ["binary", "ab" * 70000]],
         on={"message#2": CLOSE})
scenario("fragmented_text_with_pings", steps=[
    ["text", "he", {"fin": False}], ["ping", "p1"], ["cont", "l", {"fin": False}],
    ["ping", ""], ["cont", "lo", {"fin": True}]], on={"message": CLOSE})
scenario("fragmented_binary", steps=[
    ["binary", "0102", {"fin": False}], ["cont", {"hex": ""}, {"fin": False}],
    ["cont", {"hex": "0304"}]], on={"message": CLOSE})
scenario("fragmented_utf8_split_codepoint", steps=[
    ["text", {"hex": "e298"}, {"fin": False}], ["cont", {"hex": "83"}]], on={"message": CLOSE})
scenario("ping_answered", steps=[["ping", "hello"], ["text", "after ping"]],
         on={"message": CLOSE})
scenario("unsolicited_pong_ignored", steps=[["pong", "x"], ["text", "t"]], on={"message": CLOSE})
scenario("messages_burst_then_close", steps=[
    ["text", "a"], ["binary", "62"], ["text", "c"], ["close", 1000, "done"]])
scenario("message_then_drop", steps=[["text", "last words"], ["drop"]])

# -- protocol errors from the server -----------------------------------------------------

scenario("invalid_utf8_text", steps=[["text", {"hex": "68ff"}]])
scenario("invalid_utf8_fragmented", steps=[
    ["text", {"hex": "6869"}, {"fin": False}], ["cont", {"hex": "c0af"}]])
scenario("invalid_utf8_truncated_at_end", steps=[["text", {"hex": "e298"}]])
scenario("masked_server_frame", steps=[["text", "masked", {"mask": True}]])
for bit in ("rsv1", "rsv2", "rsv3"):
    scenario(f"reserved_bit_{bit}", steps=[["text", "x", {bit: True}]])
scenario("unknown_data_opcode", steps=[["frame", 3, "x"]])
scenario("unknown_control_opcode", steps=[["frame", 11, "x"]])
scenario("oversized_ping", steps=[["ping", "p" * 126]])
scenario("fragmented_ping", steps=[["ping", "p", {"fin": False}]])
scenario("unexpected_continuation", steps=[["cont", "x"]])
scenario("text_inside_fragmented_message", steps=[
    ["text", "a", {"fin": False}], ["text", "b"]])
scenario("close_inside_fragmented_message", steps=[
    ["text", "a", {"fin": False}], ["close", 1000, ""]])
scenario("close_payload_one_byte", steps=[["frame", 8, {"hex": "03"}]])
scenario("close_reason_invalid_utf8", steps=[["close", 1000, {"hex": "ff"}]])
scenario("close_reason_too_long", steps=[["close", 1000, "r" * 124]])

# -- the server closes ---------------------------------------------------------------------

for code in (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999):
    scenario(f"server_close_{code}", steps=[["close", code, f"reason {code} ✓"]])
for code in (0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535):
    scenario(f"server_close_invalid_{code}", steps=[["close", code, ""]])
scenario("server_close_empty", steps=[["close", None]])
scenario("server_close_reason_123_bytes", steps=[["close", 4000, "é" * 61 + "a"]])
scenario("server_close_then_data", steps=[["close", 4000, "x"], ["text", "after close"]])
scenario("server_close_then_more_frames_then_echo", steps=[
    ["close", 4001, ""], ["text", "dropped"], ["ping", "p"], ["wait_close"]])
scenario("server_close_keeps_tcp_open", steps=[["close", 1000, ""], ["wait_close"]],
         tail="hold")  # Chromium closes TCP itself after 2 s
scenario("server_close_frame_then_state", steps=[
    ["close", 4000, "x"], ["wait_close"], ["signal", "closed"]], tail="hold",
    on={"signal:closed": [["get", "readyState"], ["send", "in closing"], ["get", "bufferedAmount"],
                          ["close", 4001]]})
scenario("server_close_state_during", steps=[["text", "m"], ["close", 4002, ""]],
         on={"message": [GET_STATE]})
scenario("server_drop_after_open", steps=[["drop"]])
scenario("server_reset_after_open", steps=[["reset"]])
scenario("server_drop_mid_message", steps=[["text", "partial", {"fin": False}], ["drop"]])
scenario("server_fin_after_close_handshake", steps=[["close", 4003, "bye"], ["wait_close"], ["drop"]])
scenario("server_reset_after_close_handshake", steps=[["close", 4004, "bye"], ["wait_close"], ["reset"]])

# -- the client closes ----------------------------------------------------------------------

scenario("client_close_no_args", on={"open": [["close"], GET_STATE]})
scenario("client_close_1000", on={"open": [["close", 1000]]})
scenario("client_close_1000_reason", on={"open": [["close", 1000, "done ✓"]]})
scenario("client_close_reason_only", on={"open": [["close", None, "only a reason"], ["close"]]})
scenario("client_close_3000", on={"open": [["close", 3000]]})
scenario("client_close_4999_reason_123", on={"open": [["close", 4999, "é" * 61 + "a"]]})
scenario("client_close_lone_surrogate_reason", on={"open": [["close", 4000, "a\ud800b"]]})
scenario("client_close_twice", on={"open": [["close", 4000, "first"], ["close", 4001, "second"],
                                              GET_STATE, ["close", 1001]]})
scenario("client_close_invalid_then_valid", on={"open": [
    ["close", 1001], ["close", 2999, "r"], ["close", 5000], ["close", 0], GET_STATE,
    ["close", 1000, "r" * 124], ["close", 999, "r" * 124], GET_STATE, ["close", 4000]]})
scenario("client_close_server_answers_other_code", steps=[
    ["wait_close"], ["close", 4100, "other"]], on={"open": [["close", 4000, "mine"]]})
scenario("client_close_server_answers_empty", steps=[
    ["wait_close"], ["close", None]], on={"open": [["close", 4000, "mine"]]})
scenario("client_close_server_drops", steps=[["wait_close"], ["drop"]],
         on={"open": [["close", 4000, "mine"]]})
scenario("client_close_server_keeps_sending", steps=[
    ["text", "before"], ["wait_close"], ["text", "after client close"], ["echo_close"]],
    on={"message#1": [["close", 4000]]})
scenario("client_close_in_close_handler", steps=[["close", 4000, ""]],
         on={"close": [["close", 1000], GET_STATE]})

# -- send() and bufferedAmount ---------------------------------------------------------------

scenario("send_then_buffered_amount", on={
    "open": [["send", "hello"], ["send_hex", "000102"], ["get", "bufferedAmount"]],
    "message#2": [["get", "bufferedAmount"], ["close"]]})
scenario("send_in_closing_is_discarded", on={
    "open": [["close"], ["send", "abcd"], ["send_hex", "0000"], ["send", "é"],
             ["get", "readyState", "bufferedAmount"]],
    "close": [["get", "bufferedAmount"], ["send", "xyz"], ["get", "bufferedAmount"]]})
scenario("send_in_closed_after_server_close", steps=[["close", 4000, ""]], on={
    "close": [["send", "late"], ["send_hex", "ffff"], ["get", "readyState", "bufferedAmount"]]})
scenario("send_lone_surrogate", on={
    "open": [["send", "a\ud800"], ["get", "bufferedAmount"]], "message": CLOSE})
scenario("send_many_messages", on={
    "open": [["send", str(i)] for i in range(20)], "message#20": CLOSE})
scenario("messages_dropped_after_close", steps=[["text", str(i)] for i in range(10)],
         on={"message#1": [["close"]]})
scenario("messages_dropped_after_close_in_open", steps=[["text", "m1"], ["text", "m2"]],
         on={"open": [["close", 4000]]})

# -- listeners ---------------------------------------------------------------------------------

MSG2 = [["text", "one"], ["text", "two"]]
scenario("listeners_slot_keeps_position", steps=MSG2, on={
    "start": [["listen", "message", "A"], ["on", "message", "B"], ["listen", "message", "C"],
              ["on", "message", "D"]],
    "message#2": CLOSE})
scenario("listeners_slot_null_then_again", steps=MSG2, on={
    "start": [["on", "message", "B"], ["listen", "message", "C"], ["on", "message", None],
              ["on", "message", "D"]],
    "message#2": CLOSE})
scenario("listeners_duplicate_ignored", steps=MSG2, on={
    "start": [["listen", "message", "A"], ["listen", "message", "A"],
              ["listen", "message", "A", {"capture": True}], ["listen", "message", "A", True]],
    "message#2": CLOSE})
scenario("listeners_once", steps=MSG2, on={
    "start": [["listen", "message", "A", {"once": True}], ["listen", "message", "B"]],
    "message#2": CLOSE})
scenario("listeners_handle_event_object", steps=MSG2, on={
    "start": [["listen_obj", "message", "O"], ["listen_obj", "message", "O"]],
    "message#2": CLOSE})
scenario("listeners_remove", steps=MSG2, on={
    "start": [["listen", "message", "A"], ["listen", "message", "B", True],
              ["unlisten", "message", "A"], ["unlisten", "message", "B"]],
    "message#2": CLOSE})
scenario("listeners_removed_during_dispatch", steps=MSG2, on={
    "start": [["listen", "message", "A"], ["listen", "message", "B"]],
    "L:A": [["unlisten", "message", "B"]], "message#2": CLOSE})
scenario("listeners_added_during_dispatch", steps=MSG2, on={
    "start": [["listen", "message", "A", {"once": True}]],
    "L:A": [["listen", "message", "C"]], "message#2": CLOSE})
scenario("listeners_all_slots_on_failure", hs={"status": 403}, on={
    "start": [["on", "open", "O"], ["on", "error", "E"], ["on", "close", "C"],
              ["listen", "error", "E2"], ["listen", "close", "C2"]]})
scenario("listeners_dispatch_synthetic", on={
    "start": [["listen", "custom", "X"], ["on", "message", "M"]],
    "open": [["dispatch", "custom"], ["dispatch", "message"], ["close"]]})
scenario("listeners_throwing_listener", steps=MSG2, on={
    "start": [["listen", "message", "A!"], ["on", "message", "B!"], ["listen", "message", "C"]],
    "message#2": CLOSE})
scenario("listeners_slot_and_same_function", steps=MSG2, on={
    "start": [["on", "message", "B"], ["listen", "message", "B"], ["unlisten", "message", "B"],
              ["listen", "message", "B", {"once": True}]],
    "message#2": CLOSE})
scenario("listeners_slot_set_in_handler", steps=MSG2, on={
    "start": [["on", "message", "B"]], "L:B": [["on", "message", "D"]], "message#2": CLOSE})

# -- URLs that connect ------------------------------------------------------------------------

scenario("url_http_scheme", url="http://{host}/s/{cid}", on={"start": [["get", "url"]], "open": CLOSE})
scenario("url_uppercase_scheme_and_default_path", url="WS://{host}/s/{cid}?q=a b",
         on={"start": [["get", "url"]], "open": CLOSE})

BY_NAME = {s["name"]: s for s in SCENARIOS}
