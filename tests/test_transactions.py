"""``write_transaction``: BEGIN IMMEDIATE for one transaction on SQLite, nothing else.

The behaviour users see (no "database is locked" under concurrent refreshes) is in
tests/test_sqlite_concurrency.py; these pin the subtle parts: the project's own
transactions keep their mode, a configured mode is never weakened, a nested block is
a savepoint, and the refresh endpoint's transaction is the one that opens IMMEDIATE.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from jwt_cookie_auth.models import LoginSession
from jwt_cookie_auth.transactions import write_transaction
from tests.conftest import FakeClock, new_session

pytestmark = [pytest.mark.sqlite, pytest.mark.django_db(transaction=True)]


def begins(ctx: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in ctx.captured_queries if q["sql"].split()[0] in {"BEGIN", "SAVEPOINT"}]


def read_and_write() -> None:
    LoginSession.objects.exists()
    LoginSession.objects.filter(pk=None).update(last_used_at=None)


def test_write_transaction_begins_immediate_and_leaves_the_mode_alone() -> None:
    with CaptureQueriesContext(connection) as ctx:
        with write_transaction():
            read_and_write()
        with transaction.atomic():
            read_and_write()
    assert begins(ctx) == ["BEGIN IMMEDIATE", "BEGIN"]
    assert connection.transaction_mode is None  # type: ignore[attr-defined]


def test_a_mode_set_in_options_is_kept() -> None:
    """OPTIONS["transaction_mode"] = "EXCLUSIVE" stays EXCLUSIVE, never IMMEDIATE."""
    wrapper: Any = connections[DEFAULT_DB_ALIAS]
    wrapper.ensure_connection()
    configured, wrapper.transaction_mode = wrapper.transaction_mode, "EXCLUSIVE"
    try:
        with CaptureQueriesContext(wrapper) as ctx, write_transaction():
            read_and_write()
        assert wrapper.transaction_mode == "EXCLUSIVE"
    finally:
        wrapper.transaction_mode = configured
    assert begins(ctx) == ["BEGIN EXCLUSIVE"]


def test_nested_in_atomic_it_is_a_savepoint() -> None:
    with CaptureQueriesContext(connection) as ctx, transaction.atomic(), write_transaction():
        read_and_write()
    assert [sql.split()[0] for sql in begins(ctx)] == ["BEGIN", "SAVEPOINT"]


def test_an_error_rolls_back_and_restores_the_mode(user: Any) -> None:
    def fail_after_a_write() -> None:
        with write_transaction():
            new_session(user)
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        fail_after_a_write()
    assert not LoginSession.objects.exists()
    assert connection.transaction_mode is None  # type: ignore[attr-defined]
    with CaptureQueriesContext(connection) as ctx, transaction.atomic():
        read_and_write()
    assert begins(ctx) == ["BEGIN"]


def test_the_refresh_transaction_opens_immediate(logged_in: Client, clock: FakeClock) -> None:
    clock.advance(minutes=1)
    with CaptureQueriesContext(connection) as ctx:
        response = logged_in.post(reverse("jwt_cookie_auth:refresh"))
    assert response.status_code == 200
    assert begins(ctx) == ["BEGIN IMMEDIATE"]
