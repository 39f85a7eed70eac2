"""The demo's server: a WebSocket echo server and the demo's static files, on one port.

``python demo/server.py [--port 8765]`` serves, on 127.0.0.1:

- ``ws://127.0.0.1:PORT/echo``: echoes every message (text stays text, binary binary);
- ``http://127.0.0.1:PORT/demo/index.html``: the demo page, with ``/js/`` and the
  Pyodide dist dir (``/build/pyodide-dist/``, made by ``./build.sh dist``).
"""

from __future__ import annotations

import argparse
import asyncio
import mimetypes
import pathlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

ROOT = pathlib.Path(__file__).resolve().parent.parent
# Only these folders are served: the page, its JavaScript and Pyodide.
SERVED = ("demo/", "js/pyws.mjs", "build/pyodide-dist/")
TYPES = {".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm",
         ".py": "text/plain; charset=utf-8", ".html": "text/html; charset=utf-8",
         ".json": "application/json", ".zip": "application/zip", ".whl": "application/zip"}


async def echo(connection: ServerConnection) -> None:
    try:
        async for message in connection:
            await connection.send(message)
    except ConnectionClosed:
        pass


def _response(status: HTTPStatus, body: bytes, content_type: str, **extra: str) -> Response:
    headers = Headers({"Content-Type": content_type, "Content-Length": str(len(body)),
                       "Cache-Control": "no-store", **extra})
    return Response(status.value, status.phrase, headers, body)


def static_files(connection: ServerConnection, request: Request) -> Response | None:
    if request.headers.get("Upgrade", "").lower() == "websocket":
        return None  # a WebSocket handshake: let the echo handler have it
    path = request.path.split("?", 1)[0].lstrip("/")
    if path in ("", "demo", "demo/"):
        return _response(HTTPStatus.FOUND, b"", "text/plain", Location="/demo/index.html")
    file = (ROOT / path).resolve()
    relative = file.relative_to(ROOT).as_posix() if file.is_relative_to(ROOT) else ""
    if not relative.startswith(SERVED) or not file.is_file():
        return _response(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain")
    content_type = TYPES.get(file.suffix) or mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    return _response(HTTPStatus.OK, file.read_bytes(), content_type)


@asynccontextmanager
async def running(port: int = 0) -> AsyncIterator[Server]:
    """The server on 127.0.0.1:``port`` (0: any free port)."""
    async with serve(echo, "127.0.0.1", port, process_request=static_files, max_size=None) as server:
        yield server


def port_of(server: Server) -> int:
    return int(next(iter(server.sockets)).getsockname()[1])


async def _main(port: int) -> None:
    async with running(port) as server:
        port = port_of(server)
        print(f"echo server: ws://127.0.0.1:{port}/echo")
        print(f"demo page:   http://127.0.0.1:{port}/demo/index.html")
        await asyncio.Future()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765)
    try:
        asyncio.run(_main(parser.parse_args().port))
    except KeyboardInterrupt:
        pass
