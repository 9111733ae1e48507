from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from toc.analysis import (
    ConstraintEvent,
    ConstraintTracker,
    detect_constraint_moves,
    step,
    track,
)

from .builders import PROPERTY, row

START = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


def series(*points: tuple[float, str | None]) -> list[tuple[datetime, str | None]]:
    return [(at(seconds), stage) for seconds, stage in points]


def moves(
    findings: list[tuple[datetime, str | None]], hold_s: float = 300
) -> list[tuple[datetime, str | None, str | None]]:
    _, events = detect_constraint_moves(findings, hold_s=hold_s)
    return [(event.at, event.from_stage, event.to_stage) for event in events]


def test_first_constraint_is_confirmed_once_it_has_held() -> None:
    findings = series((0, "A"), (100, "A"), (200, "A"), (300, "A"))

    assert moves(findings) == [(at(0), None, "A")]


def test_constraint_not_yet_held_long_enough_produces_no_event() -> None:
    findings = series((0, "A"), (100, "A"), (299, "A"))

    assert moves(findings) == []


def test_blip_shorter_than_the_hold_produces_no_event() -> None:
    findings = series(
        (0, "A"), (300, "A"), (400, "B"), (500, "B"), (600, "B"), (700, "A")
    )

    assert moves(findings) == [(at(0), None, "A")]


def test_move_is_dated_when_the_new_constraint_started() -> None:
    findings = series((0, "A"), (300, "A"), (1000, "B"), (1200, "B"), (1400, "B"))

    assert moves(findings)[-1] == (at(1000), "A", "B")


def test_an_interruption_restarts_the_hold() -> None:
    findings = series(
        (0, "A"),
        (300, "A"),
        (400, "B"),
        (650, "C"),
        (700, "B"),
        (950, "B"),
        (1000, "B"),
    )

    assert moves(findings)[1:] == [(at(700), "A", "B")]


def test_constraint_moving_outside_the_pipeline_is_an_event() -> None:
    findings = series((0, "A"), (300, "A"), (400, None), (800, None))

    _, events = detect_constraint_moves(findings, hold_s=300)

    assert events[-1].to_stage is None
    assert events[-1].from_stage == "A"
    assert "outside the pipeline" in events[-1].reason
    assert "A no longer limits throughput" in events[-1].reason


def test_event_reason_names_both_stages_and_the_hold() -> None:
    findings = series((0, "A"), (300, "A"), (400, "B"), (760, "B"))

    event = detect_constraint_moves(findings, hold_s=300)[1][-1]

    assert event.reason == (
        "The constraint moved from A to B and held for 6 min (hold period 5 min)."
    )


@pytest.mark.parametrize(
    ("hold_s", "held_s", "wording"),
    [
        (45, 50, "held for 50 s (hold period 45 s)"),
        (90, 95, "held for 1 min 35 s (hold period 1 min 30 s)"),
        (1_800, 1_800, "held for 30 min (hold period 30 min)"),
        (7_500, 7_530, "held for 2 h 6 min (hold period 2 h 5 min)"),
        (86_400, 97_200, "held for 1 d 3 h (hold period 1 d)"),
    ],
)
def test_the_hold_reads_in_the_units_a_person_reads(
    hold_s: float, held_s: float, wording: str
) -> None:
    findings = series((0, "B"), (held_s, "B"))

    event = detect_constraint_moves(findings, hold_s=hold_s)[1][-1]

    assert event.reason == f"B became the constraint and {wording}."


def test_returning_to_the_confirmed_stage_clears_the_challenger() -> None:
    state = ConstraintTracker("A")
    state, _ = step(state, at(0), "B")

    state, event = step(state, at(10), "A")

    assert event is None
    assert state == ConstraintTracker("A")


def test_zero_hold_confirms_a_move_immediately() -> None:
    findings = series((0, "A"), (5, "B"))

    assert moves(findings, hold_s=0) == [(at(0), None, "A"), (at(5), "A", "B")]


def test_tracking_resumes_from_a_saved_state() -> None:
    state, first = detect_constraint_moves(series((0, "A"), (200, "A")), hold_s=300)
    _, second = detect_constraint_moves(series((300, "A")), hold_s=300, state=state)

    assert first == []
    assert [(event.at, event.to_stage) for event in second] == [(at(0), "A")]


def test_findings_out_of_time_order_are_rejected() -> None:
    with pytest.raises(ValueError, match="time order"):
        detect_constraint_moves(series((10, "A"), (5, "A")))


def test_naive_timestamps_are_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        step(ConstraintTracker(), datetime(2025, 3, 1), "A")


finding_series = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=400),
        st.sampled_from(["A", "B", "C", None]),
    ),
    max_size=40,
).map(
    # Cumulative gaps give time-ordered findings, equal timestamps included.
    lambda gaps: [
        (at(sum(gap for gap, _ in gaps[: index + 1])), stage)
        for index, (_, stage) in enumerate(gaps)
    ]
)
holds = st.sampled_from([0, 60, 300, 900])


def reference_moves(
    findings: list[tuple[datetime, str | None]], hold_s: float
) -> list[tuple[datetime, str | None, str | None]]:
    """Independent model: split the series into runs of the same stage; a run of a
    stage other than the confirmed one confirms it when it lasts at least hold_s."""
    runs: list[list[tuple[datetime, str | None]]] = []
    for finding in findings:
        if runs and runs[-1][0][1] == finding[1]:
            runs[-1].append(finding)
        else:
            runs.append([finding])
    confirmed: str | None = None
    events = []
    for run in runs:
        (started, stage), (ended, _) = run[0], run[-1]
        if stage != confirmed and (ended - started).total_seconds() >= hold_s:
            events.append((started, confirmed, stage))
            confirmed = stage
    return events


@PROPERTY
@given(finding_series, holds)
def test_moves_match_the_run_length_model(
    findings: list[tuple[datetime, str | None]], hold_s: float
) -> None:
    assert moves(findings, hold_s) == reference_moves(findings, hold_s)


@PROPERTY
@given(finding_series, holds)
def test_backfill_in_one_go_gives_the_same_events_as_step_by_step(
    findings: list[tuple[datetime, str | None]], hold_s: float
) -> None:
    state = ConstraintTracker()
    stepped: list[ConstraintEvent] = []
    for ts, stage in findings:
        state, event = step(state, ts, stage, hold_s)
        if event is not None:
            stepped.append(event)

    final_state, backfilled = detect_constraint_moves(findings, hold_s)

    assert backfilled == stepped
    assert final_state == state


@PROPERTY
@given(finding_series, holds, st.data())
def test_backfill_in_chunks_gives_the_same_events_as_in_one_go(
    findings: list[tuple[datetime, str | None]], hold_s: float, data: st.DataObject
) -> None:
    cut = data.draw(st.integers(min_value=0, max_value=len(findings)))

    state, early = detect_constraint_moves(findings[:cut], hold_s)
    _, late = detect_constraint_moves(findings[cut:], hold_s, state)

    assert early + late == detect_constraint_moves(findings, hold_s)[1]


@PROPERTY
@given(finding_series, holds)
def test_events_chain_from_one_constraint_to_the_next(
    findings: list[tuple[datetime, str | None]], hold_s: float
) -> None:
    _, events = detect_constraint_moves(findings, hold_s)

    previous = None
    for event in events:
        assert event.from_stage != event.to_stage
        assert event.from_stage == previous
        previous = event.to_stage


def _at(minute: int) -> datetime:
    return datetime(2026, 1, 1, 12, minute, tzinfo=UTC)


def test_the_confirmed_stage_keeps_the_time_it_started_leading() -> None:
    state = ConstraintTracker()
    for minute in range(8):
        state, _ = step(state, _at(minute), "A", hold_s=300)

    assert state.confirmed == "A"
    assert state.confirmed_since == _at(0)
    # A challenger that gives up leaves the held stage's start as it was.
    state, _ = step(state, _at(8), "B", hold_s=300)
    state, _ = step(state, _at(9), "A", hold_s=300)
    assert (state.confirmed, state.confirmed_since) == ("A", _at(0))


def test_the_leader_is_the_confirmed_stage_or_before_any_the_challenger() -> None:
    assert ConstraintTracker().leader is None
    assert ConstraintTracker(None, "B", _at(0)).leader == "B"
    assert ConstraintTracker("A", "B", _at(0), _at(0)).leader == "A"


def test_track_keeps_a_near_tie_with_the_stage_that_led() -> None:
    tied = [row("A", utilization=0.93), row("B", utilization=0.95)]
    state = ConstraintTracker()

    state, first, _ = track(state, _at(0), [row("A", utilization=0.95)])
    verdicts = [first.stage]
    for minute in range(1, 12):
        state, finding, _ = track(state, _at(minute), tied)
        verdicts.append(finding.stage)

    # B is 2% busier, a near tie: A, which led first, keeps it and is confirmed.
    assert set(verdicts) == {"A"}
    assert state.confirmed == "A"
    assert finding.near_tie == "B"
