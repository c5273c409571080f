"""How long a token cookie's ``Set-Cookie`` header gets, against the browsers' limit.

Browsers silently drop a cookie that is too large: RFC 6265bis §5.7 caps a cookie's
name plus value at 4096 bytes, and some browsers have counted the attributes too. A
dropped access cookie is worse than an error: the browser keeps its old cookie, the
next request renews again, and nothing says why. So a token whose cookie would not
fit is refused where it is minted (``CookieTooLarge``), counting the whole header value
(name, value and every attribute) against ``BROWSER_COOKIE_LIMIT``; the token
verifier's own bound (``MAX_TOKEN_LENGTH``) is then never reached either.

The attributes are the ones ``cookies.py`` sets, measured in their longest form (a
persistent cookie, ``Expires`` and ``Max-Age`` included), once per settings value.
Pure: settings in, lengths out; no request or response.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import SimpleCookie

from jwt_cookie_auth import cookie_names
from jwt_cookie_auth.conf import app_settings

BROWSER_COOKIE_LIMIT = 4096
# The shape of every Expires value Django writes (http_date): always 29 characters.
_EXPIRES_SAMPLE = "Thu, 01 Jan 1970 00:00:00 GMT"

_overheads: dict[str, int] = {}


@receiver(setting_changed)
def _forget(*, setting: str, **kwargs: Any) -> None:
    if setting == "JWT_COOKIE_AUTH":
        _overheads.clear()


class CookieTooLarge(ImproperlyConfigured):
    """A token would not fit in its cookie; browsers would drop it without a word."""


def _measure(name: str, path: str) -> int:
    cookie: SimpleCookie = SimpleCookie()
    cookie[name] = ""
    morsel = cookie[name]
    # Max-Age never exceeds the session's lifetime: its digits are the most it takes.
    morsel["max-age"] = int(app_settings.SESSION_MAX_LIFETIME.total_seconds())
    morsel["expires"] = _EXPIRES_SAMPLE
    morsel["path"] = path
    if app_settings.COOKIE_DOMAIN is not None:
        morsel["domain"] = app_settings.COOKIE_DOMAIN
    if app_settings.COOKIE_SECURE:
        morsel["secure"] = True
    morsel["httponly"] = True
    if app_settings.COOKIE_SAMESITE:
        morsel["samesite"] = app_settings.COOKIE_SAMESITE
    return len(morsel.OutputString())


def overhead(kind: str) -> int:
    """Return the bytes of the ``kind`` (``"access"``/``"refresh"``) cookie's header
    value besides the token: the name, ``=`` and the attributes, at their longest."""
    cached = _overheads.get(kind)
    if cached is None:
        if kind == "access":
            name, path = cookie_names.access_cookie_name(), app_settings.ACCESS_COOKIE_PATH
        else:
            name, path = cookie_names.refresh_cookie_name(), app_settings.REFRESH_COOKIE_PATH
        cached = _overheads[kind] = _measure(name, path)
    return cached


def budget(kind: str) -> int:
    """Return the longest token the ``kind`` cookie can carry, in bytes."""
    return BROWSER_COOKIE_LIMIT - overhead(kind)


def check(kind: str, token: str, *, custom_bytes: int = 0) -> None:
    """Raise ``CookieTooLarge`` if ``token`` would make its cookie exceed the limit.

    ``custom_bytes`` is how much of the token the custom claims take (for the message).
    """
    size = overhead(kind) + len(token)
    if size <= BROWSER_COOKIE_LIMIT:
        return
    because = (
        f" The custom claims (CUSTOM_CLAIMS) take about {custom_bytes} bytes of it: "
        "return fewer or shorter ones."
        if custom_bytes
        else " Shorten ISSUER, AUDIENCE, COOKIE_DOMAIN or the cookie names."
    )
    raise CookieTooLarge(
        f"The {kind} cookie would be {size} bytes (name, token and attributes), over "
        f"the browsers' {BROWSER_COOKIE_LIMIT}-byte limit: browsers would drop it.{because}"
    )
