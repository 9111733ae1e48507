from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from toc.systems.models import IngestKey


@pytest.fixture
def ingest_key(personas) -> str:
    _, plaintext = IngestKey.issue(system=personas.system, name="pipeline")
    return plaintext


@pytest.fixture
def post_samples(ingest_key, django_capture_on_commit_callbacks):
    """Posts a batch as a pipeline would, processing included; returns the response."""

    def post(samples: list[dict] | bytes | str, key: str = ingest_key, slug="fraud"):
        body = (
            samples
            if isinstance(samples, bytes | str)
            else json.dumps({"samples": samples})
        )
        # The test's transaction never commits, so run what would follow a commit.
        with django_capture_on_commit_callbacks(execute=True):
            return Client().post(
                f"/api/v1/systems/{slug}/samples/",
                body,
                content_type="application/json",
                headers={"Authorization": f"Bearer {key}"},
            )

    return post


@pytest.fixture
def recent():
    """A sample time a few minutes ago, so that it is valid now."""
    return (timezone.now() - timedelta(minutes=30)).replace(second=0, microsecond=0)
