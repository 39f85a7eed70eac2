"""The Pyodide test harness itself (tests/support/pyodide_harness.py) works in every runtime kind."""

import pytest

from support.pyodide_plugin import PyodideRunError


def test_harness_js_echo(pyodide_runtime, behaviour_server):
    # The JS WebSocket of the runtime reaches the host's websockets server on 127.0.0.1.
    url = f"ws://127.0.0.1:{behaviour_server.port}/echo"
    assert pyodide_runtime.run_async(f"await scenarios.smoke.js_echo({url!r})") == "hello"


def test_harness_returns_last_expression(pyodide_runtime):
    value = pyodide_runtime.run_async(
        r"""
        import asyncio
        await asyncio.sleep(0)
        # non-ASCII source survives the transport: héllo ✓
        x = {"a": [1, 2.5, None, True], "b": (1, 2), "s": 'h\u00e9llo "\\" \u2713 \U0001f600\n$'}
        x
        """
    )
    assert value == {"a": [1, 2.5, None, True], "b": [1, 2], "s": 'h\u00e9llo "\\" \u2713 \U0001f600\n$'}


def test_harness_python_exception_fails_the_test(pyodide_runtime):
    # Guards against vacuous passes: an exception inside Pyodide must surface in pytest.
    with pytest.raises(PyodideRunError) as excinfo:
        pyodide_runtime.run_async(
            """
            def inner():
                raise ValueError("boom from pyodide")
            inner()
            """
        )
    err = excinfo.value
    assert err.kind == pyodide_runtime.kind
    assert err.exc_type == "ValueError"
    assert "ValueError: boom from pyodide" in err.python_traceback
    assert 'raise ValueError("boom from pyodide")' in err.python_traceback  # source lines shown
    assert isinstance(err, pytest.fail.Exception)  # reported by pytest as a test failure


def test_harness_failed_assert_in_scenario_code_fails(pyodide_runtime):
    with pytest.raises(PyodideRunError, match="AssertionError"):
        pyodide_runtime.run_async("assert 1 + 1 == 3, 'arithmetic'")


def test_harness_hang_is_bounded(pyodide_runtime):
    with pytest.raises(PyodideRunError) as excinfo:
        pyodide_runtime.run_async("import asyncio; await asyncio.Event().wait()", timeout=0.5)
    assert excinfo.value.exc_type == "TimeoutError"
    assert pyodide_runtime.run_async("1 + 1") == 2  # the runtime stays usable


def test_harness_pyws_wheel_installed(pyodide_runtime):
    info = pyodide_runtime.run_async(
        """
        import sys, importlib.metadata
        {"platform": sys.platform, "version": importlib.metadata.version("pyws-client"),
         "location": str(importlib.metadata.distribution("pyws-client").locate_file("pyws"))}
        """
    )
    assert info["platform"] == "emscripten"
    assert info["version"]
    assert "site-packages" in info["location"]


def test_harness_import_pyws(pyodide_runtime):
    path = pyodide_runtime.run_async("import pyws; pyws.__file__")
    assert path and "/site-packages/pyws/__init__.py" in path, path
