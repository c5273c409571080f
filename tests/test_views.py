"""The auth endpoints after login: refresh, logout, logout_all, session, sessions, detail."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.test import Client, override_settings
from django.urls import reverse

from jwt_cookie_auth.cookie_names import access_cookie_name, refresh_cookie_name
from jwt_cookie_auth.models import LoginSession, RevokeReason
from tests.conftest import access_cookie, capture, credentials, login, refresh_cookie

REFRESH = "jwt_cookie_auth:refresh"
LOGOUT = "jwt_cookie_auth:logout"
LOGOUT_ALL = "jwt_cookie_auth:logout_all"
SESSION = "jwt_cookie_auth:session"
SESSIONS = "jwt_cookie_auth:sessions"
SESSION_DETAIL = "jwt_cookie_auth:session_detail"
SESSION_FIELDS = {
    "id",
    "current",
    "created_at",
    "last_used_at",
    "expires_at",
    "user_agent",
    "ip_address",
}


def post(client: Client, name: str, **extra: Any) -> Any:
    return client.post(reverse(name), content_type="application/json", **extra)


def names() -> tuple[str, str]:
    return access_cookie_name(), refresh_cookie_name()


def assert_cookies_deleted(response: Any) -> None:
    for name in names():
        morsel = response.cookies[name]
        assert morsel.value == ""
        assert str(morsel["max-age"]) == "0"
        assert "1970" in morsel["expires"]


def assert_cookies_set(response: Any) -> None:
    for name in names():
        assert response.cookies[name].value


def plant(client: Client, access: str | None = None, refresh: str | None = None) -> None:
    """Put cookie values back into a client's jar (a replay by an attacker or old tab)."""
    for name, value in zip(names(), (access, refresh), strict=True):
        if value is None:
            client.cookies.pop(name, None)
        else:
            client.cookies[name] = value


def login_from(client: Client, user: Any, **headers: Any) -> Any:
    """Log in with request headers (``login`` from conftest puts extras in the body)."""
    response = client.post(
        reverse("jwt_cookie_auth:login"),
        credentials(user),
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 200
    return response


def session_id(client: Client) -> str:
    sid = client.get(reverse(SESSION)).json()["session_id"]
    assert sid
    return str(sid)


def is_live(sid: str) -> bool:
    return LoginSession.objects.get(pk=sid).revoked_at is None


# --- refresh ----------------------------------------------------------------------------


def test_refresh_sets_new_cookies_in_the_same_session(logged_in: Client) -> None:
    old_access, old_refresh = access_cookie(logged_in), refresh_cookie(logged_in)
    sid = session_id(logged_in)
    response = post(logged_in, REFRESH)
    assert response.status_code == 200
    assert_cookies_set(response)
    assert access_cookie(logged_in) != old_access
    assert refresh_cookie(logged_in) != old_refresh
    assert response.json()["session_id"] == sid
    assert logged_in.get(reverse("me")).status_code == 200


def test_refresh_without_cookie_is_401_and_deletes_cookies(client: Client, db: None) -> None:
    response = post(client, REFRESH)
    assert response.status_code == 401
    assert response.has_header("WWW-Authenticate")
    assert_cookies_deleted(response)


@pytest.mark.parametrize("value", ["garbage", "a.b.c", "x" * 5000, "e30.e30.e30"])
def test_refresh_with_garbage_is_401_and_deletes_cookies(
    client: Client, db: None, value: str
) -> None:
    plant(client, refresh=value)
    response = post(client, REFRESH)
    assert response.status_code == 401
    assert_cookies_deleted(response)


def test_refresh_with_an_access_token_is_401(logged_in: Client) -> None:
    plant(logged_in, refresh=access_cookie(logged_in))
    assert post(logged_in, REFRESH).status_code == 401


def test_refresh_response_is_no_store(logged_in: Client) -> None:
    assert "no-store" in post(logged_in, REFRESH)["Cache-Control"]


# --- logout -----------------------------------------------------------------------------


def test_logout_revokes_the_session_and_old_cookies_are_dead(logged_in: Client) -> None:
    old_access, old_refresh = access_cookie(logged_in), refresh_cookie(logged_in)
    sid = session_id(logged_in)
    with capture(user_logged_out) as logged_out:
        response = post(logged_in, LOGOUT)
    assert response.status_code == 204
    assert_cookies_deleted(response)
    session = LoginSession.objects.get(pk=sid)
    assert session.revoked_at is not None
    assert session.revoke_reason == RevokeReason.LOGOUT
    assert len(logged_out) == 1

    replay = Client()
    plant(replay, access=old_access)
    assert replay.get(reverse("me")).status_code == 401
    plant(replay, access=None, refresh=old_refresh)
    assert post(replay, REFRESH).status_code == 401
    bearer = Client(HTTP_AUTHORIZATION=f"Bearer {old_access}")
    assert bearer.get(reverse("me")).status_code == 401


def test_logout_without_cookies_is_204_and_deletes_cookies(client: Client, db: None) -> None:
    response = post(client, LOGOUT)
    assert response.status_code == 204
    assert_cookies_deleted(response)


def test_logout_with_garbage_cookies_is_204(client: Client, db: None) -> None:
    plant(client, access="garbage", refresh="more.garbage.here")
    response = post(client, LOGOUT)
    assert response.status_code == 204
    assert_cookies_deleted(response)


def test_logout_twice_is_idempotent(logged_in: Client) -> None:
    cookies = access_cookie(logged_in), refresh_cookie(logged_in)
    assert post(logged_in, LOGOUT).status_code == 204
    plant(logged_in, *cookies)
    with capture(user_logged_out) as logged_out:
        assert post(logged_in, LOGOUT).status_code == 204
    assert not logged_out


def test_logout_with_expired_access_token_and_no_refresh_cookie_revokes(
    client: Client, user: Any, clock: Any
) -> None:
    sid = login(client, user).json()["session_id"]
    plant(client, access=access_cookie(client))
    clock.advance(minutes=30)
    assert post(client, LOGOUT).status_code == 204
    assert not is_live(sid)


def test_bearer_logout_revokes(logged_in: Client) -> None:
    sid = session_id(logged_in)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {access_cookie(logged_in)}")
    assert post(api, LOGOUT).status_code == 204
    assert not is_live(sid)
    assert logged_in.get(reverse("me")).status_code == 401


def test_logout_leaves_other_sessions_alone(client: Client, user: Any) -> None:
    other = Client()
    login(other, user)
    login(client, user)
    assert post(client, LOGOUT).status_code == 204
    assert other.get(reverse("me")).status_code == 200


def test_get_logout_does_not_log_out(logged_in: Client) -> None:
    assert logged_in.get(reverse(LOGOUT)).status_code == 405
    assert logged_in.get(reverse("me")).status_code == 200


# --- logout_all -------------------------------------------------------------------------


def test_logout_all_revokes_every_session_of_the_user(user: Any, other_user: Any) -> None:
    phone, laptop, bystander = Client(), Client(), Client()
    login(phone, user)
    login(laptop, user)
    login(bystander, other_user)
    laptop_refresh = refresh_cookie(laptop)

    response = post(phone, LOGOUT_ALL)
    assert response.status_code == 204
    assert_cookies_deleted(response)
    assert not LoginSession.objects.filter(user=user, revoked_at__isnull=True).exists()
    assert set(LoginSession.objects.filter(user=user).values_list("revoke_reason", flat=True)) == {
        RevokeReason.LOGOUT_ALL
    }
    assert phone.get(reverse("me")).status_code == 401
    assert laptop.get(reverse("me")).status_code == 401
    plant(laptop, refresh=laptop_refresh)
    assert post(laptop, REFRESH).status_code == 401
    assert bystander.get(reverse("me")).status_code == 200


def test_logout_all_anonymous_is_401(client: Client, db: None) -> None:
    assert post(client, LOGOUT_ALL).status_code == 401


# --- session ----------------------------------------------------------------------------


def test_session_anonymous_is_null_user_and_sets_csrf_cookie(client: Client, db: None) -> None:
    response = client.get(reverse(SESSION))
    assert response.status_code == 200
    body = response.json()
    assert body["user"] is None
    assert body["csrf_token"]
    assert response.cookies["csrftoken"].value
    assert "no-store" in response["Cache-Control"]


def test_session_authenticated_shows_user_and_expiry(client: Client, user: Any) -> None:
    login_body = login(client, user).json()
    response = client.get(reverse(SESSION))
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["id"] == str(user.pk)
    assert body["user"][get_user_model().USERNAME_FIELD] == user.get_username()
    assert body["session_id"] == login_body["session_id"]
    for key in ("access_expires_at", "refresh_expires_at", "session_expires_at"):
        assert body[key] == login_body[key]
    assert body["csrf_token"]
    assert "no-store" in response["Cache-Control"]


def test_session_with_dead_cookies_is_anonymous(logged_in: Client) -> None:
    cookies = access_cookie(logged_in), refresh_cookie(logged_in)
    post(logged_in, LOGOUT)
    plant(logged_in, *cookies)
    response = logged_in.get(reverse(SESSION))
    assert response.status_code == 200
    assert response.json()["user"] is None


def test_session_with_garbage_cookies_is_anonymous(client: Client, db: None) -> None:
    plant(client, access="garbage", refresh="garbage")
    response = client.get(reverse(SESSION))
    assert response.status_code == 200
    assert response.json()["user"] is None


# --- sessions ---------------------------------------------------------------------------


def test_sessions_lists_live_sessions_with_current_marked(
    client: Client, user: Any, other_user: Any
) -> None:
    other_device, revoked_device, stranger = Client(), Client(), Client()
    login_from(other_device, user, HTTP_USER_AGENT="Phone/1.0", REMOTE_ADDR="10.1.2.3")
    login(revoked_device, user)
    post(revoked_device, LOGOUT)
    login(stranger, other_user)
    current = login_from(client, user, HTTP_USER_AGENT="Laptop/2.0").json()["session_id"]

    response = client.get(reverse(SESSIONS))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    rows = response.json()
    assert isinstance(rows, list)
    assert {row["id"] for row in rows} == {current, session_id(other_device)}
    for row in rows:
        assert set(row) >= SESSION_FIELDS
    assert [row["id"] for row in rows if row["current"] is True] == [current]
    by_id = {row["id"]: row for row in rows}
    assert by_id[current]["user_agent"] == "Laptop/2.0"
    phone = by_id[session_id(other_device)]
    assert phone["user_agent"] == "Phone/1.0"
    assert phone["ip_address"] == "10.1.2.3"
    assert phone["current"] is False


def test_sessions_anonymous_is_401(client: Client, db: None) -> None:
    assert client.get(reverse(SESSIONS)).status_code == 401


def test_sessions_paginated_when_drf_pagination_is_configured(
    logged_in: Client, settings: Any
) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
        "PAGE_SIZE": 10,
    }
    response = logged_in.get(reverse(SESSIONS))
    assert response.status_code == 200
    body = response.json()
    assert isinstance(body, dict)
    assert len(body["results"]) == 1
    assert body["results"][0]["current"] is True


# --- session_detail ---------------------------------------------------------------------


def test_delete_own_other_session_kills_that_client_at_once(client: Client, user: Any) -> None:
    other = Client()
    login(other, user)
    other_sid = session_id(other)
    login(client, user)
    response = client.delete(reverse(SESSION_DETAIL, args=[other_sid]))
    assert response.status_code == 204
    # Deleting another session leaves this client's cookies alone.
    for name in names():
        assert name not in response.cookies
    assert LoginSession.objects.get(pk=other_sid).revoke_reason == RevokeReason.USER_REVOKED
    assert other.get(reverse("me")).status_code == 401
    assert client.get(reverse("me")).status_code == 200


def test_delete_another_users_session_is_404_and_it_stays_live(
    client: Client, user: Any, other_user: Any
) -> None:
    stranger = Client()
    login(stranger, other_user)
    stranger_sid = session_id(stranger)
    login(client, user)
    response = client.delete(reverse(SESSION_DETAIL, args=[stranger_sid]))
    assert response.status_code == 404
    assert is_live(stranger_sid)
    assert stranger.get(reverse("me")).status_code == 200


def test_delete_unknown_session_is_404(logged_in: Client) -> None:
    response = logged_in.delete(reverse(SESSION_DETAIL, args=[uuid.uuid4()]))
    assert response.status_code == 404


def test_delete_current_session_deletes_cookies(logged_in: Client) -> None:
    sid = session_id(logged_in)
    response = logged_in.delete(reverse(SESSION_DETAIL, args=[sid]))
    assert response.status_code == 204
    assert_cookies_deleted(response)
    assert not is_live(sid)
    assert logged_in.get(reverse("me")).status_code == 401


def test_delete_session_anonymous_is_401(user: Any) -> None:
    owner = Client()
    login(owner, user)
    sid = session_id(owner)
    response = Client().delete(reverse(SESSION_DETAIL, args=[sid]))
    assert response.status_code == 401
    assert is_live(sid)


# --- caching ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "name"),
    [
        ("post", REFRESH),
        ("post", LOGOUT),
        ("post", LOGOUT_ALL),
        ("get", SESSION),
        ("get", SESSIONS),
        ("delete", SESSION_DETAIL),
    ],
)
def test_auth_responses_are_no_store_and_vary_on_cookie(
    logged_in: Client, method: str, name: str
) -> None:
    args = [session_id(logged_in)] if name == SESSION_DETAIL else []
    response = getattr(logged_in, method)(reverse(name, args=args), content_type="application/json")
    assert response.status_code < 300
    assert "no-store" in response["Cache-Control"]
    assert "Cookie" in response["Vary"]


@override_settings(JWT_COOKIE_AUTH={"ACCESS_COOKIE_NAME": "a", "REFRESH_COOKIE_NAME": "r"})
def test_views_use_the_configured_cookie_names(client: Client, user: Any) -> None:
    """Configured names travel with the automatic prefix (__Host- by default)."""
    login(client, user)
    assert client.cookies["__Host-a"].value
    assert client.cookies["__Host-r"].value
    assert post(client, REFRESH).status_code == 200
    response = post(client, LOGOUT)
    assert response.status_code == 204
    assert response.cookies["__Host-a"].value == ""
    assert client.get(reverse("me")).status_code == 401
