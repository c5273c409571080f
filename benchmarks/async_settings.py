"""Settings of the async-vs-sync benchmark (``bench_async.py``): one small project.

Only Django, DRF and the package: no peer libraries. PostgreSQL (``BENCH_DB_NAME``
on 127.0.0.1, user postgres); persistent connections under WSGI only (below). The cache is
per server process (``BENCH_CACHE``):

- ``redis``: django-redis on ``BENCH_REDIS_URL`` (production's cache; its async
  methods are thread wrappers, so the async path takes one hop for the check);
- ``locmem``: Django's LocMemCache (the same, in process);
- ``native``: ``tests.async_cache.NativeAsyncLocMemCache``, LocMem with native async
  methods: the async path with no hop at all.

``BENCH_CACHE_USERS=1`` turns on ``CACHE_USERS``.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

SECRET_KEY = "benchmark-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz-0123456789"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
USE_TZ = True
ROOT_URLCONF = "benchmarks.async_urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "rest_framework",
    "jwt_cookie_auth",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "jwt_cookie_auth.middleware.JWTCookieMiddleware",
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("BENCH_DB_NAME", "jwt_bench_async"),
        "USER": os.environ.get("PGUSER", "postgres"),
        "HOST": os.environ.get("PGHOST", "127.0.0.1"),
        "PORT": os.environ.get("PGPORT", "5432"),
        # Persistent under WSGI, as in production. Under ASGI Django's docs say to turn
        # them off: each request's sync work may run in a new thread, and a persistent
        # connection per thread exhausts PostgreSQL's max_connections (seen here).
        "CONN_MAX_AGE": 0 if os.environ.get("BENCH_SERVER") == "asgi" else None,
    }
}

_CACHE = os.environ.get("BENCH_CACHE", "redis")
CACHES: dict[str, dict[str, Any]]
if _CACHE == "redis":
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5"),
            "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient"},
        }
    }
elif _CACHE == "native":
    CACHES = {"default": {"BACKEND": "tests.async_cache.NativeAsyncLocMemCache"}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

JWT_COOKIE_AUTH = {
    "CACHE_USERS": os.environ.get("BENCH_CACHE_USERS") == "1",
    # The whole run on one access token: no renewal inside a timed run.
    "ACCESS_TOKEN_LIFETIME": timedelta(hours=1),
}

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
