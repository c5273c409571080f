"""Profile the per-request hot path with pyinstrument (written next to the report).

Two profiles of requests through the full stack, as in the per-request phase: our
default mode with the cookie (user from the database, revocation in Redis) and the
CACHE_USERS mode. pyinstrument samples wall time, so waits on PostgreSQL and Redis
show up as the time spent in their client calls.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.bench_requests import credentials, make_user, variants
from benchmarks.harness import Driver

PROFILED = ("ours_cookie", "ours_cached")


def run(requests: int, path: Path, log: Callable[[str], None]) -> dict[str, Any]:
    from pyinstrument import Profiler

    driver = Driver()
    by_key = {v.key: v for v in variants(credentials(make_user("bench-profile")))}
    sections = []
    for key in PROFILED:
        variant = by_key[key]
        with variant.context():
            driver.timed(variant.request, 50)
            profiler = Profiler(interval=0.0002)
            profiler.start()
            driver.timed(variant.request, requests)
            profiler.stop()
        text = profiler.output_text(unicode=True, color=False, show_all=False)
        sections.append(f"## {variant.label}: {requests} requests\n\n{text}")
        log(f"  profiled {variant.label}")
    path.write_text(
        "Profiles of the per-request hot path (pyinstrument, wall time), written by "
        "`make bench`.\n\n" + "\n\n".join(sections)
    )
    return {"requests": requests, "file": path.name, "variants": list(PROFILED)}
