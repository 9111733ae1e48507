from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.metrics.samples import steady_pipeline


@pytest.fixture
def with_data(post_samples):
    start = (timezone.now() - timedelta(minutes=20)).replace(second=0, microsecond=0)
    post_samples(
        steady_pipeline(
            ["ingest", "features", "inference"],
            start,
            10,
            {"features": 0.95},
            growing="features",
        )
    )
