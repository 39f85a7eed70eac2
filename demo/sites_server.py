"""Serve the PyScript page and the JupyterLite site with a WebSocket echo server, on one port.

``python demo/sites_server.py [--port 8766]`` (after ``./build.sh dist``) serves, on 127.0.0.1:

- ``ws://127.0.0.1:PORT/echo``: echoes every message (text stays text, binary binary);
- ``http://127.0.0.1:PORT/pyscript/index.html``: the PyScript page (build/pyscript-site,
  made from demo/pyscript/), sent with the cross-origin-isolation headers that a PyScript
  worker needs to reach the page's DOM (``Cross-Origin-Opener-Policy: same-origin``,
  ``Cross-Origin-Embedder-Policy: require-corp``);
- ``http://127.0.0.1:PORT/jupyterlite/notebooks/index.html?path=pyws_echo.ipynb``: the
  JupyterLite site (build/jupyterlite-site, made from demo/jupyterlite/).

The page and the notebook find the echo server from their own location
(``ws://{location.host}/echo``), so they need no configuration.
"""

from __future__ import annotations

import argparse
import mimetypes
import pathlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http import HTTPStatus

from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import ServerConnection, serve

ROOT = pathlib.Path(__file__).resolve().parent.parent
#: URL prefix -> (folder, extra headers)
SITES: dict[str, tuple[pathlib.Path, dict[str, str]]] = {
    "pyscript": (ROOT / "build" / "pyscript-site",
                 {"Cross-Origin-Opener-Policy": "same-origin",
                  "Cross-Origin-Embedder-Policy": "require-corp",
                  "Cross-Origin-Resource-Policy": "same-origin"}),
    "jupyterlite": (ROOT / "build" / "jupyterlite-site", {}),
}
#: Folders of vendored runtime files (npm's Pyodide, MicroPython and PyScript) that a page
#: fetches from its main thread and from a worker at the same moment. They are sent as
#: cacheable: with ``no-store``/``no-cache``, Chromium lets the second of two simultaneous
#: fetches of pyodide.asm.wasm fail ("WebAssembly compilation aborted: Network error:
#: Response body loading was aborted"), often on a loaded machine; a fresh cached copy
#: serves the second one. Everything else (pages, configs, wheels) is ``no-store``.
RUNTIME_FOLDERS = ("pyscript/pyodide/", "pyscript/micropython/", "pyscript/pyscript/",
                   "jupyterlite/static/pyodide/")
TYPES = {".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm",
         ".py": "text/plain; charset=utf-8", ".html": "text/html; charset=utf-8",
         ".json": "application/json", ".ipynb": "application/json", ".zip": "application/zip",
         ".whl": "application/zip", ".toml": "text/plain; charset=utf-8", ".css": "text/css",
         ".svg": "image/svg+xml", ".map": "application/json"}


def echo(connection: ServerConnection) -> None:
    try:
        for message in connection:
            connection.send(message)
    except ConnectionClosed:
        pass


def _response(status: HTTPStatus, body: bytes, content_type: str, cache: str = "no-store",
              **extra: str) -> Response:
    # One response per connection: websockets closes it after an HTTP (non-101) response.
    headers = Headers({"Content-Type": content_type, "Content-Length": str(len(body)),
                       "Cache-Control": cache, "Connection": "close", **extra})
    return Response(status.value, status.phrase, headers, body)


def static_files(connection: ServerConnection, request: Request) -> Response | None:
    path = request.path.split("?", 1)[0].split("#", 1)[0]
    if request.headers.get("Upgrade", "").lower() == "websocket":
        if path == "/echo":
            return None  # the echo handler takes it
        return _response(HTTPStatus.NOT_FOUND, b"no WebSocket here\n", "text/plain")
    site, _, rest = path.lstrip("/").partition("/")
    if site not in SITES:
        return _response(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain")
    folder, extra = SITES[site]
    file = (folder / rest).resolve()
    if not file.is_relative_to(folder.resolve()):
        return _response(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain")
    if file.is_dir():
        if not path.endswith("/"):
            query = request.path[len(path):]
            return _response(HTTPStatus.FOUND, b"", "text/plain", Location=path + "/" + query)
        file = file / "index.html"
    if not file.is_file():
        return _response(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain", **extra)
    content_type = (TYPES.get(file.suffix) or mimetypes.guess_type(file.name)[0]
                    or "application/octet-stream")
    cache = "max-age=3600" if path.lstrip("/").startswith(RUNTIME_FOLDERS) else "no-store"
    return _response(HTTPStatus.OK, file.read_bytes(), content_type, cache, **extra)


# websockets' threaded (sync) server, not its asyncio one: after an HTTP response the asyncio
# server aborts the TCP connection, which can cut a large file (pyodide.asm.wasm) short; the
# sync server sends the whole response (sendall) before it closes the socket.
@contextmanager
def running(port: int = 0) -> Iterator[int]:
    """Serve on 127.0.0.1:``port`` (0: any free port) in a thread; yields the port."""
    with serve(echo, "127.0.0.1", port, process_request=static_files, max_size=None) as server:
        thread = threading.Thread(target=server.serve_forever, name="sites-server", daemon=True)
        thread.start()
        try:
            yield int(server.socket.getsockname()[1])
        finally:
            server.shutdown()
            thread.join(10)


def _main(port: int) -> None:
    with running(port) as port:
        print(f"echo server:   ws://127.0.0.1:{port}/echo")
        print(f"PyScript page: http://127.0.0.1:{port}/pyscript/index.html")
        print(f"JupyterLite:   http://127.0.0.1:{port}/jupyterlite/notebooks/index.html"
              "?path=pyws_echo.ipynb")
        print("Serving; press Ctrl-C to stop.", flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8766)
    try:
        _main(parser.parse_args().port)
    except KeyboardInterrupt:
        pass
