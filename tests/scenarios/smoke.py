"""Smoke scenario for the test harness itself: the host's JS WebSocket, without pyws."""

import asyncio

import js
from pyodide.ffi import create_proxy


async def js_echo(url, message="hello", timeout=10.0):
    """Connect to the echo server at ``url`` with ``js.WebSocket``, send ``message``, return the echo."""
    loop = asyncio.get_running_loop()
    opened = loop.create_future()
    echoed = loop.create_future()

    def settle(fut, value=None, exc=None):
        if not fut.done():
            if exc is not None:
                fut.set_exception(exc)
            else:
                fut.set_result(value)

    def on_open(event):
        settle(opened)

    def on_message(event):
        settle(echoed, event.data)

    def on_error(event):
        err = ConnectionError(f"WebSocket error event on {url}")
        settle(opened, exc=err)
        settle(echoed, exc=err)

    def on_close(event):
        err = ConnectionError(f"WebSocket closed: code={event.code} reason={event.reason!r}")
        settle(opened, exc=err)
        settle(echoed, exc=err)

    handlers = {"open": on_open, "message": on_message, "error": on_error, "close": on_close}
    proxies = {name: create_proxy(fn) for name, fn in handlers.items()}
    ws = js.WebSocket.new(url)
    try:
        for name, proxy in proxies.items():
            ws.addEventListener(name, proxy)
        await asyncio.wait_for(opened, timeout)
        ws.send(message)
        return await asyncio.wait_for(echoed, timeout)
    finally:
        for name, proxy in proxies.items():
            ws.removeEventListener(name, proxy)
        ws.close()
        for proxy in proxies.values():
            proxy.destroy()
        for fut in (opened, echoed):  # mark exceptions retrieved: no "never retrieved" noise
            if fut.done() and not fut.cancelled():
                fut.exception()
