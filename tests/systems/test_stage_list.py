from __future__ import annotations


def test_stages_are_listed_in_pipeline_order(personas) -> None:
    response = personas.viewer.get("/systems/fraud/stages/")
    assert response.status_code == 200
    content = response.content.decode()
    assert (
        content.index("Ingest") < content.index("Features") < content.index("Inference")
    )


def test_viewer_gets_no_edit_controls(personas) -> None:
    response = personas.viewer.get("/systems/fraud/stages/")
    assert b"Add stage" not in response.content
    assert b"/stages/ingest/move/" not in response.content


def test_editor_gets_edit_controls(personas) -> None:
    response = personas.teammate.get("/systems/fraud/stages/")
    assert b"Add stage" in response.content
    assert b'hx-confirm="Delete the stage Ingest?' in response.content


def test_outsider_gets_404(personas) -> None:
    assert personas.outsider.get("/systems/fraud/stages/").status_code == 404


def test_unknown_system_is_404_like_a_foreign_one(personas) -> None:
    assert personas.owner.get("/systems/nope/").status_code == 404


def test_htmx_request_gets_only_the_stage_list(personas) -> None:
    response = personas.teammate.get(
        "/systems/fraud/stages/", headers={"HX-Request": "true"}
    )
    assert response.content.decode().lstrip().startswith('<section id="stages"')
    assert b"<html" not in response.content


def test_empty_state_without_stages(personas) -> None:
    personas.system.stages.all().delete()
    response = personas.teammate.get("/systems/fraud/stages/")
    assert b"No stages yet" in response.content


def test_user_text_is_escaped(personas) -> None:
    personas.system.description = "<script>alert(1)</script>"
    personas.system.save()
    response = personas.viewer.get("/systems/fraud/stages/")
    assert b"<script>alert(1)</script>" not in response.content
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in response.content
