"""Make Django's own ``login()``/``logout()`` and the package's sessions agree.

A browser may hold two logins at once: a Django session (``sessionid``, e.g. the
admin's) and this package's token cookies. Whichever door a user goes through, the
other follows:

- ``django.contrib.auth.logout()`` (the admin's Log out, ``LogoutView``) revokes the JWT
  session(s) of the request's token cookies (``RevokeReason.SESSION_LOGOUT``) and marks
  the request, so that ``JWTCookieMiddleware`` deletes the cookies on its response (the
  ``user_logged_out`` signal has no response to write to).
- ``django.contrib.auth.login()`` in a browser whose token cookies belong to *another*
  user revokes that JWT session (``SESSION_LOGIN_OTHER_USER``) and deletes its cookies:
  the most recent login wins. Cookies of the same user are kept (same person, one
  browser). A Django login starts a JWT session only with
  ``DJANGO_LOGIN_STARTS_JWT_SESSION`` (off by default: an admin login should not hand
  the browser API cookies unasked); a flow that wants the token cookies can also call
  ``jwt_cookie_auth.login()`` itself.
- The package's ``logout`` and ``logout_all`` flush the Django session of the same
  browser (``end_browser_session``).
- Force logout, logout everywhere and the admin's session revocation end the user's
  Django sessions (all of them: a Django session carries no device identity to match
  with one JWT session) on their next request, with any session engine and without scanning
  the session table: a per-user cutoff (``DjangoSessionCutoff``; database first, then
  the cache) is compared with a login time stamped into ``request.session`` at login.
  A session with no stamp (made before this existed) counts as older than any cutoff.
  Cost: one cache ``get`` per request authenticated by a Django session (one SQL query
  on a miss, cached for ``REVOCATION_CACHE_TIMEOUT``); none for JWT or anonymous ones.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from jwt_cookie_auth import cache_primary, clock, db_routing, local_revocation, revocation
from jwt_cookie_auth.conf import app_settings
from jwt_cookie_auth.cookie_names import access_cookie_name, refresh_cookie_name
from jwt_cookie_auth.cookies import presented_claims
from jwt_cookie_auth.models import DjangoSessionCutoff, RevokeReason
from jwt_cookie_auth.request_auth import LOGIN_ATTR, STATE_ATTR, CookieAuth

logger = logging.getLogger("jwt_cookie_auth")

#: Key in ``request.session``: when the Django login happened (seconds since the epoch).
LOGIN_STAMP_KEY = "_jwt_cookie_auth_login_at"
#: Set on a request whose JWT session ended: the middleware deletes its token cookies.
ENDED_ATTR = "_jwt_cookie_auth_ended"
#: Set by the package's own logout views, which revoke and send ``user_logged_out``.
OWN_LOGOUT_ATTR = "_jwt_cookie_auth_own_logout"
CUTOFF_KEY_PREFIX = "jwt_cookie_auth:django_sessions_from:"
# Cached for "this user has no cutoff", so that the common case costs no SQL either.
NO_CUTOFF = 0.0


def _end_jwt_sessions(request: HttpRequest, sessions: Iterable[str], reason: RevokeReason) -> None:
    for sid in sessions:
        revocation.revoke_session(sid, reason, request)
    setattr(request, ENDED_ATTR, True)


def on_user_logged_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """Stamp a Django session login; end the token session of another user.

    With ``DJANGO_LOGIN_STARTS_JWT_SESSION``, a Django login also starts a JWT session
    whose cookies the middleware sets on the login view's response.
    """
    if request is None:
        return
    session: Any = getattr(request, "session", None)
    session_user = user._meta.pk.value_to_string(user)
    session_login = session is not None and session.get(SESSION_KEY) == session_user
    if session_login:
        # Only a session login: the package's own login must not create a session row.
        session[LOGIN_STAMP_KEY] = clock.timestamp(session_time())
    others = {c.sid for c in presented_claims(request) if c.sub != str(user.pk)}
    if others:
        _end_jwt_sessions(request, others, RevokeReason.SESSION_LOGIN_OTHER_USER)
    if (
        session_login
        and app_settings.DJANGO_LOGIN_STARTS_JWT_SESSION
        and getattr(request, LOGIN_ATTR, None) is None  # not the package's own login
        and getattr(user, "is_active", True)
    ):
        _start_jwt_session(request, user)


def _start_jwt_session(request: HttpRequest, user: Any) -> None:
    from jwt_cookie_auth import auth_api  # it imports this module

    # The cookies go on a throwaway response: the login view's own response is not
    # known here, so the middleware sets them from the request's state instead.
    issued = auth_api.login(request, user, HttpResponse(), send_signal=False)
    setattr(request, STATE_ATTR, CookieAuth(user=user, claims=issued.access_claims, issued=issued))


def on_user_logged_out(sender: Any, request: HttpRequest | None, **kwargs: Any) -> None:
    """End the JWT session(s) of the browser that Django's ``logout()`` logs out."""
    if request is None or getattr(request, OWN_LOGOUT_ATTR, False):
        return
    cookies = request.COOKIES
    if access_cookie_name() not in cookies and refresh_cookie_name() not in cookies:
        return
    _end_jwt_sessions(
        request, {claims.sid for claims in presented_claims(request)}, RevokeReason.SESSION_LOGOUT
    )


def end_browser_session(request: HttpRequest) -> None:
    """Flush the Django session of this browser: the package's logout views call it.

    Also marks the request so that the ``user_logged_out`` the view sends does not
    come back here through ``on_user_logged_out``.
    """
    setattr(request, OWN_LOGOUT_ATTR, True)
    session = getattr(request, "session", None)
    if session is not None:
        session.flush()


# Cutoff: "Django sessions of this user logged in before this instant are over".


def session_time() -> Any:
    """Return the real current time (the form the database stores) for stamps and cutoffs.

    Not ``clock.now()``: Django's sessions live in real time, and a test that freezes
    or advances the package's clock (``jwt_cookie_auth.testing.frozen_clock``) must
    neither give a login the same instant as a later cutoff (the session would survive
    a force logout) nor leave a cutoff in the future that ends the next test's logins.
    """
    return timezone.now()


def _cutoff_key(user_id: Any) -> str:
    return f"{CUTOFF_KEY_PREFIX}{user_id}"


def _timeout() -> int:
    return int(app_settings.REVOCATION_CACHE_TIMEOUT.total_seconds())


def end_django_sessions(user_ids: Iterable[Any]) -> None:
    """End every Django session of these users at its next request.

    Two queries and one cache write for any number of users; the session store is
    never read. The database is written first and the cache is *set* after it (a
    concurrent fill only ever ``add``s), as for revocation markers.
    """
    ids = list(user_ids)
    if not ids:
        return
    now = session_time()
    DjangoSessionCutoff.objects.bulk_create(
        [DjangoSessionCutoff(user_id=pk, valid_from=now) for pk in ids],
        update_conflicts=True,
        unique_fields=["user"],
        update_fields=["valid_from"],
    )
    stamp = clock.timestamp(now)
    try:
        cache = revocation.get_cache()
        cache.set_many({_cutoff_key(pk): stamp for pk in ids}, timeout=_timeout())
        # Returns once Redis has sent every tracking process the invalidation.
        local_revocation.confirm_delivery(cache)
    except Exception:
        # A cached "no cutoff" lives REVOCATION_CACHE_TIMEOUT at most.
        logger.error("Could not write Django session cutoffs to the cache.", exc_info=True)


def _cutoff_in_database(user_id: Any) -> float | None:
    # From the primary: the answer is cached, a replica's "no cutoff" with it (db_routing).
    found = (
        db_routing.on_primary(DjangoSessionCutoff)
        .filter(user_id=user_id)
        .values_list("valid_from", flat=True)[:1]
    )
    return next((clock.timestamp(moment) for moment in found), None)


def cutoff(user_id: Any) -> float | None:
    """Return when this user's Django sessions became valid (epoch seconds), or None."""
    key, cache = _cutoff_key(user_id), revocation.get_cache()
    try:
        # LOCAL_REVOCATION_CACHE: this process's tracked copy, no round trip on a hit
        # (None: it cannot vouch). Else the primary: a replica may lag behind a cutoff.
        local = local_revocation.get_many(cache, [key])
        value = local.get(key) if local is not None else cache_primary.get(cache, key)
    except Exception:
        logger.warning("Cutoff cache unavailable; asking the database.", exc_info=True)
        return _cutoff_in_database(user_id)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value) or None
    # A miss, or django-redis IGNORE_EXCEPTIONS answering None: the database decides.
    found = _cutoff_in_database(user_id)
    try:
        cache.add(key, NO_CUTOFF if found is None else found, timeout=_timeout())
    except Exception:
        logger.warning("Could not fill the cutoff cache.", exc_info=True)
    return found


def checked_session_user(request: HttpRequest, user: Any) -> Any:
    """Return ``user`` (found by Django's session), or anonymous once its session is cut off.

    A cut-off session is flushed, as Django does when a session's auth hash no longer
    matches, so its ``sessionid`` is deleted on this response.
    """
    if not getattr(user, "is_authenticated", False):
        return user
    session = getattr(request, "session", None)
    if session is None or SESSION_KEY not in session:
        return user
    valid_from = cutoff(user.pk)
    if valid_from is None:
        return user
    stamp = session.get(LOGIN_STAMP_KEY)
    if isinstance(stamp, (int, float)) and stamp >= valid_from:
        return user
    logger.info("Django session of user %s ended: it predates the user's cutoff.", user.pk)
    session.flush()
    return AnonymousUser()
