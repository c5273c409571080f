"""``request_auth.resolve`` for async views and async middleware chains (ASGI).

The answer is the same ``CookieAuth``, kept under the same request attribute: a
request resolved here is never verified again by the sync path (``request.user``,
the DRF class) and the other way round, so a token is still checked once per request.

The steps are ``request_auth``'s own (``read_token_cookies``, ``access_refused``,
``without_renewal``, ``renew``); the token check is ``async_identity``'s, which
costs no thread hop with a native-async cache and ``CACHE_USERS`` (see there for
the hops each other case takes). A transparent refresh rotates the session in a
transaction, a write Django can only do synchronously: ``renew`` runs in one
``sync_to_async`` hop, CSRF check included, at most once per access-token lifetime.
"""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.http import HttpRequest

from jwt_cookie_auth import tokens
from jwt_cookie_auth.async_identity import aauthenticate_access_token, arefusal_reason
from jwt_cookie_auth.request_auth import (
    STATE_ATTR,
    CookieAuth,
    access_refused,
    read_token_cookies,
    renew,
    without_renewal,
)


async def aresolve(request: HttpRequest) -> CookieAuth:
    """Return the request's cookie authentication, computing it on first use."""
    state: CookieAuth | None = request.__dict__.get(STATE_ATTR)
    if state is None:
        state = await _aresolve(request)
        setattr(request, STATE_ATTR, state)
    return state


async def aget_claims(request: HttpRequest) -> tokens.Claims | None:
    """Return the verified access-token claims of the request's cookies, or None.

    The async form of ``request_auth.get_claims``.
    """
    return (await aresolve(request)).claims


async def _aresolve(request: HttpRequest) -> CookieAuth:
    cookies = read_token_cookies(request)
    if isinstance(cookies, CookieAuth):
        return cookies
    access, refresh = cookies
    if access:
        try:
            user, claims = await aauthenticate_access_token(access)
        except tokens.TokenExpired:
            pass
        except tokens.TokenError as exc:
            return access_refused(exc, await arefusal_reason(exc))
        else:
            return CookieAuth(user=user, claims=claims)
    answer = without_renewal(request, access, refresh)
    if answer is not None:
        return answer
    assert refresh is not None
    return await sync_to_async(renew)(request, refresh)
