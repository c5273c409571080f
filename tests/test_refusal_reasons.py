"""A refused refresh, and an API call with a dead session, say why (issue 11).

The 401 body carries ``code`` (``session_revoked``, ``session_expired``, ...) and
``reason``: the session's ``RevokeReason`` value (``admin``, ``logout``,
``reuse_detected``, ...) or ``expired`` / ``absolute_lifetime``, so a client can tell
"signed out by an administrator" from "timed out". Finding the reason costs nothing
on a request that succeeds.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from jwt_cookie_auth.conf import app_settings
from jwt_cookie_auth.cookie_names import access_cookie_name, refresh_cookie_name
from tests.conftest import FakeClock, access_cookie, login
from tests.test_admin import (  # noqa: F401  (user_changelist is a fixture)
    action_data,
    superuser_client,
    user_changelist,
)

REFRESH = "jwt_cookie_auth:refresh"


def refusal(response: Any) -> tuple[str, str]:
    assert response.status_code == 401, response.content
    data = response.json()
    assert isinstance(data["detail"], str)
    return data["code"], data["reason"]


def refresh(client: Client) -> Any:
    return client.post(reverse(REFRESH))


def twin(client: Client) -> Client:
    """Another tab of the same browser: a copy of its cookies."""
    other = Client()
    for name in (access_cookie_name(), refresh_cookie_name()):
        other.cookies[name] = client.cookies[name].value
    return other


def me(client: Client) -> Any:
    return client.get(reverse("me"))


def test_after_an_admins_force_logout_the_refresh_says_admin(
    logged_in: Client,
    user: Any,
    user_changelist: str,  # noqa: F811
) -> None:
    superuser_client().post(user_changelist, action_data("force_logout", [user.pk]))
    response = refresh(logged_in)
    assert refusal(response) == ("session_revoked", "admin")
    assert response.cookies[refresh_cookie_name()].value == ""  # deleted


def test_an_api_call_after_a_force_logout_says_admin(
    logged_in: Client,
    user: Any,
    user_changelist: str,  # noqa: F811
) -> None:
    """The 401 of the very call that meets the revocation (the cookies go with it)."""
    bearer = Client(HTTP_AUTHORIZATION=f"Bearer {access_cookie(logged_in)}")
    assert me(logged_in).status_code == 200  # a warm "live" marker in the cache
    superuser_client().post(user_changelist, action_data("force_logout", [user.pk]))
    assert refusal(me(logged_in)) == ("session_revoked", "admin")
    assert refusal(me(bearer)) == ("session_revoked", "admin")


def test_logged_out_elsewhere_says_logout(logged_in: Client) -> None:
    other_tab = twin(logged_in)
    assert logged_in.post(reverse("jwt_cookie_auth:logout")).status_code == 204
    assert refusal(refresh(other_tab)) == ("session_revoked", "logout")


def test_logout_everywhere_says_logout_all(logged_in: Client, user: Any) -> None:
    laptop = Client()
    login(laptop, user)
    assert laptop.post(reverse("jwt_cookie_auth:logout_all")).status_code == 204
    other_tab = twin(logged_in)
    assert refusal(refresh(logged_in)) == ("session_revoked", "logout_all")
    assert refusal(me(other_tab)) == ("session_revoked", "logout_all")


def test_a_replayed_refresh_token_says_reuse_detected(clock: FakeClock, logged_in: Client) -> None:
    thief = twin(logged_in)
    assert refresh(logged_in).status_code == 200
    clock.advance(seconds=app_settings.ROTATION_GRACE_PERIOD.total_seconds() + 1)
    assert refusal(refresh(thief)) == ("session_revoked", "reuse_detected")
    # The victim's newest token dies with the family, and says so too.
    assert refusal(refresh(logged_in)) == ("session_revoked", "reuse_detected")


def test_a_password_change_says_password_change(logged_in: Client, user: Any) -> None:
    user.set_password("another long passphrase")
    user.save()
    assert refusal(refresh(logged_in)) == ("session_revoked", "password_change")


def test_an_idle_timeout_says_expired(clock: FakeClock, logged_in: Client) -> None:
    clock.advance(seconds=app_settings.REFRESH_TOKEN_LIFETIME.total_seconds() + 60)
    assert refusal(refresh(logged_in)) == ("session_expired", "expired")


@override_settings(
    JWT_COOKIE_AUTH={"SESSION_MAX_LIFETIME": timedelta(hours=2), "AUTO_REFRESH": True}
)
def test_the_absolute_lifetime_says_absolute_lifetime(
    clock: FakeClock, client: Client, user: Any
) -> None:
    login(client, user)
    clock.advance(hours=3)
    assert refusal(refresh(twin(client))) == ("session_expired", "absolute_lifetime")
    # The middleware's transparent renewal meets the same end, and the API says so.
    assert refusal(me(client)) == ("session_expired", "absolute_lifetime")


def test_an_expired_session_revoked_later_still_says_expired(
    clock: FakeClock, logged_in: Client, user: Any
) -> None:
    """The reason is what ended the session first."""
    from jwt_cookie_auth.models import RevokeReason
    from jwt_cookie_auth.revocation import revoke_user_sessions

    clock.advance(seconds=app_settings.REFRESH_TOKEN_LIFETIME.total_seconds() + 60)
    revoke_user_sessions([user.pk], RevokeReason.ADMIN)
    assert refusal(refresh(logged_in)) == ("session_expired", "expired")


@override_settings(JWT_COOKIE_AUTH={"AUTO_REFRESH": False})
def test_an_expired_access_token_is_token_expired_not_the_end(
    clock: FakeClock, logged_in: Client
) -> None:
    """Only the access token: refresh, then retry (AUTO_REFRESH is read per request)."""
    clock.advance(seconds=app_settings.ACCESS_TOKEN_LIFETIME.total_seconds() + 60)
    assert refusal(me(logged_in)) == ("token_expired", "access_expired")
    assert refresh(logged_in).status_code == 200
    assert me(logged_in).status_code == 200


def test_a_forged_refresh_cookie_is_invalid_token(db: None) -> None:
    client = Client()
    client.cookies[refresh_cookie_name()] = "not.a.token"
    assert refusal(refresh(client)) == ("authentication_failed", "invalid_token")


def test_a_live_session_costs_no_extra_query(logged_in: Client) -> None:
    """The reason is looked up only for a refused token; a live one costs what it did."""
    me(logged_in)  # a warm "live" marker
    with CaptureQueriesContext(connection) as live:
        assert me(logged_in).status_code == 200
    assert len(live) == 1  # the user row; revocation comes from the cache
