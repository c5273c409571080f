"""Django REST framework authentication from the access cookie or a Bearer header.

- ``Authorization: Bearer <access token>`` is for API clients. A browser never
  attaches it on its own, so it needs no CSRF check. A Bearer header that fails is a
  401 even if a valid cookie is present: a bogus header can never be used to skip
  the CSRF check that the cookie would need.
- The access cookie is attached by the browser to cross-site requests too, so unsafe
  methods are CSRF-checked exactly as DRF's ``SessionAuthentication`` does, with
  Django's own CSRF machinery.

Failures are ``AuthenticationFailed``; with ``authenticate_header`` DRF answers 401
with ``WWW-Authenticate``, never 403 or 500. A refused token's 401 says why, whatever
the project's exception handler, as long as it keeps DRF's dict bodies:
``{"detail", "code", "reason"}`` (``refusals``: ``session_revoked`` / ``admin`` after
a force logout, ``token_expired`` / ``access_expired`` when a refresh will do, ...).
"""

from __future__ import annotations

import logging
from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from jwt_cookie_auth import identity, refusals, tokens
from jwt_cookie_auth.csrf import enforce_csrf
from jwt_cookie_auth.identity import authenticate_access_token
from jwt_cookie_auth.reporting import protect
from jwt_cookie_auth.request_auth import resolve

logger = logging.getLogger("jwt_cookie_auth")

BEARER = b"bearer"


def bearer_token(request: Request) -> str | None:
    """Return the token of an ``Authorization: Bearer`` header.

    None when the request has no Bearer header at all; ``""`` when it has one that is
    malformed (no token, extra parts, non-ASCII), which must fail, not fall back.
    """
    parts = get_authorization_header(request).split()
    if not parts or parts[0].lower() != BEARER:
        return None
    if len(parts) != 2:
        return ""
    try:
        return parts[1].decode("ascii")
    except UnicodeDecodeError:
        return ""


class TokenRefused(exceptions.AuthenticationFailed):
    """401 ``{"detail", "code", "reason"}`` for a token refused for ``reason`` (``refusals``).

    The body is DRF's dict form of ``detail``, so DRF's default exception handler, and
    any project handler that keeps dict bodies, sends the code and reason unchanged.
    """

    def __init__(self, reason: str, detail: Any = None) -> None:
        code = refusals.code_for(reason)
        message = detail if detail is not None else _("Session expired or revoked.")
        super().__init__(message, code)
        # A plain dict: DRF would wrap each value in an ErrorDetail list otherwise.
        body: dict[str, Any] = {"detail": str(message), "code": code, "reason": reason}
        self.detail = body
        self.reason = reason


class JWTCookieAuthentication(BaseAuthentication):
    """Authenticate with the access cookie (CSRF-checked) or a Bearer token."""

    www_authenticate_realm = "api"

    def authenticate(self, request: Request) -> tuple[Any, tokens.Claims] | None:
        # Without the middleware: still keep the tokens out of error reports.
        protect(request._request)
        bearer = bearer_token(request)
        if bearer is not None:
            return self._authenticate_bearer(bearer)
        state = resolve(request._request)
        if state.user is None:
            if state.csrf_failed:
                # The renewal waited for CSRF and the request failed it: 403, as it
                # would be with a live access cookie (nothing was rotated).
                self.enforce_csrf(request)
            if state.error is not None:
                raise TokenRefused(state.reason or refusals.INVALID_TOKEN)
            return None
        self.enforce_csrf(request)
        assert state.claims is not None
        return state.user, state.claims

    def _authenticate_bearer(self, token: str) -> tuple[Any, tokens.Claims]:
        if not token:
            raise TokenRefused(refusals.INVALID_TOKEN, _("Invalid Authorization header."))
        try:
            return authenticate_access_token(token)
        except tokens.TokenError as exc:
            logger.debug("Bearer token refused: %s", exc)
            reason = identity.refusal_reason(exc)  # a query only for a revoked session
            raise TokenRefused(reason, _("Invalid or expired token.")) from None

    def enforce_csrf(self, request: Request) -> None:
        """Apply Django's CSRF check to a cookie-authenticated request (as DRF does)."""
        enforce_csrf(request)

    def authenticate_header(self, request: Request) -> str:
        return f'Bearer realm="{self.www_authenticate_realm}"'
