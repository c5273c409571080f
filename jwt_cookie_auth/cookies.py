"""Set and delete the token cookies.

Mirrors ``django.contrib.sessions.middleware``: every cookie is HttpOnly, carries the
configured Secure, SameSite, Domain, Path and (``COOKIE_PARTITIONED``) Partitioned,
and is deleted with exactly the same attributes (a cookie deleted with another path
or domain silently survives). Max-Age never exceeds the token's own expiry. Responses
that carry tokens are marked ``Cache-Control: no-store`` and ``Vary: Cookie``. Names
are the effective ones of ``cookie_names`` (``__Host-jwt_access`` by default).

A token cookie name that comes more than once in the ``Cookie`` header is cookie
tossing (a sibling subdomain planted a ``Domain=<parent>`` cookie with our name):
``duplicated_token_cookies`` finds it, and the callers then neither trust nor
overwrite either cookie.
"""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest, HttpResponseBase, parse_cookie
from django.utils.cache import patch_cache_control, patch_vary_headers

from jwt_cookie_auth import clock, tokens
from jwt_cookie_auth.conf import app_settings
from jwt_cookie_auth.cookie_names import access_cookie_name, legacy_cookies, refresh_cookie_name
from jwt_cookie_auth.issuing import IssuedTokens
from jwt_cookie_auth.partitioned import partition_if_configured

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
    # Set and delete alike: a deletion without Partitioned misses a partitioned cookie.
    partition_if_configured(response, name)


def _max_age(expires_at: datetime) -> int:
    # Elapsed seconds, not a datetime difference: exact for naive local times too.
    return max(0, int(clock.seconds_until(expires_at)))


def set_token_cookies(response: HttpResponseBase, issued: IssuedTokens) -> None:
    """Put both tokens on the response; browser-session cookies unless remembered."""
    persistent = issued.persistent
    _set(
        response,
        access_cookie_name(),
        issued.access,
        app_settings.ACCESS_COOKIE_PATH,
        _max_age(issued.access_expires_at) if persistent else None,
    )
    _set(
        response,
        refresh_cookie_name(),
        issued.refresh,
        app_settings.REFRESH_COOKIE_PATH,
        _max_age(issued.refresh_expires_at) if persistent else None,
    )
    mark_private(response)


def delete_token_cookies(response: HttpResponseBase) -> None:
    """Expire both cookies with the attributes they were set with."""
    _set(response, access_cookie_name(), "", app_settings.ACCESS_COOKIE_PATH, 0, EXPIRED)
    _set(response, refresh_cookie_name(), "", app_settings.REFRESH_COOKIE_PATH, 0, EXPIRED)
    mark_private(response)


def sets_token_cookies(response: HttpResponseBase) -> bool:
    """Return whether the response already sets or deletes a token cookie."""
    names = (access_cookie_name(), refresh_cookie_name())
    return any(name in response.cookies for name in names)


def token_cookie_values(request: HttpRequest) -> dict[str, list[str]]:
    """Return every value of each token cookie name in the raw header, in order.

    ``request.COOKIES`` keeps only the last of two same-named cookies; this reads
    ``HTTP_COOKIE`` chunk by chunk with Django's own ``parse_cookie`` rules.
    """
    names = (access_cookie_name(), refresh_cookie_name())
    values: dict[str, list[str]] = {name: [] for name in names}
    for chunk in request.META.get("HTTP_COOKIE", "").split(";"):
        for key, value in parse_cookie(chunk).items():
            if key in values:
                values[key].append(value)
    return values


def presented_claims(request: HttpRequest) -> list[tokens.Claims]:
    """Return the claims of every correctly signed token cookie value, expired or not.

    Every value, not Django's last one: when a sibling subdomain planted a same-named
    cookie, the caller ends both sessions rather than leaving the planted one in
    charge. For ending sessions (logout, a new login), never for authenticating.
    """
    values = token_cookie_values(request)
    found = []
    for name, token_type in (
        (refresh_cookie_name(), tokens.REFRESH),
        (access_cookie_name(), tokens.ACCESS),
    ):
        for token in values[name]:
            try:
                found.append(tokens.decode(token, token_type, allow_expired=True))
            except tokens.TokenError:
                continue
    return found


def duplicated_token_cookies(request: HttpRequest) -> list[str]:
    """Return the token cookie names that occur more than once in the Cookie header."""
    raw = request.META.get("HTTP_COOKIE", "")
    # Hot path, one scan: as many distinct names as ";"-separated chunks means that no
    # name came twice (each chunk yields at most one name).
    if raw.count(";") + 1 == len(request.COOKIES):
        return []
    return [name for name, values in token_cookie_values(request).items() if len(values) > 1]


def delete_legacy_cookies(request: HttpRequest, response: HttpResponseBase) -> None:
    """Expire token cookies still held under their pre-prefix names (upgrade path)."""
    for name, path in legacy_cookies():
        if name in request.COOKIES and name not in response.cookies:
            _set(response, name, "", path, 0, EXPIRED)
