"""The blocking API in a plain script: no asyncio in sight (CPython, or Pyodide in Node
with JSPI). The URL is the first argument or ECHO_URL."""
import os
import sys

import pyws

ws = pyws.connect_sync(sys.argv[1] if len(sys.argv) > 1 else os.environ["ECHO_URL"], timeout=10)
ws.send("one")
ws.send("two")
print(ws.recv_sync(timeout=10), ws.recv_sync(timeout=10))
ws.close(1000, "done")
closed = ws.wait_closed_sync(timeout=10)
print("closed", closed.code, closed.reason, closed.wasClean)
