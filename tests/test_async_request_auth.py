"""The native async path: async views through the middleware of an async chain (ASGI).

Every behaviour runs twice: with a cache that has native async methods
(``tests.async_cache``), where the package awaits the cache on the event loop, and
with the suite's own cache (LocMem, or django-redis in the Redis pass), whose async
methods are thread wrappers, where the whole check takes one hop.
"""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import SyncToAsync, async_to_sync
from django.http import HttpRequest, JsonResponse
from django.test import AsyncClient, Client
from django.urls import include, path, reverse
from django.views.decorators.csrf import csrf_exempt

from jwt_cookie_auth import revocation
from jwt_cookie_auth.async_request_auth import aget_claims
from jwt_cookie_auth.cookie_names import access_cookie_name, refresh_cookie_name
from jwt_cookie_auth.models import LoginSession, RevokeReason
from tests.conftest import credentials, csrf_login

NATIVE_CACHE = {"default": {"BACKEND": "tests.async_cache.NativeAsyncLocMemCache"}}


async def whoami(request: HttpRequest) -> JsonResponse:
    user: Any = await request.auser()
    claims = await aget_claims(request)
    return JsonResponse(
        {
            "authenticated": user.is_authenticated,
            "user": user.get_username() or None,
            "sid": claims.sid if claims is not None else None,
        }
    )


urlpatterns = [
    path("auth/", include("jwt_cookie_auth.urls")),
    path("whoami/", whoami, name="async_whoami"),
    # CSRF-exempt for Django's middleware, so that only the package's own check (which
    # a transparent refresh of an unsafe request must pass) stands in the way.
    path("exempt/", csrf_exempt(whoami), name="async_exempt"),
]

pytestmark = pytest.mark.urls(__name__)


@pytest.fixture(params=["native", "threaded"])
def cache_mode(request: pytest.FixtureRequest, settings: Any) -> str:
    if request.param == "native":
        settings.CACHES = NATIVE_CACHE
    return str(request.param)


def run(client: AsyncClient, method: str, url: str, **extra: Any) -> Any:
    return async_to_sync(getattr(client, method))(url, **extra)


def async_login(user: Any, **client_kwargs: Any) -> AsyncClient:
    client = AsyncClient(**client_kwargs)
    response = run(
        client,
        "post",
        reverse("jwt_cookie_auth:login"),
        data=credentials(user),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return client


def whoami_of(client: AsyncClient) -> dict[str, Any]:
    response = run(client, "get", reverse("async_whoami"))
    assert response.status_code == 200
    return dict(response.json())


def test_async_login_then_async_view_sees_the_user(cache_mode: str, user: Any) -> None:
    client = async_login(user)
    answer = whoami_of(client)
    assert answer["authenticated"] is True
    assert answer["user"] == user.get_username()
    assert answer["sid"] == str(LoginSession.objects.get().pk)


def test_revocation_refuses_the_next_async_request(cache_mode: str, user: Any) -> None:
    client = async_login(user)
    assert whoami_of(client)["authenticated"] is True
    revocation.revoke_user_sessions([user.pk], RevokeReason.ADMIN)
    response = run(client, "get", reverse("async_whoami"))
    assert response.json()["authenticated"] is False
    # The dead cookies are deleted, as on the sync path.
    assert response.cookies[access_cookie_name()].value == ""
    assert response.cookies[refresh_cookie_name()].value == ""


def test_cached_users_async(cache_mode: str, settings: Any, user: Any) -> None:
    settings.JWT_COOKIE_AUTH = {"CACHE_USERS": True}
    client = async_login(user)
    assert whoami_of(client)["user"] == user.get_username()
    assert whoami_of(client)["user"] == user.get_username()  # from the warm cache
    user.set_password("another-password-42")
    user.save()
    assert whoami_of(client)["authenticated"] is False
    assert LoginSession.objects.get().revoke_reason == RevokeReason.PASSWORD_CHANGE


def test_expired_access_is_renewed_on_an_async_request(
    cache_mode: str, clock: Any, user: Any
) -> None:
    client = async_login(user)
    old_access = client.cookies[access_cookie_name()].value
    old_refresh = client.cookies[refresh_cookie_name()].value
    clock.advance(minutes=6)
    response = run(client, "get", reverse("async_whoami"))
    assert response.json()["authenticated"] is True
    assert response.cookies[access_cookie_name()].value not in ("", old_access)
    assert response.cookies[refresh_cookie_name()].value not in ("", old_refresh)
    # The consumed refresh token is dead: presented again, with no access cookie, it
    # renews nothing.
    replay = AsyncClient()
    replay.cookies[refresh_cookie_name()] = old_refresh
    clock.advance(minutes=10)
    assert whoami_of(replay)["authenticated"] is False


def test_unsafe_async_request_renews_only_after_the_csrf_check(
    cache_mode: str, clock: Any, user: Any
) -> None:
    browser = Client(enforce_csrf_checks=True)
    token = csrf_login(browser, user)
    client = AsyncClient(enforce_csrf_checks=True)
    for name, morsel in browser.cookies.items():
        client.cookies[name] = morsel.value
    old_refresh = client.cookies[refresh_cookie_name()].value
    jti = LoginSession.objects.get().refresh_jti
    clock.advance(minutes=6)

    forged = run(client, "post", reverse("async_exempt"))
    assert forged.json()["authenticated"] is False
    assert access_cookie_name() not in forged.cookies  # nothing rotated, nothing deleted
    assert LoginSession.objects.get().refresh_jti == jti

    allowed = run(client, "post", reverse("async_exempt"), headers={"X-CSRFToken": token})
    assert allowed.json()["authenticated"] is True
    assert allowed.cookies[refresh_cookie_name()].value not in ("", old_refresh)


# --- thread hops ---------------------------------------------------------------------


@pytest.fixture
def hops(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the function of every ``sync_to_async`` call (a hop to a thread)."""
    calls: list[str] = []
    original = SyncToAsync.__call__

    async def recording(self: SyncToAsync[Any, Any], *args: Any, **kwargs: Any) -> Any:
        func = getattr(self.func, "__func__", self.func)
        calls.append(f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', func)}")
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(SyncToAsync, "__call__", recording)
    return calls


def package_hops(calls: list[str]) -> list[str]:
    return [call for call in calls if call.startswith("jwt_cookie_auth.")]


def test_no_thread_hop_with_a_native_async_cache(settings: Any, user: Any, hops: list[str]) -> None:
    """An authenticated async request costs the hops of an anonymous one: no more."""
    settings.CACHES = NATIVE_CACHE
    settings.JWT_COOKIE_AUTH = {"CACHE_USERS": True}
    client = async_login(user)
    assert whoami_of(client)["authenticated"] is True  # warms the revocation marker and user
    anonymous = AsyncClient()
    hops.clear()
    assert whoami_of(anonymous)["authenticated"] is False
    baseline = sorted(hops)
    hops.clear()
    assert whoami_of(client)["user"] == user.get_username()
    assert package_hops(hops) == []
    assert sorted(hops) == baseline


def test_one_hop_for_the_user_row_in_the_default_mode(
    settings: Any, user: Any, hops: list[str]
) -> None:
    settings.CACHES = NATIVE_CACHE
    client = async_login(user)
    assert whoami_of(client)["authenticated"] is True
    hops.clear()
    assert whoami_of(client)["authenticated"] is True
    assert package_hops(hops) == ["jwt_cookie_auth.identity.find_active_user"]


def test_one_hop_with_a_cache_that_has_no_async_methods(
    settings: Any, user: Any, hops: list[str]
) -> None:
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    client = async_login(user)
    assert whoami_of(client)["authenticated"] is True
    hops.clear()
    assert whoami_of(client)["authenticated"] is True
    assert package_hops(hops) == ["jwt_cookie_auth.identity.authenticate_access_token"]
