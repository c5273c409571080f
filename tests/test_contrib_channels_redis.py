"""WebSockets closed on revocation through the Redis channel layer (channels_redis).

A private redis-server on a spare port (tests/servers.py), started by this module:
the layer the README recommends for production, where the revoking process (a web
worker, ``manage.py jwt_force_logout``) is not the one holding the socket. The close
latencies measured here (revocation call to the client's close frame) go to
``test-artifacts/channels-close-latency.json``; the README quotes them.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import sys
import textwrap
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from jwt_cookie_auth import tokens
from jwt_cookie_auth.contrib.channels import CLOSE_SESSION_REVOKED, JWTCookieAuthMiddlewareStack
from jwt_cookie_auth.models import RevokeReason
from jwt_cookie_auth.revocation import revoke_session, revoke_user_sessions
from tests.conftest import make_user, new_session
from tests.e2e.harness import ARTIFACTS
from tests.servers import ROOT, RedisServer
from tests.test_contrib_channels import (
    WhoAmI,
    _keep_the_test_connection,  # noqa: F401 (an autouse fixture: it applies here too)
    closed_with,
    in_test_thread,
    run,
    socket,
    whoami,
)

pytestmark = pytest.mark.redis

LATENCY_FILE = ARTIFACTS / "channels-close-latency.json"


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    if shutil.which("redis-server") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true, and redis-server is not installed")
        pytest.skip("redis-server is not installed")
    server = RedisServer()
    try:
        server.start()
        yield server.url
    finally:
        server.stop()


PUBSUB = "channels_redis.pubsub.RedisPubSubChannelLayer"
CORE = "channels_redis.core.RedisChannelLayer"


@pytest.fixture(params=[PUBSUB, CORE], ids=["pubsub", "core"])
def backend(request: pytest.FixtureRequest, settings: Any, redis_url: str) -> str:
    """The README recommends the pub/sub layer; the older list-based one works too."""
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": request.param, "CONFIG": {"hosts": [redis_url]}}
    }
    return str(request.param)


def record(name: str, seconds: list[float]) -> dict[str, Any]:
    figures = {
        "samples": len(seconds),
        "median_ms": round(statistics.median(seconds) * 1000, 1),
        "max_ms": round(max(seconds) * 1000, 1),
    }
    ARTIFACTS.mkdir(exist_ok=True)
    found = json.loads(LATENCY_FILE.read_text()) if LATENCY_FILE.exists() else {}
    found[name] = figures
    LATENCY_FILE.write_text(json.dumps(found, indent=2) + "\n")
    return figures


def test_logout_closes_the_socket_through_redis(user: Any, backend: str) -> None:
    client = Client()
    from tests.conftest import access_cookie, login

    login(client, user)
    access = access_cookie(client)

    async def scenario() -> None:
        ws = socket(access)
        assert (await ws.connect(timeout=10))[0]
        assert (await whoami(ws))["user"] == str(user.pk)
        await in_test_thread(lambda: client.post(reverse("jwt_cookie_auth:logout")))
        assert await closed_with(ws) == (CLOSE_SESSION_REVOKED, "logout")

    run(scenario)


def test_a_revocation_in_another_process_closes_the_socket(
    user: Any, redis_url: str, backend: str
) -> None:
    """What ``manage.py jwt_force_logout`` on another machine does: only Redis is shared."""
    access = new_session(user)
    sid = tokens.decode(access, tokens.ACCESS).sid
    script = textwrap.dedent(
        f"""
        import asyncio, django
        from django.conf import settings
        settings.configure(
            INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth",
                            "jwt_cookie_auth"],
            DATABASES={{"default": {{"ENGINE": "django.db.backends.sqlite3",
                                     "NAME": ":memory:"}}}},
            CHANNEL_LAYERS={{"default": {{
                "BACKEND": {backend!r},
                "CONFIG": {{"hosts": [{redis_url!r}]}}}}}},
        )
        django.setup()
        from jwt_cookie_auth.contrib.channels import send_revoked
        asyncio.run(send_revoked([{sid!r}], "command"))
        """
    )

    async def scenario() -> None:
        ws = socket(access)
        assert (await ws.connect(timeout=10))[0]
        process = await asyncio.create_subprocess_exec(sys.executable, "-c", script, cwd=ROOT)
        assert await asyncio.wait_for(process.wait(), timeout=60) == 0
        assert await closed_with(ws) == (CLOSE_SESSION_REVOKED, "command")

    run(scenario)


def test_close_latency_one_session_at_a_time(user: Any, backend: str) -> None:
    """20 revocations of a one-socket session: revoke_session() to the close frame."""
    accesses = [new_session(user) for _ in range(20)]
    latencies: list[float] = []

    async def scenario() -> None:
        for access in accesses:
            ws = socket(access)
            assert (await ws.connect(timeout=10))[0]
            sid = tokens.decode(access, tokens.ACCESS).sid
            started = time.perf_counter()
            await in_test_thread(lambda sid=sid: revoke_session(sid, RevokeReason.ADMIN))
            assert await closed_with(ws) == (CLOSE_SESSION_REVOKED, "admin")
            latencies.append(time.perf_counter() - started)

    run(scenario)
    name = f"one_session_{backend.rsplit('.', 1)[1]}"
    print(name, record(name, latencies))


def test_close_latency_of_a_bulk_force_logout(db: None, settings: Any, redis_url: str) -> None:
    """5 users x 5 sessions x 2 sockets (50 sockets): one force logout closes them all.

    On the pub/sub layer: the list-based one can drop a message while other sockets'
    receives are cancelled (see the next test).
    """
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": PUBSUB, "CONFIG": {"hosts": [redis_url]}}}
    victims = [make_user(f"many{i}") for i in range(5)]
    accesses = [new_session(victim) for victim in victims for _ in range(5)]
    latencies: list[float] = []

    async def scenario() -> None:
        sockets = [socket(access) for access in accesses for _ in range(2)]
        for ws in sockets:
            assert (await ws.connect(timeout=10))[0]

        async def observe(ws: Any, started: float) -> None:
            assert await closed_with(ws) == (CLOSE_SESSION_REVOKED, "admin")
            latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        revoking = in_test_thread(
            lambda: revoke_user_sessions([v.pk for v in victims], RevokeReason.ADMIN)
        )
        await asyncio.gather(revoking, *(observe(ws, started) for ws in sockets))

    run(scenario)
    assert len(latencies) == 50
    print("bulk_50_sockets_pubsub", record("bulk_50_sockets_pubsub", latencies))


def test_bulk_force_logout_on_the_list_based_layer_with_the_recheck(
    db: None, settings: Any, redis_url: str
) -> None:
    """channels_redis.core can lose a message when a receive() of the same process is
    cancelled mid-read (django/channels_redis#366), as 50 consumers closing at once do:
    every socket still closes, a lost message within ``recheck_seconds``."""
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": CORE, "CONFIG": {"hosts": [redis_url]}}}
    victims = [make_user(f"many{i}") for i in range(5)]
    accesses = [new_session(victim) for victim in victims for _ in range(5)]
    app = JWTCookieAuthMiddlewareStack(WhoAmI.as_asgi(), recheck_seconds=1)

    async def scenario() -> None:
        sockets = [socket(access, app=app) for access in accesses for _ in range(2)]
        for ws in sockets:
            assert (await ws.connect(timeout=10))[0]
        await in_test_thread(
            lambda: revoke_user_sessions([v.pk for v in victims], RevokeReason.ADMIN)
        )
        closes = await asyncio.gather(*(closed_with(ws) for ws in sockets))
        assert set(closes) == {(CLOSE_SESSION_REVOKED, "admin")}

    run(scenario)
