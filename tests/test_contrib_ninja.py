"""django-ninja: the sync and async security classes, and the router of the package's views."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.http import HttpRequest
from django.test import AsyncClient, Client
from django.urls import path, reverse
from ninja import NinjaAPI

from jwt_cookie_auth import revocation, rotation, tokens
from jwt_cookie_auth.contrib.ninja import (
    AsyncJWTCookieAuth,
    JWTCookieAuth,
    add_exception_handlers,
    auth_router,
)
from jwt_cookie_auth.cookie_names import access_cookie_name, refresh_cookie_name
from jwt_cookie_auth.models import LoginSession, RevokeReason
from tests.conftest import credentials, new_session

api = NinjaAPI(urls_namespace="ninja_tests", auth=JWTCookieAuth())
add_exception_handlers(api)
api.add_router("/auth/", auth_router())


@api.get("/me", url_name="ninja_me")
def me(request: HttpRequest) -> dict[str, Any]:
    claims: Any = request.auth  # type: ignore[attr-defined]
    return {"user": request.user.get_username(), "sid": claims.sid}


@api.post("/me", url_name="ninja_change")
def change(request: HttpRequest) -> dict[str, Any]:
    return {"changed": True, "user": request.user.get_username()}


@api.get("/async-me", auth=AsyncJWTCookieAuth(), url_name="ninja_async_me")
async def async_me(request: HttpRequest) -> dict[str, Any]:
    claims: Any = request.auth  # type: ignore[attr-defined]
    return {"user": request.user.get_username(), "sid": claims.sid}


@api.post("/async-me", auth=AsyncJWTCookieAuth(), url_name="ninja_async_change")
async def async_change(request: HttpRequest) -> dict[str, Any]:
    return {"changed": True, "user": request.user.get_username()}


urlpatterns = [path("ninja/", api.urls)]

pytestmark = pytest.mark.urls(__name__)

SYNC = ("ninja_tests:ninja_me", "ninja_tests:ninja_change")
ASYNC = ("ninja_tests:ninja_async_me", "ninja_tests:ninja_async_change")


def url(name: str) -> str:
    return reverse(f"ninja_tests:{name}")


def call(client: Client | AsyncClient, method: str, target: str, **kwargs: Any) -> Any:
    if isinstance(client, AsyncClient):
        return async_to_sync(getattr(client, method))(target, **kwargs)
    return getattr(client, method)(target, **kwargs)


def ninja_login(client: Client | AsyncClient, user: Any) -> str:
    """Log in through the ninja router as a browser does; return the CSRF token."""
    return ninja_login_at(client, user, url("jwt_cookie_auth_session").rsplit("session/", 1)[0])


def ninja_login_at(client: Client | AsyncClient, user: Any, prefix: str) -> str:
    token = call(client, "get", f"{prefix}session/").json()["csrf_token"]
    response = call(
        client,
        "post",
        f"{prefix}login/",
        data=credentials(user),
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 200, response.content
    return str(response.json()["csrf_token"])


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def client_for(kind: str) -> Client | AsyncClient:
    if kind == "async":
        return AsyncClient(enforce_csrf_checks=True)
    return Client(enforce_csrf_checks=True)


def names(kind: str) -> tuple[str, str]:
    return ASYNC if kind == "async" else SYNC


def test_cookie_authenticates_and_request_auth_holds_the_claims(kind: str, user: Any) -> None:
    client = client_for(kind)
    ninja_login(client, user)
    response = call(client, "get", reverse(names(kind)[0]))
    assert response.status_code == 200
    assert response.json() == {
        "user": user.get_username(),
        "sid": str(LoginSession.objects.get().pk),
    }


def test_no_credentials_is_401(kind: str, db: None) -> None:
    response = call(client_for(kind), "get", reverse(names(kind)[0]))
    assert response.status_code == 401


def test_unsafe_cookie_request_needs_the_csrf_token(kind: str, user: Any) -> None:
    client = client_for(kind)
    token = ninja_login(client, user)
    refused = call(client, "post", reverse(names(kind)[1]))
    assert refused.status_code == 403
    assert refused.json()["code"] == "csrf_failed"
    assert refused.json()["detail"].startswith("CSRF Failed")
    allowed = call(client, "post", reverse(names(kind)[1]), headers={"X-CSRFToken": token})
    assert allowed.status_code == 200
    assert allowed.json() == {"changed": True, "user": user.get_username()}


def test_bearer_needs_no_csrf_token(kind: str, user: Any) -> None:
    access = new_session(user)
    client = client_for(kind)
    response = call(
        client, "post", reverse(names(kind)[1]), headers={"Authorization": f"Bearer {access}"}
    )
    assert response.status_code == 200
    assert response.json()["user"] == user.get_username()


def test_failing_bearer_is_401_even_with_a_valid_cookie(kind: str, user: Any) -> None:
    client = client_for(kind)
    ninja_login(client, user)
    response = call(
        client, "get", reverse(names(kind)[0]), headers={"Authorization": "Bearer nonsense"}
    )
    assert response.status_code == 401
    assert response.json()["reason"] == "invalid_token"
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize("credential", ["cookie", "bearer"])
def test_revocation_refuses_the_next_request(kind: str, credential: str, user: Any) -> None:
    client = client_for(kind)
    headers: dict[str, str] = {}
    if credential == "bearer":
        headers = {"Authorization": f"Bearer {new_session(user)}"}
    else:
        ninja_login(client, user)
    assert call(client, "get", reverse(names(kind)[0]), headers=headers).status_code == 200
    revocation.revoke_user_sessions([user.pk], RevokeReason.ADMIN)
    response = call(client, "get", reverse(names(kind)[0]), headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == "session_revoked"
    assert response.json()["reason"] == "admin"


def test_the_token_is_verified_once_per_request(
    kind: str, user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The middleware's request.user and the ninja class share one verification."""
    client = client_for(kind)
    ninja_login(client, user)
    calls: list[Any] = []
    original = tokens.decode

    def counting(token: Any, expected_type: Any, **kwargs: Any) -> Any:
        calls.append(expected_type)
        return original(token, expected_type, **kwargs)

    monkeypatch.setattr(tokens, "decode", counting)
    assert call(client, "get", reverse(names(kind)[0])).status_code == 200
    assert calls == [tokens.ACCESS]


def test_expired_access_is_renewed_by_the_middleware(kind: str, clock: Any, user: Any) -> None:
    client = client_for(kind)
    ninja_login(client, user)
    old_access = client.cookies[access_cookie_name()].value
    clock.advance(minutes=6)
    response = call(client, "get", reverse(names(kind)[0]))
    assert response.status_code == 200
    assert response.cookies[access_cookie_name()].value not in ("", old_access)


# --- the router ----------------------------------------------------------------------


def test_router_session_lifecycle(user: Any, other_user: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    assert call(client, "get", url("jwt_cookie_auth_session")).json()["user"] is None
    token = ninja_login(client, user)
    session = call(client, "get", url("jwt_cookie_auth_session")).json()
    assert session["user"]["id"] == str(user.pk)
    assert session["session_id"] == str(LoginSession.objects.get().pk)

    other = new_session(user)  # a second device
    listed = call(client, "get", url("jwt_cookie_auth_sessions"))
    assert listed.status_code == 200
    assert sorted(item["current"] for item in listed.json()) == [False, True]

    other_sid = tokens.decode(other, tokens.ACCESS).sid
    detail = reverse("ninja_tests:jwt_cookie_auth_session_detail", args=[other_sid])
    assert call(client, "delete", detail, headers={"X-CSRFToken": token}).status_code == 204
    assert LoginSession.objects.get(pk=other_sid).revoke_reason == RevokeReason.USER_REVOKED
    # Someone else's session: the same 404 as an unknown one.
    foreign = tokens.decode(new_session(other_user), tokens.ACCESS).sid
    foreign_url = reverse("ninja_tests:jwt_cookie_auth_session_detail", args=[foreign])
    assert call(client, "delete", foreign_url, headers={"X-CSRFToken": token}).status_code == 404

    old_refresh = client.cookies[refresh_cookie_name()].value
    refreshed = call(client, "post", url("jwt_cookie_auth_refresh"), headers={"X-CSRFToken": token})
    assert refreshed.status_code == 200
    assert refreshed.cookies[refresh_cookie_name()].value not in ("", old_refresh)

    logout = call(client, "post", url("jwt_cookie_auth_logout"), headers={"X-CSRFToken": token})
    assert logout.status_code == 204
    assert logout.cookies[access_cookie_name()].value == ""
    assert call(client, "get", url("jwt_cookie_auth_session")).json()["user"] is None


def test_router_logout_all(user: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    token = ninja_login(client, user)
    new_session(user)
    response = call(
        client, "post", url("jwt_cookie_auth_logout_all"), headers={"X-CSRFToken": token}
    )
    assert response.status_code == 204
    assert not LoginSession.objects.filter(revoked_at__isnull=True).exists()
    assert set(LoginSession.objects.values_list("revoke_reason", flat=True)) == {
        RevokeReason.LOGOUT_ALL
    }


def test_router_login_refuses_a_cross_site_post(user: Any) -> None:
    response = call(
        Client(enforce_csrf_checks=True),
        "post",
        url("jwt_cookie_auth_login"),
        data=credentials(user),
        content_type="application/json",
    )
    assert response.status_code == 403
    assert not LoginSession.objects.exists()


def test_router_refresh_rotates_once_with_an_expired_access_cookie(
    clock: Any, user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No transparent refresh before the refresh route: the view rotates, once."""
    client = Client(enforce_csrf_checks=True)
    token = ninja_login(client, user)
    clock.advance(minutes=6)
    rotations: list[str] = []
    original = rotation.rotate

    def counting(*args: Any, **kwargs: Any) -> Any:
        rotations.append("rotate")
        return original(*args, **kwargs)

    monkeypatch.setattr(rotation, "rotate", counting)
    response = call(client, "post", url("jwt_cookie_auth_refresh"), headers={"X-CSRFToken": token})
    assert response.status_code == 200
    assert rotations == ["rotate"]


def test_openapi_schema_documents_the_router_and_the_cookie_scheme(db: None) -> None:
    schema = Client().get(reverse("ninja_tests:openapi-json")).json()
    paths = schema["paths"]
    for route in (
        "/ninja/auth/login/",
        "/ninja/auth/refresh/",
        "/ninja/auth/logout/",
        "/ninja/auth/logout/all/",
        "/ninja/auth/session/",
        "/ninja/auth/sessions/",
        "/ninja/auth/sessions/{session_id}/",
    ):
        assert route in paths, route
    login = paths["/ninja/auth/login/"]["post"]
    assert "password" in login["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert "security" not in login  # the package's views authenticate themselves
    schemes = schema["components"]["securitySchemes"]
    assert schemes["JWTCookieAuth"] == {
        "type": "apiKey",
        "in": "cookie",
        "name": access_cookie_name(),
    }


@pytest.mark.urls("example_project.urls")
def test_the_example_project_serves_its_ninja_api(user: Any) -> None:
    """The demo's /ninja/ API (example_project/ninja_api.py), mounted by its urls.py."""
    client = Client(enforce_csrf_checks=True)
    ninja_login_at(client, user, "/ninja/auth/")
    assert client.get("/ninja/me").json()["user"] == user.get_username()
    async_client = AsyncClient()
    for name, morsel in client.cookies.items():
        async_client.cookies[name] = morsel.value
    answer = async_to_sync(async_client.get)("/ninja/async/me").json()
    assert answer["user"] == user.get_username()
    assert Client().get("/ninja/me").status_code == 401
    assert "/ninja/auth/login/" in Client().get("/ninja/openapi.json").json()["paths"]
