"""Cookie tossing (SECURITY.md item 33, issue 9 item 9).

A sibling subdomain can set ``Domain=<parent>`` cookies with our names. Two defences:
the browser-enforced ``__Host-``/``__Secure-`` name prefixes by default, and a token
cookie name that comes twice in the ``Cookie`` header is an attack: the request is
anonymous for the token cookies, nothing is renewed or rotated, and no cookie is
written over the victim's.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse

from jwt_cookie_auth.checks import check_cookie_prefixes, check_cookies
from jwt_cookie_auth.cookie_names import access_cookie_name, refresh_cookie_name, wire_name
from jwt_cookie_auth.cookies import duplicated_token_cookies
from jwt_cookie_auth.models import LoginSession
from tests.conftest import access_cookie, login, refresh_cookie


def set_cookie_names(response: Any) -> set[str]:
    return set(response.cookies)


def cookie_header(*pairs: tuple[str, str]) -> str:
    return "; ".join(f"{name}={value}" for name, value in pairs)


# --- Effective (wire) names --------------------------------------------------------------


def test_default_cookies_are_host_prefixed(client: Client, user: Any) -> None:
    """Secure, no Domain, Path=/: both cookies are ``__Host-`` (unsettable by subdomains)."""
    response = login(client, user)
    assert set_cookie_names(response) >= {"__Host-jwt_access", "__Host-jwt_refresh"}
    assert not set_cookie_names(response) & {"jwt_access", "jwt_refresh"}
    for name in ("__Host-jwt_access", "__Host-jwt_refresh"):
        morsel = response.cookies[name]
        assert morsel["path"] == "/"
        assert morsel["secure"] is True
        assert morsel["domain"] == ""
        assert morsel["httponly"] is True
    assert client.get(reverse("me")).status_code == 200
    assert client.get(reverse("whoami")).json()["authenticated"] is True


@override_settings(JWT_COOKIE_AUTH={"REFRESH_COOKIE_PATH": "/auth/refresh/", "AUTO_REFRESH": False})
def test_refresh_cookie_on_a_narrow_path_is_secure_prefixed(client: Client, user: Any) -> None:
    """``__Host-`` needs Path=/, so a refresh cookie on /auth/refresh/ gets ``__Secure-``."""
    response = login(client, user)
    assert response.cookies["__Host-jwt_access"]["path"] == "/"
    assert response.cookies["__Secure-jwt_refresh"]["path"] == "/auth/refresh/"
    assert response.cookies["__Secure-jwt_refresh"]["secure"] is True
    refreshed = client.post(reverse("jwt_cookie_auth:refresh"))
    assert refreshed.status_code == 200
    assert set_cookie_names(refreshed) >= {"__Host-jwt_access", "__Secure-jwt_refresh"}


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({}, ("__Host-jwt_access", "__Host-jwt_refresh")),
        ({"COOKIE_DOMAIN": ".example.com"}, ("__Secure-jwt_access", "__Secure-jwt_refresh")),
        ({"ACCESS_COOKIE_PATH": "/api/"}, ("__Secure-jwt_access", "__Host-jwt_refresh")),
        ({"COOKIE_SECURE": False}, ("jwt_access", "jwt_refresh")),
        ({"COOKIE_NAME_PREFIX": ""}, ("jwt_access", "jwt_refresh")),
        (
            {"ACCESS_COOKIE_NAME": "__Host-a", "REFRESH_COOKIE_NAME": "__Secure-r"},
            ("__Host-a", "__Secure-r"),
        ),
        ({"ACCESS_COOKIE_NAME": "a", "REFRESH_COOKIE_NAME": "r"}, ("__Host-a", "__Host-r")),
    ],
)
def test_effective_names(config: dict[str, Any], expected: tuple[str, str]) -> None:
    with override_settings(JWT_COOKIE_AUTH=config):
        assert (access_cookie_name(), refresh_cookie_name()) == expected


def test_names_already_prefixed_are_kept_whatever_their_case() -> None:
    assert wire_name("__host-x", "/") == "__host-x"
    assert wire_name("__SECURE-x", "/") == "__SECURE-x"


# --- Duplicate token cookie names ---------------------------------------------------------


@pytest.fixture
def victim_and_attacker(user: Any, other_user: Any) -> tuple[Client, Client]:
    victim, attacker = Client(), Client()
    login(victim, user)
    login(attacker, other_user)
    return victim, attacker


def test_planted_access_cookie_never_makes_the_victim_the_attacker(
    victim_and_attacker: tuple[Client, Client], caplog: pytest.LogCaptureFixture
) -> None:
    """Chromium sends the host-only cookie first and the planted one after; Django keeps
    the last. The request must be anonymous (DRF 401), never the attacker's."""
    victim, attacker = victim_and_attacker
    name = access_cookie_name()
    header = cookie_header((name, access_cookie(victim)), (name, access_cookie(attacker)))
    with caplog.at_level(logging.WARNING, logger="jwt_cookie_auth"):
        api = Client().get(reverse("me"), HTTP_COOKIE=header)
    assert api.status_code == 401
    assert not set_cookie_names(api)
    assert any("more than once" in r.getMessage() for r in caplog.records)
    page = Client().get(reverse("whoami"), HTTP_COOKIE=header)
    assert page.json() == {"authenticated": False, "user": None}
    assert not set_cookie_names(page)


def test_planted_refresh_cookie_is_not_renewed_over_the_victims(
    victim_and_attacker: tuple[Client, Client],
) -> None:
    """Expired (absent) access cookie, two refresh cookies: no transparent renewal, no
    Set-Cookie (it would write over the victim's host-only cookies), no rotation."""
    victim, attacker = victim_and_attacker
    name = refresh_cookie_name()
    header = cookie_header((name, refresh_cookie(victim)), (name, refresh_cookie(attacker)))
    rows_before = list(LoginSession.objects.values_list("pk", "expires_at").order_by("pk"))
    for url in (reverse("whoami"), reverse("me")):
        response = Client().get(url, HTTP_COOKIE=header)
        assert not set_cookie_names(response), url
        assert response.status_code in (200, 401)
        if response.status_code == 200:
            assert response.json()["authenticated"] is False
    refresh = Client().post(reverse("jwt_cookie_auth:refresh"), HTTP_COOKIE=header)
    assert refresh.status_code == 401
    assert not set_cookie_names(refresh)
    assert b"eyJ" not in refresh.content
    assert list(LoginSession.objects.values_list("pk", "expires_at").order_by("pk")) == rows_before
    # Both genuine cookies still work on their own.
    assert (
        Client()
        .post(
            reverse("jwt_cookie_auth:refresh"),
            HTTP_COOKIE=cookie_header((name, refresh_cookie(victim))),
        )
        .status_code
        == 200
    )


def test_logout_with_a_planted_cookie_ends_every_presented_session(
    victim_and_attacker: tuple[Client, Client],
) -> None:
    """Logout revokes every session the duplicated cookies name, so deleting the
    victim's cookies cannot leave the victim running as the planted session."""
    victim, attacker = victim_and_attacker
    name = refresh_cookie_name()
    header = cookie_header((name, refresh_cookie(victim)), (name, refresh_cookie(attacker)))
    response = Client().post(reverse("jwt_cookie_auth:logout"), HTTP_COOKIE=header)
    assert response.status_code == 204
    assert LoginSession.objects.filter(revoked_at__isnull=True).count() == 0
    assert victim.get(reverse("me")).status_code == 401
    assert attacker.get(reverse("me")).status_code == 401


def test_single_cookies_of_other_names_are_not_duplicates(client: Client, user: Any) -> None:
    """An access and a refresh cookie side by side (and lookalike names) are normal."""
    login(client, user)
    header = cookie_header(
        ("x" + access_cookie_name(), "1"),
        (access_cookie_name(), access_cookie(client)),
        (refresh_cookie_name(), refresh_cookie(client)),
        (access_cookie_name() + "x", "2"),
    )
    assert Client().get(reverse("me"), HTTP_COOKIE=header).status_code == 200


# --- Upgrade: cookies under the old, unprefixed names -------------------------------------


def test_unprefixed_cookies_from_before_the_upgrade_are_ignored_and_deleted(
    client: Client, user: Any
) -> None:
    """A browser still holding ``jwt_access``/``jwt_refresh`` is anonymous (those names
    are exactly what a sibling subdomain can plant) and the old cookies are deleted."""
    login(client, user)
    header = cookie_header(
        ("jwt_access", access_cookie(client)), ("jwt_refresh", refresh_cookie(client))
    )
    response = Client().get(reverse("whoami"), HTTP_COOKIE=header)
    assert response.json()["authenticated"] is False
    for legacy in ("jwt_access", "jwt_refresh"):
        assert response.cookies[legacy]["max-age"] == 0
        assert response.cookies[legacy]["path"] == "/"
    assert not {"__Host-jwt_access", "__Host-jwt_refresh"} & set_cookie_names(response)
    assert Client().get(reverse("me"), HTTP_COOKIE=header).status_code == 401


# --- Deploy check ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "warned"),
    [
        ({}, False),
        ({"COOKIE_DOMAIN": ".example.com"}, False),
        ({"COOKIE_NAME_PREFIX": ""}, True),
        ({"COOKIE_SECURE": False}, True),
    ],
)
def test_deploy_check_warns_about_unprefixed_names(config: dict[str, Any], warned: bool) -> None:
    with override_settings(JWT_COOKIE_AUTH=config):
        ids = [m.id for m in check_cookie_prefixes()]
    assert ("jwt_cookie_auth.W015" in ids) is warned


@override_settings(JWT_COOKIE_AUTH={"COOKIE_NAME_PREFIX": "__Host-"})
def test_unknown_prefix_setting_is_an_error() -> None:
    assert "jwt_cookie_auth.E015" in [m.id for m in check_cookies()]
    assert access_cookie_name() == "__Host-jwt_access"  # invalid: the secure default


@override_settings(JWT_COOKIE_AUTH={"COOKIE_NAME_PREFIX": ""})
def test_manage_py_check_deploy_reports_w015() -> None:
    with pytest.raises(SystemCheckError) as raised:
        call_command("check", "--deploy", "--fail-level", "WARNING", "--tag", "security")
    assert "jwt_cookie_auth.W015" in str(raised.value)


@pytest.mark.parametrize(
    ("header", "duplicated"),
    [
        ("__Host-jwt_access=a;__Host-jwt_access=b", ["__Host-jwt_access"]),
        (" __Host-jwt_access = a ;  __Host-jwt_access=b ", ["__Host-jwt_access"]),
        ('__Host-jwt_refresh="a"; x=1; __Host-jwt_refresh=b', ["__Host-jwt_refresh"]),
        ("__Host-jwt_access=a; x; y; =z; ;", []),
        ("x__Host-jwt_access=a; __Host-jwt_access=b; __Host-jwt_access_=c", []),
        ("jwt_access=a; jwt_access=b; __Host-jwt_access=c", []),
        ("", []),
    ],
)
def test_duplicate_detection_follows_djangos_cookie_parsing(
    header: str, duplicated: list[str]
) -> None:
    """Same chunking, stripping and unquoting as ``django.http.parse_cookie``."""
    request = RequestFactory().get("/", HTTP_COOKIE=header)
    assert duplicated_token_cookies(request) == duplicated
