"""pyws in PyScript: this file runs on the page's main thread and in a PyScript worker.

MDN's WebSocket example, plus a binary message: the conversation goes into the page.
"""

import sys

import pyodide
from pyscript import RUNNING_IN_WORKER, document, window

from pyws import WebSocket

where = "worker" if RUNNING_IN_WORKER else "main"
transcript = document.getElementById(f"{where}-transcript")
status = document.getElementById(f"{where}-status")
document.getElementById(f"{where}-runtime").textContent = (
    f"Pyodide {pyodide.__version__}, Python {sys.version.split()[0]}."
)


def show(line):
    transcript.textContent += line + "\n"


# The server that serves this page also echoes at /echo (demo/sites_server.py). `window` is
# the page's, also in the worker (whose own location is a blob: URL).
socket = WebSocket(f"ws://{window.location.host}/echo")
socket.binaryType = "arraybuffer"


def on_open(event):
    show("Connected")
    socket.send("Hello Server!")
    socket.send(b"\x00\x01\x02")


def on_message(event):
    show(f"Message from server {event.data!r}")
    if isinstance(event.data, bytes):
        socket.close(1000, "done")


def on_close(event):
    show(f"Closed {event.code} {event.reason} wasClean={event.wasClean}")
    status.textContent = "done"


def on_error(event):
    show("Error")
    status.textContent = "failed"


socket.addEventListener("open", on_open)
socket.addEventListener("message", on_message)
socket.addEventListener("close", on_close)
socket.addEventListener("error", on_error)
status.textContent = "connecting"
