from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.metrics.samples import steady_pipeline


def _features_limiting(post_samples, start) -> None:
    """Ten minutes from ``start`` in which Features runs at 95%, its queue growing."""
    post_samples(
        steady_pipeline(
            ["ingest", "features", "inference"],
            start,
            10,
            {"features": 0.95},
            growing="features",
        )
    )


@pytest.fixture
def with_data(post_samples):
    """Ten whole minutes, the last sample under 70 s ago: a live pipeline."""
    start = (timezone.now() - timedelta(minutes=10)).replace(second=0, microsecond=0)
    _features_limiting(post_samples, start)


@pytest.fixture
def with_stale_data(post_samples):
    """The same ten minutes, ending 20 minutes ago: the pipeline stopped posting."""
    _features_limiting(post_samples, timezone.now() - timedelta(minutes=30))
