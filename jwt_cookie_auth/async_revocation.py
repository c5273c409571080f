"""The revocation check of ``revocation.lookup``, for code running on an event loop.

Same cache keys, same markers, same answers: the verdict on a cached marker is
``revocation.cached_verdict`` and a miss is filled by ``revocation.database_verdict``,
both shared with the sync path. What differs is only how the cache is reached:

- a cache backend with native async methods (one that overrides ``aget_many``) is
  awaited directly: no thread hop;
- any other backend (as of Django 5.2 every built-in one, and django-redis: their
  ``aget``-style methods are ``sync_to_async`` wrappers, one hop per key) is asked with
  its sync ``get_many`` in a single ``sync_to_async`` call: one hop for the whole
  round trip instead of one per key.

A miss, a cache failure and the database fill are rare (at most once per session per
``REVOCATION_CACHE_TIMEOUT`` and worker) and run the sync code in one hop, so the
ordering rules of ``revocation`` (``add`` for live, ``set`` for revoked, database
first) hold unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from asgiref.sync import sync_to_async
from django.core.cache import BaseCache

from jwt_cookie_auth import cache_primary, revocation

logger = logging.getLogger("jwt_cookie_auth")


def has_native_async(cache: BaseCache) -> bool:
    """Return whether ``cache`` implements ``aget_many`` itself (not Django's thread wrapper)."""
    return type(cache).aget_many is not BaseCache.aget_many


async def aget_many(cache: BaseCache, keys: Sequence[str]) -> dict[str, Any]:
    """Return ``{key: value}`` for the keys present, in one round trip and at most one hop.

    Without native async methods, from the Redis primary as the sync path reads
    (``cache_primary``). A native-async backend is read through its own ``aget_many``:
    it must read where it writes (no replica of its own), which ``cache_primary`` cannot
    arrange for a backend it does not know.
    """
    if has_native_async(cache):
        return dict(await cache.aget_many(list(keys)))
    return dict(await sync_to_async(cache_primary.get_many)(cache, list(keys)))


async def alookup(
    session_id: str, *, owner: str | None = None, extra_key: str | None = None
) -> tuple[bool, Any]:
    """Return (is the session refused, the cached value of ``extra_key`` or None).

    The async twin of ``revocation.lookup``: refused means revoked, unknown, or (with
    ``owner``, a token's ``sub``) another user's. ``extra_key`` comes in the same
    round trip (the cached user of ``CACHE_USERS``).
    """
    key = revocation.cache_key(session_id)
    cache = revocation.get_cache()
    try:
        values = await aget_many(cache, [key, extra_key] if extra_key else [key])
    except Exception:
        logger.warning("Revocation cache unavailable; asking the database.", exc_info=True)
        refused = await sync_to_async(revocation.database_verdict)(session_id, owner, fill=False)
        return refused, None
    extra = values.get(extra_key) if extra_key else None
    verdict = revocation.cached_verdict(values.get(key), owner)
    if verdict is None:
        verdict = await sync_to_async(revocation.database_verdict)(session_id, owner)
    return verdict, extra
