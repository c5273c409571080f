"""Run every benchmark phase and write docs/benchmarks.md and docs/benchmarks.png.

    make bench                                   # from a fresh clone: everything
    .venv-bench/bin/python -m benchmarks.run     # the same, in an existing .venv-bench
    .venv-bench/bin/python -m benchmarks.run --quick --only requests,refresh

Creates its own PostgreSQL database (``jwt_bench`` on 127.0.0.1, user postgres) and
drops it at the end; uses Redis database 5 (flushed at the start). Phases: per
request, refresh, forced logout, ``jwt_flush_expired`` and HTTP (gunicorn + wrk).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")
os.environ.setdefault("BENCH_DB_NAME", "jwt_bench")
os.environ.setdefault("BENCH_REDIS_DB", "5")

PHASES = ("requests", "refresh", "logout", "flush", "http", "profile")


def log(message: str) -> None:
    print(message, flush=True)


def admin_sql(*statements: str) -> None:
    """Run statements on the server's ``postgres`` database (CREATE/DROP DATABASE)."""
    import psycopg

    with psycopg.connect(
        host=os.environ.get("PGHOST", "127.0.0.1"),
        port=os.environ.get("PGPORT", "5432"),
        user=os.environ.get("PGUSER", "postgres"),
        dbname="postgres",
        autocommit=True,
    ) as conn:
        for statement in statements:
            conn.execute(statement)  # type: ignore[arg-type]


def create_database() -> None:
    name = os.environ["BENCH_DB_NAME"]
    admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')


def drop_database() -> None:
    from django.db import connections

    connections.close_all()
    admin_sql(f'DROP DATABASE IF EXISTS "{os.environ["BENCH_DB_NAME"]}" WITH (FORCE)')


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="few rounds, small sizes (a smoke run)"
    )
    parser.add_argument("--only", default=",".join(PHASES), help="comma-separated phases")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--out", default=str(ROOT / "docs"), help="where the report goes")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    phases = [p for p in args.only.split(",") if p]
    unknown = set(phases) - set(PHASES)
    if unknown:
        raise SystemExit(f"unknown phases: {sorted(unknown)}")
    started = time.monotonic()
    log(f"creating database {os.environ['BENCH_DB_NAME']}")
    create_database()
    import django

    django.setup()
    from django.core.cache import cache
    from django.core.management import call_command

    from benchmarks import meta

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    quick = args.quick
    from benchmarks import (
        bench_flush,
        bench_http,
        bench_logout,
        bench_profile,
        bench_refresh,
        bench_requests,
    )

    runners: dict[str, tuple[str, Callable[[], dict[str, Any]]]] = {
        "requests": (
            "per authenticated request",
            lambda: bench_requests.run(
                rounds=3 if quick else 25, per_slice=60 if quick else 120, seed=args.seed, log=log
            ),
        ),
        "refresh": (
            "per refresh",
            lambda: bench_refresh.run(
                rounds=3 if quick else 15, per_slice=20 if quick else 60, seed=args.seed, log=log
            ),
        ),
        "logout": (
            "forced logout of one user with N sessions",
            lambda: bench_logout.run(
                rounds=1 if quick else 6,
                sizes=(1, 10, 100, 1_000) if quick else bench_logout.SIZES,
                seed=args.seed,
                log=log,
            ),
        ),
        "flush": (
            "jwt_flush_expired",
            lambda: bench_flush.run(
                expired_rows=50_000 if quick else 1_000_000, batch_size=5000, log=log
            ),
        ),
        "http": (
            "HTTP under gunicorn + wrk",
            lambda: bench_http.run(
                # 10 paired repeats of 4 s per variant (about 5 min): enough for the 95 %
                # interval of the paired ratio to decide target 6 (verdict.py).
                repeats=3 if quick else 10,
                seconds=2 if quick else 4,
                seed=args.seed,
                log=log,
            ),
        ),
        "profile": (
            "profile of the hot path",
            lambda: bench_profile.run(
                requests=300 if quick else 2000, path=out / "benchmarks-profile.txt", log=log
            ),
        ),
    }
    failed = []
    try:
        call_command("migrate", verbosity=0, interactive=False)
        cache.clear()
        results: dict[str, Any] = {"meta": meta.collect(), "quick": quick}
        for phase in PHASES:
            if phase not in phases:
                continue
            title, runner = runners[phase]
            log(f"== {title}")
            try:
                results[phase] = runner()
            except Exception as exc:  # the other phases still run and are reported
                traceback.print_exc()
                results[phase] = {"error": f"{type(exc).__name__}: {exc}"}
                failed.append(phase)
        results["elapsed_s"] = time.monotonic() - started
    finally:
        if not args.keep_db:
            drop_database()
    from benchmarks import report

    targets = report.evaluate(results)
    results["targets"] = [
        {"number": t.number, "target": t.text, "measured": t.measured, "result": t.verdict}
        for t in targets
    ]
    (out / "benchmarks.json").write_text(json.dumps(results, indent=1, default=str) + "\n")
    report.write_markdown(results, targets, out / "benchmarks.md")
    report.write_chart(results, out / "benchmarks.png")
    report.print_targets(targets)
    log(f"wrote {out / 'benchmarks.md'}, {out / 'benchmarks.png'} and {out / 'benchmarks.json'}")
    log(f"done in {time.monotonic() - started:.0f} s")
    if failed:
        log(f"phases that failed (see above): {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
