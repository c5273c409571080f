"""The token cookies' names on the wire: the configured names plus a browser-enforced prefix.

Cookie tossing: a sibling subdomain (or a network attacker on plain HTTP) can set a
``Domain=<parent>`` cookie with our name, and the browser then sends both. Browsers
refuse a ``__Host-`` cookie unless it is Secure, host-only (no Domain) and on Path=/,
and a ``__Secure-`` cookie unless it is Secure (RFC 6265bis §4.1.3). With
``COOKIE_NAME_PREFIX = "auto"`` (the default) the configured names get the strongest
prefix the configuration allows:

- ``__Host-`` when ``COOKIE_SECURE``, no ``COOKIE_DOMAIN`` and the cookie's path is ``/``:
  no other host can set or shadow the cookie;
- ``__Secure-`` when ``COOKIE_SECURE`` with a Domain or a narrower path: only an HTTPS
  origin can set it (a sibling subdomain over HTTPS still can);
- no prefix when ``COOKIE_SECURE`` is False (browsers refuse prefixed cookies without
  Secure) or ``COOKIE_NAME_PREFIX = ""``.

A configured name that already carries a prefix is used as it is (checks E013/E014
validate it). Every place that reads, sets or deletes a token cookie asks here.
"""

from __future__ import annotations

from typing import Any

from django.core.signals import setting_changed
from django.dispatch import receiver

from jwt_cookie_auth.conf import app_settings

AUTO = "auto"
HOST_PREFIX = "__Host-"
SECURE_PREFIX = "__Secure-"
PREFIX_CHOICES = (AUTO, "")

# The names are asked for several times per request: computed once per settings
# value, forgotten when JWT_COOKIE_AUTH changes (override_settings in tests).
_cache: dict[str, Any] = {}


@receiver(setting_changed)
def _forget_names(*, setting: str, **kwargs: Any) -> None:
    if setting == "JWT_COOKIE_AUTH":
        _cache.clear()


def has_prefix(name: str) -> bool:
    """Return whether ``name`` starts with a cookie prefix (browsers ignore case here)."""
    lowered = name.lower()
    return lowered.startswith((HOST_PREFIX.lower(), SECURE_PREFIX.lower()))


def wire_name(name: str, path: str) -> str:
    """Return the name a cookie configured as ``name`` on ``path`` is sent under."""
    if has_prefix(name) or app_settings.COOKIE_NAME_PREFIX == "" or not app_settings.COOKIE_SECURE:
        return name
    if app_settings.COOKIE_DOMAIN is None and path == "/":
        return HOST_PREFIX + name
    return SECURE_PREFIX + name


def _configured() -> tuple[tuple[str, str], tuple[str, str]]:
    return (
        (app_settings.ACCESS_COOKIE_NAME, app_settings.ACCESS_COOKIE_PATH),
        (app_settings.REFRESH_COOKIE_NAME, app_settings.REFRESH_COOKIE_PATH),
    )


def access_cookie_name() -> str:
    """Return the access cookie's effective name (``__Host-jwt_access`` by default)."""
    name: str | None = _cache.get("access")
    if name is None:
        name = _cache["access"] = wire_name(*_configured()[0])
    return name


def refresh_cookie_name() -> str:
    """Return the refresh cookie's effective name (``__Host-jwt_refresh`` by default)."""
    name: str | None = _cache.get("refresh")
    if name is None:
        name = _cache["refresh"] = wire_name(*_configured()[1])
    return name


def legacy_cookies() -> list[tuple[str, str]]:
    """Return ``(name, path)`` of configured names that now travel under a prefix.

    A browser may still hold cookies under these names from before the upgrade. They
    are never read (a sibling subdomain can plant exactly these names) and are deleted
    once, so the user logs in again.
    """
    legacy: list[tuple[str, str]] | None = _cache.get("legacy")
    if legacy is None:
        legacy = _cache["legacy"] = [
            (name, path) for name, path in _configured() if wire_name(name, path) != name
        ]
    return legacy
