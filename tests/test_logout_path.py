"""Logout and the refresh cookie's Path (issue 9 item 4).

With ``AUTO_REFRESH=False`` a project may narrow ``REFRESH_COOKIE_PATH`` to the auth
URLs. A browser sends a cookie only where its Path matches and drops it when its
Max-Age runs out, which Django's test client does not model, so ``Browser`` does:
after the access cookie expired, logout sees only what the refresh cookie's Path
lets through.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from http.cookies import SimpleCookie
from typing import Any

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from jwt_cookie_auth import tokens
from jwt_cookie_auth.cookie_paths import path_matches
from jwt_cookie_auth.models import LoginSession
from tests.conftest import FakeClock, credentials

LOGIN = "jwt_cookie_auth:login"
REFRESH = "jwt_cookie_auth:refresh"
LOGOUT = "jwt_cookie_auth:logout"
ACCESS_EXPIRED = {"minutes": 6}  # past the default 5-minute access lifetime


class Browser:
    """A cookie jar that honours Path and Max-Age, in front of a test client."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.client = Client()
        self.jar: dict[str, tuple[str, str, datetime | None]] = {}

    def sent_to(self, url: str) -> dict[str, str]:
        now = self.clock.now()
        return {
            name: value
            for name, (value, path, expires) in self.jar.items()
            if path_matches(url, path) and (expires is None or now < expires)
        }

    def post(self, name: str, **kwargs: Any) -> Any:
        url = reverse(name)
        self.client.cookies = SimpleCookie(self.sent_to(url))
        response = self.client.post(url, content_type="application/json", **kwargs)
        for cookie, morsel in response.cookies.items():
            max_age = morsel["max-age"]
            if not morsel.value or max_age == 0:
                self.jar.pop(cookie, None)
                continue
            expires = self.clock.now() + timedelta(seconds=int(max_age)) if max_age else None
            self.jar[cookie] = (morsel.value, morsel["path"] or "/", expires)
        return response

    def token_cookie(self, token_type: tokens.TokenType) -> tuple[str, str]:
        """A token cookie's name and value, whatever the names are configured to be."""
        (name,) = [name for name, (value, _, _) in self.jar.items() if is_a(token_type, value)]
        return name, self.jar[name][0]


def is_a(token_type: tokens.TokenType, value: str) -> bool:
    try:
        tokens.decode(value, token_type)
    except tokens.TokenError:
        return False
    return True


def session() -> LoginSession:
    return LoginSession.objects.get()


def replay_refresh(name: str, value: str) -> int:
    """A copy of the refresh token, used from elsewhere: its status."""
    thief = Client()
    thief.cookies[name] = value
    return int(thief.post(reverse(REFRESH)).status_code)


def log_in(browser: Browser, user: Any, **extra: Any) -> None:
    response = browser.post(LOGIN, data=credentials(user, **extra))
    assert response.status_code == 200, response.content


def log_in_and_let_access_expire(
    browser: Browser, clock: FakeClock, user: Any
) -> tuple[str, str, str, dict[str, str]]:
    """Log in, let the access cookie expire; return its name, the refresh cookie's
    name and token, and the cookies the browser now sends to logout."""
    log_in(browser, user)
    access, _ = browser.token_cookie(tokens.ACCESS)
    name, token = browser.token_cookie(tokens.REFRESH)
    clock.advance(**ACCESS_EXPIRED)
    return access, name, token, browser.sent_to(reverse(LOGOUT))


@override_settings(JWT_COOKIE_AUTH={"REFRESH_COOKIE_PATH": "/auth/", "AUTO_REFRESH": False})
def test_logout_after_the_access_cookie_expired_ends_the_session(
    clock: FakeClock, user: Any
) -> None:
    """A correctly narrowed path: logout sees the refresh cookie and revokes."""
    browser = Browser(clock)
    access, name, token, sent = log_in_and_let_access_expire(browser, clock, user)
    assert access not in sent  # expired: the browser dropped it
    assert name in sent

    response = browser.post(LOGOUT)

    assert response.status_code == 204
    assert session().revoked_at is not None
    assert access not in browser.jar
    assert name not in browser.jar
    assert replay_refresh(name, token) == 401


@override_settings(JWT_COOKIE_AUTH={"REFRESH_COOKIE_PATH": "/auth/refresh/", "AUTO_REFRESH": False})
def test_logout_that_cannot_see_the_session_does_not_claim_success(
    clock: FakeClock, user: Any
) -> None:
    """Check E052's configuration: no 204 while the session lives; refresh, then it works."""
    browser = Browser(clock)
    access, name, token, sent = log_in_and_let_access_expire(browser, clock, user)
    assert access not in sent
    assert name not in sent

    blind = browser.post(LOGOUT)

    assert blind.status_code == 401
    assert blind["WWW-Authenticate"].startswith("Bearer")
    # The browser keeps its refresh cookie, so it can still end the session.
    assert not set(blind.cookies) & {access, name}
    assert session().revoked_at is None
    assert browser.post(REFRESH).status_code == 200
    assert browser.post(LOGOUT).status_code == 204
    assert session().revoked_at is not None
    assert replay_refresh(name, token) == 401


@override_settings(JWT_COOKIE_AUTH={"REFRESH_COOKIE_PATH": "/auth/refresh/", "AUTO_REFRESH": False})
def test_an_expired_access_cookie_is_enough_to_log_out(clock: FakeClock, user: Any) -> None:
    """Browser-session cookies (remember: false) outlive the token: logout uses it."""
    browser = Browser(clock)
    log_in(browser, user, remember=False)
    clock.advance(**ACCESS_EXPIRED)
    assert browser.post(LOGOUT).status_code == 204
    assert session().revoked_at is not None


@pytest.mark.parametrize("path", ["/auth/", "/auth/refresh/"])
def test_logout_with_a_bearer_header_is_not_about_cookies(
    client: Client, user: Any, path: str
) -> None:
    """A native client's garbage Bearer token: nothing to see, a 204 whatever the path."""
    with override_settings(JWT_COOKIE_AUTH={"REFRESH_COOKIE_PATH": path, "AUTO_REFRESH": False}):
        response = client.post(reverse(LOGOUT), HTTP_AUTHORIZATION="Bearer garbage")
    assert response.status_code == 204


@pytest.mark.parametrize(
    ("request_path", "cookie_path", "sent"),
    [
        ("/auth/logout/", "/", True),
        ("/auth/logout/", "/auth/", True),
        ("/auth/logout/", "/auth", True),
        ("/auth", "/auth", True),
        ("/auth/logout/", "/auth/refresh/", False),
        ("/authors/", "/auth", False),
        ("/auth/", "/auth/refresh", False),
        ("/x/", "", True),
    ],
)
def test_path_matches_rfc_6265(request_path: str, cookie_path: str, sent: bool) -> None:
    assert path_matches(request_path, cookie_path) is sent
