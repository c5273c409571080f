"""Primary-key lookups on the hot paths, with their SQL built once per process.

The user of every request and the session row of every refresh are fetched by primary
key. ``Model._default_manager.get(pk=...)`` builds, compiles and quotes the same SELECT
each time; on the benchmark machine that Python work costs as much as the database
round trip itself. Here the SQL comes from the ORM once (``QuerySet.query``), and each
call only executes it:

- where the database returns every column as the Python value the field expects (no
  converters: PostgreSQL with Django's own field types), the row goes straight to
  ``Model.from_db``, as the ORM itself would do;
- elsewhere (SQLite datetimes and booleans, custom fields with ``from_db_value``),
  ``Manager.raw`` runs the same SQL and applies the conversions.

Only plain default managers are prepared: one whose queryset adds filters, joins,
annotations or deferred fields (compared through its SQL against the base manager's)
keeps the ORM ``get``, so a custom manager's rules are never bypassed; so do models
with multi-table inheritance and keys other than integers and UUIDs.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db import connections, router
from django.db.models import Model

# Any value of the primary key's type would do (within every integer column's range,
# or the ORM compiles an empty query); it is replaced on every execution.
_PLACEHOLDER_INT = 987_654_321


@dataclass(frozen=True)
class PreparedQuery:
    sql: str
    pk_index: int
    params: tuple[Any, ...]
    field_names: tuple[str, ...]
    needs_conversion: bool
    # An integer key outside the column's range matches no row (as in the ORM, which
    # compiles such a lookup to an empty result) instead of reaching the database,
    # where it would be an error.
    pk_range: tuple[int, int] | None

    def in_range(self, pk: Any) -> bool:
        if self.pk_range is None:
            return True
        low, high = self.pk_range
        return bool(low <= pk <= high)

    def params_for(self, pk: Any) -> list[Any]:
        params = list(self.params)
        params[self.pk_index] = pk
        return params


def _placeholder(pk_type: str) -> Any:
    """A value of the key's type, or None for key types left to the ORM."""
    if pk_type in {"AutoField", "BigAutoField", "IntegerField", "BigIntegerField"}:
        return _PLACEHOLDER_INT
    if pk_type == "UUIDField":
        return uuid.UUID(int=_PLACEHOLDER_INT)
    return None  # strings, small integers, ...


@functools.cache
def prepare(model: type[Model], alias: str) -> PreparedQuery | None:
    """Build the SELECT of one row by primary key for ``alias``, or None to use the ORM."""
    pk = model._meta.pk
    assert pk is not None
    pk_type = pk.get_internal_type()
    placeholder = _placeholder(pk_type)
    if placeholder is None or model._meta.parents:
        return None
    manager = model._default_manager
    if str(manager.all().query) != str(model._base_manager.all().query):
        return None  # the default manager filters, joins or defers: let it do so
    connection = connections[alias]
    sql, params = manager.filter(pk=placeholder).query.get_compiler(using=alias).as_sql()
    prepped = pk.get_db_prep_value(placeholder, connection)
    matches = [i for i, value in enumerate(params) if value == prepped]
    if len(matches) != 1:
        return None
    fields = model._meta.concrete_fields
    return PreparedQuery(
        sql=sql,
        pk_index=matches[0],
        params=tuple(params),
        field_names=tuple(f.attname for f in fields),
        needs_conversion=any(
            connection.ops.get_db_converters(f.get_col(model._meta.db_table))
            or f.get_db_converters(connection)
            for f in fields
        ),
        pk_range=None if pk_type == "UUIDField" else connection.ops.integer_field_range(pk_type),
    )


def get_by_pk(model: type[Model], pk: Any, using: str | None = None) -> Any:
    """Return the instance with primary key ``pk`` or None, like ``get`` without the build.

    ``pk`` must already be a valid Python value of the primary key (``to_python``).
    ``using``: the alias to read from; by default the router's ``db_for_read`` (a
    replica, maybe: pass ``db_routing.primary(model)`` for a read that must be fresh).
    """
    alias = using or router.db_for_read(model)
    prepared = prepare(model, alias)
    if prepared is None:
        try:
            return model._default_manager.db_manager(alias).get(pk=pk)
        except ObjectDoesNotExist:
            return None
    if not prepared.in_range(pk):
        return None
    params = prepared.params_for(model._meta.pk.get_db_prep_value(pk, connections[alias]))
    if prepared.needs_conversion:
        return next(iter(model._default_manager.db_manager(alias).raw(prepared.sql, params)), None)
    with connections[alias].cursor() as cursor:
        cursor.execute(prepared.sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    return model.from_db(alias, list(prepared.field_names), row)
