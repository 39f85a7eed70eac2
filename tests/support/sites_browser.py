"""Helpers for the PyScript and JupyterLite tests: the sites server and one headless Chromium.

``serving_sites()`` runs demo/sites_server.py (static files of build/pyscript-site and
build/jupyterlite-site, and a WebSocket echo at /echo) on 127.0.0.1 in a thread.
``chromium()`` starts Debian's Chromium through /usr/bin/chromedriver with a fresh profile,
bounded Selenium timeouts, and a host-resolver rule that makes every host name but
127.0.0.1 unresolvable: a page that reaches for a CDN fails at once instead of going online.
"""

from __future__ import annotations

import contextlib
import importlib.util
import shutil
import sys
import tempfile
import threading
from collections.abc import Iterator
from typing import Any

from support.paths import ROOT
from support.processes import kill_tree, process_tree


def _load_sites_server() -> Any:
    """demo/sites_server.py as a module (demo/ is not put on sys.path: it has a server.py)."""
    spec = importlib.util.spec_from_file_location("pyws_demo_sites_server",
                                                  ROOT / "demo" / "sites_server.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


sites_server = _load_sites_server()

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1")


@contextlib.contextmanager
def serving_sites() -> Iterator[str]:
    """Serve the sites; yields the base URL, ``http://127.0.0.1:PORT``."""
    with sites_server.running(0) as port:
        yield f"http://127.0.0.1:{port}"


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium WebDriver (Selenium, Debian's chromedriver), quit at the end."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="pyws-sites-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.command_executor.client_config.timeout = 60
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(30)
    service_process = driver.service.process
    try:
        yield driver
    finally:
        tree = process_tree(service_process.pid) if service_process else []
        quitter = threading.Thread(target=_quiet_quit, args=(driver,), daemon=True)
        quitter.start()
        quitter.join(10)
        kill_tree(tree)  # what survived quit()
        shutil.rmtree(profile, ignore_errors=True)


def _quiet_quit(driver: Any) -> None:
    with contextlib.suppress(Exception):
        driver.quit()


def console_log(driver: Any) -> str:
    """The browser console so far (for failure messages)."""
    with contextlib.suppress(Exception):
        return "\n".join(entry["message"] for entry in driver.get_log("browser"))
    return "(no console log)"
