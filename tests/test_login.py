"""The ``login`` endpoint: credentials, errors, signals, fixation, login CSRF, throttling."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.test import Client, override_settings
from django.urls import reverse

from jwt_cookie_auth import clock as jwt_clock
from jwt_cookie_auth.cookie_names import access_cookie_name, refresh_cookie_name
from jwt_cookie_auth.models import LoginSession, RevokeReason
from jwt_cookie_auth.throttling import LoginFailureThrottle
from tests.backends import MAGIC_WORD
from tests.conftest import PASSWORD, capture, credentials, login, make_user, username_for

LOGIN = "jwt_cookie_auth:login"
EXPIRY_KEYS = ("access_expires_at", "refresh_expires_at", "session_expires_at")


def post_login(client: Client, data: Any, **extra: Any) -> Any:
    body = data if isinstance(data, str) else json.dumps(data)
    return client.post(reverse(LOGIN), body, content_type="application/json", **extra)


def token_cookie_names() -> tuple[str, str]:
    return access_cookie_name(), refresh_cookie_name()


def sets_no_token_cookie(response: Any) -> bool:
    return not any(name in response.cookies for name in token_cookie_names())


def csrf_token_from_session(client: Client) -> str:
    response = client.get(reverse("jwt_cookie_auth:session"))
    assert response.status_code == 200
    return str(response.json()["csrf_token"])


# --- success ----------------------------------------------------------------------------


def test_login_returns_user_expiry_times_and_sets_both_cookies(client: Client, user: Any) -> None:
    response = post_login(client, credentials(user))
    assert response.status_code == 200
    body = response.json()
    assert body["user"][get_user_model().USERNAME_FIELD] == user.get_username()
    assert body["user"]["id"] == str(user.pk)
    for key in EXPIRY_KEYS:
        datetime.fromisoformat(body[key])
    access_at, refresh_at, session_at = (datetime.fromisoformat(body[k]) for k in EXPIRY_KEYS)
    assert access_at <= refresh_at <= session_at
    for name in token_cookie_names():
        morsel = response.cookies[name]
        assert morsel.value
        assert morsel["httponly"]
    assert "password" not in response.content.decode()


def test_login_body_holds_no_tokens_by_default(client: Client, user: Any) -> None:
    body = post_login(client, credentials(user)).json()
    assert "access" not in body
    assert "refresh" not in body
    for name in token_cookie_names():
        assert client.cookies[name].value not in json.dumps(body)


@override_settings(JWT_COOKIE_AUTH={"TOKENS_IN_BODY": True})
def test_tokens_in_body_setting_puts_tokens_in_the_body(client: Client, user: Any) -> None:
    body = post_login(client, credentials(user)).json()
    assert body["access"] == client.cookies[access_cookie_name()].value
    assert body["refresh"] == client.cookies[refresh_cookie_name()].value


def test_login_response_is_no_store(client: Client, user: Any) -> None:
    ok = post_login(client, credentials(user))
    failed = post_login(Client(), credentials(user, password="wrong"))
    for response in (ok, failed):
        assert "no-store" in response["Cache-Control"]


def test_remember_defaults_to_persistent_cookies(client: Client, user: Any) -> None:
    response = post_login(client, credentials(user))
    for name in token_cookie_names():
        assert int(response.cookies[name]["max-age"]) > 0
    assert int(response.cookies[access_cookie_name()]["max-age"]) <= 5 * 60
    assert int(response.cookies[refresh_cookie_name()]["max-age"]) <= 24 * 3600
    assert LoginSession.objects.get().persistent is True


def test_remember_false_sets_browser_session_cookies(client: Client, user: Any) -> None:
    response = post_login(client, credentials(user, remember=False))
    assert response.status_code == 200
    for name in token_cookie_names():
        morsel = response.cookies[name]
        assert morsel.value
        assert morsel["max-age"] == ""
        assert morsel["expires"] == ""
    assert LoginSession.objects.get().persistent is False


def test_logged_in_cookie_authenticates_the_api(client: Client, user: Any) -> None:
    login(client, user)
    response = client.get(reverse("me"))
    assert response.status_code == 200
    assert response.json()["user"] == user.get_username()


# --- failures ---------------------------------------------------------------------------


def test_bad_password_unknown_user_and_inactive_user_get_the_same_401(db: None) -> None:
    active = make_user("alice")
    make_user("carol", is_active=False)
    attempts = [
        credentials(active, password="wrong password"),
        {get_user_model().USERNAME_FIELD: username_for("nobody"), "password": PASSWORD},
        {get_user_model().USERNAME_FIELD: username_for("carol"), "password": PASSWORD},
    ]
    responses = [post_login(Client(), data) for data in attempts]
    assert [r.status_code for r in responses] == [401, 401, 401]
    bodies = [r.json() for r in responses]
    assert bodies[0] == bodies[1] == bodies[2]
    assert set(bodies[0]) == {"detail", "code"}
    for response in responses:
        assert response.has_header("WWW-Authenticate")
        # Failures never set a token, they may only delete one.
        for name in token_cookie_names():
            assert name not in response.cookies or response.cookies[name].value == ""
    assert not LoginSession.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("{not json", id="malformed"),
        pytest.param("", id="empty"),
        pytest.param("[]", id="list"),
        pytest.param('["a", "b"]', id="list-of-strings"),
        pytest.param('"alice"', id="string"),
        pytest.param("42", id="number"),
        pytest.param("null", id="null"),
    ],
)
def test_malformed_or_non_object_json_is_400(client: Client, user: Any, body: str) -> None:
    response = post_login(client, body)
    assert response.status_code == 400
    assert sets_no_token_cookie(response)
    assert not LoginSession.objects.exists()


@pytest.mark.parametrize("missing", ["username", "password"])
def test_missing_field_is_400(client: Client, user: Any, missing: str) -> None:
    data = credentials(user)
    field = get_user_model().USERNAME_FIELD if missing == "username" else "password"
    del data[field]
    response = post_login(client, data)
    assert response.status_code == 400
    assert field in response.json()
    assert not LoginSession.objects.exists()


def test_non_string_username_is_400_not_500(client: Client, user: Any) -> None:
    data = credentials(user)
    data[get_user_model().USERNAME_FIELD] = {"$ne": None}
    assert post_login(client, data).status_code == 400


def test_form_encoded_body_is_refused(client: Client, user: Any) -> None:
    """Only JSON: an HTML form (the classic login-CSRF vector) cannot log anyone in."""
    response = client.post(reverse(LOGIN), credentials(user))
    assert response.status_code in (400, 415)
    assert sets_no_token_cookie(response)
    assert not LoginSession.objects.exists()


def test_get_is_not_allowed(client: Client, user: Any) -> None:
    assert client.get(reverse(LOGIN)).status_code == 405


# --- backends ---------------------------------------------------------------------------


@override_settings(AUTHENTICATION_BACKENDS=["tests.backends.MagicWordBackend"])
def test_any_authentication_backend_works(client: Client, user: Any) -> None:
    assert post_login(Client(), credentials(user)).status_code == 401
    response = post_login(client, credentials(user, password=MAGIC_WORD))
    assert response.status_code == 200
    assert response.json()["user"]["id"] == str(user.pk)
    assert client.get(reverse("me")).json()["user"] == user.get_username()


@override_settings(
    AUTHENTICATION_BACKENDS=["django.contrib.auth.backends.AllowAllUsersModelBackend"]
)
def test_backend_that_admits_inactive_users_still_gets_401(client: Client, db: None) -> None:
    inactive = make_user("carol", is_active=False)
    with capture(user_login_failed) as failed, capture(user_logged_in) as logged_in:
        response = post_login(client, credentials(inactive))
    assert response.status_code == 401
    assert response.json() == post_login(Client(), credentials(inactive, password="x")).json()
    assert len(failed) == 1
    assert not logged_in
    assert not LoginSession.objects.exists()


# --- signals ----------------------------------------------------------------------------


def test_user_logged_in_fires_with_the_user(client: Client, user: Any) -> None:
    with capture(user_logged_in) as calls:
        login(client, user)
    assert len(calls) == 1
    assert calls[0]["user"].pk == user.pk
    assert calls[0]["request"] is not None


@pytest.mark.parametrize("kind", ["bad-password", "unknown-user", "inactive-user"])
def test_user_login_failed_fires_on_every_failure(db: None, kind: str) -> None:
    user = make_user("alice", is_active=kind != "inactive-user")
    data = credentials(user, password="wrong" if kind == "bad-password" else PASSWORD)
    if kind == "unknown-user":
        data[get_user_model().USERNAME_FIELD] = username_for("nobody")
    with capture(user_login_failed) as failed, capture(user_logged_in) as logged_in:
        assert post_login(Client(), data).status_code == 401
    assert len(failed) == 1
    assert not logged_in
    sent = failed[0]["credentials"]
    assert sent.get("password") != data["password"]
    assert sent[get_user_model().USERNAME_FIELD] == data[get_user_model().USERNAME_FIELD]


# --- session fixation -------------------------------------------------------------------


def test_login_ignores_planted_cookies_and_supersedes_their_session(db: None) -> None:
    attacker_user = make_user("mallory")
    victim_user = make_user("alice")
    attacker = Client()
    planted_sid = login(attacker, attacker_user).json()["session_id"]

    victim = Client()
    for name in token_cookie_names():
        victim.cookies[name] = attacker.cookies[name].value
    response = post_login(victim, credentials(victim_user))
    assert response.status_code == 200
    new_sid = response.json()["session_id"]
    assert new_sid != planted_sid
    assert response.json()["user"]["id"] == str(victim_user.pk)
    for name in token_cookie_names():
        assert victim.cookies[name].value != attacker.cookies[name].value
    assert victim.get(reverse("me")).json()["user"] == victim_user.get_username()

    planted = LoginSession.objects.get(pk=planted_sid)
    assert planted.revoked_at is not None
    assert planted.revoke_reason == RevokeReason.SUPERSEDED
    assert LoginSession.objects.get(pk=new_sid).revoked_at is None
    # The planted cookies are dead for the attacker too.
    assert attacker.get(reverse("me")).status_code == 401


def test_login_again_always_starts_a_new_session(client: Client, user: Any) -> None:
    first = login(client, user).json()["session_id"]
    second = login(client, user).json()["session_id"]
    assert first != second
    assert LoginSession.objects.count() == 2
    assert LoginSession.objects.get(pk=first).revoke_reason == RevokeReason.SUPERSEDED
    assert client.get(reverse("jwt_cookie_auth:session")).json()["session_id"] == second


def test_login_with_garbage_planted_cookies_succeeds(client: Client, user: Any) -> None:
    for name in token_cookie_names():
        client.cookies[name] = "garbage.token.value"
    response = post_login(client, credentials(user))
    assert response.status_code == 200
    assert client.get(reverse("me")).status_code == 200


# --- login CSRF -------------------------------------------------------------------------


def test_login_without_csrf_token_is_403_and_sets_nothing(csrf_client: Client, user: Any) -> None:
    response = post_login(csrf_client, credentials(user))
    assert response.status_code == 403
    assert sets_no_token_cookie(response)
    assert not LoginSession.objects.exists()


def test_login_with_csrf_token_from_session_endpoint_succeeds(
    csrf_client: Client, user: Any
) -> None:
    token = csrf_token_from_session(csrf_client)
    response = post_login(csrf_client, credentials(user), HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200
    assert LoginSession.objects.count() == 1


@pytest.mark.parametrize(
    ("origin", "expected"),
    [("https://evil.example", 403), ("null", 403), ("https://testserver", 200)],
)
def test_cross_site_login_over_https_is_refused(
    csrf_client: Client, user: Any, origin: str, expected: int
) -> None:
    token = csrf_token_from_session(csrf_client)
    response = post_login(
        csrf_client, credentials(user), HTTP_X_CSRFTOKEN=token, HTTP_ORIGIN=origin, secure=True
    )
    assert response.status_code == expected
    assert LoginSession.objects.exists() is (expected == 200)
    if expected == 403:
        assert sets_no_token_cookie(response)


def test_login_rotates_the_csrf_token(csrf_client: Client, user: Any) -> None:
    old_token = csrf_token_from_session(csrf_client)
    old_secret = csrf_client.cookies["csrftoken"].value
    response = post_login(csrf_client, credentials(user), HTTP_X_CSRFTOKEN=old_token)
    assert response.status_code == 200
    new_token = response.json()["csrf_token"]
    assert csrf_client.cookies["csrftoken"].value != old_secret
    refresh = reverse("jwt_cookie_auth:refresh")
    # The pre-login token is dead; the one login handed out works.
    old = csrf_client.post(refresh, content_type="application/json", HTTP_X_CSRFTOKEN=old_token)
    assert old.status_code == 403
    new = csrf_client.post(refresh, content_type="application/json", HTTP_X_CSRFTOKEN=new_token)
    assert new.status_code == 200


# --- throttling -------------------------------------------------------------------------

THROTTLED_USERNAME = {"LOGIN_THROTTLE_RATES": {"ip": "100/min", "username": "3/min"}}
THROTTLED_IP = {"LOGIN_THROTTLE_RATES": {"ip": "3/min", "username": None}}


def fail(user: Any, ip: str = "127.0.0.1", **overrides: Any) -> Any:
    data = credentials(user, password="wrong")
    data.update(overrides)
    response = post_login(Client(), data, REMOTE_ADDR=ip)
    assert response.status_code == 401
    return response


@override_settings(JWT_COOKIE_AUTH=THROTTLED_USERNAME)
def test_username_throttle_blocks_even_the_right_password(user: Any) -> None:
    for _ in range(3):
        fail(user)
    response = post_login(Client(), credentials(user), REMOTE_ADDR="10.9.9.9")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert sets_no_token_cookie(response)
    assert not LoginSession.objects.exists()


@override_settings(JWT_COOKIE_AUTH=THROTTLED_USERNAME)
def test_username_throttle_ignores_case(user: Any) -> None:
    field = get_user_model().USERNAME_FIELD
    for _ in range(3):
        fail(user, **{field: user.get_username().upper()})
    assert post_login(Client(), credentials(user)).status_code == 429


@override_settings(JWT_COOKIE_AUTH=THROTTLED_USERNAME)
def test_username_throttle_does_not_touch_other_users(user: Any, other_user: Any) -> None:
    for _ in range(3):
        fail(user)
    response = post_login(Client(), credentials(other_user), REMOTE_ADDR="10.0.0.2")
    assert response.status_code == 200


@override_settings(JWT_COOKIE_AUTH=THROTTLED_USERNAME)
def test_username_throttle_expires_with_its_window(
    user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(3):
        fail(user)
    assert post_login(Client(), credentials(user)).status_code == 429
    later = LoginFailureThrottle.timer() + 61
    monkeypatch.setattr(LoginFailureThrottle, "timer", staticmethod(lambda: later))
    assert post_login(Client(), credentials(user)).status_code == 200


@override_settings(JWT_COOKIE_AUTH=THROTTLED_IP)
def test_ip_throttle_blocks_the_ip_across_usernames(db: None) -> None:
    victims = [make_user(f"user{i}") for i in range(4)]
    for victim in victims[:3]:
        fail(victim, ip="10.0.0.1")
    blocked = post_login(Client(), credentials(victims[3]), REMOTE_ADDR="10.0.0.1")
    assert blocked.status_code == 429
    assert int(blocked["Retry-After"]) > 0
    other_ip = post_login(Client(), credentials(victims[3]), REMOTE_ADDR="10.0.0.2")
    assert other_ip.status_code == 200


@override_settings(JWT_COOKIE_AUTH={"LOGIN_THROTTLE_RATES": {"ip": "3/min", "username": "3/min"}})
def test_successful_logins_are_never_throttled(client: Client, user: Any) -> None:
    for _ in range(12):
        assert post_login(client, credentials(user)).status_code == 200
    assert LoginSession.objects.filter(revoked_at__isnull=True).count() == 1


def test_session_lifetimes_in_body_match_settings(client: Client, user: Any, clock: Any) -> None:
    body = post_login(client, credentials(user)).json()
    # The instant the clock stands at (a naive clock.now() is local time, USE_TZ=False).
    now = jwt_clock.aware(clock.now()).astimezone(UTC)
    assert datetime.fromisoformat(body["access_expires_at"]) == now + timedelta(minutes=5)
    assert datetime.fromisoformat(body["refresh_expires_at"]) == now + timedelta(days=1)
    assert datetime.fromisoformat(body["session_expires_at"]) == now + timedelta(days=14)
