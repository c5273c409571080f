"""System checks: every id fires for its bad configuration, none for a sound one.

The ids in ``jwt_cookie_auth/checks.py`` are read from its source, so a new check
without a bad configuration here fails ``test_every_check_id_is_covered``.
"""

from __future__ import annotations

import ast
import io
import re
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from django.conf import settings
from django.core import checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from jwt_cookie_auth import checks as jwt_checks

CHECKS_SOURCE = Path(jwt_checks.__file__)
ID_PATTERN = re.compile(r"^jwt_cookie_auth\.[EW]\d{3}$")

AUTH_MW = "django.contrib.auth.middleware.AuthenticationMiddleware"
JWT_MW = "jwt_cookie_auth.middleware.JWTCookieMiddleware"
CSRF_MW = "django.middleware.csrf.CsrfViewMiddleware"
# A cache every worker process shares; the check reads only the BACKEND path.
SHARED_CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:6379/9",
    }
}
LOCMEM_CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
DUMMY_CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}


def middleware_without(*names: str) -> list[str]:
    return [m for m in settings.MIDDLEWARE if m not in names]


def middleware_jwt_before_auth() -> list[str]:
    rest = middleware_without(JWT_MW)
    position = rest.index(AUTH_MW)
    return [*rest[:position], JWT_MW, *rest[position:]]


def ed25519_pem() -> str:
    return (
        ed25519.Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


TOKEN_SAFE_FILTER = "jwt_cookie_auth.reporting.TokenSafeExceptionReporterFilter"


def sound(**overrides: Any) -> dict[str, Any]:
    """Settings for a production-like deployment with these changes."""
    return {
        "CACHES": SHARED_CACHES,
        "DEBUG": False,
        "JWT_COOKIE_AUTH": {},
        "DEFAULT_EXCEPTION_REPORTER_FILTER": TOKEN_SAFE_FILTER,
        **overrides,
    }


def jwt_config(**config: Any) -> dict[str, Any]:
    return sound(JWT_COOKIE_AUTH=config)


PARTITIONED_CSRF_MW = "jwt_cookie_auth.partitioned.PartitionedCsrfViewMiddleware"


def partitioned(jwt: dict[str, Any] | None = None, **overrides: Any) -> dict[str, Any]:
    """A sound cross-site embed with CHIPS cookies (partitioned.py), with these changes."""
    embed = {
        "MIDDLEWARE": [PARTITIONED_CSRF_MW if m == CSRF_MW else m for m in settings.MIDDLEWARE],
        "CSRF_COOKIE_SAMESITE": "None",
        "CSRF_COOKIE_SECURE": True,
    }
    return sound(
        JWT_COOKIE_AUTH={"COOKIE_PARTITIONED": True, "COOKIE_SAMESITE": "None", **(jwt or {})},
        **{**embed, **overrides},
    )


def run(config: dict[str, Any]) -> list[checks.CheckMessage]:
    """Run every registered security check (deploy ones too) under ``config``; keep ours."""
    with override_settings(**config):
        messages = checks.run_checks(tags=[checks.Tags.security], include_deployment_checks=True)
    return [m for m in messages if str(m.id).startswith("jwt_cookie_auth.")]


def fired(config: dict[str, Any]) -> set[str]:
    return {str(m.id) for m in run(config)}


BAD_CONFIGS: dict[str, list[dict[str, Any]]] = {
    "E001": [sound(JWT_COOKIE_AUTH="HS256"), sound(JWT_COOKIE_AUTH=[("ALGORITHM", "HS256")])],
    "E002": [jwt_config(ACCES_TOKEN_LIFETIME=timedelta(minutes=5)), jwt_config(algorithm="HS256")],
    "E003": [jwt_config(ACCESS_TOKEN_LIFETIME=300), jwt_config(LEEWAY=10)],
    "E004": [
        jwt_config(ACCESS_TOKEN_LIFETIME=timedelta(0)),
        jwt_config(SESSION_MAX_LIFETIME=-timedelta(1)),
    ],
    "E005": [
        jwt_config(ACCESS_TOKEN_LIFETIME=timedelta(days=1)),
        jwt_config(ACCESS_TOKEN_LIFETIME=timedelta(days=2)),
    ],
    "E006": [jwt_config(REFRESH_TOKEN_LIFETIME=timedelta(days=30))],
    "E007": [
        jwt_config(ROTATION_GRACE_PERIOD=timedelta(minutes=5)),
        jwt_config(ROTATION_GRACE_PERIOD=-timedelta(seconds=1)),
    ],
    "E008": [jwt_config(USER_SERIALIZER="tests.nowhere.Serializer")],
    "E010": [jwt_config(COOKIE_SAMESITE="lax"), jwt_config(COOKIE_SAMESITE="")],
    "E011": [jwt_config(COOKIE_SAMESITE="None", COOKIE_SECURE=False)],
    "E012": [
        jwt_config(REFRESH_COOKIE_NAME="jwt_access"),
        # Different as configured, the same on the wire once prefixed.
        jwt_config(ACCESS_COOKIE_NAME="__Host-t", REFRESH_COOKIE_NAME="t"),
    ],
    "E013": [
        jwt_config(ACCESS_COOKIE_NAME="__Host-access", ACCESS_COOKIE_PATH="/api/"),
        jwt_config(ACCESS_COOKIE_NAME="__Host-access", COOKIE_DOMAIN=".example.com"),
        jwt_config(REFRESH_COOKIE_NAME="__Host-refresh", COOKIE_SECURE=False),
    ],
    "E014": [jwt_config(ACCESS_COOKIE_NAME="__Secure-access", COOKIE_SECURE=False)],
    "E015": [jwt_config(COOKIE_NAME_PREFIX="__Host-"), jwt_config(COOKIE_NAME_PREFIX=None)],
    "W015": [
        jwt_config(COOKIE_NAME_PREFIX=""),
        sound(JWT_COOKIE_AUTH={"COOKIE_SECURE": False}, DEBUG=True),
        jwt_config(ACCESS_COOKIE_NAME="__Host-access", COOKIE_NAME_PREFIX=""),
    ],
    "E020": [
        jwt_config(ALGORITHM="none"),
        jwt_config(ALGORITHM="HS1"),
        jwt_config(ALGORITHM="hs256"),
    ],
    "E021": [
        jwt_config(SIGNING_KEY="short"),
        jwt_config(SIGNING_KEY="x" * 31),
        jwt_config(SIGNING_KEY=b"x" * 31),
    ],
    "E022": [jwt_config(SIGNING_KEY="k" * 64, VERIFYING_KEY="k" * 64)],
    "E023": [
        jwt_config(ALGORITHM="RS256"),
        jwt_config(ALGORITHM="EdDSA"),
        jwt_config(ALGORITHM="RS256", SIGNING_KEY="not a PEM key"),
    ],
    "E030": [sound(MIDDLEWARE=middleware_jwt_before_auth())],
    "E031": [sound(MIDDLEWARE=middleware_without(CSRF_MW))],
    "E040": [jwt_config(CACHE_ALIAS="revocation")],
    "E050": [jwt_config(REFRESH_COOKIE_PATH="/auth/")],
    "E051": [
        jwt_config(REFRESH_COOKIE_PATH="/api/", AUTO_REFRESH=False),
        # RFC 6265 path-match: "/au" is a string prefix of "/auth/refresh/", not a path one.
        jwt_config(REFRESH_COOKIE_PATH="/au", AUTO_REFRESH=False),
    ],
    # Issue 9 item 4: logout after the access cookie expired saw no cookie at all.
    "E052": [jwt_config(REFRESH_COOKIE_PATH="/auth/refresh/", AUTO_REFRESH=False)],
    "E053": [jwt_config(REFRESH_COOKIE_PATH="/auth/refresh/", AUTO_REFRESH=False)],
    # Issue 9 items 7 and 8: the login throttle and its device cookies.
    "E080": [
        jwt_config(LOGIN_THROTTLE_RATES={"ip": "20/minute", "user": "5/min"}),
        jwt_config(LOGIN_THROTTLE_RATES={"username": "5 per minute"}),
        jwt_config(LOGIN_THROTTLE_RATES={"username": "0/min"}),
        jwt_config(LOGIN_THROTTLE_RATES="5/min"),
    ],
    "E081": [
        jwt_config(DEVICE_COOKIE_NAME=""),
        jwt_config(DEVICE_COOKIE_NAME="jwt_refresh"),
    ],
    "E085": [
        jwt_config(LOGIN_THROTTLE_IPV6_PREFIX_LENGTH=0),
        jwt_config(LOGIN_THROTTLE_IPV6_PREFIX_LENGTH="64"),
    ],
    "W085": [jwt_config(LOGIN_THROTTLE_IPV6_PREFIX_LENGTH=128)],
    "W016": [
        jwt_config(COOKIE_DOMAIN=".example.com"),
        jwt_config(REFRESH_COOKIE_PATH="/auth/"),
    ],
    "W017": [
        sound(DEFAULT_EXCEPTION_REPORTER_FILTER="django.views.debug.SafeExceptionReporterFilter")
    ],
    "E082": [
        jwt_config(DEVICE_COOKIE_MAX_AGE=3600),
        jwt_config(DEVICE_COOKIE_MAX_AGE=timedelta(0)),
    ],
    "E090": [
        jwt_config(CLIENT_IP_HEADER="HTTP_X_FORWARDED_FOR", NUM_PROXIES=-1),
        jwt_config(CLIENT_IP_HEADER="HTTP_X_FORWARDED_FOR", NUM_PROXIES="1"),
        jwt_config(CLIENT_IP_HEADER="HTTP_X_FORWARDED_FOR", NUM_PROXIES=True),
    ],
    "E091": [
        jwt_config(CLIENT_IP_HEADER="HTTP_X_FORWARDED_FOR", TRUSTED_PROXIES="10.0.0.0/8"),
        jwt_config(CLIENT_IP_HEADER="HTTP_X_FORWARDED_FOR", TRUSTED_PROXIES=["10.0.0.0/33"]),
        jwt_config(CLIENT_IP_HEADER="HTTP_X_FORWARDED_FOR", TRUSTED_PROXIES=["fe80::/10%eth0"]),
    ],
    "E092": [
        jwt_config(
            CLIENT_IP_HEADER="HTTP_X_FORWARDED_FOR", NUM_PROXIES=1, TRUSTED_PROXIES=["10.0.0.0/8"]
        )
    ],
    "E093": [
        jwt_config(CLIENT_IP_HEADER="X-Forwarded-For", NUM_PROXIES=1),
        jwt_config(CLIENT_IP_HEADER="http_x_forwarded_for", NUM_PROXIES=1),
    ],
    "E100": [jwt_config(DJANGO_LOGIN_STARTS_JWT_SESSION="yes")],
    "E101": [
        sound(
            MIDDLEWARE=middleware_without(JWT_MW),
            JWT_COOKIE_AUTH={"AUTO_REFRESH": False, "DJANGO_LOGIN_STARTS_JWT_SESSION": True},
        )
    ],
    "W001": [jwt_config(LEEWAY=timedelta(seconds=60)), jwt_config(LEEWAY=-timedelta(seconds=1))],
    "W002": [jwt_config(ACCESS_TOKEN_LIFETIME=timedelta(minutes=30))],
    "W003": [jwt_config(COOKIE_SAMESITE="None")],
    "W004": [jwt_config(COOKIE_SECURE=False)],
    "W005": [sound(MIDDLEWARE=middleware_without(JWT_MW))],
    "W006": [sound(CACHES=LOCMEM_CACHES), sound(CACHES=DUMMY_CACHES)],
    "E150": [
        jwt_config(REVOCATION_CACHE_MIN_REPLICAS=-1),
        jwt_config(REVOCATION_CACHE_MIN_REPLICAS="all"),
        jwt_config(REVOCATION_CACHE_MIN_REPLICAS=True),
    ],
    "E151": [
        jwt_config(REVOCATION_CACHE_REPLICA_TIMEOUT=0.5),
        jwt_config(REVOCATION_CACHE_REPLICA_TIMEOUT=timedelta(0)),
        jwt_config(REVOCATION_CACHE_REPLICA_TIMEOUT=timedelta(seconds=11)),
    ],
    "E160": [
        jwt_config(VERIFIED_TOKEN_CACHE_SIZE=-1),
        jwt_config(VERIFIED_TOKEN_CACHE_SIZE=True),
        jwt_config(VERIFIED_TOKEN_CACHE_SIZE="1024"),
        jwt_config(VERIFIED_TOKEN_CACHE_SIZE=1_000_001),
    ],
    # Django's RedisCache (SHARED_CACHES) has no tracking connection of ours.
    "E165": [
        jwt_config(LOCAL_REVOCATION_CACHE=True),
        sound(
            CACHES={
                "default": {
                    "BACKEND": "django_redis.cache.RedisCache",
                    "LOCATION": "redis://127.0.0.1:6379/0",
                    "OPTIONS": {"CLIENT_CLASS": "django_redis.client.HerdClient"},
                }
            },
            JWT_COOKIE_AUTH={"LOCAL_REVOCATION_CACHE": True},
        ),
    ],
    "E167": [
        jwt_config(LOCAL_REVOCATION_CACHE_MAX_SILENCE=0.25),
        jwt_config(LOCAL_REVOCATION_CACHE_MAX_SILENCE=timedelta(milliseconds=5)),
        jwt_config(LOCAL_REVOCATION_CACHE_MAX_SILENCE=timedelta(seconds=6)),
    ],
    "E168": [
        jwt_config(LOCAL_REVOCATION_CACHE_SIZE=0),
        jwt_config(LOCAL_REVOCATION_CACHE_MAX_BYTES="4M"),
    ],
    # Django's RedisCache (SHARED_CACHES) sends no WAIT.
    "W150": [jwt_config(REVOCATION_CACHE_MIN_REPLICAS=1)],
    "W080": [sound(CACHES=DUMMY_CACHES), sound(CACHES=DUMMY_CACHES, DEBUG=True)],
    "W081": [
        sound(CACHES={"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache"}}),
        sound(
            CACHES={
                "default": {
                    "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                    "LOCATION": "/tmp/jwt-cache",
                }
            }
        ),
    ],
    # Issue 9 item 6: the left-most X-Forwarded-For entry, written by the client, was used.
    "W090": [
        jwt_config(CLIENT_IP_HEADER="HTTP_X_FORWARDED_FOR"),
        jwt_config(CLIENT_IP_HEADER="HTTP_X_REAL_IP"),
    ],
    "W091": [jwt_config(NUM_PROXIES=1), jwt_config(TRUSTED_PROXIES=["10.0.0.0/8"])],
    # Issue 10 items 5 and 6: extension points named by dotted paths, cookie size.
    "E110": [
        jwt_config(CUSTOM_CLAIMS="tests.hooks.no_such_function"),
        jwt_config(CUSTOM_CLAIMS="tests.hooks.NOT_CALLABLE"),
        jwt_config(CUSTOM_CLAIMS=42),
    ],
    "E111": [
        jwt_config(LOGIN_SERIALIZER="tests.no_such_module.Serializer"),
        jwt_config(LOGIN_SERIALIZER="tests.hooks.greeting_body"),
        jwt_config(LOGIN_SERIALIZER=None),
    ],
    "E112": [
        jwt_config(LOGIN_RESPONSE_BODY="tests.hooks.missing"),
        jwt_config(LOGIN_RESPONSE_BODY="tests.hooks.NOT_CALLABLE"),
    ],
    # The access cookie cannot fit before any custom claim: no login could work.
    "E113": [jwt_config(ISSUER="https://" + "i" * 4000), jwt_config(ACCESS_COOKIE_NAME="a" * 3900)],
    "E115": [jwt_config(STEP_UP_MAX_AGE=timedelta(0)), jwt_config(STEP_UP_MAX_AGE=300)],
    "W115": [jwt_config(STEP_UP_MAX_AGE=timedelta(days=14))],
    # Issue 11: CHIPS Partitioned cookies (tests/test_partitioned_cookies.py).
    "E120": [jwt_config(COOKIE_PARTITIONED="yes"), jwt_config(COOKIE_PARTITIONED=1)],
    "E121": [
        partitioned({"COOKIE_SAMESITE": "Lax"}),
        partitioned({"COOKIE_SECURE": False, "COOKIE_NAME_PREFIX": ""}, DEBUG=True),
    ],
    "E122": [partitioned(MIDDLEWARE=settings.MIDDLEWARE)],
    "E123": [
        partitioned(CSRF_USE_SESSIONS=True),
        partitioned(CSRF_COOKIE_SECURE=False),
        partitioned(CSRF_COOKIE_SAMESITE="Lax"),
    ],
}

# Configurations one step from a bad one that must not fire that check.
NEAR_MISSES: list[tuple[str, dict[str, Any]]] = [
    ("E005", jwt_config(ACCESS_TOKEN_LIFETIME=timedelta(hours=23, minutes=59))),
    ("E011", jwt_config(COOKIE_SAMESITE="None")),
    (
        "W003",
        sound(
            JWT_COOKIE_AUTH={"COOKIE_SAMESITE": "None"},
            CSRF_COOKIE_SAMESITE="None",
            CSRF_COOKIE_SECURE=True,
        ),
    ),
    ("E013", jwt_config(ACCESS_COOKIE_NAME="__Host-access", REFRESH_COOKIE_NAME="__Host-refresh")),
    (
        "E014",
        jwt_config(ACCESS_COOKIE_NAME="__Secure-access", REFRESH_COOKIE_NAME="__Secure-refresh"),
    ),
    ("E021", jwt_config(SIGNING_KEY="x" * 32)),
    ("W015", jwt_config(COOKIE_DOMAIN=".example.com", REFRESH_COOKIE_PATH="/auth/")),
    ("W015", jwt_config(COOKIE_NAME_PREFIX="auto", COOKIE_SECURE=True)),
    ("E050", jwt_config(REFRESH_COOKIE_PATH="/auth/", AUTO_REFRESH=False)),
    ("E051", jwt_config(REFRESH_COOKIE_PATH="/auth/", AUTO_REFRESH=False)),
    ("E051", jwt_config(REFRESH_COOKIE_PATH="/auth", AUTO_REFRESH=False)),
    ("E052", jwt_config(REFRESH_COOKIE_PATH="/auth/", AUTO_REFRESH=False)),
    ("E053", jwt_config(REFRESH_COOKIE_PATH="/auth/", AUTO_REFRESH=False)),
    ("E090", jwt_config(CLIENT_IP_HEADER="HTTP_X_FORWARDED_FOR", NUM_PROXIES=0)),
    (
        "E091",
        jwt_config(CLIENT_IP_HEADER="HTTP_X_FORWARDED_FOR", TRUSTED_PROXIES=["10.0.0.1/8", "::1"]),
    ),
    ("E093", jwt_config(CLIENT_IP_HEADER="REMOTE_ADDR")),
    ("W090", jwt_config(CLIENT_IP_HEADER="HTTP_X_FORWARDED_FOR", NUM_PROXIES=2)),
    ("W091", jwt_config(CLIENT_IP_HEADER="HTTP_X_FORWARDED_FOR", TRUSTED_PROXIES=["10.0.0.0/8"])),
    ("E110", jwt_config(CUSTOM_CLAIMS="tests.hooks.role_claims")),
    ("E111", jwt_config(LOGIN_SERIALIZER="tests.serializers.CaptchaLoginSerializer")),
    ("E112", jwt_config(LOGIN_RESPONSE_BODY="tests.hooks.greeting_body")),
    ("E113", jwt_config(ISSUER="https://" + "i" * 2000)),
    ("E115", jwt_config(STEP_UP_MAX_AGE=timedelta(seconds=1))),
    ("W115", jwt_config(STEP_UP_MAX_AGE=timedelta(days=13))),
    ("W004", sound(JWT_COOKIE_AUTH={"COOKIE_SECURE": False}, DEBUG=True)),
    ("W005", sound(MIDDLEWARE=middleware_without(JWT_MW), JWT_COOKIE_AUTH={"AUTO_REFRESH": False})),
    ("W006", sound(CACHES=LOCMEM_CACHES, DEBUG=True)),
    ("E150", jwt_config(REVOCATION_CACHE_MIN_REPLICAS=0)),
    ("E151", jwt_config(REVOCATION_CACHE_REPLICA_TIMEOUT=timedelta(seconds=10))),
    ("W150", jwt_config(REVOCATION_CACHE_MIN_REPLICAS="connected")),
    ("E160", jwt_config(VERIFIED_TOKEN_CACHE_SIZE=0)),
    (
        "E165",
        sound(
            CACHES={
                "default": {
                    "BACKEND": "django_redis.cache.RedisCache",
                    "LOCATION": "redis://127.0.0.1:6379/0",
                }
            },
            JWT_COOKIE_AUTH={"LOCAL_REVOCATION_CACHE": True},
        ),
    ),
    ("E167", jwt_config(LOCAL_REVOCATION_CACHE_MAX_SILENCE=timedelta(seconds=5))),
    ("E160", jwt_config(VERIFIED_TOKEN_CACHE_SIZE=1_000_000)),
    (
        "W150",
        sound(
            CACHES={"default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": "x"}},
            JWT_COOKIE_AUTH={"REVOCATION_CACHE_MIN_REPLICAS": 2},
        ),
    ),
    (
        "E080",
        jwt_config(LOGIN_THROTTLE_RATES={"ip": None, "username": "5/minute", "device": "1/s"}),
    ),
    ("E081", jwt_config(DEVICE_COOKIE_NAME="__Host-jwt_device")),
    (
        "W080",
        sound(
            CACHES=DUMMY_CACHES,
            JWT_COOKIE_AUTH={
                "LOGIN_THROTTLE_RATES": {"ip": None, "username": None, "device": None}
            },
        ),
    ),
    ("W081", sound(CACHES=LOCMEM_CACHES)),
    ("E085", jwt_config(LOGIN_THROTTLE_IPV6_PREFIX_LENGTH=128)),
    ("W085", jwt_config(LOGIN_THROTTLE_IPV6_PREFIX_LENGTH=56)),
    ("W016", jwt_config(COOKIE_NAME_PREFIX="", COOKIE_DOMAIN=".example.com")),
    ("W001", jwt_config(LEEWAY=timedelta(seconds=30))),
    ("W002", jwt_config(ACCESS_TOKEN_LIFETIME=timedelta(minutes=15))),
]


def ids_in_source() -> dict[str, set[str]]:
    """Map each check id in checks.py to the check functions that can emit it."""
    tree = ast.parse(CHECKS_SOURCE.read_text())
    owners: dict[str, set[str]] = defaultdict(set)
    levels = {"_error": "E", "_warning": "W"}
    for function in tree.body:
        if not isinstance(function, ast.FunctionDef) or function.name in levels:
            continue
        for node in ast.walk(function):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in levels
            ):
                number = node.args[0]
                assert isinstance(number, ast.Constant), ast.dump(node)
                owners[f"jwt_cookie_auth.{levels[node.func.id]}{number.value:03d}"].add(
                    function.name
                )
    return dict(owners)


def test_each_id_belongs_to_one_check() -> None:
    """Ids are well formed and unique: no id is shared by two different checks."""
    owners = ids_in_source()
    assert len(owners) >= 25
    for check_id, functions in owners.items():
        assert ID_PATTERN.match(check_id), check_id
        assert len(functions) == 1, (check_id, functions)


def test_every_check_id_is_covered() -> None:
    """Every id in checks.py has a bad configuration below, and no unknown id is expected."""
    assert set(BAD_CONFIGS) == {i.removeprefix("jwt_cookie_auth.") for i in ids_in_source()}


def test_sound_configuration_passes_every_check() -> None:
    """The defaults with a shared cache raise nothing at all."""
    assert run(sound()) == []


def test_test_settings_only_warn_about_the_local_memory_cache() -> None:
    """The suite's own settings: only W006 when the cache is local memory, else nothing."""
    expected = set() if "redis" in settings.CACHES["default"]["BACKEND"].lower() else {"W006"}
    with override_settings(DEBUG=False):
        every = checks.run_checks(tags=[checks.Tags.security])
        messages = [m for m in every if str(m.id).startswith("jwt_cookie_auth.")]
    assert {str(m.id).removeprefix("jwt_cookie_auth.") for m in messages} == expected


@pytest.mark.parametrize(
    ("check_id", "config"),
    [
        pytest.param(check_id, config, id=f"{check_id}-{n}")
        for check_id, configs in BAD_CONFIGS.items()
        for n, config in enumerate(configs)
    ],
)
def test_check_fires_for_its_bad_configuration(check_id: str, config: dict[str, Any]) -> None:
    """The bad configuration yields its id, with a hint and the right level."""
    messages = [m for m in run(config) if m.id == f"jwt_cookie_auth.{check_id}"]
    assert messages, fired(config)
    for message in messages:
        assert message.hint
        assert message.msg
        level = checks.ERROR if check_id.startswith("E") else checks.WARNING
        assert message.level == level


@pytest.mark.parametrize(
    ("check_id", "config"),
    [pytest.param(check_id, config, id=check_id) for check_id, config in NEAR_MISSES],
)
def test_check_is_silent_for_a_near_miss(check_id: str, config: dict[str, Any]) -> None:
    """One step from the bad configuration, the check stays quiet."""
    assert f"jwt_cookie_auth.{check_id}" not in fired(config)


def test_asymmetric_algorithm_with_a_signing_key_passes() -> None:
    """E023 fires only when the key is missing or unusable."""
    pem = ed25519_pem()
    assert fired(jwt_config(ALGORITHM="EdDSA", SIGNING_KEY=pem)) == set()
    assert "jwt_cookie_auth.E023" in fired(jwt_config(ALGORITHM="RS256", SIGNING_KEY=pem))


def test_unknown_key_names_the_typo() -> None:
    """E002 names the misspelled key so it can be found."""
    messages = run(jwt_config(ACCES_TOKEN_LIFETIME=timedelta(minutes=5)))
    e002 = [m for m in messages if m.id == "jwt_cookie_auth.E002"]
    assert len(e002) == 1
    assert "ACCES_TOKEN_LIFETIME" in e002[0].msg


def test_check_command_runs_the_checks(db: None) -> None:
    """``manage.py check`` fails on an error and reports a warning without failing.

    ``db``: the whole check run includes model checks, and on Django 6.1 a JSONField's
    check asks the SQLite connection for its features.
    """
    with (
        override_settings(**jwt_config(COOKIE_SAMESITE="None", COOKIE_SECURE=False)),
        pytest.raises(SystemCheckError, match=r"jwt_cookie_auth\.E011"),
    ):
        call_command("check")
    with override_settings(**sound(CACHES=LOCMEM_CACHES)):
        stdout, stderr = io.StringIO(), io.StringIO()
        call_command("check", stdout=stdout, stderr=stderr)
        assert "jwt_cookie_auth.W006" in stderr.getvalue()
    with override_settings(**sound()):
        stdout, stderr = io.StringIO(), io.StringIO()
        call_command("check", stdout=stdout, stderr=stderr)
        assert "jwt_cookie_auth" not in stdout.getvalue() + stderr.getvalue()
