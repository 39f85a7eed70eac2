"""Events and the listener machinery of the DOM, as the WebSocket interface uses them.

- :class:`Event`, :class:`MessageEvent`, :class:`CloseEvent`: the event objects
  (DOM Standard section 2.2; HTML "MessageEvent"; WebSockets Standard "CloseEvent").
- :class:`EventTarget`: ``addEventListener`` / ``removeEventListener`` /
  ``dispatchEvent`` with the DOM's rules (DOM Standard sections 2.6-2.9): a duplicate
  (same type, callback and capture) is ignored; ``once`` removes the listener before it
  runs; a listener removed during a dispatch is not called; one added during a dispatch
  waits for the next event; a callback is a callable or an object with ``handleEvent``.
- Event handler attributes (``onmessage`` ...): HTML's "event handler" slot. The first
  non-None assignment adds a listener at the end of the list; later assignments change
  the callback in place (the position is kept); None removes it.

An exception in a listener is reported (logged on the ``pyws`` logger, as a browser
prints it to the console) and the dispatch goes on. A listener may be a coroutine
function: its coroutine is scheduled as a task on the running event loop.

Shared by both backends: events are pure Python objects everywhere.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncio

__all__ = ["Event", "MessageEvent", "CloseEvent", "EventTarget", "Listener"]

logger = logging.getLogger("pyws")

#: A listener: a callable taking the event, or an object with ``handleEvent(event)``.
Listener = Any

_monotonic = time.monotonic
_TIME_ORIGIN = _monotonic()


class Event:
    """A DOM event: ``Event(type)``; ``target`` is set when it is dispatched."""

    __slots__ = ("type", "target", "currentTarget", "timeStamp", "bubbles", "cancelable",
                 "defaultPrevented", "_stop", "_dispatching")

    NONE = 0
    CAPTURING_PHASE = 1
    AT_TARGET = 2
    BUBBLING_PHASE = 3

    def __init__(self, type: str, *, bubbles: bool = False, cancelable: bool = False) -> None:
        self.type = type
        self.target: EventTarget | None = None
        self.currentTarget: EventTarget | None = None
        #: Milliseconds since the module was imported (the page's time origin).
        self.timeStamp = (time.monotonic() - _TIME_ORIGIN) * 1000.0
        self.bubbles = bubbles
        self.cancelable = cancelable
        self.defaultPrevented = False
        self._stop = False
        self._dispatching = False

    @property
    def eventPhase(self) -> int:
        return self.AT_TARGET if self._dispatching else self.NONE

    @property
    def isTrusted(self) -> bool:
        """True for events pyws dispatched itself (as the browser's user agent does)."""
        return isinstance(self, _Trusted)

    def preventDefault(self) -> None:
        if self.cancelable:
            self.defaultPrevented = True

    def stopPropagation(self) -> None:
        """Nothing to propagate to (a WebSocket has no parent); kept for JS code."""

    def stopImmediatePropagation(self) -> None:
        """Skip the listeners after the current one."""
        self._stop = True

    def __repr__(self) -> str:
        return f"<{type(self).__name__} type={self.type!r}>"


class MessageEvent(Event):
    """A message: ``data`` is ``str`` for text, bytes-like for binary (see binaryType)."""

    __slots__ = ("data", "origin", "lastEventId", "source", "ports")

    def __init__(self, type: str = "message", *, data: Any = None, origin: str = "",
                 lastEventId: str = "", bubbles: bool = False, cancelable: bool = False) -> None:
        Event.__init__(self, type, bubbles=bubbles, cancelable=cancelable)
        self.data = data
        self.origin = origin
        self.lastEventId = lastEventId
        self.source = None
        self.ports: tuple[()] = ()

    def __repr__(self) -> str:
        data = self.data
        shown = repr(data) if len(data if data is not None else "") <= 40 else f"<{len(data)} items>"
        return f"<MessageEvent type={self.type!r} data={shown}>"


class CloseEvent(Event):
    """The end of a connection: ``code``, ``reason`` and ``wasClean``."""

    __slots__ = ("code", "reason", "wasClean")

    def __init__(self, type: str = "close", *, code: int = 0, reason: str = "",
                 wasClean: bool = False, bubbles: bool = False, cancelable: bool = False) -> None:
        Event.__init__(self, type, bubbles=bubbles, cancelable=cancelable)
        self.code = code
        self.reason = reason
        self.wasClean = wasClean

    def __repr__(self) -> str:
        return (f"<CloseEvent type={self.type!r} code={self.code} reason={self.reason!r} "
                f"wasClean={self.wasClean}>")


class _Trusted:
    """Marker mixin: events created by pyws itself (``isTrusted`` is True)."""

    __slots__ = ()


class TrustedEvent(_Trusted, Event):
    __slots__ = ()


class TrustedMessageEvent(_Trusted, MessageEvent):
    """A received message (one per message: its constructor is kept flat)."""

    __slots__ = ()

    # Fields a received message never changes, as class attributes: fewer stores per
    # message (they shadow the slots, and stay read-only, as in the DOM).
    type = "message"
    bubbles = cancelable = defaultPrevented = False
    lastEventId = ""
    source = None
    ports = ()

    def __init__(self, data: Any, origin: str) -> None:  # noqa: D107 - same fields as MessageEvent
        self.target = self.currentTarget = None
        self.timeStamp = (_monotonic() - _TIME_ORIGIN) * 1000.0
        self._stop = self._dispatching = False
        self.data = data
        self.origin = origin


class TrustedCloseEvent(_Trusted, CloseEvent):
    __slots__ = ()


class _Entry:
    """One listener in a target's list (DOM "event listener" struct)."""

    __slots__ = ("callback", "capture", "once", "removed")

    def __init__(self, callback: Listener, capture: bool, once: bool) -> None:
        self.callback = callback
        self.capture = capture
        self.once = once
        self.removed = False


class _HandlerSlot(_Entry):
    """The listener behind an ``onX`` attribute: its callback can change in place."""

    __slots__ = ()


def _flatten_options(options: bool | dict[str, Any] | None, kwargs: dict[str, Any]) -> tuple[bool, bool]:
    capture = once = False
    if isinstance(options, bool):
        capture = options
    elif isinstance(options, dict):
        capture = bool(options.get("capture", False))
        once = bool(options.get("once", False))
    elif options is not None:
        raise TypeError("options must be a bool or a dict")
    capture = bool(kwargs.pop("capture", capture))
    once = bool(kwargs.pop("once", once))
    kwargs.pop("passive", None)  # no default action to make passive
    if kwargs:
        raise TypeError(f"unexpected listener options: {', '.join(kwargs)}")
    return capture, once


class EventTarget:
    """The DOM's EventTarget: listener lists per event type and synchronous dispatch."""

    # Per type, an immutable tuple: dispatch iterates a snapshot without copying.
    _listeners: dict[str, tuple[_Entry, ...]]

    def __init__(self) -> None:
        self._listeners = {}
        self._pending_tasks: set[asyncio.Future[Any]] = set()

    def addEventListener(self, type: str, listener: Listener | None,
                         options: bool | dict[str, Any] | None = None, **kwargs: Any) -> None:
        """Add ``listener`` for events of ``type`` (ignored if already there).

        ``options`` is JavaScript's third argument (``capture`` bool or a dict with
        ``once``/``capture``/``passive``); ``once=True`` as a keyword works too.
        """
        capture, once = _flatten_options(options, kwargs)
        if listener is None:
            return
        _check_listener(listener)
        entries = self._listeners.get(type, ())
        for entry in entries:
            if not isinstance(entry, _HandlerSlot) and entry.callback == listener and entry.capture == capture:
                return
        self._listeners[type] = entries + (_Entry(listener, capture, once),)

    def removeEventListener(self, type: str, listener: Listener | None,
                            options: bool | dict[str, Any] | None = None, **kwargs: Any) -> None:
        """Remove the listener added with the same type, callback and capture."""
        capture, _ = _flatten_options(options, kwargs)
        for entry in self._listeners.get(type, ()):
            if not isinstance(entry, _HandlerSlot) and entry.callback == listener and entry.capture == capture:
                self._remove(type, entry)
                return

    def dispatchEvent(self, event: Event) -> bool:
        """Dispatch ``event`` synchronously; False if a listener called preventDefault.

        Raises :class:`~pyws.InvalidStateError` if the event is being dispatched.
        """
        if not isinstance(event, Event):
            raise TypeError("dispatchEvent() needs an Event")
        if event._dispatching:
            from ._errors import InvalidStateError

            raise InvalidStateError("The event is already being dispatched.")
        self._dispatch(event)
        return not event.defaultPrevented

    # -- internals shared with the WebSocket facade --------------------------------

    def _remove(self, type: str, entry: _Entry) -> None:
        entry.removed = True
        entries = self._listeners.get(type, ())
        remaining = tuple(e for e in entries if e is not entry)
        if remaining:
            self._listeners[type] = remaining
        else:
            self._listeners.pop(type, None)

    def _dispatch(self, event: Event) -> None:
        event.target = event.currentTarget = self
        event._dispatching = True
        event._stop = False
        try:
            for entry in self._listeners.get(event.type, ()):
                if entry.removed:
                    continue
                if entry.once:
                    self._remove(event.type, entry)
                callback = entry.callback
                try:
                    # _invoke(), inlined for the common case: a plain function.
                    result = callback(event) if callable(callback) else callback.handleEvent(event)
                    # asyncio.iscoroutine(), without importing asyncio for every user.
                    if result is not None and isinstance(result, Coroutine):
                        self._spawn(result, event)
                except Exception:
                    logger.exception("Uncaught exception in a %r listener of %r", event.type, self)
                if event._stop:
                    break
        finally:
            event._dispatching = False
            event.currentTarget = None

    def _spawn(self, coro: Any, event: Event) -> asyncio.Future[Any]:
        """Run an async listener's coroutine as a task; report its exception."""
        import asyncio

        task: asyncio.Future[Any] = asyncio.ensure_future(coro)
        self._pending_tasks.add(task)

        def done(task: asyncio.Future[Any]) -> None:
            self._pending_tasks.discard(task)
            if not task.cancelled() and task.exception() is not None:
                logger.error("Uncaught exception in an async %r listener of %r", event.type,
                             self, exc_info=task.exception())

        task.add_done_callback(done)
        return task

    # -- event handler attributes (onX) ---------------------------------------------

    def _get_handler(self, type: str) -> Callable[[Event], Any] | None:
        for entry in self._listeners.get(type, ()):
            if isinstance(entry, _HandlerSlot):
                return entry.callback  # type: ignore[no-any-return]
        return None

    def _set_handler(self, type: str, handler: Callable[[Event], Any] | None) -> None:
        entries = self._listeners.get(type, ())
        slot = next((e for e in entries if isinstance(e, _HandlerSlot)), None)
        if handler is None:
            if slot is not None:
                self._remove(type, slot)
            return
        if not callable(handler):
            # JavaScript turns a non-callable into null; in Python that hides a bug.
            raise TypeError(f"on{type} must be callable or None, not {type_name(handler)}")
        if slot is not None:
            slot.callback = handler
        else:
            self._listeners[type] = entries + (_HandlerSlot(handler, False, False),)


def type_name(value: object) -> str:
    return type(value).__name__


def _check_listener(listener: Listener) -> None:
    if not callable(listener) and not callable(getattr(listener, "handleEvent", None)):
        raise TypeError(
            f"a listener must be callable or have a handleEvent method, not {type_name(listener)}"
        )


def handler_property(type: str) -> property:
    """An ``onX`` attribute for event ``type`` (HTML "event handler IDL attribute")."""

    def fget(self: EventTarget) -> Callable[[Event], Any] | None:
        return self._get_handler(type)

    def fset(self: EventTarget, handler: Callable[[Event], Any] | None) -> None:
        self._set_handler(type, handler)

    return property(fget, fset, doc=f"The ``on{type}`` event handler (a listener slot).")
