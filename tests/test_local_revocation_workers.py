"""LOCAL_REVOCATION_CACHE under gunicorn: a revocation is refused by every worker at once.

Three sync workers, each holding the session's "live" marker in its own tracked local
copy (no round trip on a hit). Every trial: use a session until every worker has
answered it (so each holds the marker locally), log out over HTTP, and replay the
snapshot of the cookies at once until every worker has answered. 1,000 trials, six at
a time; every replay must be 401. The sessions are started in one process beforehand
and their "live" markers written, so a worker keeps one from its first request.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import PASSWORD, on_django_redis
from tests.servers import (
    GunicornServer,
    HttpSession,
    command_calls,
    gunicorn_server,
    redis_server,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.skipif(not on_django_redis(), reason="runs once, in the django-redis pass"),
]

WORKERS = 3
TRIALS = 1000


@pytest.fixture(scope="module")
def server() -> Iterator[GunicornServer]:
    with (
        redis_server() as redis,
        gunicorn_server(
            redis.url, workers=WORKERS, env={"JWT_LIVE_LOCAL_REVOCATION_CACHE": "1"}
        ) as live,
    ):
        live.redis = redis  # type: ignore[attr-defined]
        yield live


SESSIONS = """
import json
from django.contrib.auth import get_user_model
from django.test import RequestFactory
from jwt_cookie_auth import revocation
from jwt_cookie_auth.cookie_names import access_cookie_name, refresh_cookie_name
from jwt_cookie_auth.issuing import start_session
user = get_user_model()._default_manager.get(pk={pk!r})
out = []
for _ in range({count}):
    issued = start_session(RequestFactory().post("/auth/login/"), user)
    # Its "live" marker in Redis: every worker's first look keeps it locally.
    revocation.lookup(str(issued.session.pk), owner=str(user.pk))
    out.append({{access_cookie_name(): issued.access, refresh_cookie_name(): issued.refresh}})
print(json.dumps(out))
"""


def trial(server: GunicornServer, cookies: dict[str, str], csrf: str) -> tuple[int, list[int]]:
    """One revocation; return (requests before the replays, the replays' statuses)."""
    workers = set(server.worker_pids())
    browser = HttpSession(server)
    browser.cookies = {**cookies, "csrftoken": csrf}
    seen: set[int] = set()
    warm = 0
    while seen != workers and warm < 200:
        # The middleware's check (no DRF): the same lookup, a lighter page.
        reply = browser.get("/whoami/", cookies=cookies)
        assert reply.json()["authenticated"] is True, reply.body
        seen.add(reply.worker)
        warm += 1
    assert seen == workers
    assert browser.post("/auth/logout/", csrf=True).status == 204
    statuses: list[int] = []
    seen.clear()
    while seen != workers and len(statuses) < 200:
        reply = browser.get("/api/me/", cookies=cookies)
        statuses.append(reply.status)
        seen.add(reply.worker)
    assert seen == workers
    return warm + 1, statuses


def test_every_worker_refuses_a_revoked_session_on_its_next_request(
    server: GunicornServer,
) -> None:
    created = server.create_users(["victim"], PASSWORD)
    code = SESSIONS.format(pk=created["victim:pk"], count=TRIALS)
    sessions = json.loads(server.python(code))
    csrf = HttpSession(server)
    csrf.get("/auth/session/")
    token = csrf.cookies["csrftoken"]
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda cookies: trial(server, cookies, token), sessions))
    assert len(results) == TRIALS
    replays = [status for _, statuses in results for status in statuses]
    assert Counter(replays) == {401: len(replays)}
    # Hits cost no round trip: far fewer MGETs than requests (without the local copy,
    # at least one per request; with it, one per worker after each change of marker).
    mgets = command_calls(server.redis.port, "mget")  # type: ignore[attr-defined]
    requests = len(replays) + sum(before for before, _ in results)
    assert mgets < 0.75 * requests, (mgets, requests)
    # Each worker kept its tracking connection (CLIENT TRACKING on: flag "t") throughout.
    clients = server.redis.command("CLIENT", "LIST").splitlines()  # type: ignore[attr-defined]
    tracking = [c for c in clients if "flags=t" in c]
    assert len(tracking) == WORKERS, clients
