"""The Pyodide runtimes behind the ``pyodide_runtime`` fixture (tests/support/pyodide_plugin.py
documents the fixture; it imports this module when the first test needs a runtime).

Each runtime runs on one of pytest-pyodide's runners: its node driver, or Selenium with
Debian's Chromium and /usr/bin/chromedriver (a fresh profile each, bounded timeouts, the
whole process tree killed if the browser stops answering).

What every runtime has, once, at start-up
-----------------------------------------
* the pyws wheel, installed with ``pyodide.loadPackage("pyws-client")`` from the dist dir's
  generated lock (site-packages; no network);
* every ``.py`` file under tests/scenarios/ copied to /home/pyodide/pyws_tests/scenarios/
  (served as a zip by the test web server, unpacked in Pyodide), and /home/pyodide/pyws_tests
  first on ``sys.path``. In ``run_async`` code the name ``scenarios`` is already bound and its
  submodules import lazily on attribute access, so ``await scenarios.smoke.js_echo(url)``
  works without an import statement (an ``import scenarios.smoke`` works too).

Importing this module points Selenium at /usr/bin/chromedriver (offline) and makes
pytest-pyodide's own web servers (``web_server_main``, run_in_pyodide mode) bind 127.0.0.1
instead of 0.0.0.0; opening the pool adds the Chromium and Node flags below to
pytest-pyodide's global config. The suite does not use pytest-pyodide's own fixtures
(``selenium``, ``run_in_pyodide``); once a pool is open they would get the same.
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

from support.paths import SCENARIOS  # noqa: E402
from support.processes import kill_tree, process_tree  # noqa: E402
from support.pyodide_plugin import PyodideRunError, PyodideTransportError  # noqa: E402

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


# --------------------------------------------------------------------------------------------
# Python code that runs inside Pyodide (written to PYODIDE_TESTS_ROOT/_pyws_harness.py)

_IN_PYODIDE_HELPER = r'''
"""pyws test harness, Pyodide side (written by tests/support/pyodide_harness.py)."""
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
        if SCENARIOS.is_dir():
            for path in sorted(SCENARIOS.rglob("*.py")):
                if "__pycache__" not in path.parts:
                    zf.write(path, Path("scenarios") / path.relative_to(SCENARIOS))
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
    # Loading Pyodide in the page takes 10-30 s here, longer on a loaded machine: the
    # default (20 s) failed the start. Below SELENIUM_HTTP_TIMEOUT, so chromedriver answers
    # first; every run_js sets its own bound anyway.
    script_timeout = 50

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        try:  # the constructor starts the browser, then loads Pyodide in it
            super().__init__(*args, **kwargs)
        except BaseException:
            if getattr(self, "driver", None) is not None:  # do not leave it running
                self.quit(graceful=False)
            raise

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
        tree = process_tree(service_proc.pid) if service_proc is not None else []
        try:
            if graceful:
                quitter = threading.Thread(target=self._quit_quietly, name="chrome-quit", daemon=True)
                quitter.start()
                quitter.join(QUIT_TIMEOUT)
            kill_tree(tree)
            if service_proc is not None:
                with contextlib.suppress(Exception):
                    service_proc.wait(timeout=5)
        finally:
            shutil.rmtree(getattr(self, "_profile_dir", ""), ignore_errors=True)

    def _quit_quietly(self) -> None:
        with contextlib.suppress(Exception):
            super().quit()


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
    """One runtime per kind for the session; ``get(kind)`` waits for it to be up."""

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


@contextlib.contextmanager
def open_pool(dist_dir: Path, kinds: list[str], parallel: bool) -> Iterator[RuntimePool]:
    """The runtimes of ``kinds`` (started at once in parallel threads if ``parallel``,
    else each when first used) and the web server of ``dist_dir`` they load from."""
    missing = [f for f in ("pyodide.mjs", "pyodide.asm.wasm", "python_stdlib.zip", "pyodide-lock.json") if not (dist_dir / f).is_file()]
    if missing:
        pytest.fail(f"dist dir {dist_dir} lacks {missing}: run ./build.sh dist", pytrace=False)
    _configure_pytest_pyodide()
    with spawn_loopback_web_server(dist_dir) as web_server:
        pool = RuntimePool(kinds, web_server, dist_dir, parallel)
        try:
            yield pool
        finally:
            pool.close()
