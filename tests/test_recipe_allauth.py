"""README "Custom login flows", django-allauth: a social login ends in the token cookies.

Runs with ``--ds=tests.settings_allauth`` (its own pass in scripts/test.sh); skipped
under the other settings. No network: the provider's token and profile endpoints
answer from ``FakeProvider`` through allauth's ``get_requests_session`` hook.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model, user_logged_in
from django.test import Client, override_settings
from django.urls import reverse

from jwt_cookie_auth.cookie_names import access_cookie_name, refresh_cookie_name
from jwt_cookie_auth.models import LoginSession, RevokeReason
from tests.conftest import PASSWORD, capture, credentials, login, make_user

if "allauth" not in settings.INSTALLED_APPS:
    pytest.skip(
        "allauth recipe: runs in its own pass, --ds=tests.settings_allauth",
        allow_module_level=True,
    )

import requests
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialAccount

GITHUB_ID = 4242
EMAIL = "octocat@example.com"


def json_response(data: Any) -> requests.Response:
    response = requests.Response()
    response.status_code = 200
    response.headers["content-type"] = "application/json"
    response._content = json.dumps(data).encode()
    return response


class FakeProvider:
    """GitHub's token and API endpoints, as a ``requests.Session`` stand-in."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __enter__(self) -> FakeProvider:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        self.calls.append(url)
        if url == "https://github.com/login/oauth/access_token":
            assert kwargs["data"]["code"] == "the-code"
            return json_response({"access_token": "gho_token", "token_type": "bearer"})
        if url == "https://api.github.com/user":
            return json_response({"id": GITHUB_ID, "login": "octocat", "email": EMAIL})
        if url == "https://api.github.com/user/emails":
            return json_response([{"email": EMAIL, "primary": True, "verified": True}])
        raise AssertionError(f"unexpected request to {url}")

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", url, **kwargs)


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch) -> FakeProvider:
    fake = FakeProvider()
    monkeypatch.setattr(DefaultSocialAccountAdapter, "get_requests_session", lambda self: fake)
    return fake


def github_login(client: Client) -> Any:
    """Start at the site, come back from GitHub: return the callback's response."""
    start = client.post(reverse("github_login"))
    assert start.status_code == 302
    authorize = urlparse(start["Location"])
    assert authorize.netloc == "github.com"
    state = parse_qs(authorize.query)["state"][0]
    # The provider sends the browser back: a top-level GET to the callback.
    return client.get(reverse("github_callback"), {"code": "the-code", "state": state})


def whoami(client: Client) -> Any:
    return client.get(reverse("whoami")).json()["user"]


def jwt_only(client: Client) -> Client:
    """The same browser without its Django session: only the token cookies speak."""
    browser = Client()
    for name in (access_cookie_name(), refresh_cookie_name()):
        browser.cookies[name] = client.cookies[name].value
    return browser


@pytest.mark.django_db
def test_social_login_callback_redirect_carries_the_token_cookies(provider: FakeProvider) -> None:
    user = make_user("octocat")
    SocialAccount.objects.create(user=user, provider="github", uid=str(GITHUB_ID))
    client = Client()
    with capture(user_logged_in) as logged_in:
        response = github_login(client)
    assert response.status_code == 302
    assert response["Location"] == settings.LOGIN_REDIRECT_URL
    assert response.cookies[access_cookie_name()]["httponly"]
    assert response.cookies[refresh_cookie_name()].value
    assert "https://api.github.com/user" in provider.calls
    # One login, one user_logged_in (Django's login() in allauth's adapter sent it).
    assert [call["user"] for call in logged_in] == [user]
    browser = jwt_only(client)
    assert whoami(browser) == user.get_username()
    assert browser.get(reverse("me")).status_code == 200
    session = LoginSession.objects.get()
    assert session.user == user
    assert session.amr == []  # RFC 8176 has no value for a federated login


@pytest.mark.django_db
def test_social_signup_of_a_new_user_also_ends_in_the_cookies(provider: FakeProvider) -> None:
    client = Client()
    response = github_login(client)
    assert response.status_code == 302
    user = get_user_model()._default_manager.get(socialaccount__uid=str(GITHUB_ID))
    assert whoami(jwt_only(client)) == user.get_username()


@pytest.mark.django_db
def test_social_login_supersedes_another_users_jwt_session(provider: FakeProvider) -> None:
    user = make_user("octocat")
    SocialAccount.objects.create(user=user, provider="github", uid=str(GITHUB_ID))
    client = Client()
    login(client, make_user("mallory"))
    response = github_login(client)
    assert response.status_code == 302
    assert whoami(jwt_only(client)) == user.get_username()
    previous = LoginSession.objects.exclude(user=user).get()
    assert previous.revoked_at is not None
    assert previous.revoke_reason in {
        RevokeReason.SUPERSEDED,
        RevokeReason.SESSION_LOGOUT,
        RevokeReason.SESSION_LOGIN_OTHER_USER,
    }


@pytest.mark.django_db
def test_failed_social_login_sets_no_cookies(provider: FakeProvider) -> None:
    client = Client()
    client.post(reverse("github_login"))
    response = client.get(reverse("github_callback"), {"code": "the-code", "state": "forged"})
    assert access_cookie_name() not in response.cookies
    assert not LoginSession.objects.exists()


@pytest.mark.django_db
@override_settings(ACCOUNT_SESSION_REMEMBER=False)
def test_allauth_password_login_records_pwd_and_honours_remember() -> None:
    user = make_user("alice")
    client = Client()
    login_field = "login"
    response = client.post(
        reverse("account_login"),
        {login_field: credentials(user)[get_user_model().USERNAME_FIELD], "password": PASSWORD},
    )
    assert response.status_code == 302, response.content
    assert response.cookies[refresh_cookie_name()]["max-age"] == ""  # not remembered
    session = LoginSession.objects.get()
    assert session.amr == ["pwd"]
    assert not session.persistent
    assert whoami(jwt_only(client)) == user.get_username()
