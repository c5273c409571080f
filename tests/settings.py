"""Minimal settings for the test suite (not the demo: see example_project/).

Environment switches, so one suite runs against every backend:

- ``JWT_TEST_DB=postgres``: the PostgreSQL server on 127.0.0.1:5432 (else SQLite).
- ``JWT_TEST_CACHE=redis``: django-redis on 127.0.0.1:6379 (else local memory);
  ``JWT_TEST_CACHE=redis-builtin``: Django's own ``RedisCache`` on the same server.
- ``JWT_TEST_USER_MODEL=custom``: a user model with a UUID primary key and an email
  ``USERNAME_FIELD`` (else ``django.contrib.auth.models.User``).
- ``JWT_TEST_DB_NAME``: the PostgreSQL database name (its test database gets Django's
  ``test_`` prefix), so two PostgreSQL passes can run side by side.
- ``JWT_TEST_USE_TZ=0``: ``USE_TZ = False`` with a non-UTC ``TIME_ZONE`` that has DST
  (naive local datetimes in the database), else aware UTC.
"""

from __future__ import annotations

import os

import django

SECRET_KEY = "tests-only-secret-key-that-is-long-enough-to-be-realistic-0123456789"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
USE_TZ = os.environ.get("JWT_TEST_USE_TZ", "1") != "0"
TIME_ZONE = "UTC" if USE_TZ else "America/New_York"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "rest_framework",
    "jwt_cookie_auth",
    # The two-step login recipe (tests/recipes.py).
    "django_otp",
    "django_otp.plugins.otp_totp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "jwt_cookie_auth.middleware.JWTCookieMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "tests.urls"

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
            ]
        },
    }
]

if os.environ.get("JWT_TEST_DB") == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ.get("JWT_TEST_DB_NAME", "jwt_cookie_auth"),
            "USER": os.environ.get("PGUSER", "postgres"),
            "HOST": os.environ.get("PGHOST", "127.0.0.1"),
            "PORT": os.environ.get("PGPORT", "5432"),
        }
    }
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}

REDIS_URL = os.environ.get("JWT_TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
if os.environ.get("JWT_TEST_CACHE") == "redis":
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient"},
        }
    }
elif os.environ.get("JWT_TEST_CACHE") == "redis-builtin":
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

if os.environ.get("JWT_TEST_USER_MODEL") == "custom":
    INSTALLED_APPS.append("tests.custom_user")
    AUTH_USER_MODEL = "custom_user.EmailUser"

# Django 6.1 replaces the EMAIL_* settings with MAILERS and warns (an error under
# filterwarnings=error) when mail is sent without it; the test runner swaps in locmem.
if django.VERSION >= (6, 1):
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}

# Fast hashing: the suite creates many users.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["jwt_cookie_auth.authentication.JWTCookieAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
}

JWT_COOKIE_AUTH: dict[str, object] = {}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"null": {"class": "logging.NullHandler"}},
    "loggers": {"jwt_cookie_auth": {"handlers": ["null"], "level": "DEBUG"}},
}
