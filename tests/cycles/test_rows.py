from __future__ import annotations

import pytest

from tests.cycles.conftest import BASE
from toc.cycles.models import Assumption, Why
from toc.systems.models import Feature

HTMX = {"HX-Request": "true"}
WHY = {"new-whys-answer": "It computes 47 features", "new-whys-evidence": "profile"}

VALID_ROWS = {
    "whys": {"answer": "Because", "evidence": "logs", "validated": "on"},
    "assumptions": {"arrow": "b_d", "text": "All records need the same depth"},
    "tiers": {
        "name": "Tier-1",
        "traffic_share": "1",
        "exit_share": "0.68",
        "latency_ms": "3",
    },
    "criteria": {"metric": "False negatives", "comparator": "==", "threshold": "0"},
    "phases": {
        "name": "Extra",
        "traffic_share": "0.5",
        "hold_hours": "24",
        "status": "pending",
    },
    "outcome-rows": {"metric": "Alerts a day", "before": "847", "after": "11"},
}


@pytest.mark.parametrize("key", sorted(VALID_ROWS))
def test_editor_adds_a_row_of_each_kind(personas, cycle, key) -> None:
    data = {f"new-{key}-{field}": v for field, v in VALID_ROWS[key].items()}
    response = personas.teammate.post(f"{BASE}/{key}/add/", data, headers=HTMX)
    assert response.status_code == 200, response.content[:500]
    assert response["HX-Retarget"] == f"#rows-{key}"
    assert response.content.decode().lstrip().startswith(f'<section id="rows-{key}"')


def test_add_without_htmx_redirects_to_the_step(personas, cycle) -> None:
    response = personas.teammate.post(f"{BASE}/whys/add/", WHY)
    assert response.status_code == 302
    assert response["Location"] == f"{BASE}/problem/#rows-whys"
    assert Why.objects.get().answer == "It computes 47 features"


def test_invalid_row_shows_errors_and_keeps_input(personas, cycle) -> None:
    data = {"new-whys-answer": "", "new-whys-evidence": "typed evidence"}
    response = personas.teammate.post(f"{BASE}/whys/add/", data, headers=HTMX)
    content = response.content.decode()
    assert "This field is required." in content
    assert "typed evidence" in content
    assert not Why.objects.exists()


def test_invalid_row_without_htmx_gets_a_full_page(personas, cycle) -> None:
    response = personas.teammate.post(f"{BASE}/whys/add/", {"new-whys-answer": ""})
    assert b"<html" in response.content
    assert b"Add a why" in response.content


def _add_whys(client, count: int) -> list[int]:
    for n in range(count):
        client.post(f"{BASE}/whys/add/", {"new-whys-answer": f"why {n}"})
    return list(Why.objects.order_by("position").values_list("pk", flat=True))


def test_edit_in_place(personas, cycle) -> None:
    (pk,) = _add_whys(personas.teammate, 1)
    form = personas.teammate.get(f"{BASE}/whys/{pk}/edit/", headers=HTMX)
    assert (
        form.content.decode()
        .lstrip()
        .startswith('<li class="row-item row-item--editing"')
    )
    personas.teammate.post(
        f"{BASE}/whys/{pk}/edit/",
        {f"edit-whys-{pk}-answer": "Better answer", f"edit-whys-{pk}-validated": "on"},
        headers=HTMX,
    )
    why = Why.objects.get()
    assert (why.answer, why.validated) == ("Better answer", True)


def test_reorder_and_delete_keep_positions_dense(personas, cycle) -> None:
    first, second, third = _add_whys(personas.teammate, 3)
    personas.teammate.post(
        f"{BASE}/whys/{third}/move/", {"direction": "up"}, headers=HTMX
    )
    order = list(Why.objects.order_by("position").values_list("pk", flat=True))
    assert order == [first, third, second]
    personas.teammate.post(f"{BASE}/whys/{first}/delete/", headers=HTMX)
    rows = list(Why.objects.order_by("position").values_list("pk", "position"))
    assert rows == [(third, 0), (second, 1)]


def test_delete_asks_first_without_htmx(personas, cycle) -> None:
    (pk,) = _add_whys(personas.teammate, 1)
    page = personas.teammate.get(f"{BASE}/whys/{pk}/delete/")
    assert b"Delete this why?" in page.content
    assert Why.objects.exists()


def test_viewer_cannot_change_rows(personas, cycle) -> None:
    (pk,) = _add_whys(personas.teammate, 1)
    assert personas.viewer.post(f"{BASE}/whys/add/", WHY).status_code == 403
    assert personas.viewer.post(f"{BASE}/whys/{pk}/edit/", {}).status_code == 403
    assert personas.viewer.post(f"{BASE}/whys/{pk}/delete/").status_code == 403
    assert Why.objects.count() == 1


def test_outsider_gets_404_on_rows(personas, cycle) -> None:
    (pk,) = _add_whys(personas.teammate, 1)
    assert personas.outsider.post(f"{BASE}/whys/add/", WHY).status_code == 404
    assert personas.outsider.post(f"{BASE}/whys/{pk}/delete/").status_code == 404
    assert Why.objects.count() == 1


def test_rows_of_another_cycle_are_404(personas, cycle) -> None:
    (pk,) = _add_whys(personas.teammate, 1)
    personas.teammate.post("/systems/fraud/cycles/", {"title": "Second"})
    response = personas.teammate.post(f"/systems/fraud/cycles/2/whys/{pk}/delete/")
    assert response.status_code == 404
    assert Why.objects.count() == 1


def test_challenging_an_assumption_needs_reasoning(personas, cycle) -> None:
    data = {
        "new-assumptions-arrow": "b_d",
        "new-assumptions-text": "Features must be computed synchronously",
        "new-assumptions-verdict": "does_not_hold",
    }
    response = personas.teammate.post(f"{BASE}/assumptions/add/", data, headers=HTMX)
    assert b"Say why" in response.content
    assert not Assumption.objects.exists()


def test_features_need_a_constraint_stage(personas, cycle) -> None:
    data = {
        "new-features-name": "dst_port",
        "new-features-importance": "1",
        "new-features-compute_cost": "1",
    }
    cycle.constraint.stage = ""
    cycle.constraint.save()
    assert personas.teammate.post(f"{BASE}/features/add/", data).status_code == 404
    cycle.constraint.stage = "features"
    cycle.constraint.save()
    assert personas.teammate.post(f"{BASE}/features/add/", data).status_code == 302


def test_a_feature_name_the_stage_has_is_a_field_error_in_the_list(
    personas, cycle
) -> None:
    cycle.constraint.stage = "features"
    cycle.constraint.save()
    data = {
        "new-features-name": "dst_port",
        "new-features-importance": "1",
        "new-features-compute_cost": "1",
    }
    personas.teammate.post(f"{BASE}/features/add/", data)
    response = personas.teammate.post(f"{BASE}/features/add/", data, headers=HTMX)
    assert response.status_code == 200
    form = response.context["add_form"]
    assert "already has a feature" in form.errors["name"][0]
    assert form["importance"].value() == "1"  # what was typed stays
    assert Feature.objects.filter(name="dst_port").count() == 1


def test_renaming_a_feature_to_a_name_the_stage_has_is_a_field_error(
    personas, cycle
) -> None:
    stage = personas.system.stages.get(slug="features")
    Feature.objects.create(stage=stage, name="dst_port", importance=1, compute_cost=1)
    other = Feature.objects.create(
        stage=stage, name="src_port", importance=1, compute_cost=1
    )
    cycle.constraint.stage = "features"
    cycle.constraint.save()
    prefix = f"edit-features-{other.pk}"
    response = personas.teammate.post(
        f"{BASE}/features/{other.pk}/edit/",
        {
            f"{prefix}-name": "dst_port",
            f"{prefix}-importance": "1",
            f"{prefix}-compute_cost": "1",
        },
    )
    assert "already has a feature" in response.context["form"].errors["name"][0]
    other.refresh_from_db()
    assert other.name == "src_port"


def test_row_changes_tell_the_chain_to_refresh(personas, cycle) -> None:
    response = personas.teammate.post(f"{BASE}/whys/add/", WHY, headers=HTMX)
    assert response["HX-Trigger"] == '{"cycle-changed": {}}'


def test_a_new_assumption_is_added_in_place_and_offered_without_a_reload(
    personas, cycle
) -> None:
    data = {
        "new-assumptions-arrow": "b_d",
        "new-assumptions-text": "One model handles all decisions",
    }
    response = personas.teammate.post(f"{BASE}/assumptions/add/", data, headers=HTMX)
    assert "HX-Refresh" not in response
    assert response["HX-Retarget"] == "#rows-assumptions"
    assert response["HX-Trigger"] == '{"cycle-changed": {}}'
    # The conflict form's choice re-reads its options when told.
    page = personas.teammate.get(f"{BASE}/conflict/").content.decode()
    choice = page[page.index('<select name="conflict-broken_assumption"') :]
    choice = choice[: choice.index(">")]
    assert 'hx-trigger="cycle-changed from:body"' in choice
    assert 'hx-select="#id_conflict-broken_assumption &gt; option"' in choice
    assert "One model handles all decisions" in page


def test_reasoning_is_labelled_optional_only_before_a_verdict(personas, cycle) -> None:
    optional = '<span class="optional">(optional)</span>'

    def reasoning_label(page: str, prefix: str) -> str:
        start = page.index(f'<label for="id_{prefix}-reasoning"')
        return page[start : page.index("</label>", start)]

    page = personas.teammate.get(f"{BASE}/conflict/").content.decode()
    assert optional in reasoning_label(page, "new-assumptions")

    data = {
        "new-assumptions-arrow": "b_d",
        "new-assumptions-text": "One model handles all decisions",
        "new-assumptions-verdict": "holds",
    }
    response = personas.teammate.post(f"{BASE}/assumptions/add/", data, headers=HTMX)
    assert response.context["form"].errors["reasoning"] == [
        "Say why, so the challenge can be checked."
    ]
    assert optional not in reasoning_label(response.content.decode(), "new-assumptions")

    data["new-assumptions-reasoning"] = "Checked against a week of traffic"
    personas.teammate.post(f"{BASE}/assumptions/add/", data, headers=HTMX)
    pk = Assumption.objects.get().pk
    page = personas.teammate.get(f"{BASE}/assumptions/{pk}/edit/").content.decode()
    assert optional not in reasoning_label(page, f"edit-assumptions-{pk}")
