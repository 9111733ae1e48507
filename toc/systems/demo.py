"""The demo workspace: the network anomaly detection pipeline of the method article."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from toc.accounts.models import Membership, Role, Team
from toc.cycles.demo import demo_cycles
from toc.metrics.ingest import (
    MAX_SAMPLES,
    ingest_stages,
    samples_store,
    validate_batch,
)
from toc.metrics.models import Sample
from toc.metrics.simulation import demo_history
from toc.systems.models import Stage, System

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
# (name, slug, description), upstream first.
DEMO_STAGES = [
    ("Ingest", "ingest", "Receives flow records from the network taps."),
    ("Feature-Tier1", "feature-tier1", "Cheap per-flow features: ports, rates."),
    (
        "Feature-Tier2",
        "feature-tier2",
        "Windowed aggregates over hosts and sessions; 47 features per record.",
    ),
    ("Feature-Tier3", "feature-tier3", "Deep history and reputation lookups."),
    ("Inference", "inference", "Scores each record with the detection model."),
    ("Alerting", "alerting", "Deduplicates and routes alerts to the SOC."),
]


@transaction.atomic
def demo_load(*, history: bool = True) -> System:
    """Creates the demo team, user and system, with an hour of metrics unless told
    not to; running it again changes nothing."""
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
    for position, (name, slug, description) in enumerate(DEMO_STAGES):
        Stage.objects.get_or_create(
            system=system,
            slug=slug,
            defaults={"name": name, "position": position, "description": description},
        )
    if history and not Sample.objects.filter(stage__system=system).exists():
        _load_history(system)
    demo_cycles(system, user)
    return system


def _load_history(system: System) -> None:
    """An hour in which Feature-Tier2 saturates, through the real ingest path."""
    now = timezone.now().replace(microsecond=0)
    samples = demo_history(now - timedelta(hours=1))
    stages = ingest_stages(system)
    for start in range(0, len(samples), MAX_SAMPLES):
        batch = samples[start : start + MAX_SAMPLES]
        checked = validate_batch(batch, stages.ids, now, stages.capacities)
        samples_store(system=system, batch=checked)
