"""Measure the PostgreSQL numbers of docs/deployment.md ("Sizing: PostgreSQL").

On a fresh database of the local server (127.0.0.1:5432, user postgres, dropped at
the end), with the test project's settings (``tests.live_settings``):

1. rows written per refresh: one login, then ``REFRESHES`` refreshes through the
   refresh endpoint, counting ``BlacklistedToken`` and ``LoginSession`` rows;
2. bytes per blacklist row: ``BLACKLIST_ROWS`` rows shaped like the package's (a
   43-character jti, ``reason = 'rotated'``) inserted with ``generate_series``, then
   ``VACUUM ANALYZE``; growth of ``pg_total_relation_size`` (heap, indexes, TOAST)
   divided by the row count;
3. ``jwt_flush_expired`` throughput: ``FLUSH_ROWS`` expired rows (4/5 sessions,
   1/5 blacklist entries pointing at them) copied with ``generate_series`` from the
   login's session row (so every column the model has is filled), ``VACUUM
   ANALYZE``, then ``jwt_flush_expired --batch-size 5000`` in this process, timed.
   No concurrent load (``benchmarks/bench_flush.py`` measures that).

    .venv/bin/python scripts/measure_pg_sizing.py [FLUSH_ROWS]

Prints one JSON object. Needs PostgreSQL; Redis only because the settings name it
(``JWT_LIVE_REDIS_URL``, default ``redis://127.0.0.1:6379/8``; nothing is written).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.servers import PostgresDatabase  # noqa: E402

REFRESHES = 200
BLACKLIST_ROWS = 100_000


def main(flush_rows: int) -> dict[str, object]:
    database = PostgresDatabase("jwt_pscale_size")
    try:
        os.environ.update(
            DJANGO_SETTINGS_MODULE="tests.live_settings",
            JWT_LIVE_DB_NAME=database.name,
            JWT_LIVE_REDIS_URL=os.environ.get("JWT_LIVE_REDIS_URL", "redis://127.0.0.1:6379/8"),
        )
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
        result: dict[str, object] = {"refreshes": REFRESHES}
        result.update(rows_per_refresh())
        result.update(bytes_per_blacklist_row())
        result.update(flush_throughput(flush_rows))
        return result
    finally:
        from django.db import connections

        connections.close_all()
        database.drop()


def rows_per_refresh() -> dict[str, object]:
    from django.test import Client

    from jwt_cookie_auth.models import BlacklistedToken, LoginSession
    from tests.conftest import credentials, make_user

    client = Client()
    response = client.post("/auth/login/", credentials(make_user("sizing")), "application/json")
    assert response.status_code == 200, response.content
    sessions, blacklisted = LoginSession.objects.count(), BlacklistedToken.objects.count()
    for _ in range(REFRESHES):
        assert client.post("/auth/refresh/").status_code == 200
    return {
        "blacklist_rows_per_refresh": (BlacklistedToken.objects.count() - blacklisted) / REFRESHES,
        "session_rows_per_refresh": (LoginSession.objects.count() - sessions) / REFRESHES,
    }


def bytes_per_blacklist_row() -> dict[str, object]:
    from django.db import connection

    table = "jwt_cookie_auth_blacklistedtoken"
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM jwt_cookie_auth_loginsession LIMIT 1")
        (session_id,) = cursor.fetchone()
        cursor.execute("VACUUM ANALYZE jwt_cookie_auth_blacklistedtoken")
        cursor.execute("SELECT pg_total_relation_size(%s)", [table])
        (before,) = cursor.fetchone()
        started = time.perf_counter()
        cursor.execute(
            """
            INSERT INTO jwt_cookie_auth_blacklistedtoken
                (jti, session_id, expires_at, blacklisted_at, reason)
            SELECT substr(md5(i::text) || md5((i + 1)::text), 1, 43), %s,
                   now() + interval '1 day', now(), 'rotated'
            FROM generate_series(1, %s) AS i
            """,
            [session_id, BLACKLIST_ROWS],
        )
        cursor.execute("VACUUM ANALYZE jwt_cookie_auth_blacklistedtoken")
        cursor.execute("SELECT pg_total_relation_size(%s)", [table])
        (after,) = cursor.fetchone()
        cursor.execute("DELETE FROM jwt_cookie_auth_blacklistedtoken")
    return {
        "blacklist_rows_measured": BLACKLIST_ROWS,
        "blacklist_bytes_per_row": round((after - before) / BLACKLIST_ROWS, 1),
        "blacklist_insert_seconds": round(time.perf_counter() - started, 1),
    }


def flush_throughput(rows: int) -> dict[str, object]:
    from django.core.management import call_command
    from django.db import connection

    from jwt_cookie_auth.models import BlacklistedToken, LoginSession

    blacklisted = rows // 5
    sessions = rows - blacklisted
    columns = [
        f.column for f in LoginSession._meta.concrete_fields if f.column not in {"id", "expires_at"}
    ]
    copied = ", ".join(c if c != "refresh_jti" else "md5(random()::text)" for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO jwt_cookie_auth_loginsession (id, expires_at, {', '.join(columns)}) "  # noqa: S608 - column names from the model
            f"SELECT gen_random_uuid(), now() - interval '1 day', {copied} "
            "FROM (SELECT * FROM jwt_cookie_auth_loginsession LIMIT 1) AS template, "
            "generate_series(1, %s)",
            [sessions],
        )
        cursor.execute(
            "INSERT INTO jwt_cookie_auth_blacklistedtoken "
            "(jti, session_id, expires_at, blacklisted_at, reason) "
            "SELECT md5(random()::text) || i, s.id, now() - interval '1 day', now(), 'rotated' "
            "FROM (SELECT id, row_number() OVER () AS i FROM jwt_cookie_auth_loginsession "
            "WHERE expires_at < now() LIMIT %s) AS s",
            [blacklisted],
        )
        cursor.execute("VACUUM ANALYZE jwt_cookie_auth_loginsession")
        cursor.execute("VACUUM ANALYZE jwt_cookie_auth_blacklistedtoken")
    before = LoginSession.objects.count() + BlacklistedToken.objects.count()
    started = time.perf_counter()
    call_command("jwt_flush_expired", batch_size=5000, verbosity=0)
    seconds = time.perf_counter() - started
    deleted = before - LoginSession.objects.count() - BlacklistedToken.objects.count()
    return {
        "flush_rows_generated": sessions + blacklisted,
        "flush_rows_deleted": deleted,
        "flush_seconds": round(seconds, 1),
        "flush_rows_per_second": round(deleted / seconds),
    }


if __name__ == "__main__":
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    print(json.dumps(main(rows), indent=2))
