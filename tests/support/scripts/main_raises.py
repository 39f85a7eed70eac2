"""The main script dies with an exception while a socket is connecting."""
import sys

from pyws import WebSocket

ws = WebSocket(sys.argv[1])
ws.onopen = lambda event: print("open", flush=True)
ws.onclose = lambda event: print("close", event.code, event.wasClean, flush=True)
raise ValueError("boom")
