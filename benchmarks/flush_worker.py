"""Run ``jwt_flush_expired`` alone in this process; print time, memory and transactions.

Started by ``bench_flush`` in a subprocess, so that the peak resident memory
(``ru_maxrss``) is the command's own. Each transaction the command opens is timed
from its BEGIN to the end of its COMMIT: the longest one bounds how long any row
lock taken by the purge is held. The last line of output is a JSON object.
"""

from __future__ import annotations

import io
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")


def rss_mib() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


class TransactionClock:
    """Time every transaction on the default connection and count its statements."""

    def __init__(self) -> None:
        self.transactions: list[dict[str, float]] = []
        self.statements = 0
        self.seconds_by_kind: dict[str, float] = {}
        self._began: float | None = None
        self._statements_in = 0

    def install(self) -> None:
        from django.db import connections

        conn = connections["default"]
        conn.ensure_connection()
        set_autocommit, commit = conn._set_autocommit, conn._commit

        def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            self.statements += 1
            self._statements_in += 1
            where = "in" if self._began else "outside"
            kind = f"{sql.split(None, 1)[0].upper()} {where} a transaction"
            start = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                spent = time.perf_counter() - start
                self.seconds_by_kind[kind] = self.seconds_by_kind.get(kind, 0.0) + spent

        def hooked_set_autocommit(autocommit: bool) -> Any:
            if not autocommit:
                self._began = time.perf_counter()
                self._statements_in = 0
            return set_autocommit(autocommit)

        def hooked_commit() -> Any:
            start = time.perf_counter()
            result = commit()
            spent = time.perf_counter() - start
            self.seconds_by_kind["COMMIT"] = self.seconds_by_kind.get("COMMIT", 0.0) + spent
            if self._began is not None:
                self.transactions.append(
                    {
                        "ms": (time.perf_counter() - self._began) * 1000,
                        "statements": self._statements_in + 2,
                        "rss_mib": rss_mib(),
                    }
                )
                self._began = None
            return result

        conn.execute_wrappers.append(wrapper)
        conn._set_autocommit = hooked_set_autocommit
        conn._commit = hooked_commit


def main() -> None:
    import django

    django.setup()
    from django.core.management import call_command

    batch_size = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    from django.db import connection

    clock = TransactionClock()
    clock.install()
    with connection.cursor() as cursor:  # lets the write probe find this backend's locks
        cursor.execute("SET application_name = 'jwt_flush_expired'")
    clock.statements = 0
    clock.seconds_by_kind.clear()
    rss_before = rss_mib()
    out = io.StringIO()
    start = time.perf_counter()
    call_command("jwt_flush_expired", batch_size=batch_size, stdout=out)
    elapsed = time.perf_counter() - start
    durations = sorted(t["ms"] for t in clock.transactions)
    print(
        json.dumps(
            {
                "seconds": elapsed,
                "batch_size": batch_size,
                "output": out.getvalue().strip().splitlines(),
                "statements": clock.statements,
                "statement_seconds": clock.seconds_by_kind,
                "transactions": len(durations),
                "longest_transaction_ms": durations[-1] if durations else 0.0,
                "median_transaction_ms": durations[len(durations) // 2] if durations else 0.0,
                "rss_before_mib": rss_before,
                "rss_first_batch_mib": clock.transactions[0]["rss_mib"]
                if clock.transactions
                else 0,
                "rss_last_batch_mib": clock.transactions[-1]["rss_mib"]
                if clock.transactions
                else 0,
                "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


if __name__ == "__main__":
    main()
