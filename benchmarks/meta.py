"""What a result depends on: date, versions and machine."""

from __future__ import annotations

import datetime as dt
import os
import platform
import shutil
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

PACKAGES = {
    "django-jwt-cookie-auth": "django-jwt-cookie-auth",
    "Django": "Django",
    "DRF": "djangorestframework",
    "PyJWT": "PyJWT",
    "cryptography": "cryptography",
    "simplejwt": "djangorestframework-simplejwt",
    "dj-rest-auth": "dj-rest-auth",
    "knox": "django-rest-knox",
    "django-redis": "django-redis",
    "redis-py": "redis",
    "psycopg": "psycopg",
    "gunicorn": "gunicorn",
}

ROOT = Path(__file__).resolve().parent.parent


def _version(dist: str) -> str:
    try:
        return version(dist)
    except PackageNotFoundError:
        return "not installed"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _command(*argv: str) -> str:
    if shutil.which(argv[0]) is None:
        return "not installed"
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)  # noqa: S603
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (
        (done.stdout or done.stderr).strip().splitlines()[0] if (done.stdout or done.stderr) else ""
    )


def _servers() -> dict[str, str]:
    from django.core.cache import cache
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    client = cache.client.get_client()  # type: ignore[attr-defined]
    return {"PostgreSQL": postgres, "Redis": str(client.info("server").get("redis_version"))}


def collect() -> dict[str, Any]:
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "python": platform.python_version(),
        "packages": {label: _version(dist) for label, dist in PACKAGES.items()},
        "servers": {**_servers(), "wrk": _command("wrk", "--version").split(" [")[0]},
        "machine": {
            "nproc": len(os.sched_getaffinity(0)),
            "cpu_model": _cpu_model(),
            "memory_gib": _memory_gib(),
            "kernel": platform.release(),
        },
        "git_commit": _command("git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"),
    }
