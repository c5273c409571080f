"""The public login API: jwt_cookie_auth.login() and jwt_cookie_auth.logout()."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
from django.contrib.auth import user_logged_in, user_logged_out
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.test import Client, RequestFactory
from django.urls import reverse
from rest_framework.request import Request

import jwt_cookie_auth
from jwt_cookie_auth import tokens
from jwt_cookie_auth.cookie_names import access_cookie_name, refresh_cookie_name
from jwt_cookie_auth.models import LoginSession, RevokeReason
from tests.conftest import capture, login, new_session


def browser_request(cookies: dict[str, str] | None = None, **extra: Any) -> HttpRequest:
    header = "; ".join(f"{name}={value}" for name, value in (cookies or {}).items())
    request = RequestFactory().post("/my/login/", HTTP_COOKIE=header, **extra)
    request.session = SessionStore()
    request.user = AnonymousUser()
    return request


def client_with(response: HttpResponse) -> Client:
    """A browser that received ``response``'s cookies."""
    client = Client()
    for name in (access_cookie_name(), refresh_cookie_name()):
        client.cookies[name] = response.cookies[name].value
    return client


def whoami(client: Client) -> Any:
    return client.get(reverse("whoami")).json()["user"]


def test_package_imports_and_exposes_the_api_before_settings_are_configured() -> None:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    code = (
        "import jwt_cookie_auth, inspect;"
        "print(list(inspect.signature(jwt_cookie_auth.login).parameters)[:3]);"
        "print(list(inspect.signature(jwt_cookie_auth.logout).parameters))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == [
        "['request', 'user', 'response']",
        "['request', 'response']",
    ]


@pytest.mark.django_db
def test_login_from_a_plain_view_sets_cookies_and_the_next_request_is_the_user(user: Any) -> None:
    request, response = browser_request(), HttpResponse()
    with capture(user_logged_in) as logged_in:
        issued = jwt_cookie_auth.login(request, user, response)
    assert request.user == user
    assert response.cookies[access_cookie_name()]["httponly"]
    assert response.cookies[refresh_cookie_name()].value == issued.refresh
    assert response["Cache-Control"] == "no-store"
    assert [(c["user"], c["request"]) for c in logged_in] == [(user, request)]
    browser = client_with(response)
    assert whoami(browser) == user.get_username()
    assert browser.get(reverse("me")).status_code == 200
    assert LoginSession.objects.get(pk=issued.session.pk).revoked_at is None


@pytest.mark.django_db
def test_login_from_a_drf_view_accepts_the_drf_request(user: Any) -> None:
    django_request, response = browser_request(), HttpResponse()
    request = Request(django_request)
    with capture(user_logged_in) as logged_in:
        jwt_cookie_auth.login(request, user, response)
    # Both see the new user; the signal carries Django's request, as login() does.
    assert request.user == user
    assert django_request.user == user
    assert logged_in[0]["request"] is django_request
    assert whoami(client_with(response)) == user.get_username()


@pytest.mark.django_db
def test_login_rotates_the_csrf_token(user: Any) -> None:
    request = browser_request()
    before = get_token(request)
    jwt_cookie_auth.login(request, user, HttpResponse())
    assert get_token(request) != before


@pytest.mark.django_db
def test_login_supersedes_the_session_of_planted_cookies(user: Any, other_user: Any) -> None:
    attacker = Client()
    login(attacker, other_user)
    planted = {name: attacker.cookies[name].value for name in attacker.cookies}
    request, response = browser_request(planted), HttpResponse()
    issued = jwt_cookie_auth.login(request, user, response)
    old = LoginSession.objects.get(user=other_user)
    assert old.revoke_reason == RevokeReason.SUPERSEDED
    assert issued.session.pk != old.pk
    browser = client_with(response)
    assert whoami(browser) == user.get_username()
    # The planted cookies are dead; the new ones are the user's own.
    assert attacker.get(reverse("me")).status_code == 401
    assert LoginSession.objects.get(pk=issued.session.pk).revoked_at is None


@pytest.mark.django_db
def test_a_second_login_on_one_request_supersedes_the_first(user: Any, other_user: Any) -> None:
    request, response = browser_request(), HttpResponse()
    first = jwt_cookie_auth.login(request, other_user, response)
    second = jwt_cookie_auth.login(request, user, response)
    first.session.refresh_from_db()
    assert first.session.revoke_reason == RevokeReason.SUPERSEDED
    assert whoami(client_with(response)) == user.get_username()
    assert second.session.user == user


@pytest.mark.django_db
def test_remember_false_gives_browser_session_cookies(user: Any) -> None:
    response = HttpResponse()
    issued = jwt_cookie_auth.login(browser_request(), user, response, remember=False)
    assert not issued.session.persistent
    assert response.cookies[refresh_cookie_name()]["max-age"] == ""


@pytest.mark.django_db
def test_amr_is_recorded_on_the_session_and_in_the_access_token(user: Any) -> None:
    issued = jwt_cookie_auth.login(browser_request(), user, HttpResponse(), amr=["pwd", "otp"])
    issued.session.refresh_from_db()
    assert issued.session.amr == ["pwd", "otp"]
    assert tokens.decode(issued.access, tokens.ACCESS).payload["amr"] == ["pwd", "otp"]


@pytest.mark.django_db
@pytest.mark.parametrize("amr", ["pwd", [""], [1]])
def test_malformed_amr_is_refused_before_anything_changes(user: Any, amr: Any) -> None:
    old = new_session(user)
    request = browser_request({access_cookie_name(): old})
    with pytest.raises(ValueError, match="amr"):
        jwt_cookie_auth.login(request, user, HttpResponse(), amr=amr)
    assert LoginSession.objects.get().revoked_at is None


@pytest.mark.django_db
def test_inactive_or_anonymous_user_is_a_value_error(user: Any) -> None:
    user.is_active = False
    user.save()
    for who in (user, AnonymousUser(), None):
        with pytest.raises(ValueError, match=r"jwt_cookie_auth\.login\(\)"):
            jwt_cookie_auth.login(browser_request(), who, HttpResponse())
    assert not LoginSession.objects.exists()


@pytest.mark.django_db
def test_login_flushes_another_users_django_session_only(user: Any, other_user: Any) -> None:
    admin = Client()
    admin.force_login(other_user)
    session_key = admin.cookies["sessionid"].value
    request = browser_request()
    request.session = SessionStore(session_key)
    jwt_cookie_auth.login(request, user, HttpResponse())
    assert not SessionStore(session_key).exists(session_key)

    own = Client()
    own.force_login(user)
    kept = own.cookies["sessionid"].value
    request = browser_request()
    request.session = SessionStore(kept)
    jwt_cookie_auth.login(request, user, HttpResponse())
    assert SessionStore(kept).exists(kept)


@pytest.mark.django_db
def test_logout_revokes_deletes_cookies_and_sends_user_logged_out(user: Any) -> None:
    browser = Client()
    login(browser, user)
    cookies = {name: browser.cookies[name].value for name in browser.cookies}
    request, response = browser_request(cookies), HttpResponse()
    request.user = user
    with capture(user_logged_out) as logged_out:
        assert jwt_cookie_auth.logout(request, response) is True
    assert [c["user"] for c in logged_out] == [user]
    assert isinstance(request.user, AnonymousUser)
    assert response.cookies[access_cookie_name()]["max-age"] == 0
    assert LoginSession.objects.get().revoke_reason == RevokeReason.LOGOUT
    assert browser.get(reverse("me")).status_code == 401
    # Idempotent: nothing live any more, no second signal.
    with capture(user_logged_out) as again:
        assert jwt_cookie_auth.logout(browser_request(cookies), HttpResponse()) is False
    assert again == []


@pytest.mark.django_db
def test_logout_ends_a_bearer_session_and_the_browsers_django_session(user: Any) -> None:
    access = new_session(user)
    admin = Client()
    admin.force_login(user)
    session_key = admin.cookies["sessionid"].value
    request = browser_request(HTTP_AUTHORIZATION=f"Bearer {access}")
    request.session = SessionStore(session_key)
    assert jwt_cookie_auth.logout(Request(request), HttpResponse()) is True
    assert LoginSession.objects.get().revoked_at is not None
    assert not SessionStore(session_key).exists(session_key)


@pytest.mark.django_db
def test_a_jwt_login_over_another_users_cookies_keeps_the_new_session(
    user: Any, other_user: Any
) -> None:
    """Django's user_logged_in receiver (django_sessions.py) ends *other* users' JWT
    sessions; the one login() just started, and its cookies, must survive it."""
    from tests.recipes import magic_link_token

    browser = Client()
    login(browser, other_user)
    response = browser.post(reverse("magic_link", args=[magic_link_token(user)]))
    assert response.status_code == 302
    assert response.cookies[access_cookie_name()].value  # set, not deleted
    assert whoami(browser) == user.get_username()
    live = LoginSession.objects.filter(revoked_at__isnull=True)
    assert [s.user for s in live] == [user]
