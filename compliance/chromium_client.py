"""Chromium's own WebSocket as an Autobahn|Testsuite client: the reference for pyws.

    python compliance/run.py --client chromium [--quick]

(compliance/run.py runs this file as ``python compliance/chromium_client.py SERVER AGENT``.)
The same echo client as compliance/client.py, in JavaScript, in a headless Debian Chromium
driven by Selenium and Debian's chromedriver (what ``./build.sh setup`` installs for the
test suite): it shows which verdicts come from Chromium's behaviour, which pyws copies.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run")

# Every case in turn, as compliance/client.py does it; progress in window.__ab.
SUITE_JS = """
const [server, agent] = arguments;
const q = encodeURIComponent(agent);
window.__ab = {done: false, error: null, count: 0, ran: 0};
const closed = (ws) => new Promise((resolve) => { ws.onclose = resolve; });
(async () => {
  const count = await new Promise((resolve, reject) => {
    const ws = new WebSocket(`${server}/getCaseCount`);
    ws.onmessage = (event) => resolve(JSON.parse(event.data));
    ws.onclose = () => reject(new Error("getCaseCount closed without an answer"));
  });
  window.__ab.count = count;
  for (let i = 1; i <= count; i++) {
    const ws = new WebSocket(`${server}/runCase?case=${i}&agent=${q}`);
    ws.binaryType = "arraybuffer";
    ws.onmessage = (event) => ws.send(event.data);
    await closed(ws);
    window.__ab.ran = i;
  }
  await closed(new WebSocket(`${server}/updateReports?agent=${q}`));
})().then(() => { window.__ab.done = true; },
          (error) => { window.__ab.error = String(error); window.__ab.done = true; });
"""


@contextlib.contextmanager
def blank_page() -> Iterator[str]:
    """An empty page served from 127.0.0.1: Chromium's Local Network Access checks block a
    page of another address space (about:blank counts as public) from ws://127.0.0.1."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<!doctype html><title>Autobahn|Testsuite: Chromium</title>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


def main(server: str, agent: str) -> int:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    with tempfile.TemporaryDirectory(prefix="pyws-autobahn-chromium-") as profile, \
            blank_page() as page:
        for flag in (*FLAGS, f"--user-data-dir={profile}"):
            options.add_argument(flag)
        driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
        try:
            version = driver.capabilities.get("browserVersion", "?")
            print(f"[{agent}] Chromium {version}", flush=True)
            driver.get(page)
            t0 = time.monotonic()
            driver.execute_script(SUITE_JS, server, agent)
            state: dict[str, object] = {}
            while not state.get("done"):
                time.sleep(0.5)
                state = driver.execute_script("return window.__ab")
            if state.get("error"):
                print(f"[{agent}] error: {state['error']}", flush=True)
                return 1
            print(f"[{agent}] ran {state['count']} cases in {time.monotonic() - t0:.1f} s; "
                  f"reports updated", flush=True)
            return 0
        finally:
            driver.quit()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else os.environ["AUTOBAHN_SERVER"],
                  sys.argv[2] if len(sys.argv) > 2 else urllib.parse.unquote(
                      os.environ.get("AUTOBAHN_AGENT", "chromium"))))
