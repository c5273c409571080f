"""The public login API: ``jwt_cookie_auth.login()`` and ``jwt_cookie_auth.logout()``.

What ``django.contrib.auth.login()`` / ``logout()`` are to session logins, these are to
the token cookies, for custom login flows (social login, magic links, two factors):
the caller has already authenticated the user in its own way and hands over the
response the cookies go on. The package's own login and logout views use them too.

Neither checks CSRF: they run inside the caller's view, which must be protected like
any view that changes who is logged in (Django's ``CsrfViewMiddleware`` does that for
plain views; see the README, "Custom login flows").
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from django.contrib.auth import SESSION_KEY, user_logged_in, user_logged_out
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponseBase
from django.middleware.csrf import rotate_token
from rest_framework.request import Request

from jwt_cookie_auth import db_routing, django_sessions, revocation, step_up, tokens
from jwt_cookie_auth.authentication import bearer_token
from jwt_cookie_auth.cookies import delete_token_cookies, presented_claims, set_token_cookies
from jwt_cookie_auth.issuing import IssuedTokens, start_session
from jwt_cookie_auth.models import LoginSession, RevokeReason
from jwt_cookie_auth.request_auth import LOGIN_ATTR, STATE_ATTR, CookieAuth


def http_request(request: HttpRequest | Request) -> HttpRequest:
    """Return the Django ``HttpRequest`` behind a DRF ``Request`` (or the request itself)."""
    return request._request if isinstance(request, Request) else request


def request_session_ids(request: HttpRequest | Request, *, bearer: bool = True) -> set[str]:
    """Return the ids of the sessions this request holds tokens of, expired or not.

    Every correctly signed value of both token cookies counts, not only Django's last
    one: with a same-named cookie planted by a sibling subdomain, both sessions end, so
    replacing or deleting the victim's cookies cannot leave the planted one in charge.
    With ``bearer``, an ``Authorization: Bearer`` access token counts too.
    """
    request = http_request(request)
    session_ids = {claims.sid for claims in presented_claims(request)}
    token = bearer_token(request) if bearer else None  # type: ignore[arg-type]  # reads META only
    if token:
        with contextlib.suppress(tokens.TokenError):
            session_ids.add(tokens.decode(token, tokens.ACCESS, allow_expired=True).sid)
    return session_ids


def _set_request_user(request: HttpRequest | Request, user: Any, state: CookieAuth) -> None:
    # As django.contrib.auth.login/logout do; a DRF Request passes it on to its
    # HttpRequest. The middleware's cached answer must not contradict it either: it
    # would put renewed cookies of the old session on a response, or delete new ones.
    request.user = user
    setattr(http_request(request), STATE_ATTR, state)


def _flush_other_users_django_session(request: HttpRequest, user: Any) -> None:
    # As django.contrib.auth.login does: a browser's Django session of someone else
    # must not come back into view once this JWT session ends.
    session = getattr(request, "session", None)
    if session is None or SESSION_KEY not in session:
        return
    if session[SESSION_KEY] != user._meta.pk.value_to_string(user):
        session.flush()


def login(
    request: HttpRequest | Request,
    user: Any,
    response: HttpResponseBase,
    *,
    remember: bool = True,
    amr: Sequence[str] | None = None,
    send_signal: bool = True,
) -> IssuedTokens:
    """Start a new JWT session for ``user`` and set its cookies on ``response``.

    ``user`` must already be authenticated by the caller (a password, a social login,
    a magic link, a second factor); it must be an active, saved user, else
    ``ValueError``. ``request`` is an ``HttpRequest`` or a DRF ``Request``.

    As ``django.contrib.auth.login`` does, and for the same reasons: every session
    this browser held tokens of is revoked (reason ``superseded``: cookies planted
    before a login are never kept, so a login always starts a new token family, and
    session fixation is impossible), a Django session of another user is flushed,
    the CSRF token is rotated (a new privilege level), ``request.user`` becomes
    ``user`` and ``user_logged_in`` is sent (``send_signal=False`` when a
    ``django.contrib.auth.login()`` of the same request sent it already).

    ``remember=False`` gives browser-session cookies. ``amr``: how the user
    authenticated (RFC 8176 values such as ``"pwd"``, ``"otp"``, ``"mfa"``), recorded
    with ``auth_time`` for step-up checks (``step_up.py``); ``ValueError`` if
    malformed, before anything changed.

    Returns the new session and its tokens (``IssuedTokens``: ``session``,
    ``access``, ``refresh`` and their expiry times), e.g. for a response body.
    ``cookie_size.CookieTooLarge`` when custom claims make a token too large for its
    cookie (browsers would drop it silently).
    """
    if user is None or getattr(user, "pk", None) is None or not user.is_authenticated:
        raise ValueError("jwt_cookie_auth.login() needs a saved, authenticated user.")
    if not getattr(user, "is_active", True):
        # Its tokens would be refused on first use (CVE-2024-22513): fail loudly.
        raise ValueError("jwt_cookie_auth.login() refuses an inactive user.")
    methods = step_up.normalize_amr(amr)  # ValueError before anything is revoked
    django_request = http_request(request)
    previous: IssuedTokens | None = getattr(django_request, LOGIN_ATTR, None)
    replaced = request_session_ids(django_request, bearer=False)
    if previous is not None:
        # A second login on one request: the first one's cookies never reach a browser.
        replaced.add(str(previous.session.pk))
    for session_id in replaced:
        revocation.revoke_session(session_id, RevokeReason.SUPERSEDED, django_request)
    _flush_other_users_django_session(django_request, user)
    issued = start_session(django_request, user, persistent=remember, amr=methods)
    # Marks the request for django_sessions' receivers: the cookies are handled here.
    setattr(django_request, LOGIN_ATTR, issued)
    _set_request_user(request, user, CookieAuth(user=user, claims=issued.access_claims))
    if send_signal:
        user_logged_in.send(sender=user.__class__, request=django_request, user=user)
    # This response writes new cookies: any deletion asked for earlier on this request
    # (Django's logout() of another user, say) is superseded.
    django_request.__dict__.pop(django_sessions.ENDED_ATTR, None)
    # A new privilege level gets a new CSRF token, as django.contrib.auth.login does.
    rotate_token(django_request)
    set_token_cookies(response, issued)
    return issued


def _end_sessions(request: HttpRequest, session_ids: Iterable[str]) -> list[Any]:
    """Revoke these sessions; return the users of those that were live."""
    users = []
    for session_id in session_ids:
        try:
            pk = uuid.UUID(session_id)
        except ValueError:
            continue
        # From the primary: a replica that has not seen a fresh login's row would make
        # this logout end nothing (db_routing).
        session = db_routing.on_primary(LoginSession).select_related("user").filter(pk=pk).first()
        if session is None:
            continue
        if revocation.revoke_session(pk, RevokeReason.LOGOUT, request):
            users.append(session.user)
    return users


def logout(request: HttpRequest | Request, response: HttpResponseBase) -> bool:
    """End the request's JWT session and delete the token cookies on ``response``.

    The session of every token the request carries ends: both cookies (every value of
    each) and an ``Authorization: Bearer`` access token, expired or not, so its
    access token dies at once. The browser's Django session is flushed too, so plain
    views do not go on seeing the user through a leftover ``sessionid``;
    ``request.user`` becomes anonymous, and ``user_logged_out`` is sent once per
    session that was live. Idempotent: with no or dead tokens it only deletes the
    cookies. Returns whether a live session ended.
    """
    django_request = http_request(request)
    session_ids = request_session_ids(django_request)
    # Also marks the request: the user_logged_out below must not come back through
    # django_sessions.on_user_logged_out.
    django_sessions.end_browser_session(django_request)
    users = _end_sessions(django_request, session_ids)
    _set_request_user(request, AnonymousUser(), CookieAuth(clear_cookies=True))
    for user in users:
        user_logged_out.send(sender=user.__class__, request=django_request, user=user)
    delete_token_cookies(response)
    return bool(users)
