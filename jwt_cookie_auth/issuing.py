"""Start login sessions and issue the token pair for a session."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.http import HttpRequest

from jwt_cookie_auth import clock, tokens
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
            "access_expires_at": self.access_expires_at.isoformat(),
            "refresh_expires_at": self.refresh_expires_at.isoformat(),
            "session_expires_at": self.session.absolute_expires_at.isoformat(),
        }


def whole_seconds(moment: datetime) -> datetime:
    """Tokens carry whole seconds; the database stores the same values."""
    return moment.replace(microsecond=0)


def client_ip(request: HttpRequest) -> str | None:
    """Return the client's IP from ``CLIENT_IP_HEADER`` (behind a proxy) or REMOTE_ADDR."""
    header = app_settings.CLIENT_IP_HEADER
    raw = request.META.get(header or "REMOTE_ADDR", "") or ""
    # X-Forwarded-For style lists: the first entry is the client, as the proxy saw it.
    candidate = str(raw).split(",")[0].strip()
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None


def user_agent(request: HttpRequest) -> str:
    return str(request.META.get("HTTP_USER_AGENT", ""))[:MAX_USER_AGENT_LENGTH]


def issue_tokens(session: LoginSession, now: datetime) -> IssuedTokens:
    """Return a new access token and (re-)mint the session's current refresh token.

    The refresh token is built from the ids and times stored on the session, so
    calling this twice for one rotation yields the same refresh token, never a
    sibling. The access token never outlives the refresh token.
    """
    sub, sid = str(session.user_id), str(session.pk)
    access_expires_at = min(now + app_settings.ACCESS_TOKEN_LIFETIME, session.expires_at)
    access, access_claims = tokens.mint(
        tokens.ACCESS,
        sub=sub,
        sid=sid,
        jti=tokens.new_jti(),
        issued_at=now,
        expires_at=access_expires_at,
    )
    refresh = tokens.encode(
        tokens.REFRESH,
        sub=sub,
        sid=sid,
        jti=session.refresh_jti,
        issued_at=session.refresh_issued_at,
        expires_at=session.expires_at,
    )
    return IssuedTokens(session, access, refresh, access_claims, session.expires_at)


def start_session(request: HttpRequest, user: Any, *, persistent: bool = True) -> IssuedTokens:
    """Create a new token family for ``user``: always new, so fixation is impossible."""
    now = whole_seconds(clock.now())
    absolute = now + app_settings.SESSION_MAX_LIFETIME
    session = LoginSession.objects.create(
        user=user,
        created_at=now,
        last_used_at=now,
        expires_at=min(now + app_settings.REFRESH_TOKEN_LIFETIME, absolute),
        absolute_expires_at=absolute,
        persistent=persistent,
        user_agent=user_agent(request),
        ip_address=client_ip(request),
        refresh_jti=tokens.new_jti(),
        refresh_issued_at=now,
    )
    session_created.send(sender=LoginSession, user=user, session=session, request=request)
    return issue_tokens(session, now)
