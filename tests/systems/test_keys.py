from __future__ import annotations

from tests.factories import IngestKeyFactory, SystemFactory
from toc.systems.models import IngestKey


def test_admin_creates_a_key_and_sees_it_once(personas) -> None:
    response = personas.owner.post(
        "/systems/fraud/keys/", {"name": "prod pipeline"}, follow=True
    )
    assert response.redirect_chain == [("/systems/fraud/keys/", 302)]
    key = IngestKey.objects.get()
    secret = response.context["new_secret"]
    assert secret.startswith("tocik_")
    assert IngestKey.find(secret) == key
    assert "no-store" in response["Cache-Control"]
    assert 'data-copy="new-secret"' in response.content.decode()

    again = personas.owner.get("/systems/fraud/keys/").content.decode()
    assert secret not in again
    assert f"{key.token_key}…" in again


def test_reloading_after_creating_a_key_makes_no_second_key(personas) -> None:
    response = personas.owner.post("/systems/fraud/keys/", {"name": "prod pipeline"})
    assert response.status_code == 302
    # What a reload repeats is the GET it was redirected to.
    personas.owner.get(response["Location"])
    personas.owner.get(response["Location"])
    assert IngestKey.objects.count() == 1


def test_a_new_key_shows_only_on_its_own_system(personas) -> None:
    other = SystemFactory(team=personas.system.team, slug="second")
    personas.owner.post("/systems/fraud/keys/", {"name": "prod pipeline"})
    page = personas.owner.get(f"/systems/{other.slug}/keys/")
    assert page.context["new_secret"] == ""
    assert personas.owner.get("/systems/fraud/keys/").context["new_secret"]


def test_key_needs_a_name(personas) -> None:
    response = personas.owner.post("/systems/fraud/keys/", {"name": ""})
    assert "name" in response.context["form"].errors
    assert not IngestKey.objects.exists()


def test_editor_cannot_manage_keys(personas) -> None:
    assert personas.teammate.get("/systems/fraud/keys/").status_code == 403
    assert (
        personas.teammate.post("/systems/fraud/keys/", {"name": "x"}).status_code == 403
    )
    assert not IngestKey.objects.exists()


def test_outsider_gets_404(personas) -> None:
    assert (
        personas.outsider.post("/systems/fraud/keys/", {"name": "x"}).status_code == 404
    )
    assert not IngestKey.objects.exists()


def test_revoking_asks_first_then_stops_the_key(personas) -> None:
    key = IngestKeyFactory(system=personas.system, name="old")
    secret = key.plaintext
    url = f"/systems/fraud/keys/{key.pk}/revoke/"
    assert b"Revoke the key old?" in personas.owner.get(url).content
    assert IngestKey.find(secret) == key

    personas.owner.post(url)
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert IngestKey.find(secret) is None


def test_outsider_cannot_revoke(personas) -> None:
    key = IngestKeyFactory(system=personas.system, name="k")
    response = personas.outsider.post(f"/systems/fraud/keys/{key.pk}/revoke/")
    assert response.status_code == 404
    key.refresh_from_db()
    assert key.revoked_at is None


def test_the_new_key_rides_a_short_lived_cookie_of_its_page_only(personas) -> None:
    response = personas.owner.post("/systems/fraud/keys/", {"name": "prod pipeline"})
    cookie = response.cookies["toc_new_secret"]
    assert cookie["path"] == "/systems/fraud/keys/"
    assert cookie["max-age"] == 60
    assert cookie["httponly"] and cookie["samesite"] == "Strict"

    shown = personas.owner.get("/systems/fraud/keys/")
    assert shown.context["new_secret"].startswith("tocik_")
    # Forgotten as it is shown.
    assert shown.cookies["toc_new_secret"]["max-age"] == 0


def test_a_cookie_not_signed_for_the_page_shows_nothing(personas) -> None:
    personas.owner.cookies["toc_new_secret"] = "tocik_planted"
    page = personas.owner.get("/systems/fraud/keys/")
    assert page.context["new_secret"] == ""
    assert "tocik_planted" not in page.content.decode()
