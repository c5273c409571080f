"""The database's clock, for the one decision that compares times written by two hosts.

Refresh rotation's grace window (``rotation``) asks "how long ago was this session
rotated?". ``rotated_at`` is written by whichever app host served the winning
refresh, and the question is asked by whichever host serves the late request. With
each host's own clock the answer is off by the skew between them: 9 s of skew, well
inside ``LEEWAY``, judged a two-tab race theft (and revoked the session), and the
other way round stretched the window for a real replay. So both the write and the
comparison use one clock, the database's: ``rotated_at`` is set by an SQL expression
in the consuming UPDATE (no extra statement), and the elapsed time is computed by the
database on the grace path only (one SELECT, only when a predecessor token is shown).

SQLite is one file on one host, and its ``CURRENT_TIMESTAMP`` is UTC text, which is
wrong for a project with ``USE_TZ = False`` that stores local times: there the
"database clock" is the host's injected clock (``clock.now``), as before.

``jwt_cookie_auth.testing.frozen_clock`` makes this clock follow the frozen one
(``clock.database_follows_now``). The package's own tests move it with the host clock
(``tests/conftest.py``'s ``use_clock``) and skew one host's clock against it.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.db import connections
from django.db.models import DateTimeField, DurationField, ExpressionWrapper, F, Value
from django.db.models.expressions import Combinable
from django.db.models.functions import Now

from jwt_cookie_auth import clock
from jwt_cookie_auth.models import LoginSession


def now_expression(alias: str) -> Combinable:
    """Return an SQL expression for "now" on the database ``alias`` (see module docstring)."""
    # A frozen test clock (jwt_cookie_auth.testing) stands for every host and the
    # database at once; PostgreSQL's now() would not move with it.
    if clock.database_follows_now or connections[alias].vendor == "sqlite":
        return Value(clock.now(), output_field=DateTimeField())
    return Now()


def since_rotation(session_id: uuid.UUID, alias: str) -> timedelta | None:
    """Return the time since the session's ``rotated_at`` on the database's clock.

    One SELECT on ``alias``. None when the row is gone or was never rotated. Negative
    only for a time written by an earlier version with a host clock ahead of the
    database.
    """
    elapsed = (
        LoginSession._default_manager.db_manager(alias)
        .filter(pk=session_id, rotated_at__isnull=False)
        .annotate(
            since=ExpressionWrapper(
                now_expression(alias) - F("rotated_at"), output_field=DurationField()
            )
        )
        .values_list("since", flat=True)
        .first()
    )
    return elapsed
