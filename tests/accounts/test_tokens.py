from __future__ import annotations

from django.test import Client

from tests.factories import ApiTokenFactory, UserFactory
from toc.accounts.models import ApiToken


def test_user_creates_a_token_shown_once(db, client) -> None:
    user = UserFactory()
    client.force_login(user)
    response = client.post("/account/tokens/", {"name": "notebook"}, follow=True)
    assert response.redirect_chain == [("/account/tokens/", 302)]
    secret = response.context["new_secret"]
    assert secret.startswith("tocpat_")
    assert "no-store" in response["Cache-Control"]
    assert 'data-copy="new-secret"' in response.content.decode()
    token = ApiToken.objects.get(user=user)
    assert token.name == "notebook"
    assert secret not in (token.digest, token.token_key)
    assert secret not in client.get("/account/tokens/").content.decode()


def test_reloading_after_creating_a_token_makes_no_second_token(db, client) -> None:
    client.force_login(UserFactory())
    response = client.post("/account/tokens/", {"name": "notebook"})
    assert response.status_code == 302
    client.get(response["Location"])
    client.get(response["Location"])
    assert ApiToken.objects.count() == 1


def test_token_authenticates_as_its_user(db, client) -> None:
    user = UserFactory()
    client.force_login(user)
    response = client.post("/account/tokens/", {"name": "n"}, follow=True)
    secret = response.context["new_secret"]
    api = Client(headers={"Authorization": f"Bearer {secret}"})
    assert api.get("/api/v1/systems/").status_code == 200
    assert ApiToken.objects.get().last_used is not None


def test_revoke_deletes_the_token(db, client) -> None:
    user = UserFactory()
    secret = ApiTokenFactory(user=user, name="old").plaintext
    token = ApiToken.objects.get()
    client.force_login(user)
    url = f"/account/tokens/{token.token_key}/revoke/"
    assert b"Revoke the token old?" in client.get(url).content
    client.post(url)
    assert not ApiToken.objects.exists()
    api = Client(headers={"Authorization": f"Bearer {secret}"})
    assert api.get("/api/v1/systems/").status_code == 401


def test_nobody_revokes_someone_elses_token(db, client) -> None:
    ApiTokenFactory(user=UserFactory(), name="theirs")
    token = ApiToken.objects.get()
    client.force_login(UserFactory())
    response = client.post(f"/account/tokens/{token.token_key}/revoke/")
    assert response.status_code == 404
    assert ApiToken.objects.exists()
