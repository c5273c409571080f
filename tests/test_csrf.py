"""CSRF for cookie credentials (SECURITY.md items 17-20), with a browser-like client."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from rest_framework import exceptions

from jwt_cookie_auth.cookie_names import access_cookie_name, refresh_cookie_name
from jwt_cookie_auth.models import LoginSession
from tests.conftest import PASSWORD, access_cookie, credentials, csrf_login, refresh_cookie

JSON = "application/json"
ME = "me"
REFRESH = "jwt_cookie_auth:refresh"
LOGOUT = "jwt_cookie_auth:logout"
LOGOUT_ALL = "jwt_cookie_auth:logout_all"
# Unsafe endpoints that act on the cookie session.
UNSAFE = [ME, REFRESH, LOGOUT, LOGOUT_ALL]


def snapshot(client: Client) -> tuple[Any, ...]:
    """What a state-changing request would alter: the session row and the cookies."""
    session = LoginSession.objects.get()
    return (
        session.revoked_at,
        session.refresh_jti,
        session.last_used_at,
        access_cookie(client),
        refresh_cookie(client),
    )


def touches_no_token_cookie(response: Any) -> bool:
    names = (access_cookie_name(), refresh_cookie_name())
    return not any(name in response.cookies for name in names)


@pytest.fixture
def browser(csrf_client: Client, user: Any) -> tuple[Client, str]:
    """A CSRF-enforcing client logged in with cookies, and its CSRF token."""
    return csrf_client, csrf_login(csrf_client, user)


# --- item 17: cookie-authenticated unsafe methods ---------------------------------------


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_cookie_authenticated_unsafe_method_without_csrf_is_403(
    browser: tuple[Client, str], method: str
) -> None:
    client, _ = browser
    response = getattr(client, method)(reverse(ME), content_type=JSON)
    assert response.status_code == 403


def test_cookie_authenticated_post_with_csrf_header_is_200(browser: tuple[Client, str]) -> None:
    client, token = browser
    response = client.post(reverse(ME), content_type=JSON, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200
    assert response.json()["changed"] is True


def test_cookie_authenticated_form_post_with_csrf_field_is_200(
    browser: tuple[Client, str],
) -> None:
    client, token = browser
    assert client.post(reverse(ME), {"csrfmiddlewaretoken": token}).status_code == 200


def test_wrong_csrf_token_is_403(browser: tuple[Client, str]) -> None:
    client, _ = browser
    response = client.post(reverse(ME), content_type=JSON, HTTP_X_CSRFTOKEN="x" * 64)
    assert response.status_code == 403


@pytest.mark.parametrize("name", [REFRESH, LOGOUT, LOGOUT_ALL])
def test_auth_endpoints_with_cookies_but_without_csrf_are_403_and_change_nothing(
    browser: tuple[Client, str], name: str
) -> None:
    client, _ = browser
    before = snapshot(client)
    response = client.post(reverse(name), content_type=JSON)
    assert response.status_code == 403
    assert touches_no_token_cookie(response)
    assert snapshot(client) == before
    assert client.get(reverse(ME)).status_code == 200


def test_session_delete_without_csrf_is_403_and_session_stays(
    browser: tuple[Client, str],
) -> None:
    client, _ = browser
    sid = LoginSession.objects.get().pk
    response = client.delete(reverse("jwt_cookie_auth:session_detail", args=[sid]))
    assert response.status_code == 403
    assert LoginSession.objects.get().revoked_at is None
    assert client.get(reverse(ME)).status_code == 200


@pytest.mark.parametrize(("name", "expected"), [(REFRESH, 200), (LOGOUT, 204), (LOGOUT_ALL, 204)])
def test_auth_endpoints_with_cookies_and_csrf_work(
    browser: tuple[Client, str], name: str, expected: int
) -> None:
    client, token = browser
    response = client.post(reverse(name), content_type=JSON, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == expected


def test_bearer_authenticated_post_needs_no_csrf(user: Any) -> None:
    browser = Client(enforce_csrf_checks=True)
    csrf_login(browser, user)
    api = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {access_cookie(browser)}")
    response = api.post(reverse(ME), content_type=JSON)
    assert response.status_code == 200
    assert response.json()["user"] == user.get_username()


def test_bearer_logout_needs_no_csrf(user: Any) -> None:
    browser = Client(enforce_csrf_checks=True)
    csrf_login(browser, user)
    api = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {access_cookie(browser)}")
    assert api.post(reverse(LOGOUT), content_type=JSON).status_code == 204
    assert LoginSession.objects.get().revoked_at is not None


# --- item 20: a bogus Authorization header never skips CSRF -----------------------------


@pytest.mark.parametrize("method", ["get", "post"])
def test_valid_cookie_with_bogus_bearer_is_401(browser: tuple[Client, str], method: str) -> None:
    client, _ = browser
    response = getattr(client, method)(
        reverse(ME), content_type=JSON, HTTP_AUTHORIZATION="Bearer junk"
    )
    assert response.status_code == 401
    assert response.has_header("WWW-Authenticate")


@pytest.mark.parametrize(
    "header",
    [
        "Basic " + base64.b64encode(f"alice:{PASSWORD}".encode()).decode(),
        "Token abc",
        "Bearer",
        "junk",
    ],
)
def test_valid_cookie_with_other_authorization_is_still_csrf_checked(
    browser: tuple[Client, str], header: str
) -> None:
    client, token = browser
    without = client.post(reverse(ME), content_type=JSON, HTTP_AUTHORIZATION=header)
    assert without.status_code in (401, 403)
    if not header.startswith("Bearer"):
        assert without.status_code == 403
        with_token = client.post(
            reverse(ME), content_type=JSON, HTTP_AUTHORIZATION=header, HTTP_X_CSRFTOKEN=token
        )
        assert with_token.status_code == 200


# --- items 18-19: Origin and Referer over HTTPS -----------------------------------------


@pytest.mark.parametrize("name", UNSAFE)
@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"HTTP_ORIGIN": "https://evil.example"}, id="foreign-origin"),
        pytest.param({"HTTP_ORIGIN": "null"}, id="null-origin"),
        pytest.param({"HTTP_ORIGIN": "http://testserver"}, id="insecure-origin"),
        pytest.param({"HTTP_ORIGIN": "https://testserver.evil.example"}, id="suffix-origin"),
        pytest.param({"HTTP_REFERER": "https://evil.example/page"}, id="foreign-referer"),
        pytest.param({"HTTP_REFERER": "http://testserver/page"}, id="insecure-referer"),
        pytest.param({}, id="no-referer"),
    ],
)
def test_cross_site_request_over_https_is_403_even_with_token(
    browser: tuple[Client, str], name: str, headers: dict[str, str]
) -> None:
    client, token = browser
    before = snapshot(client)
    response = client.post(
        reverse(name), content_type=JSON, secure=True, HTTP_X_CSRFTOKEN=token, **headers
    )
    assert response.status_code == 403
    assert touches_no_token_cookie(response)
    assert snapshot(client) == before


@pytest.mark.parametrize("name", UNSAFE)
@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"HTTP_ORIGIN": "https://testserver"}, id="same-origin"),
        pytest.param({"HTTP_REFERER": "https://testserver/page"}, id="same-site-referer"),
    ],
)
def test_same_origin_request_over_https_passes(
    browser: tuple[Client, str], name: str, headers: dict[str, str]
) -> None:
    client, token = browser
    response = client.post(
        reverse(name), content_type=JSON, secure=True, HTTP_X_CSRFTOKEN=token, **headers
    )
    assert response.status_code in (200, 204)


@override_settings(CSRF_TRUSTED_ORIGINS=["https://app.example"])
def test_trusted_origin_passes(browser: tuple[Client, str]) -> None:
    client, token = browser
    response = client.post(
        reverse(ME),
        content_type=JSON,
        secure=True,
        HTTP_X_CSRFTOKEN=token,
        HTTP_ORIGIN="https://app.example",
    )
    assert response.status_code == 200


def test_cross_site_login_does_not_log_in(csrf_client: Client, user: Any) -> None:
    token = csrf_client.get(reverse("jwt_cookie_auth:session")).json()["csrf_token"]
    response = csrf_client.post(
        reverse("jwt_cookie_auth:login"),
        credentials(user),
        content_type=JSON,
        secure=True,
        HTTP_X_CSRFTOKEN=token,
        HTTP_ORIGIN="https://evil.example",
    )
    assert response.status_code == 403
    assert touches_no_token_cookie(response)
    assert not LoginSession.objects.exists()


# --- item 20: no state change on GET ----------------------------------------------------


@pytest.mark.parametrize("name", [REFRESH, LOGOUT, LOGOUT_ALL, "jwt_cookie_auth:login"])
def test_get_on_unsafe_endpoints_changes_nothing(browser: tuple[Client, str], name: str) -> None:
    client, _ = browser
    before = snapshot(client)
    response = client.get(reverse(name))
    assert response.status_code == 405
    assert touches_no_token_cookie(response)
    assert snapshot(client) == before
    assert LoginSession.objects.count() == 1


@pytest.mark.parametrize(
    "name", [ME, "open", "private", "whoami", "jwt_cookie_auth:session", "jwt_cookie_auth:sessions"]
)
def test_get_with_live_access_token_changes_nothing(browser: tuple[Client, str], name: str) -> None:
    client, _ = browser
    before = snapshot(client)
    response = client.get(reverse(name))
    assert response.status_code == 200
    assert touches_no_token_cookie(response)
    assert snapshot(client) == before


def test_get_session_detail_changes_nothing(browser: tuple[Client, str]) -> None:
    client, _ = browser
    sid = LoginSession.objects.get().pk
    response = client.get(reverse("jwt_cookie_auth:session_detail", args=[sid]))
    assert response.status_code == 405
    assert LoginSession.objects.get().revoked_at is None


def test_get_transparent_refresh_is_the_only_state_change(
    clock: Any, browser: tuple[Client, str]
) -> None:
    client, _ = browser
    old_refresh = refresh_cookie(client)
    clock.advance(minutes=6)
    response = client.get(reverse(ME))
    assert response.status_code == 200
    assert refresh_cookie(client) != old_refresh
    session = LoginSession.objects.get()
    assert session.revoked_at is None
    assert session.rotated_at is not None


def test_logout_accepts_a_plain_html_form_with_the_csrf_field(user: Any) -> None:
    """A server-rendered logout button (form field csrfmiddlewaretoken) works, no 415."""
    browser = Client(enforce_csrf_checks=True)
    token = csrf_login(browser, user)
    response = browser.post(reverse("jwt_cookie_auth:logout"), {"csrfmiddlewaretoken": token})
    assert response.status_code == 204
    assert LoginSession.objects.get().revoked_at is not None


def test_refresh_with_a_form_body_and_no_token_is_403_not_415(logged_in: Client) -> None:
    logged_in.handler.enforce_csrf_checks = True
    response = logged_in.post(reverse("jwt_cookie_auth:refresh"))
    assert response.status_code == 403


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS", "TRACE"])
def test_enforce_csrf_skips_safe_methods_as_django_accepts_them(
    method: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Django's check accepts every safe method untested; ours does not run it for them
    (a cost on every cookie-authenticated GET), and still runs it for the rest."""
    from django.test import RequestFactory

    from jwt_cookie_auth import csrf

    def must_not_run(request: Any) -> str:
        raise AssertionError("the CSRF check ran for a safe method")

    monkeypatch.setattr(csrf, "csrf_failure", must_not_run)
    csrf.enforce_csrf(RequestFactory().generic(method, "/"))
    monkeypatch.setattr(csrf, "csrf_failure", lambda request: "no token")
    with pytest.raises(exceptions.PermissionDenied):
        csrf.enforce_csrf(RequestFactory().post("/"))
