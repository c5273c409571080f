"""A small django-ninja API beside the DRF one (README "django-ninja").

``/ninja/auth/...``: the package's endpoints as a ninja router (the same views as
``/auth/``); ``/ninja/me`` (sync) and ``/ninja/async/me`` (async, on the event loop
under an ASGI server) answer for the cookie or Bearer user. The OpenAPI document is
at ``/ninja/openapi.json``; ninja's docs page is off, as it loads Swagger UI from a
CDN.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import NinjaAPI

from jwt_cookie_auth.contrib.ninja import (
    AsyncJWTCookieAuth,
    JWTCookieAuth,
    add_exception_handlers,
    auth_router,
)

api = NinjaAPI(
    title="django-jwt-cookie-auth demo (ninja)",
    urls_namespace="ninja",
    auth=JWTCookieAuth(),
    docs_url=None,
)
add_exception_handlers(api)
api.add_router("/auth/", auth_router())


def _whoami(request: HttpRequest) -> dict[str, Any]:
    claims: Any = request.auth  # type: ignore[attr-defined]
    return {
        "user": request.user.get_username(),
        "session_id": claims.sid,
        "access_expires_at": claims.expires_at.isoformat(),
    }


@api.get("/me")
def me(request: HttpRequest) -> dict[str, Any]:
    """The logged-in user and session, from the verified access token."""
    return _whoami(request)


@api.get("/async/me", auth=AsyncJWTCookieAuth())
async def async_me(request: HttpRequest) -> dict[str, Any]:
    """The same from an async operation: authenticated on the event loop."""
    return _whoami(request)
