"""Django's own login() and logout() and the package agree (issue 10, SECURITY.md item 39).

Each story is told the way a browser lives it: a Django test ``Client`` holding a
``sessionid`` and/or the token cookies, the admin's own URLs, and what the *next*
request sees. Every test runs with the db, cache, signed_cookies and file session
engines: the cutoff must not depend on being able to find a session row.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import user_logged_out
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from jwt_cookie_auth import django_sessions, revocation
from jwt_cookie_auth.cookie_names import access_cookie_name, refresh_cookie_name
from jwt_cookie_auth.models import DjangoSessionCutoff, LoginSession, RevokeReason
from tests.conftest import (
    PASSWORD,
    access_cookie,
    api_status,
    capture,
    login,
    make_user,
    new_session,
)
from tests.test_admin import (  # noqa: F401 (fixtures)
    action_data,
    force_logout_permission,
    staff,
    user_changelist,
    view_user_permission,
)

ENGINES = ["db", "cache", "signed_cookies", "file"]


@pytest.fixture(autouse=True, params=ENGINES)
def session_engine(request: Any, settings: Any, tmp_path: Any) -> str:
    settings.SESSION_ENGINE = f"django.contrib.sessions.backends.{request.param}"
    settings.SESSION_FILE_PATH = str(tmp_path)
    return str(request.param)


@pytest.fixture
def staff_user(db: None) -> Any:
    return make_user("admin", is_staff=True, is_superuser=True)


def whoami(client: Client) -> str | None:
    user: str | None = client.get(reverse("whoami")).json()["user"]
    return user


def admin_status(client: Client) -> int:
    return client.get("/admin/").status_code


def cookie_deleted(response: Any, name: str) -> bool:
    return name in response.cookies and response.cookies[name].value == ""


def admin_login(client: Client, user: Any) -> Any:
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": user.get_username(), "password": PASSWORD, "next": "/admin/"},
    )


# --- 1. django.contrib.auth.logout() ends the JWT session; package logout ends Django's


def test_admin_logout_ends_the_jwt_session(staff_user: Any) -> None:
    """The admin's Log out, in a browser logged in with the token cookies, logs out."""
    client = Client()
    login(client, staff_user)
    access = access_cookie(client)
    assert admin_status(client) == 200

    response = client.post("/admin/logout/")

    assert response.status_code == 200  # "Logged out"
    assert cookie_deleted(response, access_cookie_name())
    assert cookie_deleted(response, refresh_cookie_name())
    assert admin_status(client) == 302
    assert api_status(access) == 401  # replaying the old cookie
    session = LoginSession.objects.get(user=staff_user)
    assert session.revoke_reason == RevokeReason.SESSION_LOGOUT


def test_admin_logout_with_both_logins_ends_both(staff_user: Any) -> None:
    client = Client()
    assert admin_login(client, staff_user).status_code == 302
    login(client, staff_user)

    client.post("/admin/logout/")

    assert admin_status(client) == 302
    assert whoami(client) is None
    assert LoginSession.objects.get(user=staff_user).revoked_at is not None


def test_django_logout_without_token_cookies_revokes_nothing(staff_user: Any) -> None:
    other = new_session(staff_user)
    client = Client()
    client.force_login(staff_user)

    response = client.post("/admin/logout/")

    assert access_cookie_name() not in response.cookies
    assert api_status(other) == 200  # another device's JWT session lives on


def test_package_logout_ends_the_django_session(user: Any) -> None:
    """Logging out through the package leaves no leftover sessionid login."""
    client = Client()
    client.force_login(user)
    login(client, user)
    assert whoami(client) == user.get_username()

    with capture(user_logged_out) as sent:
        assert client.post(reverse("jwt_cookie_auth:logout")).status_code == 204

    assert whoami(client) is None
    assert len(sent) == 1  # no second round through Django's logout signal
    assert LoginSession.objects.get(user=user).revoke_reason == RevokeReason.LOGOUT


def test_package_logout_all_ends_the_django_session_here_and_elsewhere(user: Any) -> None:
    here, elsewhere = Client(), Client()
    here.force_login(user)
    elsewhere.force_login(user)
    login(here, user)

    assert here.post(reverse("jwt_cookie_auth:logout_all")).status_code == 204

    assert whoami(here) is None
    assert whoami(elsewhere) is None


# --- 2. django.contrib.auth.login(): the most recent login wins -----------------------


def test_admin_login_in_a_browser_holding_a_plain_users_jwt(user: Any, staff_user: Any) -> None:
    client = Client()
    login(client, user)
    plain_access = access_cookie(client)
    assert admin_status(client) == 302  # the plain user may not enter

    response = admin_login(client, staff_user)

    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert cookie_deleted(response, access_cookie_name())
    assert cookie_deleted(response, refresh_cookie_name())
    assert admin_status(client) == 200
    assert whoami(client) == staff_user.get_username()
    assert api_status(plain_access) == 401
    session = LoginSession.objects.get(user=user)
    assert session.revoke_reason == RevokeReason.SESSION_LOGIN_OTHER_USER


def test_django_login_of_the_same_user_keeps_the_jwt_session(staff_user: Any) -> None:
    client = Client()
    login(client, staff_user)
    access = access_cookie(client)

    response = admin_login(client, staff_user)

    assert access_cookie_name() not in response.cookies
    assert api_status(access) == 200
    assert LoginSession.objects.get(user=staff_user).revoked_at is None


def test_django_login_does_not_start_a_jwt_session(staff_user: Any) -> None:
    client = Client()
    response = admin_login(client, staff_user)
    assert access_cookie_name() not in response.cookies
    assert not LoginSession.objects.exists()


def test_package_login_creates_no_django_session(user: Any, session_engine: str) -> None:
    client = Client()
    response = login(client, user)
    assert "sessionid" not in response.cookies
    assert not DjangoSessionCutoff.objects.exists()


@pytest.fixture
def starts_jwt(settings: Any) -> None:
    settings.JWT_COOKIE_AUTH = {**settings.JWT_COOKIE_AUTH, "DJANGO_LOGIN_STARTS_JWT_SESSION": True}


@pytest.mark.usefixtures("starts_jwt")
def test_django_login_can_start_a_jwt_session(staff_user: Any) -> None:
    client = Client()
    login(client, staff_user)
    old = access_cookie(client)

    response = admin_login(client, staff_user)

    assert response.status_code == 302
    assert response.cookies[access_cookie_name()].value
    assert response.cookies[refresh_cookie_name()].value
    assert client.get(reverse("me")).json()["user"] == staff_user.get_username()
    assert api_status(access_cookie(client)) == 200
    assert api_status(old) == 401  # a login always starts a new family
    assert LoginSession.objects.filter(user=staff_user, revoked_at__isnull=True).count() == 1


@pytest.mark.usefixtures("starts_jwt")
def test_package_login_starts_one_jwt_session_only(user: Any) -> None:
    client = Client()
    client.force_login(user)  # also a Django session: the package login must not double
    LoginSession.objects.all().delete()
    login(client, user)
    assert LoginSession.objects.filter(user=user).count() == 1


# --- 3. Ending every session of a user ends their Django sessions too -------------------


def test_force_logout_of_staff_ends_their_admin_session(
    user_changelist: str,  # noqa: F811
    view_user_permission: Any,  # noqa: F811
    staff_user: Any,
) -> None:
    member = Client()
    member.force_login(staff_user)
    assert admin_status(member) == 200
    operator = Client()
    operator.force_login(staff("operator", view_user_permission, force_logout_permission()))

    operator.post(user_changelist, action_data("force_logout", [staff_user.pk]))

    assert admin_status(member) == 302
    assert whoami(member) is None
    assert whoami(operator) is not None  # only the selected users


def test_force_logout_command_ends_django_sessions(staff_user: Any) -> None:
    member = Client()
    member.force_login(staff_user)
    call_command("jwt_force_logout", staff_user.get_username(), stdout=None)
    assert admin_status(member) == 302


def test_force_logout_ends_django_sessions_under_a_frozen_package_clock(staff_user: Any) -> None:
    """Stamps and cutoffs use real time: a frozen or advanced package clock (the
    public test helper) neither lets a session survive nor ends a later login."""
    from datetime import timedelta

    from jwt_cookie_auth.testing import frozen_clock

    with frozen_clock() as clock:
        member = Client()
        member.force_login(staff_user)
        call_command("jwt_force_logout", staff_user.get_username(), stdout=None)
        assert admin_status(member) == 302  # same frozen instant: still ended

        clock.advance(timedelta(minutes=6))
        call_command("jwt_force_logout", staff_user.get_username(), stdout=None)
    again = Client()
    again.force_login(staff_user)  # real time, before the frozen clock's "now"
    assert admin_status(again) == 200


def test_revoking_a_session_from_the_admin_ends_the_users_django_sessions(
    user: Any, staff_user: Any
) -> None:
    browser = Client()
    browser.force_login(user)
    login(browser, user)
    session = LoginSession.objects.get(user=user)
    operator = Client()
    operator.force_login(staff_user)

    operator.post(
        reverse("admin:jwt_cookie_auth_loginsession_changelist"),
        action_data("revoke_selected", [session.pk]),
    )

    assert whoami(browser) is None
    assert whoami(operator) == staff_user.get_username()


def test_a_new_login_after_the_cutoff_works(staff_user: Any) -> None:
    call_command("jwt_force_logout", staff_user.get_username(), stdout=None)
    client = Client()
    assert admin_login(client, staff_user).status_code == 302
    assert admin_status(client) == 200
    client.force_login(staff_user)
    assert admin_status(client) == 200


def test_a_session_without_a_stamp_counts_as_older(user: Any, session_engine: str) -> None:
    if session_engine == "signed_cookies":
        pytest.skip("the test edits the stored session")
    client = Client()
    client.force_login(user)
    session = client.session
    del session[django_sessions.LOGIN_STAMP_KEY]  # made before the package was installed
    session.save()
    assert whoami(client) == user.get_username()  # no cutoff: untouched

    django_sessions.end_django_sessions([user.pk])

    assert whoami(client) is None


def test_async_views_see_the_cutoff(user: Any) -> None:
    client = Client()
    client.force_login(user)
    django_sessions.end_django_sessions([user.pk])
    assert client.get(reverse("async_whoami")).json()["user"] is None


def test_password_change_and_deactivation_end_admin_sessions(staff_user: Any) -> None:
    """Django's own rules (session auth hash, ModelBackend) do it: verified, not duplicated."""
    member = Client()
    member.force_login(staff_user)
    staff_user.set_password("another-password-123")
    staff_user.save()
    assert admin_status(member) == 302

    member.force_login(staff_user)
    staff_user.is_active = False
    staff_user.save()
    assert admin_status(member) == 302
    assert not DjangoSessionCutoff.objects.exists()


# --- Cost and failure ------------------------------------------------------------------


@pytest.fixture
def cutoff_calls(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    calls: list[Any] = []
    real = django_sessions.cutoff

    def counting(user_id: Any) -> float | None:
        calls.append(user_id)
        return real(user_id)

    monkeypatch.setattr(django_sessions, "cutoff", counting)
    return calls


def test_only_session_authenticated_requests_pay_for_the_cutoff(
    user: Any, cutoff_calls: list[Any]
) -> None:
    anonymous, jwt, session = Client(), Client(), Client()
    login(jwt, user)
    session.force_login(user)
    whoami(anonymous)
    whoami(jwt)
    assert cutoff_calls == []

    whoami(session)
    with CaptureQueriesContext(connection) as queries:
        whoami(session)  # cached: no SQL for the cutoff
    assert len(cutoff_calls) == 2
    assert not [q for q in queries.captured_queries if "djangosessioncutoff" in q["sql"]]


def test_cutoff_is_enforced_when_the_cache_fails(
    user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = Client()
    client.force_login(user)
    django_sessions.end_django_sessions([user.pk])
    cache = revocation.get_cache()

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("cache down")

    monkeypatch.setattr(type(cache), "get", broken)
    monkeypatch.setattr(type(cache), "add", broken)
    assert django_sessions.cutoff(user.pk) is not None
    monkeypatch.undo()
    cache.delete(django_sessions._cutoff_key(user.pk))  # flushed: the database answers
    assert whoami(client) is None


# --- System checks -------------------------------------------------------------------


def check_ids(settings: Any, **options: Any) -> list[str]:
    from jwt_cookie_auth.checks import check_django_login

    settings.JWT_COOKIE_AUTH = {**settings.JWT_COOKIE_AUTH, **options}
    return [str(message.id) for message in check_django_login()]


def test_checks_for_django_login_starts_jwt_session(settings: Any) -> None:
    assert check_ids(settings) == []
    assert check_ids(settings, DJANGO_LOGIN_STARTS_JWT_SESSION="yes") == ["jwt_cookie_auth.E100"]
    assert check_ids(settings, DJANGO_LOGIN_STARTS_JWT_SESSION=True) == []
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "JWTCookieMiddleware" not in m]
    assert check_ids(settings, DJANGO_LOGIN_STARTS_JWT_SESSION=True) == ["jwt_cookie_auth.E101"]
