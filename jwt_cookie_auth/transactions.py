"""Transactions that read, then write: on SQLite, take the write lock first.

SQLite has one writer at a time. Django's ``atomic()`` opens a DEFERRED transaction:
its first read takes a SHARED lock, and its first write must upgrade that to RESERVED.
If another connection holds RESERVED at that moment, SQLite answers ``SQLITE_BUSY``
("database is locked") at once instead of calling the busy handler, because waiting
could deadlock; the busy timeout (``OPTIONS["timeout"]``, 5 seconds by default) never
comes into play. So with Django's default ``OPTIONS``, two tabs refreshing one session
at once on a SQLite file both read the row, and the loser's conditional UPDATE was a
500 instead of a grace answer.

``BEGIN IMMEDIATE`` takes RESERVED before anything else, and waits for it up to the
busy timeout: writers queue, and readers wait at most while a commit is written.
Django (5.1+) opens every transaction that way with ``OPTIONS["transaction_mode"] =
"IMMEDIATE"``; ``write_transaction`` does it for one transaction, whatever the
project's OPTIONS say. A transaction whose first statement writes (``revoke_sessions``'
UPDATE) and a single write in autocommit (login's INSERT) need nothing: SQLite waits
for their lock.

Other databases get plain ``atomic()`` and nothing else: on PostgreSQL the row lock
and the READ COMMITTED re-check of the conditional UPDATE already make one concurrent
refresh the winner, and no statement is added.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, connections, transaction

# The attribute Django's SQLite backend (5.1+) reads to word ``BEGIN``; it is set from
# OPTIONS["transaction_mode"] each time the connection opens.
_MODE_ATTRIBUTE = "transaction_mode"
_DEFERRED_MODES = (None, "DEFERRED")
_UNSUPPORTED = object()


@contextmanager
def write_transaction(using: str | None = None) -> Iterator[None]:
    """Run the block in ``transaction.atomic(using)``, as ``BEGIN IMMEDIATE`` on SQLite.

    For a transaction that reads rows and then writes them. On SQLite a concurrent
    writer makes the block wait (up to the busy timeout) before its first statement
    instead of failing with ``OperationalError: database is locked`` at its first
    write. Inside an outer ``atomic`` block (``ATOMIC_REQUESTS``, a caller's own) the
    outer transaction has begun already and this is a plain savepoint, so reading
    first in there fails again under contention: the package's views that write opt
    out of ``ATOMIC_REQUESTS`` for that reason.
    """
    connection = connections[using or DEFAULT_DB_ALIAS]
    outermost_on_sqlite = connection.vendor == "sqlite" and not connection.in_atomic_block
    if outermost_on_sqlite:
        # Opening the connection sets the mode from OPTIONS: open it before changing it.
        connection.ensure_connection()
    configured = getattr(connection, _MODE_ATTRIBUTE, _UNSUPPORTED)
    # Already IMMEDIATE or EXCLUSIVE by OPTIONS, or a Django without the attribute
    # (tests/test_sqlite_concurrency.py would say so): plain atomic().
    if not outermost_on_sqlite or configured not in _DEFERRED_MODES:
        with transaction.atomic(using):
            yield
        return
    setattr(connection, _MODE_ATTRIBUTE, "IMMEDIATE")
    try:
        with transaction.atomic(using):
            # Only this BEGIN: the project's later transactions keep their mode.
            setattr(connection, _MODE_ATTRIBUTE, configured)
            yield
    finally:
        setattr(connection, _MODE_ATTRIBUTE, configured)
