from django.urls import reverse

from tests.conftest import login


def test_login_then_api(client, user):
    r = login(client, user)
    assert "access" not in r.json()
    r = client.get(reverse("me"))
    assert r.status_code == 200, r.content
    r = client.get(reverse("private"))
    assert r.status_code == 200
    r = client.post(reverse("jwt_cookie_auth:refresh"))
    assert r.status_code == 200, r.content
    r = client.get(reverse("jwt_cookie_auth:sessions"))
    assert r.status_code == 200, r.content
    assert len(r.json()) == 1
    r = client.post(reverse("jwt_cookie_auth:logout"))
    assert r.status_code == 204
    r = client.get(reverse("me"))
    assert r.status_code == 401
