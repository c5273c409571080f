"""Count SQL statements and cache round trips per authenticated request and per refresh.

Run against PostgreSQL and Redis (the production shape):

    JWT_TEST_DB=postgres JWT_TEST_CACHE=redis .venv/bin/python scripts/measure_costs.py

Round trips are counted at the socket: every ``send_packed_command`` of redis-py is
one request/response exchange (a pipeline is one). With the local-memory cache the
script counts cache method calls instead. It creates and drops its own test database.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.cache import caches  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import (  # noqa: E402
    CaptureQueriesContext,
    setup_test_environment,
    teardown_test_environment,
)
from django.urls import reverse  # noqa: E402

from jwt_cookie_auth.cookie_names import access_cookie_name  # noqa: E402

calls: Counter[str] = Counter()


@contextmanager
def counting_cache() -> Iterator[Callable[[], int]]:
    """Yield a function returning the cache round trips made so far."""
    calls.clear()
    if "redis" in settings.CACHES["default"]["BACKEND"].lower():
        from redis.connection import Connection

        original = Connection.send_packed_command

        def send(self: Any, command: Any, check_health: bool = True) -> Any:
            calls["round trips"] += 1
            return original(self, command, check_health)

        # The local revocation cache's own connection: a read there waits for its reply
        # (its PING does not: it is read by a later drain).
        from jwt_cookie_auth.local_revocation import Tracker

        fetch = Tracker._fetch

        def counted_fetch(self: Any, raws: Any, now: float) -> Any:
            calls["round trips"] += 1
            return fetch(self, raws, now)

        Connection.send_packed_command = send  # type: ignore[method-assign]
        Tracker._fetch = counted_fetch  # type: ignore[method-assign]
        try:
            yield lambda: calls["round trips"]
        finally:
            Connection.send_packed_command = original  # type: ignore[method-assign]
            Tracker._fetch = fetch  # type: ignore[method-assign]
    else:
        cache = caches["default"]
        names = ["get", "set", "add", "get_many", "set_many", "delete", "delete_many"]
        originals = {name: getattr(cache, name) for name in names}

        def wrap(name: str) -> Callable[..., Any]:
            def method(*args: Any, **kwargs: Any) -> Any:
                calls["round trips"] += 1
                return originals[name](*args, **kwargs)

            return method

        for name in names:
            setattr(cache, name, wrap(name))
        try:
            yield lambda: calls["round trips"]
        finally:
            for name in names:
                setattr(cache, name, originals[name])


def measure(label: str, action: Callable[[], Any]) -> None:
    with counting_cache() as round_trips, CaptureQueriesContext(connection) as queries:
        response = action()
    status = getattr(response, "status_code", "")
    print(f"{label:<58} HTTP {status}  SQL {len(queries):>2}  cache round trips {round_trips()}")
    for query in queries.captured_queries:
        print(f"    {query['sql'][:150]}")


def main() -> None:
    setup_test_environment()
    old_config = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        caches["default"].clear()
        user_model = get_user_model()
        user = user_model._default_manager.create_user(  # type: ignore[attr-defined]
            **{user_model.USERNAME_FIELD: "alice@example.com"}, password="pw-123456789"
        )
        client = Client()
        login = {user_model.USERNAME_FIELD: user.get_username(), "password": "pw-123456789"}
        print(f"database: {connection.vendor}; cache: {settings.CACHES['default']['BACKEND']}")
        me = reverse("me")
        measure(
            "login",
            lambda: client.post(reverse("jwt_cookie_auth:login"), login, "application/json"),
        )
        measure("first API GET (cold revocation cache)", lambda: client.get(me))
        measure("API GET, warm cache (cookie)", lambda: client.get(me))
        measure("API GET, this process holds the marker (cookie)", lambda: client.get(me))
        access = client.cookies[access_cookie_name()]
        bearer = Client(HTTP_AUTHORIZATION=f"Bearer {access.value}")
        measure("API GET, warm cache (Bearer)", lambda: bearer.get(me))
        measure("plain Django view, warm cache", lambda: client.get(reverse("whoami")))
        measure(
            "refresh (rotation + theft detection + blacklist)",
            lambda: client.post(reverse("jwt_cookie_auth:refresh")),
        )
        measure("anonymous API GET", lambda: Client().get(reverse("open")))
        caches["default"].clear()
        measure("API GET after cache flush", lambda: client.get(me))
    finally:
        connection.creation.destroy_test_db(old_config, verbosity=0)
        teardown_test_environment()


if __name__ == "__main__":
    main()
