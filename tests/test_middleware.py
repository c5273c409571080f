"""JWTCookieMiddleware: request.user for plain views, transparent refresh, async, errors."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings as django_settings
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.test import AsyncClient, Client
from django.urls import include, path, reverse
from django.utils import timezone

from jwt_cookie_auth import revocation, tokens
from jwt_cookie_auth.cookie_names import access_cookie_name, refresh_cookie_name
from jwt_cookie_auth.models import BlacklistedToken, LoginSession, RevokeReason
from tests import views
from tests.conftest import access_cookie, login, refresh_cookie


def broken_page(request: HttpRequest) -> HttpResponse:
    """A view that fails after looking at the user."""
    return HttpResponseServerError(f"failed for {request.user.get_username()}")


# Used with @pytest.mark.urls(__name__) by the tests that need a failing view.
urlpatterns = [
    path("auth/", include("jwt_cookie_auth.urls")),
    path("whoami/", views.whoami_page, name="whoami"),
    path("broken/", broken_page, name="broken"),
]


def names() -> tuple[str, str]:
    return access_cookie_name(), refresh_cookie_name()


def whoami(client: Client, **extra: Any) -> dict[str, Any]:
    response = client.get(reverse("whoami"), **extra)
    assert response.status_code == 200
    return dict(response.json())


def assert_new_cookies(response: Any, old_access: str, old_refresh: str) -> None:
    access, refresh = (response.cookies[name].value for name in names())
    assert access
    assert refresh
    assert access != old_access
    assert refresh != old_refresh
    assert "no-store" in response["Cache-Control"]


def assert_cookies_deleted(response: Any) -> None:
    for name in names():
        assert response.cookies[name].value == ""
        assert str(response.cookies[name]["max-age"]) == "0"


def touches_no_token_cookie(response: Any) -> bool:
    return not any(name in response.cookies for name in names())


def jti(token: str) -> str:
    return tokens.decode(token, tokens.REFRESH, allow_expired=True).jti


# --- request.user for plain views -------------------------------------------------------


def test_login_required_view_sees_the_jwt_user(logged_in: Client, user: Any) -> None:
    response = logged_in.get(reverse("private"))
    assert response.status_code == 200
    assert response.content.decode() == f"hello {user.get_username()}"


def test_login_required_view_redirects_without_cookie(client: Client, db: None) -> None:
    response = client.get(reverse("private"))
    assert response.status_code == 302
    assert response["Location"].startswith(django_settings.LOGIN_URL)


def test_django_session_user_is_seen_without_jwt_cookie(client: Client, user: Any) -> None:
    client.force_login(user)
    assert whoami(client) == {"authenticated": True, "user": user.get_username()}
    assert client.get(reverse("private")).status_code == 200


def test_jwt_user_wins_over_django_session_user(client: Client, user: Any, other_user: Any) -> None:
    client.force_login(other_user)
    login(client, user)
    assert whoami(client)["user"] == user.get_username()


def test_anonymous_without_any_cookie(client: Client, db: None) -> None:
    assert whoami(client) == {"authenticated": False, "user": None}


def test_vary_cookie_on_responses_that_read_the_cookies(logged_in: Client) -> None:
    for name in ("whoami", "private", "me"):
        response = logged_in.get(reverse(name))
        assert response.status_code == 200
        assert "Cookie" in response["Vary"]
    anonymous = Client().get(reverse("private"))
    assert "Cookie" in anonymous["Vary"]


# --- AUTO_REFRESH -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["private", "whoami", "me", "open"])
def test_expired_access_is_renewed_before_the_view(
    clock: Any, logged_in: Client, user: Any, name: str
) -> None:
    old_access, old_refresh = access_cookie(logged_in), refresh_cookie(logged_in)
    clock.advance(minutes=6)
    response = logged_in.get(reverse(name))
    assert response.status_code == 200
    assert user.get_username() in response.content.decode() or name == "open"
    if name == "open":
        assert response.json() == {"authenticated": True}
    assert_new_cookies(response, old_access, old_refresh)
    assert "Cookie" in response["Vary"]

    # The old refresh token is consumed: rotated into the blacklist, same family.
    session = LoginSession.objects.get()
    assert session.revoked_at is None
    assert session.previous_jti == jti(old_refresh)
    assert session.refresh_jti == jti(refresh_cookie(logged_in))
    assert BlacklistedToken.objects.filter(jti=jti(old_refresh)).exists()
    # The new cookies work without another renewal.
    follow_up = logged_in.get(reverse("me"))
    assert follow_up.status_code == 200
    assert touches_no_token_cookie(follow_up)


def test_replaying_the_auto_rotated_refresh_token_later_is_refused(
    clock: Any, logged_in: Client
) -> None:
    old_refresh = refresh_cookie(logged_in)
    clock.advance(minutes=6)
    assert logged_in.get(reverse("me")).status_code == 200
    clock.advance(minutes=1)
    replay = Client()
    replay.cookies[refresh_cookie_name()] = old_refresh
    response = replay.post(reverse("jwt_cookie_auth:refresh"), content_type="application/json")
    assert response.status_code == 401


def test_parallel_requests_with_the_same_expired_cookies_both_pass(
    clock: Any, logged_in: Client
) -> None:
    """Two tabs renewing at once: the second gets the same successor, no second chain."""
    other_tab = Client()
    for name in names():
        other_tab.cookies[name] = logged_in.cookies[name].value
    clock.advance(minutes=6)
    first = logged_in.get(reverse("me"))
    second = other_tab.get(reverse("me"))
    assert first.status_code == second.status_code == 200
    assert refresh_cookie(other_tab) == refresh_cookie(logged_in)
    assert LoginSession.objects.get().revoked_at is None


def test_only_refresh_cookie_is_renewed(logged_in: Client, user: Any) -> None:
    old_access, old_refresh = access_cookie(logged_in), refresh_cookie(logged_in)
    del logged_in.cookies[access_cookie_name()]
    response = logged_in.get(reverse("whoami"))
    assert response.json() == {"authenticated": True, "user": user.get_username()}
    assert_new_cookies(response, old_access, old_refresh)


def test_only_refresh_cookie_renews_for_drf_view(logged_in: Client, user: Any) -> None:
    del logged_in.cookies[access_cookie_name()]
    response = logged_in.get(reverse("me"))
    assert response.status_code == 200
    assert response.json()["user"] == user.get_username()
    assert response.cookies[access_cookie_name()].value


def test_without_auto_refresh_expired_access_is_401_and_anonymous(
    clock: Any, logged_in: Client, settings: Any
) -> None:
    settings.JWT_COOKIE_AUTH = {"AUTO_REFRESH": False}
    clock.advance(minutes=6)
    api = logged_in.get(reverse("me"))
    assert api.status_code == 401
    assert api.has_header("WWW-Authenticate")
    page = logged_in.get(reverse("whoami"))
    assert page.json() == {"authenticated": False, "user": None}
    assert touches_no_token_cookie(page)
    assert logged_in.get(reverse("private")).status_code == 302
    # The refresh endpoint still works, and then so does the API.
    refreshed = logged_in.post(reverse("jwt_cookie_auth:refresh"), content_type="application/json")
    assert refreshed.status_code == 200
    assert logged_in.get(reverse("me")).status_code == 200


def test_without_auto_refresh_only_refresh_cookie_is_anonymous(
    logged_in: Client, settings: Any
) -> None:
    settings.JWT_COOKIE_AUTH = {"AUTO_REFRESH": False}
    del logged_in.cookies[access_cookie_name()]
    assert whoami(logged_in)["authenticated"] is False
    assert logged_in.get(reverse("me")).status_code == 401
    assert LoginSession.objects.get().rotated_at is None


@pytest.mark.urls(__name__)
def test_renewed_cookies_survive_a_server_error(clock: Any, logged_in: Client, user: Any) -> None:
    """A 500 after a transparent refresh still hands over the committed successor.

    Otherwise the browser would keep the consumed token and, once the grace period is
    over, its next request would look like theft and end the session.
    """
    old_refresh = refresh_cookie(logged_in)
    clock.advance(minutes=6)
    response = logged_in.get(reverse("broken"))
    assert response.status_code == 500
    assert response.cookies[refresh_cookie_name()].value not in ("", old_refresh)
    clock.advance(minutes=1)  # well past ROTATION_GRACE_PERIOD
    retry = logged_in.get(reverse("whoami"))
    assert retry.json() == {"authenticated": True, "user": user.get_username()}
    assert LoginSession.objects.get().revoked_at is None


@pytest.mark.urls(__name__)
def test_dead_cookies_are_not_deleted_on_a_server_error(logged_in: Client) -> None:
    LoginSession.objects.update(revoked_at=timezone.now())
    caches["default"].clear()
    response = logged_in.get(reverse("broken"))
    assert response.status_code == 500
    assert touches_no_token_cookie(response)
    # The same dead cookies on a page that works are deleted.
    assert logged_in.get(reverse("whoami")).cookies[access_cookie_name()]["max-age"] == 0


# --- dead cookies are anonymous, never a 500 --------------------------------------------


def test_revoked_access_cookie_is_anonymous_and_deleted(logged_in: Client) -> None:
    session = LoginSession.objects.get()
    revocation.revoke_session(session.pk, RevokeReason.ADMIN)
    response = logged_in.get(reverse("whoami"))
    assert response.status_code == 200
    assert response.json() == {"authenticated": False, "user": None}
    assert_cookies_deleted(response)


def test_revoked_session_is_not_renewed(clock: Any, logged_in: Client) -> None:
    revocation.revoke_session(LoginSession.objects.get().pk, RevokeReason.ADMIN)
    clock.advance(minutes=6)
    response = logged_in.get(reverse("whoami"))
    assert response.json()["authenticated"] is False
    assert_cookies_deleted(response)
    assert logged_in.get(reverse("me")).status_code == 401


@pytest.mark.parametrize(
    "value",
    [
        "garbage",
        "a.b.c",
        "e30.e30.e30",
        "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.",
        "x" * 5000,
        "....",
    ],
)
@pytest.mark.parametrize("with_refresh", [True, False])
def test_garbage_access_cookie_is_anonymous_and_deleted(
    logged_in: Client, value: str, with_refresh: bool
) -> None:
    logged_in.cookies[access_cookie_name()] = value
    if not with_refresh:
        del logged_in.cookies[refresh_cookie_name()]
    response = logged_in.get(reverse("whoami"))
    assert response.status_code == 200
    assert response.json() == {"authenticated": False, "user": None}
    assert_cookies_deleted(response)
    assert logged_in.get(reverse("me")).status_code == 401


def test_garbage_refresh_cookie_alone_is_anonymous_and_deleted(client: Client, db: None) -> None:
    client.cookies[refresh_cookie_name()] = "garbage"
    response = client.get(reverse("whoami"))
    assert response.json()["authenticated"] is False
    assert_cookies_deleted(response)


def test_session_past_its_absolute_lifetime_is_anonymous(clock: Any, logged_in: Client) -> None:
    clock.advance(days=15)
    response = logged_in.get(reverse("whoami"))
    assert response.json()["authenticated"] is False
    assert_cookies_deleted(response)


def test_access_token_of_inactive_user_is_anonymous(logged_in: Client, user: Any) -> None:
    user.is_active = False
    user.save()
    assert whoami(logged_in)["authenticated"] is False
    assert logged_in.get(reverse("me")).status_code == 401


# --- async ------------------------------------------------------------------------------


def async_client_from(client: Client) -> AsyncClient:
    async_client = AsyncClient()
    for name in names():
        if name in client.cookies:
            async_client.cookies[name] = client.cookies[name].value
    return async_client


def test_async_view_sees_the_jwt_user(logged_in: Client, user: Any) -> None:
    response = async_to_sync(async_client_from(logged_in).get)(reverse("async_whoami"))
    assert response.status_code == 200
    assert response.json() == {"authenticated": True, "user": user.get_username()}


def test_async_view_anonymous_without_cookie(db: None) -> None:
    response = async_to_sync(AsyncClient().get)(reverse("async_whoami"))
    assert response.json() == {"authenticated": False, "user": None}


def test_async_view_with_revoked_cookie_is_anonymous(logged_in: Client) -> None:
    revocation.revoke_session(LoginSession.objects.get().pk, RevokeReason.ADMIN)
    response = async_to_sync(async_client_from(logged_in).get)(reverse("async_whoami"))
    assert response.json() == {"authenticated": False, "user": None}


def test_async_request_renews_expired_access(clock: Any, logged_in: Client, user: Any) -> None:
    old_access, old_refresh = access_cookie(logged_in), refresh_cookie(logged_in)
    clock.advance(minutes=6)
    async_client = async_client_from(logged_in)
    for name in ("async_whoami", "whoami"):
        response = async_to_sync(async_client.get)(reverse(name))
        assert response.json() == {"authenticated": True, "user": user.get_username()}
    first = async_to_sync(async_client_from(logged_in).get)(reverse("async_whoami"))
    assert_new_cookies(first, old_access, old_refresh)


# --- configuration ----------------------------------------------------------------------


@pytest.mark.parametrize("client_class", [Client, AsyncClient])
def test_missing_authentication_middleware_is_improperly_configured(
    settings: Any, db: None, client_class: type
) -> None:
    settings.MIDDLEWARE = [
        m
        for m in settings.MIDDLEWARE
        if m != "django.contrib.auth.middleware.AuthenticationMiddleware"
    ]
    client = client_class()
    get = async_to_sync(client.get) if client_class is AsyncClient else client.get
    with pytest.raises(ImproperlyConfigured, match="AuthenticationMiddleware"):
        get(reverse("whoami"))


def count_decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the token type of every full token verification."""
    calls: list[str] = []
    original = tokens.decode

    def counting(token: Any, expected_type: Any, **kwargs: Any) -> Any:
        calls.append(expected_type)
        return original(token, expected_type, **kwargs)

    monkeypatch.setattr(tokens, "decode", counting)
    return calls


def test_each_token_is_verified_once_per_request(
    logged_in: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Middleware, process_view and the DRF class share one verification."""
    calls = count_decodes(monkeypatch)
    assert logged_in.get(reverse("me")).status_code == 200
    assert calls == ["access"]


def test_transparent_refresh_does_not_decode_what_it_just_minted(
    clock: Any, logged_in: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Expired access + refresh: one try of the access token, one of the refresh token."""
    clock.advance(minutes=6)
    calls = count_decodes(monkeypatch)
    assert logged_in.get(reverse("me")).status_code == 200
    assert calls == ["access", "refresh"]
