"""One connection through the host's JavaScript WebSocket.

The JavaScript socket does the protocol work; this module forwards its events to the
facade and papers over hosts that deviate from the browser:

- Node 20's WebSocket (undici) fires ``error`` but never ``close`` for a refused
  connection, and leaves ``readyState`` at CONNECTING: pyws reports the ``close``
  (1006) itself.
- Node's WebSocket drops data sent in the CLOSING state without counting it in
  ``bufferedAmount``: pyws counts it (a browser's socket does, as the standard says; there
  pyws hands every message to the host without reading ``readyState`` first). It reads
  ``readyState`` before a send only when it cannot know the answer: inside its own
  ``open`` and ``message`` handlers the host's socket is OPEN (it fires them only then,
  and its state changes only on a later turn of the JavaScript loop, or by a close() that
  pyws makes itself).

Handlers are two ``create_proxy`` proxies (one for ``message``, one for the other three
events) made once per socket and destroyed after the ``close`` event (never while one of them is running), so nothing leaks and no
"borrowed proxy was destroyed" error can happen. The JavaScript socket always uses
binaryType "arraybuffer"; the facade applies the Python binaryType.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from pyodide.ffi import JsException, create_proxy, to_js  # type: ignore[import-not-found,unused-ignore]

from .._backend import Closed
from .._errors import from_dom_name
from .._redact import redact_urls
from .._spec import to_usv
from . import _probe

if TYPE_CHECKING:
    from .._backend import Owner
    from .._spec import WebSocketURL

__all__ = ["JSConnection"]

logger = logging.getLogger("pyws")

_JS_CONNECTING = 0
_JS_CLOSING = 2
# From this size on, send() hands the host a view of the bytes in Pyodide's memory
# instead of a copy (to_js): a view costs a fixed ~30 us of FFI calls, a copy grows with
# the size (~100-250 us per MiB in Node). The host copies the view before send() returns.
_VIEW_FROM = 256 * 1024


def _translate(exc: JsException) -> Exception:
    """A pyws exception for an error the JavaScript WebSocket threw."""
    name = str(getattr(exc, "name", "") or "Error")
    # The host's message may quote the URL: its credentials are masked.
    message = redact_urls(str(getattr(exc, "message", "") or exc))
    return from_dom_name(name, message)


class JSConnection:
    """A connection backed by the host's WebSocket (see pyws._backend.Connection)."""

    def __init__(self, owner: Owner, url: WebSocketURL, protocols: tuple[str, ...]) -> None:
        ws_class = _probe.websocket_class()
        self._owner = owner
        self._deliver = owner._received  # bound once: called per message
        self._href = url.href
        self._failed = False
        self._finished = False
        self._in_call = False
        self._discarded = 0
        # Whether to check readyState before each send (see the module docstring).
        self._count_discarded = _probe.host_kind() == "node"
        # True while an open or message handler of this socket runs: readyState is OPEN.
        self._known_open = False
        try:
            self._js = ws_class.new(url.href, to_js(list(protocols)))
        except JsException as exc:
            raise _translate(exc) from None
        self._js.binaryType = "arraybuffer"
        # The bound send method, looked up once: each send is then one call across the FFI
        # (a method lookup through the proxy costs about as much as the call).
        self._js_send = self._js.send
        on_message, on_state = create_proxy(self._on_message), create_proxy(self._on_state)
        self._proxies: tuple[Any, ...] = (on_message, on_state)
        js = self._js
        js.onmessage = on_message
        js.onopen = js.onerror = js.onclose = on_state

    @property
    def buffered_amount(self) -> int:
        return int(self._js.bufferedAmount) + self._discarded

    @property
    def closing(self) -> bool:
        # The host's socket becomes CLOSING when the server's close frame arrives, and
        # fires no event for it: its readyState is the browser's truth.
        return bool(self._js.readyState == _JS_CLOSING)

    def send_text(self, data: str) -> None:
        if self._count_discarded and not self._known_open and self._js.readyState == _JS_CLOSING:
            self._discarded += len(to_usv(data).encode("utf-8"))
            return
        try:
            self._js_send(data)
        except JsException as exc:
            raise _translate(exc) from None

    def send_binary(self, data: bytes) -> None:
        if self._count_discarded and not self._known_open and self._js.readyState == _JS_CLOSING:
            self._discarded += len(data)
            return
        try:
            # A Uint8Array, so the frame is binary (a bytes object would be sent as
            # the text "b'...'"); the host copies it before send() returns.
            if len(data) < _VIEW_FROM:
                self._js_send(to_js(data))
            else:
                self._send_view(data)
        except JsException as exc:
            raise _translate(exc) from None

    def _send_view(self, data: bytes) -> None:
        """Send ``data`` as a Uint8Array view of its own buffer: no copy on this side."""
        proxy: Any = create_proxy(data)  # the PyProxy, as JavaScript sees it
        try:
            buffer = proxy.getBuffer("u8")
            try:
                self._js_send(buffer.data)
            finally:
                buffer.release()
        finally:
            proxy.destroy()

    def close(self, code: int | None, reason: str, *, quiet: bool = False) -> None:
        # (``quiet`` changes nothing here: pyws logs nothing; the host may.)
        # Node's undici fires error synchronously inside close() while CONNECTING:
        # events that fire during this call are handled on a later turn.
        self._in_call = True
        self._known_open = False
        try:
            if code is None:
                self._js.close()
            elif not reason:
                self._js.close(code)
            else:
                self._js.close(code, reason)
        except JsException as exc:
            raise _translate(exc) from None
        finally:
            self._in_call = False

    def fail(self, why: str) -> None:
        logger.warning("WebSocket connection to '%s' failed: %s", self._href, why)
        self._failed = True
        self._in_call = True  # report on the next turn, as every event is
        self._known_open = False
        try:
            self._js.close()
        finally:
            self._finish(1006, "", was_clean=False)
            self._in_call = False

    def settle(self) -> None:
        """The host's socket reports its own end, through its events."""

    def check_awaitable_here(self) -> None:
        """One loop (the host's) runs everything here."""

    def pause_reading(self) -> None:
        """The host's WebSocket cannot stop reading: max_queue bounds nothing here."""

    def resume_reading(self) -> None:
        """See :meth:`pause_reading`."""

    async def wait_buffered(self, threshold: int) -> None:
        # JavaScript has no "drained" event: poll the amount on a short timer while
        # someone waits.
        while self.buffered_amount > threshold and not self._finished:
            await asyncio.sleep(0.005)

    # -- JavaScript event handlers (each runs as a task of its own) ---------------

    def _on_state(self, event: Any) -> None:
        kind = event.type
        if kind == "open":
            self._on_open(event)
        elif kind == "error":
            self._on_error(event)
        elif kind == "close":
            self._on_close(event)

    def _on_open(self, event: Any) -> None:
        js = self._js
        self._known_open = True
        try:
            self._owner._opened(str(js.protocol), str(js.extensions))
        finally:
            self._known_open = False

    def _on_message(self, event: Any) -> None:
        data = event.data
        if type(data) is not str:
            data = data.to_bytes()  # an ArrayBuffer
        self._known_open = True
        try:
            self._deliver(data)
        finally:
            self._known_open = False

    def _on_error(self, event: Any) -> None:
        self._failed = True
        if self._js.readyState == _JS_CONNECTING:
            # Node 20 (undici): a failed connection attempt never fires close.
            self._finish(1006, "", was_clean=False)

    def _on_close(self, event: Any) -> None:
        self._finish(int(event.code), str(event.reason), was_clean=bool(event.wasClean))

    def _finish(self, code: int, reason: str, *, was_clean: bool) -> None:
        if self._finished:
            return
        self._finished = True
        if self._in_call:  # never dispatch from inside close()
            asyncio.get_event_loop().call_soon(self._report, code, reason, was_clean)
        else:
            self._report(code, reason, was_clean)

    def _report(self, code: int, reason: str, was_clean: bool) -> None:
        js = self._js
        js.onopen = js.onmessage = js.onerror = js.onclose = None
        try:
            self._owner._closed(Closed(code=code, reason=reason, was_clean=was_clean,
                                       failed=self._failed))
        finally:
            # Destroy the handler proxies on a later turn: one of them is running now.
            asyncio.get_event_loop().call_soon(self._destroy_proxies)

    def _destroy_proxies(self) -> None:
        for proxy in self._proxies:
            proxy.destroy()
        self._proxies = ()
