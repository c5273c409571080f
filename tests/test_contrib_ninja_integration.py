"""django-ninja: the router's OpenAPI document, and unreadable bodies at the CSRF check.

The API of tests/test_contrib_ninja.py (``add_exception_handlers``, ``auth=JWTCookieAuth()``)
and a bare one here: no default auth, no exception handlers, the async class only.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from django.http import HttpRequest
from django.test import Client, override_settings
from django.urls import path, reverse
from ninja import NinjaAPI

from jwt_cookie_auth.contrib.ninja import AsyncJWTCookieAuth, JWTCookieAuth, auth_router
from jwt_cookie_auth.cookie_names import access_cookie_name
from tests import test_contrib_ninja as full
from tests.test_contrib_ninja import call, client_for, ninja_login, ninja_login_at

bare = NinjaAPI(urls_namespace="ninja_bare")
bare.add_router("/auth/", auth_router())


@bare.post("/change", auth=AsyncJWTCookieAuth(), url_name="bare_change")
async def bare_change(request: HttpRequest) -> dict[str, Any]:
    return {"changed": True}


@bare.post("/sync-change", auth=JWTCookieAuth(), url_name="bare_sync_change")
def bare_sync_change(request: HttpRequest) -> dict[str, Any]:
    return {"changed": True}


urlpatterns = [*full.urlpatterns, path("bare/", bare.urls)]

pytestmark = pytest.mark.urls(__name__)

# The operations of auth_router(): method, path -> operationId, documented statuses.
UNSAFE = {"400", "403", "415", "429"}
ROUTER = {
    ("post", "login/"): ("jwt_login", {"200", "401", "500", *UNSAFE}),
    ("post", "refresh/"): ("jwt_refresh", {"200", "401", "500", *UNSAFE}),
    ("post", "logout/"): ("jwt_logout", {"204", "401", *UNSAFE}),
    ("post", "logout/all/"): ("jwt_logout_all", {"204", "401", *UNSAFE}),
    ("get", "session/"): ("jwt_session", {"200", "429"}),
    ("get", "sessions/"): ("jwt_sessions_list", {"200", "401", "403", "429"}),
    ("delete", "sessions/{session_id}/"): (
        "jwt_session_revoke",
        {"204", "401", "404", *UNSAFE},
    ),
}
NEEDS_LOGIN = {("post", "logout/all/"), ("get", "sessions/"), ("delete", "sessions/{session_id}/")}


@pytest.mark.parametrize("openapi", ["ninja_tests:openapi-json", "ninja_bare:openapi-json"])
def test_router_operations_have_unique_ids_statuses_and_security(openapi: str, db: None) -> None:
    schema = Client().get(reverse(openapi)).json()
    ids = Counter(
        operation["operationId"]
        for operations in schema["paths"].values()
        for operation in operations.values()
    )
    assert [name for name, count in ids.items() if count > 1] == []
    prefix = "/ninja/auth/" if openapi.startswith("ninja_tests") else "/bare/auth/"
    for (method, route), (operation_id, statuses) in ROUTER.items():
        operation = schema["paths"][prefix + route][method]
        assert operation["operationId"] == operation_id
        assert set(operation["responses"]) == statuses, route
        if (method, route) in NEEDS_LOGIN:
            assert operation["security"] == [{"JWTCookieAuth": []}], route
        else:
            assert "security" not in operation, route
    # Defined even in the bare API, whose own operations use the async class only.
    assert schema["components"]["securitySchemes"]["JWTCookieAuth"] == {
        "type": "apiKey",
        "in": "cookie",
        "name": access_cookie_name(),
    }


def test_router_operations_still_authenticate_through_the_drf_views(db: None) -> None:
    """ninja lets the request through; the view answers with the package's bodies."""
    client = Client(enforce_csrf_checks=True)
    listed = client.get("/bare/auth/sessions/")
    assert listed.status_code == 401
    assert listed.json()["code"] == "not_authenticated"
    assert listed["WWW-Authenticate"] == 'Bearer realm="api"'
    logout_all = client.post("/bare/auth/logout/all/")
    assert logout_all.status_code == 401
    assert logout_all.json()["code"] == "not_authenticated"


def _multipart(boundary: str, files: int) -> bytes:
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="f{i}"; filename="f{i}.txt"\r\n'
        f"Content-Type: text/plain\r\n\r\nx\r\n"
        for i in range(files)
    ]
    return ("".join(parts) + f"--{boundary}--\r\n").encode()


# Each body makes Django raise when the CSRF check reads request.POST.
BODIES = {
    # No boundary: MultiPartParserError("Invalid boundary in multipart: None").
    "MultiPartParserError": (b"--x\r\n", "multipart/form-data"),
    "RequestDataTooBig": (b"a=" + b"1" * 100, "application/x-www-form-urlencoded"),
    "TooManyFieldsSent": (b"a=1&b=2&c=3&d=4", "application/x-www-form-urlencoded"),
    "TooManyFilesSent": (_multipart("B", 3), "multipart/form-data; boundary=B"),
}
LIMITS = {
    "DATA_UPLOAD_MAX_MEMORY_SIZE": 50,
    "DATA_UPLOAD_MAX_NUMBER_FIELDS": 2,
    "DATA_UPLOAD_MAX_NUMBER_FILES": 2,
}


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("error", list(BODIES))
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_an_unreadable_body_is_a_json_400(kind: str, error: str, debug: bool, user: Any) -> None:
    """A logged-in POST whose body the CSRF check cannot read: 400 parse_error, no 500."""
    client = client_for(kind)
    ninja_login(client, user)
    body, content_type = BODIES[error]
    target = reverse(full.SYNC[1] if kind == "sync" else full.ASYNC[1])
    with override_settings(DEBUG=debug, **LIMITS):
        response = call(client, "post", target, data=body, content_type=content_type)
    assert response.status_code == 400, response.content[:300]
    assert response.json() == {
        "detail": f"Malformed request body: {error}.",
        "code": "parse_error",
    }


@pytest.mark.parametrize("target", ["/bare/change", "/bare/sync-change"])
def test_without_the_exception_handlers_it_is_ninjas_json_400(target: str, user: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    ninja_login_at(client, user, "/bare/auth/")
    with override_settings(DEBUG=True):
        response = client.post(target, data=b"--x\r\n", content_type="multipart/form-data")
    assert response.status_code == 400
    assert response.json() == {"detail": "Malformed request body: MultiPartParserError."}
