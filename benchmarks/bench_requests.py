"""Per authenticated request: time added over the floors, SQL statements, cache round trips.

Every variant is a GET of the same DRF view through the full Django stack (the same
middleware for all), with that variant's credentials: cookie, ``Authorization``
header or session cookie. Floors: the same view unauthenticated, and a bare
``jwt.decode`` of our access token (a library call, no Django).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

from benchmarks.harness import Driver, Request, Slice, counting, interleaved, median, spread

CSRF_COOKIE = "csrftoken"


@dataclass
class Variant:
    key: str
    label: str
    revokes: str
    request: Request
    cache_users: bool = False
    #: Our verified-token cache (VERIFIED_TOKEN_CACHE_SIZE) on, as by default.
    verified_cache: bool = True
    #: LOCAL_REVOCATION_CACHE: None leaves the project's setting (the package default).
    local_cache: bool | None = None

    def context(self) -> AbstractContextManager[Any]:
        overrides: dict[str, Any] = {}
        if self.cache_users:
            overrides["CACHE_USERS"] = True
        if self.local_cache is not None:
            overrides["LOCAL_REVOCATION_CACHE"] = self.local_cache
        if not self.verified_cache:
            overrides["VERIFIED_TOKEN_CACHE_SIZE"] = 0
        if not overrides:
            return nullcontext()
        from django.conf import settings
        from django.test import override_settings

        return override_settings(JWT_COOKIE_AUTH={**settings.JWT_COOKIE_AUTH, **overrides})


OURS_REVOKES = (
    "access + refresh token of the session, on the next request in every process "
    "(Redis marker; by default each process's copy kept honest by CLIENT TRACKING)"
)
SIMPLEJWT_REVOKES = (
    "refresh token only (blacklist app); the access token lives until it expires; "
    "deactivation on the next request"
)


def make_user(username: str) -> Any:
    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    return user_model._default_manager.create_user(username=username, password="pw-bench-123")


def csrf_secret() -> str:
    from django.middleware.csrf import _get_new_csrf_string

    return _get_new_csrf_string()


def credentials(user: Any) -> dict[str, Any]:
    """Log ``user`` in with every library, as its own login would."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends import cache as cache_engine
    from django.contrib.sessions.backends import db as db_engine
    from django.test import RequestFactory
    from knox.models import AuthToken
    from rest_framework_simplejwt.tokens import RefreshToken

    from jwt_cookie_auth.issuing import start_session

    ours = start_session(RequestFactory().post("/auth/login/"), user)
    sessions = {}
    for name, engine in (("db", db_engine), ("cache", cache_engine)):
        store = engine.SessionStore()
        store[SESSION_KEY] = user._meta.pk.value_to_string(user)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.save()
        sessions[name] = store.session_key
    return {
        "ours": ours,
        "simplejwt": str(RefreshToken.for_user(user).access_token),
        "dj_rest_auth": str(RefreshToken.for_user(user).access_token),
        "sessions": sessions,
        "knox": AuthToken.objects.create(user)[1],
        "csrf": csrf_secret(),
    }


def variants(creds: dict[str, Any]) -> list[Variant]:
    ours = creds["ours"]
    csrf = f"{CSRF_COOKIE}={creds['csrf']}"
    from jwt_cookie_auth.cookie_names import access_cookie_name, refresh_cookie_name

    tokens = f"{access_cookie_name()}={ours.access}; {refresh_cookie_name()}={ours.refresh}"
    ours_cookie = {"HTTP_COOKIE": f"{tokens}; {csrf}"}
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {ours.access}"}
    simple = {"HTTP_AUTHORIZATION": f"Bearer {creds['simplejwt']}"}
    return [
        Variant("floor", "unauthenticated DRF view (floor)", "-", Request("GET", "/floor/")),
        Variant("ours_cookie", "ours: cookie", OURS_REVOKES, Request("GET", "/ours/", ours_cookie)),
        Variant(
            "ours_bearer", "ours: Bearer header", OURS_REVOKES, Request("GET", "/ours/", bearer)
        ),
        Variant(
            "ours_bearer_no_token_cache",
            "ours: Bearer header, VERIFIED_TOKEN_CACHE_SIZE=0 (every request decodes)",
            OURS_REVOKES,
            Request("GET", "/ours/", bearer),
            verified_cache=False,
        ),
        Variant(
            "ours_cookie_no_local_cache",
            "ours: cookie, LOCAL_REVOCATION_CACHE=False (a Redis round trip per request)",
            OURS_REVOKES,
            Request("GET", "/ours/", ours_cookie),
            local_cache=False,
        ),
        Variant(
            "ours_cached",
            "ours: cookie, CACHE_USERS",
            OURS_REVOKES + "; deactivation too",
            Request("GET", "/ours/", ours_cookie),
            cache_users=True,
        ),
        Variant(
            "ours_cached_bearer",
            "ours: Bearer header, CACHE_USERS",
            OURS_REVOKES + "; deactivation too",
            Request("GET", "/ours/", bearer),
            cache_users=True,
        ),
        Variant(
            "ours_cached_no_local_cache",
            "ours: cookie, CACHE_USERS, LOCAL_REVOCATION_CACHE=False",
            OURS_REVOKES + "; deactivation too",
            Request("GET", "/ours/", ours_cookie),
            cache_users=True,
            local_cache=False,
        ),
        Variant(
            "simplejwt",
            "simplejwt JWTAuthentication",
            SIMPLEJWT_REVOKES,
            Request("GET", "/simplejwt/", simple),
        ),
        Variant(
            "simplejwt_stateless",
            "simplejwt JWTStatelessUserAuthentication",
            "refresh token only (blacklist app); nothing reaches the access token, "
            "not even deactivation or deletion",
            Request("GET", "/simplejwt-stateless/", simple),
        ),
        Variant(
            "dj_rest_auth",
            "dj-rest-auth JWTCookieAuthentication",
            SIMPLEJWT_REVOKES,
            Request(
                "GET",
                "/dj-rest-auth/",
                {"HTTP_COOKIE": f"djra-access={creds['dj_rest_auth']}; {csrf}"},
            ),
        ),
        Variant(
            "session_db",
            "DRF SessionAuthentication, db sessions",
            "the session (logout deletes the row), on the next request",
            Request(
                "GET",
                "/session-db/",
                {"HTTP_COOKIE": f"sessionid={creds['sessions']['db']}; {csrf}"},
            ),
        ),
        Variant(
            "session_cache",
            "DRF SessionAuthentication, cache sessions",
            "the session (logout deletes the key), on the next request",
            Request(
                "GET",
                "/session-cache/",
                {"HTTP_COOKIE": f"sessionid={creds['sessions']['cache']}; {csrf}"},
            ),
        ),
        Variant(
            "knox",
            "knox TokenAuthentication",
            "the token (logout deletes the row; logoutall all of them), on the next request",
            Request("GET", "/knox/", {"HTTP_AUTHORIZATION": f"Token {creds['knox']}"}),
        ),
    ]


def decode_floor(token: str) -> Callable[[int], list[int]]:
    """Time a bare PyJWT decode (signature and exp checked) of ``token``."""
    import jwt

    from jwt_cookie_auth.keys import get_keys

    keyset = get_keys()
    key, algorithm = keyset.verifying[keyset.kid].key, keyset.algorithm

    def run(n: int) -> list[int]:
        clock = time.perf_counter_ns
        times = []
        for _ in range(n):
            start = clock()
            jwt.decode(token, key, algorithms=[algorithm])
            times.append(clock() - start)
        return times

    return run


def run(rounds: int, per_slice: int, seed: int, log: Callable[[str], None]) -> dict[str, Any]:
    driver = Driver()
    user = make_user("bench-requests")
    creds = credentials(user)
    all_variants = variants(creds)

    def counts(variant: Variant) -> dict[str, Any]:
        with variant.context():
            driver.timed(variant.request, 3)
            with counting() as (sql, redis):
                response = driver(variant.request)
        assert response.status == 200, (variant.key, response.status, response.body)
        return {"sql": len(sql), "statements": sql.sql, "cache_round_trips": redis.count}

    measured_counts = {v.key: counts(v) for v in all_variants}

    slices = [
        Slice(
            v.key,
            run=lambda v=v: driver.timed(v.request, per_slice),
            context=v.context,
            warmup=lambda v=v: driver.timed(v.request, max(5, per_slice // 10)),
        )
        for v in all_variants
    ]
    decode = decode_floor(creds["ours"].access)
    slices.append(Slice("jwt_decode", run=lambda: decode(per_slice * 3), warmup=lambda: decode(50)))
    log(f"per request: {len(slices)} slices x {rounds} rounds x {per_slice} requests")
    per_round = interleaved(slices, rounds, seed, log)

    floor = per_round["floor"]
    decode_ns = median(per_round["jwt_decode"])
    simple_added = [s - f for s, f in zip(per_round["simplejwt"], floor, strict=True)]
    results: dict[str, Any] = {
        "rounds": rounds,
        "per_slice": per_slice,
        "floor_us": spread([f / 1000 for f in floor]),
        "jwt_decode_us": spread([d / 1000 for d in per_round["jwt_decode"]]),
        "variants": {},
    }
    for v in all_variants:
        totals = per_round[v.key]
        added = [t - f for t, f in zip(totals, floor, strict=True)]
        entry = {
            "label": v.label,
            "revokes": v.revokes,
            "total_us": spread([t / 1000 for t in totals]),
            "added_us": spread([a / 1000 for a in added]),
            # In round order: the verdicts pair round i of two variants (verdict.py).
            "added_us_rounds": [a / 1000 for a in added],
            "added_x_decode": median(added) / decode_ns,
            "per_round_ratio_to_simplejwt": spread(
                [a / s for a, s in zip(added, simple_added, strict=True)]
            ),
            **measured_counts[v.key],
        }
        entry["ratio_to_simplejwt"] = median(added) / median(simple_added)
        results["variants"][v.key] = entry
    return results
