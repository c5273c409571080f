"""Turn a verified access token into a user: the revocation check and the user load.

This is the per-request hot path: one cache ``get`` for revocation and one SQL query
for the user. Both the middleware and the DRF class come through here, once per
request (the result is kept on the request).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ObjectDoesNotExist, ValidationError

from jwt_cookie_auth import revocation, tokens


class SessionRevoked(tokens.TokenError):
    pass


class UnknownUser(tokens.TokenError):
    pass


def load_user(user_id: str) -> Any:
    """Return the active user with this primary key, or raise ``UnknownUser``.

    Inactive, deleted and malformed ids all fail the same way (CVE-2024-22513).
    """
    user_model = get_user_model()
    try:
        pk = user_model._meta.pk.to_python(user_id)
        user = user_model._default_manager.get(pk=pk)
    except (ObjectDoesNotExist, ValidationError, ValueError, TypeError, OverflowError):
        raise UnknownUser("no such user") from None
    if not getattr(user, "is_active", True):
        raise UnknownUser("inactive user")
    return user


def authenticate_access_token(token: Any) -> tuple[Any, tokens.Claims]:
    """Return ``(user, claims)`` for a live access token, or raise ``TokenError``."""
    claims = tokens.decode(token, tokens.ACCESS)
    if revocation.is_session_revoked(claims.sid):
        raise SessionRevoked("session revoked")
    return load_user(claims.sub), claims
