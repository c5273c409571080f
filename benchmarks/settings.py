"""Settings of the benchmark project: every variant side by side, in one Django project.

PostgreSQL (``BENCH_DB_NAME`` on 127.0.0.1, user postgres) and Redis (database
``BENCH_REDIS_DB``, 5 by default: the test suite flushes 9). The same middleware
stack serves every variant; each variant is a URL prefix whose view names its
authentication class (see ``urls.py``). The session engine is per prefix
(``benchmarks.middleware``), since Django's ``SESSION_ENGINE`` is global.

``BENCH_CACHE_USERS=1`` turns on the package's ``CACHE_USERS`` mode for a whole
process (the gunicorn server of that variant); the in-process benchmark switches it
per slice with ``override_settings``, outside the timed region.
"""

from __future__ import annotations

import os
from datetime import timedelta

SECRET_KEY = "benchmark-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz-0123456789"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "benchmarks.urls"
WSGI_APPLICATION = "benchmarks.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "knox",
    "jwt_cookie_auth",
]

# One stack for every variant, floors included.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "benchmarks.middleware.PerPrefixSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "jwt_cookie_auth.middleware.JWTCookieMiddleware",
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("BENCH_DB_NAME", "jwt_bench"),
        "USER": os.environ.get("PGUSER", "postgres"),
        "HOST": os.environ.get("PGHOST", "127.0.0.1"),
        "PORT": os.environ.get("PGPORT", "5432"),
        # Persistent connections, as in production: otherwise every request of every
        # variant would pay a PostgreSQL connection setup.
        "CONN_MAX_AGE": None,
    }
}

REDIS_URL = f"redis://127.0.0.1:6379/{os.environ.get('BENCH_REDIS_DB', '5')}"
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient"},
    }
}

# Both session engines exist side by side (benchmarks.middleware); this one is the
# default for every other prefix.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_CACHE_ALIAS = "default"

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

# Token lifetimes: long enough that no token expires during a run (about 15 minutes),
# the same for both JWT libraries. Lifetimes do not change the per-request work.
ACCESS_LIFETIME = timedelta(hours=2)

JWT_COOKIE_AUTH = {
    "ACCESS_TOKEN_LIFETIME": ACCESS_LIFETIME,
    "CACHE_USERS": os.environ.get("BENCH_CACHE_USERS") == "1",
}
if os.environ.get("BENCH_LOCAL_REVOCATION_CACHE") in ("0", "1"):
    JWT_COOKIE_AUTH["LOCAL_REVOCATION_CACHE"] = os.environ["BENCH_LOCAL_REVOCATION_CACHE"] == "1"

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": ACCESS_LIFETIME,
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
}

REST_AUTH = {
    "USE_JWT": True,
    "TOKEN_MODEL": None,
    "JWT_AUTH_COOKIE": "djra-access",
    "JWT_AUTH_REFRESH_COOKIE": "djra-refresh",
    "JWT_AUTH_HTTPONLY": True,
    # Off by default in dj-rest-auth; on here, so that its cookie mode does the same
    # CSRF work as ours and SessionAuthentication (a cookie must be CSRF-checked).
    "JWT_AUTH_COOKIE_USE_CSRF": True,
}

REST_KNOX = {"TOKEN_TTL": timedelta(hours=10), "AUTO_REFRESH": False}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"null": {"class": "logging.NullHandler"}},
    "loggers": {
        "jwt_cookie_auth": {"handlers": ["null"], "level": "WARNING", "propagate": False},
        "django.request": {"handlers": ["null"], "level": "ERROR", "propagate": False},
    },
}
