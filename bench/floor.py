"""What one small message costs in each layer, without sockets: the floor under W1 and W2.

W1 and W2 compare pyws with a raw asyncio TCP echo whose framing is a few lines of
hand-rolled Python (bench/_common.py). pyws parses and frames with websockets' sans-I/O
protocol, as it must, so part of its cost per message is websockets' own. This script
times, per 32-byte text message, each layer on its own, in one process, as the best of
several repetitions, and counts the Python bytecodes each executes per message (a figure
no noise changes):

- **receive**: bytes of many server frames in one read -> the messages they carry
  (websockets' ``ClientProtocol``; pyws's ``BrowserClient`` on top of it; the raw
  reference's parsing loop);
- **send**: one message -> the bytes to write (websockets' ``send_text`` and
  ``data_to_send``; pyws's ``BrowserClient``; the raw reference's framing);
- **dispatch**: a received message -> the ``onmessage`` handler (pyws's facade: the
  ``MessageEvent`` and the DOM dispatch).

    .venv-bench/bin/python bench/floor.py [--messages 2000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import timeit
from pathlib import Path

from websockets.client import ClientProtocol
from websockets.protocol import State
from websockets.server import ServerProtocol
from websockets.uri import parse_uri

from pyws._cpython._browser_client import BrowserClient
from pyws._options import Options
from pyws._spec import parse_url

TEXT = "x" * 32
URL = "ws://127.0.0.1:9/"


def server_frames(count: int) -> bytes:
    """``count`` 32-byte text frames as a server sends them (unmasked), in one buffer."""
    server = ServerProtocol()
    server.state = State.OPEN
    for _ in range(count):
        server.send_text(TEXT.encode())
    return b"".join(server.data_to_send())


def handshake_response(request: bytes) -> bytes:
    server = ServerProtocol()
    server.receive_data(request)
    server.send_response(server.accept(server.events_received()[0]))
    return b"".join(server.data_to_send())


def open_websockets() -> ClientProtocol:
    client = ClientProtocol(parse_uri(URL))
    client.send_request(client.connect())
    client.receive_data(handshake_response(b"".join(client.data_to_send())))
    client.events_received()
    return client


def open_pyws() -> BrowserClient:
    client = BrowserClient(parse_url(URL), (), Options(compression=None), "bench")
    client.start()
    client.receive_data(handshake_response(b"".join(client.data_to_send())))
    return client


def raw_reference():
    """The raw reference's protocol object, opened, writing into a list."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import _common

    raw_cls = _common.make_raw_tcp()

    class Sink:
        written: list[bytes] = []

        def write(self, data: bytes) -> None:
            self.written.append(data)

        def is_closing(self) -> bool:
            return False

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    async def make():  # it takes its loop's futures in its constructor
        return raw_cls(URL)

    raw = loop.run_until_complete(make())
    raw.transport = Sink()
    raw.handshaken = True
    raw.received = 0

    def on_message(data: object) -> None:
        raw.received += 1

    raw.on_message = on_message
    return raw, loop


def per_message(func, count: int, repeat: int) -> tuple[float, float]:
    """Best time of ``func()`` (which handles ``count`` messages), per message, in us, and
    the Python bytecodes it executes per message: a count that no noise changes."""
    func()
    best = min(timeit.repeat(func, number=1, repeat=repeat)) / count * 1e6
    return best, bytecodes(func) / count


def bytecodes(func) -> int:
    """Python bytecodes executed by ``func()`` (C code, the kernel's and websockets'
    C masking, counts nothing)."""
    executed = 0

    def trace(frame, event, arg):
        nonlocal executed
        frame.f_trace_opcodes = True
        if event == "opcode":
            executed += 1
        return trace

    sys.settrace(trace)
    try:
        func()
    finally:
        sys.settrace(None)
    return executed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    n, repeat = args.messages, args.repeat
    frames = server_frames(n)
    rows: list[tuple[str, str, tuple[float, float]]] = []

    ws_client = open_websockets()

    def ws_receive() -> None:
        ws_client.receive_data(frames)
        events = ws_client.events_received()
        assert len(events) == n
        for frame in events:
            frame.data.decode()

    def ws_send() -> None:
        for _ in range(n):
            ws_client.send_text(TEXT.encode())
        ws_client.data_to_send()

    py_client = open_pyws()

    def pyws_receive() -> None:
        assert len(py_client.receive_data(frames)) == n

    def pyws_send() -> None:
        for _ in range(n):
            py_client.send_text(TEXT.encode())
        py_client.data_to_send()

    raw, loop = raw_reference()

    def raw_receive() -> None:
        raw.data_received(frames)

    def raw_send() -> None:
        raw._in_dispatch = True  # as from a handler: one write for the batch
        for _ in range(n):
            raw.send_text(TEXT)
        raw._in_dispatch = False
        raw._flush()
        raw.transport.written.clear()

    rows.append(("receive", "websockets ClientProtocol (+ UTF-8 decode)", per_message(ws_receive, n, repeat)))
    rows.append(("receive", "pyws BrowserClient", per_message(pyws_receive, n, repeat)))
    rows.append(("receive", "raw TCP reference", per_message(raw_receive, n, repeat)))
    rows.append(("send", "websockets ClientProtocol", per_message(ws_send, n, repeat)))
    rows.append(("send", "pyws BrowserClient", per_message(pyws_send, n, repeat)))
    rows.append(("send", "raw TCP reference", per_message(raw_send, n, repeat)))
    rows.append(("dispatch", "pyws facade: MessageEvent + onmessage", dispatch_cost(n, repeat)))
    loop.close()

    print(f"Per 32-byte text message, best of {repeat} x {n} messages:\n")
    print("| step | layer | us/message | bytecodes/message |")
    print("|---|---|---|---|")
    for step, layer, (us, executed) in rows:
        print(f"| {step} | {layer} | {us:.2f} | {executed:.0f} |")


def dispatch_cost(n: int, repeat: int) -> tuple[float, float]:
    """The facade's share: a received message to a plain ``onmessage`` handler."""
    import logging

    import pyws

    logging.getLogger("pyws").setLevel(logging.CRITICAL)  # the socket never connects

    async def measure() -> tuple[float, float]:
        socket = pyws.WebSocket(URL)
        socket._state = pyws.WebSocket.OPEN  # as if open: only the dispatch is timed
        count = [0]

        def onmessage(event: object) -> None:
            count[0] += 1

        socket.onmessage = onmessage

        def dispatch() -> None:
            for _ in range(n):
                socket._received(TEXT)

        cost = per_message(dispatch, n, repeat)
        socket._state = pyws.WebSocket.CONNECTING
        socket.close()
        return cost

    return asyncio.run(measure())


if __name__ == "__main__":
    main()
