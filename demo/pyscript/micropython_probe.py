"""What stops pyws under PyScript's MicroPython: a probe, shown in the page.

1. ``import pyws`` (the wheel is unpacked into the working directory by ``files``);
2. the standard-library modules and language features pyws is written with;
3. the host's WebSocket through MicroPython's own ``js``/``jsffi`` (no pyws): an echo.
"""

import sys

import js
import jsffi
from pyscript import document

transcript = document.getElementById("mpy-transcript")
status = document.getElementById("mpy-status")
impl = sys.implementation
document.getElementById("mpy-runtime").textContent = (
    f"{impl.name} {'.'.join(str(n) for n in impl.version[:3])}."
)


def show(line):
    transcript.textContent += line + "\n"


def error_text(error):
    return f"{type(error).__name__}: {error}"


# 1. pyws itself
try:
    import pyws  # noqa: F401

    show("import pyws: ok")
except BaseException as error:  # noqa: BLE001 - the probe reports whatever stops it
    show(f"import pyws: {error_text(error)}")

# 2. what pyws's code needs
missing = []
for name in ("__future__", "typing", "enum", "dataclasses", "collections.abc", "ipaddress",
             "urllib.parse", "codecs", "pyodide.ffi"):
    try:
        __import__(name)
    except ImportError:
        missing.append(name)
show("missing modules: " + (", ".join(missing) or "none"))

try:
    import asyncio

    asyncio.get_event_loop().create_future()
    show("loop.create_future(): ok")
except BaseException as error:  # noqa: BLE001
    show(f"loop.create_future(): {error_text(error)}")

show("loop.call_soon: " + ("ok" if hasattr(asyncio.get_event_loop(), "call_soon") else "missing"))


class _Bytes(bytes):
    pass


try:
    len(_Bytes(b"abc"))
    show("len() of a bytes subclass: ok")
except BaseException as error:  # noqa: BLE001
    show(f"len() of a bytes subclass: {error_text(error)}")

# 3. the host's WebSocket, straight from MicroPython
socket = js.WebSocket.new(f"ws://{js.location.host}/echo")


def on_open(event):
    socket.send("Hello from MicroPython!")


def on_message(event):
    show(f"raw js.WebSocket echo: {event.data}")
    socket.close(1000)


def on_close(event):
    show(f"raw js.WebSocket closed: {event.code}")
    status.textContent = "done"


socket.onopen = jsffi.create_proxy(on_open)
socket.onmessage = jsffi.create_proxy(on_message)
socket.onclose = jsffi.create_proxy(on_close)
status.textContent = "probing"
