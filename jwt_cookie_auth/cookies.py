"""Set and delete the token cookies.

Mirrors ``django.contrib.sessions.middleware``: every cookie is HttpOnly, carries the
configured Secure, SameSite, Domain and Path, and is deleted with exactly the same
attributes (a cookie deleted with another path or domain silently survives). Max-Age
never exceeds the token's own expiry. Responses that carry tokens are marked
``Cache-Control: no-store`` and ``Vary: Cookie``.
"""

from __future__ import annotations

from datetime import datetime

from django.http import HttpResponseBase
from django.utils.cache import patch_cache_control, patch_vary_headers

from jwt_cookie_auth import clock
from jwt_cookie_auth.conf import app_settings
from jwt_cookie_auth.issuing import IssuedTokens

EXPIRED = "Thu, 01 Jan 1970 00:00:00 GMT"


def mark_private(response: HttpResponseBase) -> None:
    """Keep auth responses out of every cache, shared or not."""
    patch_cache_control(response, no_store=True)
    patch_vary_headers(response, ("Cookie",))


def _set(
    response: HttpResponseBase,
    name: str,
    value: str,
    path: str,
    max_age: int | None,
    expires: str | None = None,
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        expires=expires,
        path=path,
        domain=app_settings.COOKIE_DOMAIN,
        secure=app_settings.COOKIE_SECURE,
        httponly=True,
        samesite=app_settings.COOKIE_SAMESITE,  # type: ignore[arg-type]
    )


def _max_age(expires_at: datetime) -> int:
    return max(0, int((expires_at - clock.now()).total_seconds()))


def set_token_cookies(response: HttpResponseBase, issued: IssuedTokens) -> None:
    """Put both tokens on the response; browser-session cookies unless remembered."""
    persistent = issued.persistent
    _set(
        response,
        app_settings.ACCESS_COOKIE_NAME,
        issued.access,
        app_settings.ACCESS_COOKIE_PATH,
        _max_age(issued.access_expires_at) if persistent else None,
    )
    _set(
        response,
        app_settings.REFRESH_COOKIE_NAME,
        issued.refresh,
        app_settings.REFRESH_COOKIE_PATH,
        _max_age(issued.refresh_expires_at) if persistent else None,
    )
    mark_private(response)


def delete_token_cookies(response: HttpResponseBase) -> None:
    """Expire both cookies with the attributes they were set with."""
    _set(response, app_settings.ACCESS_COOKIE_NAME, "", app_settings.ACCESS_COOKIE_PATH, 0, EXPIRED)
    _set(
        response, app_settings.REFRESH_COOKIE_NAME, "", app_settings.REFRESH_COOKIE_PATH, 0, EXPIRED
    )
    mark_private(response)


def sets_token_cookies(response: HttpResponseBase) -> bool:
    """Return whether the response already sets or deletes a token cookie."""
    names = (app_settings.ACCESS_COOKIE_NAME, app_settings.REFRESH_COOKIE_NAME)
    return any(name in response.cookies for name in names)
