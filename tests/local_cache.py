"""What tests of LOCAL_REVOCATION_CACHE at its default share: a private django-redis
server, a plain client on it, and markers.

Test modules bind the fixtures to module names (pytest finds them there), e.g.
``redis = local_cache.redis``, and may use ``MARKS`` as their ``pytestmark``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis as redis_py
from django.core.cache import caches

from jwt_cookie_auth import local_revocation, revocation
from tests.conftest import on_django_redis
from tests.servers import RedisServer, redis_caches, redis_server

OWNER = "7"

MARKS = [
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    # Private servers: the builtin-RedisCache pass would run the same tests again.
    pytest.mark.skipif(not on_django_redis(), reason="runs once, in the django-redis pass"),
]


@pytest.fixture
def redis(settings: Any) -> Iterator[RedisServer]:
    """django-redis on a private server; every LOCAL_REVOCATION_CACHE* at its default."""
    with redis_server() as server:
        settings.CACHES = redis_caches(server.url, ignore_exceptions=False)
        settings.JWT_COOKIE_AUTH = {
            name: value
            for name, value in settings.JWT_COOKIE_AUTH.items()
            if not name.startswith("LOCAL_REVOCATION_CACHE")
        }
        yield server
        for found in local_revocation._trackers.values():
            found.close()


@pytest.fixture
def raw(redis: RedisServer) -> Iterator[redis_py.Redis]:
    """A plain RESP2 client on the server, as another process (or an operator) uses it."""
    client = redis_py.Redis(host="127.0.0.1", port=redis.port)
    yield client
    client.close()


def tracker() -> local_revocation.Tracker:
    found = local_revocation.tracker(revocation.get_cache())
    assert found is not None
    return found


def redis_key(key: str) -> bytes:
    return revocation.get_cache().make_key(key).encode()  # type: ignore[attr-defined]


def live_markers(count: int, owner: str = OWNER) -> list[str]:
    """``count`` sessions with a "live" marker in Redis and no row: a miss means refused."""
    sessions = [str(uuid.uuid4()) for _ in range(count)]
    caches["default"].set_many(
        {revocation.cache_key(sid): revocation.live_marker(owner) for sid in sessions}, 60
    )
    return sessions


def hold(sessions: list[str]) -> None:
    """Look each session up until this process holds its "live" marker locally."""
    for sid in sessions:
        for _ in range(2):
            assert revocation.lookup(sid, owner=OWNER) == (False, None)
    held = tracker().entries
    assert all(redis_key(revocation.cache_key(sid)) in held for sid in sessions)
