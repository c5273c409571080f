"""Faults survived: Redis dies and comes back, cache entries vanish, PostgreSQL drops.

Redis: each test starts its own redis-server (tests/servers.py) and points django-redis
at it, with ``IGNORE_EXCEPTIONS`` on (errors read as misses) and off (errors raise).
Killing it with SIGKILL is a crash: clients see refused connections, and the server
comes back empty. Throughout, no request may get a 5xx, every revocation (made before
or during the outage) must hold through the database, and no one may be let in who
should not be.

PostgreSQL: the connection of the request doing a refresh is terminated by the server
(``pg_terminate_backend``) at three points of the rotation. The client gets a clean
500 (Django's handler, no traceback, its cookies left alone, so it can simply retry),
the token family is unchanged or exactly one step further, and a retry succeeds.
A 500 rather than a 401: a 401 would tell the client its session is over, and it is
not; the package does not catch database errors, as Django's session machinery does not.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.db import close_old_connections, connection, connections
from django.test import Client
from django.urls import reverse

from jwt_cookie_auth import revocation, tokens
from jwt_cookie_auth.conf import app_settings
from jwt_cookie_auth.cookie_names import access_cookie_name, refresh_cookie_name
from jwt_cookie_auth.models import BlacklistedToken, LoginSession, RevokeReason
from tests.conftest import PASSWORD, FakeClock, credentials, make_user
from tests.servers import (
    PG,
    HttpSession,
    RedisServer,
    gunicorn_server,
    redis_caches,
    redis_server,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

IGNORE_EXCEPTIONS = pytest.mark.parametrize(
    "ignore_exceptions", [True, False], ids=["IGNORE_EXCEPTIONS=on", "IGNORE_EXCEPTIONS=off"]
)


@pytest.fixture
def redis(settings: Any, ignore_exceptions: bool) -> Iterator[RedisServer]:
    """A private Redis as the revocation cache of this process."""
    with redis_server() as server:
        settings.CACHES = redis_caches(server.url, ignore_exceptions)
        yield server


@dataclass
class Browser:
    """A test client that remembers every status it got."""

    client: Client = field(default_factory=lambda: Client(raise_request_exception=False))
    statuses: list[int] = field(default_factory=list)
    session_id: str = ""

    def record(self, response: Any) -> Any:
        self.statuses.append(response.status_code)
        return response

    def login(self, user: Any, password: str = PASSWORD) -> int:
        response = self.record(
            self.client.post(
                reverse("jwt_cookie_auth:login"),
                credentials(user, password=password),
                content_type="application/json",
            )
        )
        if response.status_code == 200:
            self.session_id = response.json()["session_id"]
        return int(response.status_code)

    def api(self) -> int:
        return int(self.record(self.client.get(reverse("me"))).status_code)

    def post(self, name: str) -> int:
        return int(self.record(self.client.post(reverse(name))).status_code)

    def stolen(self) -> Browser:
        """Another browser holding a copy of these cookies."""
        thief = Browser(session_id=self.session_id)
        thief.statuses = self.statuses
        for name in (access_cookie_name(), refresh_cookie_name()):
            thief.client.cookies[name] = self.client.cookies[name].value
        return thief

    @property
    def refresh_token(self) -> str:
        return str(self.client.cookies[refresh_cookie_name()].value)


def logged_in(user: Any) -> Browser:
    browser = Browser()
    assert browser.login(user) == 200
    assert browser.api() == 200
    return browser


def marker(session_id: str) -> Any:
    return caches["default"].get(revocation.cache_key(session_id))


def revoke_reason(browser: Browser) -> str:
    return LoginSession.objects.get(pk=browser.session_id).revoke_reason


@IGNORE_EXCEPTIONS
def test_redis_crash_keeps_revocations_and_recovers(
    redis: RedisServer, clock: FakeClock, ignore_exceptions: bool
) -> None:
    """Kill Redis mid-run: no 5xx, old and new revocations hold, service returns with it."""
    alice, bob, carol, dave, erin = (
        make_user(n) for n in ("alice", "bob", "carol", "dave", "erin")
    )
    phone, laptop, bobs, carols, daves = (logged_in(u) for u in (alice, alice, bob, carol, dave))
    statuses = phone.statuses
    for browser in (laptop, bobs, carols, daves):
        browser.statuses = statuses

    # Revoked before the outage: the markers are in Redis.
    stolen_phone, stolen_bob = phone.stolen(), bobs.stolen()
    assert phone.post("jwt_cookie_auth:logout") == 204
    revocation.revoke_user_sessions([bob.pk], RevokeReason.ADMIN)  # the admin action's call
    assert marker(phone.session_id) == marker(bobs.session_id) == revocation.REVOKED
    assert marker(laptop.session_id) == revocation.live_marker(alice.pk)

    redis.kill()

    # Revoked before: still refused, by the database.
    assert stolen_phone.api() == 401
    assert stolen_bob.api() == 401
    assert stolen_phone.stolen().post("jwt_cookie_auth:refresh") == 401
    # Live sessions keep working.
    assert laptop.api() == 200
    # Revoked during the outage: logout, a password change.
    stolen_carol = carols.stolen()
    assert carols.post("jwt_cookie_auth:logout") == 204
    assert stolen_carol.api() == 401
    dave.set_password("a new password for dave")
    dave.save()
    assert daves.api() == 401
    # Logins: the right password works, a wrong one does not.
    assert Browser(statuses=statuses).login(erin, "wrong password") == 401
    erins = logged_in(erin)
    erins.statuses = statuses
    # Expired access tokens are renewed (transparently and explicitly), and a replayed
    # refresh token still revokes its family.
    clock.advance(minutes=6)
    assert laptop.api() == 200
    consumed = erins.stolen()
    assert erins.post("jwt_cookie_auth:refresh") == 200
    assert erins.api() == 200
    clock.advance(seconds=app_settings.ROTATION_GRACE_PERIOD.total_seconds() + 1)
    assert consumed.post("jwt_cookie_auth:refresh") == 401
    assert erins.api() == 401
    assert revoke_reason(erins) == RevokeReason.REUSE_DETECTED

    redis.start()  # empty, as after a crash without persistence

    for dead in (stolen_phone, stolen_bob, stolen_carol, daves, erins):
        assert dead.api() == 401
        # The emptied cache fills again from the database.
        assert revocation.is_session_revoked(dead.session_id)
        assert marker(dead.session_id) == revocation.REVOKED
    assert laptop.api() == 200
    assert marker(laptop.session_id) == revocation.live_marker(alice.pk)
    assert logged_in(erin).api() == 200
    assert set(statuses) <= {200, 204, 401}, statuses


@IGNORE_EXCEPTIONS
def test_flushed_cache_enforces_revocation(redis: RedisServer, clock: FakeClock) -> None:
    """FLUSHALL loses every marker: revoked sessions stay revoked, live ones stay live."""
    alice = make_user("alice")
    phone, laptop = logged_in(alice), logged_in(alice)
    stolen = phone.stolen()
    assert phone.post("jwt_cookie_auth:logout") == 204
    assert marker(phone.session_id) == revocation.REVOKED
    assert redis.command("FLUSHALL") == "OK"
    assert marker(phone.session_id) is None
    assert stolen.api() == 401
    assert laptop.api() == 200


@IGNORE_EXCEPTIONS
def test_evicted_markers_enforce_revocation(redis: RedisServer, clock: FakeClock) -> None:
    """Markers evicted under memory pressure (allkeys-lru) are answered by the database."""
    users = [make_user(f"user{i}") for i in range(3)]
    browsers = [logged_in(user) for user in users]
    stolen = [b.stolen() for b in browsers]
    for browser in browsers[:2]:
        assert browser.post("jwt_cookie_auth:logout") == 204
    live = revocation.live_marker(users[2].pk)
    assert [marker(b.session_id) for b in browsers] == [0, 0, live]

    redis.command("CONFIG", "SET", "maxmemory-policy", "allkeys-lru")
    redis.command("CONFIG", "SET", "maxmemory", "4mb")
    cache, filler = caches["default"], "x" * 4096
    for batch in range(200):
        cache.set_many({f"filler:{batch}:{i}": filler for i in range(50)})
        if not any(
            redis.command("EXISTS", cache.make_key(revocation.cache_key(b.session_id))) == "1"
            for b in browsers
        ):
            break
    else:
        pytest.fail("Redis never evicted the markers")

    assert [b.api() for b in stolen] == [401, 401, 200]


def pg_terminate(backend_pid: int) -> None:
    """Make the server end a connection, and wait until it has (PostgreSQL 14+)."""
    with psycopg.connect(dbname="postgres", autocommit=True, connect_timeout=10, **PG) as conn:
        ended = conn.execute("SELECT pg_terminate_backend(%s, 10000)", [backend_pid]).fetchone()
        assert ended == (True,)


def terminate_own_connection() -> None:
    pg_terminate(connection.connection.info.backend_pid)


@pytest.fixture
def fault(monkeypatch: pytest.MonkeyPatch, request: Any) -> Callable[[str], None]:
    """Arm a one-shot connection drop at a point of the next rotation."""

    def arm(point: str) -> None:
        fired: list[bool] = []

        def once(original: Callable[..., Any], after: bool = False) -> Callable[..., Any]:
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                if fired:
                    return original(*args, **kwargs)
                fired.append(True)
                if not after:
                    terminate_own_connection()
                    return original(*args, **kwargs)
                original(*args, **kwargs)
                terminate_own_connection()
                # The driver's error when the acknowledgement of COMMIT is lost, raised
                # through Django's wrapper as a real one would be.
                with connections["default"].wrap_database_errors:
                    raise psycopg.OperationalError("server closed the connection unexpectedly")

            return wrapper

        if point == "before-update":
            from jwt_cookie_auth import rotation

            monkeypatch.setattr(rotation, "_load", once(rotation._load))
        elif point == "after-update":
            manager = BlacklistedToken.objects
            monkeypatch.setattr(manager, "create", once(manager.create))
        else:
            assert point == "commit-ack-lost"
            wrapper = connections["default"]
            monkeypatch.setattr(wrapper, "commit", once(wrapper.commit, after=True))
        request.node.fault_fired = fired

    return arm


def refresh_over(client: Client, path: str) -> Any:
    if path == "explicit":
        return client.post(reverse("jwt_cookie_auth:refresh"))
    # Transparent: no access cookie, so the middleware refreshes before the view.
    client.cookies.pop(access_cookie_name(), None)
    return client.get(reverse("me"))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["explicit", "transparent"])
@pytest.mark.parametrize("point", ["before-update", "after-update", "commit-ack-lost"])
def test_database_connection_dropped_during_refresh(
    fault: Callable[[str], None], clock: FakeClock, point: str, path: str, request: Any
) -> None:
    """A dropped connection: clean 500, cookies kept, family intact, the retry succeeds."""
    user = make_user("alice")
    browser = logged_in(user)
    session_id = browser.session_id
    before = browser.refresh_token
    clock.advance(minutes=6)

    fault(point)
    response = refresh_over(browser.client, path)
    # What Django's handler does after every request (the test client skips it): a
    # connection that saw an error and no longer answers is closed.
    close_old_connections()
    assert request.node.fault_fired == [True]
    assert response.status_code == 500
    assert b"Traceback" not in response.content
    assert b"OperationalError" not in response.content
    assert b"terminat" not in response.content
    # The client keeps its cookies: not renewed, not deleted.
    assert refresh_cookie_name() not in response.cookies
    assert access_cookie_name() not in response.cookies

    session = LoginSession.objects.get(pk=session_id)
    assert session.revoked_at is None
    rotated = point == "commit-ack-lost"
    before_jti = tokens.decode(before, tokens.REFRESH).jti
    assert BlacklistedToken.objects.filter(session_id=session_id).count() == int(rotated)
    assert (session.previous_jti == before_jti) is rotated
    assert (session.refresh_jti == before_jti) is not rotated

    # The retry (same cookie) succeeds: a rotation now, or the grace answer with the
    # successor the lost response carried. Never a second chain.
    clock.advance(seconds=1)
    retry = refresh_over(browser.client, path)
    assert retry.status_code == 200
    after = browser.refresh_token
    assert after != before
    session.refresh_from_db()
    assert session.revoked_at is None
    assert tokens.decode(after, tokens.REFRESH).jti == session.refresh_jti
    assert list(BlacklistedToken.objects.values_list("jti", flat=True)) == [before_jti]
    assert LoginSession.objects.count() == 1
    # And the family goes on.
    clock.advance(minutes=6)
    assert browser.client.post(reverse("jwt_cookie_auth:refresh")).status_code == 200
    assert browser.api() == 200


# --- Redis killed under load, several workers ---------------------------------------


@dataclass
class Traffic:
    """Background requests from logged-in browsers; every answer is kept."""

    browsers: list[HttpSession]
    replies: list[tuple[float, str, int]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self, index: int) -> None:
        browser = self.browsers[index]
        deadline = time.monotonic() + 60
        while not self.stop.is_set() and time.monotonic() < deadline:
            for method, path in (("GET", "/api/me/"), ("POST", "/auth/refresh/")):
                try:
                    reply = browser.request(method, path, csrf=method == "POST")
                except OSError as exc:
                    self.errors.append(f"{path}: {exc!r}")
                    continue
                self.replies.append((time.monotonic(), path, reply.status))


@IGNORE_EXCEPTIONS
def test_redis_killed_under_load_on_three_workers(ignore_exceptions: bool) -> None:
    """gunicorn x3: Redis dies and returns under traffic; no 5xx, no lost revocation."""
    field_name = get_user_model().USERNAME_FIELD
    with (
        redis_server() as redis,
        gunicorn_server(redis.url, ignore_exceptions=ignore_exceptions) as server,
    ):
        names = [f"user{i}" for i in range(6)]
        users = server.create_users(names, PASSWORD)

        def log_in(name: str) -> HttpSession:
            browser = HttpSession(server)
            assert browser.login(field_name, users[name], PASSWORD).status == 200
            return browser

        active = [log_in(n) for n in names[:4]]
        before, during = log_in(names[4]), log_in(names[5])
        traffic = Traffic(active)
        stolen_before = before.copy()
        assert before.post("/auth/logout/", csrf=True).status == 204

        seen: dict[str, list[int]] = {"revoked": [], "new login": [], "logout": []}
        with ThreadPoolExecutor(max_workers=len(active)) as pool:
            running = [pool.submit(traffic.run, i) for i in range(len(active))]
            try:
                time.sleep(1)
                killed_at = time.monotonic()
                redis.kill()
                time.sleep(0.5)
                stolen_during = during.copy()
                seen["logout"].append(during.post("/auth/logout/", csrf=True).status)
                for _ in range(10):
                    for stolen in (stolen_before, stolen_during):
                        reply = stolen.get("/api/me/", cookies=stolen.cookies)
                        seen["revoked"].append(reply.status)
                seen["new login"].append(log_in(names[5]).get("/api/me/").status)
                time.sleep(1)
                restarted_at = time.monotonic()
                redis.start()
                time.sleep(1)
            finally:
                traffic.stop.set()
            for future in running:
                future.result(timeout=30)

        assert seen == {"revoked": [401] * 20, "new login": [200], "logout": [204]}
        statuses = [status for _, _, status in traffic.replies]
        assert traffic.errors == []
        assert statuses
        assert set(statuses) == {200}, server.log_text()
        outage = [s for t, _, s in traffic.replies if killed_at < t < restarted_at]
        after = [s for t, _, s in traffic.replies if t > restarted_at]
        assert len(outage) > 10
        assert len(after) > 10
        for stolen in (stolen_before, stolen_during):
            assert stolen.get("/api/me/", cookies=stolen.cookies).status == 401
        # Redis is used again: the revoked markers are back.
        keys = redis.command("--scan", "--pattern", "*jwt_cookie_auth:session:*")
        assert keys
