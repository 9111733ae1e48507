from __future__ import annotations

import fcntl
import gc
import json
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
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
    # Rate-limit counters of this process only: under pytest-xdist the workers,
    # and any other run, may count in the same Redis (CACHE_URL).
    settings.CACHES["default"]["KEY_PREFIX"] = f"tests-{os.getpid()}"
    # CI sets this so that a suite that quietly fell back to SQLite fails loudly.
    if os.environ.get("TOC_REQUIRE_POSTGRES") == "1":
        engine = settings.DATABASES["default"]["ENGINE"]
        if "postgresql" not in engine:
            raise pytest.UsageError(
                f"TOC_REQUIRE_POSTGRES=1 but the tests would run on {engine}; "
                "set DATABASE_URL to a PostgreSQL database."
            )


@pytest.fixture(scope="session")
def django_db_modify_db_settings_xdist_suffix() -> None:
    """Each pytest-xdist worker's own test database, named as pytest-django names
    it (test_toc_gw0), except that the SQLite file keeps its extension
    (toc-test-gw0.sqlite3), as .gitignore expects."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return
    for database in settings.DATABASES.values():
        test = database.setdefault("TEST", {})
        if database["ENGINE"] == "django.db.backends.sqlite3":
            if not test.get("NAME"):
                continue  # in memory: each process has its own anyway
            path = Path(test["NAME"])
            test["NAME"] = str(path.with_stem(f"{path.stem}-{worker}"))
        else:
            test["NAME"] = f"{test.get('NAME') or 'test_' + database['NAME']}_{worker}"


# Sections for the end of the run's report (the fault figures): lines added in
# whichever process ran the test; pytest-xdist's workers hand theirs over to
# the process that prints the report.
SUMMARY: dict[str, list[str]] = {}


def add_to_summary(section: str, line: str) -> None:
    SUMMARY.setdefault(section, []).append(line)


def _takes_seconds(item: pytest.Item) -> bool:
    """A browser walk, a fault drill or a test with a real worker: each takes
    seconds (the longest a minute), where most tests take milliseconds."""
    marked = {mark.name for mark in item.iter_markers()}
    return bool(marked & {"browser", "worker"}) or item.nodeid.startswith(
        "tests/faults/"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The long tests first: pytest-xdist's workers then end the run on short
    # ones together, instead of one waiting while the other runs a walk of
    # every page. The rest keep their order.
    items.sort(key=lambda item: not _takes_seconds(item))


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook, run by the controller
def pytest_testnodedown(node, error) -> None:
    handed_over = getattr(node, "workeroutput", {}).get("summary", {})
    for section, lines in handed_over.items():
        SUMMARY.setdefault(section, []).extend(lines)


def pytest_terminal_summary(terminalreporter) -> None:
    for section, lines in SUMMARY.items():
        terminalreporter.section(section)
        for line in lines:
            terminalreporter.write_line(line)


@pytest.hookimpl(trylast=True)  # after the conftests below add their lines
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["summary"] = SUMMARY
    # CI provides every service and the browser, so a skip there means a test
    # silently did not run. Under xdist the controller sees every worker's skips.
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


# Tests that use something beyond their worker's own database, cache keys and
# temporary files take turns: under pytest-xdist no two tests of a group run at
# the same time. Keyed by the start of their path. (Not xdist_group: on pytest
# 9.2 --dist loadgroup no longer groups, pytest-xdist issue 1386, and like
# loadscope it would run one of the schemathesis tests, which share a node id.)
TAKE_TURNS = {
    # Each drill starts processes of its own and times the recovery (the slowest
    # 202 under 2 s while the broker is down): one drill at a time.
    "tests/faults/": "faults",
    # Its Redis tests count in, and clear, one Redis database of their own.
    "tests/lib/test_ratelimit.py": "ratelimit-redis",
}


@pytest.fixture(autouse=True)
def take_turns(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    path = request.node.nodeid.split("::")[0]
    group = next(
        (name for start, name in TAKE_TURNS.items() if path.startswith(start)), None
    )
    if group is None or "PYTEST_XDIST_WORKER" not in os.environ:
        yield
        return
    # The workers' temporary directories share the run's, where the lock is.
    lock = tmp_path_factory.getbasetemp().parent / f"{group}.lock"
    with lock.open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        yield


@pytest.fixture(autouse=True)
def rate_limits_start_afresh() -> None:
    """Rate-limit counters live in the cache: one test's logins must not count
    against the next. On Redis only this process's keys go, not the database
    (a FLUSHDB would reset the counts of a test running in another worker)."""
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        backend.clear()
        return
    client = backend._cache.get_client(write=True)
    if stale := list(client.scan_iter(match=f"{backend.key_prefix}:*")):
        client.delete(*stale)


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
