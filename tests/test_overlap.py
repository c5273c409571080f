"""django-redis fast paths: the revocation check overlapped with the user query
(``overlap``) and revocation markers written by a script (``redis_bulk``).

Each test runs against a private redis-server (tests/servers.py), so these run in every
pass of ``make test``, not only the Redis one. What matters is what a request gets:
the right revoked/live answer, one Redis command, and a pooled connection that is
never handed back with an unread reply (which would give the next cache read on that
connection the previous request's answer).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import caches
from django.test import Client, RequestFactory
from django.urls import reverse

from jwt_cookie_auth import identity, overlap, redis_bulk, revocation
from jwt_cookie_auth.issuing import start_session
from jwt_cookie_auth.models import RevokeReason
from tests.conftest import login, make_user, redis_commands
from tests.servers import RedisServer, redis_caches, redis_server

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis(settings: Any) -> Iterator[RedisServer]:
    with redis_server() as server:
        settings.CACHES = redis_caches(server.url, ignore_exceptions=False)
        # The path these tests are about: without the local revocation cache (on by
        # default with django-redis and hiredis; tests/test_local_revocation.py).
        settings.JWT_COOKIE_AUTH = {"LOCAL_REVOCATION_CACHE": False}
        yield server


def session_of(client: Client) -> str:
    return str(client.get(reverse("jwt_cookie_auth:session")).json()["session_id"])


def new_session_id(user: Any) -> str:
    return str(start_session(RequestFactory().post("/auth/login/"), user).session.pk)


def test_one_mget_answers_live_and_revoked(redis: RedisServer, user: Any, client: Client) -> None:
    login(client, user)
    sid = session_of(client)
    assert client.get(reverse("me")).status_code == 200  # fills the marker
    with redis_commands() as sent:
        assert client.get(reverse("me")).status_code == 200
    assert [command[0] for command in sent] == [b"MGET"]

    revocation.revoke_session(sid, RevokeReason.ADMIN)
    with redis_commands() as sent:
        assert client.get(reverse("me")).status_code == 401
    assert sent
    assert sent[0][0] == b"MGET"


def test_work_runs_while_the_reply_is_pending(redis: RedisServer, user: Any) -> None:
    """The user query runs after the MGET is sent and before its reply is read."""
    sid = new_session_id(user)
    order: list[str] = []
    real_read = overlap.PendingGetMany.read

    def read(self: overlap.PendingGetMany) -> dict[str, Any]:
        order.append("read")
        return real_read(self)

    revocation.lookup_during(sid, lambda: None)  # connect first: no handshake below
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(overlap.PendingGetMany, "read", read)
        with redis_commands() as sent:
            revoked, result = revocation.lookup_during(
                sid, lambda: order.append(f"work after {len(sent)} command(s)") or "user"
            )
    assert (revoked, result) == (False, "user")
    assert order == ["work after 1 command(s)", "read"]


def test_failing_work_does_not_leave_a_reply_for_the_next_reader(
    redis: RedisServer, user: Any
) -> None:
    """The user query raises after the MGET went out: the next cache read is not fooled."""
    sid = new_session_id(user)
    cache = caches["default"]
    cache.set(revocation.cache_key(sid), revocation.live_marker(user.pk))

    def boom() -> None:
        raise RuntimeError("database went away")

    for _ in range(3):  # more attempts than the pool has idle connections
        with pytest.raises(RuntimeError):
            revocation.lookup_during(sid, boom)
    cache.set("jwt-test:other", "the right value")
    assert cache.get("jwt-test:other") == "the right value"
    assert revocation.lookup_during(sid, lambda: "ok") == (False, "ok")


def test_a_reply_that_cannot_be_read_is_answered_by_the_database(
    redis: RedisServer, user: Any
) -> None:
    live = new_session_id(user)
    dead = new_session_id(user)
    revocation.revoke_session(dead, RevokeReason.ADMIN)
    cache = caches["default"]
    cache.set(revocation.cache_key(dead), revocation.live_marker(user.pk))  # stale, never read

    def lost(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("connection reset while reading")

    from redis.connection import Connection

    for session_id, revoked in ((live, False), (dead, True)):
        assert cache.get("warm-up") is None  # a connected, idle connection in the pool
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(Connection, "read_response", lost)
            assert revocation.lookup_during(session_id, lambda: "u") == (revoked, "u")


def test_a_dead_redis_falls_back_to_the_database(redis: RedisServer, user: Any) -> None:
    live = new_session_id(user)
    dead = new_session_id(user)
    revocation.revoke_session(dead, RevokeReason.ADMIN)
    redis.kill()
    assert revocation.lookup_during(live, lambda: "u") == (False, "u")
    assert revocation.lookup_during(dead, lambda: "u")[0] is True


def test_other_caches_check_first_and_skip_the_work_when_revoked(settings: Any, user: Any) -> None:
    """Local memory (no overlap): a revoked session never costs the user query."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    dead = new_session_id(user)
    revocation.revoke_session(dead, RevokeReason.ADMIN)
    calls: list[int] = []
    assert overlap.send_get_many(caches["default"], ["k"]) is None
    revoked, result = revocation.lookup_during(dead, lambda: calls.append(1))
    assert (revoked, result, calls) == (True, None, [])


def test_deactivated_user_is_refused_with_the_overlap(redis: RedisServer, client: Client) -> None:
    user = make_user("dora")
    login(client, user)
    assert client.get(reverse("me")).status_code == 200
    type(user)._default_manager.filter(pk=user.pk).update(is_active=False)  # no signals
    assert client.get(reverse("me")).status_code == 401
    assert identity.find_active_user(str(user.pk)) is None


# --- Bulk marker writes (redis_bulk) -----------------------------------------------------


def test_bulk_markers_read_back_as_revoked_with_their_expiry(redis: RedisServer) -> None:
    cache = caches["default"]
    keys = [revocation.cache_key(f"session-{i}") for i in range(2500)]
    with redis_commands() as sent:
        assert redis_bulk.set_all(cache, keys, revocation.REVOKED, 120)
    # Three chunks (a first EVALSHA may be refused with NOSCRIPT, then retried).
    assert sum(command[0] == b"EVALSHA" for command in sent) >= 3
    values = cache.get_many(keys)
    assert len(values) == len(keys)
    assert set(values.values()) == {revocation.REVOKED}
    assert 110 <= cache.ttl(keys[0]) <= 120
    assert 110 <= cache.ttl(keys[-1]) <= 120


def test_a_failed_script_falls_back_to_set_many(
    redis: RedisServer, user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = Client()
    login(client, user)
    assert client.get(reverse("me")).status_code == 200  # a "live" marker is cached

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("NOSCRIPT and no way to load it")

    from redis.commands.core import Script

    monkeypatch.setattr(Script, "__call__", refuse)
    revocation.revoke_user_sessions([user.pk], RevokeReason.ADMIN)
    assert client.get(reverse("me")).status_code == 401


def test_force_logout_of_many_sessions_ends_each_one(redis: RedisServer, user: Any) -> None:
    clients = []
    for _ in range(5):
        client = Client()
        login(client, user)
        assert client.get(reverse("me")).status_code == 200
        clients.append(client)
    revocation.revoke_user_sessions([user.pk], RevokeReason.ADMIN)
    assert [c.get(reverse("me")).status_code for c in clients] == [401] * 5
