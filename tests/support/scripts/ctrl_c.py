"""Open a socket, say so, and wait for Ctrl-C (the test sends SIGINT)."""
import sys

from pyws import WebSocket

ws = WebSocket(sys.argv[1])
ws.onopen = lambda event: print("open", flush=True)
ws.onclose = lambda event: print("close", event.code, event.wasClean, flush=True)
