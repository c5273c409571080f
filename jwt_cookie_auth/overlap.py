"""Overlap the revocation cache's round trip with the user query (django-redis only).

In the default mode a request needs two independent answers: "is this session
revoked?" from Redis and the user row from the database. Asked one after the other,
the Redis round trip adds its whole latency to every request. Here the ``MGET`` is
written to a pooled Redis connection first, the database query runs, and the reply,
which has arrived meanwhile, is read afterwards: the request pays for the send and the
parse, not for the wait.

The connection stays checked out of django-redis's pool between the send and the read,
so no other thread can read our reply. If the work in between raises, or anything
about the exchange fails, the connection is closed rather than returned with a reply
still unread. Only django-redis's ``DefaultClient`` (single server or primary/replica)
and ``SentinelClient`` are overlapped, always on the primary's pool (``cache_primary``:
a replica may still say "live" for a revoked session); every other cache, and any
failure to send, returns ``None`` from ``send_get_many``, and the caller uses the plain
cache API instead.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Sequence
from typing import Any

from django.core.cache import BaseCache

logger = logging.getLogger("jwt_cookie_auth")


class PendingGetMany:
    """An ``MGET`` sent on a connection we hold; ``read`` returns the cache's values."""

    def __init__(self, client: Any, pool: Any, connection: Any, keys: Sequence[str]) -> None:
        self._client = client
        self._pool = pool
        self._connection = connection
        self._keys = keys

    def read(self) -> dict[str, Any]:
        """Return ``{key: value}`` for the keys present; raise if the exchange failed."""
        try:
            values = self._connection.read_response()
        except BaseException:
            self.abandon()
            raise
        self._pool.release(self._connection)
        return {
            key: self._client.decode(value)
            for key, value in zip(self._keys, values, strict=True)
            if value is not None
        }

    def abandon(self) -> None:
        """Close the connection: its unread reply must never reach another command."""
        try:
            self._connection.disconnect()
        finally:
            self._pool.release(self._connection)


def default_client(cache: BaseCache) -> Any:
    """django-redis's ``DefaultClient`` behind ``cache``, or None for any other cache."""
    try:
        from django_redis.client import (  # type: ignore[import-untyped]
            DefaultClient,
            SentinelClient,
        )
    except ImportError:
        return None
    client = getattr(cache, "client", None)
    # Subclasses that change how values are stored (the herd client) are not overlapped;
    # Sentinel's only changes how the primary and replicas are found.
    if type(client) not in (DefaultClient, SentinelClient):
        return None
    return client


@functools.cache
def _get_connection_takes_command(pool_type: Any) -> bool:
    # redis-py < 5.3 requires a command name; later versions deprecate passing one.
    parameter = inspect.signature(pool_type.get_connection).parameters.get("command_name")
    return parameter is not None and parameter.default is inspect.Parameter.empty


def send_get_many(cache: BaseCache, keys: Sequence[str]) -> PendingGetMany | None:
    """Send ``MGET`` of ``keys`` and return the pending reply, or None (use the cache API)."""
    client = default_client(cache)
    if client is None:
        return None
    try:
        # The primary (write=True): replicas lag, and one cut off keeps stale markers.
        redis_client = client.get_client(write=True)
        pool = redis_client.connection_pool
        pool_type: Any = type(pool)
        if _get_connection_takes_command(pool_type):
            connection = pool.get_connection("MGET")
        else:
            connection = pool.get_connection()
    except Exception:
        logger.debug("Could not take a Redis connection to overlap.", exc_info=True)
        return None
    pending = PendingGetMany(client, pool, connection, keys)
    try:
        connection.send_command("MGET", *(client.make_key(key) for key in keys))
    except Exception:
        pending.abandon()
        logger.debug("Could not send the overlapped MGET.", exc_info=True)
        return None
    return pending
