"""No Docker engine runs here, so the compose wiring is checked by reading it."""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

DOCKER = Path(__file__).resolve().parent.parent / "docker"
APP_SERVICES = ["migrate", "web", "worker", "beat"]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


def _expand(value: str) -> str:
    """Resolves ${VAR:-default} the way compose does when VAR is unset."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


def test_all_services_are_there(compose) -> None:
    assert set(compose["services"]) == {*APP_SERVICES, "postgres", "redis"}


@pytest.mark.parametrize(
    ("service", "command"),
    [
        ("web", ["gunicorn", "toc.wsgi"]),
        ("worker", ["celery", "-A", "toc", "worker"]),
        ("beat", ["celery", "-A", "toc", "beat"]),
        ("migrate", ["python", "manage.py", "migrate"]),
    ],
)
def test_each_role_runs_its_process(compose, service, command) -> None:
    assert compose["services"][service]["command"][: len(command)] == command


@pytest.mark.parametrize("service", APP_SERVICES)
def test_app_services_point_at_the_database_and_broker(compose, service) -> None:
    spec = compose["services"][service]
    env = spec["environment"]
    database = urlsplit(_expand(env["DATABASE_URL"]))
    postgres_env = compose["services"]["postgres"]["environment"]
    assert database.scheme == "postgres"
    assert database.hostname == "postgres"
    assert database.username == postgres_env["POSTGRES_USER"]
    assert database.password == _expand(postgres_env["POSTGRES_PASSWORD"])
    assert database.path.lstrip("/") == postgres_env["POSTGRES_DB"]
    assert urlsplit(env["CELERY_BROKER_URL"]).hostname == "redis"
    assert env["DEBUG"] == "0"
    assert "SECRET_KEY" in env
    assert {"postgres", "redis"} <= set(spec["depends_on"])


def test_web_waits_for_migrations(compose) -> None:
    depends = compose["services"]["web"]["depends_on"]
    assert depends["migrate"]["condition"] == "service_completed_successfully"


def test_web_publishes_the_port_gunicorn_binds(compose) -> None:
    web = compose["services"]["web"]
    bind = web["command"][web["command"].index("--bind") + 1]
    assert bind.endswith(":8000")
    assert "8000:8000" in web["ports"]


def test_app_services_build_from_the_dockerfile(compose) -> None:
    build = compose["services"]["web"]["build"]
    # compose resolves the context against the compose file's folder.
    dockerfile = (DOCKER / build["context"] / build["dockerfile"]).resolve()
    assert dockerfile == (DOCKER / "Dockerfile").resolve()
    assert "gunicorn" in dockerfile.read_text()


def test_web_serves_with_threads(compose) -> None:
    # An ingest request waits on PostgreSQL for about half its time; a sync
    # worker would idle through it while the next request queues.
    command = compose["services"]["web"]["command"]
    config = command[command.index("--config") + 1]
    assert config == "python:toc.gunicorn_conf"
    settings = importlib.import_module(config.removeprefix("python:"))
    assert settings.worker_class == "gthread"
    assert settings.workers >= 2 and settings.threads >= 2


def test_web_workers_keep_start_up_objects_out_of_collections(
    compose, gc_frozen_count
) -> None:
    # Full collections walking the whole app stopped every thread of a worker
    # for up to 150 ms under ingest load (benchmarks/README.md, run 8).
    command = compose["services"]["web"]["command"]
    config = command[command.index("--config") + 1]
    settings = importlib.import_module(config.removeprefix("python:"))
    settings.post_worker_init(worker=None)
    assert gc_frozen_count() > 0
