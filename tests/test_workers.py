"""Revocation across processes: gunicorn with 3 workers on PostgreSQL and Redis.

A revocation written by one worker must stop the victim's cookies in every worker at
once, including the workers that answered "live" for that session a moment before.
Each test revokes through a real HTTP path (the admin, logout-all, a password change,
a replayed refresh token) and then replays the victim's cookies at least 50 times,
until every worker has answered: every answer must be 401. With django-redis each
worker holds the session in its local revocation copy (on by default) when it is
revoked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import count
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse

from jwt_cookie_auth.cookie_names import access_cookie_name, refresh_cookie_name
from tests.conftest import PASSWORD
from tests.servers import GunicornServer, HttpSession, Reply, gunicorn_server, redis_server

pytestmark = pytest.mark.postgres

WORKERS = 3
REPLAYS = 50
NEW_PASSWORD = "a brand new passphrase 42"


@dataclass
class Live:
    server: GunicornServer
    admin_username: str
    names: Iterator[int]

    def user(self, prefix: str) -> tuple[str, str]:
        """Create a fresh user; return (username, pk)."""
        name = f"{prefix}{next(self.names)}"
        created = self.server.create_users([name], PASSWORD)
        return created[name], created[f"{name}:pk"]

    def browser(self) -> HttpSession:
        return HttpSession(self.server)

    def logged_in(self, username: str, password: str = PASSWORD) -> HttpSession:
        browser = self.browser()
        reply = browser.login(get_user_model().USERNAME_FIELD, username, password)
        assert reply.status == 200, reply.body
        return browser

    def admin(self) -> HttpSession:
        browser = self.browser()
        reply = browser.admin_login(self.admin_username, PASSWORD)
        assert reply.status == 302, reply.body
        assert reply.header("Location") == "/admin/"
        return browser


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    with redis_server() as redis, gunicorn_server(redis.url, workers=WORKERS) as server:
        created = server.create_users([], PASSWORD, superuser="boss")
        yield Live(server, created["boss"], count())


def spread(
    server: GunicornServer, send: Callable[[int], Reply], minimum: int = REPLAYS
) -> list[Reply]:
    """Send ``minimum`` requests or more, in parallel, until every worker has answered."""
    workers = set(server.worker_pids())
    assert len(workers) == WORKERS
    replies: list[Reply] = []
    with ThreadPoolExecutor(max_workers=6) as pool:
        while len(replies) < minimum or {r.worker for r in replies} != workers:
            assert len(replies) < 20 * minimum, f"workers never reached: {workers}"
            replies += pool.map(send, range(len(replies), len(replies) + 10))
    # Same workers throughout: none crashed and was replaced.
    assert {r.worker for r in replies} == workers == set(server.worker_pids())
    return replies


def replay_stolen(browser: HttpSession) -> Callable[[int], Reply]:
    """Replay a snapshot of the cookies three ways: API call, transparent and explicit refresh."""
    cookies = dict(browser.cookies)
    refresh_only = {k: v for k, v in cookies.items() if k != access_cookie_name()}

    def send(i: int) -> Reply:
        if i % 3 == 0:
            return browser.get("/api/me/", cookies=cookies)
        if i % 3 == 1:
            # No access cookie: the middleware tries a transparent refresh.
            return browser.get("/api/me/", cookies=refresh_only)
        return browser.post("/auth/refresh/", cookies=cookies, csrf=True)

    return send


def assert_works_everywhere(live: Live, browser: HttpSession, username: str) -> None:
    """The session answers 200 on every worker (each has looked it up: "live" is cached)."""
    cookies = dict(browser.cookies)
    replies = spread(live.server, lambda _: browser.get("/api/me/", cookies=cookies), 12)
    assert {r.status for r in replies} == {200}
    assert {r.json()["user"] for r in replies} == {username}


def assert_dead_everywhere(live: Live, browser: HttpSession) -> None:
    replies = spread(live.server, replay_stolen(browser))
    statuses = [r.status for r in replies]
    assert statuses == [401] * len(replies), statuses
    # A dead session gets its cookies deleted, never renewed.
    assert all(r.set_cookies.get(refresh_cookie_name(), "") == "" for r in replies)


def session_states(live: Live, user_pk: str) -> list[tuple[Any, str]]:
    return live.server.database.query(
        "SELECT revoked_at IS NOT NULL, revoke_reason FROM jwt_cookie_auth_loginsession"
        " WHERE user_id::text = %s",
        [user_pk],
    )


def user_admin_registered() -> bool:
    return admin.site.is_registered(get_user_model())


def test_requests_reach_every_worker(live: Live) -> None:
    """The three workers are separate processes and all of them serve the API."""
    username, _ = live.user("spread")
    browser = live.logged_in(username)
    assert_works_everywhere(live, browser, username)
    assert len(set(live.server.worker_pids())) == WORKERS


@pytest.mark.skipif(not user_admin_registered(), reason="the user model has no admin")
def test_force_logout_in_the_admin_stops_the_victim_on_every_worker(live: Live) -> None:
    """The force_logout action, POSTed over HTTP, ends both sessions on all workers."""
    victim, victim_pk = live.user("victim")
    bystander, _ = live.user("bystander")
    phone, laptop = live.logged_in(victim), live.logged_in(victim)
    other = live.logged_in(bystander)
    assert_works_everywhere(live, phone, victim)
    assert_works_everywhere(live, laptop, victim)

    boss = live.admin()
    opts = get_user_model()._meta
    changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    reply = boss.admin_post(
        changelist,
        [("action", "force_logout"), ("_selected_action", victim_pk), ("index", "0")],
    )
    assert reply.status == 302, reply.body
    assert session_states(live, victim_pk) == [(True, "admin")] * 2

    assert_dead_everywhere(live, phone)
    assert_dead_everywhere(live, laptop)
    assert_works_everywhere(live, other, bystander)
    # The victim can log in again, and that new session works everywhere.
    assert_works_everywhere(live, live.logged_in(victim), victim)


def test_revoking_sessions_in_the_session_admin_stops_them_on_every_worker(live: Live) -> None:
    """The LoginSession admin's revoke action (any user model) is enforced by all workers."""
    victim, victim_pk = live.user("victim")
    phone = live.logged_in(victim)
    assert_works_everywhere(live, phone, victim)
    session_id = live.server.database.scalar(
        "SELECT id::text FROM jwt_cookie_auth_loginsession WHERE user_id::text = %s",
        [victim_pk],
    )
    changelist = reverse("admin:jwt_cookie_auth_loginsession_changelist")
    reply = live.admin().admin_post(
        changelist,
        [("action", "revoke_selected"), ("_selected_action", session_id), ("index", "0")],
    )
    assert reply.status == 302, reply.body
    assert session_states(live, victim_pk) == [(True, "admin")]
    assert_dead_everywhere(live, phone)


def test_logout_all_stops_every_device_on_every_worker(live: Live) -> None:
    """POST /auth/logout/all/ from one device; the other device's cookies die everywhere."""
    victim, victim_pk = live.user("victim")
    phone, laptop = live.logged_in(victim), live.logged_in(victim)
    stolen = phone.copy()
    assert_works_everywhere(live, laptop, victim)
    assert_works_everywhere(live, phone, victim)

    reply = phone.post("/auth/logout/all/", csrf=True)
    assert reply.status == 204
    assert session_states(live, victim_pk) == [(True, "logout_all")] * 2

    assert_dead_everywhere(live, laptop)
    assert_dead_everywhere(live, stolen)


@pytest.mark.parametrize("changed_by", ["admin", "user"])
def test_password_change_stops_every_session_on_every_worker(live: Live, changed_by: str) -> None:
    """A password change (admin form, or the user's own page) ends all the user's sessions."""
    if changed_by == "admin" and not user_admin_registered():
        pytest.skip("the user model has no admin")
    victim, victim_pk = live.user("victim")
    phone, laptop = live.logged_in(victim), live.logged_in(victim)
    stolen = laptop.copy()
    assert_works_everywhere(live, phone, victim)
    assert_works_everywhere(live, laptop, victim)

    if changed_by == "admin":
        form = reverse("admin:auth_user_password_change", args=[victim_pk])
        reply = live.admin().admin_post(
            form,
            [
                ("usable_password", "true"),
                ("password1", NEW_PASSWORD),
                ("password2", NEW_PASSWORD),
            ],
        )
        assert reply.status == 302, reply.body
    else:
        reply = laptop.post("/live/set-password/", form={"password": NEW_PASSWORD}, csrf=True)
        assert reply.status == 204, reply.body
    assert session_states(live, victim_pk) == [(True, "password_change")] * 2

    assert_dead_everywhere(live, phone)
    assert_dead_everywhere(live, stolen)
    # The old password is refused; the new one starts a session that works everywhere.
    old = live.browser().login(get_user_model().USERNAME_FIELD, victim, PASSWORD)
    assert old.status == 401
    assert_works_everywhere(live, live.logged_in(victim, NEW_PASSWORD), victim)


def test_reuse_detection_stops_the_session_on_every_worker(live: Live) -> None:
    """A thief replays a refresh token the victim has since rotated twice (no grace: it
    is not the last one): the whole session ends, on every worker, for both of them."""
    victim, victim_pk = live.user("victim")
    browser = live.logged_in(victim)
    stolen = browser.copy()
    for _ in range(2):
        assert browser.post("/auth/refresh/", csrf=True).status == 200
    assert_works_everywhere(live, browser, victim)
    assert_works_everywhere(live, stolen, victim)  # its access token is still unexpired

    thief = stolen.copy()  # the replay below deletes the cookies it answers
    reply = stolen.post("/auth/refresh/", csrf=True)
    assert reply.status == 401, reply.body
    assert session_states(live, victim_pk) == [(True, "reuse_detected")]

    assert_dead_everywhere(live, browser)
    assert_dead_everywhere(live, thief)
