"""pyws as an Autobahn|Testsuite client: echo every message of every case.

    python compliance/client.py [SERVER_URL [AGENT]]

SERVER_URL defaults to $AUTOBAHN_SERVER (else ws://127.0.0.1:9001), AGENT to
$AUTOBAHN_AGENT (else pyws-<version>). compliance/run.py starts the fuzzing server and
runs this file; see docs/compliance.md.

Written the way a user would, with pyws's public API only: the browser's callbacks for the
cases (``onmessage`` sends the data straight back; ``binaryType = "arraybuffer"`` so that
binary messages arrive as plain ``bytes``) and ``pyws.connect()`` for the server's control
URLs. Every option keeps its default: permessage-deflate is offered as browsers offer it,
and ``max_size`` (64 MiB) is above the largest message of the suite (16 MiB, cases 9.1.6
and 9.2.6).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import urllib.parse

import pyws
from pyws import WebSocket

SERVER = os.environ.get("AUTOBAHN_SERVER", "ws://127.0.0.1:9001")
AGENT = os.environ.get("AUTOBAHN_AGENT", f"pyws-{pyws.__version__}")
#: Seconds one case may take before the client gives up on it (the server judges it).
CASE_TIMEOUT = float(os.environ.get("AUTOBAHN_CASE_TIMEOUT", "300"))


async def get_case_count(server: str) -> int:
    async with pyws.connect(f"{server}/getCaseCount") as ws:
        return int(json.loads(await ws.recv()))


async def run_case(server: str, agent: str, case: int) -> pyws.CloseEvent:
    ws = WebSocket(f"{server}/runCase?case={case}&agent={urllib.parse.quote(agent)}")
    ws.binaryType = "arraybuffer"
    ws.onmessage = lambda event: ws.send(event.data)
    try:
        return await asyncio.wait_for(ws.wait_closed(), CASE_TIMEOUT)
    except asyncio.TimeoutError:
        print(f"case {case}: still open after {CASE_TIMEOUT} s, closing", flush=True)
        ws.close()
        return await ws.wait_closed()


async def update_reports(server: str, agent: str) -> None:
    # The server writes the reports before it answers the handshake: no open timeout.
    async with pyws.connect(f"{server}/updateReports?agent={urllib.parse.quote(agent)}",
                            open_timeout=None) as ws:
        await ws.wait_closed()


async def main(server: str, agent: str) -> None:
    count = await get_case_count(server)
    print(f"[{agent}] the server has {count} cases", flush=True)
    t0 = time.monotonic()
    for case in range(1, count + 1):
        await run_case(server, agent, case)
    print(f"[{agent}] ran {count} cases in {time.monotonic() - t0:.1f} s", flush=True)
    await update_reports(server, agent)
    print(f"[{agent}] reports updated", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else SERVER,
                     sys.argv[2] if len(sys.argv) > 2 else AGENT))
