"""The README's API session, replayed word for word against a live server."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from toc.cycles.models import Cycle
from toc.demo.loader import demo_load
from toc.metrics.models import Sample
from toc.systems.models import System

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.django_db(transaction=True)


def readme_session() -> str:
    readme = (ROOT / "README.md").read_text()
    block = re.search(
        r"<!-- api-session -->\n```sh\n(.*?)```\n<!-- /api-session -->", readme, re.S
    )
    assert block, "README.md has no API session between its markers"
    return block.group(1)


def database_url() -> str:
    """The test database, for the session's `manage.py create_api_token`."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    host, port = db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    return f"postgres://{db['USER']}@{host}:{port}/{db['NAME']}"


@pytest.mark.skipif(shutil.which("curl") is None, reason="the session uses curl")
def test_the_readme_api_session_runs_as_written(live_server):
    demo_load(history=False)
    env = {
        **os.environ,
        "TOC": live_server.url,
        "DATABASE_URL": database_url(),
        # `python` is the project's, as after `source .venv/bin/activate`.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", readme_session()],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr

    system = System.objects.get(slug="churn")
    assert list(system.stages.values_list("slug", flat=True)) == ["ingest", "score"]
    assert Sample.objects.filter(stage__system=system).count() == 2
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    ledger = next(answer for answer in answers if "constraint" in answer)
    assert ledger["constraint"]["stage"] == "score"
    cycle = Cycle.objects.get(system=system, number=1)
    assert list(cycle.problem.whys.values_list("answer", flat=True)) == [
        "Every record gets all 300 features"
    ]
