"""Primary-key lookups built once (``pk_lookup``): the same row as the ORM's ``get``.

Runs in every pass: SQLite (values converted through ``Manager.raw``), PostgreSQL
(rows straight to ``Model.from_db``) and the custom user model (UUID primary key).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DEFAULT_DB_ALIAS, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from jwt_cookie_auth import pk_lookup
from tests.conftest import make_user, on_postgres

pytestmark = pytest.mark.django_db


def fields_of(user: Any) -> dict[str, Any]:
    return {f.attname: getattr(user, f.attname) for f in type(user)._meta.concrete_fields}


def test_same_user_as_the_orm_in_one_query() -> None:
    user = make_user("alice", is_staff=True)
    user.last_login = timezone.now()
    user.save()
    model = get_user_model()
    with CaptureQueriesContext(connection) as queries:
        loaded = pk_lookup.get_by_pk(model, user.pk)
    assert len(queries) == 1
    assert fields_of(loaded) == fields_of(model._default_manager.get(pk=user.pk))
    assert loaded._state.db == DEFAULT_DB_ALIAS
    assert loaded._state.adding is False
    assert loaded.is_active is True  # a bool, not SQLite's 1
    assert loaded.last_login == user.last_login
    assert timezone.is_aware(loaded.last_login) is settings.USE_TZ


def test_the_sql_is_prepared_once_and_converted_only_where_needed() -> None:
    model = get_user_model()
    prepared = pk_lookup.prepare(model, DEFAULT_DB_ALIAS)
    assert prepared is not None
    assert prepared is pk_lookup.prepare(model, DEFAULT_DB_ALIAS)
    # PostgreSQL returns Python values already; SQLite needs its datetime converters.
    assert prepared.needs_conversion is not on_postgres()


def test_missing_and_out_of_range_keys_find_nobody() -> None:
    model = get_user_model()
    user = make_user("alice")
    pk_type = model._meta.pk.get_internal_type()
    if pk_type == "UUIDField":
        import uuid

        missing: list[Any] = [uuid.uuid4()]
    else:
        missing = [user.pk + 1000, 2**63, -(2**63) - 1, 2**200]
    with transaction.atomic():
        for pk in missing:
            assert pk_lookup.get_by_pk(model, pk) is None
        # No database error was raised and swallowed: the transaction is still usable.
        assert model._default_manager.filter(pk=user.pk).exists()


def test_a_filtering_default_manager_keeps_the_orm() -> None:
    """A manager with its own rules (soft delete, tenants) is never bypassed."""
    base = get_user_model()

    class StaffOnly(type(base._default_manager)):  # type: ignore[misc]
        def get_queryset(self) -> Any:
            return super().get_queryset().filter(is_staff=True)

    class StaffUser(base):  # type: ignore[misc, valid-type]
        objects = StaffOnly()

        class Meta:
            proxy = True
            app_label = base._meta.app_label

    staff, plain = make_user("sam", is_staff=True), make_user("pat")
    assert pk_lookup.prepare(StaffUser, DEFAULT_DB_ALIAS) is None
    assert pk_lookup.get_by_pk(StaffUser, staff.pk).pk == staff.pk
    assert pk_lookup.get_by_pk(StaffUser, plain.pk) is None


def test_other_key_types_keep_the_orm() -> None:
    """A string primary key (Django's own session model) is fetched through ``get``."""
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session

    store = SessionStore()
    store["k"] = "v"
    store.save()
    assert pk_lookup.prepare(Session, DEFAULT_DB_ALIAS) is None
    assert pk_lookup.get_by_pk(Session, store.session_key).session_key == store.session_key
    assert pk_lookup.get_by_pk(Session, "no-such-session-key") is None
