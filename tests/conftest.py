"""Shared fixtures: users, a movable clock, logged-in clients, service checks."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import django
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.db import connection
from django.db.models import DateTimeField, Value
from django.dispatch import Signal
from django.test import Client
from django.urls import reverse
from django.utils import timezone

PASSWORD = "correct horse battery staple"


def on_postgres() -> bool:
    return connection.vendor == "postgresql"


def on_redis() -> bool:
    return "redis" in settings.CACHES["default"]["BACKEND"].lower()


def on_django_redis() -> bool:
    """django-redis, not Django's own RedisCache (``JWT_TEST_CACHE=redis-builtin``)."""
    return bool(settings.CACHES["default"]["BACKEND"].startswith("django_redis."))


@contextmanager
def redis_commands() -> Iterator[list[tuple[Any, ...]]]:
    """Record every command redis-py sends (one entry per round trip, pipelines aside),
    and every read of the local revocation cache's tracking connection, as
    ``(b"MGET", b"(tracking)", *keys)``: a round trip too, on its own socket."""
    from redis.connection import Connection

    from jwt_cookie_auth.local_revocation import Tracker

    sent: list[tuple[Any, ...]] = []
    real = Connection.send_command
    real_fetch = Tracker._fetch

    def spy(self: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(tuple(a.encode() if isinstance(a, str) else a for a in args))
        return real(self, *args, **kwargs)

    def fetch_spy(self: Any, raws: list[bytes], now: float) -> Any:
        sent.append((b"MGET", b"(tracking)", *raws))
        return real_fetch(self, raws, now)

    Connection.send_command = spy  # type: ignore[method-assign]
    Tracker._fetch = fetch_spy  # type: ignore[method-assign]
    try:
        yield sent
    finally:
        Connection.send_command = real  # type: ignore[method-assign]
        Tracker._fetch = real_fetch  # type: ignore[method-assign]


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """Tests marked ``postgres`` run in the PostgreSQL pass only, ``sqlite`` ones only
    in the SQLite passes (make test runs both)."""
    other = "sqlite" if os.environ.get("JWT_TEST_DB") == "postgres" else "postgres"
    selected = [item for item in items if other not in item.keywords]
    deselected = [item for item in items if other in item.keywords]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected


# ADMINS in the form the running Django wants: 6.0 takes address strings and deprecates
# (name, address) pairs, which 5.2 requires.
ADMINS: list[Any] = (
    ["admin@example.com"] if django.VERSION >= (6, 0) else [("Admin", "admin@example.com")]
)


def require_node() -> str:
    """Return the ``node`` executable; skip without it locally, fail under ``CI=true``.

    The JavaScript client's unit tests run it under Node.js; CI's machine has it
    (``.ci/run`` installs Debian's ``nodejs`` where it is missing).
    """
    import shutil

    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true, and node (Node.js) is not installed")
        pytest.skip("node (Node.js) is not installed")
    return node


def username_for(name: str) -> str:
    if get_user_model().USERNAME_FIELD == "email":
        return f"{name}@example.com"
    return name


def make_user(name: str = "alice", password: str = PASSWORD, **extra: Any) -> Any:
    user_model = get_user_model()
    return user_model._default_manager.create_user(  # type: ignore[attr-defined]
        **{user_model.USERNAME_FIELD: username_for(name)}, password=password, **extra
    )


def credentials(user: Any, password: str = PASSWORD, **extra: Any) -> dict[str, Any]:
    return {get_user_model().USERNAME_FIELD: user.get_username(), "password": password, **extra}


@dataclass
class FakeClock:
    current: datetime

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


@pytest.fixture(autouse=True)
def _clear_cache() -> Iterator[None]:
    caches["default"].clear()
    yield
    caches["default"].clear()


@pytest.fixture(autouse=True)
def _hold_login_throttle_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hold the login throttle's clock still: a fixed window must not end mid-test.

    Tests about windows ending move it themselves (``LoginFailureThrottle.timer``).
    """
    from jwt_cookie_auth.throttling import LoginFailureThrottle

    now = LoginFailureThrottle.timer()
    monkeypatch.setattr(LoginFailureThrottle, "timer", staticmethod(lambda: now))


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """Control ``jwt_cookie_auth.clock.now``: token expiry without sleeping."""
    fake = FakeClock(timezone.now().replace(microsecond=0))
    use_clock(monkeypatch, fake.now)
    return fake


def use_clock(monkeypatch: pytest.MonkeyPatch, now: Callable[[], datetime]) -> None:
    """Make ``now`` the time of the app host and of the database alike.

    The database's clock (``db_clock``: rotation's grace window) moves with the host's;
    skew tests then move ``clock.now`` alone (tests/test_clock_skew.py).
    """
    monkeypatch.setattr("jwt_cookie_auth.clock.now", now)
    monkeypatch.setattr(
        "jwt_cookie_auth.db_clock.now_expression",
        lambda alias: Value(now(), output_field=DateTimeField()),
    )


@pytest.fixture
def user(db: None) -> Any:
    return make_user("alice")


@pytest.fixture
def other_user(db: None) -> Any:
    return make_user("bob")


def login(client: Client, user: Any, **extra: Any) -> Any:
    response = client.post(
        reverse("jwt_cookie_auth:login"),
        credentials(user, **extra),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return response


@pytest.fixture
def logged_in(client: Client, user: Any) -> Client:
    login(client, user)
    return client


@pytest.fixture
def csrf_client(db: None) -> Client:
    """A client that enforces CSRF like a browser-facing deployment does."""
    return Client(enforce_csrf_checks=True)


def access_cookie(client: Client) -> str:
    from jwt_cookie_auth.cookie_names import access_cookie_name

    return client.cookies[access_cookie_name()].value


def refresh_cookie(client: Client) -> str:
    from jwt_cookie_auth.cookie_names import refresh_cookie_name

    return client.cookies[refresh_cookie_name()].value


def new_session(user: Any) -> str:
    """Start a session for ``user`` without HTTP; return its access token."""
    from django.test import RequestFactory

    from jwt_cookie_auth.issuing import start_session

    return start_session(RequestFactory().post("/auth/login/"), user).access


def api_status(access: str) -> int:
    """Return the status of an API call made with only this access cookie."""
    client = Client()
    from jwt_cookie_auth.cookie_names import access_cookie_name

    client.cookies[access_cookie_name()] = access
    return client.get(reverse("me")).status_code


@contextmanager
def capture(signal: Signal) -> Iterator[list[dict[str, Any]]]:
    """Collect every sending of ``signal`` in the block: its kwargs plus ``sender``."""
    calls: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        calls.append({"sender": sender, **kwargs})

    signal.connect(receiver, weak=False)
    try:
        yield calls
    finally:
        signal.disconnect(receiver)


@pytest.fixture
def revoked_signals() -> Iterator[list[dict[str, Any]]]:
    """Every ``session_revoked`` signal sent during the test."""
    from jwt_cookie_auth.signals import session_revoked

    with capture(session_revoked) as calls:
        yield calls


def csrf_login(client: Client, user: Any) -> str:
    """Log in as a browser does: CSRF token from ``session``, then the rotated one back."""
    token = client.get(reverse("jwt_cookie_auth:session")).json()["csrf_token"]
    response = client.post(
        reverse("jwt_cookie_auth:login"),
        credentials(user),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert response.status_code == 200, response.content
    return str(response.json()["csrf_token"])
