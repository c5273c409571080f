"""Test helpers for projects that use jwt_cookie_auth: real logins and a movable clock.

- ``login(client, user)`` / ``logout(client)``: log a ``django.test.Client`` or DRF
  ``APIClient`` in and out through the package's own login code (session row, token
  cookies under their wire names, CSRF cookie and header).
- ``JWTTestClient`` / ``JWTAPIClient``: the same as ``client.jwt_login(user)`` and
  ``client.jwt_logout()``; ``JWTAPIClient.jwt_bearer_login(user)`` for Bearer tokens.
- ``bearer_headers(user)``: ``{"HTTP_AUTHORIZATION": "Bearer ..."}`` for any client.
- ``frozen_clock()``: hold and move the package's clock (token expiry, renewal,
  rotation grace, session expiry) without sleeping.

The pytest plugin (``jwt_cookie_auth.contrib.pytest``, registered as an entry
point) wraps these as the fixtures ``jwt_client``, ``jwt_api_client``, ``jwt_clock`` and
``jwt_bearer``. Nothing here imports pytest.

The names load on first use: pytest imports this package at start-up to load the
plugin, before Django's settings are configured, and in projects that never use it.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jwt_cookie_auth.testing.clients import JWTAPIClient, JWTClientMixin, JWTTestClient
    from jwt_cookie_auth.testing.clocks import FrozenClock, frozen_clock
    from jwt_cookie_auth.testing.logins import bearer_headers, login, logout

_MODULES = {
    "JWTAPIClient": "clients",
    "JWTClientMixin": "clients",
    "JWTTestClient": "clients",
    "FrozenClock": "clocks",
    "frozen_clock": "clocks",
    "bearer_headers": "logins",
    "login": "logins",
    "logout": "logins",
}

__all__ = [
    "FrozenClock",
    "JWTAPIClient",
    "JWTClientMixin",
    "JWTTestClient",
    "bearer_headers",
    "frozen_clock",
    "login",
    "logout",
]


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)
