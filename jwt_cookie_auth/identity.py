"""Turn a verified access token into a user: the revocation check and the user load.

This is the per-request hot path. Both the middleware and the DRF class come through
here, once per request (the result is kept on the request).

- Default: one cache ``get`` for revocation and one SQL query for the user. With
  django-redis the two overlap (``overlap``): the user query runs while Redis answers.
  The query's SQL is built once per process (``pk_lookup``).
- ``CACHE_USERS``: the user object comes from the cache in the same round trip as the
  revocation marker (``get_many``): no SQL at all with a warm cache. A user row that
  changes is dropped from the cache on save, so a stale copy lives at most
  ``USER_CACHE_TIMEOUT`` after a save that raced a fill; deactivation, password change
  and deletion revoke the sessions themselves, so they still act on the next request.

Both modes refuse a token whose ``sub`` does not own its ``sid`` (the revocation
marker names the owner) and a token issued for another password than the user's
(``password_binding``), which also revokes the session. With ``CACHE_USERS`` a
password written without ``save()`` is seen when the cached copy goes, or at the
refresh: at most ``ACCESS_TOKEN_LIFETIME`` + ``LEEWAY`` after the write.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import router

from jwt_cookie_auth import (
    db_routing,
    local_revocation,
    password_binding,
    pk_lookup,
    refusals,
    revocation,
    tokens,
    verified_tokens,
)
from jwt_cookie_auth.conf import app_settings
from jwt_cookie_auth.models import RevokeReason

logger = logging.getLogger("jwt_cookie_auth")


class SessionRevoked(tokens.TokenError):
    """The token's session is revoked, gone, or not its subject's.

    ``reason`` when known without a query (``refusals``); else ``refusal_reason()``
    asks the database, on this failure path only.
    """

    def __init__(
        self, message: str, claims: tokens.Claims | None = None, reason: str | None = None
    ) -> None:
        super().__init__(message)
        self.claims = claims
        self.reason = reason


class UnknownUser(tokens.TokenError):
    pass


def refusal_reason(exc: tokens.TokenError) -> str:
    """Return the client-facing reason (``refusals``) an access token was refused for.

    For a revoked session this costs one query: the cache only says "revoked".
    """
    if isinstance(exc, SessionRevoked):
        if exc.reason is None and exc.claims is not None:
            exc.reason = revocation.refusal_reason(exc.claims.sid, owner=exc.claims.sub)
        return exc.reason or refusals.REVOKED
    if isinstance(exc, UnknownUser):
        return refusals.UNKNOWN_USER
    if isinstance(exc, tokens.TokenExpired):
        return refusals.ACCESS_EXPIRED
    return refusals.INVALID_TOKEN


def load_user(user_id: str) -> Any:
    """Return the active user with this primary key, or raise ``UnknownUser``.

    Inactive, deleted and malformed ids all fail the same way (CVE-2024-22513).
    """
    user = find_active_user(user_id)
    if user is None:
        raise UnknownUser("no such user, or inactive")
    return user


def find_active_user(user_id: str) -> Any:
    """Return the active user with this primary key, or None."""
    user_model = get_user_model()
    try:
        pk = user_model._meta.pk.to_python(user_id)
        user = pk_lookup.get_by_pk(user_model, pk)
    except (ValidationError, ValueError, TypeError, OverflowError):
        return None
    if user is None or not getattr(user, "is_active", True):
        return None
    return user


def user_cache_key(user_id: Any) -> str:
    return f"jwt_cookie_auth:user:{user_id}"


def forget_cached_user(user_id: Any) -> None:
    """Drop a user from the user cache (on save and delete)."""
    try:
        cache = revocation.get_cache()
        cache.delete(user_cache_key(user_id))
        # LOCAL_REVOCATION_CACHE: return only once Redis has sent every process the
        # invalidation, so a deactivation is refused on the very next request anywhere.
        local_revocation.confirm_delivery(cache)
    except Exception:
        logger.warning("Could not drop user %s from the cache.", user_id, exc_info=True)


def _matches_on_primary(user: Any, claims: tokens.Claims) -> bool:
    """Return whether the primary's row of ``user`` matches the token's password.

    The hot path reads users through the router, maybe from a replica that has not
    seen a password change yet: the session kept after the change (``password_change``)
    would be revoked on such a stale row. Only the written row may revoke; asked only
    on a mismatch, and only when reads and writes go to different databases.
    """
    user_model = get_user_model()
    alias = db_routing.primary(user_model)
    if alias == router.db_for_read(user_model):
        return False  # the row just read is the primary's
    fresh = pk_lookup.get_by_pk(user_model, user.pk, using=alias)
    return fresh is not None and password_binding.matches(fresh, claims)


def check_password_binding(user: Any, claims: tokens.Claims) -> None:
    """Refuse, and revoke for good, a session whose user's password has changed."""
    if password_binding.matches(user, claims) or _matches_on_primary(user, claims):
        return
    revocation.revoke_session(claims.sid, RevokeReason.PASSWORD_CHANGE)
    logger.info("Session %s revoked: the password of user %s changed.", claims.sid, claims.sub)
    raise SessionRevoked(
        "password changed since the token was issued", claims, RevokeReason.PASSWORD_CHANGE.value
    )


def _cached_user(claims: tokens.Claims) -> Any:
    key = user_cache_key(claims.sub)
    revoked, cached = revocation.lookup(claims.sid, owner=claims.sub, extra_key=key)
    if revoked:
        raise SessionRevoked("session revoked, or not the subject's", claims)
    if usable_cached_user(cached, claims):
        return cached
    return user_from_database(claims, cached)


def usable_cached_user(cached: Any, claims: tokens.Claims) -> bool:
    """Return whether the user cache's copy may serve this token (pure; no I/O)."""
    return (
        cached is not None
        and str(cached.pk) == claims.sub
        and getattr(cached, "is_active", True)
        and password_binding.matches(cached, claims)
    )


def user_from_database(claims: tokens.Claims, cached: Any) -> Any:
    """Load the token's user from its row, check the password, and cache the row (sync).

    ``cached`` is the unusable copy the cache returned (or None).
    """
    if cached is not None and str(cached.pk) == claims.sub and getattr(cached, "is_active", True):
        # A copy cached before the password changed, or a token of an old password:
        # only the row can tell, and only the row may revoke the session.
        forget_cached_user(claims.sub)
    key = user_cache_key(claims.sub)
    user = load_user(claims.sub)
    check_password_binding(user, claims)
    timeout = int(app_settings.USER_CACHE_TIMEOUT.total_seconds())
    try:
        # add, not set: never overwrite a fresher copy, or resurrect a dropped one
        # that a concurrent save deleted after we read the row.
        revocation.get_cache().add(key, user, timeout=timeout)
    except Exception:
        logger.warning("Could not cache user %s.", claims.sub, exc_info=True)
    return user


def authenticate_access_token(token: Any) -> tuple[Any, tokens.Claims]:
    """Return ``(user, claims)`` for a live access token, or raise ``TokenError``."""
    # The signature check is skipped for a token this process verified before; the
    # revocation check and the user load below still run on every request.
    claims = verified_tokens.decode(token, tokens.ACCESS)
    if app_settings.CACHE_USERS:
        return _cached_user(claims), claims
    revoked, user = revocation.lookup_during(
        claims.sid, lambda: find_active_user(claims.sub), owner=claims.sub
    )
    if revoked:
        raise SessionRevoked("session revoked, or not the subject's", claims)
    if user is None:
        raise UnknownUser("no such user, or inactive")
    check_password_binding(user, claims)
    return user, claims
