"""Attacks on LOCAL_REVOCATION_CACHE (default settings, django-redis, one host).

Each test tries to make a process accept a session revoked before it asked, or to make
the local copy serve something other than what Redis holds for the key, on a private
redis-server (tests/servers.py). The local cache is left at its default (on).

Four of them were accepted (or a 500) before the local cache learnt to handle them:

- the two ``backlog`` tests (a revoked session accepted after the revoking call
  returned): the revoking side's ``PING`` proves Redis has *written* the invalidations
  to the tracking socket, not that the tracking process can read them. When more are
  pending than the socket's receive window holds (~200 KB on loopback: ~1,500 markers),
  the rest waits in Redis's kernel send queue, out of a non-blocking read's reach; a
  drain that finds a burst now reads up to the ``PONG`` of a ``PING`` of its own;
- ``test_a_live_marker_is_not_trusted_past_its_ttl_in_redis``: a local entry outlived
  its key's TTL in Redis until Redis actually deleted the key; the key's ``PTTL`` is now
  read with it;
- ``test_an_undecodable_cached_value_is_not_a_server_error[default]``: a value that
  cannot be decoded raised out of ``revocation.lookup`` (a 500) instead of the database
  answering, as it does with the local cache off.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
import redis as redis_py
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from jwt_cookie_auth import django_sessions, identity, revocation
from jwt_cookie_auth.models import DjangoSessionCutoff, LoginSession
from tests import local_cache
from tests.conftest import login, make_user
from tests.local_cache import OWNER, hold, live_markers, redis_key
from tests.servers import RedisServer, redis_server

pytestmark = local_cache.MARKS

# The shared fixtures, found by pytest under these names.
redis = local_cache.redis
raw = local_cache.raw


def encoded(value: Any) -> bytes:
    """``value`` as django-redis stores it."""
    found = revocation.get_cache().client.encode(value)  # type: ignore[attr-defined]
    return found if isinstance(found, bytes) else str(found).encode()


# --- a backlog larger than the tracking socket's receive window ---------------------


def test_backlog_a_mass_revocation_is_refused_on_the_next_lookup(redis: RedisServer) -> None:
    """One ``mark_revoked`` of 4,000 sessions this process holds: ~540 KB of
    invalidation pushes for its tracking connection. When ``mark_revoked`` returns,
    ~190 KB sit in the tracking socket's receive queue and ~350 KB in Redis's send queue
    (``ss -tn``; CLIENT LIST shows omem=0: Redis has written them all). A drain of the
    receive queue alone answered "live" for the last-revoked session."""
    sessions = live_markers(4000)
    for sid in sessions:
        assert revocation.lookup(sid, owner=OWNER)[0] is False
    revocation.mark_revoked(sessions)
    assert revocation.lookup(sessions[-1], owner=OWNER)[0] is True
    assert all(revocation.lookup(sid, owner=OWNER)[0] for sid in sessions)


def test_backlog_a_force_logout_after_a_large_one_is_refused_on_the_next_request(
    redis: RedisServer,
) -> None:
    """Through the HTTP client. An admin force-logs-out a user with 6,000 sessions
    (an API bot) whose markers this process holds, then force-logs-out alice; both
    commands have returned when alice's stolen cookies come back: refused."""
    bot = make_user("bot")
    alice = get_user_model()._default_manager.create_user(  # type: ignore[attr-defined]
        username="alice-victim", password="a-Strong-passw0rd!"
    )
    client = Client()
    login(client, alice, password="a-Strong-passw0rd!")
    row = LoginSession.objects.get(user=alice)
    fields = {
        f.attname: getattr(row, f.attname)
        for f in LoginSession._meta.concrete_fields
        if f.attname not in ("id", "user_id")
    }
    bots = LoginSession.objects.bulk_create([LoginSession(user=bot, **fields) for _ in range(6000)])
    caches["default"].set_many(
        {revocation.cache_key(s.pk): revocation.live_marker(bot.pk) for s in bots}, 60
    )
    for session in bots:  # as if each had made a request to this process
        assert revocation.lookup(str(session.pk), owner=str(bot.pk))[0] is False
    for _ in range(3):
        assert client.get(reverse("me")).status_code == 200
    stolen = client.cookies
    call_command("jwt_force_logout", bot.get_username(), stdout=None)
    call_command("jwt_force_logout", alice.get_username(), stdout=None)
    replay = Client()
    replay.cookies = stolen
    assert replay.get(reverse("me")).status_code == 401


# --- other writers of the marker key: every one must reach the local copy -----------------


def _set_by_resp2(raw: redis_py.Redis, key: bytes) -> None:
    raw.set(key, b"0")


def _unlink(raw: redis_py.Redis, key: bytes) -> None:
    raw.unlink(key)  # gone: the database (no row) refuses


def _rename_onto(raw: redis_py.Redis, key: bytes) -> None:
    raw.set(b"elsewhere", b"0")
    raw.rename(b"elsewhere", key)


def _copy_onto(raw: redis_py.Redis, key: bytes) -> None:
    raw.set(b"elsewhere", b"0")
    assert raw.copy(b"elsewhere", key, replace=True)


def _move_away(raw: redis_py.Redis, key: bytes) -> None:
    assert raw.move(key, 1)


def _lua(raw: redis_py.Redis, key: bytes) -> None:
    raw.eval("redis.call('SET', KEYS[1], ARGV[1])", 1, key, b"0")


def _multi_exec(raw: redis_py.Redis, key: bytes) -> None:
    with raw.pipeline(transaction=True) as pipe:
        pipe.set(b"unrelated", b"x")
        pipe.set(key, encoded(revocation.live_marker("8")))  # another user's session now
        pipe.execute()


def _another_owner_by_restore(raw: redis_py.Redis, key: bytes) -> None:
    raw.set(b"elsewhere", encoded(revocation.live_marker("8")))
    dumped = raw.dump(b"elsewhere")
    raw.restore(key, 0, dumped, replace=True)


def _incr_version(raw: redis_py.Redis, key: bytes) -> None:
    revocation.get_cache().incr_version(key.decode().split(":", 2)[2])


def _expire_now(raw: redis_py.Redis, key: bytes) -> None:
    raw.pexpire(key, 1)
    time.sleep(0.01)
    raw.exists(key)  # any access expires it (what a normal-path GET would do)


def _flushdb_async(raw: redis_py.Redis, key: bytes) -> None:
    raw.flushdb(asynchronous=True)


def _flushall_async(raw: redis_py.Redis, key: bytes) -> None:
    raw.flushall(asynchronous=True)


def _flushdb_of_another_db(raw: redis_py.Redis, key: bytes) -> None:
    port = raw.connection_pool.connection_kwargs["port"]
    with redis_py.Redis(host="127.0.0.1", port=port, db=2) as other:
        other.set(key, b"unrelated")  # the same key name in another database
        other.flushdb()
    raw.set(key, b"0")


def _maxmemory_eviction(raw: redis_py.Redis) -> None:
    """Fill past a lowered maxmemory with allkeys-random: some held markers go."""
    raw.config_set("maxmemory-policy", "allkeys-random")
    used = int(raw.info("memory")["used_memory"])
    raw.config_set("maxmemory", str(used + 200_000))
    try:
        with raw.pipeline(transaction=False) as pipe:
            for i in range(3000):
                pipe.set(f"filler:{i}", b"x" * 200)
            pipe.execute()
    finally:
        raw.config_set("maxmemory", "0")


WRITERS = [
    _set_by_resp2,
    _unlink,
    _rename_onto,
    _copy_onto,
    _move_away,
    _lua,
    _multi_exec,
    _another_owner_by_restore,
    _incr_version,
    _expire_now,
    _flushdb_async,
    _flushall_async,
    _flushdb_of_another_db,
]


@pytest.mark.parametrize("write", WRITERS, ids=lambda f: f.__name__.strip("_"))
def test_any_writer_of_the_key_reaches_the_local_copy(
    redis: RedisServer, raw: redis_py.Redis, write: Any
) -> None:
    """Another client changes a held marker (to revoked, gone or another owner's), then
    sends one more command: the next lookup refuses."""
    (sid,) = live_markers(1)
    hold([sid])
    key = redis_key(revocation.cache_key(sid))
    write(raw, key)
    raw.ping()
    assert revocation.lookup(sid, owner=OWNER)[0] is True


def test_maxmemory_eviction_reaches_the_local_copy(redis: RedisServer, raw: redis_py.Redis) -> None:
    sessions = live_markers(50)
    for sid in sessions:
        hold([sid])
    _maxmemory_eviction(raw)
    raw.ping()
    gone = [sid for sid in sessions if not raw.exists(redis_key(revocation.cache_key(sid)))]
    assert gone
    assert all(revocation.lookup(sid, owner=OWNER)[0] for sid in gone)


def test_swapdb_with_a_database_holding_revoked_reaches_the_local_copy(
    redis: RedisServer, raw: redis_py.Redis
) -> None:
    """SWAPDB 0 1, db 1 holding "revoked" under the same key name."""
    (sid,) = live_markers(1)
    hold([sid])
    key = redis_key(revocation.cache_key(sid))
    with redis_py.Redis(host="127.0.0.1", port=redis.port, db=1) as other:
        other.set(key, b"0")
    raw.swapdb(0, 1)
    raw.ping()
    assert raw.get(key) == b"0"
    assert revocation.lookup(sid, owner=OWNER)[0] is True


def test_an_overflowing_tracking_table_drops_what_redis_stops_tracking(
    redis: RedisServer, raw: redis_py.Redis
) -> None:
    """tracking-table-max-keys 1: Redis forgets held keys (telling the tracker with an
    invalidation each); a later write to them sends nothing, yet is seen."""
    sessions = live_markers(20)
    for sid in sessions:
        hold([sid])
    raw.config_set("tracking-table-max-keys", "1")
    more = live_markers(20)
    for sid in more:
        revocation.lookup(sid, owner=OWNER)
    raw.ping()
    for sid in [*sessions, *more]:
        raw.set(redis_key(revocation.cache_key(sid)), b"0")
    raw.ping()
    accepted = [sid for sid in [*sessions, *more] if not revocation.lookup(sid, owner=OWNER)[0]]
    assert accepted == []


def test_a_killed_tracking_connection_drops_everything(
    redis: RedisServer, raw: redis_py.Redis
) -> None:
    (sid,) = live_markers(1)
    hold([sid])
    assert raw.client_kill_filter(_type="normal", skipme=True) >= 1
    raw.set(redis_key(revocation.cache_key(sid)), b"0")
    raw.ping()
    assert revocation.lookup(sid, owner=OWNER)[0] is True


def test_an_output_buffer_limit_that_closes_the_tracker_drops_everything(
    redis: RedisServer, raw: redis_py.Redis
) -> None:
    """client-output-buffer-limit for normal clients: Redis closes the tracking
    connection on the invalidation it cannot buffer; the next lookup sees EOF."""
    (sid,) = live_markers(1)
    hold([sid])
    raw.config_set("client-output-buffer-limit", "normal 1 1 0")
    try:
        raw.set(redis_key(revocation.cache_key(sid)), b"0")
        raw.ping()
    finally:
        raw.config_set("client-output-buffer-limit", "normal 0 0 0")
    assert revocation.lookup(sid, owner=OWNER)[0] is True


def test_the_tracked_server_turning_replica_drops_what_it_held(
    redis: RedisServer, raw: redis_py.Redis
) -> None:
    """REPLICAOF another server whose copy says "revoked": the full sync replaces the
    dataset under the tracking connection (Redis sends a flush invalidation)."""
    (sid,) = live_markers(1)
    hold([sid])
    key = redis_key(revocation.cache_key(sid))
    with redis_server() as primary, redis_py.Redis(host="127.0.0.1", port=primary.port) as other:
        other.set(key, b"0")
        raw.replicaof("127.0.0.1", primary.port)
        try:
            deadline = time.monotonic() + 10
            while raw.get(key) != b"0" and time.monotonic() < deadline:
                time.sleep(0.02)
            assert raw.get(key) == b"0"
            raw.ping()
            assert revocation.lookup(sid, owner=OWNER)[0] is True
        finally:
            raw.replicaof("no", "one")


def test_a_live_marker_is_not_trusted_past_its_ttl_in_redis(
    redis: RedisServer, raw: redis_py.Redis
) -> None:
    """A held "live" marker whose Redis TTL has passed: Redis sends the
    invalidation only when it deletes the key (on an access, or by active expiry, which
    on a large keyspace can take long), and the local entry lives REVOCATION_CACHE_TIMEOUT
    from when this process *read* it, not from when it was written. The normal path
    reads nothing there and asks the database (no row here: refused)."""
    accepted = 0
    for _ in range(6):
        sid = str(uuid.uuid4())
        # Long enough for hold() on a loaded CI machine.
        marker = encoded(revocation.live_marker(OWNER))
        raw.set(redis_key(revocation.cache_key(sid)), marker, px=200)
        hold([sid])
        time.sleep(0.25)  # past the TTL; nothing has touched the key since
        accepted += not revocation.lookup(sid, owner=OWNER)[0]
    assert accepted == 0


# --- value shapes ----------------------------------------------------------------------------


def _pickled_from_a_removed_module() -> bytes:
    """A pickle whose class lived in a module the running code no longer has."""
    import pickle
    import sys
    import types

    module = types.ModuleType("tests.removed_by_the_last_deploy")

    class Profile:
        pass

    Profile.__module__ = module.__name__
    Profile.__qualname__ = "Profile"
    module.Profile = Profile  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    try:
        return pickle.dumps(Profile())
    finally:
        del sys.modules[module.__name__]


@pytest.mark.parametrize("local", [None, False], ids=["default", "off"])
def test_an_undecodable_cached_value_is_not_a_server_error(
    redis: RedisServer, raw: redis_py.Redis, settings: Any, local: bool | None
) -> None:
    """CACHE_USERS: the user key holds a pickle the running code cannot load (written by
    the previous deploy). Off, lookup's ``except Exception`` asks the database; with the
    local cache on, the decode failure must send the lookup down the same path (it was
    a 500)."""
    settings.JWT_COOKIE_AUTH = {
        **settings.JWT_COOKIE_AUTH,
        "CACHE_USERS": True,
        "LOCAL_REVOCATION_CACHE": local,
    }
    user = make_user("carol")
    client = Client()
    login(client, user)
    assert client.get(reverse("me")).status_code == 200
    raw.set(redis_key(identity.user_cache_key(user.pk)), _pickled_from_a_removed_module())
    assert client.get(reverse("me")).status_code == 200


# --- key identity: the alias, prefix and version that name a marker ------------------------


def test_switching_cache_alias_or_key_prefix_reads_the_new_keys(
    redis: RedisServer, raw: redis_py.Redis, settings: Any
) -> None:
    """A held "live" marker under one alias or prefix says nothing about the key the
    process reads after CACHE_ALIAS or KEY_PREFIX changes (same server, same db), which
    holds "revoked" there."""
    (sid,) = live_markers(1)
    hold([sid])
    name = revocation.cache_key(sid)
    raw.set(f"other:1:{name}".encode(), b"0")
    raw.set(f"newprefix:1:{name}".encode(), b"0")
    other = {**settings.CACHES["default"], "KEY_PREFIX": "other"}
    settings.CACHES = {**settings.CACHES, "other": other}
    settings.JWT_COOKIE_AUTH = {**settings.JWT_COOKIE_AUTH, "CACHE_ALIAS": "other"}
    assert revocation.lookup(sid, owner=OWNER)[0] is True
    settings.JWT_COOKIE_AUTH = {**settings.JWT_COOKIE_AUTH, "CACHE_ALIAS": "default"}
    assert revocation.lookup(sid, owner=OWNER)[0] is False
    settings.CACHES = {
        **settings.CACHES,
        "default": {**settings.CACHES["default"], "KEY_PREFIX": "newprefix"},
    }
    assert revocation.lookup(sid, owner=OWNER)[0] is True
    settings.CACHES = {
        **settings.CACHES,
        "default": {**settings.CACHES["default"], "KEY_PREFIX": "", "VERSION": 2},
    }
    assert revocation.lookup(sid, owner=OWNER)[0] is True  # nothing under version 2


def test_a_tracker_turned_off_and_on_again_holds_nothing_from_before(
    redis: RedisServer, raw: redis_py.Redis, settings: Any
) -> None:
    """Off, the process no longer reads its tracking connection: a revocation made then
    sends it nothing it will read. On again, it must not serve what it held."""
    (sid,) = live_markers(1)
    hold([sid])
    settings.JWT_COOKIE_AUTH = {**settings.JWT_COOKIE_AUTH, "LOCAL_REVOCATION_CACHE": False}
    raw.set(redis_key(revocation.cache_key(sid)), b"0")
    settings.JWT_COOKIE_AUTH = {**settings.JWT_COOKIE_AUTH, "LOCAL_REVOCATION_CACHE": None}
    assert revocation.lookup(sid, owner=OWNER)[0] is True


def test_a_cutoff_written_by_end_django_sessions_is_seen_at_once(redis: RedisServer) -> None:
    """The Django-session cutoff held locally ("no cutoff"), then end_django_sessions."""
    staff = make_user("admin", is_staff=True)
    for _ in range(2):
        assert django_sessions.cutoff(staff.pk) is None
    django_sessions.end_django_sessions([staff.pk])
    assert django_sessions.cutoff(staff.pk) is not None
    assert DjangoSessionCutoff.objects.filter(user=staff).exists()
