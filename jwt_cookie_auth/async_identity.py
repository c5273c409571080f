"""``identity.authenticate_access_token`` for code running on an event loop.

The same checks in the same order, from the same shared pieces: the signature and
expiry (``verified_tokens.decode``, pure CPU), the revocation marker (``async_revocation``),
the cached user's fitness (``identity.usable_cached_user``) and the password binding
(``password_binding.matches``). Where the answer needs a thread it takes one hop:

- ``CACHE_USERS`` with a native-async cache and a warm entry: no hop at all;
- a cache without native async methods: the whole sync check in one hop (identical
  to the sync path, including the Redis/SQL overlap of ``overlap``);
- the user row (default mode): one hop, as Django's ORM has no native async queries
  (``aget`` is a ``sync_to_async`` wrapper);
- refusals that write or query (a changed password revokes the session; the reason of
  a revoked session is read from its row): one hop, on that failure path only.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async

from jwt_cookie_auth import identity, password_binding, revocation, tokens, verified_tokens
from jwt_cookie_auth.async_revocation import alookup, has_native_async
from jwt_cookie_auth.conf import app_settings
from jwt_cookie_auth.identity import SessionRevoked, UnknownUser


async def aauthenticate_access_token(token: Any) -> tuple[Any, tokens.Claims]:
    """Return ``(user, claims)`` for a live access token, or raise ``TokenError``."""
    if not has_native_async(revocation.get_cache()):
        # No async cache to await: one hop for all of it beats one per step.
        return await sync_to_async(identity.authenticate_access_token)(token)
    claims = verified_tokens.decode(token, tokens.ACCESS)
    if app_settings.CACHE_USERS:
        key = identity.user_cache_key(claims.sub)
        revoked, cached = await alookup(claims.sid, owner=claims.sub, extra_key=key)
        if revoked:
            raise SessionRevoked("session revoked, or not the subject's", claims)
        if identity.usable_cached_user(cached, claims):
            return cached, claims
        return await sync_to_async(identity.user_from_database)(claims, cached), claims
    revoked, _ = await alookup(claims.sid, owner=claims.sub)
    if revoked:
        raise SessionRevoked("session revoked, or not the subject's", claims)
    user = await sync_to_async(identity.find_active_user)(claims.sub)
    if user is None:
        raise UnknownUser("no such user, or inactive")
    if not password_binding.matches(user, claims):
        # The sync check decides (it may ask the primary's row), and on a real change
        # revokes the session (a write) and raises SessionRevoked.
        await sync_to_async(identity.check_password_binding)(user, claims)
    return user, claims


async def arefusal_reason(exc: tokens.TokenError) -> str:
    """Return ``identity.refusal_reason(exc)``; a hop only when it needs a query."""
    if isinstance(exc, SessionRevoked) and exc.reason is None and exc.claims is not None:
        return await sync_to_async(identity.refusal_reason)(exc)
    return identity.refusal_reason(exc)
