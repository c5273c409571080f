"""Settings for the test project when it runs out of process (gunicorn, spawned workers).

``tests/servers.py`` starts it; it is ``tests.settings`` plus what a live server needs:

- ``JWT_LIVE_DB_NAME``: the PostgreSQL database (127.0.0.1, user postgres, as the
  PostgreSQL test pass).
- ``JWT_LIVE_REDIS_URL``: django-redis location; ``JWT_LIVE_IGNORE_EXCEPTIONS=1`` sets
  its ``IGNORE_EXCEPTIONS`` option.
- ``JWT_LIVE_ACCESS_SECONDS``, ``JWT_LIVE_GRACE_SECONDS``, ``JWT_LIVE_LEEWAY_SECONDS``:
  token lifetimes, e.g. short access tokens so a soak exercises transparent refresh.
- ``JWT_TEST_CLOCK_SKEW_SECONDS``: this host's clock is off by that much
  (``tests/skewed_clock.py``).

Every response carries ``X-Worker-Pid``, so a test can prove which worker answered.
"""

from __future__ import annotations

import os
from datetime import timedelta

from tests.settings import *  # noqa: F403
from tests.settings import DATABASES, MIDDLEWARE

ROOT_URLCONF = "tests.live_app"
MIDDLEWARE = ["tests.live_app.worker_pid_middleware", *MIDDLEWARE]
if os.environ.get("JWT_TEST_CLOCK_SKEW_SECONDS"):
    # A host whose clock is off by that many seconds (tests/skewed_clock.py).
    MIDDLEWARE = ["tests.skewed_clock.middleware", *MIDDLEWARE]

DATABASES = {
    "default": {
        **DATABASES["default"],
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ["JWT_LIVE_DB_NAME"],
        "USER": os.environ.get("PGUSER", "postgres"),
        "HOST": os.environ.get("PGHOST", "127.0.0.1"),
        "PORT": os.environ.get("PGPORT", "5432"),
    }
}

CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": os.environ["JWT_LIVE_REDIS_URL"],
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            "IGNORE_EXCEPTIONS": os.environ.get("JWT_LIVE_IGNORE_EXCEPTIONS") == "1",
            # A dead Redis must cost milliseconds, not a worker timeout.
            "SOCKET_CONNECT_TIMEOUT": 1,
            "SOCKET_TIMEOUT": 1,
        },
    }
}

JWT_COOKIE_AUTH: dict[str, object] = {}
for _key, _env in [
    ("ACCESS_TOKEN_LIFETIME", "JWT_LIVE_ACCESS_SECONDS"),
    ("ROTATION_GRACE_PERIOD", "JWT_LIVE_GRACE_SECONDS"),
    ("LEEWAY", "JWT_LIVE_LEEWAY_SECONDS"),
]:
    if os.environ.get(_env):
        JWT_COOKIE_AUTH[_key] = timedelta(seconds=float(os.environ[_env]))
# JWT_LIVE_LOCAL_REVOCATION_CACHE=1: each worker keeps tracked markers (local_revocation).
if os.environ.get("JWT_LIVE_LOCAL_REVOCATION_CACHE") == "1":
    JWT_COOKIE_AUTH["LOCAL_REVOCATION_CACHE"] = True

# Server errors go to the gunicorn log, where a failing test prints them from.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django.request": {"handlers": ["stderr"], "level": "ERROR"},
        "jwt_cookie_auth": {"handlers": ["stderr"], "level": "WARNING"},
    },
}
