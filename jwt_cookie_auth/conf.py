"""Settings for jwt_cookie_auth, read lazily from the ``JWT_COOKIE_AUTH`` dict.

Nothing here is read at import time: every attribute looks at ``django.conf.settings``
when it is used, and derived values (keys, decoders) are cached until Django's
``setting_changed`` signal says the dict, ``SECRET_KEY`` or its fallbacks changed, so
``override_settings`` works in tests.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings as django_settings
from django.core.signals import setting_changed
from django.dispatch import receiver

DEFAULTS: dict[str, Any] = {
    # Lifetimes (see the README for the reasoning behind each default).
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=5),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=1),
    "SESSION_MAX_LIFETIME": timedelta(days=14),
    "ROTATION_GRACE_PERIOD": timedelta(seconds=15),
    "LEEWAY": timedelta(seconds=10),
    # Cookies.
    "ACCESS_COOKIE_NAME": "jwt_access",
    "REFRESH_COOKIE_NAME": "jwt_refresh",
    "COOKIE_SECURE": True,
    "COOKIE_SAMESITE": "Lax",
    "COOKIE_DOMAIN": None,
    "ACCESS_COOKIE_PATH": "/",
    "REFRESH_COOKIE_PATH": "/",
    # "auto": __Host-/__Secure- before the names wherever allowed (cookie_names.py).
    "COOKIE_NAME_PREFIX": "auto",
    # CHIPS: the Partitioned attribute on every cookie the package sets and deletes
    # (partitioned.py), for an app embedded in another site's page.
    "COOKIE_PARTITIONED": False,
    # Signing.
    "ALGORITHM": "HS256",
    "SIGNING_KEY": None,
    "VERIFYING_KEY": None,
    "KEY_ID": None,
    "OLD_VERIFYING_KEYS": [],
    "ISSUER": None,
    "AUDIENCE": None,
    # Revocation store.
    "CACHE_ALIAS": "default",
    "REVOCATION_CACHE_TIMEOUT": timedelta(seconds=60),
    # Redis replicas that must hold a revocation's markers before it returns (WAIT):
    # "connected" (every replica connected then) or a number; 0 waits for none
    # (cache_primary.py).
    "REVOCATION_CACHE_MIN_REPLICAS": "connected",
    "REVOCATION_CACHE_REPLICA_TIMEOUT": timedelta(milliseconds=500),
    "CACHE_USERS": False,
    "USER_CACHE_TIMEOUT": timedelta(minutes=5),
    # A per-process copy of the revocation markers kept honest by Redis CLIENT
    # TRACKING, trusted only while Redis has answered within MAX_SILENCE; entries and
    # bytes of keys and values per process (local_revocation.py).
    # None: on where the cache can serve it (django-redis DefaultClient, hiredis).
    "LOCAL_REVOCATION_CACHE": None,
    "LOCAL_REVOCATION_CACHE_MAX_SILENCE": timedelta(milliseconds=250),
    "LOCAL_REVOCATION_CACHE_SIZE": 10_000,
    "LOCAL_REVOCATION_CACHE_MAX_BYTES": 4 * 1024 * 1024,
    # Verified access tokens kept per process (token string -> claims), so a token seen
    # before skips the signature check; 0 disables (verified_tokens.py).
    "VERIFIED_TOKEN_CACHE_SIZE": 1024,
    # Behaviour.
    "AUTO_REFRESH": True,
    "TOKENS_IN_BODY": False,
    # django.contrib.auth.login() (the admin's, allauth's) also starts a JWT session
    # and sets the token cookies (django_sessions.py).
    "DJANGO_LOGIN_STARTS_JWT_SESSION": False,
    # Failed logins per window; "device": per device cookie, "known_devices": all device
    # cookies of one username together (throttling.py, devices.py).
    "LOGIN_THROTTLE_RATES": {
        "ip": "20/min",
        "username": "5/min",
        "device": "5/min",
        "known_devices": "10/min",
    },
    # The per-IP bucket counts an IPv6 client by this prefix (one client holds a /64).
    "LOGIN_THROTTLE_IPV6_PREFIX_LENGTH": 64,
    "DEVICE_COOKIE_NAME": "jwt_device",
    "DEVICE_COOKIE_MAX_AGE": timedelta(days=365),
    "CLIENT_IP_HEADER": None,
    # Which forwarding entries to believe (client_ip.py); neither: one proxy.
    "NUM_PROXIES": None,
    "TRUSTED_PROXIES": [],
    "USER_SERIALIZER": "jwt_cookie_auth.serializers.UserSerializer",
    # Step-up (step_up.py): how recent an authentication RecentAuthentication demands.
    "STEP_UP_MAX_AGE": timedelta(minutes=5),
    # Extension points (custom_claims.py, serializers.py): dotted paths.
    "CUSTOM_CLAIMS": None,
    "LOGIN_SERIALIZER": "jwt_cookie_auth.serializers.LoginSerializer",
    "LOGIN_RESPONSE_BODY": None,
}

# A token longer than this is rejected before any parsing: bounded work for hostile
# input (browsers drop cookies over 4096 bytes anyway).
MAX_TOKEN_LENGTH = 4096


class Settings:
    """Typed, lazy view of ``settings.JWT_COOKIE_AUTH`` merged over ``DEFAULTS``."""

    def __init__(self) -> None:
        self._merged: dict[str, Any] | None = None

    @property
    def user_settings(self) -> dict[str, Any]:
        value = getattr(django_settings, "JWT_COOKIE_AUTH", None) or {}
        # A non-dict is reported by check E001; crashing here would hide that report.
        return dict(value) if isinstance(value, dict) else {}

    def _get(self, name: str) -> Any:
        if self._merged is None:
            self._merged = {**DEFAULTS, **self.user_settings}
        return self._merged[name]

    def reload(self) -> None:
        """Forget every cached value; the next access reads settings again."""
        self._merged = None
        # Late import: keys.py depends on this module.
        from jwt_cookie_auth import keys

        keys.clear_cache()

    @property
    def ACCESS_TOKEN_LIFETIME(self) -> timedelta:
        return self._get("ACCESS_TOKEN_LIFETIME")  # type: ignore[no-any-return]

    @property
    def REFRESH_TOKEN_LIFETIME(self) -> timedelta:
        return self._get("REFRESH_TOKEN_LIFETIME")  # type: ignore[no-any-return]

    @property
    def SESSION_MAX_LIFETIME(self) -> timedelta:
        return self._get("SESSION_MAX_LIFETIME")  # type: ignore[no-any-return]

    @property
    def ROTATION_GRACE_PERIOD(self) -> timedelta:
        return self._get("ROTATION_GRACE_PERIOD")  # type: ignore[no-any-return]

    @property
    def LEEWAY(self) -> timedelta:
        return self._get("LEEWAY")  # type: ignore[no-any-return]

    @property
    def ACCESS_COOKIE_NAME(self) -> str:
        return self._get("ACCESS_COOKIE_NAME")  # type: ignore[no-any-return]

    @property
    def REFRESH_COOKIE_NAME(self) -> str:
        return self._get("REFRESH_COOKIE_NAME")  # type: ignore[no-any-return]

    @property
    def COOKIE_SECURE(self) -> bool:
        return self._get("COOKIE_SECURE")  # type: ignore[no-any-return]

    @property
    def COOKIE_SAMESITE(self) -> str:
        return self._get("COOKIE_SAMESITE")  # type: ignore[no-any-return]

    @property
    def COOKIE_DOMAIN(self) -> str | None:
        return self._get("COOKIE_DOMAIN")  # type: ignore[no-any-return]

    @property
    def ACCESS_COOKIE_PATH(self) -> str:
        return self._get("ACCESS_COOKIE_PATH")  # type: ignore[no-any-return]

    @property
    def REFRESH_COOKIE_PATH(self) -> str:
        return self._get("REFRESH_COOKIE_PATH")  # type: ignore[no-any-return]

    @property
    def COOKIE_NAME_PREFIX(self) -> str:
        return self._get("COOKIE_NAME_PREFIX")  # type: ignore[no-any-return]

    @property
    def COOKIE_PARTITIONED(self) -> bool:
        return self._get("COOKIE_PARTITIONED")  # type: ignore[no-any-return]

    @property
    def ALGORITHM(self) -> str:
        return self._get("ALGORITHM")  # type: ignore[no-any-return]

    @property
    def SIGNING_KEY(self) -> str | bytes | None:
        return self._get("SIGNING_KEY")  # type: ignore[no-any-return]

    @property
    def VERIFYING_KEY(self) -> str | bytes | None:
        return self._get("VERIFYING_KEY")  # type: ignore[no-any-return]

    @property
    def KEY_ID(self) -> str | None:
        return self._get("KEY_ID")  # type: ignore[no-any-return]

    @property
    def OLD_VERIFYING_KEYS(self) -> list[Any]:
        return list(self._get("OLD_VERIFYING_KEYS") or [])

    @property
    def ISSUER(self) -> str | None:
        return self._get("ISSUER")  # type: ignore[no-any-return]

    @property
    def AUDIENCE(self) -> str | None:
        return self._get("AUDIENCE")  # type: ignore[no-any-return]

    @property
    def CACHE_ALIAS(self) -> str:
        return self._get("CACHE_ALIAS")  # type: ignore[no-any-return]

    @property
    def REVOCATION_CACHE_TIMEOUT(self) -> timedelta:
        return self._get("REVOCATION_CACHE_TIMEOUT")  # type: ignore[no-any-return]

    @property
    def REVOCATION_CACHE_MIN_REPLICAS(self) -> int | str:
        return self._get("REVOCATION_CACHE_MIN_REPLICAS")  # type: ignore[no-any-return]

    @property
    def REVOCATION_CACHE_REPLICA_TIMEOUT(self) -> timedelta:
        return self._get("REVOCATION_CACHE_REPLICA_TIMEOUT")  # type: ignore[no-any-return]

    @property
    def CACHE_USERS(self) -> bool:
        return self._get("CACHE_USERS")  # type: ignore[no-any-return]

    @property
    def VERIFIED_TOKEN_CACHE_SIZE(self) -> int:
        return self._get("VERIFIED_TOKEN_CACHE_SIZE")  # type: ignore[no-any-return]

    @property
    def LOCAL_REVOCATION_CACHE(self) -> bool | None:
        return self._get("LOCAL_REVOCATION_CACHE")  # type: ignore[no-any-return]

    @property
    def LOCAL_REVOCATION_CACHE_MAX_SILENCE(self) -> timedelta:
        return self._get("LOCAL_REVOCATION_CACHE_MAX_SILENCE")  # type: ignore[no-any-return]

    @property
    def LOCAL_REVOCATION_CACHE_SIZE(self) -> int:
        return self._get("LOCAL_REVOCATION_CACHE_SIZE")  # type: ignore[no-any-return]

    @property
    def LOCAL_REVOCATION_CACHE_MAX_BYTES(self) -> int:
        return self._get("LOCAL_REVOCATION_CACHE_MAX_BYTES")  # type: ignore[no-any-return]

    @property
    def USER_CACHE_TIMEOUT(self) -> timedelta:
        return self._get("USER_CACHE_TIMEOUT")  # type: ignore[no-any-return]

    @property
    def AUTO_REFRESH(self) -> bool:
        return self._get("AUTO_REFRESH")  # type: ignore[no-any-return]

    @property
    def TOKENS_IN_BODY(self) -> bool:
        return self._get("TOKENS_IN_BODY")  # type: ignore[no-any-return]

    @property
    def DJANGO_LOGIN_STARTS_JWT_SESSION(self) -> bool:
        return self._get("DJANGO_LOGIN_STARTS_JWT_SESSION")  # type: ignore[no-any-return]

    @property
    def LOGIN_THROTTLE_RATES(self) -> dict[str, str | None]:
        # A scope left out keeps its default: only an explicit None turns one off.
        value = self._get("LOGIN_THROTTLE_RATES")
        return {**DEFAULTS["LOGIN_THROTTLE_RATES"], **(value if isinstance(value, dict) else {})}

    @property
    def LOGIN_THROTTLE_IPV6_PREFIX_LENGTH(self) -> int:
        return self._get("LOGIN_THROTTLE_IPV6_PREFIX_LENGTH")  # type: ignore[no-any-return]

    @property
    def DEVICE_COOKIE_NAME(self) -> str:
        return self._get("DEVICE_COOKIE_NAME")  # type: ignore[no-any-return]

    @property
    def DEVICE_COOKIE_MAX_AGE(self) -> timedelta:
        return self._get("DEVICE_COOKIE_MAX_AGE")  # type: ignore[no-any-return]

    @property
    def CLIENT_IP_HEADER(self) -> str | None:
        return self._get("CLIENT_IP_HEADER")  # type: ignore[no-any-return]

    @property
    def NUM_PROXIES(self) -> int | None:
        return self._get("NUM_PROXIES")  # type: ignore[no-any-return]

    @property
    def TRUSTED_PROXIES(self) -> list[str]:
        return self._get("TRUSTED_PROXIES")  # type: ignore[no-any-return]

    @property
    def USER_SERIALIZER(self) -> str:
        return self._get("USER_SERIALIZER")  # type: ignore[no-any-return]

    @property
    def STEP_UP_MAX_AGE(self) -> timedelta:
        return self._get("STEP_UP_MAX_AGE")  # type: ignore[no-any-return]

    @property
    def CUSTOM_CLAIMS(self) -> str | None:
        return self._get("CUSTOM_CLAIMS")  # type: ignore[no-any-return]

    @property
    def LOGIN_SERIALIZER(self) -> str:
        return self._get("LOGIN_SERIALIZER")  # type: ignore[no-any-return]

    @property
    def LOGIN_RESPONSE_BODY(self) -> str | None:
        return self._get("LOGIN_RESPONSE_BODY")  # type: ignore[no-any-return]


app_settings = Settings()


@receiver(setting_changed)
def _reload_app_settings(*, setting: str, **kwargs: Any) -> None:
    if setting in {"JWT_COOKIE_AUTH", "SECRET_KEY", "SECRET_KEY_FALLBACKS"}:
        app_settings.reload()
