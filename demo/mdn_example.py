"""MDN's WebSocket example ("Web APIs > WebSocket > Examples"), translated line by line.

The same file runs unchanged as a plain CPython script (``python demo/mdn_example.py``)
and under Pyodide in a browser page, a worker or Node (demo/index.html, js/run.mjs).
ECHO_URL names the server (the demo starts a local echo server and sets it).
"""

import os

from pyws import WebSocket

# Create WebSocket connection.
socket = WebSocket(os.environ.get("ECHO_URL", "ws://localhost:8080"))


# Connection opened
def on_open(event):
    socket.send("Hello Server!")


socket.addEventListener("open", on_open)


# Listen for messages
def on_message(event):
    print("Message from server", event.data)
    socket.close()  # not in MDN's example: so that the script ends


socket.addEventListener("message", on_message)

# Not in MDN's example either: show how it ended.
socket.addEventListener("close", lambda event: print("Closed", event.code, event.wasClean))
