"""pytest plugin: shared Pyodide runtimes (Node, Chromium, Chromium Web Worker) for pyws tests.

Loaded from tests/conftest.py (``pytest_plugins = ["pyodide_harness"]``). Run through
``./build.sh test`` (it builds build/pyodide-dist first), or after ``./build.sh dist`` with
``.venv/bin/python -m pytest`` (the dist dir then defaults to build/pyodide-dist).

Fixtures
--------
``pyodide_runtime``  function-scoped, parametrized over the enabled kinds, test ids
    ``[node]``, ``[chrome]``, ``[chrome-worker]``. It returns a :class:`PyodideRuntime`
    whose Pyodide lives for the whole session: ONE runtime per kind, shared by every test.

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

The servers the runtimes talk to are in tests/servers.py (``behaviour_server`` in
tests/conftest.py): a real ``websockets`` server on 127.0.0.1 in a thread of pytest.

What every runtime has, once, at start-up
-----------------------------------------
* the pyws wheel, installed with ``pyodide.loadPackage("pyws-client")`` from the dist dir's
  generated lock (site-packages; no network);
* every ``.py`` file under tests/scenarios/ copied to /home/pyodide/pyws_tests/scenarios/
  (served as a zip by the test web server, unpacked in Pyodide), and /home/pyodide/pyws_tests
  first on ``sys.path``. In ``run_async`` code the name ``scenarios`` is already bound and its
  submodules import lazily on attribute access, so ``await scenarios.smoke.js_echo(url)``
  works without an import statement (an ``import scenarios.smoke`` works too).

Sharing rules (the runtime is long-lived)
-----------------------------------------
* Module state persists across tests: ``sys.modules`` (pyws, scenarios.*), module globals,
  anything left on ``js.globalThis``. Scenario functions should keep their state local and
  close what they open (sockets, proxies). Each ``run_async`` call does get fresh globals.
* Scenario files are copied ONCE per runtime, not per test: they cannot change during a
  session. ``runtime.reload_scenarios()`` re-copies them and purges ``scenarios`` and
  ``scenarios.*`` from ``sys.modules`` for a test that needs a fresh import; pyws is not
  purged (re-importing it would not reload the installed wheel anyway).
* The wheel in the dist dir is what runs: after editing pyws/, rebuild it (``./build.sh
  dist`` or ``test``). The pytest header says when pyws/ is newer than the wheel.

Options: ``--pyodide-kinds node,chrome,chrome-worker`` (default: env PYWS_PYODIDE_KINDS, else
all three); ``--pyodide-serial-start`` starts the runtimes one after the other instead of in
parallel threads (only the kinds the selected tests use are started, e.g. ``-k node``).

The plugin also makes pytest-pyodide's own web servers (``web_server_main``, run_in_pyodide
mode) bind 127.0.0.1 instead of 0.0.0.0, points Selenium at /usr/bin/chromedriver, and adds
the Chromium and Node flags above to pytest-pyodide's global config, so its own fixtures
(``selenium``, ``run_in_pyodide``) work here too.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import http.server
import io
import json
import os
import shutil
import signal
import tempfile
import textwrap
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pytest

os.environ.setdefault("SE_CHROMEDRIVER", "/usr/bin/chromedriver")
os.environ.setdefault("SE_OFFLINE", "true")

import pytest_pyodide  # noqa: E402
import pytest_pyodide.fixture  # noqa: E402
import pytest_pyodide.run_tests_inside_pyodide  # noqa: E402
import pytest_pyodide.server  # noqa: E402
from pytest_pyodide.config import get_global_config  # noqa: E402
from pytest_pyodide.runner import (  # noqa: E402
    BrowserWorkerChromeRunner,
    JavascriptException,
    NodeRunner,
    SeleniumChromeRunner,
)

KINDS = ("node", "chrome", "chrome-worker")
TESTS_DIR = Path(__file__).resolve().parent
REPO = TESTS_DIR.parent
SCENARIOS_DIR = TESTS_DIR / "scenarios"
DEFAULT_DIST_DIR = REPO / "build" / "pyodide-dist"
PYODIDE_TESTS_ROOT = "/home/pyodide/pyws_tests"
SCENARIOS_ZIP_URL_PATH = "/__pyws_tests__/scenarios.zip"
WHEEL_PACKAGE = "pyws-client"

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROME_FLAGS = [
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
NODE_FLAGS = ["--experimental-websocket"]
NODE_EXTRA_GLOBALS = ["WebSocket"]

START_TIMEOUT = 120.0  # one runtime: browser/node start + Pyodide load + wheel install
CALL_MARGIN = 15.0  # transport timeout = run_async timeout + this
QUIT_TIMEOUT = 15.0
SELENIUM_HTTP_TIMEOUT = 60.0  # any one WebDriver command (outside run_js, which sets its own)


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


# --------------------------------------------------------------------------------------------
# Python code that runs inside Pyodide (written to PYODIDE_TESTS_ROOT/_pyws_harness.py)

_IN_PYODIDE_HELPER = r'''
"""pyws test harness, Pyodide side (written by tests/pyodide_harness.py)."""
import asyncio
import importlib
import json
import linecache
import shutil
import sys
import traceback

ROOT = __ROOT__
_counter = 0


def _lazy_submodules(pkg):
    def __getattr__(name):
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return importlib.import_module(f"{pkg.__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{pkg.__name__}.{name}":
                raise AttributeError(f"module {pkg.__name__!r} has no attribute {name!r}") from None
            raise

    pkg.__getattr__ = __getattr__
    return pkg


def purge_scenarios():
    for name in [m for m in sys.modules if m == "scenarios" or m.startswith("scenarios.")]:
        del sys.modules[name]
    importlib.invalidate_caches()


def setup():
    sys.path[:] = [ROOT] + [p for p in sys.path if p != ROOT]
    purge_scenarios()
    from importlib.metadata import version
    return json.dumps({"python": sys.version.split()[0], "pyws_client": version("pyws-client")})


async def run(code, timeout):
    global _counter
    from pyodide.code import eval_code_async

    _counter += 1
    filename = f"<pyws-test-{_counter}>"
    linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
    scenarios = _lazy_submodules(importlib.import_module("scenarios"))
    ns = {"__name__": "__main__", "__builtins__": __builtins__, "scenarios": scenarios}
    try:
        value = await asyncio.wait_for(eval_code_async(code, ns, filename=filename), timeout)
    except BaseException as exc:  # noqa: BLE001 - report everything, SystemExit included
        tb = exc.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename != filename:
            tb = tb.tb_next  # skip this helper's, asyncio's and eval_code_async's frames
        text = "".join(traceback.format_exception(type(exc), exc, tb or exc.__traceback__))
        return json.dumps({"ok": False, "type": type(exc).__qualname__, "traceback": text})
    try:
        return json.dumps({"ok": True, "value": value})
    except (TypeError, ValueError) as exc:
        return json.dumps({
            "ok": False,
            "type": "TypeError",
            "traceback": f"the last expression's value is not JSON-able ({exc}): {value!r:.2000}",
        })
'''


# --------------------------------------------------------------------------------------------
# Loopback web server (replaces pytest-pyodide's spawn_web_server, which binds 0.0.0.0)


def scenarios_zip() -> bytes:
    """_pyws_harness.py + every .py file under tests/scenarios/, as a zip for unpackArchive."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        helper = _IN_PYODIDE_HELPER.replace("__ROOT__", repr(PYODIDE_TESTS_ROOT))
        zf.writestr("_pyws_harness.py", helper)
        if SCENARIOS_DIR.is_dir():
            for path in sorted(SCENARIOS_DIR.rglob("*.py")):
                if "__pycache__" not in path.parts:
                    zf.write(path, Path("scenarios") / path.relative_to(SCENARIOS_DIR))
    return buf.getvalue()


class _LoopbackHandler(pytest_pyodide.server.DefaultHandler):
    log_path: Path | None = None
    extensions_map = {
        **pytest_pyodide.server.DefaultHandler.extensions_map,
        ".wasm": "application/wasm",
        ".mjs": "text/javascript",
        ".js": "text/javascript",
        ".whl": "application/zip",
        ".zip": "application/zip",
    }

    def get_template(self, path: str) -> bytes | None:
        if path.split("?", 1)[0] == SCENARIOS_ZIP_URL_PATH:
            return scenarios_zip()
        return super().get_template(path)

    def log_message(self, format_: str, *args: Any) -> None:
        if self.log_path is not None:
            with contextlib.suppress(OSError), self.log_path.open("a") as fh:
                fh.write(f"{self.log_date_time_string()} {self.client_address[0]} {format_ % args}\n")


@contextlib.contextmanager
def spawn_loopback_web_server(dist_dir, extra_headers=None, handler_cls=None) -> Iterator[tuple[str, int, Path]]:
    """Drop-in for pytest_pyodide.server.spawn_web_server, bound to 127.0.0.1 (in a thread)."""
    tmp_dir = Path(tempfile.mkdtemp(prefix="pyws-http-"))
    log_path = tmp_dir / "http-server.log"
    log_path.touch()
    if handler_cls is None:
        handler_cls = type("Handler", (_LoopbackHandler,), {"log_path": log_path})
    handler = functools.partial(handler_cls, directory=str(dist_dir), extra_headers=extra_headers or {})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.2}, name="pyodide-web-server", daemon=True)
    thread.start()
    try:
        yield "127.0.0.1", httpd.server_address[1], log_path
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)
        shutil.rmtree(tmp_dir, ignore_errors=True)


for _module in (pytest_pyodide, pytest_pyodide.server, pytest_pyodide.fixture, pytest_pyodide.run_tests_inside_pyodide):
    _module.spawn_web_server = spawn_loopback_web_server  # type: ignore[attr-defined]


# --------------------------------------------------------------------------------------------
# Runners: pytest-pyodide's, with Debian's Chromium/chromedriver and a fresh profile each


class _LoopbackChromeRunner(SeleniumChromeRunner):
    def get_driver(self, jspi: bool = False):
        from selenium.webdriver import Chrome
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service

        self._profile_dir = tempfile.mkdtemp(prefix="pyws-chromium-")
        options = Options()
        options.binary_location = CHROMIUM
        for flag in ["--headless", "--no-sandbox", *self._config.get_flags("chrome"), f"--user-data-dir={self._profile_dir}"]:
            options.add_argument(flag)
        if jspi:
            options.add_argument("--enable-features=WebAssemblyExperimentalJSPI")
        driver = Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
        # Selenium's HTTP calls to chromedriver have no timeout by default, and chromedriver
        # does not answer (not even at the script timeout) while the renderer spins: bound them.
        driver.command_executor.client_config.timeout = SELENIUM_HTTP_TIMEOUT
        driver.set_page_load_timeout(30)
        return driver

    def quit(self, graceful: bool = True) -> None:
        """driver.quit() with a bound, then SIGKILL whatever is left of chromedriver's tree.

        driver.quit() never returns while a renderer spins in a synchronous loop (Selenium's
        HTTP call has no timeout), so it runs in a thread that is given QUIT_TIMEOUT seconds.
        The process tree is read first: once chromedriver dies its children move to init.
        """
        service_proc = getattr(getattr(self.driver, "service", None), "process", None)
        tree = _process_tree(service_proc.pid) if service_proc is not None else []
        try:
            if graceful:
                quitter = threading.Thread(target=self._quit_quietly, name="chrome-quit", daemon=True)
                quitter.start()
                quitter.join(QUIT_TIMEOUT)
            for pid, start in tree:
                if _proc_start_time(pid) == start:
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGKILL)
            if service_proc is not None:
                with contextlib.suppress(Exception):
                    service_proc.wait(timeout=5)
        finally:
            shutil.rmtree(getattr(self, "_profile_dir", ""), ignore_errors=True)

    def _quit_quietly(self) -> None:
        with contextlib.suppress(Exception):
            super().quit()


def _proc_start_time(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            stat = fh.read()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2 :].split()[19]  # field 22, starttime


def _process_tree(root: int) -> list[tuple[int, str]]:
    """(pid, start time) of ``root`` and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    starts: dict[int, str] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        pid = int(entry.name)
        children.setdefault(int(fields[1]), []).append(pid)
        starts[pid] = fields[19]
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid in starts:
            tree.append((pid, starts[pid]))
        todo.extend(children.get(pid, []))
    return tree


class _LoopbackChromeWorkerRunner(BrowserWorkerChromeRunner, _LoopbackChromeRunner):
    pass


_RUNNER_CLASSES = {"node": NodeRunner, "chrome": _LoopbackChromeRunner, "chrome-worker": _LoopbackChromeWorkerRunner}


def _configure_pytest_pyodide() -> None:
    cfg = get_global_config()
    cfg.set_flags("chrome", [*cfg.get_flags("chrome"), *(f for f in CHROME_FLAGS if f not in cfg.get_flags("chrome"))])
    cfg.set_flags("node", [*cfg.get_flags("node"), *(f for f in NODE_FLAGS if f not in cfg.get_flags("node"))])
    cfg.add_node_extra_globals(g for g in NODE_EXTRA_GLOBALS if g not in cfg.get_node_extra_globals())


# --------------------------------------------------------------------------------------------
# The runtime object


@dataclass
class PyodideRuntime:
    kind: str
    runner: Any  # pytest-pyodide runner (NodeRunner / SeleniumChromeRunner / worker runner)
    startup_seconds: float = 0.0
    info: dict = field(default_factory=dict)
    broken: str | None = None
    _scenario_loads: int = 0

    # -- public API --
    def run_async(self, code: str, *, timeout: float = 30.0) -> Any:
        """Run Python ``code`` (top-level await allowed); return its last expression's value."""
        __tracebackhide__ = True
        body = f"""
            const __r = await globalThis.__pywsHarness.run({json.dumps(textwrap.dedent(code))}, {float(timeout)!r});
            return __r;
        """
        raw = self.run_js(body, timeout=timeout + CALL_MARGIN)
        if not isinstance(raw, str):
            raise PyodideTransportError(self.kind, f"unexpected reply {raw!r:.500}")
        reply = json.loads(raw)
        if reply["ok"]:
            return reply["value"]
        raise PyodideRunError(self.kind, reply["type"], reply["traceback"])

    def run_js(self, body: str, *, timeout: float = 30.0) -> Any:
        """Run a JS async function body in the runtime (``pyodide`` is in scope); return its value."""
        __tracebackhide__ = True
        if self.broken:
            raise PyodideTransportError(self.kind, f"runtime unusable: {self.broken}")
        try:
            with self._transport_timeout(timeout):
                return self.runner.run_js(body, pyodide_checks=False)
        except JavascriptException as exc:
            raise PyodideTransportError(self.kind, f"JavaScript error:\n{exc}") from None
        except Exception as exc:  # timeouts, dead driver/process: restart for the next test
            self.broken = self.broken or f"{type(exc).__name__}: {exc}"
            raise PyodideTransportError(self.kind, f"no answer within {timeout:.0f} s or runtime died: {self.broken}") from None

    def reload_scenarios(self) -> None:
        """Re-copy tests/scenarios/*.py and purge ``scenarios*`` from sys.modules."""
        self._load_scenarios()

    @property
    def logs(self) -> str:
        with contextlib.suppress(Exception):
            return self.runner.logs
        return ""

    # -- internals --
    @contextlib.contextmanager
    def _transport_timeout(self, timeout: float):
        if isinstance(self.runner, NodeRunner):
            old = (self.runner.script_timeout, self.runner.p.timeout)
            self.runner.script_timeout = self.runner.p.timeout = timeout
            try:
                yield
            finally:
                self.runner.script_timeout, self.runner.p.timeout = old
        else:
            # chromedriver answers at the script timeout, except while the renderer (or the
            # worker) spins in a synchronous loop: then it answers nothing, not even the next
            # command, and Selenium's HTTP call has no timeout of its own. A watchdog kills the
            # browser tree a little after the script timeout, which fails the call at once.
            driver = self.runner.driver
            driver.set_script_timeout(timeout)
            driver.command_executor.client_config.timeout = timeout + 15  # the watchdog acts first
            watchdog = threading.Timer(timeout + 5, self._kill_hung_browser, args=(timeout,))
            watchdog.daemon = True
            watchdog.start()
            try:
                yield
            finally:
                watchdog.cancel()
                driver.command_executor.client_config.timeout = SELENIUM_HTTP_TIMEOUT
                if not self.broken:
                    driver.set_script_timeout(self.runner.script_timeout)

    def _kill_hung_browser(self, timeout: float) -> None:
        self.broken = f"no answer within {timeout:.0f} s: browser killed"
        self.runner.quit(graceful=False)

    def _load_scenarios(self) -> None:
        self._scenario_loads += 1
        raw = self.run_js(
            f"""
            const resp = await fetch({SCENARIOS_ZIP_URL_PATH!r} + "?n={self._scenario_loads}");
            if (!resp.ok) throw new Error(`GET scenarios.zip: HTTP ${{resp.status}}`);
            const buf = await resp.arrayBuffer();
            const root = {PYODIDE_TESTS_ROOT!r};
            pyodide.runPython(`import shutil; shutil.rmtree(${{JSON.stringify(root)}}, ignore_errors=True)`);
            pyodide.FS.mkdirTree(root);
            pyodide.unpackArchive(buf, "zip", {{ extractDir: root }});
            pyodide.runPython(`import sys; sys.path.insert(0, ${{JSON.stringify(root)}})`);
            const helper = pyodide.pyimport("_pyws_harness");
            const info = helper.setup();
            if (globalThis.__pywsHarness) {{ globalThis.__pywsHarness.destroy(); }}
            globalThis.__pywsHarness = helper;
            return info;
            """,
            timeout=30,
        )
        self.info.update(json.loads(raw))

    def _install(self) -> None:
        errors = self.run_js(
            f"""
            const errors = [];
            try {{
                await pyodide.loadPackage({WHEEL_PACKAGE!r}, {{
                    messageCallback: () => {{}},
                    errorCallback: (msg) => errors.push(msg),
                }});
            }} catch (e) {{ errors.push(String(e && e.stack || e)); }}
            return errors;
            """,
            timeout=60,
        )
        if errors:
            raise PyodideTransportError(self.kind, f"loadPackage({WHEEL_PACKAGE!r}) failed:\n" + "\n".join(errors))
        # Python-side import caches: the wheel was unpacked after interpreter start.
        self.run_js("pyodide.runPython('import importlib; importlib.invalidate_caches()'); return null;")
        self._load_scenarios()

    def quit(self) -> None:
        if isinstance(self.runner, _LoopbackChromeRunner):
            self.runner.quit(graceful=not self.broken)
            return
        # NodeRunner.quit() only sends EOF: node lingers while sockets are open, and bash never
        # exits. Closing the pty hangs up bash and node (SIGKILL to bash if it must).
        proc = self.runner.p
        with contextlib.suppress(Exception):
            proc.close(force=True)


def start_runtime(kind: str, web_server: tuple[str, int, Path], dist_dir: Path) -> PyodideRuntime:
    hostname, port, log_path = web_server
    t0 = time.monotonic()
    runner = _RUNNER_CLASSES[kind](
        server_port=port,
        server_hostname=hostname,
        server_log=log_path,
        load_pyodide=True,
        dist_dir=dist_dir,
        jspi=False,
    )
    rt = PyodideRuntime(kind=kind, runner=runner)
    try:
        rt._install()
    except BaseException:
        rt.quit()
        raise
    rt.startup_seconds = time.monotonic() - t0
    return rt


# --------------------------------------------------------------------------------------------
# The pool: starts the runtimes the selected tests need (in parallel), restarts broken ones


class RuntimePool:
    def __init__(self, kinds: list[str], web_server, dist_dir: Path, parallel: bool) -> None:
        self.web_server = web_server
        self.dist_dir = dist_dir
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, len(kinds)), thread_name_prefix="pyodide-start")
        self._futures: dict[str, concurrent.futures.Future] = {}
        self.startups: list[tuple[str, float]] = []
        if parallel:
            for kind in kinds:
                self._submit(kind)

    def _submit(self, kind: str) -> None:
        self._futures[kind] = self._executor.submit(start_runtime, kind, self.web_server, self.dist_dir)

    def get(self, kind: str) -> PyodideRuntime:
        fut = self._futures.get(kind)
        if fut is not None and fut.done() and fut.exception() is None and fut.result().broken:
            fut.result().quit()  # died or timed out in an earlier test: start a fresh one
            fut = None
        if fut is None:
            self._submit(kind)
            fut = self._futures[kind]
        try:
            rt = fut.result(timeout=START_TIMEOUT)
        except concurrent.futures.TimeoutError:
            pytest.fail(f"Pyodide runtime [{kind}] did not start within {START_TIMEOUT:.0f} s", pytrace=False)
        except Exception as exc:  # the same start error for every test of this kind, once
            pytest.fail(f"Pyodide runtime [{kind}] failed to start: {type(exc).__name__}: {exc}", pytrace=False)
        if (kind, rt.startup_seconds) not in self.startups:
            self.startups.append((kind, rt.startup_seconds))
        return rt

    def close(self) -> None:
        for fut in self._futures.values():
            if not fut.done():
                with contextlib.suppress(Exception):
                    fut.result(timeout=START_TIMEOUT)
            if fut.done() and fut.exception() is None:
                fut.result().quit()
        self._executor.shutdown(wait=True, cancel_futures=True)


# --------------------------------------------------------------------------------------------
# pytest hooks and fixtures

_POOL_KEY = pytest.StashKey[RuntimePool]()
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


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    # pytest-pyodide's --dist-dir defaults to ./pyodide: use the tree ./build.sh dist makes.
    if str(config.getoption("dist_dir")) == "pyodide" and not Path("pyodide").exists():
        config.option.dist_dir = DEFAULT_DIST_DIR
    _configure_pytest_pyodide()
    _kinds(config)


def pytest_report_header(config: pytest.Config) -> list[str]:
    dist = Path(config.getoption("dist_dir"))
    lines = [f"pyodide kinds: {','.join(_kinds(config))}; dist dir: {dist}"]
    wheels = sorted(dist.glob("pyws_client-*.whl"))
    sources = list((REPO / "pyws").rglob("*.py"))
    if wheels and sources and max(p.stat().st_mtime for p in sources) > wheels[-1].stat().st_mtime:
        lines.append("WARNING: pyws/ is newer than the wheel in the dist dir: run ./build.sh dist")
    return lines


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "pyodide_runtime" in metafunc.fixturenames:
        kinds = _kinds(metafunc.config)
        metafunc.parametrize("pyodide_runtime", kinds, indirect=True, ids=kinds)


@pytest.hookimpl(trylast=True)  # after -k/-m deselection
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    used = set()
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "pyodide_runtime" in callspec.params:
            used.add(callspec.params["pyodide_runtime"])
    config.stash[_USED_KINDS_KEY] = [k for k in KINDS if k in used]


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    pool = config.stash.get(_POOL_KEY, None)
    if pool is not None and pool.startups:
        parts = ", ".join(f"{kind} {secs:.1f} s" for kind, secs in pool.startups)
        terminalreporter.write_line(f"pyodide runtime start-up: {parts}")


@pytest.fixture(scope="session")
def pyodide_pool(request: pytest.FixtureRequest) -> Iterator[RuntimePool]:
    config = request.config
    dist_dir = Path(config.getoption("dist_dir"))
    missing = [f for f in ("pyodide.mjs", "pyodide.asm.wasm", "python_stdlib.zip", "pyodide-lock.json") if not (dist_dir / f).is_file()]
    if missing:
        pytest.fail(f"dist dir {dist_dir} lacks {missing}: run ./build.sh dist", pytrace=False)
    with spawn_loopback_web_server(dist_dir) as web_server:
        pool = RuntimePool(
            config.stash.get(_USED_KINDS_KEY, []),
            web_server,
            dist_dir,
            parallel=not config.getoption("pyodide_serial_start"),
        )
        config.stash[_POOL_KEY] = pool
        try:
            yield pool
        finally:
            pool.close()


@pytest.fixture
def pyodide_runtime(request: pytest.FixtureRequest, pyodide_pool: RuntimePool) -> Iterator[PyodideRuntime]:
    rt = pyodide_pool.get(request.param)
    with contextlib.suppress(Exception):
        rt.runner.clean_logs()
    yield rt
    logs = "" if rt.broken else rt.logs
    if logs:
        print(f"--- console of Pyodide [{rt.kind}] during this test ---\n{logs}")
