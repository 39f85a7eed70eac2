"""Fixtures shared by every suite: the real servers on 127.0.0.1 (tests/support/servers.py)
and the leak check. The ``pyodide_runtime`` fixture comes from tests/support/pyodide_plugin.py,
which loads the browser stack only for the tests that ask for a runtime."""

import gc
import logging
import warnings

import pytest

from support.leaks import ErrorLogs
from support.servers import running_server, unused_port

pytest_plugins = ["support.pyodide_plugin"]


@pytest.fixture(scope="session")
def behaviour_server():
    """The behaviour server of tests/support/servers.py, for the whole session."""
    with running_server() as server:
        yield server


@pytest.fixture(scope="session")
def refused_url():
    """A ws:// URL on 127.0.0.1 where nothing listens: connecting is refused."""
    return f"ws://127.0.0.1:{unused_port()}/"


@pytest.fixture
def no_leaks():
    """After the test: no socket or transport left unclosed (ResourceWarning), and no
    complaint from asyncio (a task or future whose exception nobody retrieved)."""
    with ErrorLogs(logging.WARNING, "asyncio") as complaints, \
            warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        yield
        gc.collect()
    leaks = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert not leaks, leaks
    assert not complaints.records, complaints.messages()
