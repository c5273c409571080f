"""Start login sessions and issue the token pair for a session."""

from __future__ import annotations

import contextlib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import DatabaseError
from django.http import HttpRequest

from jwt_cookie_auth import clock, cookie_size, custom_claims, password_binding, step_up, tokens
from jwt_cookie_auth.client_ip import client_ip as client_ip  # re-exported
from jwt_cookie_auth.conf import app_settings
from jwt_cookie_auth.models import LoginSession
from jwt_cookie_auth.signals import session_created

MAX_USER_AGENT_LENGTH = 512


@dataclass(frozen=True)
class IssuedTokens:
    """A fresh access token and the session's current refresh token."""

    session: LoginSession
    access: str
    refresh: str
    access_claims: tokens.Claims
    refresh_expires_at: datetime

    @property
    def access_expires_at(self) -> datetime:
        return self.access_claims.expires_at

    @property
    def persistent(self) -> bool:
        return self.session.persistent

    def expiry_times(self) -> dict[str, str]:
        return {
            "access_expires_at": clock.isoformat(self.access_expires_at),
            "refresh_expires_at": clock.isoformat(self.refresh_expires_at),
            "session_expires_at": clock.isoformat(self.session.absolute_expires_at),
        }


def whole_seconds(moment: datetime) -> datetime:
    """Tokens carry whole seconds; the database stores the same values."""
    return moment.replace(microsecond=0)


def storable_text(value: Any, max_length: int) -> str:
    """Return request-derived ``value`` as text any database stores: clean, at most ``max_length``.

    Control characters (C0, DEL, C1: NUL included) and lone surrogates become U+FFFD.
    PostgreSQL refuses NUL in text (a ``DataError``, so a 500 at login), UTF-8 cannot
    encode a lone surrogate, and line breaks or escape sequences in a stored header
    would reach the admin, the sessions list and logs. ``None`` is ``""``.
    """
    text = "" if value is None else str(value)
    # Cut first, so the work is bounded by max_length whatever the header's size.
    return "".join(
        "\ufffd" if unicodedata.category(char) in ("Cc", "Cs") else char
        for char in text[:max_length]
    )


def user_agent(request: HttpRequest) -> str:
    """Return the request's User-Agent as the session stores it (``storable_text``)."""
    return storable_text(request.META.get("HTTP_USER_AGENT"), MAX_USER_AGENT_LENGTH)


def issue_tokens(
    session: LoginSession, now: datetime, request: HttpRequest | None = None
) -> IssuedTokens:
    """Return a new access token and (re-)mint the session's current refresh token.

    The refresh token is built from the ids and times stored on the session, so
    calling this twice for one rotation yields the same refresh token, never a
    sibling. The access token never outlives the refresh token. Both carry the
    fingerprint of the user's password (``password_binding``): ``session.user`` must
    be the row as it is now (``start_session`` and ``rotation`` pass it loaded).

    The access token also carries the project's ``CUSTOM_CLAIMS`` for ``request``
    (``custom_claims``; ``ImproperlyConfigured`` for a bad one). Raises
    ``cookie_size.CookieTooLarge``, before anything is sent, for a token whose cookie
    browsers would drop: callers in a transaction (rotation) roll back with it.
    """
    sub, sid = str(session.user_id), str(session.pk)
    binding = password_binding.claims_for(session.user)
    custom = custom_claims.claims_for(session.user, session, request)
    access_expires_at = min(
        clock.after(now, app_settings.ACCESS_TOKEN_LIFETIME), session.expires_at
    )
    access, access_claims = tokens.mint(
        tokens.ACCESS,
        sub=sub,
        sid=sid,
        jti=tokens.new_jti(),
        issued_at=now,
        expires_at=access_expires_at,
        # auth_time / amr from the row (step_up.py): refreshes carry them unchanged.
        extra_claims={**custom, **binding, **step_up.claims_for(session)},
    )
    cookie_size.check("access", access, custom_bytes=custom_claims.encoded_size(custom))
    refresh = tokens.encode(
        tokens.REFRESH,
        sub=sub,
        sid=sid,
        jti=session.refresh_jti,
        issued_at=session.refresh_issued_at,
        expires_at=session.expires_at,
        extra_claims=binding,
    )
    cookie_size.check("refresh", refresh)
    return IssuedTokens(session, access, refresh, access_claims, session.expires_at)


def start_session(
    request: HttpRequest,
    user: Any,
    *,
    persistent: bool = True,
    amr: Iterable[str] | None = None,
) -> IssuedTokens:
    """Create a new token family for ``user``: always new, so fixation is impossible.

    ``amr``: how the user just authenticated (RFC 8176 values, e.g. ``["pwd"]``),
    recorded with ``auth_time`` = now for step-up checks (``step_up.py``); None
    records no method. ``ValueError`` for a malformed ``amr``.
    """
    methods = step_up.normalize_amr(amr)
    now = whole_seconds(clock.now())
    absolute = clock.after(now, app_settings.SESSION_MAX_LIFETIME)
    session = LoginSession.objects.create(
        user=user,
        created_at=now,
        last_used_at=now,
        expires_at=min(clock.after(now, app_settings.REFRESH_TOKEN_LIFETIME), absolute),
        absolute_expires_at=absolute,
        persistent=persistent,
        user_agent=user_agent(request),
        ip_address=client_ip(request),
        refresh_jti=tokens.new_jti(),
        refresh_issued_at=now,
        auth_time=now,
        amr=methods,
    )
    try:
        issued = issue_tokens(session, now, request)
    except Exception:
        # CUSTOM_CLAIMS failed or made a cookie too large: leave no session behind
        # (unless the database itself is what failed).
        with contextlib.suppress(DatabaseError):
            session.delete()
        raise
    session_created.send(sender=LoginSession, user=user, session=session, request=request)
    return issued
