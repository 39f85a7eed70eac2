"""pyws on a page whose Content-Security-Policy forbids ``unsafe-eval``, in headless Chromium.

A local server on 127.0.0.1 sends every response (page, scripts, Pyodide's files, the wheel)
with ``Content-Security-Policy: script-src 'self' 'wasm-unsafe-eval'; report-uri
/csp-report``. The sources beyond ``'self'`` are only what Pyodide itself needs (found by
trying):

- ``'self'``: the page's module scripts (tests/sites/csp_page/), js/pyws.mjs and Pyodide's
  pyodide.mjs / pyodide.asm.mjs all come from the page's origin; inline scripts stay refused.
- ``'wasm-unsafe-eval'``: without it ``WebAssembly.instantiateStreaming`` of
  pyodide.asm.wasm is refused ("wasm instantiation failed!") and Pyodide never starts.
- ``report-uri /csp-report`` is no source: it makes the browser POST every violation to
  the test server, a detector outside the page.

No ``'unsafe-eval'``: JavaScript built from strings (``eval``, ``new Function``) is refused.
The page loads Pyodide from build/pyodide-dist with the project's loader (js/pyws.mjs),
installs the pyws wheel, and runs tests/sites/csp_page/example.py (MDN's example: open, send,
the echo, close with a code and reason) against the echo server of tests/support/servers.py, on the
page's main thread and in a module Web Worker (which gets the same policy with its script).
Each test asserts the conversation and that nothing saw a violation: no
``securitypolicyviolation`` event (page or worker), no report, no CSP message in the
browser console. The control page calls ``eval`` (once caught, once not): the policy
refuses it and each detector sees it.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import pathlib
import re
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from support.sites_browser import chromium

ROOT = pathlib.Path(__file__).resolve().parents[2]
DIST = ROOT / "build" / "pyodide-dist"
PAGE_DIR = pathlib.Path(__file__).resolve().parent / "csp_page"
POLICY = "script-src 'self' 'wasm-unsafe-eval'; report-uri /csp-report"
TIMEOUT = 60.0
REPORT_GRACE = 0.5  # report-uri reports leave the browser at once; give them time to arrive
CONVERSATION = ["open", "message Hello Server!", "close 1000 done wasClean=True"]
# How Chromium's console shows a CSP refusal that nobody caught ("Uncaught EvalError:
# Evaluating a string as JavaScript violates the following Content Security Policy
# directive ...: script-src ..."; chromedriver may cut the middle out of a long message);
# one that is caught is only reported (events, report-uri).
CSP_CONSOLE = re.compile(r"Content.Security.Policy|violates the|Refused to|unsafe-eval|script-src",
                         re.IGNORECASE)

pytestmark = [pytest.mark.pyodide, pytest.mark.skipif(not (DIST / "pyodide-lock.json").exists(),
                                reason="needs build/pyodide-dist (./build.sh dist)")]


class _PolicyHandler(http.server.SimpleHTTPRequestHandler):
    """GET: /csp/* from tests/csp_page, /js/pyws.mjs from js/, the rest from the dist dir,
    every response with the policy. POST /csp-report: a violation report, kept in
    ``reports``."""

    reports: list[str]
    extensions_map = {".mjs": "text/javascript", ".js": "text/javascript",
                      ".wasm": "application/wasm", ".html": "text/html; charset=utf-8",
                      ".py": "text/plain; charset=utf-8", ".json": "application/json",
                      ".whl": "application/zip", ".zip": "application/zip"}

    def translate_path(self, path: str) -> str:
        path = path.split("?", 1)[0].split("#", 1)[0]
        if path.startswith("/csp/"):
            return str(PAGE_DIR / path.removeprefix("/csp/"))
        if path == "/js/pyws.mjs":
            return str(ROOT / "js" / "pyws.mjs")
        return super().translate_path(path)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path == "/csp-report":
            self.reports.append(body.decode("utf-8", "replace"))
        self.send_response(204)
        self.end_headers()

    def end_headers(self) -> None:
        self.send_header("Content-Security-Policy", POLICY)
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format_: str, *args: Any) -> None:
        pass


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A page left mid-download (the next test's navigation) resets its connections.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextlib.contextmanager
def _serving() -> Iterator[tuple[str, list[str]]]:
    """Serve on 127.0.0.1 in a thread; yields the base URL and the list of reports."""
    reports: list[str] = []
    handler_class = type("Handler", (_PolicyHandler,), {"reports": reports})
    httpd = _QuietServer(("127.0.0.1", 0), functools.partial(handler_class, directory=str(DIST)))
    thread = threading.Thread(target=httpd.serve_forever, name="csp-page-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", reports
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(10)


@dataclass
class Outcome:
    page: dict[str, Any]  # globalThis.cspOutcome: the example's report or {error}, violations
    reports: list[str]  # report-uri reports received while the page ran
    console: list[str]  # the browser console while the page ran

    @property
    def csp_console(self) -> list[str]:
        """The console lines about the policy."""
        return [line for line in self.console if CSP_CONSOLE.search(line)]


@pytest.fixture(scope="module")
def browser() -> Iterator[tuple[str, list[str], Any]]:
    with _serving() as (base, reports), chromium() as driver:
        yield base, reports, driver


def _run_page(browser: tuple[str, list[str], Any], where: str, echo_url: str = "") -> Outcome:
    """Open the page for ``where`` and wait for its outcome."""
    base, reports, driver = browser
    driver.get_log("browser")  # drop what earlier pages logged
    reports.clear()
    driver.get(f"{base}/csp/index.html?where={where}&ws={quote(echo_url)}")
    deadline = time.monotonic() + TIMEOUT
    page = None
    while page is None and time.monotonic() < deadline:
        page = driver.execute_script("return globalThis.cspOutcome || null")
        time.sleep(0.1)
    time.sleep(REPORT_GRACE)
    console = [entry["message"] for entry in driver.get_log("browser")]
    assert page is not None, f"no outcome within {TIMEOUT} s; console:\n" + "\n".join(console)
    return Outcome(page, list(reports), console)


@pytest.mark.parametrize(("where", "host"), [("main", "browser"), ("worker", "worker")])
def test_mdn_example_runs_without_unsafe_eval(browser: tuple[str, list[str], Any],
                                              behaviour_server, where: str, host: str) -> None:
    outcome = _run_page(browser, where, f"ws://127.0.0.1:{behaviour_server.port}/echo")
    assert "error" not in outcome.page, outcome
    assert outcome.page["transcript"] == CONVERSATION, outcome
    assert (outcome.page["backend"], outcome.page["host"]) == ("pyodide", host), outcome
    assert outcome.page["violations"] == [], outcome
    assert outcome.reports == [], outcome
    assert outcome.csp_console == [], outcome


def test_the_policy_refuses_eval_and_is_seen(browser: tuple[str, list[str], Any]) -> None:
    """The control: the same page calling eval (once caught, once not) is refused, and each
    detector above sees it."""
    outcome = _run_page(browser, "control")
    assert outcome.page["eval"].startswith("EvalError"), outcome
    assert len(outcome.page["violations"]) == 2, outcome
    assert len(outcome.reports) == 2 and all('"blocked-uri":"eval"' in report
                                             for report in outcome.reports), outcome
    assert len(outcome.csp_console) == 1 and "Uncaught EvalError" in outcome.csp_console[0], outcome


def test_pyws_builds_no_javascript_from_strings() -> None:
    """What the page test proves at run time, checked in the source: no eval or Function
    (nor Pyodide's run_js) anywhere pyws runs under Pyodide. pyws/_micropython/ is not
    checked: MicroPython cannot catch a JavaScript exception, so that facade wraps the
    host's calls in small JavaScript functions (docs/limitations.md)."""
    pattern = re.compile(r"\beval\s*\(|\.eval\b|\bFunction\s*\(|\.Function\b|\brun_?js\b|runJS"
                         r"|pyodide\.code\b")
    found = [f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
             for path in sorted((ROOT / "pyws").rglob("*.py"))
             if "_micropython" not in path.parts
             for number, line in enumerate(path.read_text().splitlines(), 1)
             if pattern.search(line)]
    assert found == [], found
