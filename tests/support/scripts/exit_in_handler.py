"""sys.exit(3) from a handler: the socket is closed with 1001 and the status kept."""
import sys

from pyws import WebSocket

ws = WebSocket(sys.argv[1])


def on_open(event):
    print("open", flush=True)
    sys.exit(3)


ws.onopen = on_open
ws.onclose = lambda event: print("close", event.code, event.wasClean, flush=True)
