"""Blocking calls under Pyodide, through JSPI (``pyodide.ffi.run_sync``).

JSPI lets Python wait on a JavaScript promise: in Chromium (no flag needed) and in Node
with ``--experimental-wasm-stack-switching``, and only when Python was entered
asynchronously (``runPythonAsync``, a task), not from a JavaScript callback. Elsewhere
the blocking calls raise RuntimeError naming the async alternative.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from . import _probe

if TYPE_CHECKING:
    from .._backend import Connection

__all__ = ["run_blocking"]

T = TypeVar("T")


def run_blocking(conn: Connection | None, make: Callable[[], Awaitable[T]], timeout: float | None,
                 async_form: str) -> T:
    if not _probe.can_block():
        raise RuntimeError(
            f"this Pyodide cannot block here ({_probe.host_kind()}): use {async_form}. "
            "Blocking needs JSPI (Chromium; Node with --experimental-wasm-stack-switching) "
            "and Python entered asynchronously (runPythonAsync or a task), not a JavaScript "
            "callback."
        )
    from pyodide.ffi import run_sync  # type: ignore[attr-defined,unused-ignore]

    box: list[Any] = []

    async def runner() -> None:
        # Resolve the promise with None and keep the value in Python (resolving it with
        # a Python object from a Python callback can hang).
        try:
            box.append((True, await asyncio.wait_for(make(), timeout)))
        except asyncio.TimeoutError:
            box.append((False, TimeoutError(f"no answer within {timeout} s")))
        except BaseException as exc:  # re-raised below, outside JSPI
            box.append((False, exc))

    run_sync(runner())
    ok, value = box[0]
    if not ok:
        raise value
    return value  # type: ignore[no-any-return]
