"""Set-Cookie as the browser sees it: attributes, lifetimes, deletion, caching headers.

SECURITY.md items 11, 12, 14 (duplicate names) and 16, and PRODUCT.md situation 1 (no
token in a response body unless TOKENS_IN_BODY opts in).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import jwt
import pytest
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse

from jwt_cookie_auth.checks import check_cookies
from jwt_cookie_auth.cookie_names import access_cookie_name, refresh_cookie_name
from jwt_cookie_auth.cookies import EXPIRED
from tests.conftest import access_cookie, credentials, login, refresh_cookie

EXPIRY_ATTRIBUTES = {"value", "max-age", "expires"}


def attributes(response: Any, name: str) -> dict[str, Any]:
    """Parse the Set-Cookie line for ``name``: lower-cased attribute names, flags as True."""
    first, *rest = (part.strip() for part in response.cookies[name].OutputString().split(";"))
    cookie_name, _, value = first.partition("=")
    assert cookie_name == name
    parsed: dict[str, Any] = {"value": value}
    for part in rest:
        key, has_value, attr_value = part.partition("=")
        parsed[key.lower()] = attr_value if has_value else True
    return parsed


def cookie_names() -> tuple[str, str]:
    return access_cookie_name(), refresh_cookie_name()


def exp_of(token: str) -> int:
    return int(jwt.decode(token, options={"verify_signature": False})["exp"])


def assert_max_age_matches_exp(response: Any, clock: Any) -> dict[str, int]:
    """Each cookie's Max-Age ends exactly at (never after) its token's exp."""
    now = int(clock.now().timestamp())
    ages = {}
    for name in cookie_names():
        attrs = attributes(response, name)
        max_age = int(attrs["max-age"])
        assert max_age > 0
        assert now + max_age == exp_of(attrs["value"]), name
        ages[name] = max_age
    return ages


def header_values(response: Any, header: str) -> list[str]:
    return [v.strip().lower() for v in response.headers.get(header, "").split(",")]


def assert_private(response: Any) -> None:
    assert "no-store" in header_values(response, "Cache-Control"), response.headers
    assert "cookie" in header_values(response, "Vary"), response.headers


def without_expiry(attrs: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in attrs.items() if k not in EXPIRY_ATTRIBUTES}


def assert_deletes_like_set(
    response: Any, set_attrs: dict[str, dict[str, Any]], label: str = ""
) -> None:
    """Deletion repeats path, domain, SameSite, Secure and HttpOnly, with Max-Age=0."""
    for name in cookie_names():
        deleted = attributes(response, name)
        assert deleted["value"] in ("", '""'), (label, name)
        assert deleted["max-age"] == "0", (label, name)
        assert deleted["expires"] == EXPIRED, (label, name)
        assert without_expiry(deleted) == without_expiry(set_attrs[name]), (label, name)


# --- Attributes on login and refresh -----------------------------------------------------


def test_login_cookies_have_secure_defaults(client: Client, user: Any, clock: Any) -> None:
    """Default: HttpOnly; Secure; SameSite=Lax; Path=/; no Domain; Max-Age to the token's exp."""
    response = login(client, user)
    for name in cookie_names():
        attrs = attributes(response, name)
        assert attrs["httponly"] is True
        assert attrs["secure"] is True
        assert attrs["samesite"] == "Lax"
        assert attrs["path"] == "/"
        assert "domain" not in attrs
        assert "expires" in attrs
    ages = assert_max_age_matches_exp(response, clock)
    assert ages == {access_cookie_name(): 5 * 60, refresh_cookie_name(): 24 * 60 * 60}


@pytest.mark.parametrize(
    ("samesite", "secure"),
    [("Lax", True), ("Strict", True), ("None", True), ("Lax", False), ("Strict", False)],
)
def test_secure_and_samesite_follow_settings(
    samesite: str, secure: bool, client: Client, user: Any
) -> None:
    """SameSite is exactly the configured value and Secure follows COOKIE_SECURE."""
    with override_settings(JWT_COOKIE_AUTH={"COOKIE_SAMESITE": samesite, "COOKIE_SECURE": secure}):
        for response in (login(client, user), client.post(reverse("jwt_cookie_auth:refresh"))):
            assert response.status_code == 200
            for name in cookie_names():
                attrs = attributes(response, name)
                assert attrs["samesite"] == samesite
                assert attrs.get("secure", False) is secure
                assert attrs["httponly"] is True


def test_path_and_domain_follow_settings(client: Client, user: Any) -> None:
    """ACCESS_COOKIE_PATH, REFRESH_COOKIE_PATH and COOKIE_DOMAIN appear on every Set-Cookie."""
    config = {
        "ACCESS_COOKIE_PATH": "/api/",
        "REFRESH_COOKIE_PATH": "/auth/",
        "AUTO_REFRESH": False,
        "COOKIE_DOMAIN": ".example.com",
    }
    with override_settings(JWT_COOKIE_AUTH=config):
        for response in (login(client, user), client.post(reverse("jwt_cookie_auth:refresh"))):
            assert response.status_code == 200
            access, refresh = (
                attributes(response, access_cookie_name()),
                attributes(response, refresh_cookie_name()),
            )
            assert access["path"] == "/api/"
            assert refresh["path"] == "/auth/"
            assert access["domain"] == refresh["domain"] == ".example.com"


def test_max_age_never_outlives_the_token(client: Client, user: Any, clock: Any) -> None:
    """Near the absolute session end, both cookies' Max-Age shrink with their tokens."""
    config = {
        "ACCESS_TOKEN_LIFETIME": timedelta(minutes=5),
        "REFRESH_TOKEN_LIFETIME": timedelta(hours=1),
        "SESSION_MAX_LIFETIME": timedelta(minutes=90),
    }
    with override_settings(JWT_COOKIE_AUTH=config):
        ages = assert_max_age_matches_exp(login(client, user), clock)
        assert ages == {access_cookie_name(): 300, refresh_cookie_name(): 3600}
        clock.advance(minutes=50)
        response = client.post(reverse("jwt_cookie_auth:refresh"))
        assert response.status_code == 200
        # The refresh token is capped by the session's absolute end (login + 90 min).
        assert assert_max_age_matches_exp(response, clock) == {
            access_cookie_name(): 300,
            refresh_cookie_name(): 40 * 60,
        }
        clock.advance(minutes=38)
        response = client.post(reverse("jwt_cookie_auth:refresh"))
        assert response.status_code == 200
        # The access token never outlives the refresh token, nor its cookie the token.
        assert assert_max_age_matches_exp(response, clock) == {
            access_cookie_name(): 120,
            refresh_cookie_name(): 120,
        }


def test_transparent_refresh_sets_the_same_cookie_attributes(
    client: Client, user: Any, clock: Any
) -> None:
    """Cookies renewed by the middleware carry the same attributes and a capped Max-Age."""
    with override_settings(JWT_COOKIE_AUTH={"COOKIE_SAMESITE": "Strict"}):
        login_attrs = {n: attributes(login(client, user), n) for n in cookie_names()}
        clock.advance(minutes=6)
        response = client.get(reverse("whoami"))
        assert response.json()["authenticated"] is True
        for name in cookie_names():
            assert without_expiry(attributes(response, name)) == without_expiry(login_attrs[name])
        assert_max_age_matches_exp(response, clock)
        assert_private(response)


def test_remember_false_gives_browser_session_cookies(client: Client, user: Any) -> None:
    """``remember: false``: no Max-Age and no Expires, on login and on every refresh."""
    response = login(client, user, remember=False)
    refreshed = client.post(reverse("jwt_cookie_auth:refresh"))
    assert refreshed.status_code == 200
    for resp in (response, refreshed):
        for name in cookie_names():
            attrs = attributes(resp, name)
            assert "max-age" not in attrs
            assert "expires" not in attrs
            assert attrs["httponly"] is True
            assert attrs["value"]
    # Deleting a browser-session cookie still expires it at once.
    logout = client.post(reverse("jwt_cookie_auth:logout"))
    assert_deletes_like_set(logout, {n: attributes(refreshed, n) for n in cookie_names()})


# --- Deletion mirrors setting --------------------------------------------------------------

DELETE_CONFIGS = {
    "default": {},
    "strict": {"COOKIE_SAMESITE": "Strict"},
    "samesite-none": {"COOKIE_SAMESITE": "None"},
    "insecure-local-dev": {"COOKIE_SECURE": False},
    "paths-and-domain": {
        "ACCESS_COOKIE_PATH": "/api/",
        "REFRESH_COOKIE_PATH": "/auth/",
        "AUTO_REFRESH": False,
        "COOKIE_DOMAIN": ".example.com",
    },
    "host-prefix": {
        "ACCESS_COOKIE_NAME": "__Host-access",
        "REFRESH_COOKIE_NAME": "__Host-refresh",
    },
}


def _deleting_responses(client: Client, user: Any) -> dict[str, Any]:
    access, refresh = cookie_names()
    responses = {}
    login(client, user)
    responses["logout"] = client.post(reverse("jwt_cookie_auth:logout"))
    assert responses["logout"].status_code == 204
    responses["logout-without-cookies"] = Client().post(reverse("jwt_cookie_auth:logout"))
    assert responses["logout-without-cookies"].status_code == 204
    login(client, user)
    responses["logout-all"] = client.post(reverse("jwt_cookie_auth:logout_all"))
    assert responses["logout-all"].status_code == 204
    responses["failed-refresh"] = Client().post(
        reverse("jwt_cookie_auth:refresh"), HTTP_COOKIE=f"{refresh}=garbage"
    )
    assert responses["failed-refresh"].status_code == 401
    responses["refresh-without-cookie"] = Client().post(reverse("jwt_cookie_auth:refresh"))
    assert responses["refresh-without-cookie"].status_code == 401
    responses["middleware-bad-cookie"] = Client().get(
        reverse("whoami"), HTTP_COOKIE=f"{access}=garbage"
    )
    assert responses["middleware-bad-cookie"].status_code == 200
    responses["drf-bad-cookie"] = Client().get(reverse("me"), HTTP_COOKIE=f"{access}=garbage")
    assert responses["drf-bad-cookie"].status_code == 401
    return responses


@pytest.mark.parametrize("config", list(DELETE_CONFIGS))
def test_every_deletion_repeats_the_attributes_used_to_set(
    config: str, client: Client, user: Any
) -> None:
    """Logout, logout-all, failed refresh and dead cookies delete with the set attributes."""
    with override_settings(JWT_COOKIE_AUTH=DELETE_CONFIGS[config]):
        response = login(Client(), user)
        set_attrs = {name: attributes(response, name) for name in cookie_names()}
        for label, deleting in _deleting_responses(client, user).items():
            assert_deletes_like_set(deleting, set_attrs, label)


# --- Caching headers -------------------------------------------------------------------------


def test_auth_responses_are_no_store_and_vary_on_cookie(client: Client, user: Any) -> None:
    """Login, refresh, logout and session answers (good or bad) are never cached."""
    url = reverse
    responses = [
        client.get(url("jwt_cookie_auth:session")),
        client.post(
            url("jwt_cookie_auth:login"),
            credentials(user, password="wrong"),
            content_type="application/json",
        ),
        client.post(url("jwt_cookie_auth:login"), "{", content_type="application/json"),
        login(client, user),
        client.get(url("jwt_cookie_auth:session")),
        client.post(url("jwt_cookie_auth:refresh")),
        client.get(url("jwt_cookie_auth:sessions")),
        client.post(url("jwt_cookie_auth:logout")),
        client.post(url("jwt_cookie_auth:refresh")),
    ]
    assert [r.status_code for r in responses] == [200, 401, 400, 200, 200, 200, 200, 204, 401]
    for response in responses:
        assert_private(response)


# --- Prefixed names ----------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["__Host-", "__Secure-"])
def test_prefixed_cookie_names_work_end_to_end(prefix: str, client: Client, user: Any) -> None:
    """``__Host-``/``__Secure-`` names: login, API, refresh, logout, all by those names."""
    config = {"ACCESS_COOKIE_NAME": f"{prefix}access", "REFRESH_COOKIE_NAME": f"{prefix}refresh"}
    with override_settings(JWT_COOKIE_AUTH=config):
        assert not [m for m in check_cookies() if m.id.endswith(("E013", "E014"))]
        response = login(client, user)
        for name in cookie_names():
            attrs = attributes(response, name)
            assert attrs["secure"] is True
            if prefix == "__Host-":
                assert attrs["path"] == "/"
                assert "domain" not in attrs
        assert "jwt_access" not in response.cookies
        assert client.get(reverse("me")).status_code == 200
        assert client.get(reverse("whoami")).json()["authenticated"] is True
        refreshed = client.post(reverse("jwt_cookie_auth:refresh"))
        assert refreshed.status_code == 200
        assert refreshed.cookies[f"{prefix}access"].value == access_cookie(client)
        assert client.get(reverse("me")).status_code == 200
        logout = client.post(reverse("jwt_cookie_auth:logout"))
        assert_deletes_like_set(logout, {n: attributes(response, n) for n in cookie_names()})
        assert client.get(reverse("me")).status_code == 401


# --- Duplicate cookie names ------------------------------------------------------------------


def test_duplicate_cookie_names_are_refused_in_any_order(client: Client, user: Any) -> None:
    """``a=x; a=<valid>`` is deterministic: a repeated token cookie name is cookie
    tossing (test_tossing.py), so either order is a 401 / anonymous, and nothing is
    set or deleted. Django's own parser would keep the last value."""
    login(client, user)
    valid, name, refresh = access_cookie(client), access_cookie_name(), refresh_cookie_name()
    request = RequestFactory().get("/", HTTP_COOKIE=f"{name}=x; {name}={valid}")
    assert request.COOKIES[name] == valid
    anonymous = Client()
    for header in (f"{name}=x; {name}={valid}", f"{name}={valid}; {name}=x"):
        response = anonymous.generic("GET", reverse("me"), HTTP_COOKIE=header)
        assert response.status_code == 401
        assert not response.cookies
        response = anonymous.get(reverse("whoami"), HTTP_COOKIE=f"{header}; {refresh}=x")
        assert response.status_code == 200
        assert response.json()["authenticated"] is False
        assert not response.cookies


def test_duplicate_refresh_cookie_names_are_refused_in_any_order(client: Client, user: Any) -> None:
    """A duplicated refresh cookie: 401 in either order, and no cookie written over."""
    login(client, user)
    valid, name = refresh_cookie(client), refresh_cookie_name()
    for header in (f"{name}={valid}; {name}=x", f"{name}=x; {name}={valid}"):
        refused = Client().post(reverse("jwt_cookie_auth:refresh"), HTTP_COOKIE=header)
        assert refused.status_code == 401
        assert not refused.cookies
    rotated = Client().post(reverse("jwt_cookie_auth:refresh"), HTTP_COOKIE=f"{name}={valid}")
    assert rotated.status_code == 200
    assert rotated.cookies[name].value not in ("", valid)


# --- Tokens stay out of response bodies ---------------------------------------------------


def test_login_and_refresh_bodies_contain_no_token(client: Client, user: Any) -> None:
    """By default a token is only ever in an HttpOnly cookie, never in the JSON."""
    responses = [login(client, user)]
    responses.append(client.post(reverse("jwt_cookie_auth:refresh")))
    responses.append(client.get(reverse("jwt_cookie_auth:session")))
    for response in responses:
        assert response.status_code == 200
        body = response.json()
        assert body["user"]["id"] == str(user.pk)
        for key in ("access", "refresh", "token", "access_token", "refresh_token"):
            assert key not in body
        for token in (access_cookie(client), refresh_cookie(client)):
            assert token.encode() not in response.content
            for segment in token.split("."):
                assert segment.encode() not in response.content


def test_tokens_in_body_opt_in_for_native_clients(client: Client, user: Any) -> None:
    """TOKENS_IN_BODY=True: both tokens in the JSON, and a Bearer refresh works."""
    with override_settings(JWT_COOKIE_AUTH={"TOKENS_IN_BODY": True}):
        body = login(client, user).json()
        assert body["access"] == access_cookie(client)
        assert body["refresh"] == refresh_cookie(client)
        # A native client keeps no cookie jar: a fresh Client for every call.
        response = Client().post(
            reverse("jwt_cookie_auth:refresh"), HTTP_AUTHORIZATION=f"Bearer {body['refresh']}"
        )
        assert response.status_code == 200
        renewed = response.json()
        assert renewed["refresh"] not in (body["refresh"], "")
        me = Client().get(reverse("me"), HTTP_AUTHORIZATION=f"Bearer {renewed['access']}")
        assert me.status_code == 200
        assert me.json()["user"] == user.get_username()
        # An access token is no refresh token, even as Bearer.
        response = Client().post(
            reverse("jwt_cookie_auth:refresh"), HTTP_AUTHORIZATION=f"Bearer {renewed['access']}"
        )
        assert response.status_code == 401
