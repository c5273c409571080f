"""Races across processes on PostgreSQL: rotation, force logout, login storms.

Four spawned processes, each with its own Django, database connection and cache
client (tests/servers.py ``django_process``), wait on one barrier and then act at
once: refresh the same token, or refresh while an administrator forces a logout.
The login storm sends 100 parallel logins for one user over HTTP to gunicorn's three
workers, with a logout-all in the middle of it. Afterwards every session is either
fully live (its access cookie and its refresh cookie work) or fully revoked (neither
does), and the rows say the same.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from jwt_cookie_auth import tokens
from jwt_cookie_auth.conf import app_settings
from jwt_cookie_auth.cookie_names import access_cookie_name, refresh_cookie_name
from jwt_cookie_auth.models import BlacklistedToken, LoginSession, RevokeReason
from tests.conftest import PASSWORD, login, make_user, use_clock
from tests.servers import (
    HttpSession,
    RedisServer,
    django_process,
    gunicorn_server,
    redis_caches,
    redis_server,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PROCESSES = 4
ROUNDS = 10
STORM = 100


class ProcessPool:
    """``size`` Django processes on the test database; ``run`` gives each one task."""

    def __init__(self, size: int, db_name: str, redis_url: str) -> None:
        context = multiprocessing.get_context("spawn")
        self.barrier = context.Barrier(size)
        self.results = context.Queue()
        self.queues = [context.Queue() for _ in range(size)]
        self.processes = [
            context.Process(
                target=django_process,
                args=(db_name, redis_url, queue, self.results, self.barrier),
                daemon=True,
            )
            for queue in self.queues
        ]
        for process in self.processes:
            process.start()
        self.pids = {self.results.get(timeout=120)[1] for _ in self.processes}

    def run(self, tasks: list[tuple[str, Any]]) -> list[tuple[str, int, int, Any]]:
        assert len(tasks) == len(self.queues)
        for queue, task in zip(self.queues, tasks, strict=True):
            queue.put(task)
        results = [self.results.get(timeout=60) for _ in tasks]
        assert {pid for _, pid, _, _ in results} == self.pids
        return results

    def close(self) -> None:
        for queue in self.queues:
            queue.put(None)
        for process in self.processes:
            process.join(30)
            if process.is_alive():
                process.kill()
                process.join(10)


@pytest.fixture(scope="module")
def shared_redis() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server


@pytest.fixture(scope="module")
def pool(django_db_setup: None, django_db_blocker: Any, shared_redis: RedisServer) -> Any:
    with django_db_blocker.unblock():
        db_name = connection.settings_dict["NAME"]
    processes = ProcessPool(PROCESSES, db_name, shared_redis.url)
    yield processes
    processes.close()


@pytest.fixture(autouse=True)
def _same_cache_as_the_processes(settings: Any, shared_redis: RedisServer) -> None:
    settings.CACHES = redis_caches(shared_redis.url, ignore_exceptions=False)


def jti(token: str) -> str:
    return tokens.decode(token, tokens.REFRESH, allow_expired=True).jti


def log_in(user: Any) -> Client:
    client = Client()
    login(client, user)
    return client


def cookies_status(access: str | None, refresh: str | None) -> tuple[int, int]:
    """(API status with the access cookie, refresh status with the refresh cookie)."""
    api, renew = Client(), Client()
    if access:
        api.cookies[access_cookie_name()] = access
    if refresh:
        renew.cookies[refresh_cookie_name()] = refresh
    return (
        api.get(reverse("me")).status_code,
        renew.post(reverse("jwt_cookie_auth:refresh")).status_code,
    )


def test_four_processes_refreshing_one_token_make_one_chain(
    pool: ProcessPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """4 processes x 10 rounds: one successor per round, the others its grace copy."""
    user = make_user("alice")
    client = log_in(user)
    token = client.cookies[refresh_cookie_name()].value
    session_id = tokens.decode(token, tokens.REFRESH).sid
    consumed: list[str] = []
    for _ in range(ROUNDS):
        results = pool.run([("refresh", token)] * PROCESSES)
        assert [status for _, _, status, _ in results] == [200] * PROCESSES
        successors = {cookie for _, _, _, cookie in results}
        assert len(successors) == 1, "more than one successor chain"
        (successor,) = successors
        assert successor
        assert successor != token
        consumed.append(token)
        token = successor

    session = LoginSession.objects.get()
    assert str(session.pk) == session_id
    assert session.revoked_at is None
    assert session.refresh_jti == jti(token)
    assert session.previous_jti == jti(consumed[-1])
    blacklisted = list(BlacklistedToken.objects.order_by("blacklisted_at", "id"))
    assert [row.jti for row in blacklisted] == [jti(t) for t in consumed]
    assert {row.session_id for row in blacklisted} == {session.pk}

    # After the grace period, replaying the last consumed token is theft.
    later = timezone.now() + app_settings.ROTATION_GRACE_PERIOD + timedelta(seconds=2)
    use_clock(monkeypatch, lambda: later)
    assert cookies_status(None, consumed[-1])[1] == 401
    session.refresh_from_db()
    assert session.revoke_reason == RevokeReason.REUSE_DETECTED
    assert cookies_status(None, token)[1] == 401


def test_force_logout_racing_refreshes_leaves_the_session_fully_revoked(
    pool: ProcessPool,
) -> None:
    """3 processes refresh while a 4th forces logout: every token of the family dies."""
    user = make_user("alice")
    outcomes = set()
    for _ in range(ROUNDS):
        client = log_in(user)
        access = client.cookies[access_cookie_name()].value
        token = client.cookies[refresh_cookie_name()].value
        session_id = tokens.decode(token, tokens.REFRESH).sid
        results = pool.run([("refresh", token)] * (PROCESSES - 1) + [("force_logout", user.pk)])
        refreshes = [(status, cookie) for kind, _, status, cookie in results if kind == "refresh"]
        (ended,) = [count for kind, _, _, count in results if kind == "force_logout"]
        assert ended == 1
        issued = {cookie for status, cookie in refreshes if status == 200}
        assert len(issued) <= 1, "more than one successor chain"
        assert all(status in (200, 401) for status, _ in refreshes)
        outcomes.add(tuple(sorted(status for status, _ in refreshes)))

        session = LoginSession.objects.get(pk=session_id)
        assert session.revoke_reason == RevokeReason.ADMIN
        assert BlacklistedToken.objects.filter(session=session).count() == len(issued)
        # Fully revoked: the original and any successor, access and refresh alike.
        for refresh in {token, *issued}:
            assert cookies_status(access, refresh) == (401, 401)
    assert LoginSession.objects.filter(user=user).count() == ROUNDS
    assert not LoginSession.objects.filter(revoked_at__isnull=True).exists()
    print(f"force logout vs refresh, refresh statuses per round: {sorted(outcomes)}")


def test_storm_of_100_parallel_logins_with_a_logout_all_in_the_middle() -> None:
    """100 logins for one user over HTTP (3 workers); each session is fully live or revoked."""
    field_name = get_user_model().USERNAME_FIELD
    with redis_server() as redis, gunicorn_server(redis.url) as server:
        created = server.create_users(["stormy"], PASSWORD)
        username, user_pk = created["stormy"], created["stormy:pk"]
        logout_all_done = threading.Event()

        def log_in_over_http(index: int) -> tuple[str, HttpSession]:
            if index >= 60:  # these start after the logout-all: they must stay live
                assert logout_all_done.wait(60)
            browser = HttpSession(server)
            reply = browser.login(field_name, username, PASSWORD)
            assert reply.status == 200, reply.body
            return reply.json()["session_id"], browser

        browsers: list[tuple[str, HttpSession]] = []
        with ThreadPoolExecutor(max_workers=20) as threads:
            futures = [threads.submit(log_in_over_http, i) for i in range(STORM)]
            try:
                for future in as_completed(futures, timeout=120):
                    browsers.append(future.result())
                    if len(browsers) == 30:
                        # Logins 30-59 are in flight or queued while this runs.
                        reply = browsers[0][1].copy().post("/auth/logout/all/", csrf=True)
                        assert reply.status == 204
                        logout_all_done.set()
            finally:
                logout_all_done.set()

        session_ids = {session_id for session_id, _ in browsers}
        assert len(session_ids) == STORM
        rows = dict(
            server.database.query(
                "SELECT id::text, revoke_reason FROM jwt_cookie_auth_loginsession"
                " WHERE user_id::text = %s",
                [user_pk],
            )
        )
        assert set(rows) == session_ids
        assert set(rows.values()) == {"", "logout_all"}

        def state(login: tuple[str, HttpSession]) -> tuple[str, int, int]:
            session_id, browser = login
            api = browser.get("/api/me/", store=False).status
            refresh = browser.post("/auth/refresh/", csrf=True, store=False).status
            return rows[session_id], api, refresh

        with ThreadPoolExecutor(max_workers=10) as threads:
            states = list(threads.map(state, browsers))
        for reason, api, refresh in states:
            assert (api, refresh) == ((200, 200) if reason == "" else (401, 401)), reason
        live = sum(1 for reason, _, _ in states if reason == "")
        assert 40 <= live <= 70
        print(f"login storm: {STORM} sessions, {live} live, {STORM - live} revoked by logout-all")
