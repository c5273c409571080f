"""Forced logout of one user who has N sessions: ours vs simplejwt's blacklist loop.

- ours: ``jwt_cookie_auth.revocation.revoke_user_sessions([user.pk], ADMIN)``: what
  the admin action, the management command and "log out everywhere" call.
- simplejwt has no call for this; its blacklist app's models are the way, and the
  recipe its users are given for "log out everywhere" is the loop over the user's
  ``OutstandingToken`` rows with ``BlacklistedToken.objects.get_or_create(token=...)``.
  It only blacklists refresh tokens: every access token stays valid until it expires.

Each measurement gets a fresh user with N live sessions (rows made with bulk
inserts, not timed). Sizes and variants run in a shuffled order in each round; the
first round counts statements (and is not timed), the others are timed.
"""

from __future__ import annotations

import gc
import random
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from benchmarks.bench_requests import make_user
from benchmarks.harness import counting, spread

SIZES = (1, 10, 100, 1_000, 10_000)
# simplejwt's loop costs about 4 statements per session; at this size it runs once,
# in the counting round, whose per-statement counting overhead is under 1 %.
SIMPLEJWT_SINGLE_RUN_FROM = 10_000


def _ours_rows(user: Any, n: int) -> None:
    from django.utils import timezone

    from jwt_cookie_auth.models import LoginSession

    now = timezone.now().replace(microsecond=0)
    LoginSession.objects.bulk_create(
        [
            LoginSession(
                user=user,
                created_at=now,
                last_used_at=now,
                expires_at=now + timedelta(days=1),
                absolute_expires_at=now + timedelta(days=14),
                user_agent="bench",
                ip_address="127.0.0.1",
                refresh_jti=uuid.uuid4().hex,
                refresh_issued_at=now,
            )
            for _ in range(n)
        ],
        batch_size=2000,
    )


def _simplejwt_rows(user: Any, n: int) -> None:
    from django.utils import timezone
    from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
    from rest_framework_simplejwt.tokens import RefreshToken

    now = timezone.now()
    sample = str(RefreshToken.for_user(user))  # one real row, and a realistic token length
    OutstandingToken.objects.bulk_create(
        [
            OutstandingToken(
                user=user,
                jti=uuid.uuid4().hex,
                token=sample,
                created_at=now,
                expires_at=now + timedelta(days=1),
            )
            for _ in range(n - 1)
        ],
        batch_size=2000,
    )


def _ours_logout(user: Any) -> None:
    from jwt_cookie_auth.models import RevokeReason
    from jwt_cookie_auth.revocation import revoke_user_sessions

    revoke_user_sessions([user.pk], RevokeReason.ADMIN)


def _simplejwt_logout(user: Any) -> None:
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

    for token in OutstandingToken.objects.filter(user=user):
        BlacklistedToken.objects.get_or_create(token=token)


def _check(variant: str, user: Any, n: int) -> None:
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

    from jwt_cookie_auth.models import LoginSession

    if variant == "ours":
        live = LoginSession.objects.filter(user=user, revoked_at__isnull=True).count()
        done = LoginSession.objects.filter(user=user, revoked_at__isnull=False).count()
    else:
        done = BlacklistedToken.objects.filter(token__user=user).count()
        live = n - done
    if live or done != n:
        raise RuntimeError(f"{variant} logout of {n} sessions left {live} live, revoked {done}")


VARIANTS: dict[str, tuple[Callable[[Any, int], None], Callable[[Any], None]]] = {
    "ours": (_ours_rows, _ours_logout),
    "simplejwt": (_simplejwt_rows, _simplejwt_logout),
}


def run(
    rounds: int, sizes: tuple[int, ...], seed: int, log: Callable[[str], None]
) -> dict[str, Any]:
    from django.core.cache import cache
    from django.db import connection

    # Open the Redis and PostgreSQL connections first: their handshakes are not part
    # of a logout.
    cache.get("jwt-bench-warm-up")
    connection.ensure_connection()
    rng = random.Random(seed)  # noqa: S311 - shuffling, not security
    times: dict[str, dict[int, list[float]]] = {v: {n: [] for n in sizes} for v in VARIANTS}
    counts: dict[str, dict[int, dict[str, int]]] = {v: {} for v in VARIANTS}
    serial = 0
    for number in range(rounds + 1):
        counting_round = number == 0
        tasks = [
            (n, variant)
            for n in sizes
            for variant in VARIANTS
            if counting_round or not (variant == "simplejwt" and n >= SIMPLEJWT_SINGLE_RUN_FROM)
        ]
        rng.shuffle(tasks)
        for n, variant in tasks:
            make_rows, logout = VARIANTS[variant]
            serial += 1
            user = make_user(f"bench-logout-{serial}")
            make_rows(user, n)
            gc.collect()
            if counting_round:
                with counting() as (sql, redis):
                    start = time.perf_counter_ns()
                    logout(user)
                    elapsed = time.perf_counter_ns() - start
                counts[variant][n] = {"sql": len(sql), "cache_round_trips": redis.count}
                if variant == "simplejwt" and n >= SIMPLEJWT_SINGLE_RUN_FROM:
                    times[variant][n].append(elapsed / 1e6)
            else:
                start = time.perf_counter_ns()
                logout(user)
                times[variant][n].append((time.perf_counter_ns() - start) / 1e6)
            _check(variant, user, n)
        log(f"  logout round {number + 1}/{rounds + 1}{' (counting)' if counting_round else ''}")
    results: dict[str, Any] = {"rounds": rounds, "sizes": list(sizes), "variants": {}}
    for variant in VARIANTS:
        results["variants"][variant] = {
            str(n): {
                "ms": spread(times[variant][n]),
                "ms_runs": times[variant][n],
                "runs": len(times[variant][n]),
                **counts[variant][n],
            }
            for n in sizes
        }
    return results
