"""No Docker engine runs here, so the compose wiring is checked by reading it."""

from __future__ import annotations

import importlib
import re
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from django.test import Client

DOCKER = Path(__file__).resolve().parent.parent / "docker"
APP_SERVICES = ["migrate", "web", "worker", "beat"]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


def _expand(value: str) -> str:
    """Resolves ${VAR:-default} the way compose does when VAR is unset."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


def _directives(caddyfile: str) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in caddyfile.splitlines())
    return [line for line in lines if line]


def test_all_services_are_there(compose) -> None:
    assert set(compose["services"]) == {*APP_SERVICES, "caddy", "postgres", "redis"}


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


def test_only_the_tls_proxy_publishes_ports(compose) -> None:
    """A client reaching gunicorn directly could write its own X-Forwarded-For
    and choose the address its logins are counted under."""
    published = {
        name: spec["ports"]
        for name, spec in compose["services"].items()
        if "ports" in spec
    }
    assert published == {"caddy": ["80:80", "443:443", "443:443/udp"]}
    assert compose["services"]["caddy"]["image"] == "caddy:2"


def test_the_proxy_forwards_to_the_port_gunicorn_binds(compose) -> None:
    web = compose["services"]["web"]
    port = web["command"][web["command"].index("--bind") + 1].rsplit(":", 1)[1]
    assert web["expose"] == [port]
    caddy = compose["services"]["caddy"]
    mounted = {
        target: source
        for source, target, *_ in (volume.split(":") for volume in caddy["volumes"])
    }
    caddyfile = (DOCKER / mounted["/etc/caddy/Caddyfile"]).read_text()
    directives = _directives(caddyfile)
    assert directives[0] == "{$SITE_ADDRESS:localhost} {"
    assert f"reverse_proxy web:{port}" in directives
    assert caddy["environment"]["SITE_ADDRESS"] == "${SITE_ADDRESS:-localhost}"
    assert caddy["depends_on"]["web"]["condition"] == "service_healthy"


def test_the_app_trusts_exactly_the_proxy_in_front(compose) -> None:
    """Caddy keeps no X-Forwarded-For a client sent unless trusted_proxies
    says so: it writes the client's address alone, the one entry
    TRUSTED_PROXY_COUNT=1 reads."""
    caddyfile = (DOCKER / "Caddyfile").read_text()
    assert not any("trusted_proxies" in line for line in _directives(caddyfile))
    for service in APP_SERVICES:
        env = compose["services"][service]["environment"]
        assert _expand(env["TRUSTED_PROXY_COUNT"]) == "1"


def test_the_site_address_is_the_allowed_host_unless_told_otherwise(compose) -> None:
    env = compose["services"]["web"]["environment"]
    assert env["ALLOWED_HOSTS"] == "${ALLOWED_HOSTS:-${SITE_ADDRESS:-localhost}}"


def test_the_web_healthcheck_gets_past_the_production_host_and_https_checks(
    compose, db, settings, monkeypatch
) -> None:
    """The check asks gunicorn directly, as Caddy does: without an allowed
    Host and X-Forwarded-Proto it got a 400, or a redirect to HTTPS."""
    settings.ALLOWED_HOSTS = ["toc.example.com", ".example.org"]
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    test = compose["services"]["web"]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"]
    answers = []

    def urlopen(request: urllib.request.Request | str, timeout: float) -> None:
        if isinstance(request, str):
            request = urllib.request.Request(request)
        url = urlsplit(request.full_url)
        assert url.netloc == "127.0.0.1:8000"
        response = Client().get(url.path, headers=dict(request.header_items()))
        answers.append(response.status_code)

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    for allowed in ("toc.example.com", ".example.org,toc.example.com"):
        monkeypatch.setenv("ALLOWED_HOSTS", allowed)
        exec(test[3], {})
    assert answers == [200, 200]


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
