from __future__ import annotations

from tests.cycles.conftest import BASE
from tests.dashboard.test_charts import figure
from toc.systems.models import Feature


def _constraint_on_features(cycle) -> None:
    cycle.constraint.stage = "features"
    cycle.constraint.stage_name = "Features"
    cycle.constraint.save()


def test_problem_step_charts_the_constraint_stages_features_by_value(
    personas, cycle
) -> None:
    _constraint_on_features(cycle)
    stage = personas.system.stages.get(slug="features")
    Feature.objects.create(stage=stage, name="amount", importance=0.5, compute_cost=1)
    Feature.objects.create(stage=stage, name="graph", importance=0.001, compute_cost=40)
    Feature.objects.create(stage=stage, name="history", importance=0.4, compute_cost=10)

    content = personas.viewer.get(f"{BASE}/problem/").content.decode()

    bars, cumulative = figure(content, "chart-features")["data"]
    assert bars["x"] == ["amount", "history", "graph"]
    assert bars["marker"]["color"][2] != bars["marker"]["color"][0]
    assert cumulative["y"][-1] == 1.0


def test_the_chart_redraws_itself_when_a_row_changes(personas, cycle) -> None:
    _constraint_on_features(cycle)
    content = personas.viewer.get(f"{BASE}/problem/").content.decode()
    start = content.index('<div id="feature-value"')
    tag = content[start : content.index("\n", start)]
    assert 'hx-trigger="cycle-changed from:body"' in tag
    assert f'hx-get="{BASE}/problem/"' in tag
    # The element stays and only its content is replaced (see the browser test).
    assert 'hx-select="#feature-value > *"' in tag
    assert 'hx-swap="innerHTML"' in tag


def test_no_chart_without_features(personas, cycle) -> None:
    _constraint_on_features(cycle)
    content = personas.viewer.get(f"{BASE}/problem/").content.decode()
    assert "chart-features" not in content


def test_another_stages_features_are_not_charted(personas, cycle) -> None:
    _constraint_on_features(cycle)
    ingest = personas.system.stages.get(slug="ingest")
    Feature.objects.create(stage=ingest, name="raw", importance=1, compute_cost=1)
    content = personas.viewer.get(f"{BASE}/problem/").content.decode()
    assert "chart-features" not in content
