from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.conftest import add_to_summary
from tests.factories import (
    IngestKeyFactory,
    MembershipFactory,
    StageFactory,
    SystemFactory,
)
from tests.faults.services import OwnRedis, postgres_or_skip
from tests.metrics.samples import steady_pipeline
from toc.accounts.models import Role
from toc.metrics.models import (
    ConstraintEvent,
    ConstraintFinding,
    PendingMinute,
    Rollup,
    Sample,
    SystemLedger,
)
from toc.systems.models import System

STAGES = ["ingest", "features", "inference"]


def report(line: str) -> None:
    """A figure of the fault test, printed at the end of the run."""
    print(line)
    add_to_summary("fault figures", line)


@dataclass
class Pipeline:
    system: System
    key: str
    membership: object

    @property
    def stored(self) -> int:
        return Sample.objects.filter(stage__system=self.system).count()

    def processed(self) -> bool:
        """Nothing owed, and the ledger covers the newest sample."""
        if PendingMinute.objects.filter(system=self.system).exists():
            return False
        latest = (
            Sample.objects.filter(stage__system=self.system)
            .order_by("-ts")
            .values_list("ts", flat=True)
            .first()
        )
        ledger = SystemLedger.objects.filter(system=self.system).first()
        return ledger is not None and ledger.window_end == latest

    def snapshot(self) -> dict:
        """Everything processing derives, without ids or computation times."""
        ledger = SystemLedger.objects.get(system=self.system)
        return {
            "rollups": list(
                Rollup.objects.filter(stage__system=self.system)
                .order_by("stage_id", "minute")
                .values_list("stage_id", "minute", "count", "throughput_sum")
            ),
            "findings": list(
                ConstraintFinding.objects.filter(system=self.system)
                .order_by("minute")
                .values_list("minute", "stage", "confirmed", "candidate")
            ),
            "events": list(
                ConstraintEvent.objects.filter(system=self.system)
                .order_by("at", "from_stage", "to_stage")
                .values_list("at", "from_stage", "to_stage", "decided_minute")
            ),
            "ledger": (ledger.window_end, ledger.payload),
        }


@pytest.fixture
def pipeline(transactional_db) -> Pipeline:
    postgres_or_skip()
    membership = MembershipFactory(role=Role.EDITOR)
    system = SystemFactory(team=membership.team, slug="live")
    for slug in STAGES:
        StageFactory(system=system, slug=slug, name=slug.title())
    key = IngestKeyFactory(system=system, name="pipeline").plaintext
    return Pipeline(system=system, key=key, membership=membership)


@pytest.fixture
def own_redis(tmp_path):
    server = OwnRedis(tmp_path)
    server.start()
    yield server
    server.stop()


def batches(count: int, minutes: int, hours_ago: float = 3) -> list[list[dict]]:
    """`count` batches of distinct samples, each `minutes` of a saturated pipeline."""
    start = (timezone.now() - timedelta(hours=hours_ago)).replace(
        second=0, microsecond=0
    )
    return [
        steady_pipeline(
            STAGES,
            start + timedelta(minutes=n * minutes),
            minutes,
            {"features": 0.95},
            growing="features",
        )
        for n in range(count)
    ]
