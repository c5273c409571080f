"""CUSTOM_CLAIMS: project claims in access tokens, renewed at every refresh (issue 10, item 5).

Read back the way views do: ``request.auth["role"]`` in DRF, ``get_claims(request)``
in plain views. Reserved names, values that are not JSON and tokens too large for
their cookie fail loudly, never silently.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.test import Client, override_settings
from django.urls import path, reverse
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from jwt_cookie_auth import cookie_size, tokens
from jwt_cookie_auth.cookie_names import access_cookie_name, refresh_cookie_name
from jwt_cookie_auth.cookies import set_token_cookies
from jwt_cookie_auth.issuing import start_session
from jwt_cookie_auth.models import LoginSession
from jwt_cookie_auth.request_auth import get_claims
from tests import hooks
from tests.conftest import FakeClock, access_cookie, login, refresh_cookie
from tests.urls import urlpatterns as base_urlpatterns

pytestmark = pytest.mark.urls("tests.test_custom_claims")

ROLE_CLAIMS = {"CUSTOM_CLAIMS": "tests.hooks.role_claims"}
SIZED_CLAIMS = {"CUSTOM_CLAIMS": "tests.hooks.sized_claims"}


def plain_claims_view(request: HttpRequest) -> JsonResponse:
    claims = get_claims(request)
    if claims is None:
        return JsonResponse({"role": None})
    return JsonResponse({"role": claims["role"], "tenant": claims.get("tenant")})


class ClaimsAPIView(APIView):
    def get(self, request: Request) -> Response:
        auth: Any = request.auth
        return Response(
            {
                "role": auth["role"],
                "tenant": auth.get("tenant"),
                "missing": auth.get("missing", "default"),
                "has_role": "role" in auth,
                "has_missing": "missing" in auth,
            }
        )


def whoami(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"authenticated": request.user.is_authenticated})


urlpatterns = [
    *base_urlpatterns,
    path("claims/plain/", plain_claims_view, name="claims_plain"),
    path("claims/api/", ClaimsAPIView.as_view(), name="claims_api"),
    path("claims/whoami/", whoami, name="claims_whoami"),
]


@pytest.fixture(autouse=True)
def _reset_hooks() -> Iterator[None]:
    hooks.CALLS.clear()
    hooks.OVERSIZED.clear()
    yield
    hooks.CALLS.clear()
    hooks.OVERSIZED.clear()


def payload(token: str) -> dict[str, Any]:
    return tokens._unverified_segment(token.split(".")[1])  # type: ignore[no-any-return]


def refresh(client: Client) -> Any:
    return client.post(reverse("jwt_cookie_auth:refresh"))


def set_staff(user: Any, value: bool) -> None:
    user.is_staff = value
    user.save(update_fields=["is_staff"])


@override_settings(JWT_COOKIE_AUTH=ROLE_CLAIMS)
def test_login_puts_the_claims_in_the_access_cookie_only(client: Client, user: Any) -> None:
    response = login(client, user)
    claims = tokens.decode(access_cookie(client), tokens.ACCESS)
    assert claims["role"] == "member"
    assert claims.payload["tenant"] == {"id": 7}
    # The refresh token stays small and deterministic: no project claims.
    assert "role" not in payload(refresh_cookie(client))
    # Called with the user, the new session and the login's HttpRequest.
    [(user_pk, session_pk, request)] = hooks.CALLS
    assert (user_pk, str(session_pk)) == (user.pk, response.json()["session_id"])
    assert isinstance(request, HttpRequest)


@override_settings(JWT_COOKIE_AUTH=ROLE_CLAIMS)
def test_a_role_change_reaches_the_token_at_the_next_refresh(client: Client, user: Any) -> None:
    login(client, user)
    set_staff(user, True)
    assert tokens.decode(access_cookie(client), tokens.ACCESS)["role"] == "member"
    assert refresh(client).status_code == 200
    assert tokens.decode(access_cookie(client), tokens.ACCESS)["role"] == "staff"


@override_settings(JWT_COOKIE_AUTH=ROLE_CLAIMS)
def test_a_role_change_reaches_the_token_at_the_transparent_renewal(
    client: Client, user: Any, clock: FakeClock
) -> None:
    login(client, user)
    assert client.get(reverse("claims_plain")).json()["role"] == "member"
    set_staff(user, True)
    clock.advance(minutes=6)  # past ACCESS_TOKEN_LIFETIME: the middleware renews
    response = client.get(reverse("claims_plain"))
    assert response.json() == {"role": "staff", "tenant": {"id": 7}}
    assert payload(response.cookies[access_cookie_name()].value)["role"] == "staff"


@override_settings(JWT_COOKIE_AUTH=ROLE_CLAIMS)
def test_the_grace_period_re_mint_carries_the_current_claims(client: Client, user: Any) -> None:
    login(client, user)
    first_refresh = refresh_cookie(client)
    assert refresh(client).status_code == 200
    set_staff(user, True)
    # A parallel tab still holding the predecessor, inside the grace period.
    other_tab = Client()
    other_tab.cookies[refresh_cookie_name()] = first_refresh
    response = refresh(other_tab)
    assert response.status_code == 200
    assert payload(response.cookies[access_cookie_name()].value)["role"] == "staff"
    # Same successor refresh token as the first tab got: no second chain.
    assert response.cookies[refresh_cookie_name()].value == refresh_cookie(client)


@override_settings(JWT_COOKIE_AUTH=ROLE_CLAIMS)
def test_drf_views_read_claims_from_request_auth_like_simplejwt(client: Client, user: Any) -> None:
    login(client, user)
    expected = {
        "role": "member",
        "tenant": {"id": 7},
        "missing": "default",
        "has_role": True,
        "has_missing": False,
    }
    assert client.get(reverse("claims_api")).json() == expected
    # The same through a Bearer header (a native client).
    bearer = Client()
    response = bearer.get(
        reverse("claims_api"), HTTP_AUTHORIZATION=f"Bearer {access_cookie(client)}"
    )
    assert response.json() == expected


@override_settings(JWT_COOKIE_AUTH=ROLE_CLAIMS)
def test_plain_views_read_claims_with_get_claims(client: Client, user: Any) -> None:
    assert client.get(reverse("claims_plain")).json() == {"role": None}
    login(client, user)
    assert client.get(reverse("claims_plain")).json() == {"role": "member", "tenant": {"id": 7}}


def test_claims_read_like_a_mapping_and_refuse_unknown_names(user: Any) -> None:
    claims = tokens.decode(
        start_session(HttpRequest(), user).access, tokens.ACCESS, allow_expired=True
    )
    assert claims["sid"] == claims.sid
    assert claims.get("role") is None
    assert claims.get("role", "guest") == "guest"
    assert "jti" in claims
    assert "role" not in claims
    with pytest.raises(KeyError):
        claims["role"]


@pytest.mark.parametrize(
    ("hook", "named"),
    [
        ("tests.hooks.reserved_claims", "'sub'"),
        ("tests.hooks.step_up_claims", "'amr'"),
        ("tests.hooks.unserialisable_claims", "'joined'"),
        ("tests.hooks.not_a_dict", "not a dict"),
    ],
)
def test_a_bad_claim_is_a_configuration_error_naming_it(
    client: Client, user: Any, hook: str, named: str
) -> None:
    with (
        override_settings(JWT_COOKIE_AUTH={"CUSTOM_CLAIMS": hook}),
        pytest.raises(ImproperlyConfigured, match=named),
    ):
        client.post(
            reverse("jwt_cookie_auth:login"), _credentials(user), content_type="application/json"
        )
    # No session row was left behind without its cookies.
    assert not LoginSession.objects.filter(user=user).exists()


def _credentials(user: Any) -> dict[str, Any]:
    from tests.conftest import credentials

    return credentials(user)


@override_settings(JWT_COOKIE_AUTH=SIZED_CLAIMS)
def test_a_login_whose_token_would_not_fit_is_a_clear_500_without_cookies(
    client: Client, user: Any, caplog: pytest.LogCaptureFixture
) -> None:
    hooks.OVERSIZED.add(str(user.pk))
    with caplog.at_level(logging.ERROR, logger="jwt_cookie_auth"):
        response = client.post(
            reverse("jwt_cookie_auth:login"), _credentials(user), content_type="application/json"
        )
    assert response.status_code == 500
    assert "too large" in response.json()["detail"]
    assert access_cookie_name() not in response.cookies
    assert refresh_cookie_name() not in response.cookies
    assert not LoginSession.objects.filter(user=user).exists()
    [record] = [r for r in caplog.records if r.name == "jwt_cookie_auth"]
    assert "4096" in record.getMessage()
    assert "CUSTOM_CLAIMS" in record.getMessage()


@override_settings(JWT_COOKIE_AUTH=SIZED_CLAIMS)
def test_a_refresh_whose_token_would_not_fit_keeps_the_session(client: Client, user: Any) -> None:
    login(client, user)
    before = refresh_cookie(client)
    hooks.OVERSIZED.add(str(user.pk))
    response = refresh(client)
    assert response.status_code == 500
    assert "too large" in response.json()["detail"]
    # Rolled back and nothing deleted: the browser's refresh cookie is still current.
    assert refresh_cookie_name() not in response.cookies
    assert refresh_cookie(client) == before
    hooks.OVERSIZED.clear()
    assert refresh(client).status_code == 200


@override_settings(JWT_COOKIE_AUTH=SIZED_CLAIMS)
def test_a_transparent_renewal_that_would_not_fit_is_anonymous_not_a_500(
    client: Client, user: Any, clock: FakeClock
) -> None:
    login(client, user)
    hooks.OVERSIZED.add(str(user.pk))
    clock.advance(minutes=6)
    response = client.get(reverse("claims_whoami"))
    assert response.status_code == 200
    assert response.json() == {"authenticated": False}
    assert refresh_cookie_name() not in response.cookies  # neither replaced nor deleted
    hooks.OVERSIZED.clear()
    assert client.get(reverse("claims_whoami")).json() == {"authenticated": True}


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"COOKIE_DOMAIN": ".example.com", "ACCESS_COOKIE_PATH": "/api/"},
        {"COOKIE_SECURE": False, "COOKIE_SAMESITE": "Strict"},
    ],
)
def test_the_size_estimate_covers_the_real_set_cookie_header(
    user: Any, config: dict[str, Any]
) -> None:
    with override_settings(JWT_COOKIE_AUTH={**config, **SIZED_CLAIMS}):
        issued = start_session(HttpRequest(), user)
        response = HttpResponse()
        set_token_cookies(response, issued)
        for kind, token in (("access", issued.access), ("refresh", issued.refresh)):
            name = access_cookie_name() if kind == "access" else refresh_cookie_name()
            real = len(response.cookies[name].OutputString())
            assert real <= cookie_size.overhead(kind) + len(token) <= real + 8


def test_the_limit_is_the_whole_header_at_4096_bytes() -> None:
    fits = "t" * cookie_size.budget("access")
    cookie_size.check("access", fits)
    with pytest.raises(cookie_size.CookieTooLarge, match="4097 bytes"):
        cookie_size.check("access", fits + "t")
