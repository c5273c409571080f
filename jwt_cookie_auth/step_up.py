"""Step-up authentication (RFC 9470): when and how the user last authenticated.

Each session row records ``auth_time`` (the moment of the last authentication) and
``amr`` (RFC 8176 method values such as ``"pwd"``, ``"otp"``, ``"mfa"``). Every access
token carries both as claims (``auth_time`` in epoch seconds), re-read from the row at
every refresh, so a rotation never makes an authentication look more recent than it
was, and a re-authentication (``reauthentication.py``) moves them forward *without*
starting a new session.

A protected view compares the claims of the request's access token with what it needs
(``permissions.RecentAuthentication``, ``decorators.require_recent_authentication``)
and, when they fall short, answers 401 with the RFC 9470 §3 challenge built here. The
token is a safe source: the row only ever moves ``auth_time`` forward, so a token can
only understate how recent the authentication was, and it cannot be forged without the
signing key. A session that started before these fields existed has no ``auth_time``:
its ``created_at`` (the login) stands in.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from jwt_cookie_auth import clock, tokens
from jwt_cookie_auth.models import LoginSession

AUTH_TIME_CLAIM = "auth_time"
AMR_CLAIM = "amr"
ERROR = "insufficient_user_authentication"
#: What the package's own login view records: a password (RFC 8176).
PASSWORD_AMR: tuple[str, ...] = ("pwd",)
MAX_AMR_VALUES = 16
MAX_AMR_LENGTH = 64


def normalize_amr(amr: Iterable[str] | None) -> list[str]:
    """Return ``amr`` as a list without repeats, or raise ``ValueError``.

    Each value is a short non-empty string (RFC 8176 names such as ``"pwd"``); a bare
    string is refused, since ``list("otp")`` would silently record ``o``, ``t``, ``p``.
    """
    if amr is None:
        return []
    if isinstance(amr, str | bytes):
        raise ValueError('amr must be a list of strings, e.g. ["pwd"], not a string')
    values: list[str] = []
    for value in amr:
        if not isinstance(value, str) or not value or len(value) > MAX_AMR_LENGTH:
            raise ValueError(f"amr values must be non-empty strings of <= {MAX_AMR_LENGTH}")
        if value not in values:
            values.append(value)
    if len(values) > MAX_AMR_VALUES:
        raise ValueError(f"at most {MAX_AMR_VALUES} amr values")
    return values


def claims_for(session: LoginSession) -> dict[str, Any]:
    """Return the ``auth_time`` / ``amr`` claims of ``session`` for its access tokens."""
    auth_time = session.auth_time or session.created_at
    claims: dict[str, Any] = {AUTH_TIME_CLAIM: tokens.timestamp(auth_time)}
    amr = session.amr
    if isinstance(amr, list) and amr:
        claims[AMR_CLAIM] = list(amr)
    return claims


def record_authentication(
    session_id: uuid.UUID | str, amr: Iterable[str], now: datetime, *, user_id: Any = None
) -> LoginSession | None:
    """Move a live session's ``auth_time`` to ``now`` and set its ``amr``.

    Return the updated row with its user loaded, or None if the session is revoked,
    expired, unknown or (with ``user_id``) another user's: a re-authentication never
    revives a session. One conditional UPDATE: a concurrent revocation either comes
    first (no row matches) or after (the session ends anyway).
    """
    methods = normalize_amr(amr)
    live = LoginSession.objects.live(now).filter(pk=session_id, absolute_expires_at__gt=now)
    if user_id is not None:
        live = live.filter(user_id=user_id)
    if not live.update(auth_time=now, amr=methods):
        return None
    return LoginSession.objects.select_related("user").filter(pk=session_id).first()


@dataclass(frozen=True)
class Shortfall:
    """Why a token's authentication is not enough, as RFC 9470 §3 reports it."""

    max_age: int | None
    amr: tuple[str, ...] = ()

    @property
    def description(self) -> str:
        if self.amr:
            return "A different authentication method is required"
        return "More recent authentication is required"

    def www_authenticate(self) -> str:
        """Return the ``WWW-Authenticate`` value of the 401 (RFC 9470 §3)."""
        value = f'Bearer error="{ERROR}", error_description="{self.description}"'
        if self.max_age is not None:
            value += f", max_age={self.max_age}"
        return value

    def body(self) -> dict[str, Any]:
        """Return the JSON body of the 401: ``detail``, ``code`` and what is required."""
        data: dict[str, Any] = {"detail": f"{self.description}.", "code": ERROR}
        if self.max_age is not None:
            data["max_age"] = self.max_age
        if self.amr:
            data["amr"] = list(self.amr)
        return data


def _payload(auth: Any) -> Mapping[str, Any] | None:
    payload = getattr(auth, "payload", None)
    return payload if isinstance(payload, Mapping) else None


def shortfall(auth: Any, max_age: timedelta | None, amr: Iterable[str] = ()) -> Shortfall | None:
    """Return what the access token ``auth`` (``tokens.Claims``) lacks, or None if enough.

    Enough: its ``auth_time`` is at most ``max_age`` ago (by ``clock.now()``) and its
    ``amr`` holds every value of ``amr``. Anything else (no JWT, a token without the
    claims, a non-integer ``auth_time``) falls short: the safe answer is "authenticate".
    """
    required = tuple(normalize_amr(amr))
    seconds = None if max_age is None else max(0, int(max_age.total_seconds()))
    payload = _payload(auth)
    if payload is None:
        return Shortfall(seconds, required)
    if seconds is not None:
        auth_time = payload.get(AUTH_TIME_CLAIM)
        if type(auth_time) is not int:
            return Shortfall(seconds, required)
        if clock.timestamp(clock.now()) - auth_time > seconds:
            return Shortfall(seconds, required)
    carried = payload.get(AMR_CLAIM)
    carried_values = (
        {v for v in carried if isinstance(v, str)} if isinstance(carried, list) else set()
    )
    if not carried_values.issuperset(required):
        return Shortfall(seconds, required)
    return None
