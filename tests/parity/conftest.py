"""The parity suite's session fixture: the scripted server and every runtime's cached batch."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from support.parity.harness import TIMINGS, ParityRuns
from support.scripted_server import running_scripted_server
from support.servers import unused_port


@pytest.fixture(scope="session")
def parity_runs() -> Iterator[ParityRuns]:
    """The scripted server and the per-runtime caches, for the whole session."""
    with running_scripted_server() as server:
        yield ParityRuns(server, f"127.0.0.1:{unused_port()}")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if TIMINGS:
        parts = ", ".join(f"{what} {secs:.1f} s" for what, secs in TIMINGS)
        terminalreporter.write_line(f"parity batches: {parts}")
