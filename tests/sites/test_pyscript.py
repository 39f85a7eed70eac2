"""pyws in a real PyScript page (build/pyscript-site, from demo/pyscript/), in headless Chromium.

The page is PyScript from npm (@pyscript/core 0.7.31) with Pyodide (314.0.5, the version this
PyScript loads by default) and MicroPython served next to it (no CDN: the browser cannot
resolve any host but 127.0.0.1). demo/pyscript/echo.py talks
to the echo server through pyws on the main thread (pyws installed by PyScript's
``packages``) and in a PyScript worker (pyws unpacked by ``files``), and writes the
conversation into the page. MicroPython (micropython.html) is tests/sites/test_micropython.py's.
One browser for the module.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from support.paths import ROOT
from support.sites_browser import chromium, console_log, serving_sites

SITE = ROOT / "build" / "pyscript-site"
TIMEOUT = 60.0

pytestmark = [pytest.mark.pyodide,  # Chromium, and the site ./build.sh dist builds
              pytest.mark.skipif(not (SITE / "pyodide" / "pyodide-lock.json").exists(),
                                 reason="needs build/pyscript-site (./build.sh dist)")]

CONVERSATION = [
    "Connected",
    "Message from server 'Hello Server!'",
    "Message from server b'\\x00\\x01\\x02'",
    "Closed 1000 done wasClean=True",
]


def _pyodide_version() -> str:
    """The Pyodide of the site: PyScript's default version (npm alias pyodide-pyscript)."""
    package = ROOT / "js" / "node_modules" / "pyodide-pyscript" / "package.json"
    return str(json.loads(package.read_text())["version"])


@pytest.fixture(scope="module")
def browser() -> Iterator[tuple[str, Any]]:
    with serving_sites() as base, chromium() as driver:
        yield base, driver


def _wait_for(driver: Any, script: str, what: str) -> Any:
    """Poll ``script`` (a JS expression) until it is truthy; fail with the page's state."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        value = driver.execute_script(f"return {script}")
        if value:
            return value
        time.sleep(0.1)
    body = driver.execute_script("return document.body.innerText")
    pytest.fail(f"timed out after {TIMEOUT} s waiting for {what}\n--- page ---\n{body}\n"
                f"--- console ---\n{console_log(driver)}")


# The page is finished when both statuses are final, or when PyScript shows an error.
_FINISHED = """(() => {
  const final = (id) => ["done", "failed"].includes(document.getElementById(id).textContent);
  const error = document.querySelector(".py-error");
  if (error) return {error: error.textContent};
  return final("main-status") && final("worker-status") && {ok: true};
})()"""


@pytest.fixture(scope="module")
def page(browser: tuple[str, Any]) -> dict[str, str]:
    base, driver = browser
    driver.get(f"{base}/pyscript/index.html")
    finished = _wait_for(driver, _FINISHED, "the PyScript page's two conversations")
    assert "error" not in finished, f"PyScript error: {finished['error']}\n{console_log(driver)}"
    return {element: driver.find_element("id", element).text
            for element in ("main-status", "main-transcript", "main-runtime",
                            "worker-status", "worker-transcript", "worker-runtime")}


def test_pyscript_main_thread_conversation(page: dict[str, str]) -> None:
    assert page["main-status"] == "done", page
    assert page["main-transcript"].splitlines() == CONVERSATION
    assert page["main-runtime"].startswith(f"Pyodide {_pyodide_version()}, Python 3.")


def test_pyscript_worker_conversation(page: dict[str, str]) -> None:
    assert page["worker-status"] == "done", page
    assert page["worker-transcript"].splitlines() == CONVERSATION
    assert page["worker-runtime"].startswith(f"Pyodide {_pyodide_version()}, Python 3.")
