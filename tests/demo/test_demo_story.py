"""The demo tells one story: its metrics, constraint moves, cycles and their audit
trail agree with each other, day by day.

The demo is loaded once for the module (about ten seconds) and committed; each
test runs in a transaction rolled back over it, and the module leaves the
database empty, as it found it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from itertools import pairwise

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone

from toc.celery import app as celery_app
from toc.cycles.models import Cycle, OutcomeRow
from toc.cycles.services import STANDARD_PHASES
from toc.cycles.trail import SOURCES
from toc.dashboard.figures import RANGES
from toc.demo.loader import demo_load
from toc.demo.simulation import (
    DAY_S,
    STORY_CYCLE_1_OPENED,
    STORY_CYCLE_2_OPENED,
    STORY_ROLLOUT,
    STORY_ROLLOUT_DONE,
    STORY_VALIDATION,
)
from toc.metrics.models import (
    ConstraintEvent,
    ConstraintFinding,
    Rollup,
    Sample,
    SystemLedger,
)
from toc.metrics.series import peak_series
from toc.systems.models import Stage, System

# The week before the rollout (after the validation experiment's day and the
# night after it), and the week of the rollout at 100%.
BEFORE = (STORY_VALIDATION[1] + 0.6, STORY_ROLLOUT[0][1])
AFTER = (STORY_ROLLOUT[-1][1], STORY_ROLLOUT_DONE)


@pytest.fixture(scope="module")
def _loaded(django_db_setup, django_db_blocker) -> Iterator[int]:
    eager = celery_app.conf.task_always_eager
    with django_db_blocker.unblock():
        # Processing runs as load_demo runs it without a broker: in-process,
        # once the load commits.
        celery_app.conf.task_always_eager = True
        try:
            system = demo_load()
        finally:
            celery_app.conf.task_always_eager = eager
    yield system.pk
    with django_db_blocker.unblock():
        call_command("flush", interactive=False, verbosity=0)


@pytest.fixture
def story(_loaded, db) -> System:
    """The demo system, its story loaded; the test's changes are rolled back."""
    return System.objects.get(pk=_loaded)


@pytest.fixture
def start(story) -> datetime:
    """When the story began: cycle 1 opened on its day STORY_CYCLE_1_OPENED."""
    opened = Cycle.objects.get(number=1).created
    return opened - timedelta(days=STORY_CYCLE_1_OPENED)


@pytest.fixture
def demo_client(story, client):
    client.login(username="demo", password="demo")
    return client


def _mean(stage: str, start: datetime, days: tuple[float, float], field: str):
    rollups = Rollup.objects.filter(
        stage__slug=stage,
        minute__gte=start + timedelta(days=days[0]),
        minute__lt=start + timedelta(days=days[1]),
    ).aggregate(
        total=Sum(f"{field}_sum"),
        count=Sum("utilization_count" if field == "utilization" else "count"),
    )
    return rollups["total"] / rollups["count"]


def test_the_ledger_now_has_the_analysts_limiting_and_feature_tier2_at_42(
    demo_client,
) -> None:
    ledger = SystemLedger.objects.get(system__slug="nad").payload
    assert ledger["constraint"]["stage"] == "triage"
    rows = {row["stage"]: row for row in ledger["stages"]}
    assert 0.36 <= rows["feature-tier2"]["utilization"] <= 0.48
    assert rows["triage"]["utilization"] >= 0.9
    assert rows["triage"]["queue_depth"] > 30
    newest = datetime.fromisoformat(ledger["window_end"])
    assert timezone.now() - newest < timedelta(minutes=1)
    page = demo_client.get("/systems/nad/").content.decode()
    constraint_row = page[page.index('class="row--constraint') :]
    assert constraint_row.index("Triage") < constraint_row.index("</tr>")


def test_history_goes_back_five_weeks_coarse_when_old_and_live_in_the_last_hour(
    story,
) -> None:
    triage = Stage.objects.get(slug="triage")
    times = list(Sample.objects.filter(stage=triage).values_list("ts", flat=True))
    now = timezone.now()
    assert now - min(times) > timedelta(days=35)
    last_hour = [ts for ts in times if ts > now - timedelta(minutes=59)]
    assert 350 <= len(last_hour) <= 360
    assert 7000 < Sample.objects.filter(stage__system=story).count() / 2 < 10_000
    # The analysts' samples left their capacity to the stage.
    capacities = set(
        Sample.objects.filter(stage=triage).values_list("capacity", flat=True)
    )
    assert capacities == {triage.known_capacity}


def test_the_constraint_moved_as_the_story_goes(story, start) -> None:
    moves = [
        (event.from_stage, event.to_stage, (event.at - start).total_seconds() / DAY_S)
        for event in ConstraintEvent.objects.filter(system=story).order_by("at")
    ]
    assert [(before, after) for before, after, _ in moves] == [
        ("", "feature-tier2"),
        # The validation experiment's day: Tier-2 has 3x, the analysts get 3x.
        ("feature-tier2", "triage"),
        ("triage", "feature-tier2"),
        # The cascade at 100%.
        ("feature-tier2", "triage"),
    ]
    began, ended = STORY_VALIDATION
    assert began < moves[1][2] < ended < moves[2][2] < ended + 0.1
    full = STORY_ROLLOUT[-1][1]
    assert full < moves[3][2] < full + 0.1
    assert ConstraintFinding.objects.filter(system=story).exists()


def test_cycle_1_chose_feature_tier2_from_the_ledger_of_its_day(story) -> None:
    cycle = Cycle.objects.get(number=1)
    choice = cycle.constraint
    snapshot = choice.ledger_snapshot
    assert (choice.stage, choice.detected_stage) == ("feature-tier2", "feature-tier2")
    assert datetime.fromisoformat(snapshot["computed_at"]) == cycle.created
    assert datetime.fromisoformat(snapshot["window_end"]) == cycle.created
    assert choice.chosen_at == cycle.created
    rows = {row["stage"]: row for row in snapshot["stages"]}
    assert rows["feature-tier2"]["utilization"] >= 0.95
    assert rows["feature-tier2"]["queue_depth"] > 0
    assert rows["triage"]["utilization"] < 0.5
    # The history reaches back before the cycle opened: its span is not empty.
    first = Sample.objects.filter(stage__system=story).order_by("ts").first().ts
    assert first < cycle.created - timedelta(days=1)


def test_cycle_1s_outcome_agrees_with_the_metrics(story, start) -> None:
    rows = {
        row.metric: row for row in OutcomeRow.objects.filter(outcome__cycle__number=1)
    }
    tier2 = rows["Feature-Tier2 utilization"]
    assert round(100 * _mean("feature-tier2", start, BEFORE, "utilization")) in (
        tier2.before - 1,
        tier2.before,
        tier2.before + 1,
    )
    assert round(100 * _mean("feature-tier2", start, AFTER, "utilization")) in (
        tier2.after - 1,
        tier2.after,
        tier2.after + 1,
    )
    worked = rows["Alerts investigated per day"]
    per_day = {
        days: _mean("triage", start, days, "throughput") * DAY_S
        for days in (BEFORE, AFTER)
    }
    assert per_day[BEFORE] == pytest.approx(worked.before, abs=1.5)
    assert per_day[AFTER] == pytest.approx(worked.after, abs=1.5)
    cycle = Cycle.objects.get(number=1)
    assert cycle.outcome.next_constraint == "triage"
    assert (cycle.closed_at - start).total_seconds() / DAY_S > STORY_ROLLOUT_DONE
    # Closed like any cycle: its retrospective keeps the stage names of then.
    assert cycle.stage_names["triage"] == "Triage"


def test_the_rollout_phases_hold_their_standard_times() -> None:
    days = [day for _, day, *_ in STORY_ROLLOUT] + [STORY_ROLLOUT_DONE]
    held = [round((end - begin) * 24) for begin, end in pairwise(days)]
    assert [name for name, *_ in STORY_ROLLOUT] == [p[0] for p in STANDARD_PHASES]
    assert held == [hours for _, _, hours, _ in STANDARD_PHASES]


def test_cycle_2_opened_on_the_analysts_after_the_move(story, start) -> None:
    cycle = Cycle.objects.get(number=2)
    assert cycle.status == "open"
    assert cycle.constraint.stage == "triage"
    assert cycle.constraint.detected_stage == "triage"
    moved = ConstraintEvent.objects.filter(system=story).order_by("at").last()
    assert moved.to_stage == "triage"
    assert moved.at < cycle.created
    assert cycle.created == start + timedelta(days=STORY_CYCLE_2_OPENED)
    assert Cycle.objects.get(number=1).closed_at < cycle.created


def test_the_articles_goal_is_set_before_cycle_1_and_carried_into_cycle_2(
    story,
) -> None:
    def targets(record: list[dict]) -> dict:
        return {slo["dimension"]: slo["target"] for slo in record if slo["target"]}

    def measured(record: list[dict]) -> dict:
        return {slo["dimension"]: slo["measured"] for slo in record}

    one, two = Cycle.objects.order_by("number")
    goal = {"time_to_decision": 5, "decision_budget": 10, "outcome_weighted": 90}
    for record in (one.slos_opened, one.slos_closed, two.slos_opened):
        assert targets(record).items() >= goal.items()
    # Detection got fast; the analysts now get more alerts than the budget.
    assert measured(one.slos_opened)["time_to_decision"] == 47
    assert measured(one.slos_closed)["time_to_decision"] == 3.2
    assert measured(two.slos_opened)["decision_budget"] == 64
    assert "Investigation time per Tier-3 alert" in [s.name for s in story.slos.all()]


def test_the_open_cycle_works_on_the_live_constraint(demo_client) -> None:
    page = demo_client.get("/systems/nad/cycles/2/").content.decode()
    assert "The ledger now finds" not in page
    assert "Alert investigation takes too long" in page


def test_the_audit_trail_is_dated_in_the_story(story, start) -> None:
    cycles = Cycle.objects.order_by("number")
    latest = timezone.now() - timedelta(days=1)
    for source in SOURCES:
        dates = list(source.model.history.values_list("history_date", flat=True))
        assert dates, source.noun
        assert all(start < date < latest for date in dates), source.noun
    one, two = cycles
    assert one.history.order_by("history_date").first().history_date == one.created
    assert one.history.first().history_date == one.closed_at
    assert two.history.get().history_date == two.created


def test_a_retrospective_as_of_a_day_of_cycle_1_shows_it_as_it_stood(
    demo_client, start
) -> None:
    # The 25% phase of the rollout: shadow and canary passed, no outcome yet.
    day = (start + timedelta(days=STORY_ROLLOUT[2][1] + 1)).date()
    page = demo_client.get(
        f"/systems/nad/cycles/1/retrospective/?as_of={day.isoformat()}"
    ).content.decode()
    assert f"As it stood on {day.isoformat()}" in page
    assert "In progress" in page
    rollout = page[page.index("6 · Rollout") :]
    statuses = [
        rollout[rollout.index(f">{name}<") :].split("</tr>")[0]
        for name in ("Shadow", "Canary 10%", "25%", "50%")
    ]
    assert ["Passed" in s for s in statuses] == [True, True, False, False]
    assert "Running" in statuses[2] and "Pending" in statuses[3]
    assert "No before/after numbers." in page
    assert "it is the constraint" in page


def test_the_month_chart_shows_the_constraint_moving(story) -> None:
    # What the Month range draws: the peak of every two hours.
    chart = RANGES["month"]
    now = timezone.now()
    series = peak_series(
        list(story.stages.all()), now - chart.span, now, chart.bucket_s
    )
    lines = {line["stage"]: line for line in series["stages"]}
    tier2 = [u for u in lines["feature-tier2"]["utilization"] if u is not None]
    triage = [u for u in lines["triage"]["utilization"] if u is not None]
    quarter = len(tier2) // 4
    assert max(tier2[:quarter]) == 1.0
    assert max(tier2[-quarter:]) < 0.5
    assert max(triage[:quarter]) < 0.5
    assert min(triage[-quarter:]) == 1.0
    queue = [q for q in lines["triage"]["queue_depth"] if q is not None]
    assert queue[-1] > queue[-quarter] > 0


def test_running_load_demo_again_changes_nothing(story, settings) -> None:
    settings.DEBUG = True
    models = [Sample, Rollup, ConstraintFinding, ConstraintEvent, Cycle, Stage]
    models += [source.model.history.model for source in SOURCES]

    def counts() -> list[int]:
        return [model.objects.count() for model in models]

    before = counts()
    ledger = SystemLedger.objects.get(system=story).payload
    call_command("load_demo")
    assert counts() == before
    assert SystemLedger.objects.get(system=story).payload == ledger
