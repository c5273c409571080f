"""Step-up authentication, RFC 9470 (issue 10, item 8).

The session row and every access token say when (``auth_time``) and how (``amr``) the
user last authenticated; refreshes carry both unchanged. A view that demands a recent
authentication answers 401 with ``WWW-Authenticate: Bearer
error="insufficient_user_authentication", ..., max_age=N``; ``POST reauthenticate/``
with the password moves ``auth_time`` forward for the same session.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import Client, override_settings
from django.urls import reverse

from jwt_cookie_auth import step_up, tokens
from jwt_cookie_auth.checks import check_step_up
from jwt_cookie_auth.cookie_names import refresh_cookie_name
from jwt_cookie_auth.models import LoginSession
from tests.conftest import (
    PASSWORD,
    FakeClock,
    access_cookie,
    credentials,
    login,
    refresh_cookie,
)

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.step_up_urls")]

CHALLENGE = (
    'Bearer error="insufficient_user_authentication", '
    'error_description="More recent authentication is required", max_age=300'
)


def claims_of(client: Client) -> tokens.Claims:
    return tokens.decode(access_cookie(client), tokens.ACCESS)


def reauthenticate(client: Client, password: str = PASSWORD, **extra: Any) -> Any:
    return client.post(
        reverse("jwt_cookie_auth:reauthenticate"),
        {"password": password},
        content_type="application/json",
        **extra,
    )


def sensitive(client: Client) -> Any:
    return client.post(reverse("sensitive"))


def test_login_records_auth_time_and_pwd_in_the_session_and_the_token(
    client: Client, user: Any, clock: FakeClock
) -> None:
    login(client, user)
    claims = claims_of(client)
    assert claims.payload["auth_time"] == tokens.timestamp(clock.current)
    assert claims.payload["amr"] == ["pwd"]
    row = LoginSession.objects.get(pk=claims.sid)
    assert (row.auth_time, row.amr) == (clock.current, ["pwd"])


def test_refresh_keeps_auth_time_and_amr(client: Client, user: Any, clock: FakeClock) -> None:
    login(client, user)
    logged_in_at = tokens.timestamp(clock.current)
    clock.advance(minutes=3)
    assert client.post(reverse("jwt_cookie_auth:refresh")).status_code == 200
    clock.advance(minutes=6)  # the access cookie expired: the middleware renews it
    assert client.get(reverse("me")).status_code == 200
    claims = claims_of(client)
    assert claims.iat > logged_in_at + 500
    assert (claims.payload["auth_time"], claims.payload["amr"]) == (logged_in_at, ["pwd"])


def test_recent_login_passes_the_permission(client: Client, user: Any) -> None:
    login(client, user)
    assert sensitive(client).status_code == 200
    assert client.get(reverse("default_age")).status_code == 200


def test_old_authentication_gets_the_rfc_9470_challenge(
    client: Client, user: Any, clock: FakeClock
) -> None:
    login(client, user)
    clock.advance(minutes=5, seconds=1)
    response = sensitive(client)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == CHALLENGE
    assert response.json() == {
        "detail": "More recent authentication is required.",
        "code": "insufficient_user_authentication",
        "max_age": 300,
    }
    # The session itself is fine: no cookie is deleted, other views still work.
    assert not [c for c in response.cookies.values() if c.value == ""]
    assert client.get(reverse("me")).status_code == 200


def test_anonymous_request_gets_the_usual_401(client: Client, db: None) -> None:
    response = sensitive(client)
    assert response.status_code == 401
    assert "insufficient_user_authentication" not in response["WWW-Authenticate"]


def test_reauthenticate_renews_auth_time_for_the_same_session(
    client: Client, user: Any, clock: FakeClock
) -> None:
    session_id = login(client, user).json()["session_id"]
    clock.advance(minutes=10)
    assert sensitive(client).status_code == 401  # after a transparent refresh
    refresh = refresh_cookie(client)

    response = reauthenticate(client)

    assert response.status_code == 200, response.content
    assert response.json()["session_id"] == session_id
    assert "access" not in response.json()  # a browser gets cookies only
    assert refresh_cookie(client) == refresh  # same session, same refresh token
    claims = claims_of(client)
    assert claims.payload["auth_time"] == tokens.timestamp(clock.current)
    assert claims.payload["amr"] == ["pwd"]
    answer = sensitive(client)
    assert answer.status_code == 200
    assert answer.json()["session_id"] == session_id
    assert LoginSession.objects.filter(user=user).count() == 1
    # ... and a refresh afterwards keeps the new auth_time.
    clock.advance(minutes=1)
    assert client.post(reverse("jwt_cookie_auth:refresh")).status_code == 200
    assert claims_of(client).payload["auth_time"] == claims.payload["auth_time"]


def test_reauthenticate_with_a_wrong_password_changes_nothing(
    client: Client, user: Any, clock: FakeClock
) -> None:
    login(client, user)
    clock.advance(minutes=10)
    assert client.get(reverse("me")).status_code == 200  # renews the access cookie
    before = access_cookie(client)
    response = reauthenticate(client, "wrong password")
    assert response.status_code == 401
    assert not response.cookies  # the session stays as it was: not logged out
    assert access_cookie(client) == before
    assert sensitive(client).status_code == 401
    assert client.get(reverse("me")).status_code == 200


def test_reauthenticate_is_throttled_like_login(client: Client, user: Any) -> None:
    """Device bucket (5), then the username bucket (5): then 429, even for the password."""
    login(client, user)
    statuses = [reauthenticate(client, "wrong password").status_code for _ in range(11)]
    assert statuses == [401] * 10 + [429]
    blocked = reauthenticate(client)
    assert blocked.status_code == 429
    assert "Retry-After" in blocked


def test_reauthenticate_needs_csrf_and_a_session(csrf_client: Client, user: Any) -> None:
    assert reauthenticate(csrf_client).status_code == 401  # anonymous
    csrf_client.get(reverse("jwt_cookie_auth:session"))
    logged_in = csrf_client.post(
        reverse("jwt_cookie_auth:login"),
        credentials(user),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=csrf_client.cookies["csrftoken"].value,
    )
    assert logged_in.status_code == 200
    assert reauthenticate(csrf_client).status_code == 403  # no CSRF header
    token = csrf_client.cookies["csrftoken"].value
    assert reauthenticate(csrf_client, HTTP_X_CSRFTOKEN=token).status_code == 200


def test_reauthenticate_refuses_a_revoked_session(
    client: Client, user: Any, clock: FakeClock
) -> None:
    login(client, user)
    LoginSession.objects.update(revoked_at=clock.current, revoke_reason="admin")
    from jwt_cookie_auth.revocation import mark_revoked

    mark_revoked(LoginSession.objects.values_list("pk", flat=True))
    assert reauthenticate(client).status_code == 401
    assert LoginSession.objects.get().auth_time == clock.current  # unchanged


def test_plain_view_decorator(client: Client, user: Any, clock: FakeClock) -> None:
    assert client.get(reverse("sensitive_page")).status_code == 401  # anonymous
    login(client, user)
    assert client.get(reverse("sensitive_page")).status_code == 200
    assert client.get(reverse("async_sensitive_page")).status_code == 200
    clock.advance(minutes=6)
    for name in ("sensitive_page", "async_sensitive_page"):
        response = client.get(reverse(name))
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == CHALLENGE
        assert response.json()["code"] == "insufficient_user_authentication"
        assert "no-store" in response["Cache-Control"]
    assert reauthenticate(client).status_code == 200
    assert client.get(reverse("sensitive_page")).json() == {"user": user.get_username()}


def test_amr_requirement_and_a_projects_own_second_factor(client: Client, user: Any) -> None:
    login(client, user)
    response = client.get(reverse("otp_only"))
    assert response.status_code == 401
    assert (
        'error_description="A different authentication method is required"'
        in (response["WWW-Authenticate"])
    )
    assert response.json()["amr"] == ["otp"]
    session_id = claims_of(client).sid
    assert client.post(reverse("otp_step"), {"code": "123456"}).status_code == 200
    assert claims_of(client).payload["amr"] == ["otp", "mfa"]
    assert claims_of(client).sid == session_id
    assert client.get(reverse("otp_only")).status_code == 200


def test_session_without_auth_time_counts_from_its_login(
    client: Client, user: Any, clock: FakeClock
) -> None:
    """Rows from before the migration: created_at stands in, and no amr claim."""
    login(client, user)
    LoginSession.objects.update(auth_time=None, amr=[])
    clock.advance(minutes=6)
    assert client.post(reverse("jwt_cookie_auth:refresh")).status_code == 200
    claims = claims_of(client)
    row = LoginSession.objects.get()
    assert claims.payload["auth_time"] == tokens.timestamp(row.created_at)
    assert "amr" not in claims.payload
    assert sensitive(client).status_code == 401


def test_bearer_client_reauthenticates_and_gets_tokens_in_the_body(
    client: Client, user: Any
) -> None:
    with override_settings(JWT_COOKIE_AUTH={"TOKENS_IN_BODY": True}):
        access = login(client, user).json()["access"]
        response = Client().post(
            reverse("jwt_cookie_auth:reauthenticate"),
            {"password": PASSWORD},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {access}",
        )
    assert response.status_code == 200
    assert tokens.decode(response.json()["access"], tokens.ACCESS).payload["amr"] == ["pwd"]
    assert refresh_cookie_name() in response.cookies


def test_amr_values_are_validated() -> None:
    assert step_up.normalize_amr(["pwd", "otp", "pwd"]) == ["pwd", "otp"]
    for bad in ("pwd", [""], [1], ["x" * 65]):
        with pytest.raises(ValueError, match="amr"):
            step_up.normalize_amr(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "ids"),
    [
        ("5 minutes", ["jwt_cookie_auth.E115"]),
        (__import__("datetime").timedelta(0), ["jwt_cookie_auth.E115"]),
        (__import__("datetime").timedelta(days=30), ["jwt_cookie_auth.W115"]),
        (__import__("datetime").timedelta(minutes=15), []),
    ],
)
def test_step_up_max_age_check(value: Any, ids: list[str]) -> None:
    with override_settings(JWT_COOKIE_AUTH={"STEP_UP_MAX_AGE": value}):
        assert [message.id for message in check_step_up()] == ids


def test_check_runs_with_manage_py_check() -> None:
    with (
        override_settings(JWT_COOKIE_AUTH={"STEP_UP_MAX_AGE": "soon"}),
        pytest.raises(SystemCheckError, match="E115"),
    ):
        call_command("check", "--tag", "security")
