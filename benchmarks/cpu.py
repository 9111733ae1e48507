"""CPU seconds used by each process group during a phase, from /proc (Linux).

On a 2-core machine throughput is bounded by CPU, so the split between client,
gunicorn, the Celery worker and PostgreSQL tells where a batch's time goes.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def _proc_cpu(pid: int) -> float:
    """User + system CPU seconds of one process (all its threads), 0 if gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # After the command name: state is field 3, utime 14 and stime 15 (1-based).
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return found
    for task in tasks:
        try:
            found.extend(int(c) for c in (task / "children").read_text().split())
        except OSError:
            continue
    return found


def tree(pid: int) -> list[int]:
    """The process and its descendants."""
    pids, todo = [], [pid]
    while todo and len(pids) < 1000:  # bounded: a process tree of ours is small
        current = todo.pop()
        pids.append(current)
        todo.extend(_children(current))
    return pids


def snapshot(groups: dict[str, Iterable[int]]) -> dict[str, dict[int, float]]:
    return {
        name: {pid: _proc_cpu(pid) for pid in pids} for name, pids in groups.items()
    }


def used(
    before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]
) -> dict[str, float]:
    """CPU seconds per group between two snapshots of the same pids."""
    return {
        name: sum(
            max(0.0, after[name].get(pid, 0.0) - start)
            for pid, start in before[name].items()
        )
        for name in before
    }


def self_cpu() -> float:
    times = os.times()
    return times.user + times.system
