"""Per refresh: ours (rotation + theft detection + blacklist) vs simplejwt's TokenRefreshView.

simplejwt runs with ``ROTATE_REFRESH_TOKENS`` and ``BLACKLIST_AFTER_ROTATION`` and its
blacklist app. Each library refreshes a chain: every request presents the refresh
token the previous one returned, as a client does. Ours is a browser request (refresh
cookie, CSRF cookie and header, Origin); simplejwt's a JSON body, as it expects.
The floor is a POST of a JSON body to the unauthenticated view.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from benchmarks.bench_requests import csrf_secret, make_user
from benchmarks.harness import Driver, Request, Slice, counting, interleaved, median, spread

ORIGIN = "http://testserver"


class OursChain:
    """POST /auth/refresh/ with the newest refresh cookie."""

    def __init__(self, driver: Driver, refresh: str) -> None:
        from jwt_cookie_auth.cookie_names import refresh_cookie_name

        self.driver = driver
        self.refresh = refresh
        self.csrf = csrf_secret()
        self.cookie = refresh_cookie_name()

    def request(self) -> Request:
        return Request(
            "POST",
            "/auth/refresh/",
            {
                "HTTP_COOKIE": f"{self.cookie}={self.refresh}; csrftoken={self.csrf}",
                "HTTP_X_CSRFTOKEN": self.csrf,
                "HTTP_ORIGIN": ORIGIN,
            },
        )

    def once(self) -> int:
        request = self.request()
        start = time.perf_counter_ns()
        response = self.driver(request)
        elapsed = time.perf_counter_ns() - start
        if response.status != 200:
            raise RuntimeError(f"our refresh: HTTP {response.status} {response.body[:300]!r}")
        self.refresh = response.cookies()[self.cookie]
        return elapsed


class SimpleJWTChain:
    """POST /simplejwt/refresh/ with the newest refresh token in the JSON body."""

    def __init__(self, driver: Driver, refresh: str) -> None:
        self.driver = driver
        self.refresh = refresh

    def request(self) -> Request:
        body = json.dumps({"refresh": self.refresh}).encode()
        return Request(
            "POST",
            "/simplejwt/refresh/",
            {"HTTP_ORIGIN": ORIGIN},
            body=body,
            content_type="application/json",
        )

    def once(self) -> int:
        request = self.request()
        start = time.perf_counter_ns()
        response = self.driver(request)
        elapsed = time.perf_counter_ns() - start
        if response.status != 200:
            raise RuntimeError(f"simplejwt refresh: HTTP {response.status} {response.body[:300]!r}")
        self.refresh = json.loads(response.body)["refresh"]
        return elapsed


def run(rounds: int, per_slice: int, seed: int, log: Callable[[str], None]) -> dict[str, Any]:
    from django.test import RequestFactory
    from rest_framework_simplejwt.tokens import RefreshToken

    from jwt_cookie_auth.issuing import start_session

    driver = Driver()
    user = make_user("bench-refresh")
    ours = OursChain(driver, start_session(RequestFactory().post("/auth/login/"), user).refresh)
    simple = SimpleJWTChain(driver, str(RefreshToken.for_user(user)))
    floor = Request(
        "POST",
        "/floor/",
        {"HTTP_ORIGIN": ORIGIN},
        body=json.dumps({"refresh": simple.refresh}).encode(),
        content_type="application/json",
    )

    def counted(chain: Any) -> dict[str, Any]:
        chain.once()
        with counting() as (sql, redis):
            chain.once()
        return {"sql": len(sql), "statements": sql.sql, "cache_round_trips": redis.count}

    counts = {"ours": counted(ours), "simplejwt": counted(simple)}
    slices = [
        Slice("floor", run=lambda: driver.timed(floor, per_slice), warmup=lambda: driver(floor)),
        Slice("ours", run=lambda: [ours.once() for _ in range(per_slice)], warmup=ours.once),
        Slice(
            "simplejwt", run=lambda: [simple.once() for _ in range(per_slice)], warmup=simple.once
        ),
    ]
    log(f"refresh: {len(slices)} slices x {rounds} rounds x {per_slice} refreshes")
    per_round = interleaved(slices, rounds, seed, log)
    floor_ns = per_round["floor"]
    added = {
        key: [t - f for t, f in zip(per_round[key], floor_ns, strict=True)]
        for key in ("ours", "simplejwt")
    }
    results: dict[str, Any] = {
        "rounds": rounds,
        "per_slice": per_slice,
        "floor_us": spread([f / 1000 for f in floor_ns]),
        "variants": {},
    }
    for key, label in (
        ("ours", "ours: rotation + theft detection + blacklist"),
        ("simplejwt", "simplejwt: ROTATE_REFRESH_TOKENS + BLACKLIST_AFTER_ROTATION"),
    ):
        results["variants"][key] = {
            "label": label,
            "total_us": spread([t / 1000 for t in per_round[key]]),
            "added_us": spread([a / 1000 for a in added[key]]),
            "added_us_rounds": [a / 1000 for a in added[key]],
            "ratio_to_simplejwt": median(added[key]) / median(added["simplejwt"]),
            "per_round_ratio_to_simplejwt": spread(
                [a / s for a, s in zip(added[key], added["simplejwt"], strict=True)]
            ),
            **counts[key],
        }
    return results
