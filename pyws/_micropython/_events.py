"""Events and EventTarget under MicroPython: the DOM's listener rules, in plain Python.

The same rules as pyws/_events.py (DOM Standard sections 2.6-2.9): a duplicate listener
(same type, callback and capture) is ignored; ``once`` removes a listener before it runs;
a listener removed during a dispatch is not called, one added during a dispatch waits for
the next event; a listener is a callable or an object with ``handleEvent``; an ``onX``
attribute is a slot that keeps its place in the list. An exception in a listener is logged
on the ``pyws`` logger and the dispatch goes on; an ``async def`` listener runs as a task.
"""

import logging

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

__all__ = ["Event", "MessageEvent", "CloseEvent", "EventTarget", "handler_property"]

logger = logging.getLogger("pyws")


class Event:
    """A DOM event: ``Event(type)``; ``target`` is set when it is dispatched."""

    NONE = 0
    CAPTURING_PHASE = 1
    AT_TARGET = 2
    BUBBLING_PHASE = 3

    def __init__(self, type: str, *, bubbles: bool = False, cancelable: bool = False) -> None:
        self.type = type
        self.target: "EventTarget | None" = None
        self.currentTarget: "EventTarget | None" = None
        #: Milliseconds since the page's (or worker's) time origin, as in the browser.
        self.timeStamp = float(_now())
        self.bubbles = bubbles
        self.cancelable = cancelable
        self.defaultPrevented = False
        self._trusted = False
        self._stop = False
        self._dispatching = False

    @property
    def eventPhase(self) -> int:
        return self.AT_TARGET if self._dispatching else self.NONE

    @property
    def isTrusted(self) -> bool:
        """True for events pyws dispatched itself."""
        return self._trusted

    def preventDefault(self) -> None:
        if self.cancelable:
            self.defaultPrevented = True

    def stopPropagation(self) -> None:
        """Nothing to propagate to (a WebSocket has no parent); kept for JS code."""

    def stopImmediatePropagation(self) -> None:
        """Skip the listeners after the current one."""
        self._stop = True

    def __repr__(self) -> str:
        return "<" + type(self).__name__ + " type=" + repr(self.type) + ">"


class MessageEvent(Event):
    """A message: ``data`` is ``str`` for text, ``bytes`` for binary."""

    def __init__(self, type: str = "message", *, data: "Any" = None, origin: str = "",
                 lastEventId: str = "", bubbles: bool = False, cancelable: bool = False) -> None:
        super().__init__(type, bubbles=bubbles, cancelable=cancelable)
        self.data = data
        self.origin = origin
        self.lastEventId = lastEventId
        self.source = None
        self.ports = ()


class CloseEvent(Event):
    """The end of a connection: ``code``, ``reason`` and ``wasClean``."""

    def __init__(self, type: str = "close", *, code: int = 0, reason: str = "",
                 wasClean: bool = False, bubbles: bool = False, cancelable: bool = False) -> None:
        super().__init__(type, bubbles=bubbles, cancelable=cancelable)
        self.code = code
        self.reason = reason
        self.wasClean = wasClean

    def __repr__(self) -> str:
        return ("<CloseEvent type=" + repr(self.type) + " code=" + str(self.code) + " reason="
                + repr(self.reason) + " wasClean=" + str(self.wasClean) + ">")


class _Entry:
    """One listener in a target's list; ``slot`` for the one behind an ``onX`` attribute."""

    def __init__(self, callback: "Any", capture: bool, once: bool, slot: bool = False) -> None:
        self.callback = callback
        self.capture = capture
        self.once = once
        self.slot = slot
        self.removed = False


def _flatten_options(options: "Any", kwargs: "dict[str, Any]") -> "tuple[bool, bool]":
    capture = once = False
    if options is True or options is False:
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
        raise TypeError("unexpected listener options: " + ", ".join(kwargs))
    return capture, once


class EventTarget:
    """The DOM's EventTarget: listener lists per event type and synchronous dispatch."""

    def __init__(self) -> None:
        self._listeners: "dict[str, list[_Entry]]" = {}

    def addEventListener(self, type: str, listener: "Any", options: "Any" = None,
                         **kwargs: "Any") -> None:
        """Add ``listener`` for events of ``type`` (ignored if already there)."""
        capture, once = _flatten_options(options, kwargs)
        if listener is None:
            return
        if not callable(listener) and not callable(getattr(listener, "handleEvent", None)):
            raise TypeError("a listener must be callable or have a handleEvent method, not "
                            + type_name(listener))
        entries = self._listeners.get(type, [])
        for entry in entries:
            if not entry.slot and entry.callback == listener and entry.capture == capture:
                return
        # A new list: a dispatch in progress iterates the old one.
        self._listeners[type] = entries + [_Entry(listener, capture, once)]

    def removeEventListener(self, type: str, listener: "Any", options: "Any" = None,
                            **kwargs: "Any") -> None:
        """Remove the listener added with the same type, callback and capture."""
        capture, _ = _flatten_options(options, kwargs)
        for entry in self._listeners.get(type, []):
            if not entry.slot and entry.callback == listener and entry.capture == capture:
                self._remove(type, entry)
                return

    def dispatchEvent(self, event: Event) -> bool:
        """Dispatch ``event`` synchronously; False if a listener called preventDefault."""
        if not isinstance(event, Event):
            raise TypeError("dispatchEvent() needs an Event")
        if event._dispatching:
            from ._errors import InvalidStateError

            raise InvalidStateError("The event is already being dispatched.")
        self._dispatch(event)
        return not event.defaultPrevented

    def _remove(self, type: str, entry: _Entry) -> None:
        entry.removed = True
        remaining = [e for e in self._listeners.get(type, []) if e is not entry]
        if remaining:
            self._listeners[type] = remaining
        else:
            self._listeners.pop(type, None)

    def _dispatch(self, event: Event) -> None:
        event.target = event.currentTarget = self
        event._dispatching = True
        event._stop = False
        try:
            for entry in self._listeners.get(event.type, []):
                if entry.removed:
                    continue
                if entry.once:
                    self._remove(event.type, entry)
                self._invoke(entry.callback, event)
                if event._stop:
                    break
        finally:
            event._dispatching = False
            event.currentTarget = None

    def _invoke(self, callback: "Any", event: Event) -> None:
        try:
            result = callback(event) if callable(callback) else callback.handleEvent(event)
            # A coroutine (a generator under MicroPython): run it as a task.
            if result is not None and hasattr(result, "send") and hasattr(result, "throw"):
                import asyncio

                asyncio.create_task(self._run_async(result, event.type))
        except Exception as exc:
            logger.exception("Uncaught exception in a %r listener of %r", event.type, self,
                             exc_info=exc)

    async def _run_async(self, coro: "Any", type: str) -> None:
        try:
            await coro
        except Exception as exc:
            logger.exception("Uncaught exception in an async %r listener of %r", type, self,
                             exc_info=exc)

    def _get_handler(self, type: str) -> "Any":
        for entry in self._listeners.get(type, []):
            if entry.slot:
                return entry.callback
        return None

    def _set_handler(self, type: str, handler: "Any") -> None:
        entries = self._listeners.get(type, [])
        slot = None
        for entry in entries:
            if entry.slot:
                slot = entry
        if handler is None:
            if slot is not None:
                self._remove(type, slot)
            return
        if not callable(handler):
            raise TypeError("on" + type + " must be callable or None, not " + type_name(handler))
        if slot is not None:
            slot.callback = handler
        else:
            self._listeners[type] = entries + [_Entry(handler, False, False, slot=True)]


def type_name(value: object) -> str:
    return type(value).__name__


def handler_property(type: str) -> "Any":
    """An ``onX`` attribute for event ``type`` (HTML "event handler IDL attribute")."""

    def fget(self: EventTarget) -> "Callable[[Event], Any] | None":
        return self._get_handler(type)  # type: ignore[no-any-return]

    def fset(self: EventTarget, handler: "Callable[[Event], Any] | None") -> None:
        self._set_handler(type, handler)

    return property(fget, fset)


_performance: "Any" = None


def _now() -> float:
    """The host's clock (``performance.now()``): the time origin events are stamped from."""
    global _performance
    if _performance is None:
        import js  # type: ignore[import-not-found,unused-ignore]

        _performance = getattr(js, "performance")  # noqa: B009 - mypy knows Pyodide's js
    return float(_performance.now())
