"""The demo tells a signed-out user why (issue 11), at the HTTP level.

``example_project.demo.signed_out.SignedOutNoticeMiddleware`` turns the refusal
``reason`` of a browser navigation whose token cookies were refused into a Django
message, which the page the user lands on shows: "an administrator signed you out"
apart from "it timed out". tests/e2e/test_demo_polish.py clicks the same story in
Chromium.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.test import Client, override_settings

from example_project.demo import signed_out
from jwt_cookie_auth import revocation
from jwt_cookie_auth.models import LoginSession, RevokeReason
from tests.conftest import login

_TEMPLATES = settings.TEMPLATES[0]
DEMO_SETTINGS = override_settings(
    INSTALLED_APPS=[*settings.INSTALLED_APPS, "django.contrib.staticfiles", "example_project.demo"],
    STATIC_URL="static/",
    LOGIN_URL="demo:login",
    MIDDLEWARE=[*settings.MIDDLEWARE, "example_project.demo.signed_out.SignedOutNoticeMiddleware"],
    TEMPLATES=[
        {
            **_TEMPLATES,
            "OPTIONS": {
                "context_processors": [
                    *_TEMPLATES["OPTIONS"]["context_processors"],
                    "example_project.demo.context_processors.jwt_auth",
                ]
            },
        }
    ],
)

pytestmark = pytest.mark.urls("example_project.urls")

NAVIGATION = {"HTTP_ACCEPT": "text/html,application/xhtml+xml,*/*;q=0.8"}


@pytest.fixture(autouse=True, scope="module")
def _demo_app() -> Iterator[None]:
    # Once per module: installing an app reloads the app registry.
    with DEMO_SETTINGS:
        yield


def notices(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]] if response.context else []


def land(client: Client, path: str, **headers: Any) -> Any:
    """Navigate like a browser: follow the redirect to the login page."""
    return client.get(path, follow=True, **{**NAVIGATION, **headers})


def test_force_logout_is_explained_on_the_login_page(logged_in: Client) -> None:
    revocation.revoke_session(LoginSession.objects.get().pk, RevokeReason.ADMIN)
    response = land(logged_in, "/private/")
    assert response.redirect_chain == [("/login/?next=/private/", 302)]
    assert notices(response) == [signed_out.MESSAGES["admin"]]
    assert "an administrator signed you out" in response.content.decode()
    # Told once: the next page is quiet.
    assert "signed you out" not in land(logged_in, "/login/").content.decode()


def test_a_timed_out_session_says_so(clock: Any, logged_in: Client) -> None:
    clock.advance(days=15)  # past the refresh token, the cookie still sent
    response = land(logged_in, "/sessions/")
    assert notices(response) == [signed_out.MESSAGES["expired"]]
    assert "it timed out" in response.content.decode()


def test_a_password_change_elsewhere_says_so(logged_in: Client, user: Any) -> None:
    revocation.revoke_session(LoginSession.objects.get().pk, RevokeReason.PASSWORD_CHANGE)
    response = land(logged_in, "/")
    assert response.status_code == 200
    assert notices(response) == [signed_out.MESSAGES["password_change"]]


def test_api_calls_and_healthy_sessions_get_no_notice(logged_in: Client, user: Any) -> None:
    assert notices(land(logged_in, "/private/")) == []
    revocation.revoke_session(LoginSession.objects.get().pk, RevokeReason.ADMIN)
    # fetch() sends Accept: */*: an API call adds nothing for a later page.
    assert logged_in.get("/api/me/", HTTP_ACCEPT="*/*").status_code in (401, 403)
    assert notices(land(logged_in, "/login/")) == []


def test_every_revoke_reason_has_a_sentence() -> None:
    missing = set(RevokeReason.values) - set(signed_out.MESSAGES)
    assert missing == set()


@pytest.fixture
def logged_in(client: Client, user: Any) -> Client:
    login(client, user)
    return client
