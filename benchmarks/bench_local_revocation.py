"""Micro-benchmark: the revocation check from the local tracked copy against django-redis.

    .venv/bin/python -m benchmarks.bench_local_revocation [--repeats 15] [--number 2000]
        [--stale-trials 3000]    # BENCH_REDIS_DB picks the Redis database (default 5)

Timed in one process, interleaved per repeat (the faster of two passes each):

- ``cache.get``: django-redis's ``get`` of the session's marker (one round trip), what
  ``revocation.lookup`` costs per request without the local copy;
- ``lookup (Redis)``: ``revocation.lookup`` with ``LOCAL_REVOCATION_CACHE`` off;
- ``lookup (local)``: the same with it on and the marker held (drain, silence check,
  dictionary);
- ``local hit``: ``Tracker.get_many`` alone.

Then the delivery race: ``--stale-trials`` times, a marker is read until held locally,
revoked from another connection (``SET``, and with ``--ping`` one ``PING`` after it,
as ``mark_revoked`` does), and looked up at once; a "live" answer is stale. Last,
the memory 10,000 held markers take (tracemalloc).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import timeit
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--number", type=int, default=2000)
    parser.add_argument("--stale-trials", type=int, default=3000)
    args = parser.parse_args(argv)

    import django

    django.setup()
    from django.conf import settings
    from django.core.cache import caches
    from django.test import override_settings

    from benchmarks.verdict import interval, paired_ratios
    from jwt_cookie_auth import local_revocation, revocation

    cache = caches["default"]
    sid, owner = str(uuid.uuid4()), "1"
    key = revocation.cache_key(sid)
    cache.set(key, revocation.live_marker(owner), 600)
    on = {**settings.JWT_COOKIE_AUTH, "LOCAL_REVOCATION_CACHE": True}
    off = {**settings.JWT_COOKIE_AUTH, "LOCAL_REVOCATION_CACHE": False}

    def per_call(function: Callable[[], object]) -> float:
        seconds = min(timeit.repeat(function, number=args.number, repeat=2))
        return float(seconds) / int(args.number) * 1e6

    def lookup() -> object:
        return revocation.lookup(sid, owner=owner)

    get, remote, local, hit = [], [], [], []
    for _ in range(args.repeats):
        get.append(per_call(lambda: cache.get(key)))
        with override_settings(JWT_COOKIE_AUTH=off):
            remote.append(per_call(lookup))
        with override_settings(JWT_COOKIE_AUTH=on):
            assert lookup() == (False, None)
            tracker = local_revocation.tracker(cache)
            assert tracker is not None
            local.append(per_call(lookup))
            hit.append(per_call(lambda: tracker.get_many([key])))  # noqa: B023
    print(
        f"{args.repeats} repeats of {args.number} calls, {settings.CACHES['default']['LOCATION']}"
    )
    for name, values in [
        ("django-redis cache.get", get),
        ("lookup (Redis)", remote),
        ("lookup (local)", local),
        ("local hit (get_many)", hit),
    ]:
        print(f"{name:24s} median {statistics.median(values):7.2f} µs")
    print(f"cache.get / local hit per repeat:  {interval(paired_ratios(get, hit)).describe()}")
    print(f"lookup Redis / local per repeat:   {interval(paired_ratios(remote, local)).describe()}")

    writer = cache.client.get_client(write=True)  # type: ignore[attr-defined]
    with override_settings(JWT_COOKIE_AUTH=on):
        for ping in (False, True):
            stale = 0
            for _ in range(args.stale_trials):
                sid = str(uuid.uuid4())
                key = revocation.cache_key(sid)
                cache.set(key, revocation.live_marker(owner), 60)
                revocation.lookup(sid, owner=owner)
                revocation.lookup(sid, owner=owner)
                writer.set(cache.make_key(key), b"0", ex=60)  # type: ignore[attr-defined]
                if ping:
                    writer.ping()
                stale += revocation.lookup(sid, owner=owner)[0] is False
            print(
                f"revoke by SET{' + PING' if ping else ''}, then lookup at once: "
                f"{stale} of {args.stale_trials} stale"
            )

    # Memory: the tracker's entries for many sessions, measured by tracemalloc.
    import tracemalloc

    count = 10_000
    many = {revocation.cache_key(uuid.uuid4()): revocation.live_marker(owner) for _ in range(count)}
    cache.set_many(many, 600)
    with override_settings(JWT_COOKIE_AUTH={**on, "LOCAL_REVOCATION_CACHE_SIZE": count}):
        tracker = local_revocation.tracker(cache)
        assert tracker is not None
        tracker.get_many(list(many)[:1])
        tracemalloc.start()
        before = tracemalloc.take_snapshot()
        for key in many:
            tracker.get_many([key])
        after = tracemalloc.take_snapshot()
        tracemalloc.stop()
        grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
        print(
            f"memory: {len(tracker.entries)} entries, {tracker.bytes} bytes of keys and "
            f"values counted against MAX_BYTES, {grown} bytes allocated "
            f"({grown / len(tracker.entries):.0f} per entry)"
        )


if __name__ == "__main__":
    main()
