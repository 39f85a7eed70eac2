"""The blocking API (connect_sync, recv_sync, wait_closed_sync) where the runtime can
block, and its error where it cannot. Returns "ok" or "unavailable"."""

from __future__ import annotations

import pyws


def _can_block() -> bool:
    if pyws.backend == "cpython":
        return True
    from pyws._pyodide import _probe

    return _probe.can_block()


async def blocking_round_trip(server: str, refused: str) -> str:
    if not _can_block():
        try:
            pyws.connect_sync(server + "/echo")
        except RuntimeError as exc:
            assert "await pyws.connect(url)" in str(exc), exc
        else:
            raise AssertionError("connect_sync() did not raise where blocking is impossible")
        return "unavailable"
    ws = pyws.connect_sync(server + "/echo", timeout=10)
    errors: list[str] = []

    def on_message(event: pyws.MessageEvent) -> None:
        # Inside a handler, blocking would stall the loop that runs it: an error.
        try:
            ws.recv_sync(timeout=1)
        except RuntimeError as exc:
            errors.append(str(exc))

    ws.onmessage = on_message
    ws.send("blocking")
    assert ws.recv_sync(timeout=10) == "blocking"
    assert len(errors) == 1 and "await ws.recv()" in errors[0], errors
    try:
        ws.recv_sync(timeout=0.2)
    except TimeoutError:
        pass
    else:
        raise AssertionError("recv_sync(timeout) did not time out")
    ws.close()
    assert ws.wait_closed_sync(timeout=10).code == 1005
    try:
        pyws.connect_sync(refused, timeout=10)
    except pyws.WebSocketError as exc:
        assert exc.closeCode == 1006
    else:
        raise AssertionError("connect_sync() to a refused port did not raise")
    return "ok"


SCENARIOS = ["blocking_round_trip"]
