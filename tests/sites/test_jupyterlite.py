"""pyws in a real JupyterLite notebook (build/jupyterlite-site, from demo/jupyterlite/).

The site is built offline by ``./build.sh dist`` (``jupyter lite build`` of PyPI's
jupyterlite-core and jupyterlite-pyodide-kernel) with the kernel's own Pyodide version served
from the site (npm pyodide@314.0.6) and a piplite index of the pyws wheel and the kernel's
dependencies (PyPI fallback disabled; the browser cannot resolve any host but 127.0.0.1).
Headless Chromium opens demo/jupyterlite/files/pyws_echo.ipynb in the Notebook app, runs all
its cells (``%pip install pyws-client``, top-level ``await``, callbacks) and checks their
outputs. One browser for the module.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from support.paths import ROOT
from support.sites_browser import chromium, console_log, serving_sites

SITE = ROOT / "build" / "jupyterlite-site"
NOTEBOOK = "pyws_echo.ipynb"
TIMEOUT = 90.0  # the kernel starts Pyodide and installs ipython & co. from the site: ~15 s

pytestmark = [pytest.mark.pyodide,  # Chromium, and the site ./build.sh dist builds
              pytest.mark.skipif(not (SITE / "jupyter-lite.json").exists(),
                                 reason="needs build/jupyterlite-site (./build.sh dist)")]

# The outputs of the notebook's code cells, as the model holds them (stream text).
_OUTPUTS = """(() => {
  const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  if (!panel || !panel.content || !panel.content.model) return null;
  const cells = [];
  for (const cell of panel.content.model.cells) {
    if (cell.type !== "code") continue;
    cells.push({count: cell.executionCount,
                outputs: cell.outputs.toJSON()});
  }
  return cells;
})()"""

_KERNEL = """(() => {
  const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const kernel = panel && panel.sessionContext && panel.sessionContext.session
                 && panel.sessionContext.session.kernel;
  return kernel ? {status: kernel.status, name: kernel.name} : null;
})()"""


def _text(outputs: list[dict[str, Any]]) -> str:
    parts = []
    for output in outputs:
        if output["output_type"] == "stream":
            text = output["text"]
            parts.append("".join(text) if isinstance(text, list) else text)
        elif output["output_type"] == "error":
            parts.append(f"ERROR {output['ename']}: {output['evalue']}\n"
                         + "\n".join(output.get("traceback", [])))
    return "".join(parts)


def _wait_for(driver: Any, condition: Any, what: str, timeout: float = TIMEOUT) -> Any:
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout} s waiting for {what}; last state: {value!r}\n"
                f"--- outputs ---\n{driver.execute_script('return ' + _OUTPUTS)!r}\n"
                f"--- console ---\n{console_log(driver)}")


@pytest.fixture(scope="module")
def notebook() -> Iterator[list[str]]:
    """Run every cell of the notebook once; the text output of each code cell."""
    with serving_sites() as base, chromium() as driver:
        driver.get(f"{base}/jupyterlite/notebooks/index.html?path={NOTEBOOK}")
        _wait_for(driver, lambda: driver.execute_script(f"return {_OUTPUTS}"),
                  "the notebook to open")
        kernel = _wait_for(
            driver, lambda: (k := driver.execute_script(f"return {_KERNEL}"))
            and k["status"] in ("idle", "dead") and k, "the Pyodide kernel to start")
        assert kernel["status"] == "idle", f"kernel {kernel}\n{console_log(driver)}"
        driver.execute_script("window.jupyterapp.commands.execute('notebook:run-all-cells')")

        def finished() -> list[str] | None:
            cells = driver.execute_script(f"return {_OUTPUTS}")
            texts = [_text(cell["outputs"]) for cell in cells]
            if any("ERROR " in text for text in texts):
                return texts  # a cell raised: stop waiting, the tests show it
            done = all(cell["count"] for cell in cells) and "Closed " in texts[-1]
            return texts if done else None

        yield _wait_for(driver, finished, "the notebook's cells to run")


def test_jupyterlite_site_uses_local_pyodide() -> None:
    config = json.loads((SITE / "jupyter-lite.json").read_text())["jupyter-config-data"]
    kernel = config["litePluginSettings"]["@jupyterlite/pyodide-kernel-extension:kernel"]
    assert kernel["pyodideUrl"] == "./static/pyodide/pyodide.mjs"
    assert kernel["disablePyPIFallback"] is True
    assert any(url.startswith("./pypi/all.json") for url in kernel["pipliteUrls"])
    index = json.loads((SITE / "pypi" / "all.json").read_text())
    assert "pyws-client" in index


def test_jupyterlite_pip_install_pyws(notebook: list[str]) -> None:
    assert "ERROR" not in notebook[0], notebook[0]
    version = json.loads((ROOT / "js" / "node_modules" / "pyodide-jupyterlite"
                          / "package.json").read_text())["version"]
    assert notebook[1].startswith("pyws ") and notebook[1].rstrip().endswith(
        f"on Pyodide {version}"), notebook[1]


def test_jupyterlite_top_level_await(notebook: list[str]) -> None:
    assert notebook[2].splitlines() == [
        "event: open readyState: 1",
        "echo: Hello from a notebook!",
        "closed: 1000 bye wasClean: True",
    ], notebook[2]


def test_jupyterlite_callbacks(notebook: list[str]) -> None:
    assert notebook[3].splitlines() == [
        "Message from server 'Hello Server!'",
        "Message from server b'\\x00\\x01\\x02'",
        "Closed 1000 done wasClean: True",
    ], notebook[3]
