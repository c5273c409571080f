"""Real concurrency against PostgreSQL (SECURITY.md item 24).

Threads each hold their own database connection, so these tests see what parallel
workers see: row locks, READ COMMITTED re-evaluation of the conditional UPDATE, and
commits racing each other. They run only in the PostgreSQL pass.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse

from jwt_cookie_auth import identity, revocation, rotation, tokens
from jwt_cookie_auth.issuing import start_session
from jwt_cookie_auth.models import BlacklistedToken, LoginSession, RevokeReason
from jwt_cookie_auth.signals import refresh_token_reused
from tests.conftest import FakeClock, credentials, make_user

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 20


def run_in_threads(count: int, target: Callable[[int], Any]) -> list[Any]:
    """Start ``count`` threads at one barrier; return each result or exception."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def worker(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = target(index)
        except Exception as exc:
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a worker thread hung"
    return results


def refresh_request() -> Any:
    return RequestFactory().post("/auth/refresh/", REMOTE_ADDR="198.51.100.1")


def fresh_session(user: Any) -> str:
    """Log ``user`` in and return the refresh token."""
    return start_session(RequestFactory().post("/auth/login/"), user).refresh


def test_parallel_refreshes_yield_exactly_one_successor(clock: FakeClock) -> None:
    """20 simultaneous refreshes of one token: one chain, all succeed, no revocation."""
    user = make_user("alice")
    r0 = fresh_session(user)
    original = tokens.decode(r0, tokens.REFRESH)
    reuse_alarms: list[Any] = []

    def on_reuse(sender: Any, **kwargs: Any) -> None:
        reuse_alarms.append(kwargs)

    refresh_token_reused.connect(on_reuse)
    try:
        results = run_in_threads(THREADS, lambda _: rotation.rotate(r0, refresh_request()))
    finally:
        refresh_token_reused.disconnect(on_reuse)

    errors = [r for r in results if isinstance(r, Exception)]
    assert errors == []
    successors = {r.refresh for r in results}
    assert len(successors) == 1
    successor = tokens.decode(successors.pop(), tokens.REFRESH)
    assert successor.jti != original.jti
    assert successor.sid == original.sid
    session = LoginSession.objects.get(pk=original.sid)
    assert session.revoked_at is None
    assert session.refresh_jti == successor.jti
    assert session.previous_jti == original.jti
    assert list(BlacklistedToken.objects.values_list("jti", flat=True)) == [original.jti]
    assert reuse_alarms == []
    # Every access token handed out works.
    for result in results:
        assert identity.authenticate_access_token(result.access)[0].pk == user.pk

    # The grace window ends: one more replay of the original is theft.
    clock.advance(minutes=1)
    with pytest.raises(rotation.RefreshReuseDetected):
        rotation.rotate(r0, refresh_request())
    session.refresh_from_db()
    assert session.revoke_reason == RevokeReason.REUSE_DETECTED
    with pytest.raises(rotation.RefreshRejected):
        rotation.rotate(results[0].refresh, refresh_request())


def test_logout_racing_refresh_leaves_session_dead(clock: FakeClock) -> None:
    """Logout and refresh at once: the session ends revoked and no winner's token works."""
    user = make_user("alice")
    for _ in range(5):
        r0 = fresh_session(user)
        sid = tokens.decode(r0, tokens.REFRESH).sid

        def act(index: int, r0: str = r0, sid: str = sid) -> Any:
            if index % 2 == 0:
                return rotation.rotate(r0, refresh_request())
            return revocation.revoke_session(sid, RevokeReason.LOGOUT)

        results = run_in_threads(4, act)

        session = LoginSession.objects.get(pk=sid)
        assert session.revoked_at is not None
        assert session.revoke_reason == RevokeReason.LOGOUT
        for result in results:
            if isinstance(result, Exception):
                assert isinstance(result, rotation.RefreshRejected), repr(result)
            elif not isinstance(result, bool):
                with pytest.raises(rotation.RefreshRejected):
                    rotation.rotate(result.refresh, refresh_request())
                with pytest.raises(tokens.TokenError):
                    identity.authenticate_access_token(result.access)
        # At least one logout call found the session live. (Two calls at one clock tick
        # may both report True: revoke_sessions re-selects by (revoked_at, reason).)
        assert True in results


# Each login in flight holds a slot of the login throttle until its password check
# succeeds, so that no more than the limit reach the check at once (test_throttling.py):
# 30 simultaneous logins of one name need a limit of at least 30.
@override_settings(JWT_COOKIE_AUTH={"LOGIN_THROTTLE_RATES": {"username": "30/min", "ip": "30/min"}})
def test_parallel_logins_create_distinct_live_sessions(clock: FakeClock) -> None:
    """30 simultaneous logins of one user: 30 separate, live families."""
    user = make_user("alice")

    def log_in(_: int) -> Any:
        response = Client().post(
            reverse("jwt_cookie_auth:login"), credentials(user), content_type="application/json"
        )
        assert response.status_code == 200, response.content
        return response.json()["session_id"]

    results = run_in_threads(30, log_in)

    assert [r for r in results if isinstance(r, Exception)] == []
    assert len(set(results)) == 30
    live = LoginSession.objects.live(clock.now() + timedelta(seconds=1)).filter(user=user)
    assert {str(pk) for pk in live.values_list("pk", flat=True)} == set(results)
