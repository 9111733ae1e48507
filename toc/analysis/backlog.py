"""What a stage's queue is doing and how long it would take to clear."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from toc.analysis.ledger import LedgerRow

# A flat queue holding more than this much work (at full capacity) is "steady_high".
STEADY_HIGH_SECONDS = 60.0


class BacklogState(StrEnum):
    STUCK = "stuck"
    FALLING_BEHIND = "falling_behind"
    DRAINING = "draining"
    STEADY_HIGH = "steady_high"
    CLEAR = "clear"


@dataclass(frozen=True, slots=True)
class Backlog:
    """``queue_seconds`` is the queued work in seconds at full capacity (infinite for a
    stage with no capacity). ``drain_seconds`` is None when the queue will not clear
    at the current rates."""

    stage: str
    state: BacklogState
    queue_depth: int
    queue_seconds: float
    drain_seconds: float | None


def assess_backlog(
    row: LedgerRow, steady_high_seconds: float = STEADY_HIGH_SECONDS
) -> Backlog | None:
    """The backlog of a stage with data (None without data).

    States, first match wins: ``clear`` with an empty queue; ``stuck`` when the queue
    is present and nothing was processed; ``falling_behind`` / ``draining`` when the
    queue grows / shrinks in a sustained way (``LedgerRow.queue_growing``);
    ``steady_high`` when the flat queue holds more than ``steady_high_seconds`` of
    work or the stage has no spare capacity to clear it; else ``clear``.

    Drain time = queue / (capacity - arrivals), where arrivals = throughput + queue
    trend (what is processed plus what piles up; a trend within the noise counts 0).
    It is None for a stuck or falling behind stage whatever the capacity figure
    claims, and when capacity does not exceed arrivals.
    """
    if not row.has_data:
        return None
    measured = row.measured()
    queue, capacity = measured.queue_depth, measured.capacity
    if queue == 0:
        queue_seconds = 0.0
    else:
        queue_seconds = queue / capacity if capacity > 0 else math.inf
    # A trend within the queue's own noise is no trend: it neither adds to the
    # arrivals nor eats into the spare capacity.
    trend = measured.queue_trend if row.queue_growing or row.queue_shrinking else 0.0
    spare = capacity - (measured.load + trend)
    state = _state(row, queue_seconds, steady_high_seconds, spare)
    if queue == 0:
        drain_seconds: float | None = 0.0
    elif state in (BacklogState.STUCK, BacklogState.FALLING_BEHIND) or spare <= 0:
        drain_seconds = None
    else:
        drain_seconds = queue / spare
    return Backlog(
        stage=row.stage,
        state=state,
        queue_depth=queue,
        queue_seconds=queue_seconds,
        drain_seconds=drain_seconds,
    )


def _state(
    row: LedgerRow, queue_seconds: float, steady_high_seconds: float, spare: float
) -> BacklogState:
    if row.queue_depth == 0:
        return BacklogState.CLEAR
    if row.load == 0:
        return BacklogState.STUCK
    if row.queue_growing:
        return BacklogState.FALLING_BEHIND
    if row.queue_shrinking:
        return BacklogState.DRAINING
    # A queue the stage has no spare capacity to clear is not "clear", however short.
    if queue_seconds > steady_high_seconds or spare <= 0:
        return BacklogState.STEADY_HIGH
    return BacklogState.CLEAR
