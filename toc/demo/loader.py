"""The demo workspace: the network anomaly detection pipeline of the method article."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from toc.accounts.models import Membership, Role, Team
from toc.demo.cycles import demo_cycles
from toc.demo.simulation import (
    DEMO_HISTORY_DAYS,
    DEMO_TRIAGE_ITEMS_PER_HOUR,
    DEMO_TRIAGE_PEOPLE,
    demo_history,
)
from toc.metrics.ingest import (
    MAX_SAMPLES,
    IngestStages,
    ingest_stages,
    samples_store,
    validate_batch,
)
from toc.metrics.models import Sample
from toc.systems.models import Stage, StageKind, System

DEMO_TEAM = ("Demo", "demo")
DEMO_USER = ("demo", "demo")
DEMO_SYSTEM = {
    "name": "Network anomaly detection",
    "slug": "nad",
    "description": (
        "Flags suspicious network flows for security analysts. Goal: alerts "
        "within 5 minutes (p95), at most 10 actionable alerts a day, 90% "
        "incident-weighted recall."
    ),
}
# (name, slug, description, and for a stage of people its people and items an
# hour each), upstream first.
DEMO_STAGES = [
    ("Ingest", "ingest", "Receives flow records from the network taps.", None),
    (
        "Feature-Tier1",
        "feature-tier1",
        "Cheap per-flow features: ports, rates.",
        None,
    ),
    (
        "Feature-Tier2",
        "feature-tier2",
        "Windowed aggregates over hosts and sessions; 47 features per record.",
        None,
    ),
    (
        "Feature-Tier3",
        "feature-tier3",
        "Deep history and reputation lookups.",
        None,
    ),
    ("Inference", "inference", "Scores each record with the detection model.", None),
    ("Alerting", "alerting", "Deduplicates and routes alerts to the SOC.", None),
    (
        "Triage",
        "triage",
        "SOC analysts investigate the alerts, correlating across their tools.",
        (DEMO_TRIAGE_PEOPLE, DEMO_TRIAGE_ITEMS_PER_HOUR),
    ),
]


def story_start(now: datetime) -> datetime:
    """Midnight UTC on the day the demo's story begins, some 35 days ago."""
    day = (now - timedelta(days=DEMO_HISTORY_DAYS)).astimezone(UTC)
    return day.replace(hour=0, minute=0, second=0, microsecond=0)


@transaction.atomic
def demo_load(*, history: bool = True) -> System:
    """Creates the demo team, user and system with its story: five weeks of
    metrics (unless told not to) and the cycles run on them. Running it again
    changes nothing."""
    team, _ = Team.objects.get_or_create(
        slug=DEMO_TEAM[1], defaults={"name": DEMO_TEAM[0]}
    )
    username, password = DEMO_USER
    user, created = get_user_model().objects.get_or_create(username=username)
    if created:
        user.set_password(password)
        user.save(update_fields=["password"])
    Membership.objects.get_or_create(
        team=team, user=user, defaults={"role": Role.ADMIN}
    )

    system, _ = System.objects.get_or_create(
        slug=DEMO_SYSTEM["slug"],
        defaults={
            "team": team,
            "name": DEMO_SYSTEM["name"],
            "description": DEMO_SYSTEM["description"],
        },
    )
    for position, (name, slug, description, people) in enumerate(DEMO_STAGES):
        numbers = {}
        if people:
            numbers = {
                "kind": StageKind.HUMAN,
                "people": people[0],
                "items_per_hour": people[1],
                "unit": "alerts/s",
            }
        Stage.objects.get_or_create(
            system=system,
            slug=slug,
            defaults={
                "name": name,
                "position": position,
                "description": description,
                **numbers,
            },
        )
    now = timezone.now().replace(microsecond=0)
    start = story_start(now)
    if history and not Sample.objects.filter(stage__system=system).exists():
        _load_history(system, start, now)
    demo_cycles(system, user, start)
    return system


def _load_history(system: System, start: datetime, now: datetime) -> None:
    """The story's samples, through the real ingest path. The analysts' samples
    leave their capacity to the stage, as a ticket queue's export would."""
    stages = ingest_stages(system)
    people = {slug for slug, pk in stages.ids.items() if pk in stages.capacities}
    batch: list[dict] = []
    for tick in demo_history(start, now):
        for sample in tick:
            if sample["stage"] in people:
                del sample["capacity"]
        if len(batch) + len(tick) > MAX_SAMPLES:
            _store(system, stages, batch, now)
            batch = []
        batch.extend(tick)
    if batch:
        _store(system, stages, batch, now)


def _store(
    system: System, stages: IngestStages, batch: list[dict], now: datetime
) -> None:
    checked = validate_batch(batch, stages.ids, now, stages.capacities)
    samples_store(system=system, batch=checked)
