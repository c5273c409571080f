"""Settings of the demo project (``make demo``). Not for production, not for the tests.

Open the demo at http://localhost:8000/: the token cookies keep the secure default
``COOKIE_SECURE=True``, and over plain HTTP browsers keep Secure cookies only on
addresses they count as secure (Chromium: localhost, *.localhost and 127.0.0.1;
Firefox: localhost; Safari: none). README "Development" has the table.

Environment overrides (all optional):

- ``REDIS_URL``: use django-redis on that Redis as the revocation cache (else local
  memory, which is fine for one ``runserver`` process), and channels-redis as the
  channel layer of the WebSocket demo (``uvicorn example_project.asgi:application``).
- ``JWT_DEMO_DATABASE``: path of the SQLite file (else ``example_project/db.sqlite3``).
- ``JWT_DEMO_ACCESS_SECONDS``, ``JWT_DEMO_REFRESH_SECONDS``,
  ``JWT_DEMO_SESSION_MAX_SECONDS``, ``JWT_DEMO_GRACE_SECONDS``,
  ``JWT_DEMO_LEEWAY_SECONDS``: token lifetimes, e.g. a 5-second access token for an
  end-to-end test. A short access token without ``JWT_DEMO_GRACE_SECONDS`` gets a
  grace period of half its lifetime, since the grace period must be shorter.
- ``JWT_DEMO_AUTO_REFRESH``: ``0`` turns ``AUTO_REFRESH`` off, as an SPA-only site
  would: an expired access token is then a 401 that the JavaScript client (the
  ``/spa/`` page) answers with its own refresh. With the default (on), the
  middleware renews tokens on any request, API calls included, before a 401 can
  happen, and the client's refresh path only runs for its proactive renewal.
- ``JWT_DEMO_CROSS_SITE_ORIGINS``: comma-separated origins of a front end on another
  site (e.g. ``http://127.0.0.1:5173``). Turns on the cross-site mode: CORS with
  credentials for those origins (django-cors-headers, ``pip install -e ".[e2e]"``),
  ``CSRF_TRUSTED_ORIGINS``, and ``SameSite=None; Secure`` token and CSRF cookies.
  Those origins may also frame the demo (``Content-Security-Policy: frame-ancestors``).
- ``JWT_DEMO_PARTITIONED``: ``1`` (with ``JWT_DEMO_CROSS_SITE_ORIGINS``) sets
  ``COOKIE_PARTITIONED`` and Partitioned CSRF cookies: the demo then works inside an
  ``<iframe>`` on such an origin even where third-party cookies are blocked.
- ``JWT_DEMO_COOKIE_NAME_PREFIX``: ``COOKIE_NAME_PREFIX`` (``""`` turns the
  ``__Host-`` names off: the browser test of cookie tossing shows what they prevent).
- ``DJANGO_SECRET_KEY``: else a fixed demo key.
"""

from __future__ import annotations

import importlib.util
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent

SECRET_KEY = os.environ.get(
    "DJANGO_SECRET_KEY",
    "demo-only-secret-key-never-use-in-production-6f1d0c8a2b7e4e19a3c5d7f9b1e3a5c7",
)
DEBUG = True
# ".localhost": also app.site.localhost and its siblings, which the cookie-tossing
# browser test uses (browsers resolve *.localhost to this machine).
ALLOWED_HOSTS = [".localhost", "127.0.0.1"]
USE_TZ = True
TIME_ZONE = "UTC"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "jwt_cookie_auth",
    "example_project.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After AuthenticationMiddleware: plain views see the JWT user as request.user,
    # and an expired access token is renewed from the refresh cookie.
    "jwt_cookie_auth.middleware.JWTCookieMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After the two above: tells a user whose cookies were just refused why
    # (an administrator signed you out, your session expired...).
    "example_project.demo.signed_out.SignedOutNoticeMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "example_project.urls"
LOGIN_URL = "demo:login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "example_project.demo.context_processors.jwt_auth",
            ]
        },
    }
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("JWT_DEMO_DATABASE") or BASE_DIR / "db.sqlite3",
        # Parallel requests may refresh at once (AUTO_REFRESH): take SQLite's write
        # lock at BEGIN and wait for it, instead of failing with "database is locked"
        # when two deferred transactions try to upgrade their locks.
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL;",
        },
    }
}

REDIS_URL = os.environ.get("REDIS_URL")
CACHES: dict[str, dict[str, Any]]
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "jwt-demo",
            "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient"},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# The WebSocket demo (example_project/asgi.py, under uvicorn): revocations reach open
# sockets through the channel layer. Redis when REDIS_URL is set, so that
# `manage.py jwt_force_logout` in another process closes them too; else in memory,
# which only the server's own process (the admin's Force logout, a logout) reaches.
ASGI_APPLICATION = "example_project.asgi.application"
if importlib.util.find_spec("channels") is not None:
    CHANNEL_LAYERS: dict[str, dict[str, Any]] = (
        {
            "default": {
                "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                "CONFIG": {"hosts": [REDIS_URL]},
            }
        }
        if REDIS_URL
        else {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    )

STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["jwt_cookie_auth.authentication.JWTCookieAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
}

# OpenAPI (README "OpenAPI (drf-spectacular)"): the schema at /api/schema/ and Swagger UI
# at /api/docs/, with the package's auth scheme and endpoints. Swagger UI's files are
# served from this site (drf-spectacular-sidecar), never from a CDN: a strict
# Content-Security-Policy (script-src 'self') keeps working. `make demo` installs
# both; without them the demo runs without these pages.
OPENAPI = all(
    importlib.util.find_spec(name) is not None
    for name in ("drf_spectacular", "drf_spectacular_sidecar")
)
if OPENAPI:
    INSTALLED_APPS += ["drf_spectacular", "drf_spectacular_sidecar"]
    REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"] = "drf_spectacular.openapi.AutoSchema"
    SPECTACULAR_SETTINGS = {
        "TITLE": "django-jwt-cookie-auth demo API",
        "VERSION": "1.0.0",
        "SERVE_INCLUDE_SCHEMA": False,
        "SWAGGER_UI_DIST": "SIDECAR",
        "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
        "REDOC_DIST": "SIDECAR",
    }


def _seconds(name: str) -> timedelta | None:
    value = os.environ.get(name)
    return timedelta(seconds=float(value)) if value else None


# The package's defaults (secure cookies included); only the environment overrides.
JWT_COOKIE_AUTH: dict[str, Any] = {
    "AUTO_REFRESH": os.environ.get("JWT_DEMO_AUTO_REFRESH", "1").lower() not in {"0", "false", "no"}
}
for _key, _env in [
    ("ACCESS_TOKEN_LIFETIME", "JWT_DEMO_ACCESS_SECONDS"),
    ("REFRESH_TOKEN_LIFETIME", "JWT_DEMO_REFRESH_SECONDS"),
    ("SESSION_MAX_LIFETIME", "JWT_DEMO_SESSION_MAX_SECONDS"),
    ("ROTATION_GRACE_PERIOD", "JWT_DEMO_GRACE_SECONDS"),
    ("LEEWAY", "JWT_DEMO_LEEWAY_SECONDS"),
]:
    if (_value := _seconds(_env)) is not None:
        JWT_COOKIE_AUTH[_key] = _value
if (_prefix := os.environ.get("JWT_DEMO_COOKIE_NAME_PREFIX")) is not None:
    JWT_COOKIE_AUTH["COOKIE_NAME_PREFIX"] = _prefix
if "ACCESS_TOKEN_LIFETIME" in JWT_COOKIE_AUTH and "ROTATION_GRACE_PERIOD" not in JWT_COOKIE_AUTH:
    JWT_COOKIE_AUTH["ROTATION_GRACE_PERIOD"] = min(
        timedelta(seconds=15), JWT_COOKIE_AUTH["ACCESS_TOKEN_LIFETIME"] / 2
    )

# Front end on another site: the browser sends the cookies to the API only with
# SameSite=None (which needs Secure), and only CORS with credentials lets the front
# end read the answers. The CSRF cookie is unreadable there: the client takes the
# token from the csrf_token field of the session/login/refresh responses instead.
CROSS_SITE_ORIGINS = [
    origin.strip()
    for origin in os.environ.get("JWT_DEMO_CROSS_SITE_ORIGINS", "").split(",")
    if origin.strip()
]
if CROSS_SITE_ORIGINS:
    INSTALLED_APPS.append("corsheaders")
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.middleware.common.CommonMiddleware"),
        "corsheaders.middleware.CorsMiddleware",
    )
    CORS_ALLOWED_ORIGINS = CROSS_SITE_ORIGINS
    CORS_ALLOW_CREDENTIALS = True
    CSRF_TRUSTED_ORIGINS = CROSS_SITE_ORIGINS
    CSRF_COOKIE_SAMESITE = "None"
    CSRF_COOKIE_SECURE = True
    JWT_COOKIE_AUTH["COOKIE_SAMESITE"] = "None"
    # Those front ends may also show the demo in an <iframe> (demo/framing.py).
    DEMO_FRAME_ANCESTORS = CROSS_SITE_ORIGINS
    MIDDLEWARE[MIDDLEWARE.index("django.middleware.clickjacking.XFrameOptionsMiddleware")] = (
        "example_project.demo.framing.FrameAncestorsMiddleware"
    )
    # JWT_DEMO_PARTITIONED=1: CHIPS, so that a login inside such an <iframe> sticks in a
    # browser that blocks third-party cookies (README "Embedded in another site's page").
    if os.environ.get("JWT_DEMO_PARTITIONED") == "1":
        JWT_COOKIE_AUTH["COOKIE_PARTITIONED"] = True
        MIDDLEWARE[MIDDLEWARE.index("django.middleware.csrf.CsrfViewMiddleware")] = (
            "jwt_cookie_auth.partitioned.PartitionedCsrfViewMiddleware"
        )

# Token-safe error reports also for errors raised before JWTCookieMiddleware runs
# (DisallowedHost...): README "Error reports", check W017.
DEFAULT_EXCEPTION_REPORTER_FILTER = "jwt_cookie_auth.reporting.TokenSafeExceptionReporterFilter"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    # Show why a token was refused, and theft warnings, in the runserver console.
    "loggers": {"jwt_cookie_auth": {"handlers": ["console"], "level": "DEBUG"}},
}
