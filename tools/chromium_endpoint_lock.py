"""What Chromium does for RFC 6455 section 4.1 (one CONNECTING connection per endpoint).

Run: ``.venv/bin/python tools/chromium_endpoint_lock.py`` (needs /usr/bin/chromium and
/usr/bin/chromedriver, as the test suite does). It starts two raw TCP servers on
127.0.0.1 that record when each TCP connection arrives, answers each handshake as its
path says, opens WebSockets in headless Chromium (a blank page) and prints, per case,
when every TCP connection arrived relative to the first ``new WebSocket()``.

Paths: ``/ok`` answers 101 at once; ``/stall?ms=N`` answers 101 after N ms;
``/fail?ms=N`` closes TCP after N ms without answering; ``/hold`` never answers;
``/quick`` answers 101 and closes at once (1000). After a 101 the server closes (1000).
"page:" lines are the page's own clock, which starts a few ms after the server's.

Chromium 156 (Debian), results: the second connection's TCP arrives 10-13 ms after the
first one's 101 (case 1), after its failure (2) or after the page closed it (3); another
port is not held up (4); another name of the same address is (5); waiters go in order,
each ~10 ms after the previous one's 101 (6); sequential connections (each started when
the previous closed) are spaced by >= 10 ms even with nobody waiting (7).
The 101 is a plain, correct server response (this is a server; the client is Chromium).
"""

from __future__ import annotations

import asyncio
import http.server
import json
import pathlib
import sys
import threading
import time
import urllib.parse

from websockets.utils import accept_key

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "tests"))
from support import sites_browser  # noqa: E402


class Recorder:
    def __init__(self) -> None:
        self.t0 = 0.0
        self.events: list[tuple[float, str]] = []
        self.loop = asyncio.new_event_loop()
        self.ports: list[int] = []

    def note(self, what: str) -> None:
        self.events.append((round((time.monotonic() - self.t0) * 1000), what))

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        port = writer.get_extra_info("sockname")[1]
        label = "A" if port == self.ports[0] else "B"
        self.note(f"tcp accepted on {label}")
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            self.note(f"{label}: closed before a request")
            writer.close()
            return
        lines = head.decode().split("\r\n")
        target = lines[0].split()[1]
        headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
        path = urllib.parse.urlsplit(target)
        query = dict(urllib.parse.parse_qsl(path.query))
        self.note(f"{label}: request {target}")
        ms = int(query.get("ms", "0"))
        if path.path == "/hold":
            await reader.read()
            self.note(f"{label}: {target} closed by the client")
            writer.close()
            return
        await asyncio.sleep(ms / 1000)
        if path.path == "/fail":
            self.note(f"{label}: {target} closing without a response")
            writer.close()
            return
        key = headers.get("Sec-WebSocket-Key", "")
        writer.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Accept: "
                      f"{accept_key(key)}\r\n\r\n").encode())
        self.note(f"{label}: {target} answered 101")
        await asyncio.sleep(0 if path.path == "/quick" else 0.1)
        writer.write(b"\x88\x02\x03\xe8")  # the server closes: a close frame, 1000
        await reader.read(2 + 4 + 2)  # the client's masked echo of it
        writer.close()

    def start(self) -> None:
        started = threading.Event()

        async def main() -> None:
            for _ in range(2):
                server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
                self.ports.append(server.sockets[0].getsockname()[1])
            started.set()
            await asyncio.Event().wait()

        threading.Thread(target=self.loop.run_until_complete, args=(main(),), daemon=True).start()
        started.wait(10)


# Each case: JavaScript run in the page with A/B the two ports; it resolves with the
# page's own event log once every socket has closed.
CASES = {
    "1. same endpoint, first handshake stalls 1500 ms then succeeds": """
        open('ws://127.0.0.1:A/stall?ms=1500'); open('ws://127.0.0.1:A/ok');""",
    "2. same endpoint, first handshake fails (TCP closed) after 1500 ms": """
        open('ws://127.0.0.1:A/fail?ms=1500'); open('ws://127.0.0.1:A/ok');""",
    "3. same endpoint, first never answers, page closes it at 1000 ms": """
        const first = open('ws://127.0.0.1:A/hold'); open('ws://127.0.0.1:A/ok');
        setTimeout(() => first.close(), 1000);""",
    "4. other port, first never answers (closed at 1000 ms)": """
        const first = open('ws://127.0.0.1:A/hold'); open('ws://127.0.0.1:B/ok');
        setTimeout(() => first.close(), 1000);""",
    "5. same IP and port by another name (alias.test -> 127.0.0.1)": """
        open('ws://alias.test:A/stall?ms=1500'); open('ws://127.0.0.1:A/ok');""",
    "6. three queued behind a stall: order and spacing": """
        open('ws://127.0.0.1:A/stall?ms=1000&n=1'); open('ws://127.0.0.1:A/stall?ms=300&n=2');
        open('ws://127.0.0.1:A/ok?n=3');""",
    "7. sequential: each connection starts when the previous one closed": """
        let left = 5;
        const next = () => { if (left-- > 0) open('ws://127.0.0.1:A/quick?left=' + left)
                                                .addEventListener('close', next); };
        next();""",
}

PAGE_JS = """
const done = arguments[arguments.length - 1];
const t0 = performance.now();
const log = [];
const sockets = [];
function open(url) {
  const ws = new WebSocket(url);
  sockets.push(new Promise((resolve) => {
    for (const kind of ['open', 'error', 'close']) ws.addEventListener(kind, (event) => {
      log.push([Math.round(performance.now() - t0), url + ' ' + kind +
                (kind === 'close' ? ' ' + event.code : '')]);
      if (kind === 'close') resolve();
    });
  }));
  return ws;
}
CASE
setTimeout(() => Promise.all(sockets).then(() => done(log)), 100);
"""


class _Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<!doctype html><title>endpoint lock</title>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class _Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<!doctype html><title>endpoint lock</title>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def main() -> None:
    recorder = Recorder()
    recorder.start()
    a, b = recorder.ports
    # The suite's flags, but alias.test resolves to 127.0.0.1 (everything else fails).
    sites_browser.FLAGS = tuple(flag for flag in sites_browser.FLAGS
                                if not flag.startswith("--host-resolver-rules")) + (
        "--host-resolver-rules=MAP alias.test 127.0.0.1, MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",)
    # The page comes from 127.0.0.1 too: Chromium refuses WebSockets to a loopback
    # address from a page that is not itself local (about:blank: closed before the request).
    page = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    threading.Thread(target=page.serve_forever, daemon=True).start()
    with page, sites_browser.chromium() as driver:
        driver.get(f"http://127.0.0.1:{page.server_address[1]}/")
        print("Chromium", driver.capabilities.get("browserVersion"))
        for name, body in CASES.items():
            js = PAGE_JS.replace("CASE", body.replace(":A/", f":{a}/").replace(":B/", f":{b}/"))
            recorder.events = []
            recorder.t0 = time.monotonic()
            page_log = driver.execute_async_script(js)
            time.sleep(0.2)
            print(f"\n== {name}")
            for ms, what in sorted(recorder.events + [(ms, "page: " + w) for ms, w in page_log]):
                print(f"  {ms:6d} ms  {what}")
    print(json.dumps({"ports": [a, b]}))


if __name__ == "__main__":
    main()
