"""Which database answers a read that decides security: the one that was written.

Projects that outgrow one PostgreSQL server add read replicas behind a database router
(``DATABASE_ROUTERS``) whose ``db_for_read`` sends SELECTs to a replica. A streaming
replica lags the primary (by milliseconds normally, by as long as replay is paused or
the link is down), so a read routed there may not see a revocation, a rotation or a
session written a moment ago.

Most of the package's reads may be that stale (the user row on the hot path, admin
lists, counts). A few may not, because their answer is acted on or cached:

- the revocation check's database answer (``revocation``): on a cache miss it is
  cached as "live" for ``REVOCATION_CACHE_TIMEOUT``, so a lagging replica's "live"
  would outlive the lag;
- the ids of the sessions a revocation just wrote (``revocation.revoke_sessions``),
  inside the writing transaction: a replica has not seen them, no revoked marker
  would be written, and the cache's "live" would keep accepting the tokens;
- the session row a refresh judges (``rotation``): on a stale row the successor just
  issued looks like a consumed token, and a legitimate refresh revokes the family as
  stolen;
- the user row before a password mismatch revokes a session (``identity``): a replica
  that has not seen the new password would end the session just kept after a change.

Those reads go to ``router.db_for_write(model)``, where the write went: the same
database Django's ``transaction.atomic`` must use for the surrounding transaction.
Without a router this is ``default``, as before; nothing changes for one database.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import router
from django.db.models import Model, QuerySet

M = TypeVar("M", bound=Model)


def primary(model: type[Model], **hints: Any) -> str:
    """Return the database alias that writes of ``model`` go to (the router's answer)."""
    return router.db_for_write(model, **hints)


def on_primary(model: type[M]) -> QuerySet[M]:
    """Return ``model``'s default queryset bound to the alias its writes go to.

    For reads whose answer is cached or acted on (see the module docstring); a read
    that may lag uses the ordinary manager, which the router may send to a replica.
    """
    return model._default_manager.db_manager(primary(model)).all()
