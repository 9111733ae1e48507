from __future__ import annotations

import json
from datetime import datetime

import pytest

from tests.cycles.conftest import BASE, ROSE, backdate, day_ago
from toc.cycles.models import Assumption, OutcomeRow, Why

MD = f"{BASE}/export.md"
JSON = f"{BASE}/export.json"


def test_markdown_is_an_attachment_with_a_heading_per_step(personas, cycle) -> None:
    OutcomeRow.objects.create(
        outcome=cycle.outcome, metric="Detection time", before=47, after=3.2, unit="min"
    )
    response = personas.viewer.get(MD)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="fraud-cycle-1.md"'
    text = response.content.decode()
    assert text.startswith("# Fraud scoring: cycle 1, Features saturate\n")
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings == [
        "## 1. Goal and constraint",
        "## 2. Problem",
        "## 3. Conflict",
        "## 4. Innovation",
        "## 5. Experiment",
        "## 6. Rollout",
        "## 7. Outcome",
    ]
    assert "| Detection time | 47 min | 3.2 min | 15× faster |" in text


def test_user_text_cannot_break_the_markdown(personas, cycle) -> None:
    Why.objects.create(
        problem=cycle.problem,
        position=0,
        answer="# Not a heading",
        evidence="see <script>x</script>",
    )
    cycle.problem.statement = "First line\n## Not a heading either\n> nor a quote"
    cycle.problem.save()
    Assumption.objects.create(
        conflict=cycle.conflict, arrow="b_d", text="Either | or", reasoning="a\nb"
    )

    text = personas.viewer.get(MD).content.decode()

    lines = text.splitlines()
    assert not [line for line in lines if line.startswith("## Not")]
    assert "\\## Not a heading either" in lines
    assert "\\> nor a quote" in lines
    assert (
        "1. \\# Not a heading *Evidence:* see \\<script>x\\</script> (not validated)"
        in (lines)
    )
    [row] = [line for line in lines if "Either" in line]
    assert row == "| Need B ← action D | Either \\| or | Not challenged yet | a b |"
    # Unescaped pipes separate the cells: exactly the table's five.
    assert row.replace("\\|", "").count("|") == 5


def test_json_has_the_documented_shape(personas, cycle) -> None:
    Why.objects.create(problem=cycle.problem, position=0, answer="Because")
    OutcomeRow.objects.create(
        outcome=cycle.outcome, metric="Alerts a day", before=847, after=11
    )

    response = personas.viewer.get(JSON)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == (
        'attachment; filename="fraud-cycle-1.json"'
    )
    data = json.loads(response.content)
    assert (data["format"], data["version"], data["as_of"]) == ("toc-cycle", 2, None)
    assert set(data) == {
        "format",
        "version",
        "exported_at",
        "as_of",
        "system",
        "cycle",
        "goal",
        "problem",
        "conflict",
        "innovation",
        "experiment",
        "rollout",
        "outcome",
    }
    assert data["system"] == {"slug": "fraud", "name": "Fraud scoring"}
    assert data["cycle"]["number"] == 1
    assert len(data["goal"]["slos"]) == len(data["goal"]["slos_opened"]) == 5
    assert set(data["goal"]["slos"][0]) == {
        "name",
        "dimension",
        "comparator",
        "target",
        "unit",
        "measured",
        "live",
        "status",
        "compliance",
    }
    assert data["goal"]["validation"] is None
    assert [w["answer"] for w in data["problem"]["whys"]] == ["Because"]
    assert [p["name"] for p in data["rollout"]["phases"]][:2] == [
        "Shadow",
        "Canary 10%",
    ]
    assert data["outcome"]["rows"][0]["change"] == "\N{MINUS SIGN}98.7%"
    assert data["experiment"]["verdict"] == "incomplete"
    for moment in (data["exported_at"], data["cycle"]["created"]):
        assert datetime.fromisoformat(moment).utcoffset() is not None
        assert moment.endswith("+00:00")


def test_json_as_of_exports_the_past(personas, cycle) -> None:
    backdate(10)
    personas.teammate.post(f"{BASE}/whys/add/", {"new-whys-answer": "Added later"})

    response = personas.viewer.get(JSON, {"as_of": day_ago(5)})

    past = json.loads(response.content)
    assert past["problem"]["whys"] == []
    assert past["as_of"] == f"{day_ago(5)}T23:59:59.999999+00:00"
    now = json.loads(personas.viewer.get(JSON).content)
    assert [w["answer"] for w in now["problem"]["whys"]] == ["Added later"]


def test_json_as_of_before_the_cycle_is_404(personas, cycle) -> None:
    assert personas.viewer.get(JSON, {"as_of": "2001-01-01"}).status_code == 404


def test_json_as_of_a_bad_date_is_400(personas, cycle) -> None:
    response = personas.viewer.get(JSON, {"as_of": "soon"})
    assert response.status_code == 400


def test_unknown_format_is_404(personas, cycle) -> None:
    assert personas.viewer.get(f"{BASE}/export.pdf").status_code == 404


@pytest.mark.parametrize("url", [MD, JSON, f"{JSON}?as_of=2020-01-01"])
def test_outsider_gets_404(personas, cycle, url) -> None:
    assert personas.outsider.get(url).status_code == 404


def test_both_exports_give_the_validation_verdict(personas, validation_run) -> None:
    validation_run(1_300.0)

    text = personas.viewer.get(MD).content.decode()
    data = json.loads(personas.viewer.get(JSON).content)

    assert f"**{ROSE}**" in text.splitlines()
    assert data["goal"]["validation"]["verdict"] == {
        "result": "constraint",
        "sentence": ROSE,
        "system_throughput_before": pytest.approx(950),
        "system_throughput_during": pytest.approx(1_300),
    }
