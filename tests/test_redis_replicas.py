"""A Redis replica that lags never lets a revoked session through (issue 14, item 1).

Two private redis-server processes: a primary and its replica, both in ``LOCATION``
(django-redis and Django's own ``RedisCache`` then read from the replica). The
replica's link is cut after the session's "live" marker reached it, so it keeps
serving that marker. A session revoked on the primary (logout, the admin's force
logout) must be refused on the very next request, in every mode: the access cookie and
a Bearer header, with and without ``CACHE_USERS``, and its refresh token. Live sessions
keep working, and the login throttle keeps counting on the primary.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import caches
from django.test import Client
from django.urls import reverse

from jwt_cookie_auth import revocation
from jwt_cookie_auth.cookie_names import access_cookie_name, refresh_cookie_name
from jwt_cookie_auth.models import RevokeReason
from tests.conftest import PASSWORD, credentials, make_user, on_django_redis, redis_commands
from tests.redis_topology import caught_up, cut_link, replicate, require_redis_server
from tests.servers import RedisServer, redis_server

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db]

BACKENDS = {
    "django-redis": {
        "BACKEND": "django_redis.cache.RedisCache",
        "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient"},
    },
    "django-builtin": {"BACKEND": "django.core.cache.backends.redis.RedisCache"},
}


@pytest.fixture(params=sorted(BACKENDS))
def stale_replica(
    request: pytest.FixtureRequest, settings: Any
) -> Iterator[tuple[RedisServer, RedisServer]]:
    """A primary and a replica in LOCATION (primary first); the test cuts the link."""
    require_redis_server()
    with redis_server() as primary, redis_server() as replica:
        replicate(primary, replica)
        settings.CACHES = {
            "default": {**BACKENDS[request.param], "LOCATION": [primary.url, replica.url]}
        }
        yield primary, replica


def browser(access: str = "", refresh: str = "") -> Client:
    client = Client(raise_request_exception=False)
    if access:
        client.cookies[access_cookie_name()] = access
    if refresh:
        client.cookies[refresh_cookie_name()] = refresh
    return client


def tokens_of(client: Client) -> tuple[str, str]:
    return client.cookies[access_cookie_name()].value, client.cookies[refresh_cookie_name()].value


def log_in(user: Any) -> Client:
    client = Client(raise_request_exception=False)
    response = client.post(
        reverse("jwt_cookie_auth:login"), credentials(user), content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert client.get(reverse("me")).status_code == 200  # fills the "live" marker
    return client


def refused_everywhere(access: str, refresh: str) -> list[tuple[str, int]]:
    """Every way to use the tokens once: (how, status); all must be 401."""
    me = reverse("me")
    statuses = []
    for attempt in range(20):
        statuses.append(("cookie", browser(access).get(me).status_code))
        bearer = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {access}")
        statuses.append(("bearer", bearer.get(me).status_code))
        if attempt == 0:  # a refused refresh ends the family: once is the whole story
            refresh_url = reverse("jwt_cookie_auth:refresh")
            statuses.append(("refresh", browser(refresh=refresh).post(refresh_url).status_code))
    return statuses


@pytest.mark.parametrize("cache_users", [False, True], ids=["default", "CACHE_USERS"])
def test_revocation_on_the_primary_holds_against_a_stale_replica(
    stale_replica: tuple[RedisServer, RedisServer], settings: Any, cache_users: bool
) -> None:
    primary, replica = stale_replica
    settings.JWT_COOKIE_AUTH = {"CACHE_USERS": cache_users}
    alice, bob = make_user("alice"), make_user("bob")
    phone, laptop, bobs = log_in(alice), log_in(alice), log_in(bob)
    stolen_phone, stolen_bob = tokens_of(phone), tokens_of(bobs)
    caught_up(primary, replica)
    cut_link(replica)
    marker_key = revocation.cache_key(_session(phone))
    assert caches["default"].get(marker_key) == revocation.live_marker(alice.pk)  # from the replica

    assert phone.post(reverse("jwt_cookie_auth:logout")).status_code == 204
    revocation.revoke_user_sessions([bob.pk], RevokeReason.ADMIN)  # the admin action's call

    for access, refresh in (stolen_phone, stolen_bob):
        statuses = refused_everywhere(access, refresh)
        assert {status for _, status in statuses} == {401}, statuses
    # The replica still says "live": only the primary was asked.
    assert caches["default"].get(marker_key) == revocation.live_marker(alice.pk)
    assert laptop.get(reverse("me")).status_code == 200


def _session(client: Client) -> str:
    from jwt_cookie_auth import tokens

    return tokens.decode(client.cookies[access_cookie_name()].value, tokens.ACCESS).sid


def test_login_throttle_counts_on_the_primary(
    stale_replica: tuple[RedisServer, RedisServer], settings: Any
) -> None:
    """Failed logins are counted where they are written, whatever the replica holds."""
    _primary, replica = stale_replica
    settings.JWT_COOKIE_AUTH = {"LOGIN_THROTTLE_RATES": {"username": "3/min"}}
    alice = make_user("alice")
    cut_link(replica)
    client = Client(raise_request_exception=False)
    login = reverse("jwt_cookie_auth:login")
    statuses = [
        client.post(
            login, credentials(alice, password="wrong"), content_type="application/json"
        ).status_code
        for _ in range(4)
    ]
    assert statuses == [401, 401, 401, 429]
    right = client.post(
        login, credentials(alice, password=PASSWORD), content_type="application/json"
    )
    assert right.status_code == 429


@pytest.fixture
def django_redis_replica(settings: Any) -> Iterator[tuple[RedisServer, RedisServer]]:
    """django-redis on a primary and its replica (django-redis only: Django's
    ``RedisCache`` sends no ``WAIT``)."""
    if not on_django_redis():
        pytest.skip("django-redis only (sets its own CACHES): runs in the django-redis pass")
    require_redis_server()
    with redis_server() as primary, redis_server() as replica:
        replicate(primary, replica)
        settings.CACHES = {
            "default": {**BACKENDS["django-redis"], "LOCATION": [primary.url, replica.url]}
        }
        yield primary, replica


def test_revocation_returns_once_the_replica_has_its_markers(
    django_redis_replica: tuple[RedisServer, RedisServer], settings: Any
) -> None:
    _primary, replica = django_redis_replica
    # A generous timeout: two busy CPUs must not turn this into a shortfall.
    settings.JWT_COOKIE_AUTH = {"REVOCATION_CACHE_REPLICA_TIMEOUT": timedelta(seconds=5)}
    alice, bob = make_user("alice"), make_user("bob")
    log_in(alice)
    log_in(bob)
    revocation.revoke_user_sessions([bob.pk], RevokeReason.ADMIN)  # loads the script
    with redis_commands() as sent:
        revoked = revocation.revoke_user_sessions([alice.pk], RevokeReason.ADMIN)
    # The markers, the PING of the local revocation cache (on by default with
    # django-redis) and the WAIT on one connection; the replica confirmed.
    assert [command[0] for command in sent] == [b"EVALSHA", b"PING", b"WAIT"]
    (session_id,) = revoked[alice.pk]
    key = caches["default"].make_key(revocation.cache_key(session_id))
    assert replica.command("GET", key) == "0"


def test_unconfirmed_revocation_is_logged_and_still_refused(
    django_redis_replica: tuple[RedisServer, RedisServer],
    settings: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A replica that cannot confirm costs the timeout and an error; the revocation holds."""
    _primary, replica = django_redis_replica
    settings.JWT_COOKIE_AUTH = {
        "REVOCATION_CACHE_MIN_REPLICAS": 1,
        "REVOCATION_CACHE_REPLICA_TIMEOUT": timedelta(milliseconds=100),
    }
    alice = make_user("alice")
    phone = log_in(alice)
    stolen = tokens_of(phone)
    cut_link(replica)
    with caplog.at_level(logging.ERROR, logger="jwt_cookie_auth"):
        assert phone.post(reverse("jwt_cookie_auth:logout")).status_code == 204
    assert "reached 0 of 1 Redis replicas within 100 ms" in caplog.text
    statuses = refused_everywhere(*stolen)
    assert {status for _, status in statuses} == {401}, statuses
