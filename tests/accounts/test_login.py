from __future__ import annotations

from tests.factories import UserFactory


def test_login_with_the_right_password(db, client) -> None:
    UserFactory(username="ana")
    response = client.post(
        "/accounts/login/", {"username": "ana", "password": "password"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/systems/"


def test_wrong_password_says_so_and_keeps_the_username(db, client) -> None:
    UserFactory(username="ana")
    response = client.post("/accounts/login/", {"username": "ana", "password": "nope"})
    assert response.status_code == 200
    assert b"do not match" in response.content
    assert b'value="ana"' in response.content
    assert "_auth_user_id" not in client.session


def test_logout_is_a_post(db, client) -> None:
    client.force_login(UserFactory())
    assert client.get("/accounts/logout/").status_code == 405
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
