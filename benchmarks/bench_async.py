"""The async path against the sync one: req/s under uvicorn (ASGI) and gunicorn (WSGI).

One authenticated GET through the full middleware stack (``async_settings``), the
view reading the user: ``request.user`` in a sync view, ``await request.auser()`` in
an async one. Servers, one worker process each (the machine has 2 CPUs and wrk needs
one): gunicorn ``gthread`` with 1 thread (keep-alive, one request at a time, as a
sync worker), uvicorn with its default h11 parser and asyncio loop (neither uvloop
nor httptools is installed, and gunicorn's parser is pure Python too). wrk: 2
threads, 8 connections on loopback, ``--seconds`` per run; every variant is warmed
up, then each repeat runs every variant once in a shuffled order. The figure is the
median req/s with the min-max across repeats, and the ratio to the sync view under
WSGI with the same cache.

    .venv/bin/python -m benchmarks.bench_async --repeats 5 --seconds 5

Needs PostgreSQL (creates and drops ``BENCH_DB_NAME``, default ``jwt_bench_async``)
and Redis (``BENCH_REDIS_URL``, default db 5, flushed), ``wrk`` and uvicorn.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from benchmarks.serving import serving

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
DB_NAME = os.environ.get("BENCH_DB_NAME", "jwt_bench_async")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5")

# name: (server, cache, CACHE_USERS)
SERVERS: dict[str, tuple[str, str, bool]] = {
    "wsgi_redis": ("wsgi", "redis", False),
    "asgi_redis": ("asgi", "redis", False),
    "wsgi_cached": ("wsgi", "locmem", True),
    "asgi_cached_native": ("asgi", "native", True),
    "asgi_cached_threaded": ("asgi", "locmem", True),
}
# name: (label, server, path, baseline variant for the ratio)
VARIANTS: dict[str, tuple[str, str, str, str]] = {
    "wsgi_floor": ("WSGI, sync view, no auth (floor)", "wsgi_redis", "/sync-floor/", ""),
    "asgi_floor": ("ASGI, async view, no auth (floor)", "asgi_redis", "/async-floor/", ""),
    "wsgi_sync": ("WSGI, sync view, django-redis", "wsgi_redis", "/sync/", "wsgi_sync"),
    "asgi_sync": ("ASGI, sync view, django-redis", "asgi_redis", "/sync/", "wsgi_sync"),
    "asgi_async": (
        "ASGI, async view, django-redis (1 hop)",
        "asgi_redis",
        "/async/",
        "wsgi_sync",
    ),
    "wsgi_sync_cached": (
        "WSGI, sync view, CACHE_USERS (locmem)",
        "wsgi_cached",
        "/sync/",
        "wsgi_sync_cached",
    ),
    "asgi_async_cached_native": (
        "ASGI, async view, CACHE_USERS, native-async cache (0 hops)",
        "asgi_cached_native",
        "/async/",
        "wsgi_sync_cached",
    ),
    "asgi_async_cached_threaded": (
        "ASGI, async view, CACHE_USERS, locmem (1 hop)",
        "asgi_cached_threaded",
        "/async/",
        "wsgi_sync_cached",
    ),
}


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@contextmanager
def server(kind: str, cache: str, cache_users: bool, port: int) -> Iterator[None]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "benchmarks.async_settings",
        "BENCH_SERVER": kind,
        "BENCH_CACHE": cache,
        "BENCH_CACHE_USERS": "1" if cache_users else "0",
        "BENCH_DB_NAME": DB_NAME,
        "BENCH_REDIS_URL": REDIS_URL,
    }
    if kind == "wsgi":
        argv = [
            sys.executable, "-m", "gunicorn", "benchmarks.async_server:application",
            "--bind", f"{HOST}:{port}", "--workers", "1", "--worker-class", "gthread",
            "--threads", "1", "--log-level", "warning", "--chdir", str(ROOT),
        ]  # fmt: skip
    else:
        argv = [
            sys.executable, "-m", "uvicorn", "benchmarks.async_server:application",
            "--host", HOST, "--port", str(port), "--workers", "1",
            "--log-level", "warning", "--no-access-log", "--app-dir", str(ROOT),
        ]  # fmt: skip
    with serving(argv, env, f"http://{HOST}:{port}/sync-floor/", f"{kind} server"):
        yield


def prepare() -> dict[str, str]:
    """Create the database and a session; return the request headers."""
    import psycopg

    with psycopg.connect(host=HOST, user="postgres", dbname="postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}"')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.async_settings"
    os.environ["BENCH_DB_NAME"] = DB_NAME
    os.environ["BENCH_REDIS_URL"] = REDIS_URL
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connections
    from django.test import RequestFactory

    from jwt_cookie_auth.cookie_names import access_cookie_name
    from jwt_cookie_auth.issuing import start_session

    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user("bench-async", password="bench-password-1")
    issued = start_session(RequestFactory().post("/auth/login/"), user)
    connections.close_all()
    return {"Cookie": f"{access_cookie_name()}={issued.access}"}


def drop_database() -> None:
    import psycopg

    with psycopg.connect(host=HOST, user="postgres", dbname="postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')


def run(repeats: int, seconds: int, seed: int) -> dict[str, Any]:
    from benchmarks.bench_http import wrk
    from benchmarks.harness import median

    headers = prepare()
    ports = {name: free_port() for name in SERVERS}
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in VARIANTS}
    with ExitStack() as stack:
        for name, (kind, cache, cache_users) in SERVERS.items():
            stack.enter_context(server(kind, cache, cache_users, ports[name]))

        def url(variant: str) -> str:
            _, server_name, path, _ = VARIANTS[variant]
            return f"http://{HOST}:{ports[server_name]}{path}"

        for variant in VARIANTS:  # warm-up: caches, connections, code paths
            wrk(url(variant), headers, min(seconds, 2))
        rng = random.Random(seed)  # noqa: S311 - shuffling, not security
        for repeat in range(repeats):
            order = list(VARIANTS)
            rng.shuffle(order)
            for variant in order:
                samples[variant].append(wrk(url(variant), headers, seconds))
            print(f"repeat {repeat + 1}/{repeats} done", file=sys.stderr)
    drop_database()
    results: dict[str, Any] = {}
    for variant, (label, _, _, baseline) in VARIANTS.items():
        rps = [s["rps"] for s in samples[variant]]
        results[variant] = {
            "label": label,
            "rps_median": median(rps),
            "rps_min": min(rps),
            "rps_max": max(rps),
            "p50_ms": median([s["p50_ms"] for s in samples[variant]]),
            "p99_ms": median([s["p99_ms"] for s in samples[variant]]),
            "baseline": baseline,
        }
    for result in results.values():
        if result["baseline"]:
            result["ratio"] = result["rps_median"] / results[result["baseline"]]["rps_median"]
    return {"repeats": repeats, "seconds": seconds, "seed": seed, "variants": results}


def markdown(data: dict[str, Any]) -> str:
    lines = [
        "| variant | req/s (median) | min-max | p50 ms | p99 ms | vs WSGI sync |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for result in data["variants"].values():
        ratio = f"{result['ratio']:.2f}x" if "ratio" in result else "-"
        lines.append(
            f"| {result['label']} | {result['rps_median']:.0f} | "
            f"{result['rps_min']:.0f}-{result['rps_max']:.0f} | {result['p50_ms']:.2f} | "
            f"{result['p99_ms']:.2f} | {ratio} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--json", type=Path, help="write every figure here")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    data = run(args.repeats, args.seconds, args.seed)
    if args.json:
        args.json.write_text(json.dumps(data, indent=2) + "\n")
    print(markdown(data))


if __name__ == "__main__":
    main()
