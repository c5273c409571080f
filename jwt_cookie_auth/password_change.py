"""Keep this device after a password change: the JWT twin of ``update_session_auth_hash``.

Saving a new password ends every session of the user (``receivers.on_user_saved``),
the current one included, and each token carries a fingerprint of the old password
(``password_binding``). Django keeps the browser that changed the password logged in
with ``update_session_auth_hash(request, user)``, which gives that browser a new
session key; this module does the same for the token session::

    form.save()                                   # the password changes: all sessions end
    jwt_cookie_auth.update_session_auth_hash(request, form.user, response)

The current session is not revived: it stays revoked and a *successor* session starts
for this browser, with tokens bound to the new password, carrying over the old one's
"remember me", user agent, absolute expiry (never extended) and ``auth_time``/``amr``.
So there is no moment in which another session survives: the save revokes them all
first, and the call also revokes every live session of the user itself (a password
written without the signal). Each session begets at most one successor (a conditional
UPDATE marks it ``superseded``), and only a session that authenticated *this* request,
before the password changed, can: a stolen cookie of a session already revoked cannot.

Django's own ``PasswordChangeView`` (the admin's "Change password" too) calls
``django.contrib.auth.update_session_auth_hash``, which writes the new password's hash
into ``request.session``. The middleware notices that write (``keep_if_django_kept``)
and keeps the token session as well: no monkeypatching, and no project code to add.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth import update_session_auth_hash as django_update_session_auth_hash
from django.db.models import Q
from django.http import HttpRequest, HttpResponseBase
from django.utils.crypto import constant_time_compare

from jwt_cookie_auth import clock, db_routing, password_binding, revocation, tokens
from jwt_cookie_auth.conf import app_settings
from jwt_cookie_auth.cookies import set_token_cookies
from jwt_cookie_auth.identity import find_active_user
from jwt_cookie_auth.issuing import IssuedTokens, client_ip, issue_tokens, whole_seconds
from jwt_cookie_auth.models import LoginSession, RevokeReason
from jwt_cookie_auth.request_auth import STATE_ATTR, CookieAuth, resolve
from jwt_cookie_auth.signals import session_created

logger = logging.getLogger("jwt_cookie_auth")

# The successor's tokens, once a request's session has been kept: a second call (or
# the middleware) gives the same, rather than revoking it with the others.
KEPT_ATTR = "_jwt_cookie_auth_kept"


def _current_claims(request: Any, user: Any) -> tokens.Claims | None:
    """Return the claims that authenticated ``user`` in this request, or None."""
    http_request: HttpRequest = getattr(request, "_request", request)
    auth = getattr(request, "auth", None) if http_request is not request else None
    if isinstance(auth, tokens.Claims):  # DRF: cookie or Bearer, checked by the DRF class
        claims: tokens.Claims | None = auth
        authenticated = getattr(request, "user", None)
    else:
        state: CookieAuth = http_request.__dict__.get(STATE_ATTR) or resolve(http_request)
        claims, authenticated = state.claims, state.user
    if claims is None or authenticated is None or getattr(authenticated, "pk", None) != user.pk:
        return None
    return claims if claims.sub == str(user.pk) else None


def _start_successor(request: HttpRequest, user: Any, session_id: str) -> IssuedTokens | None:
    now = whole_seconds(clock.now())
    # Revoked already by the save's signal, unless the password was written without one.
    revocation.revoke_sessions(
        Q(pk=session_id, user_id=user.pk), RevokeReason.PASSWORD_CHANGE, request
    )
    # Claim the old session once: a second request for it (a double submit) finds it
    # superseded, starts nothing and, above all, revokes nothing, so it cannot end
    # the successor that the first one started.
    claimed = LoginSession.objects.filter(
        pk=session_id,
        user_id=user.pk,
        revoke_reason=RevokeReason.PASSWORD_CHANGE,
        absolute_expires_at__gt=now,
    ).update(revoke_reason=RevokeReason.SUPERSEDED)
    if not claimed:
        return None
    # Every other session ends before the successor exists: no window in which one
    # survives (again a no-op after a save, which revoked them all).
    revocation.revoke_user_sessions([user.pk], RevokeReason.PASSWORD_CHANGE, request)
    # From the primary, which has just been written: a replica may not have the row yet.
    old = db_routing.on_primary(LoginSession).get(pk=session_id)
    successor = LoginSession.objects.create(
        user=user,
        created_at=now,
        last_used_at=now,
        expires_at=min(
            clock.after(now, app_settings.REFRESH_TOKEN_LIFETIME), old.absolute_expires_at
        ),
        absolute_expires_at=old.absolute_expires_at,
        persistent=old.persistent,
        user_agent=old.user_agent,
        ip_address=client_ip(request),
        refresh_jti=tokens.new_jti(),
        refresh_issued_at=now,
        auth_time=old.auth_time or old.created_at,
        amr=old.amr,
    )
    session_created.send(sender=LoginSession, user=user, session=successor, request=request)
    return issue_tokens(successor, now, request)


def update_session_auth_hash(
    request: Any, user: Any, response: HttpResponseBase | None = None
) -> IssuedTokens | None:
    """Keep this browser logged in after ``user``'s new password was saved; end all others.

    Call it after the save, as Django's ``update_session_auth_hash``. ``request`` is a
    Django ``HttpRequest`` or a DRF ``Request`` authenticated as ``user`` by this
    package; ``response`` gets the new cookies (omit it to set them yourself, e.g. in
    the body for a native client). Also updates the Django session's hash when this
    browser is logged in through Django's session too.

    Return the successor's tokens, or None when there is nothing to keep: the request
    was not authenticated as ``user`` by a live token session (an administrator
    setting another user's password; every session of ``user`` is revoked here too),
    that session ended for another reason meanwhile, or a concurrent request for it
    (a double submit) kept it already, and its successor is left alone.
    """
    return _keep(request, user, response, update_django_session=True)


def _keep(
    request: Any, user: Any, response: HttpResponseBase | None, *, update_django_session: bool
) -> IssuedTokens | None:
    http_request: HttpRequest = getattr(request, "_request", request)
    kept: IssuedTokens | None = getattr(http_request, KEPT_ATTR, None)
    if kept is not None:  # called again for this request: the same successor
        if response is not None:
            set_token_cookies(response, kept)
        return kept
    claims = _current_claims(request, user)
    session = getattr(http_request, "session", None)
    if (
        update_django_session
        and session is not None
        and str(session.get(SESSION_KEY)) == str(user.pk)
    ):
        django_update_session_auth_hash(http_request, user)
    if claims is None:
        # Nothing to keep. Also ends them for a password written without save(),
        # which no signal reported.
        revocation.revoke_user_sessions([user.pk], RevokeReason.PASSWORD_CHANGE, http_request)
        return None
    issued = _start_successor(http_request, user, claims.sid)
    if issued is None:
        return None
    setattr(http_request, KEPT_ATTR, issued)
    if response is not None:
        set_token_cookies(response, issued)
    logger.info("Session %s kept after a password change as %s.", claims.sid, issued.session.pk)
    return issued


def keep_if_django_kept(
    request: HttpRequest, state: CookieAuth, response: HttpResponseBase
) -> bool:
    """Follow ``django.contrib.auth.update_session_auth_hash`` (for the middleware).

    If this request changed the password of the token session's user and wrote the
    new password's hash into the Django session (which Django's function, and its
    ``login()``, do only to keep this browser logged in), keep the token session too.
    Costs nothing unless the Django session was written in this request. Return
    whether the session was kept (its successor's cookies are then on ``response``).
    """
    session = getattr(request, "session", None)
    if state.user is None or state.claims is None or getattr(request, KEPT_ATTR, False):
        return False
    if session is None or not getattr(session, "modified", False):
        return False
    stored = session.get(HASH_SESSION_KEY)
    if not isinstance(stored, str):
        return False
    if password_binding.matches(_StoredHash(stored), state.claims):
        # The Django session holds the token's own password (a login, a message
        # saved): nothing changed, and no query is spent finding that out.
        return False
    user = find_active_user(str(state.user.pk))
    if user is None or not callable(getattr(user, "get_session_auth_hash", None)):
        return False
    if not constant_time_compare(stored, user.get_session_auth_hash()):
        return False
    if password_binding.matches(user, state.claims):
        return False  # the password did not change in this request: nothing to keep
    return _keep(request, user, response, update_django_session=False) is not None


class _StoredHash:
    """A stand-in user whose session auth hash is the one stored in a Django session."""

    def __init__(self, value: str) -> None:
        self.value = value

    def get_session_auth_hash(self) -> str:
        return self.value
