"""A handler opens a second socket: the process waits for it too."""
import sys

from pyws import WebSocket

first = WebSocket(sys.argv[1])


def on_first_close(event):
    print("first closed", event.code, flush=True)
    second = WebSocket(sys.argv[1])
    second.onopen = lambda event: second.send("second")
    second.onmessage = lambda event: (print("echo", event.data, flush=True), second.close())
    second.onclose = lambda event: print("second closed", event.code, flush=True)


first.onopen = lambda event: first.close(1000)
first.onclose = on_first_close
