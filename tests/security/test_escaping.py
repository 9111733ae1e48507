"""Text people type is shown as text: in every page, figure, export and the
audit trail, through the real views.

Each field gets a payload that would run script if it were pasted into the
markup unescaped: an <img onerror> for HTML, and a closing </script> for the
figure JSON that sits in <script type="application/json"> blocks.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django.utils.html import escape

from tests.factories import IngestKeyFactory
from tests.metrics.samples import sample
from tests.security.routes import DemoValues, all_routes
from toc.charts import theme
from toc.cycles.models import Assumption, Cycle, Why
from toc.demo.loader import demo_load

pytestmark = pytest.mark.django_db

FIGURE = re.compile(r'<script id="[^"]+" type="application/json">(.*?)</script>', re.S)
RAW_TAG = re.compile(r"(?<!\\)</?(img|script)")
PAYLOADS = {
    "img": "<img src=x onerror=alert(1)>",
    "script": '"</script><script>alert(1)</script>',
}
FIELDS = (
    "team name",
    "system name",
    "system description",
    "stage name",
    "stage description",
    "cycle title",
    "why",
    "assumption",
    "failure mode",
)


def plant(payload: str, django_capture_on_commit_callbacks) -> dict[str, str]:
    """The demo with `payload` typed into every free-text field; returns each
    field's full text."""
    system = demo_load(history=False)
    text = {field: f"{payload} {field}" for field in FIELDS}
    system.team.name = text["team name"]
    system.team.save()
    system.name, system.description = text["system name"], text["system description"]
    system.save()
    stage = system.stages.order_by("position").first()
    stage.name, stage.description = text["stage name"], text["stage description"]
    stage.save()
    for cycle in Cycle.objects.filter(system=system):
        cycle.title = text["cycle title"]
        cycle.save()
        why = Why.objects.filter(problem__cycle=cycle).first()
        if why is not None:
            why.answer = text["why"]
            why.save()
        assumption = Assumption.objects.filter(conflict__cycle=cycle).first()
        if assumption is not None:
            assumption.text = text["assumption"]
            assumption.save()
    key = IngestKeyFactory(system=system, name="escaping").plaintext
    now = timezone.now().replace(microsecond=0)
    samples = [
        sample(
            s.slug,
            now - timedelta(minutes=5 - i),
            failure_mode=text["failure mode"],
            utilization=0.9,
        )
        for s in system.stages.all()
        for i in range(3)
    ]
    with django_capture_on_commit_callbacks(execute=True):
        answer = Client().post(
            f"/api/v1/systems/{system.slug}/samples/",
            json.dumps({"samples": samples}),
            content_type="application/json",
            headers={"Authorization": f"Bearer {key}"},
        )
    assert answer.status_code == 202, answer.content
    return text


def every_page(client: Client, values: DemoValues) -> dict[str, object]:
    """Every GET answer of every non-API route, with the demo's values."""
    answers = {}
    for route in all_routes():
        if route.is_api or route.route.startswith("admin/"):
            continue
        for filling in values.fillings(route):
            url = route.url(filling)
            answers[url] = client.get(url, follow=True)
    return answers


@pytest.mark.parametrize("name", PAYLOADS)
def test_typed_text_is_escaped_everywhere_it_appears(
    name, django_capture_on_commit_callbacks
) -> None:
    payload = PAYLOADS[name]
    text = plant(payload, django_capture_on_commit_callbacks)
    system = Cycle.objects.first().system
    user = system.team.memberships.get().user
    client = Client()
    client.force_login(user)
    answers = every_page(client, DemoValues.of(system, user))

    shown, pages, exports = set(), 0, 0
    for url, answer in answers.items():
        body = answer.content.decode()
        kind = answer.headers.get("Content-Type", "")
        if kind.startswith("text/html"):
            pages += 1
            assert payload not in body, url
            assert "<script>alert(1)" not in body and "<img src=x" not in body, url
            shown |= {field for field, value in text.items() if escape(value) in body}
            # Figures: json_script keeps "<" out of the <script> block, and the
            # labels inside were escaped for Plotly before that.
            assert "</script><script>" not in body, url
        elif kind.startswith("text/markdown"):
            exports += 1
            # Markdown's own escape: every "<" of typed text as "\<", so no
            # renderer reads a tag.
            assert not RAW_TAG.search(body), url
            assert "\\<img" in body or "\\</script>" in body, url
        elif kind.startswith("application/json") and "export" in url:
            exports += 1
            # Data, not markup: the text survives exactly, in a file that is
            # downloaded (never rendered) and not sniffed as HTML.
            assert payload in json.dumps(answer.json(), ensure_ascii=False), url
            assert answer.headers["Content-Disposition"].startswith("attachment")
            assert answer.headers["X-Content-Type-Options"] == "nosniff"
    # Each field really was on some page, escaped, not just absent.
    assert shown == set(FIELDS), f"never shown: {set(FIELDS) - shown}"
    print(f"\n{name}: {len(FIELDS)} fields on {pages} pages and {exports} exports")


@pytest.mark.parametrize("name", PAYLOADS)
def test_figures_carry_typed_text_escaped_for_plotly(
    name, django_capture_on_commit_callbacks
) -> None:
    payload = PAYLOADS[name]
    plant(payload, django_capture_on_commit_callbacks)
    client = Client()
    client.force_login(Cycle.objects.first().system.team.memberships.get().user)
    page = client.get("/systems/nad/").content.decode()
    figures = [json.loads(block) for block in FIGURE.findall(page)]
    assert figures, "the dashboard has figures"
    dumped = json.dumps(figures, ensure_ascii=False)
    # Stage names are in the figures (labels, hover text), only as entities,
    # which Plotly shows as the characters typed.
    assert theme.text(f"{payload} stage name") in dumped
    assert "<img" not in dumped and "<script" not in dumped
