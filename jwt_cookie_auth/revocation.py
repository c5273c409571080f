"""Revoke sessions, and answer "is this session live, and this user's?" on every request.

The database (``LoginSession.revoked_at``) is the source of truth. Django's cache
(``CACHE_ALIAS``; django-redis in production) serves it so that an authenticated
request costs one cache ``get`` and no SQL for revocation, and every worker process
sees a revocation at once.

The "live" marker names the session's owner (``live_marker``), so a token whose
``sub`` is not the user of its ``sid`` is refused from the same cache read, and from
the same query on a miss. Only a key holder can mint such a token; refusing it costs
nothing. Such a refusal never writes a "revoked" marker: the session stays live for
its owner. A marker written by an older version (``LEGACY_LIVE``) names no owner and
is read as a miss (the database answers) until it expires, at most
``REVOCATION_CACHE_TIMEOUT`` after the upgrade; it cannot be replaced sooner, since a
fill only ever uses ``add``.

Ordering rules that keep the cache from ever saying "live" for a revoked session:

- revocation writes the database first, then *sets* a revoked marker (never a
  delete, which a concurrent fill could undo);
- a fill after a cache miss uses ``add``, which never overwrites a marker written
  meanwhile;
- a "live" answer is trusted for ``REVOCATION_CACHE_TIMEOUT`` only, which bounds the
  damage of a revocation whose cache write was lost;
- markers are read from the Redis primary, never a replica that may lag, and a
  revocation waits until the replicas hold its markers (``cache_primary``);
- if the cache fails or returns nothing (django-redis ``IGNORE_EXCEPTIONS``), the
  database answers. A missing row (flushed, or its user deleted) counts as revoked;
- with ``LOCAL_REVOCATION_CACHE`` a process answers from its own copy of the markers
  it has read, kept honest by Redis ``CLIENT TRACKING`` (``local_revocation``), and a
  revocation returns only after Redis has sent the invalidations.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.core.cache import BaseCache, caches
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from jwt_cookie_auth import (
    cache_primary,
    clock,
    db_routing,
    local_revocation,
    overlap,
    redis_bulk,
    refusals,
)
from jwt_cookie_auth.conf import app_settings
from jwt_cookie_auth.models import LoginSession, RevokeReason
from jwt_cookie_auth.signals import session_revoked

logger = logging.getLogger("jwt_cookie_auth")

REVOKED = 0
# What versions before owner-carrying markers wrote for "live": never trusted now.
LEGACY_LIVE = 1
LIVE_PREFIX = "live:"
KEY_PREFIX = "jwt_cookie_auth:session:"

T = TypeVar("T")


def get_cache() -> BaseCache:
    return caches[app_settings.CACHE_ALIAS]


def cache_key(session_id: Any) -> str:
    return f"{KEY_PREFIX}{session_id}"


def _revoked_timeout() -> int:
    # A revoked marker must outlive every access token of the session; after that
    # a miss falls back to the database, which still says revoked.
    lifetime = app_settings.ACCESS_TOKEN_LIFETIME + app_settings.LEEWAY
    return int(lifetime.total_seconds()) + 60


def live_marker(owner: Any) -> str:
    """Return the cached value for "live, and owned by the user with this primary key"."""
    return f"{LIVE_PREFIX}{owner}"


def _owner_in_database(session_id: str) -> str | None:
    """Return the user id (as in a token's ``sub``) of a live session, or None."""
    try:
        pk = uuid.UUID(session_id)
    except ValueError:
        return None
    # From the primary: this answer is cached as "live" (db_routing).
    owners = (
        db_routing.on_primary(LoginSession)
        .filter(pk=pk, revoked_at__isnull=True)
        .values_list("user_id", flat=True)[:1]
    )
    return next((str(owner) for owner in owners), None)


def _live_in_database(session_id: str, owner: str | None) -> bool:
    # Compare here rather than filter on user_id: a foreign subject must never make a
    # fill write "revoked" for a session that is live for its owner.
    found = _owner_in_database(session_id)
    return found is not None and (owner is None or found == owner)


def is_session_revoked(session_id: str, owner: str | None = None) -> bool:
    """Return whether the session (and so every token of its family) is revoked.

    With ``owner`` (a token's ``sub``), a session of another user counts as revoked.
    """
    return lookup(session_id, owner=owner)[0]


def lookup(
    session_id: str, *, owner: str | None = None, extra_key: str | None = None
) -> tuple[bool, Any]:
    """Return (is the session refused, the cached value of ``extra_key`` or None).

    Refused: revoked, unknown, or (with ``owner``) not that user's. Both answers come
    from one cache round trip (``get_many``), so a caller can fetch something else it
    needs per request (a cached user) at no extra cost.
    """
    key = cache_key(session_id)
    cache = get_cache()
    # LOCAL_REVOCATION_CACHE: no round trip on a hit; None when it cannot vouch.
    local = local_revocation.get_many(cache, [key, extra_key] if extra_key else [key])
    if local is not None:
        extra = local.get(extra_key) if extra_key else None
        return _is_revoked(local.get(key), cache, key, session_id, owner), extra
    try:
        # From the primary: a replica may still hold "live" for a revoked session.
        values = (
            cache_primary.get_many(cache, [key, extra_key])
            if extra_key
            else {key: cache_primary.get(cache, key)}
        )
    except Exception:
        logger.warning("Revocation cache unavailable; asking the database.", exc_info=True)
        return not _live_in_database(session_id, owner), None
    extra = values.get(extra_key) if extra_key else None
    return _is_revoked(values.get(key), cache, key, session_id, owner), extra


def lookup_during(
    session_id: str, work: Callable[[], T], *, owner: str | None = None
) -> tuple[bool, T | None]:
    """Return (is the session refused, ``work()``), running ``work`` while the cache answers.

    With django-redis the marker's ``MGET`` is sent first, ``work`` (the user query)
    runs while Redis answers, and the reply is read afterwards (``overlap``): the
    revocation check costs no waiting. With any other cache the check comes first and
    ``work`` runs only for a live session (None otherwise). Same answer as ``lookup``.
    """
    key = cache_key(session_id)
    cache = get_cache()
    local = local_revocation.get_many(cache, [key])
    if local is not None:
        # Nothing to overlap: a hit costs no round trip.
        revoked = _is_revoked(local.get(key), cache, key, session_id, owner)
        return revoked, None if revoked else work()
    pending = overlap.send_get_many(cache, [key])
    if pending is None:
        revoked = is_session_revoked(session_id, owner)
        return revoked, None if revoked else work()
    try:
        result = work()
    except BaseException:
        pending.abandon()
        raise
    try:
        values = pending.read()
    except Exception:
        logger.warning("Revocation cache unavailable; asking the database.", exc_info=True)
        return not _live_in_database(session_id, owner), result
    return _is_revoked(values.get(key), cache, key, session_id, owner), result


def refusal_reason(session_id: str, owner: str | None = None) -> str:
    """Return why ``lookup`` refused this session, for the client (one query).

    Only for a request already refused: the cache's "revoked" marker names no reason,
    and a request that succeeds must not pay for one. The row's ``revoke_reason``;
    ``unknown_session`` when the row is gone; ``invalid_token`` when it is live but
    another user's (a token naming someone else's session: told by the cached "live"
    marker where there is one, so such a forgery still costs no query).
    """
    try:
        pk = uuid.UUID(session_id)
    except ValueError:
        return refusals.INVALID_TOKEN
    if owner is not None:
        try:
            state = cache_primary.get(get_cache(), cache_key(session_id))
        except Exception:
            state = None
        live = isinstance(state, str) and state.startswith(LIVE_PREFIX)
        if live and state != live_marker(owner):
            return refusals.INVALID_TOKEN
    row = (
        LoginSession.objects.filter(pk=pk).values("revoked_at", "revoke_reason", "user_id").first()
    )
    if row is None:
        return refusals.UNKNOWN_SESSION
    if row["revoked_at"] is not None:
        return str(row["revoke_reason"] or refusals.REVOKED)
    if owner is not None and str(row["user_id"]) != owner:
        return refusals.INVALID_TOKEN
    # Live and the subject's by now: nothing more precise to say.
    return refusals.REVOKED


def cached_verdict(state: Any, owner: str | None) -> bool | None:
    """Return whether a cached marker refuses the session, or None when the database must say.

    Pure, shared by the sync path and ``async_revocation``.
    """
    if isinstance(state, str) and state.startswith(LIVE_PREFIX):
        return owner is not None and state != live_marker(owner)
    if state == REVOKED:
        return True
    # A miss, a marker of an older version (LEGACY_LIVE) or anything unexpected.
    return None


def owner_refused(found: str | None, owner: str | None) -> bool:
    """Return whether a session whose live owner is ``found`` (None: none) is refused."""
    return found is None or (owner is not None and found != owner)


def _is_revoked(state: Any, cache: BaseCache, key: str, session_id: str, owner: str | None) -> bool:
    verdict = cached_verdict(state, owner)
    if verdict is not None:
        return verdict
    return owner_refused(_fill(cache, key, session_id), owner)


def database_verdict(session_id: str, owner: str | None, *, fill: bool = True) -> bool:
    """Return whether the database refuses the session (one query; sync).

    With ``fill`` the answer is cached under the rules above (``add`` for live), as on
    a cache miss; without it (the cache failed) nothing is written.
    """
    if not fill:
        return not _live_in_database(session_id, owner)
    return owner_refused(_fill(get_cache(), cache_key(session_id), session_id), owner)


def _fill(cache: BaseCache, key: str, session_id: str) -> str | None:
    """Ask the database for the live session's owner and cache the answer."""
    owner = _owner_in_database(session_id)
    try:
        if owner is not None:
            timeout = int(app_settings.REVOCATION_CACHE_TIMEOUT.total_seconds())
            cache.add(key, live_marker(owner), timeout=timeout)
        else:
            cache.set(key, REVOKED, timeout=_revoked_timeout())
    except Exception:
        logger.warning("Could not fill the revocation cache.", exc_info=True)
    return owner


def mark_revoked(session_ids: Iterable[Any]) -> None:
    """Write revoked markers for sessions already revoked in the database."""
    markers = {cache_key(sid): REVOKED for sid in session_ids}
    if not markers:
        return
    cache, timeout = get_cache(), _revoked_timeout()
    if redis_bulk.set_all(cache, list(markers), REVOKED, timeout):
        return
    try:
        cache.set_many(markers, timeout=timeout)
        local_revocation.confirm_delivery(cache)
    except Exception:
        # The database already says revoked; a stale "live" marker expires within
        # REVOCATION_CACHE_TIMEOUT.
        logger.error(
            "Could not write %d revocation markers to the cache.", len(markers), exc_info=True
        )


def revoke_sessions(
    where: Q, reason: RevokeReason, request: HttpRequest | None = None
) -> dict[Any, list[uuid.UUID]]:
    """Revoke every live session matching ``where`` and return them by user id.

    A fixed number of queries whatever the number of sessions: one UPDATE and one
    SELECT of the ids it touched, then one cache ``set_many``.
    """
    now = clock.now()
    # The transaction, the UPDATE and the SELECT of what it touched on one database:
    # a replica has not seen the UPDATE, and no marker would be written (db_routing).
    sessions = db_routing.on_primary(LoginSession)
    with transaction.atomic(using=sessions.db):
        sessions.filter(where, revoked_at__isnull=True).update(revoked_at=now, revoke_reason=reason)
        rows = list(
            sessions.filter(where, revoked_at=now, revoke_reason=reason).values_list(
                "pk", "user_id"
            )
        )
    mark_revoked(pk for pk, _ in rows)
    by_user: dict[Any, list[uuid.UUID]] = defaultdict(list)
    for pk, user_id in rows:
        by_user[user_id].append(pk)
    for user_id, session_ids in by_user.items():
        session_revoked.send(
            sender=LoginSession,
            user_id=user_id,
            session_ids=session_ids,
            reason=reason,
            request=request,
        )
    return dict(by_user)


def revoke_session(
    session_id: Any, reason: RevokeReason, request: HttpRequest | None = None
) -> bool:
    """Revoke one session; return whether it was live."""
    return bool(revoke_sessions(Q(pk=session_id), reason, request))


def revoke_user_sessions(
    user_ids: Iterable[Any], reason: RevokeReason, request: HttpRequest | None = None
) -> dict[Any, list[uuid.UUID]]:
    """Revoke every session of these users (logout everywhere, force logout)."""
    # A QuerySet stays a subquery: one UPDATE for any number of users.
    ids = user_ids if isinstance(user_ids, QuerySet) else list(user_ids)
    return revoke_sessions(Q(user_id__in=ids), reason, request)
