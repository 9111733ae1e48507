"""The constraint verdict against a discrete-event queueing simulation.

Each test runs a seeded SimPy pipeline (tests/simulation/pipeline.py) whose
capacities are known exactly, so the constraint is known without asking the
product, then judges every closed minute the way processing does: the ledger of the
5 minutes ending at the minute's end, the tracker stepped at that time.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

from tests.simulation.pipeline import ORIGIN, Burst, Stage, constant, ramp, simulate
from toc.analysis import (
    ConstraintEvent,
    ConstraintFinding,
    ConstraintTracker,
    LedgerRow,
    StageSample,
    ledger_rows,
    track,
)

WINDOW_S = 300
MINUTE = timedelta(minutes=1)
# Verdicts from the first minutes judge a part-filled window and a pipeline whose
# queues are still filling; the tests read the minutes after these.
WARMUP_MINUTES = 5


@dataclass(frozen=True)
class Judged:
    """Every closed minute's finding (``minute_ends[i]`` is when ``findings[i]`` was
    evaluated) and the constraint moves recorded over them."""

    samples: list[StageSample]
    order: list[str]
    minute_ends: list[datetime]
    findings: list[ConstraintFinding]
    events: list[ConstraintEvent]

    @property
    def settled(self) -> list[ConstraintFinding]:
        return self.findings[WARMUP_MINUTES:]

    def verdicts(self) -> list[str | None]:
        return [finding.stage for finding in self.settled]

    def moves(self) -> list[tuple[str | None, str | None]]:
        return [(event.from_stage, event.to_stage) for event in self.events]

    def rows(self, minute: int = -1) -> dict[str, LedgerRow]:
        """The ledger of the window ending with minute ``minute`` (default: last)."""
        rows = ledger_rows(self.samples, self.order, self.minute_ends[minute], WINDOW_S)
        return {row.stage: row for row in rows}


def judge(samples: list[StageSample], stages: Sequence[Stage]) -> Judged:
    """Judges each closed minute with the product's tracker (``track``: the
    incumbent keeps a near tie), as processing does."""
    order = [stage.name for stage in stages]
    times = [sample.ts for sample in samples]
    minute_ends = []
    end = ORIGIN + MINUTE
    while end <= times[-1]:
        minute_ends.append(end)
        end += MINUTE
    state = ConstraintTracker()
    findings, events = [], []
    for end in minute_ends:
        window = samples[
            bisect.bisect_right(times, end - timedelta(seconds=WINDOW_S)) : (
                bisect.bisect_right(times, end)
            )
        ]
        state, finding, event = track(
            state, end, ledger_rows(window, order, end, WINDOW_S)
        )
        findings.append(finding)
        if event is not None:
            events.append(event)
    return Judged(samples, order, minute_ends, findings, events)


def run(stages: Sequence[Stage], arrivals, minutes: int, seed: int, **kw) -> Judged:
    samples = simulate(stages, arrivals, minutes * 60, seed=seed, **kw)
    return judge(samples, stages)


def minutes_after_origin(moment: datetime) -> float:
    return (moment - ORIGIN).total_seconds() / 60


def changes(verdicts: list[str | None]) -> int:
    return sum(a != b for a, b in itertools.pairwise(verdicts))


def test_stage_with_the_highest_arrival_to_capacity_ratio_is_named() -> None:
    # 46 records/s against 100, 50 and 75: busy 46%, 92% and 61%.
    stages = [
        Stage.with_capacity("ingest", 100, servers=2),
        Stage.with_capacity("features", 50, servers=2),
        Stage.with_capacity("inference", 75, servers=3),
    ]
    judged = run(stages, constant(46), minutes=20, seed=1)

    rows = judged.rows()
    # The model is right: measured busy shares are arrivals / capacity.
    for stage, expected in [("ingest", 0.46), ("features", 0.92), ("inference", 0.61)]:
        assert rows[stage].busy == pytest.approx(expected, abs=0.03), stage
    assert judged.verdicts() == ["features"] * len(judged.settled)
    assert judged.moves() == [(None, "features")]
    last = judged.findings[-1]
    assert last.next_constraint == "inference"
    assert last.confidence_label != "low"


def test_busier_stage_wins_over_a_noisy_queue_at_a_less_busy_stage() -> None:
    # Enrich is 88% busy with lognormal service (coefficient of variation 2.9), so
    # its queue swings by a hundred records at random; score is 95% busy.
    stages = [
        Stage.with_capacity("enrich", 40 / 0.88, service="lognormal", sigma=1.5),
        Stage.with_capacity("score", 40 / 0.95, servers=2),
    ]
    judged = run(stages, constant(40), minutes=40, seed=2)

    enrich = [s for s in judged.samples if s.stage == "enrich"]
    assert max(s.queue_depth for s in enrich) >= 100
    busy = [judged.rows(minute)["enrich"].busy for minute in range(5, 40)]
    assert sum(busy) / len(busy) == pytest.approx(0.88, abs=0.02)
    verdicts = judged.verdicts()
    assert verdicts.count("score") >= 0.95 * len(verdicts), verdicts
    assert judged.moves() == [(None, "score")]


def test_one_burst_at_a_lightly_loaded_stage_does_not_outrank_a_busy_stage() -> None:
    # 1500 records land in store's buffer 15 s before the window closes: two
    # readings show a deep queue at a stage that is otherwise 36% busy.
    stages = [
        Stage.with_capacity("score", 40 / 0.94, servers=2),
        Stage.with_capacity("store", 40 / 0.36, servers=2),
    ]
    judged = run(
        stages, constant(40), minutes=15, seed=3, bursts=[Burst("store", 885, 1500)]
    )

    rows = judged.rows()
    assert rows["store"].queue_depth >= 100
    assert rows["store"].busy < 0.5
    assert rows["score"].busy == pytest.approx(0.94, abs=0.03)
    last = judged.findings[-1]
    assert last.stage == "score", last.reason
    assert judged.verdicts() == ["score"] * len(judged.settled)
    assert judged.moves() == [(None, "score")]


@pytest.mark.parametrize("utilization", ["reported", "derived"])
def test_stage_blocked_by_a_full_buffer_is_passed_over_for_the_busy_stage_after_it(
    utilization: str,
) -> None:
    # 44 records/s into parse (capacity 60), then score (40) behind a 5-record
    # buffer: score is always busy, parse is blocked a third of its time and its
    # own queue grows by the 4 records/s that score cannot take.
    stages = [
        Stage.with_capacity("parse", 60, servers=3),
        Stage.with_capacity("score", 40, servers=2, buffer=5),
        Stage.with_capacity("store", 80, servers=2),
    ]
    omit = {"parse"} if utilization == "derived" else set()
    judged = run(stages, constant(44), minutes=20, seed=4, omit_utilization=omit)

    parse = judged.rows()["parse"]
    assert parse.blocked == pytest.approx(1 / 3, abs=0.05)
    assert parse.queue_depth > 1000
    if utilization == "derived":
        assert all(s.utilization is None for s in judged.samples if s.stage == "parse")
        # Derived utilization is load / capacity + blocked (at most 1).
        assert parse.utilization == pytest.approx(
            min(1.0, parse.load / parse.capacity + parse.blocked), abs=0.01
        )
    # Utilization counts the blocked time as occupied: parse is never idle.
    assert parse.utilization >= 0.97
    assert parse.busy == pytest.approx(2 / 3, abs=0.05)
    assert judged.verdicts() == ["score"] * len(judged.settled)
    assert judged.moves() == [(None, "score")]


@pytest.mark.parametrize(
    ("arrivals", "expected"), [(46, "tier1"), (30, None)], ids=["tier1", "outside"]
)
def test_cascade_tier_with_the_smallest_capacity_is_not_named_for_it(
    arrivals: float, expected: str | None
) -> None:
    # Only 5% of what tier 1 finishes goes on to tier 2, whose capacity (3/s) is the
    # smallest by far: at 46/s it is 77% busy, tier 1 92%; at 30/s, 50% and 60%.
    stages = [
        Stage.with_capacity("ingest", 200, servers=2),
        Stage.with_capacity("tier1", 50, servers=2, exit_share=0.95),
        Stage.with_capacity("tier2", 3),
    ]
    judged = run(stages, constant(arrivals), minutes=20, seed=5)

    rows = judged.rows()
    assert min(rows.values(), key=lambda row: row.capacity).stage == "tier2"
    assert rows["tier2"].load == pytest.approx(0.05 * rows["tier1"].load, rel=0.25)
    assert "tier2" not in judged.verdicts()
    assert judged.verdicts() == [expected] * len(judged.settled)
    if expected is None:
        assert all(finding.external for finding in judged.settled)
        assert judged.moves() == []
    else:
        assert judged.moves() == [(None, expected)]


def test_constraint_appears_with_a_ramp_and_moves_after_a_capacity_step() -> None:
    # Arrivals ramp from 20 to 50 records/s over 15 minutes: features (capacity 53)
    # reaches 85% busy at 45/s, 12.5 minutes in, and ends 94% busy; inference (57)
    # ends 88% busy. At 25 minutes features doubles its capacity, so inference leads.
    appears_at, step_at = 12.5, 25
    stages = [
        Stage.with_capacity("ingest", 100, servers=2),
        Stage.with_capacity(
            "features", 53, servers=2, capacity_steps=((step_at * 60, 2.0),)
        ),
        Stage.with_capacity("inference", 57, servers=2),
    ]
    judged = run(stages, ramp(20, 50, 0, 900), minutes=35, seed=6)

    assert judged.moves() == [(None, "features"), ("features", "inference")]
    appeared, moved = (minutes_after_origin(event.at) for event in judged.events)
    # A 5-minute window sees a change fully within 5 minutes.
    assert appears_at <= appeared <= appears_at + WINDOW_S / 60
    assert step_at <= moved <= step_at + WINDOW_S / 60


def test_near_tie_is_low_confidence_and_never_flaps() -> None:
    # Two stages of the same capacity, both 90% busy.
    stages = [
        Stage.with_capacity("features", 40 / 0.9, servers=2),
        Stage.with_capacity("inference", 40 / 0.9, servers=2),
    ]
    judged = run(stages, constant(40), minutes=40, seed=7)

    for finding in judged.settled:
        assert finding.stage in ("features", "inference")
        assert finding.confidence_label == "low", finding.reason
        other = "inference" if finding.stage == "features" else "features"
        assert finding.near_tie == other, finding.reason
    assert changes(judged.verdicts()) <= 1, judged.verdicts()
    assert len([move for move in judged.moves() if move[0] is not None]) <= 1


def test_nothing_saturated_puts_the_constraint_outside_with_a_confidence() -> None:
    # 30 records/s against 60, 50 and 55: 50%, 60% and 55% busy.
    stages = [
        Stage.with_capacity("ingest", 60, servers=2),
        Stage.with_capacity("features", 50, servers=2),
        Stage.with_capacity("inference", 55, servers=2),
    ]
    judged = run(stages, constant(30), minutes=10, seed=8)

    for finding in judged.settled:
        assert finding.stage is None
        assert finding.external
        assert finding.confidence > 0
    assert judged.findings[-1].next_constraint == "features"
    assert judged.moves() == []
