"""The blocking API in a plain script: no asyncio in sight."""
import sys

import pyws

ws = pyws.connect_sync(sys.argv[1], timeout=10)
ws.send("one")
ws.send("two")
print(ws.recv_sync(timeout=10), ws.recv_sync(timeout=10))
ws.close(1000, "done")
closed = ws.wait_closed_sync(timeout=10)
print("closed", closed.code, closed.reason, closed.wasClean)
