"""A websockets server in a process of its own, for tests that pause (SIGSTOP), kill or
flood: prints its port, then serves until killed.

Paths: ``/echo``; ``/flood?size=N&count=M`` sends M binary messages of N bytes as fast
as the client reads (zeros, so permessage-deflate shrinks them to almost nothing), then
closes with 1000.
"""

import asyncio
import sys
import urllib.parse

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed


async def handler(connection):
    url = urllib.parse.urlsplit(connection.request.path)
    query = dict(urllib.parse.parse_qsl(url.query))
    try:
        if url.path == "/flood":
            payload = bytes(int(query["size"]))
            for _ in range(int(query["count"])):
                await connection.send(payload)
            await connection.close(1000)
        else:
            async for message in connection:
                await connection.send(message)
    except ConnectionClosed:
        pass


async def main():
    async with serve(handler, "127.0.0.1", 0, compression="deflate", max_size=None) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
