"""The argument table of the parity suite: constructor URLs, protocol lists, close() arguments.

Each row runs in Chromium (``new WebSocket(...)`` / ``ws.close(...)`` in the headless page)
and in pyws in every runtime; tests/parity/test_parity_args.py compares the outcomes (the
serialized ``url`` or the exception's DOM name; for close(): the exception, readyState,
the close event and the close frame the server got). No outcome is written here.

In URLs, ``{host}`` is the scripted server (127.0.0.1:PORT) and ``{rport}`` a port where
nothing listens (connecting is refused at once); valid URLs mostly point there
so the sockets they open succeed (Chromium slows a page down after many failed
connections). ``relative`` rows have no scheme: they resolve against the page's URL in a
browser and cannot resolve anywhere else (see tests/parity/test_parity_args.py).
"""

from __future__ import annotations

from typing import Any

__all__ = ["URL_ROWS", "CLOSE_ROWS", "row_id"]

H = "{host}"
R = "{rport}"

_URLS = [
    # schemes
    f"ws://{H}/", f"wss://127.0.0.1:{R}/", f"http://{H}/", f"https://127.0.0.1:{R}/", f"WS://{H}/",
    f"Ws://{H}/p", f"HTTP://{H}/", "ftp://127.0.0.1/", "file:///etc/passwd", "javascript:alert(1)",
    "data:text/plain,x", "blob:http://127.0.0.1/uuid", "about:blank", "mailto:a@b.test",
    f"ws:{H}/no-slashes", f"ws:/{H}/one-slash", f"ws:\\\\{H}\\back\\slashes", f"ws:///{H}/three",
    f"http:{H}/x", "foo://127.0.0.1/", "ws", "ws:", "ws://", "ws:///", f"wss:{H}",
    # fragments
    f"ws://{H}/#", f"ws://{H}/#frag", f"ws://{H}/?q#f", f"ws://{H}/#%20", f"http://{H}/#x",
    # hosts
    "ws://:80/", "ws://a b.test/", "ws://EXAMPLE.TEST/", "ws://example.test./", "ws://a..b.test/",
    "ws://bücher.test/", "ws://xn--bcher-kva.test/", "ws://faß.test/", "ws://ǅ.test/", "ws://ÉCOLE.test/", "ws://☃.test/",
    "ws://ｅｘａｍｐｌｅ.test/", "ws://a。b.test/", "ws://%41.test/", "ws://%zz.test/",
    "ws://a%00b.test/", "ws://a<b.test/", "ws://a^b.test/", "ws://a|b.test/", "ws://a%20b.test/",
    "ws://xn--.test/", "ws://xn--a.test/", "ws://-a-.test/", "ws://a_b.test/", "ws://a*b.test/",
    # IPv4
    f"ws://127.1:{R}/", f"ws://0x7f.0.0.1:{R}/", f"ws://2130706433:{R}/", f"ws://0177.0.0.1:{R}/",
    f"ws://127.0.0.1.:{R}/", "ws://127.0.0.256/", "ws://1.2.3.4.5/", "ws://09.1/", "ws://1.2.3.09/",
    "ws://0x100000000/", f"ws://4294967295:{R}/", "ws://1.2.3.0x/",
    # IPv6
    f"ws://[::1]:{R}/", f"ws://[0:0:0:0:0:0:0:1]:{R}/", f"ws://[::FFFF:127.0.0.1]:{R}/", "ws://[::1/",
    "ws://[::1]x/", "ws://[zz]/", "ws://[::1]:/", "ws://[1:2:3:4:5:6:7:8:9]/", "ws://[::1%25eth0]/",
    # ports
    "ws://127.0.0.1:80/", "wss://127.0.0.1:443/", "ws://127.0.0.1:443/", "wss://127.0.0.1:80/",
    "http://127.0.0.1:80/", "https://127.0.0.1:443/", "ws://127.0.0.1:/", "ws://127.0.0.1:0/",
    "ws://127.0.0.1:65535/", "ws://127.0.0.1:65536/", "ws://127.0.0.1:-1/", "ws://127.0.0.1:8a/",
    "ws://127.0.0.1:0080/", "ws://127.0.0.1:1:2/",
    # ports browsers block (Fetch "bad port")
    "ws://127.0.0.1:1/", "ws://127.0.0.1:7/", "ws://127.0.0.1:21/", "ws://127.0.0.1:22/",
    "ws://127.0.0.1:25/", "ws://127.0.0.1:53/", "ws://127.0.0.1:110/", "ws://127.0.0.1:6000/",
    "ws://127.0.0.1:6666/", "ws://127.0.0.1:10080/", "wss://127.0.0.1:25/", "ws://127.0.0.1:8080/",
    # paths and queries
    f"ws://{H}", f"ws://{H}/a/../b", f"ws://{H}/./a/./", f"ws://{H}/%2e%2E/x", f"ws://{H}/a b",
    f"ws://{H}/ü", f"ws://{H}/a\\b", f"ws://{H}/a?b c", f"ws://{H}/?ü", f"ws://{H}/?'\"<>`",
    f"ws://{H}?q", f"ws://{H}/a%2fb", f"ws://{H}/{{}}|^", f"ws://{H}/..", f"ws://{H}/a/..",
    # whitespace and controls
    f"  ws://{H}/  ", f"ws://{H}/\ta\nb\r", f"\x01ws://{H}/\x1f", f"ws://{H}/a\x7f",
    # credentials
    f"ws://u:p@{H}/", f"ws://u@{H}/", f"ws://:p@{H}/", f"ws://a@b@{H}/", f"ws://ü:ö@{H}/",
    # relative (resolved against the page in a browser)
    "/relative", "relative", "?q", f"//{H}/x", "", "#frag", "./a/../b",
]

_PROTOCOLS: list[Any] = [
    [], "chat", ["chat"], ["a", "b"], ["a", "a"], [""], "", ["a b"], ["a,b"], "a,b", ["ü"],
    ["a\x7f"], ["a\x00"], ["(x)"], ["a/b"], ["a:b"], ["a;b"], ["a=b"], ["{x}"], ["a@b"],
    ['a"b'], ["[a]"], ["?"], ["~!#$%&'*+-.^_`|"], ["A", "a"], ["x" * 300], ["a\tb"], [" a"],
    ["a", "b", "a"], ["a\\b"],
]

URL_ROWS: list[dict[str, Any]] = [{"url": url} for url in _URLS] + [
    {"url": f"ws://{H}/", "protocols": protocols} for protocols in _PROTOCOLS]

_CLOSE_ARGS: list[list[Any]] = [
    [], [1000], [1000, ""], [1000, "r"], [3000], [4999], [4999, "é" * 61 + "a"],
    [3000, "x" * 123], [None, "only a reason"],
    [0], [1], [999], [1001], [1002], [1004], [1005], [1006], [1011], [1015], [1016], [2000],
    [2999], [5000], [65535], [65536], [-1],
    [1000, "x" * 124], [1000, "é" * 62], [1000, "\U0001f600" * 30 + "abc"],
    [1000, "\U0001f600" * 31], [1000, "\ud800" * 41], [1000, "\ud800" * 42],
    [4000, "\ud800"], [4000, "\udc00\ud800"], [1001, "x" * 200], [999, "é" * 100],
    [5000, "x" * 124], [1000, "x" * 123 + "\ud800"],
]
CLOSE_ROWS: list[dict[str, Any]] = [{"args": args} for args in _CLOSE_ARGS]


def row_id(kind: str, index: int, row: dict[str, Any]) -> str:
    """A readable, ASCII test id for a row."""
    if kind == "close":
        text = ",".join(repr(a)[:20] for a in row["args"])
    elif "protocols" in row:
        text = repr(row["protocols"])[:30]
    else:
        text = repr(row["url"])[:40]
    text = text.encode("ascii", "backslashreplace").decode().replace(H, "H").replace(R, "R")
    return f"{kind}{index:03d}-{text}"
