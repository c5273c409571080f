"""How the current request is authenticated, for the header of every demo page."""

from __future__ import annotations

from typing import Any

from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest

from jwt_cookie_auth.request_auth import resolve


def jwt_auth(request: HttpRequest) -> dict[str, Any]:
    """Return the request's JWT claims (or None) and whether tokens were just renewed.

    The middleware resolves the token cookies once per request; a user can also be
    logged in through Django's own session (the admin login), with no claims.
    """
    state = resolve(request)
    return {
        "jwt_claims": state.claims,
        "jwt_renewed": state.issued is not None,
        # The /ws/whoami/ socket exists only under an ASGI server (example_project/asgi.py).
        "websocket_demo": isinstance(request, ASGIRequest),
    }
