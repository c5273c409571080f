"""LOCAL_REVOCATION_CACHE: a per-process copy of the markers, honest through CLIENT TRACKING.

Each test runs a private redis-server (tests/servers.py) as django-redis's cache, with
the local cache on. What a user would see is ``revocation.lookup``'s answer: refused or
not. Every test here fails without the mechanism it names (no draining before use, no
flush handling, no silence bound, no revoker PING, no bound on entries).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import caches
from django.test import RequestFactory

from jwt_cookie_auth import identity, local_revocation, revocation
from jwt_cookie_auth.issuing import start_session
from jwt_cookie_auth.models import LoginSession, RevokeReason
from tests.conftest import make_user, on_django_redis, redis_commands
from tests.servers import RedisServer, command_calls, redis_caches, redis_server

pytestmark = [
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    # The builtin-RedisCache pass would run the same private-server tests again.
    pytest.mark.skipif(not on_django_redis(), reason="runs once, in the django-redis pass"),
]

SILENCE = timedelta(milliseconds=100)


@pytest.fixture
def redis(settings: Any) -> Iterator[RedisServer]:
    with redis_server() as server:
        settings.CACHES = redis_caches(server.url, ignore_exceptions=False)
        settings.JWT_COOKIE_AUTH = {
            **settings.JWT_COOKIE_AUTH,
            "LOCAL_REVOCATION_CACHE": True,
            "LOCAL_REVOCATION_CACHE_MAX_SILENCE": SILENCE,
        }
        yield server
        for tracker in local_revocation._trackers.values():
            tracker.close()


def tracker() -> local_revocation.Tracker:
    found = local_revocation.tracker(revocation.get_cache())
    assert found is not None
    return found


def live_session() -> tuple[str, str]:
    """A live session in the database; return (session id, owner as in ``sub``)."""
    user = make_user(f"u{uuid.uuid4().hex[:8]}")
    start_session(RequestFactory().post("/auth/login/"), user)
    session = LoginSession.objects.get(user=user)
    return str(session.pk), str(user.pk)


def _later() -> Any:
    from jwt_cookie_auth import clock

    return clock.now() + timedelta(days=1)


def warm(sid: str, owner: str) -> None:
    """Look the session up until this process holds its "live" marker locally."""
    for _ in range(3):
        assert revocation.lookup(sid, owner=owner) == (False, None)
    assert revocation.cache_key(sid).encode() in b" ".join(tracker().entries)


def held(sid: str) -> bool:
    return any(key.endswith(revocation.cache_key(sid).encode()) for key in tracker().entries)


def stale_in_database(sid: str) -> None:
    """Revoke in the database only: a lookup that answers "live" used a stale local copy."""
    LoginSession.objects.filter(pk=sid).update(revoked_at=_later(), revoke_reason="admin")


def test_a_warm_hit_costs_no_round_trip(redis: RedisServer, settings: Any) -> None:
    settings.JWT_COOKIE_AUTH = {
        **settings.JWT_COOKIE_AUTH,
        "LOCAL_REVOCATION_CACHE_MAX_SILENCE": timedelta(seconds=5),
    }
    sid, owner = live_session()
    warm(sid, owner)
    before = redis.command("INFO", "stats")
    with redis_commands() as sent:
        for _ in range(200):
            assert revocation.lookup(sid, owner=owner) == (False, None)
    after = redis.command("INFO", "stats")

    def processed(info: str) -> int:
        line = next(x for x in info.splitlines() if x.startswith("total_commands_processed:"))
        return int(line.split(":")[1])

    assert sent == []
    # The second INFO is the one command between the two readings.
    assert processed(after) - processed(before) == 1


def test_a_revocation_from_another_connection_is_seen_on_the_very_next_lookup(
    redis: RedisServer,
) -> None:
    """mark_revoked (django-redis's pool, then PING) and at once a lookup: refused, 300 times."""
    for _ in range(300):
        sid, owner = str(uuid.uuid4()), "7"
        caches["default"].set(revocation.cache_key(sid), revocation.live_marker(owner), 60)
        assert revocation.lookup(sid, owner=owner)[0] is False
        assert revocation.lookup(sid, owner=owner)[0] is False
        assert held(sid)
        revocation.mark_revoked([sid])
        assert revocation.lookup(sid, owner=owner)[0] is True


def test_flushall_empties_the_local_copy(redis: RedisServer) -> None:
    sid, owner = live_session()
    warm(sid, owner)
    stale_in_database(sid)
    redis.command("FLUSHALL")
    # Whatever redis-cli saw, the push is on our socket once a later command is served.
    redis.command("PING")
    assert revocation.lookup(sid, owner=owner)[0] is True
    assert not held(sid)


def test_a_killed_and_restarted_server_empties_it_and_the_database_answers(
    redis: RedisServer,
) -> None:
    sid, owner = live_session()
    warm(sid, owner)
    stale_in_database(sid)
    redis.kill()
    # The connection is gone: the local copy is dropped, django-redis fails, the
    # database says revoked.
    assert revocation.lookup(sid, owner=owner)[0] is True
    assert tracker().entries == {}
    redis.start()
    tracker().retry_at = 0.0  # skip the backoff: the test would otherwise sleep it
    other, other_owner = live_session()
    warm(other, other_owner)
    assert revocation.lookup(sid, owner=owner)[0] is True


def test_a_hung_server_is_trusted_no_longer_than_the_silence_bound(redis: RedisServer) -> None:
    sid, owner = live_session()
    warm(sid, owner)
    stale_in_database(sid)
    assert redis.proc is not None
    os.kill(redis.proc.pid, signal.SIGSTOP)
    try:
        # Within the bound the local entry is still trusted (the stated window)...
        fresh = time.monotonic() - tracker().proof < SILENCE.total_seconds() / 2
        within = revocation.lookup(sid, owner=owner)[0]
        if fresh:  # a loaded machine may already have spent the window
            assert within is False
        time.sleep(SILENCE.total_seconds() * 1.5)
        # ...past it, not: the normal path times out and the database refuses.
        assert revocation.lookup(sid, owner=owner)[0] is True
        assert tracker().entries == {}
    finally:
        os.kill(redis.proc.pid, signal.SIGCONT)
    # Back: once a PONG proves the connection, lookups use it again.
    live, live_owner = live_session()
    deadline = time.monotonic() + 5
    while not held(live) and time.monotonic() < deadline:
        assert revocation.lookup(live, owner=live_owner)[0] is False
        time.sleep(0.02)
    assert held(live)


REVOKER = textwrap.dedent(
    """
    import socket, sys, time
    sock = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    reader = sock.makefile("rb")
    def command(*args):
        sock.sendall(b"*%d\\r\\n" % len(args) + b"".join(
            b"$%d\\r\\n%s\\r\\n" % (len(a), a) for a in args))
        return reader.readline()
    for key in sys.stdin.buffer.read().split():
        time.sleep(0.002)
        assert command(b"SET", key, b"0") == b"+OK\\r\\n"
        assert command(b"PING") == b"+PONG\\r\\n"
        print(key.decode(), time.monotonic(), flush=True)
    """
)


def test_threads_never_accept_a_session_another_process_has_revoked(
    redis: RedisServer, settings: Any
) -> None:
    """8 threads look up 200 sessions while another process revokes them (SET, PING)."""
    # A long bound: every answer comes from the tracked entries, none from a lapse.
    settings.JWT_COOKIE_AUTH = {
        **settings.JWT_COOKIE_AUTH,
        "LOCAL_REVOCATION_CACHE_MAX_SILENCE": timedelta(seconds=5),
    }
    cache = caches["default"]
    sessions = [str(uuid.uuid4()) for _ in range(200)]
    for sid in sessions:
        cache.set(revocation.cache_key(sid), revocation.live_marker("7"), 60)
        revocation.lookup(sid, owner="7")
        revocation.lookup(sid, owner="7")
    raw = [cache.make_key(revocation.cache_key(sid)) for sid in sessions]  # type: ignore[attr-defined]
    revoked_at: dict[str, float] = {}
    stale: list[tuple[str, float]] = []
    done = threading.Event()

    def hammer() -> None:
        while not done.is_set():
            for sid in sessions:
                started = time.monotonic()
                refused = revocation.lookup(sid, owner="7")[0]
                at = revoked_at.get(sid)
                if not refused and at is not None and started > at:
                    stale.append((sid, started - at))

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    try:
        with subprocess.Popen(
            [sys.executable, "-c", REVOKER, str(redis.port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        ) as revoker:
            assert revoker.stdin is not None
            assert revoker.stdout is not None
            revoker.stdin.write("\n".join(raw))
            revoker.stdin.close()
            for line in revoker.stdout:
                key, at = line.split()
                revoked_at[sessions[raw.index(key)]] = float(at)
    finally:
        done.set()
    for thread in threads:
        thread.join(30)
    assert len(revoked_at) == len(sessions)
    assert stale == []
    assert all(revocation.lookup(sid, owner="7")[0] for sid in sessions)


def test_memory_is_bounded_by_entries_and_bytes(redis: RedisServer, settings: Any) -> None:
    settings.JWT_COOKIE_AUTH = {
        **settings.JWT_COOKIE_AUTH,
        "LOCAL_REVOCATION_CACHE_SIZE": 50,
        "LOCAL_REVOCATION_CACHE_MAX_BYTES": 2000,
    }
    cache = caches["default"]
    for _ in range(500):
        sid = str(uuid.uuid4())
        cache.set(revocation.cache_key(sid), revocation.live_marker("7"), 60)
        revocation.lookup(sid, owner="7")
        found = tracker()
        assert len(found.entries) <= 50
        assert found.bytes <= 2000
    assert found.bytes == sum(entry[3] for entry in found.entries.values())
    # Entries of ~90 bytes (key and pickled marker): the byte bound binds first.
    assert 15 <= len(found.entries) < 50


def test_only_a_burst_of_invalidations_costs_the_drain_a_round_trip(
    redis: RedisServer, settings: Any
) -> None:
    """A few invalidations are applied from the receive queue alone; a burst (a mass
    revocation: part of it may wait behind a full receive window) is read up to the
    PONG of one PING. Either way the next lookup refuses what was revoked."""
    settings.JWT_COOKIE_AUTH = {
        **settings.JWT_COOKIE_AUTH,
        "LOCAL_REVOCATION_CACHE_MAX_SILENCE": timedelta(seconds=5),
    }
    sessions = [str(uuid.uuid4()) for _ in range(400)]
    caches["default"].set_many(
        {revocation.cache_key(sid): revocation.live_marker("7") for sid in sessions}, 60
    )
    for sid in sessions:
        for _ in range(2):
            assert revocation.lookup(sid, owner="7")[0] is False
    few, burst = sessions[:5], sessions[5:]
    revocation.mark_revoked(few)  # ~500 bytes of pushes
    before = command_calls(redis.port, "ping")
    assert revocation.lookup(few[-1], owner="7")[0] is True
    assert command_calls(redis.port, "ping") == before
    revocation.mark_revoked(burst)  # ~40 KB
    before = command_calls(redis.port, "ping")
    assert revocation.lookup(burst[-1], owner="7")[0] is True
    assert command_calls(redis.port, "ping") == before + 1
    assert all(revocation.lookup(sid, owner="7")[0] for sid in sessions)


def test_revoke_session_is_refused_at_once_after_a_local_hit(redis: RedisServer) -> None:
    """The whole revocation path (database, markers, PING) against a warm local entry."""
    sid, owner = live_session()
    warm(sid, owner)
    assert revocation.revoke_session(sid, RevokeReason.ADMIN)
    assert revocation.lookup(sid, owner=owner)[0] is True


def test_dropping_a_cached_user_returns_after_redis_sent_the_invalidations(
    redis: RedisServer, settings: Any
) -> None:
    """CACHE_USERS: a saved (deactivated) user leaves the user cache with a DEL, then a
    PING on the same server, so every process holds the invalidation before the saving
    request answers; and this process's local copy of the user is gone at once."""
    settings.JWT_COOKIE_AUTH = {**settings.JWT_COOKIE_AUTH, "CACHE_USERS": True}
    sid, owner = live_session()
    key = identity.user_cache_key(owner)
    caches["default"].set(key, {"cached": "user"}, 60)
    for _ in range(2):
        assert revocation.lookup(sid, owner=owner, extra_key=key)[1] == {"cached": "user"}
    with redis_commands() as sent:
        identity.forget_cached_user(owner)
    names = [command[0] for command in sent]
    assert names[-2:] == [b"DEL", b"PING"], names
    assert revocation.lookup(sid, owner=owner, extra_key=key)[1] is None


def _local_port(found: local_revocation.Tracker) -> int:
    assert found.sock is not None
    return int(found.sock.getsockname()[1])


def test_a_forked_child_makes_its_own_connection_and_keeps_nothing(redis: RedisServer) -> None:
    """A worker forked after the tracker connected (a preloading server) must not read
    the parent's tracking socket: each would miss the invalidations the other read.
    The child starts empty, on its own connection, and still sees a revocation made
    by the parent afterwards; the parent's connection keeps working."""
    sid, owner = live_session()
    warm(sid, owner)
    parent_port = _local_port(tracker())
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        code = 1
        try:
            child = tracker()
            empty = child.entries == {}
            assert revocation.lookup(sid, owner=owner) == (False, None)
            port = _local_port(child)
            os.write(ready_w, f"{int(empty)} {port}\n".encode())
            os.read(go_r, 1)  # the parent has revoked the session
            refused = revocation.lookup(sid, owner=owner)[0]
            os.write(ready_w, f"{int(refused)}\n".encode())
            code = 0
        finally:
            os._exit(code)
    try:
        with os.fdopen(ready_r, "rb") as reports:
            empty, port = reports.readline().split()
            assert empty == b"1"  # nothing inherited
            assert int(port) != parent_port  # its own connection
            assert revocation.revoke_session(sid, RevokeReason.ADMIN)
            os.write(go_w, b"x")
            assert reports.readline().strip() == b"1"  # the child refuses it
        assert revocation.lookup(sid, owner=owner)[0] is True  # and so does the parent
        assert _local_port(tracker()) == parent_port
    finally:
        os.close(ready_w)
        os.close(go_r)
        os.close(go_w)
        assert os.waitpid(pid, 0)[1] == 0


def test_a_child_that_skipped_the_fork_hook_leaves_the_socket_to_its_parent(
    redis: RedisServer,
) -> None:
    """A server that forks in C without running Python's at-fork handlers: the tracker
    notices it was made by another process before its next use, drops what it held and
    reconnects. Simulated here by a tracker that says another process made it."""
    sid, owner = live_session()
    warm(sid, owner)
    inherited = tracker().sock
    assert inherited is not None
    tracker().pid = os.getpid() + 1  # "made by the parent"
    assert revocation.lookup(sid, owner=owner) == (False, None)
    assert inherited.fileno() == -1  # the inherited descriptor was closed, not read
    assert tracker().sock is not None
    assert tracker().sock is not inherited
    assert tracker().pid == os.getpid()
