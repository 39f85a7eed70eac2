"""A plain script with an open socket forks (``os.fork()`` or a ``multiprocessing``
child with the fork start method); the parent's socket must stay the parent's.

    python fork_with_open_socket.py URL fork|multiprocessing
"""
import multiprocessing
import os
import sys
import time

import pyws

url, mode = sys.argv[1], sys.argv[2]
ws = pyws.connect_sync(url)
ws.send("queued before the fork")  # written when the loop next runs: the parent's only
start = time.monotonic()
if mode == "multiprocessing":
    child = multiprocessing.get_context("fork").Process(target=sum, args=(range(1000),))
    child.start()
    child.join(5)
    print("child exit code", child.exitcode, "after", round(time.monotonic() - start, 1), flush=True)
else:
    pid = os.fork()
    if pid == 0:
        time.sleep(0.3)  # the child's own work; then it ends as a script does
        sys.exit(0)
echoes = 2000
for n in range(echoes):
    ws.send(str(n))
received = [ws.recv_sync(timeout=10) for _ in range(echoes + 1)]
assert received == ["queued before the fork"] + [str(n) for n in range(echoes)], received[:5]
ws.close(1000)
event = ws.wait_closed_sync(timeout=10)
if mode == "fork":
    _, status = os.waitpid(pid, 0)
    print("child status", status, "after", round(time.monotonic() - start, 1), flush=True)
print("parent", event.code, event.wasClean, flush=True)
