"""PostgreSQL primary + streaming replica behind a read router (issue 14, item 3).

Real servers: a private primary cluster and its ``pg_basebackup`` replica
(``tests/pg_replica.py``), a private redis-server, and the live test project under
gunicorn with ``tests.db_routers.PrimaryReplicaRouter`` sending every read to the
replica (``tests.replica_settings``), once with the default identity path and once
with ``CACHE_USERS``. Each test pauses the replica's replay after logging in, so the
replica serves what it had then, as a lagging replica does.

What must hold: a logout is refused on the very next request (cookie and Bearer),
also after the revocation marker was evicted from Redis (the database fallback must
not cache the replica's "live"); refresh rotation and reuse detection judge the
primary's row; a password change that keeps the device is not undone by the
replica's old password.
"""

from __future__ import annotations

import http.client
import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from jwt_cookie_auth.cookie_names import access_cookie_name, refresh_cookie_name
from jwt_cookie_auth.models import RevokeReason
from tests.conftest import PASSWORD
from tests.pg_replica import PrimaryWithReplica, missing, primary_with_replica
from tests.servers import HOST, GunicornServer, HttpSession, RedisServer, redis_server

pytestmark = [pytest.mark.postgres]

MODES = ["default", "CACHE_USERS"]
NEW_PASSWORD = "a-new-pass-phrase-77"


class ReplicaApp(GunicornServer):
    """The live project on the primary + replica pair, 1 sync worker."""

    def __init__(self, redis_url: str, pair: PrimaryWithReplica, cache_users: bool) -> None:
        super().__init__(redis_url, workers=1)
        self.env.update(
            pair.settings_env(),
            DJANGO_SETTINGS_MODULE="tests.replica_settings",
            JWT_REPLICA_CACHE_USERS="1" if cache_users else "0",
        )


@dataclass
class Stack:
    pair: PrimaryWithReplica
    redis: RedisServer
    apps: dict[str, ReplicaApp]
    usernames: list[str]
    username_field: str

    def user(self) -> str:
        """A user no earlier test has touched (a password change must not leak)."""
        return self.usernames.pop()


def _require_servers() -> None:
    reason = missing()
    if reason is None and not any(
        os.access(os.path.join(d, "redis-server"), os.X_OK)
        for d in os.environ.get("PATH", "").split(os.pathsep)
    ):
        reason = "redis-server is not installed"
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true, and {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    _require_servers()
    with redis_server() as redis, primary_with_replica() as pair:
        apps: dict[str, ReplicaApp] = {}
        try:
            for mode in MODES:
                app = ReplicaApp(redis.url, pair, cache_users=mode == "CACHE_USERS")
                apps[mode] = app
                app.start()
            names = [f"replica{i}" for i in range(16)]
            created = apps["default"].create_users(names, PASSWORD)
            field = apps["default"].python(
                "from django.contrib.auth import get_user_model\n"
                "print(get_user_model().USERNAME_FIELD)"
            )
            pair.wait_caught_up()
            yield Stack(pair, redis, apps, [created[n] for n in names], field.strip())
        finally:
            for app in apps.values():
                app.stop()


@pytest.fixture
def replica(stack: Stack) -> Iterator[PrimaryWithReplica]:
    """The pair, replaying again (and caught up) before and after the test."""
    stack.pair.resume_replay()
    yield stack.pair
    stack.pair.resume_replay()


def logged_in(stack: Stack, mode: str) -> HttpSession:
    browser = HttpSession(stack.apps[mode])
    assert browser.login(stack.username_field, stack.user(), PASSWORD).status == 200
    return browser


def api_me(browser: HttpSession, access: str, via: str) -> int:
    """GET /api/me/ with ``access`` as the cookie or as a Bearer token; return the status."""
    if via == "cookie":
        return browser.get("/api/me/", cookies={access_cookie_name(): access}).status
    conn = http.client.HTTPConnection(*browser.address, timeout=browser.timeout)
    try:
        conn.request(
            "GET",
            "/api/me/",
            headers={"Host": f"{HOST}:{browser.address[1]}", "Authorization": f"Bearer {access}"},
        )
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


@pytest.mark.parametrize("paused", ["after_login", "before_login"])
@pytest.mark.parametrize("via", ["cookie", "Bearer"])
@pytest.mark.parametrize("mode", MODES)
def test_logout_is_refused_on_the_next_request(
    stack: Stack, replica: PrimaryWithReplica, mode: str, via: str, paused: str
) -> None:
    """Logout ends the session the primary has, and writes its revoked marker.

    Paused after the login, the replica has the session row but will not see its
    revocation; paused before, it has never seen the session at all.
    """
    if paused == "before_login":
        replica.pause_replay()
    browser = logged_in(stack, mode)
    access = browser.cookies[access_cookie_name()]
    assert api_me(browser, access, via) == 200  # the cache now says "live"
    if paused == "after_login":
        replica.pause_replay()

    assert browser.post("/auth/logout/", csrf=True).status == 204

    assert api_me(browser, access, via) == 401
    assert api_me(browser, access, via) == 401


@pytest.mark.parametrize("mode", MODES)
def test_evicted_marker_is_not_refilled_from_the_replica(
    stack: Stack, replica: PrimaryWithReplica, mode: str
) -> None:
    """A cache miss after a revocation asks the primary; the replica's "live" is not cached."""
    browser = logged_in(stack, mode)
    access = browser.cookies[access_cookie_name()]
    replica.pause_replay()
    assert browser.post("/auth/logout/", csrf=True).status == 204

    stack.redis.command("FLUSHALL")  # eviction, or a Redis restarted empty

    assert api_me(browser, access, "cookie") == 401
    assert api_me(browser, access, "Bearer") == 401


@pytest.mark.parametrize("mode", MODES)
def test_refresh_and_reuse_detection_judge_the_primary_row(
    stack: Stack, replica: PrimaryWithReplica, mode: str
) -> None:
    """Refresh twice, race the second, replay the first: judged on the primary's row."""
    browser = logged_in(stack, mode)
    r0 = browser.cookies[refresh_cookie_name()]
    replica.pause_replay()

    first = browser.post("/auth/refresh/", csrf=True)
    assert first.status == 200, first.body
    r1 = browser.cookies[refresh_cookie_name()]
    second = browser.post("/auth/refresh/", csrf=True)
    assert second.status == 200, second.body  # r1 is current on the primary
    r2 = browser.cookies[refresh_cookie_name()]
    a2 = browser.cookies[access_cookie_name()]
    assert api_me(browser, a2, "cookie") == 200

    # A second tab still holding r1, within the grace window: the same successor.
    tab = browser.copy()
    tab.cookies[refresh_cookie_name()] = r1
    race = tab.post("/auth/refresh/", csrf=True)
    assert race.status == 200, race.body
    assert race.set_cookies[refresh_cookie_name()] == r2

    # r0 was consumed two rotations ago: theft, and the whole family dies.
    thief = browser.copy()
    thief.cookies[refresh_cookie_name()] = r0
    replay = thief.post("/auth/refresh/", csrf=True)
    assert replay.status == 401
    assert replay.json()["reason"] == RevokeReason.REUSE_DETECTED.value
    assert browser.post("/auth/refresh/", csrf=True).status == 401
    assert api_me(browser, a2, "cookie") == 401


@pytest.mark.parametrize("paused", ["after_login", "before_login"])
@pytest.mark.parametrize("mode", MODES)
def test_password_change_keeps_this_device_while_the_replica_lags(
    stack: Stack, replica: PrimaryWithReplica, mode: str, paused: str
) -> None:
    """The successor bound to the new password is not revoked on the replica's old row.

    Paused before the login, the replica has never seen the session being kept.
    """
    if paused == "before_login":
        replica.pause_replay()
    browser = logged_in(stack, mode)
    old_access = browser.cookies[access_cookie_name()]
    if paused == "after_login":
        replica.pause_replay()

    changed = browser.post("/replica/change-password/", form={"password": NEW_PASSWORD}, csrf=True)
    assert changed.status == 204, stack.apps[mode].log_text()
    kept = browser.cookies[access_cookie_name()]
    assert kept != old_access

    assert api_me(browser, kept, "cookie") == 200
    assert api_me(browser, kept, "Bearer") == 200
    assert api_me(browser, old_access, "cookie") == 401
    refreshed = browser.post("/auth/refresh/", csrf=True)
    assert refreshed.status == 200, refreshed.body
