"""The ``headers`` option on CPython: what reaches the server, and what is refused.

(Under Pyodide the option is refused as a whole: tests/scenarios/pyodide_only.py.)
"""

from __future__ import annotations

import asyncio
import json

import pytest

import pyws

pytestmark = pytest.mark.skipif(pyws.backend != "cpython", reason="CPython backend only")


def _sent_headers(port: int, **options: object) -> list[tuple[str, str]]:
    async def main() -> list[tuple[str, str]]:
        ws = await pyws.connect(f"ws://127.0.0.1:{port}/headers?raw=1", **options)
        raw = json.loads(await ws.recv())
        await ws.wait_closed()
        return [(name.lower(), value) for name, value in raw]
    return asyncio.run(main())


def test_extra_headers_are_sent_once_each(behaviour_server) -> None:
    sent = _sent_headers(behaviour_server.port, headers={
        "Authorization": "Bearer t0k3n", "Cookie": "a=1; b=2", "X-Empty": ""})
    names = [name for name, _ in sent]
    assert len(names) == len(set(names)), sent
    assert ("authorization", "Bearer t0k3n") in sent and ("cookie", "a=1; b=2") in sent
    assert ("x-empty", "") in sent
    assert dict(sent)["user-agent"].startswith("pyws/")


def test_user_agent_and_host_are_replaced_not_repeated(behaviour_server) -> None:
    sent = _sent_headers(behaviour_server.port,
                         headers={"user-agent": "custom/1.0", "Host": "example.test"})
    assert [value for name, value in sent if name == "user-agent"] == ["custom/1.0"], sent
    assert [value for name, value in sent if name == "host"] == ["example.test"], sent


@pytest.mark.parametrize(("name", "why"), [
    ("Sec-WebSocket-Key", "handshake"),
    ("upgrade", "handshake"),
    ("Connection", "handshake"),
    ("Sec-WebSocket-Version", "handshake"),
    ("Sec-WebSocket-Protocol", "protocols argument"),
    ("Sec-WebSocket-Extensions", "compression option"),
    ("Origin", "origin option"),
    ("Bad Name", "not an HTTP token"),
    ("", "not an HTTP token"),
    ("X-Split", "line break"),
])
def test_headers_the_handshake_owns_are_refused(name: str, why: str) -> None:
    value = "a\r\nInjected: 1" if name == "X-Split" else "x"
    with pytest.raises(ValueError, match=why):
        pyws.WebSocket("ws://127.0.0.1:9/", headers={name: value})
