"""The pyws demo: one Python file, the same conversation in CPython, Node and Chromium.

``./build.sh demo`` runs this with no configuration. It starts the demo server (a local
echo server that also serves the demo page, demo/server.py), then runs
demo/mdn_example.py (MDN's WebSocket example in Python) three ways against it:

1. as a plain CPython script (a subprocess: ``python demo/mdn_example.py``);
2. under Pyodide in Node 20 (``node --experimental-websocket js/run.mjs ...``);
3. under Pyodide in headless Chromium, on demo/index.html (Selenium, Debian's driver);

and prints the three transcripts side by side, then the page's URL. In a terminal it
keeps serving until Enter or Ctrl-C so the page can be opened in a browser
(``--serve``/``--no-serve`` decide explicitly).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import server as demo_server  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "demo" / "mdn_example.py"
TIMEOUT = 60.0


def run_cpython(echo_url: str) -> list[str]:
    env = {**os.environ, "ECHO_URL": echo_url}
    done = subprocess.run([sys.executable, str(EXAMPLE)], env=env, capture_output=True,
                          text=True, timeout=TIMEOUT)
    return _lines(done, "python")


def run_node(echo_url: str) -> list[str]:
    node = shutil.which("node")
    if node is None:
        return ["(node not found)"]
    env = {**os.environ, "ECHO_URL": echo_url}
    command = [node, "--experimental-websocket", str(ROOT / "js" / "run.mjs"), str(EXAMPLE)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    return _lines(done, "node")


def _lines(done: subprocess.CompletedProcess[str], name: str) -> list[str]:
    lines = done.stdout.splitlines()
    if done.returncode != 0:
        lines += [f"({name} exited {done.returncode})"] + done.stderr.splitlines()[-5:]
    return lines


def run_chromium(page_url: str) -> list[str]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    profile = tempfile.mkdtemp(prefix="pyws-demo-chromium-")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
    try:
        driver.get(page_url)
        WebDriverWait(driver, TIMEOUT).until(
            lambda d: d.find_element("id", "status").text in ("done", "failed"))
        return str(driver.find_element("id", "transcript").text).splitlines()
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def side_by_side(columns: dict[str, list[str]]) -> str:
    width = max(28, *(len(line) for lines in columns.values() for line in lines)) + 2
    rows = [("".join(title.ljust(width) for title in columns)).rstrip(),
            ("".join(("-" * (width - 2)).ljust(width) for _ in columns)).rstrip()]
    height = max(len(lines) for lines in columns.values())
    for i in range(height):
        rows.append("".join((lines[i] if i < len(lines) else "").ljust(width)
                            for lines in columns.values()).rstrip())
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description="Run the pyws demo.")
    parser.add_argument("--port", type=int, default=0, help="demo server port (default: any free)")
    serve = parser.add_mutually_exclusive_group()
    serve.add_argument("--serve", action="store_true", default=None,
                       help="keep serving the page after the run (default: if in a terminal)")
    serve.add_argument("--no-serve", dest="serve", action="store_false")
    args = parser.parse_args()
    if not (ROOT / "build" / "pyodide-dist" / "pyodide-lock.json").exists():
        print("build/pyodide-dist is missing: run ./build.sh demo (it builds it)", file=sys.stderr)
        return 2

    loop = asyncio.new_event_loop()
    started = threading.Event()
    stop = loop.create_future()
    port_box: list[int] = []

    async def serve_until_stopped() -> None:
        async with demo_server.running(args.port) as srv:
            port_box.append(demo_server.port_of(srv))
            started.set()
            await stop

    thread = threading.Thread(target=loop.run_until_complete, args=(serve_until_stopped(),),
                              daemon=True)
    thread.start()
    if not started.wait(10):
        print("the demo server did not start", file=sys.stderr)
        return 1
    port = port_box[0]
    echo_url = f"ws://127.0.0.1:{port}/echo"
    page_url = f"http://127.0.0.1:{port}/demo/index.html"
    print(f"Echo server: {echo_url}")
    print(f"Running {EXAMPLE.relative_to(ROOT)} three ways...\n", flush=True)
    started_at = time.monotonic()
    columns = {
        "CPython (plain script)": run_cpython(echo_url),
        "Pyodide in Node 20": run_node(echo_url),
        "Pyodide in Chromium (page)": run_chromium(page_url),
    }
    print(side_by_side(columns))
    print(f"\n({time.monotonic() - started_at:.1f} s)")
    same = len({tuple(lines) for lines in columns.values()}) == 1
    print("The three transcripts are identical." if same else "The transcripts differ!")
    print(f"\nOpen the page yourself: {page_url}")
    keep_serving = sys.stdin.isatty() if args.serve is None else args.serve
    if keep_serving:
        print("Serving; press Enter or Ctrl-C to stop.", flush=True)
        try:
            input()
        except (KeyboardInterrupt, EOFError):
            pass
    loop.call_soon_threadsafe(stop.set_result, None)
    thread.join(10)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
