"""Resolve a request's token cookies, once per request.

The middleware (for ``request.user``) and the DRF class both ask here; the answer is
kept on the ``HttpRequest`` so a token is decoded and checked only once. With
``AUTO_REFRESH``, an expired or missing access cookie next to a valid refresh cookie
is renewed here, and the middleware puts the new cookies on the response. An unsafe
request is renewed only once it has passed Django's CSRF check, so a forged one
changes nothing (no rotation, no revocation, no cookie).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

from jwt_cookie_auth import identity, refusals, rotation, tokens
from jwt_cookie_auth.conf import app_settings
from jwt_cookie_auth.cookie_names import access_cookie_name, refresh_cookie_name
from jwt_cookie_auth.cookie_size import CookieTooLarge
from jwt_cookie_auth.cookies import duplicated_token_cookies
from jwt_cookie_auth.csrf import may_change_state
from jwt_cookie_auth.identity import authenticate_access_token
from jwt_cookie_auth.issuing import IssuedTokens

logger = logging.getLogger("jwt_cookie_auth")

STATE_ATTR = "_jwt_cookie_auth_state"
# Set by the middleware: it will put renewed cookies on the response.
MIDDLEWARE_ATTR = "_jwt_cookie_auth_middleware"
# Set for the package's own auth views, which handle cookies themselves.
EXEMPT_ATTR = "_jwt_cookie_auth_exempt"
#: URL names of routes that serve those views from another router (contrib.ninja),
#: where Django resolves that router's view function, not the marked one.
EXEMPT_URL_NAMES = frozenset(
    {"jwt_cookie_auth_login", "jwt_cookie_auth_refresh", "jwt_cookie_auth_logout"}
)
# Set by jwt_cookie_auth.login() (auth_api.py) to the IssuedTokens it started: this
# request's JWT login, whose cookies that function puts on the response itself.
LOGIN_ATTR = "_jwt_cookie_auth_login"


@dataclass(frozen=True)
class CookieAuth:
    """What the token cookies of one request amount to."""

    user: Any = None
    claims: tokens.Claims | None = None
    #: Why the cookies were refused (for logs and the DRF 401), or None.
    error: str | None = None
    #: The same for the client: a ``refusals`` reason (``admin``, ``expired``, ...).
    reason: str | None = None
    #: New tokens from a transparent refresh, to set on the response.
    issued: IssuedTokens | None = None
    #: The cookies are dead: delete them from the browser.
    clear_cookies: bool = False
    #: Renewal was needed but the unsafe request failed the CSRF check (DRF: 403).
    csrf_failed: bool = False


ANONYMOUS = CookieAuth()


def auto_refresh_allowed(request: HttpRequest) -> bool:
    return (
        app_settings.AUTO_REFRESH
        and getattr(request, MIDDLEWARE_ATTR, False)
        and not getattr(request, EXEMPT_ATTR, False)
    )


def resolve(request: HttpRequest) -> CookieAuth:
    """Return the request's cookie authentication, computing it on first use."""
    state: CookieAuth | None = request.__dict__.get(STATE_ATTR)
    if state is None:
        state = _resolve(request)
        setattr(request, STATE_ATTR, state)
    return state


def get_claims(request: HttpRequest) -> tokens.Claims | None:
    """Return the verified access-token claims of the request's cookies, or None.

    Public helper for plain Django views and templates (``claims.sid`` is the
    session id, ``claims.expires_at`` the access token's expiry; ``claims["role"]``
    and ``claims.get("role")`` read a ``CUSTOM_CLAIMS`` claim).
    """
    return resolve(request).claims


def read_token_cookies(request: HttpRequest) -> tuple[str | None, str | None] | CookieAuth:
    """Return the (access, refresh) cookie values, or the final answer without them.

    Pure; shared with ``async_request_auth``.
    """
    access = request.COOKIES.get(access_cookie_name())
    refresh = request.COOKIES.get(refresh_cookie_name())
    if not access and not refresh:
        return ANONYMOUS
    duplicated = duplicated_token_cookies(request)
    if duplicated:
        # Cookie tossing: a sibling subdomain planted a same-named Domain cookie.
        # Trusting either value could make the victim act as the attacker; writing
        # (renewing or deleting) would replace the victim's host-only cookies.
        logger.warning(
            "Token cookie %s sent more than once: possible cookie tossing; "
            "treating the request as anonymous.",
            ", ".join(duplicated),
        )
        return CookieAuth(error="duplicate token cookies", reason=refusals.DUPLICATE_COOKIES)
    return access, refresh


def access_refused(exc: tokens.TokenError, reason: str) -> CookieAuth:
    """The answer for an access cookie refused with ``exc`` (not merely expired)."""
    logger.debug("Access cookie refused: %s", exc)
    return CookieAuth(error=str(exc), reason=reason, clear_cookies=True)


def without_renewal(
    request: HttpRequest, access: str | None, refresh: str | None
) -> CookieAuth | None:
    """The answer when no live access cookie came and no renewal applies, or None to renew."""
    if not refresh or not auto_refresh_allowed(request):
        if not access:
            return CookieAuth()
        return CookieAuth(error="access token expired", reason=refusals.ACCESS_EXPIRED)
    return None


def _resolve(request: HttpRequest) -> CookieAuth:
    cookies = read_token_cookies(request)
    if isinstance(cookies, CookieAuth):
        return cookies
    access, refresh = cookies
    if access:
        try:
            user, claims = authenticate_access_token(access)
        except tokens.TokenExpired:
            pass
        except tokens.TokenError as exc:
            # A query for a revoked session's reason, on this failure path only.
            return access_refused(exc, identity.refusal_reason(exc))
        else:
            return CookieAuth(user=user, claims=claims)
    answer = without_renewal(request, access, refresh)
    if answer is not None:
        return answer
    assert refresh is not None
    return renew(request, refresh)


def renew(request: HttpRequest, refresh: str) -> CookieAuth:
    """Rotate ``refresh`` for this request (CSRF-checked first); sync: a transaction."""
    if not may_change_state(request):
        # Rotation writes the session row and may revoke a family on reuse: a request
        # a cross-site page could forge changes nothing. The cookies stay as they are.
        logger.debug("Transparent refresh skipped: unsafe request failed the CSRF check")
        return CookieAuth(error="CSRF check failed", csrf_failed=True)
    try:
        issued = rotation.rotate(refresh, request)
    except rotation.RefreshRejected as exc:
        logger.debug("Transparent refresh refused: %s", exc)
        return CookieAuth(error=str(exc), reason=exc.reason, clear_cookies=True)
    except tokens.TokenError as exc:
        logger.debug("Transparent refresh refused: %s", exc)
        return CookieAuth(error=str(exc), reason=refusals.INVALID_TOKEN, clear_cookies=True)
    except CookieTooLarge as exc:
        # The rotation was rolled back: the session and its cookies stay as they are,
        # and this request goes on anonymous rather than failing (the refresh view and
        # login answer it with a 500 naming the problem).
        logger.error("Transparent refresh failed: %s", exc)
        return CookieAuth(error="token too large for its cookie", reason=refusals.ACCESS_EXPIRED)
    return CookieAuth(user=issued.session.user, claims=issued.access_claims, issued=issued)
