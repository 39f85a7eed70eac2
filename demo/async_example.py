"""pyws's async API: one file for CPython (a script) and Pyodide (page, worker, Node).

``python demo/async_example.py`` runs it with asyncio.run; under Pyodide the host's loop
is already running, and ``pyws.run`` schedules ``main()`` on it as a task.
ECHO_URL names the echo server.
"""

import os

import pyws


async def main():
    url = os.environ.get("ECHO_URL", "ws://localhost:8080")
    async with pyws.connect(url) as ws:
        ws.send("Hello Server!")
        print("Message from server", await ws.recv())
        for n in range(3):
            ws.send(f"message {n}")
        async for data in ws:
            print("Echo", data)
            if data == "message 2":
                break
    closed = await ws.wait_closed()
    print("Closed", closed.code, closed.wasClean)


if __name__ == "__main__":
    done = pyws.run(main())
