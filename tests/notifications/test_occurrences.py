"""What the scan records: each occurrence once, by the rules the ledger and
the cycle list already use, and nothing that is old news."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from toc.cycles.models import CycleStatus, StepPlan
from toc.metrics.models import SloBudget, SystemLedger
from toc.notifications import services
from toc.notifications.models import Event, EventKind
from toc.systems.models import Slo


def _kinds() -> list[str]:
    return list(Event.objects.order_by("id").values_list("kind", flat=True))


def _ledger(system, newest_ago_s: float) -> SystemLedger:
    newest = timezone.now() - timedelta(seconds=newest_ago_s)
    ledger, _ = SystemLedger.objects.update_or_create(
        system=system,
        defaults={
            "payload": {"last_sample_at": newest.isoformat(), "stale_after_s": 120},
            "computed_at": timezone.now(),
        },
    )
    return ledger


def test_a_confirmed_move_is_recorded_once_with_stage_names(personas, moved):
    moved()
    services.events_scan()
    services.events_scan()
    event = Event.objects.get()
    assert event.kind == EventKind.CONSTRAINT_MOVED
    assert event.team == personas.team
    assert event.data["from_stage_name"] == "Features"
    assert event.summary.startswith("Fraud scoring: ")


def test_a_move_replayed_by_processing_is_the_same_move(personas, moved):
    """Processing deletes and re-creates the moves it replays after late data."""
    first = moved()
    services.events_scan()
    first.pk = None
    first.save()  # the same move in a new row
    type(first).objects.exclude(pk=first.pk).delete()
    services.events_scan()
    assert Event.objects.count() == 1


def test_a_move_older_than_the_lookback_is_not_news(personas, moved, settings):
    settings.NOTIFICATIONS_LOOKBACK_S = 3600
    moved(minutes_ago=3 * 60)
    services.events_scan()
    assert not Event.objects.exists()


def test_a_silent_system_is_stale_once_and_recovered_once(personas):
    _ledger(personas.system, newest_ago_s=300)
    services.events_scan()
    services.events_scan()
    assert _kinds() == [EventKind.SYSTEM_STALE]
    stale = Event.objects.get()
    assert stale.data["stale_after_s"] == 120
    assert stale.data["age_s"] >= 300

    _ledger(personas.system, newest_ago_s=10)
    services.events_scan()
    services.events_scan()
    assert _kinds() == [EventKind.SYSTEM_STALE, EventKind.SYSTEM_RECOVERED]

    # Silent again: a new silence, told again.
    _ledger(personas.system, newest_ago_s=400)
    services.events_scan()
    assert _kinds() == [
        EventKind.SYSTEM_STALE,
        EventKind.SYSTEM_RECOVERED,
        EventKind.SYSTEM_STALE,
    ]


def test_a_late_batch_that_leaves_a_system_stale_is_no_second_silence(personas):
    _ledger(personas.system, newest_ago_s=600)
    services.events_scan()
    _ledger(personas.system, newest_ago_s=300)  # newer, and still stale
    services.events_scan()
    assert _kinds() == [EventKind.SYSTEM_STALE]


def test_a_fresh_system_is_not_stale(personas):
    _ledger(personas.system, newest_ago_s=30)
    services.events_scan()
    assert not Event.objects.exists()


def test_a_system_silent_since_before_the_lookback_is_not_news(personas, settings):
    settings.NOTIFICATIONS_LOOKBACK_S = 3600
    _ledger(personas.system, newest_ago_s=2 * 3600)
    services.events_scan()
    assert not Event.objects.exists()


def test_a_step_past_its_due_date_is_recorded_once(personas, cycle, admin_user):
    today = timezone.localdate()
    StepPlan.objects.create(
        cycle=cycle, step="problem", owner=admin_user, due=today - timedelta(days=1)
    )
    StepPlan.objects.create(cycle=cycle, step="conflict", due=today)  # not yet
    services.events_scan()
    services.events_scan()
    event = Event.objects.get()
    assert event.kind == EventKind.CYCLE_STEP_DUE
    assert event.data["step"] == "problem"
    assert event.data["owner"] == admin_user.username
    assert "Problem step was due" in event.summary


def test_a_new_due_date_is_a_new_occurrence(personas, cycle):
    today = timezone.localdate()
    plan = StepPlan.objects.create(
        cycle=cycle, step="problem", due=today - timedelta(days=2)
    )
    services.events_scan()
    plan.due = today - timedelta(days=1)
    plan.save()
    services.events_scan()
    assert Event.objects.count() == 2


def test_a_step_long_past_due_or_of_a_closed_cycle_is_not_told(personas, cycle):
    today = timezone.localdate()
    StepPlan.objects.create(cycle=cycle, step="problem", due=today - timedelta(days=30))
    services.events_scan()
    cycle.status = CycleStatus.CLOSED
    cycle.save()
    StepPlan.objects.create(cycle=cycle, step="goal", due=today - timedelta(days=1))
    services.events_scan()
    assert not Event.objects.exists()


def test_nothing_emits_slo_burning_yet(personas, moved):
    moved()
    _ledger(personas.system, newest_ago_s=300)
    services.events_scan()
    assert not Event.objects.filter(kind=EventKind.SLO_BURNING).exists()


def _burning(system, *, since, alert: str = "page") -> SloBudget:
    slo = Slo.objects.create(
        system=system,
        dimension="time_to_decision",
        name="Fast decisions",
        comparator="<=",
        indicator="threshold",
        stage="inference",
        field="latency_p95_ms",
        threshold=100,
        objective=0.99,
    )
    return SloBudget.objects.create(
        slo=slo,
        computed_at=since,
        window_start=since - timedelta(days=28),
        window_end=since,
        good=90,
        total=100,
        compliance=0.9,
        budget_remaining=-9.0,
        burn_rates={"5m": 40.0, "1h": 25.0},
        alert=alert,
        alert_since=since if alert else None,
    )


def test_an_slo_burning_is_told_once_per_alert_with_its_figures(personas):
    since = timezone.now().replace(microsecond=0) - timedelta(minutes=2)
    budget = _burning(personas.system, since=since)
    services.events_scan()
    services.events_scan()
    event = Event.objects.get()
    assert event.kind == EventKind.SLO_BURNING
    assert event.key == f"slo.burning:{budget.slo_id}:{since.isoformat()}"
    assert event.occurred_at == since
    assert event.data["alert"] == "page"
    assert event.data["burn_rates"] == {"5m": 40.0, "1h": 25.0}
    assert "Fast decisions" in event.summary
    assert "1000% of the budget spent" in event.summary

    # The same alert, evaluated again: nothing new. A new start: told again.
    budget.computed_at = timezone.now()
    budget.save()
    services.events_scan()
    budget.alert_since = since + timedelta(minutes=1)
    budget.save()
    services.events_scan()
    assert _kinds() == [EventKind.SLO_BURNING] * 2


def test_an_slo_not_burning_or_burning_since_long_ago_is_not_news(personas, settings):
    _burning(personas.system, since=timezone.now(), alert="")
    _burning(
        personas.system,
        since=timezone.now()
        - timedelta(seconds=settings.NOTIFICATIONS_LOOKBACK_S + 60),
    )
    services.events_scan()
    assert _kinds() == []
