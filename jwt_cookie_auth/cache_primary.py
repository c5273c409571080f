"""Revocation state is read from the Redis primary, and its markers confirmed on replicas.

Reads. With Redis replicas, both django-redis (several ``LOCATION``s, or Sentinel's
``SentinelClient``) and Django's ``RedisCache`` (several ``LOCATION``s) send every
read to a replica chosen at random. A replica lags, and one whose link to the primary
is cut keeps serving what it last had: a "live" marker for a session revoked since.
Every read of revocation state (the per-request check, the ``CACHE_USERS`` copy read
with it, the refusal reason, Django session cutoffs) therefore goes to the primary,
where revocations are written:

- django-redis: its own ``get``/``get_many`` with the primary's client
  (``get_client(write=True)``, public API), for ``DefaultClient`` and its subclasses
  except ``ShardClient`` (no replicas: each key has one server);
- Django's ``RedisCache`` with several servers: a second ``RedisCache`` of the same
  class and ``OPTIONS`` built on the first ``LOCATION`` only (Django's documented
  primary), once per cache object; it reads what the configured one writes (same
  key function, prefix, version and serializer);
- any other cache: its plain API.

The login throttle needs nothing: it only ``add``s, ``incr``s and ``decr``s, which
both backends send to the primary.

Replication (``confirm_replicated``). A marker written to a primary that fails before
passing it on is lost, and the replica promoted in its place may still hold the
session's "live" marker. After writing revocation markers, ``mark_revoked`` waits on
the same connection with Redis ``WAIT`` until ``REVOCATION_CACHE_MIN_REPLICAS``
replicas have them (default ``"connected"``: every replica connected at that moment;
nothing to wait for on a single server) or ``REVOCATION_CACHE_REPLICA_TIMEOUT``
passes. A shortfall is logged as an error: the database still holds the revocation,
and a failover in the next moments would let the promoted replica's stale "live"
marker through for at most ``REVOCATION_CACHE_TIMEOUT`` after it was filled.
"""

from __future__ import annotations

import logging
import re
import threading
import weakref
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.cache import BaseCache

from jwt_cookie_auth.conf import app_settings

logger = logging.getLogger("jwt_cookie_auth")

CONNECTED = "connected"

_primaries: weakref.WeakKeyDictionary[BaseCache, BaseCache] = weakref.WeakKeyDictionary()
_primaries_lock = threading.Lock()


def django_redis_client(cache: BaseCache) -> Any:
    """django-redis's client behind ``cache`` if it has a primary to ask, else None."""
    try:
        from django_redis.client import DefaultClient, ShardClient  # type: ignore[import-untyped]
    except ImportError:
        return None
    client = getattr(cache, "client", None)
    if isinstance(client, DefaultClient) and not isinstance(client, ShardClient):
        return client
    return None


def _servers(location: Any) -> list[str]:
    # As django.core.cache.backends.redis.RedisCache splits its LOCATION.
    if isinstance(location, str):
        return re.split("[;,]", location)
    return list(location or [])


def _builtin_primary(cache: BaseCache) -> BaseCache | None:
    """A ``RedisCache`` on the primary alone, for Django's ``RedisCache`` with replicas."""
    try:
        from django.core.cache.backends.redis import RedisCache
    except ImportError:  # redis-py missing: then this cache is not a RedisCache either
        return None
    if not isinstance(cache, RedisCache):
        return None
    with _primaries_lock:
        primary = _primaries.get(cache)
        if primary is None:
            params = dict(settings.CACHES[app_settings.CACHE_ALIAS])
            params.pop("BACKEND", None)
            servers = _servers(params.pop("LOCATION", ""))
            # One server: it is the primary. Built the way Django's CacheHandler builds
            # caches, so OPTIONS, KEY_PREFIX, VERSION and KEY_FUNCTION are the same.
            primary = cache if len(servers) <= 1 else type(cache)(servers[0], params)
            _primaries[cache] = primary
    return primary


def get(cache: BaseCache, key: str) -> Any:
    """Return the value of ``key`` as the cache's primary holds it (None if absent)."""
    client = django_redis_client(cache)
    if client is not None:
        return cache.get(key, client=client.get_client(write=True))  # type: ignore[call-arg]
    return (_builtin_primary(cache) or cache).get(key)


def get_many(cache: BaseCache, keys: Sequence[str]) -> dict[str, Any]:
    """Return ``{key: value}`` for the keys the cache's primary holds."""
    client = django_redis_client(cache)
    if client is not None:
        return cache.get_many(keys, client=client.get_client(write=True))  # type: ignore[call-arg]
    return (_builtin_primary(cache) or cache).get_many(keys)


def wanted_replicas(connected: int) -> int:
    """How many replicas must confirm a revocation, given how many are connected."""
    setting = app_settings.REVOCATION_CACHE_MIN_REPLICAS
    if setting == CONNECTED:
        return connected
    return setting if isinstance(setting, int) and not isinstance(setting, bool) else connected


def confirm_replicated(connection: Any, connected: int, count: int) -> bool:
    """Wait until enough replicas hold this connection's writes; False on a shortfall.

    ``connection``: a redis-py client bound to the one connection that wrote the
    markers (``WAIT`` counts the writes of its own connection only). ``connected``:
    the replicas the primary had when it wrote them. ``count``: markers, for the log.
    """
    wanted = wanted_replicas(connected)
    if wanted <= 0:
        return True
    timeout = app_settings.REVOCATION_CACHE_REPLICA_TIMEOUT
    milliseconds = max(1, int(timeout.total_seconds() * 1000))
    acknowledged = int(connection.wait(wanted, milliseconds))
    if acknowledged >= wanted:
        return True
    logger.error(
        "%d revocation markers reached %d of %d Redis replicas within %d ms. The "
        "database holds the revocations; if the primary fails now, a promoted replica "
        "may accept these sessions for up to REVOCATION_CACHE_TIMEOUT.",
        count,
        acknowledged,
        wanted,
        milliseconds,
    )
    return False
