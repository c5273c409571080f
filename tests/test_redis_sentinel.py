"""A Sentinel failover loses no acknowledged revocation (issue 14, item 2).

One primary, one replica and three sentinels, all private processes on spare ports;
django-redis's ``SentinelClient``. The replica reaches its primary through a
``SlowLink`` that delays the primary's bytes by ``LAG`` and drops what it still holds
when the primary dies: a primary that crashes before it has passed on its last writes.

The primary is killed (SIGKILL) right after a logout answered 204 and an admin's force
logout returned. Until the sentinels have promoted the replica, and after, no request
with a revoked session's token may succeed, no request may get a 5xx, and live
sessions keep working (through the database while no primary answers). The promoted
replica must hold the revocation markers: ``mark_revoked`` waited (Redis ``WAIT``)
until the replica had them before the logout answered.

django-redis only: Django's ``RedisCache`` has no Sentinel support.
"""

from __future__ import annotations

import secrets
import statistics
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.cache import caches
from django.test import Client
from django.urls import reverse

from jwt_cookie_auth import cache_primary, revocation, tokens
from jwt_cookie_auth.cookie_names import access_cookie_name, refresh_cookie_name
from jwt_cookie_auth.models import RevokeReason
from tests.conftest import credentials, make_user, on_django_redis
from tests.redis_topology import Sentinel, SlowLink, info, replicate, require_redis_server
from tests.servers import HOST, RedisServer, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db]

#: How late the primary's writes reach the replica.
LAG = 0.2


@dataclass
class Topology:
    service: str
    primary: RedisServer
    replica: RedisServer
    link: SlowLink
    sentinels: list[Sentinel] = field(default_factory=list)

    def elected(self) -> int | None:
        """The primary's port if every sentinel names the same one, else None."""
        ports = {sentinel.primary_port(self.service) for sentinel in self.sentinels}
        return ports.pop() if len(ports) == 1 else None


@pytest.fixture
def sentinel_topology(settings: Any) -> Iterator[Topology]:
    if not on_django_redis():
        pytest.skip("django-redis only (sets its own CACHES): runs in the django-redis pass")
    require_redis_server()
    primary, replica = RedisServer(), RedisServer()
    link: SlowLink | None = None
    sentinels: list[Sentinel] = []
    try:
        primary.start()
        replica.start()
        link = SlowLink(primary.port, LAG)
        replicate(primary, replica, port=link.port)
        # A fresh service name per test: django-redis keeps its pools per URL for the
        # life of the process.
        service = f"jwt{secrets.token_hex(4)}"
        sentinels = [Sentinel(service, primary.port) for _ in range(3)]
        topology = Topology(service, primary, replica, link, sentinels)

        def sentinels_ready() -> bool:
            for sentinel in sentinels:
                state = info(sentinel, "sentinel")  # type: ignore[arg-type]
                status = state.get("master0", "")
                if "status=ok" not in status or "slaves=1" not in status:
                    return False
                if "sentinels=3" not in status:
                    return False
            return True

        wait_for(sentinels_ready, 30, "three sentinels that know the replica and each other")
        settings.DJANGO_REDIS_CONNECTION_FACTORY = "django_redis.pool.SentinelConnectionFactory"
        settings.CACHES = {
            "default": {
                "BACKEND": "django_redis.cache.RedisCache",
                "LOCATION": f"redis://{service}/0",
                "OPTIONS": {
                    "CLIENT_CLASS": "django_redis.client.SentinelClient",
                    "SENTINELS": [(HOST, sentinel.port) for sentinel in sentinels],
                    "SOCKET_CONNECT_TIMEOUT": 1,
                    "SOCKET_TIMEOUT": 1,
                    "SENTINEL_KWARGS": {"socket_connect_timeout": 1, "socket_timeout": 1},
                },
            }
        }
        yield topology
    finally:
        for sentinel in sentinels:
            sentinel.stop()
        if link is not None:
            link.close()
        primary.stop()
        replica.stop()


def log_in(user: Any) -> Client:
    client = Client(raise_request_exception=False)
    response = client.post(
        reverse("jwt_cookie_auth:login"), credentials(user), content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert client.get(reverse("me")).status_code == 200  # fills the "live" marker
    return client


def copy_of(client: Client) -> Client:
    """A new browser with these cookies (a refused request deletes a browser's cookies)."""
    thief = Client(raise_request_exception=False)
    for name in (access_cookie_name(), refresh_cookie_name()):
        thief.cookies[name] = client.cookies[name].value
    return thief


def session_of(client: Client) -> str:
    return tokens.decode(client.cookies[access_cookie_name()].value, tokens.ACCESS).sid


def serves(key: str, user: Any) -> bool:
    """Whether the cache answers again, from the new primary, with this "live" marker."""
    try:
        return bool(cache_primary.get(caches["default"], key) == revocation.live_marker(user.pk))
    except Exception:
        return False


def timed_get(client: Client) -> tuple[int, float]:
    started = time.perf_counter()
    status = client.get(reverse("me")).status_code
    return status, time.perf_counter() - started


def test_acknowledged_revocation_survives_a_failover(sentinel_topology: Topology) -> None:
    topology = sentinel_topology
    alice, bob, carol = make_user("alice"), make_user("bob"), make_user("carol")
    phone, bobs, carols = log_in(alice), log_in(bob), log_in(carol)
    stolen = [copy_of(phone), copy_of(bobs)]  # never sent: copied for each request
    revoked_sessions = [session_of(phone), session_of(bobs)]
    # The replica has every "live" marker before anything is revoked.
    wait_for(
        lambda: (
            int(info(topology.replica, "replication").get("slave_repl_offset", "-1"))
            >= int(info(topology.primary, "replication")["master_repl_offset"])
        ),
        10,
        "replica caught up",
    )

    assert phone.post(reverse("jwt_cookie_auth:logout")).status_code == 204
    revocation.revoke_user_sessions([bob.pk], RevokeReason.ADMIN)  # the admin action's call
    topology.primary.kill()  # right after both were acknowledged

    # Until the sentinels agree on the replica and the cache answers from it, and then
    # some more requests that the promoted replica's markers decide.
    carols_marker = revocation.cache_key(session_of(carols))
    revoked: list[tuple[int, float]] = []
    live: list[tuple[int, float]] = []
    started = time.monotonic()
    promoted_at: float | None = None
    serving_at: float | None = None
    rounds_after = 0
    while time.monotonic() - started < 40 and rounds_after < 10:
        revoked += [timed_get(copy_of(thief)) for thief in stolen]
        live.append(timed_get(carols))
        elapsed = time.monotonic() - started
        if promoted_at is None and topology.elected() == topology.replica.port:
            promoted_at = elapsed
        if promoted_at is not None and serving_at is None and serves(carols_marker, carol):
            serving_at = elapsed
        rounds_after += serving_at is not None
        time.sleep(0.05)
    assert promoted_at is not None, "no failover within 40 s"
    assert serving_at is not None, "the cache did not answer from the new primary"

    revoked_statuses = Counter(status for status, _ in revoked)
    live_statuses = Counter(status for status, _ in live)
    assert set(revoked_statuses) == {401}, revoked_statuses
    assert set(live_statuses) == {200}, live_statuses
    # The promoted replica has the markers: the cache, not only the database, refuses.
    cache = caches["default"]
    for session_id in revoked_sessions:
        marker = cache_primary.get(cache, revocation.cache_key(session_id))
        assert marker == revocation.REVOKED
    assert timed_get(carols)[0] == 200
    for thief in stolen:
        assert copy_of(thief).post(reverse("jwt_cookie_auth:refresh")).status_code == 401

    latencies = [seconds for _, seconds in revoked + live]
    print(
        f"\nfailover: promoted after {promoted_at:.1f} s, cache served again after "
        f"{serving_at:.1f} s; {len(revoked)} revoked-token "
        f"requests {dict(revoked_statuses)}, {len(live)} live {dict(live_statuses)}; "
        f"latency median {statistics.median(latencies) * 1000:.1f} ms, "
        f"max {max(latencies) * 1000:.0f} ms",
        file=sys.stderr,
    )
