"""Ending a browser for good: chromedriver's whole process tree, read from /proc.

``driver.quit()`` may never return (a renderer spinning in a synchronous loop), and once
chromedriver dies its children move to init: so the tree is read first, and what is
still the same process afterwards (same pid, same start time) is killed.
"""

from __future__ import annotations

import contextlib
import os
import signal

__all__ = ["process_tree", "kill_tree"]


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/PID/stat from field 3 on (after the command name), or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            stat = fh.read()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2:].split()


def process_tree(root: int) -> list[tuple[int, str]]:
    """(pid, start time) of ``root`` and all its descendants."""
    children: dict[int, list[int]] = {}
    starts: dict[int, str] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and (fields := _stat_fields(int(entry.name))) is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
            starts[int(entry.name)] = fields[19]  # field 22, starttime
    tree, pending = [], [root]
    while pending:
        pid = pending.pop()
        if pid in starts:
            tree.append((pid, starts[pid]))
        pending.extend(children.get(pid, []))
    return tree


def kill_tree(tree: list[tuple[int, str]]) -> None:
    """SIGKILL every process of ``tree`` (from :func:`process_tree`) still running: the
    same pid with the same start time, so a reused pid is left alone."""
    for pid, start in tree:
        fields = _stat_fields(pid)
        if fields is not None and fields[19] == start:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
