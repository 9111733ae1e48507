from __future__ import annotations

import gc
import json
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from tests.factories import (
    IngestKeyFactory,
    MembershipFactory,
    StageFactory,
    SystemFactory,
)
from toc.accounts.models import Membership, Role
from toc.celery import app as celery_app
from toc.cycles.models import Cycle
from toc.cycles.services import cycle_open

CHROMIUM = os.environ.get("TOC_CHROMIUM", "/usr/bin/chromium")


def pytest_configure(config: pytest.Config) -> None:
    # The default hasher is slow on purpose; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Live-server request threads would otherwise keep their connections open,
    # and the test database could not be dropped at the end.
    settings.DATABASES["default"]["CONN_MAX_AGE"] = 0
    # CI sets this so that a suite that quietly fell back to SQLite fails loudly.
    if os.environ.get("TOC_REQUIRE_POSTGRES") == "1":
        engine = settings.DATABASES["default"]["ENGINE"]
        if "postgresql" not in engine:
            raise pytest.UsageError(
                f"TOC_REQUIRE_POSTGRES=1 but the tests would run on {engine}; "
                "set DATABASE_URL to a PostgreSQL database."
            )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # CI provides every service and the browser, so a skip there means a test
    # silently did not run.
    if os.environ.get("TOC_FAIL_ON_SKIP") != "1":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped:
        reporter.write_line(
            f"TOC_FAIL_ON_SKIP=1: {len(skipped)} test(s) skipped; failing the run.",
            red=True,
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(autouse=True)
def rate_limits_start_afresh() -> None:
    """Rate-limit counters live in the cache: one test's logins must not count
    against the next."""
    cache.clear()


@pytest.fixture(autouse=True)
def tasks_run_in_process() -> Iterator[None]:
    """Tasks run eagerly unless a test starts a real worker (tests/worker.py)."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@dataclass
class Personas:
    """The three people every view is tested against, plus a viewer."""

    team: object
    system: object
    owner: Client  # team admin
    teammate: Client  # editor in the same team
    viewer: Client
    outsider: Client  # admin of another team


def _client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def personas(db) -> Personas:
    return make_personas()


def make_personas() -> Personas:
    """A team (admin, editor, viewer) with the system "fraud" of three stages, and
    an outsider: another team's admin, with a system of their own."""
    owner = MembershipFactory(role=Role.ADMIN)
    team = owner.team
    teammate = MembershipFactory(team=team, role=Role.EDITOR)
    viewer = MembershipFactory(team=team, role=Role.VIEWER)
    outsider = MembershipFactory(role=Role.ADMIN)
    system = SystemFactory(team=team, name="Fraud scoring", slug="fraud")
    for name in ["Ingest", "Features", "Inference"]:
        StageFactory(system=system, name=name, slug=name.lower())
    SystemFactory(team=outsider.team, name="Other team's system", slug="other")
    return Personas(
        team=team,
        system=system,
        owner=_client_for(owner.user),
        teammate=_client_for(teammate.user),
        viewer=_client_for(viewer.user),
        outsider=_client_for(outsider.user),
    )


@pytest.fixture
def cycle(personas) -> Cycle:
    """Cycle 1 of "fraud", opened by the team's admin."""
    owner = Membership.objects.get(team=personas.team, role=Role.ADMIN).user
    return cycle_open(system=personas.system, title="Features saturate", user=owner)


@pytest.fixture
def chromium_path() -> str:
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        pytest.skip(
            f"Chromium not found at {CHROMIUM}: `apt-get install chromium` "
            "(or set TOC_CHROMIUM) to run browser tests."
        )
    return CHROMIUM


@pytest.fixture
def ingest_key(personas) -> str:
    return IngestKeyFactory(system=personas.system, name="pipeline").plaintext


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


@pytest.fixture
def gc_frozen_count() -> Iterator[Callable[[], int]]:
    """How many objects the test froze out of Python's collections; the
    process is left unfrozen, as it was found."""
    gc.unfreeze()
    yield gc.get_freeze_count
    gc.unfreeze()
