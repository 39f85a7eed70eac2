"""Capability probes for the JavaScript host Pyodide runs in.

Each probe answers from what the host exposes, never from a user agent string, and only
through attribute reads and calls on existing JavaScript objects: no JavaScript is built
from strings (``eval``, ``Function``), so pyws runs on pages whose Content-Security-Policy
forbids ``unsafe-eval``.
"""

from __future__ import annotations

import functools
from typing import Any

import js as _js_module  # type: ignore[import-not-found,unused-ignore]

js: Any = _js_module  # the host's global scope (untyped)

__all__ = ["host_kind", "websocket_class", "base_url", "can_block"]


def _global(name: str) -> Any:
    """``globalThis[name]``, or None when it is missing, undefined or null (Pyodide turns
    undefined and null into None; a missing name raises AttributeError)."""
    return getattr(js.globalThis, name, None)


@functools.cache  # the host does not change under a running interpreter
def host_kind() -> str:
    """"node", "worker" (a Web Worker) or "browser" (a page's main thread)."""
    process = _global("process")
    # Browser bundles may define a `process` shim: only Node's has versions.node.
    if process is not None and getattr(getattr(process, "versions", None), "node", None):
        return "node"
    scope = _global("WorkerGlobalScope")
    # `globalThis instanceof WorkerGlobalScope`, without eval: the default instanceof is
    # exactly this prototype-chain test.
    if scope is not None and scope.prototype.isPrototypeOf(js.globalThis):
        return "worker"
    return "browser"


def websocket_class() -> Any:
    """The host's WebSocket constructor, or a RuntimeError that says what to do."""
    global _websocket_class
    if _websocket_class is not None:
        return _websocket_class
    ws_class = _global("WebSocket")
    if ws_class is None:
        if host_kind() == "node":
            raise RuntimeError(
                "pyws needs the global WebSocket of Node.js, which Node 20 only exposes "
                "with a flag: run node with --experimental-websocket (Node >= 22 has it "
                "by default)."
            )
        raise RuntimeError("pyws: this JavaScript host has no WebSocket class.")
    _websocket_class = ws_class
    return ws_class


_websocket_class: Any = None  # found once: looking it up crosses the FFI


def base_url() -> str | None:
    """The URL relative WebSocket URLs resolve against: the page's or the worker's
    location (None under Node, where relative URLs are errors)."""
    if host_kind() == "node":
        return None
    location = _global("location")
    return None if location is None else str(location.href)


def can_block() -> bool:
    """Whether Python may block on a JavaScript promise here (JSPI)."""
    try:
        from pyodide.ffi import can_run_sync  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        return False
    return bool(can_run_sync())
