"""No event runs while the script's own code runs, however long it takes."""
import sys
import time

from pyws import WebSocket

order = []
ws = WebSocket(sys.argv[1])
ws.onopen = lambda event: (order.append("open"), ws.close())
ws.onclose = lambda event: print(" ".join(order + ["close"]), event.code, flush=True)
deadline = time.monotonic() + 0.5  # the server answers within this: events are ready
while time.monotonic() < deadline:
    time.sleep(0.01)
order.append("script-end")
