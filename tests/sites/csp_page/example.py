"""MDN's WebSocket example (open -> send -> echoed message), closed with a code and reason,
run by tests/sites/test_csp_page.py under a Content-Security-Policy without 'unsafe-eval'.

The last expression is the JSON report the page hands back to the test.
"""

import asyncio
import json
import os

import pyws
from pyws import WebSocket
from pyws._pyodide import _probe

transcript = []
finished = asyncio.get_running_loop().create_future()

# Create WebSocket connection.
socket = WebSocket(os.environ["ECHO_URL"])


# Connection opened
def on_open(event):
    transcript.append("open")
    socket.send("Hello Server!")


socket.addEventListener("open", on_open)


# Listen for messages
def on_message(event):
    transcript.append(f"message {event.data}")
    socket.close(1000, "done")


socket.addEventListener("message", on_message)


def on_close(event):
    transcript.append(f"close {event.code} {event.reason} wasClean={event.wasClean}")
    finished.set_result(None)


socket.addEventListener("close", on_close)
socket.addEventListener("error", lambda event: transcript.append("error"))

await asyncio.wait_for(finished, 20)  # top-level await: runPythonAsync runs this file
json.dumps({"backend": pyws.backend, "host": _probe.host_kind(), "transcript": transcript})
