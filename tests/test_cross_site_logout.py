"""A cross-site form cannot log a browser out through ``logout`` or ``refresh``.

Found by the browser tests (tests/e2e/test_cross_origin.py): a cross-site form POST
arrives without the SameSite=Lax token cookies, yet Chromium applies the cookie
deletion in the answer. So both endpoints CSRF-check every request that has no
Bearer header, cookies or not; these are the fast, browser-free versions.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from jwt_cookie_auth.cookie_names import access_cookie_name, refresh_cookie_name
from tests.conftest import access_cookie, csrf_login

ATTACKER = "http://evil.example"


def deletes_token_cookies(response: Any) -> bool:
    return bool({access_cookie_name(), refresh_cookie_name()} & set(response.cookies))


@pytest.mark.parametrize("name", ["jwt_cookie_auth:logout", "jwt_cookie_auth:refresh"])
def test_cookieless_form_post_from_another_site_is_403_and_deletes_no_cookie(
    csrf_client: Client, name: str
) -> None:
    """What the browser sends for a cross-site form: no cookies, a foreign Origin."""
    response = csrf_client.post(reverse(name), {"x": "1"}, HTTP_ORIGIN=ATTACKER)
    assert response.status_code == 403
    assert not deletes_token_cookies(response)


@pytest.mark.parametrize(
    ("name", "expected"), [("jwt_cookie_auth:logout", 204), ("jwt_cookie_auth:refresh", 401)]
)
def test_cookieless_post_with_the_csrf_token_still_answers_and_deletes_cookies(
    csrf_client: Client, db: None, name: str, expected: int
) -> None:
    """The shipped client (CSRF header, no cookies left) gets the usual answer."""
    token = csrf_client.get(reverse("jwt_cookie_auth:session")).json()["csrf_token"]
    response = csrf_client.post(reverse(name), HTTP_X_CSRFTOKEN=token)
    assert response.status_code == expected
    assert deletes_token_cookies(response)


def test_bearer_logout_without_cookies_needs_no_csrf(user: Any) -> None:
    browser = Client(enforce_csrf_checks=True)
    csrf_login(browser, user)
    native = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {access_cookie(browser)}")
    assert native.post(reverse("jwt_cookie_auth:logout")).status_code == 204
    assert browser.get(reverse("jwt_cookie_auth:session")).json()["user"] is None
