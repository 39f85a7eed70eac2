"""pytest plugin: the ``pyodide_runtime`` fixture, with shared Pyodide runtimes (Node, a
Chromium page, a Chromium Web Worker) behind it.

Loaded by tests/conftest.py for every run. This module needs neither pytest-pyodide nor
Selenium: the runtimes (tests/support/pyodide_harness.py, which imports both) are loaded
when the first selected test asks for one. A CPython-only run (``./build.sh test --quick``,
or ``pytest tests/unit tests/cpython`` without the browser stack installed) never imports
them. Run the Pyodide tests through ``./build.sh test`` (it builds build/pyodide-dist
first), or after ``./build.sh dist`` with ``.venv/bin/python -m pytest`` (the dist dir then
defaults to build/pyodide-dist).

Fixtures
--------
``pyodide_runtime``  function-scoped, parametrized over the enabled kinds, test ids
    ``[node]``, ``[chrome]``, ``[chrome-worker]``. It returns a ``PyodideRuntime``
    (tests/support/pyodide_harness.py) whose Pyodide lives for the whole session: ONE
    runtime per kind, shared by every test.

    * ``node``: Node 20 running pytest-pyodide's node driver with ``--experimental-websocket``
      and ``WebSocket`` in the driver's extra globals (both are needed).
    * ``chrome``: headless Debian Chromium (Selenium + /usr/bin/chromedriver), main thread.
    * ``chrome-worker``: the same browser kind, Pyodide inside a dedicated module Web Worker
      (pytest-pyodide's ``BrowserWorkerChromeRunner``).

    ``runtime.run_async(code, timeout=30)`` runs ``code`` (dedented) with top-level await in a
    FRESH globals dict and returns the value of its last expression, which must be JSON-able
    (str/int/float/bool/None/lists/dicts; tuples come back as lists). If the code raises,
    :class:`PyodideRunError` (a ``pytest.fail.Exception``, so the test fails) is raised with
    the Python traceback text; ``.exc_type`` holds the exception class name. It is a
    BaseException like every pytest outcome: ``except Exception`` / ``pytest.raises(Exception)``
    do not catch it, ``pytest.raises(PyodideRunError, match=...)`` does. ``timeout`` is
    enforced inside Pyodide with ``asyncio.wait_for`` (a hang gives a ``TimeoutError``
    traceback); a runtime that stops answering (a synchronous infinite loop, a crash) raises
    :class:`PyodideTransportError` and is restarted for the next test.
    ``runtime.run_js(body)`` runs a JS async function body (``return`` a JSON-able value).
``pyodide_pool``  session-scoped: the runtimes by kind (``pool.get("chrome")``), for a
    test that needs one runtime whatever its own parameters (the parity suite's reference).

Without pytest-pyodide and Selenium (or with their plugins disabled, ``-p
no:pytest_pyodide``) a test that asks for either fixture is skipped, saying so.

The ``pyodide`` marker: every test that asks for either fixture gets it here; the tests
that need Node, Chromium or build/pyodide-dist otherwise (tests/pyodide/, tests/parity/,
tests/sites/, a few subprocess tests) carry it themselves. ``-m "not pyodide"`` leaves
the CPython tests.

The servers the runtimes talk to are in tests/support/servers.py (``behaviour_server`` in
tests/conftest.py): a real ``websockets`` server on 127.0.0.1 in a thread of pytest.

Sharing rules (the runtime is long-lived)
-----------------------------------------
* Module state persists across tests: ``sys.modules`` (pyws, scenarios.*), module globals,
  anything left on ``js.globalThis``. Scenario functions should keep their state local and
  close what they open (sockets, proxies). Each ``run_async`` call does get fresh globals.
* Scenario files (tests/scenarios/) are copied ONCE per runtime, not per test: they cannot
  change during a session. ``runtime.reload_scenarios()`` re-copies them and purges
  ``scenarios`` and ``scenarios.*`` from ``sys.modules`` for a test that needs a fresh
  import; pyws is not purged (re-importing it would not reload the installed wheel anyway).
* The wheel in the dist dir is what runs: after editing pyws/, rebuild it (``./build.sh
  dist`` or ``test``). The pytest header says when pyws/ is newer than the wheel.

Options: ``--pyodide-kinds node,chrome,chrome-worker`` (default: env PYWS_PYODIDE_KINDS, else
all three); ``--pyodide-serial-start`` starts the runtimes one after the other instead of in
parallel threads (only the kinds the selected tests use are started, e.g. ``-k node``).
"""

from __future__ import annotations

import contextlib
import importlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support.paths import PYODIDE_DIST, ROOT

KINDS = ("node", "chrome", "chrome-worker")
FIXTURES = {"pyodide_runtime", "pyodide_pool"}


class PyodideRunError(pytest.fail.Exception):  # type: ignore[misc,name-defined]
    """Python code run in a Pyodide runtime raised: carries the Pyodide-side traceback."""

    def __init__(self, kind: str, exc_type: str, traceback_text: str) -> None:
        self.kind = kind
        self.exc_type = exc_type
        self.python_traceback = traceback_text
        super().__init__(f"Python raised {exc_type} in Pyodide [{kind}]:\n{traceback_text}", pytrace=True)


class PyodideTransportError(pytest.fail.Exception):  # type: ignore[misc,name-defined]
    """The runtime did not answer properly (JS error, timeout, dead process)."""

    def __init__(self, kind: str, message: str) -> None:
        self.kind = kind
        super().__init__(f"Pyodide runtime [{kind}] failed: {message}", pytrace=True)


_POOL_KEY = pytest.StashKey[Any]()
_USED_KINDS_KEY = pytest.StashKey[list]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("pyws-pyodide", "pyws Pyodide runtimes")
    group.addoption(
        "--pyodide-kinds",
        default=os.environ.get("PYWS_PYODIDE_KINDS", ",".join(KINDS)),
        help="comma-separated Pyodide runtimes for the pyodide_runtime fixture (default: %(default)s)",
    )
    group.addoption(
        "--pyodide-serial-start",
        action="store_true",
        help="start the Pyodide runtimes one by one when first used, not all in parallel at once",
    )


def _kinds(config: pytest.Config) -> list[str]:
    kinds = [k.strip() for k in config.getoption("pyodide_kinds").split(",") if k.strip()]
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise pytest.UsageError(f"--pyodide-kinds: unknown {unknown}; choose from {list(KINDS)}")
    return [k for k in KINDS if k in kinds]


def _dist_dir(config: pytest.Config) -> Path | None:
    """pytest-pyodide's --dist-dir; None when its plugin is not loaded."""
    value = config.getoption("dist_dir", default=None)
    return None if value is None else Path(value)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    _kinds(config)
    # pytest-pyodide's --dist-dir defaults to ./pyodide: use the tree ./build.sh dist makes.
    if str(_dist_dir(config)) == "pyodide" and not Path("pyodide").exists():
        config.option.dist_dir = PYODIDE_DIST


def pytest_report_header(config: pytest.Config) -> list[str]:
    dist = _dist_dir(config)
    if dist is None:
        return ["pyodide: pytest-pyodide not loaded, the Pyodide tests are skipped"]
    lines = [f"pyodide kinds: {','.join(_kinds(config))}; dist dir: {dist}"]
    wheels = sorted(dist.glob("pyws_client-*.whl"))
    sources = list((ROOT / "pyws").rglob("*.py"))
    if wheels and sources and max(p.stat().st_mtime for p in sources) > wheels[-1].stat().st_mtime:
        lines.append("WARNING: pyws/ is newer than the wheel in the dist dir: run ./build.sh dist")
    return lines


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "pyodide_runtime" in metafunc.fixturenames:
        kinds = _kinds(metafunc.config)
        metafunc.parametrize("pyodide_runtime", kinds, indirect=True, ids=kinds)


def pytest_itemcollected(item: pytest.Item) -> None:
    # Here, not in pytest_collection_modifyitems: -m deselects there, before ours would run.
    if FIXTURES & set(getattr(item, "fixturenames", ())):
        item.add_marker(pytest.mark.pyodide)


@pytest.hookimpl(trylast=True)  # after -k/-m deselection
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    used = set()
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "pyodide_runtime" in callspec.params:
            used.add(callspec.params["pyodide_runtime"])
    config.stash[_USED_KINDS_KEY] = [k for k in KINDS if k in used]


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    pool = config.stash.get(_POOL_KEY, None)
    if pool is not None and pool.startups:
        parts = ", ".join(f"{kind} {secs:.1f} s" for kind, secs in pool.startups)
        terminalreporter.write_line(f"pyodide runtime start-up: {parts}")


def _harness(config: pytest.Config) -> Any:
    """tests/support/pyodide_harness.py, or a skip if the browser stack is missing."""
    if _dist_dir(config) is None:
        pytest.skip("needs the pytest-pyodide plugin (not installed, or disabled with -p no:)")
    try:
        return importlib.import_module("support.pyodide_harness")
    except ImportError as exc:
        pytest.skip(f"needs pytest-pyodide and Selenium (./build.sh setup): {exc}")


@pytest.fixture(scope="session")
def pyodide_pool(request: pytest.FixtureRequest) -> Iterator[Any]:
    config = request.config
    harness = _harness(config)
    dist_dir = _dist_dir(config)
    assert dist_dir is not None
    with harness.open_pool(dist_dir, config.stash.get(_USED_KINDS_KEY, []),
                           parallel=not config.getoption("pyodide_serial_start")) as pool:
        config.stash[_POOL_KEY] = pool
        yield pool


@pytest.fixture
def pyodide_runtime(request: pytest.FixtureRequest, pyodide_pool: Any) -> Iterator[Any]:
    rt = pyodide_pool.get(request.param)
    with contextlib.suppress(Exception):
        rt.runner.clean_logs()
    yield rt
    logs = "" if rt.broken else rt.logs
    if logs:
        print(f"--- console of Pyodide [{rt.kind}] during this test ---\n{logs}")
