"""``jwt_flush_expired`` over a million expired rows: time, peak memory, transactions.

Rows are made on the server (``INSERT ... SELECT generate_series``): expired sessions
plus expired blacklist entries that point at them, and a set of live rows that must
survive. The tables are then ANALYZEd (as autovacuum would have). The command runs in
a subprocess (``flush_worker``) for an honest peak RSS. Meanwhile this process keeps
writing to the same table (an UPDATE of a live session and an INSERT of a new one,
every 20 ms): the slowest of those writes is the evidence that no lock blocks other
writers for longer than one batch.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from benchmarks.bench_requests import make_user
from benchmarks.harness import median

ROOT = Path(__file__).resolve().parent.parent
LIVE_ROWS = 1_000

SESSIONS_SQL = """
INSERT INTO jwt_cookie_auth_loginsession
    (id, user_id, created_at, last_used_at, expires_at, absolute_expires_at, persistent,
     user_agent, ip_address, refresh_jti, refresh_issued_at, previous_jti, rotated_at,
     revoked_at, revoke_reason, amr)
SELECT gen_random_uuid(), (%(users)s::int[])[1 + i %% %(n_users)s],
       now() - interval '40 days', now() - interval '30 days',
       now() + %(offset)s * interval '1 day' - i * interval '1 second',
       now() + %(offset)s * interval '1 day' + interval '13 days',
       true, 'Mozilla/5.0 (benchmark)', '127.0.0.1', md5(i::text || %(salt)s),
       now() - interval '31 days', '', NULL,
       CASE WHEN i %% 3 = 0 THEN now() - interval '30 days' END,
       CASE WHEN i %% 3 = 0 THEN 'logout' ELSE '' END,
       '["pwd"]'::jsonb
FROM generate_series(1, %(n)s) AS i
"""

BLACKLIST_SQL = """
INSERT INTO jwt_cookie_auth_blacklistedtoken (jti, session_id, expires_at, blacklisted_at, reason)
SELECT md5('bl' || s.id::text), s.id, s.expires_at - interval '1 hour', s.created_at, 'rotated'
FROM jwt_cookie_auth_loginsession AS s
WHERE (s.expires_at < now()) = %(expired)s
LIMIT %(n)s
"""


# The secondary indexes (not those of a constraint) are dropped while the rows go in
# and made again afterwards: same indexes, built faster.
INDEXES_SQL = """
SELECT indexname, indexdef FROM pg_indexes
WHERE tablename IN ('jwt_cookie_auth_loginsession', 'jwt_cookie_auth_blacklistedtoken')
  AND indexname NOT IN (SELECT conname FROM pg_constraint)
"""


def generate(sessions: int, blacklisted: int, log: Callable[[str], None]) -> dict[str, Any]:
    from django.db import connection

    users = [make_user(f"bench-flush-{i}").pk for i in range(100)]
    start = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(INDEXES_SQL)
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        for n, offset, salt in ((sessions, -2, "x"), (LIVE_ROWS, 1, "live")):
            cursor.execute(
                SESSIONS_SQL,
                {"users": users, "n_users": len(users), "n": n, "offset": offset, "salt": salt},
            )
        cursor.execute(BLACKLIST_SQL, {"expired": True, "n": blacklisted})
        cursor.execute(BLACKLIST_SQL, {"expired": False, "n": LIVE_ROWS})
        for _, definition in indexes:
            cursor.execute(definition)
        cursor.execute("ANALYZE jwt_cookie_auth_loginsession")
        cursor.execute("ANALYZE jwt_cookie_auth_blacklistedtoken")
    seconds = time.perf_counter() - start
    log(f"  generated {sessions + blacklisted:,} expired rows in {seconds:.0f} s")
    return {"generate_seconds": seconds}


def counts() -> dict[str, int]:
    from django.utils import timezone

    from jwt_cookie_auth.models import BlacklistedToken, LoginSession

    now = timezone.now()
    return {
        "expired_sessions": LoginSession.objects.filter(expires_at__lt=now).count(),
        "live_sessions": LoginSession.objects.filter(expires_at__gte=now).count(),
        "expired_blacklist": BlacklistedToken.objects.filter(expires_at__lt=now).count(),
        "live_blacklist": BlacklistedToken.objects.filter(expires_at__gte=now).count(),
    }


LOCKS_SQL = """
SELECT DISTINCT l.mode, c.relname
FROM pg_locks AS l
JOIN pg_stat_activity AS a ON a.pid = l.pid
JOIN pg_class AS c ON c.oid = l.relation
WHERE a.application_name = 'jwt_flush_expired' AND l.locktype = 'relation'
  AND c.relname IN ('jwt_cookie_auth_loginsession', 'jwt_cookie_auth_blacklistedtoken')
"""
# What plain DELETEs and SELECTs take; anything stronger blocks other writers.
ROW_LEVEL_MODES = {"AccessShareLock", "RowShareLock", "RowExclusiveLock"}


class WriteProbe(threading.Thread):
    """Write to the purged table every 20 ms, timing each write, and watch the locks.

    Every 20 ms it also reads which table-level lock modes the flush's backend holds
    on the two tables (``pg_locks``).
    """

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.latencies_ms: list[float] = []
        self.inserted = 0
        self.lock_modes: set[str] = set()
        self.lock_samples = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        from django.db import connection
        from django.utils import timezone

        from jwt_cookie_auth.models import LoginSession

        try:
            live = LoginSession.objects.filter(expires_at__gte=timezone.now()).first()
            assert live is not None
            while not self.stop.is_set():
                now = timezone.now()
                start = time.perf_counter()
                LoginSession.objects.filter(pk=live.pk).update(last_used_at=now)
                LoginSession.objects.create(
                    user_id=live.user_id,
                    created_at=now,
                    last_used_at=now,
                    expires_at=now + timedelta(days=1),
                    absolute_expires_at=now + timedelta(days=14),
                    refresh_jti=uuid.uuid4().hex,
                    refresh_issued_at=now,
                )
                self.latencies_ms.append((time.perf_counter() - start) * 1000)
                self.inserted += 1
                with connection.cursor() as cursor:
                    cursor.execute(LOCKS_SQL)
                    self.lock_modes.update(
                        f"{mode} on {table}" for mode, table in cursor.fetchall()
                    )
                self.lock_samples += 1
                self.stop.wait(0.02)
        except BaseException as exc:  # reported by the caller
            self.error = exc
        finally:
            connection.close()


def run(expired_rows: int, batch_size: int, log: Callable[[str], None]) -> dict[str, Any]:
    blacklisted = expired_rows // 5
    sessions = expired_rows - blacklisted
    results: dict[str, Any] = {
        "expired_rows": expired_rows,
        "expired_sessions": sessions,
        "expired_blacklist": blacklisted,
        **generate(sessions, blacklisted, log),
    }
    before = counts()
    probe = WriteProbe()
    probe.start()
    time.sleep(0.5)
    log(f"  running jwt_flush_expired --batch-size {batch_size} in a subprocess")
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "benchmarks.flush_worker", str(batch_size)],
        cwd=ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        check=False,
    )
    time.sleep(0.5)
    probe.stop.set()
    probe.join()
    if done.returncode != 0:
        raise RuntimeError(f"flush worker failed:\n{done.stdout}\n{done.stderr}")
    if probe.error is not None:
        raise RuntimeError(f"write probe failed: {probe.error!r}")
    worker = json.loads(done.stdout.strip().splitlines()[-1])
    after = counts()
    expected_live = before["live_sessions"] + probe.inserted
    if after["expired_sessions"] or after["expired_blacklist"]:
        raise RuntimeError(f"expired rows left after the flush: {after}")
    if (
        after["live_sessions"] != expected_live
        or after["live_blacklist"] != before["live_blacklist"]
    ):
        raise RuntimeError(f"live rows lost: before {before}, after {after}")
    latencies = sorted(probe.latencies_ms)
    results.update(
        worker,
        before=before,
        after=after,
        rows_per_second=expired_rows / worker["seconds"],
        probe_writes=len(latencies),
        probe_median_ms=median(latencies),
        probe_max_ms=latencies[-1],
        lock_samples=probe.lock_samples,
        lock_modes=sorted(probe.lock_modes),
        table_lock=any(m.split(" on ")[0] not in ROW_LEVEL_MODES for m in probe.lock_modes),
    )
    log(
        f"  flushed in {worker['seconds']:.1f} s, {worker['transactions']} transactions, "
        f"longest {worker['longest_transaction_ms']:.0f} ms, "
        f"peak RSS {worker['peak_rss_mib']:.0f} MiB"
    )
    return results
