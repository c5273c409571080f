"""Project claims in access tokens (``CUSTOM_CLAIMS``).

``CUSTOM_CLAIMS`` names a callable ``(user, session, request) -> dict``: ``user`` is the
user as the database holds it now, ``session`` the ``LoginSession`` being issued for,
``request`` the ``HttpRequest`` of the login or refresh. Its result is signed into
every **access** token: at login, at each refresh (the ``refresh`` view, the
middleware's transparent renewal and the rotation grace period's re-mint alike), so
a changed role reaches clients within one ``ACCESS_TOKEN_LIFETIME``. Refresh tokens
never carry them: a refresh token must stay small and, within the grace period,
re-mint to the same bytes.

Views read them from ``request.auth["role"]`` (DRF) or
``request_auth.get_claims(request)["role"]`` (plain views). They are signed, not
encrypted: anyone holding the cookie can read them, so no secrets.

Errors are configuration errors (``ImproperlyConfigured``), raised where the token is
minted and naming the claim:

- a name the package sets or interprets (``RESERVED_CLAIMS``): a project claim
  named ``sub``, ``exp`` or ``amr`` could change who the token is for, how long it
  lives or what step-up it proves;
- a result that is not a dict of str names to JSON values (NaN and Infinity are no
  JSON either, RFC 8259).

A token that would make its cookie too large is ``cookie_size.CookieTooLarge``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from django.utils.module_loading import import_string

from jwt_cookie_auth import password_binding
from jwt_cookie_auth.conf import app_settings

# Registered JWT claims (RFC 7519 §4.1) and the ones this package sets or reads:
# token_type, pwd_fp (password_binding), and the step-up claims of RFC 9470
# (auth_time, amr) with their companion acr (OpenID Connect Core §2).
RESERVED_CLAIMS = frozenset(
    {
        "iss",
        "sub",
        "aud",
        "exp",
        "nbf",
        "iat",
        "jti",
        "sid",
        "token_type",
        password_binding.CLAIM,
        "auth_time",
        "amr",
        "acr",
    }
)

ClaimsCallable = Callable[[Any, Any, HttpRequest | None], Any]


def get_callable() -> ClaimsCallable | None:
    """Return the ``CUSTOM_CLAIMS`` callable, or None when the setting is unset."""
    path = app_settings.CUSTOM_CLAIMS
    if not path:
        return None
    return import_string(path)  # type: ignore[no-any-return]


def claims_for(user: Any, session: Any, request: HttpRequest | None) -> dict[str, Any]:
    """Return the project's claims for a new access token (``{}`` when none are set).

    Raises ``ImproperlyConfigured`` naming the claim for a reserved name, a non-str
    name or a value that is not JSON.
    """
    function = get_callable()
    if function is None:
        return {}
    result = function(user, session, request)
    if not isinstance(result, dict):
        raise ImproperlyConfigured(
            f"CUSTOM_CLAIMS {app_settings.CUSTOM_CLAIMS!r} returned a "
            f"{type(result).__name__}, not a dict of claim names to values."
        )
    for name, value in result.items():
        _validate(name, value)
    return result


def _validate(name: Any, value: Any) -> None:
    origin = f"CUSTOM_CLAIMS {app_settings.CUSTOM_CLAIMS!r}"
    if not isinstance(name, str) or not name:
        raise ImproperlyConfigured(f"{origin} returned the claim name {name!r}: use a str.")
    if name in RESERVED_CLAIMS:
        raise ImproperlyConfigured(
            f"{origin} returned the reserved claim {name!r}. The package sets "
            f"{', '.join(sorted(RESERVED_CLAIMS))} itself: choose another name."
        )
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise ImproperlyConfigured(
            f"{origin} returned the claim {name!r} with a value that is not JSON "
            f"({type(value).__name__}: {exc}). Use str, int, float, bool, None, "
            "lists and dicts of them."
        ) from None


def encoded_size(claims: dict[str, Any]) -> int:
    """Return about how many bytes ``claims`` add to a token (base64url of the JSON)."""
    if not claims:
        return 0
    raw = len(json.dumps(claims, separators=(",", ":")).encode())
    return -(-raw * 4 // 3)
