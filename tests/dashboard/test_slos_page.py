"""The system's SLO page: its goal, listed with the values now, added, edited in
place, reordered and deleted."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from tests.metrics.samples import steady_pipeline
from toc.systems.models import Slo, System

HTMX = {"HX-Request": "true"}
PAGE = "/systems/fraud/slos/"
NEW = {
    "new-name": "Recall on fraud",
    "new-dimension": "custom",
    "new-comparator": ">=",
    "new-target": "90",
    "new-unit": "%",
    "new-measured": "",
    "new-measured_from": "typed",
}


def _names() -> list[str]:
    return list(Slo.objects.filter(system__slug="fraud").values_list("name", flat=True))


def _slo(name: str) -> Slo:
    return Slo.objects.get(system__slug="fraud", name=name)


def test_a_new_system_starts_with_the_five_standard_slos(personas) -> None:
    personas.teammate.post(
        "/systems/new/", {"team": personas.team.pk, "name": "Churn", "slug": "churn"}
    )
    system = System.objects.get(slug="churn")
    assert [(s.name, s.target, s.position) for s in system.slos.all()] == [
        ("Time to decision (p95)", None, 0),
        ("Actionable alerts per day", None, 1),
        ("Outcome-weighted recall", None, 2),
        ("Coverage of relevant events", None, 3),
        ("Data loss", None, 4),
    ]


def test_the_page_lists_the_slos_with_their_values_now(post_samples, personas):
    start = (timezone.now() - timedelta(minutes=20)).replace(second=0, microsecond=0)
    post_samples(steady_pipeline(["ingest", "features", "inference"], start, 10, {}))
    live = _slo("Time to decision (p95)")
    live.measured_from, live.unit, live.target = "last_stage_p95", "ms", 10
    live.save()
    typed = _slo("Coverage of relevant events")
    typed.target, typed.measured = 95, 97
    typed.save()

    content = personas.viewer.get(PAGE).content.decode()

    row = content[content.index(f'id="slo-{live.pk}"') :]
    row = row[: row.index("</tr>")]
    assert "12.5 ms" in row and "live" in row and "violated" in row
    row = content[content.index(f'id="slo-{typed.pk}"') :]
    assert "met" in row[: row.index("</tr>")]
    # A viewer reads; the forms are the editors'.
    assert "Add an SLO" not in content
    assert 'aria-current="page">SLOs<' in content


def test_an_editor_adds_an_slo_at_the_end(personas) -> None:
    response = personas.teammate.post(f"{PAGE}add/", NEW)
    assert response.status_code == 302
    assert response["Location"] == PAGE
    assert _names()[-1] == "Recall on fraud"
    assert _slo("Recall on fraud").position == 5
    assert (
        "Added the SLO Recall on fraud." in personas.teammate.get(PAGE).content.decode()
    )


def test_an_invalid_slo_keeps_what_was_typed(personas) -> None:
    for htmx in (False, True):
        response = personas.teammate.post(
            f"{PAGE}add/",
            {**NEW, "new-target": "1e13", "new-name": "Typed name"},
            headers=HTMX if htmx else {},
        )
        assert response.status_code == 200
        content = response.content.decode()
        assert "Use a number between 0 and 1,000,000,000,000." in content
        assert 'value="Typed name"' in content
        assert ("<html" in content) is not htmx
    assert "Typed name" not in _names()


def test_htmx_add_answers_the_refreshed_list(personas) -> None:
    response = personas.teammate.post(f"{PAGE}add/", NEW, headers=HTMX)
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#slos"
    assert "Recall on fraud" in response.content.decode()
    assert b"<html" not in response.content


def test_edit_in_place_and_on_a_page_of_its_own(personas) -> None:
    slo = _slo("Data loss")
    url = f"{PAGE}{slo.pk}/edit/"
    row = personas.teammate.get(url, headers=HTMX).content.decode()
    assert row.lstrip().startswith(f'<tr id="slo-{slo.pk}"')
    assert "<html" in personas.teammate.get(url).content.decode()
    prefix = f"slo-{slo.pk}"
    data = {
        f"{prefix}-name": "Data loss",
        f"{prefix}-dimension": "data_loss",
        f"{prefix}-comparator": "<=",
        f"{prefix}-target": "0.1",
        f"{prefix}-unit": "%",
        f"{prefix}-measured": "0.05",
        f"{prefix}-measured_from": "typed",
    }
    bad = personas.teammate.post(url, {**data, f"{prefix}-target": "-1"}, headers=HTMX)
    assert bad.status_code == 200
    assert 'value="-1"' in bad.content.decode()
    slo.refresh_from_db()
    assert slo.target is None
    response = personas.teammate.post(url, data, headers=HTMX)
    assert response["HX-Retarget"] == "#slos"
    slo.refresh_from_db()
    assert (slo.target, slo.measured) == (0.1, 0.05)


def test_move_and_delete_keep_the_positions_whole(personas) -> None:
    first = _slo("Time to decision (p95)")
    response = personas.teammate.post(
        f"{PAGE}{first.pk}/move/", {"direction": "down"}, headers=HTMX
    )
    assert response.status_code == 200
    assert _names()[:2] == ["Actionable alerts per day", "Time to decision (p95)"]
    assert (
        personas.teammate.post(f"{PAGE}{first.pk}/move/", {"direction": "x"})
    ).status_code == 400
    confirm = personas.teammate.get(f"{PAGE}{first.pk}/delete/").content.decode()
    assert "Delete the SLO Time to decision (p95)?" in confirm
    assert "Cycles keep what they recorded of it" in confirm
    assert "Time to decision (p95)" in _names()
    personas.teammate.post(f"{PAGE}{first.pk}/delete/")
    assert "Time to decision (p95)" not in _names()
    positions = Slo.objects.filter(system__slug="fraud").values_list(
        "position", flat=True
    )
    assert list(positions) == [0, 1, 2, 3]


def test_viewers_and_outsiders_change_nothing(personas) -> None:
    slo = _slo("Data loss")
    writes = [
        (f"{PAGE}add/", NEW),
        (f"{PAGE}{slo.pk}/edit/", {}),
        (f"{PAGE}{slo.pk}/move/", {"direction": "up"}),
        (f"{PAGE}{slo.pk}/delete/", {}),
    ]
    for url, data in writes:
        assert personas.viewer.post(url, data).status_code == 403
        assert personas.outsider.post(url, data).status_code == 404
    assert personas.outsider.get(PAGE).status_code == 404
    theirs = Slo.objects.filter(system__slug="other").first()
    assert personas.teammate.post(f"{PAGE}{theirs.pk}/delete/").status_code == 404
    assert len(_names()) == 5
    assert Slo.objects.filter(pk=theirs.pk).exists()
