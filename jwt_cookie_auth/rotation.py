"""Refresh-token rotation with reuse (theft) detection — RFC 9700 §4.14.2.

Each refresh token is single use. Presenting the session's current refresh token
consumes it (its id goes to the blacklist) and issues a successor in the same family.
The session row remembers the current and the previous token id, which is all that
theft detection needs:

- current id: rotate. The UPDATE is conditional on the id still being current, so of
  N concurrent refreshes exactly one wins, without holding a lock across the request.
  On PostgreSQL a loser's UPDATE waits for the winner's row lock, then matches
  nothing. On SQLite the transaction opens with ``BEGIN IMMEDIATE``
  (``transactions.write_transaction``): a loser waits for the winner's commit (up to
  the busy timeout) rather than failing with "database is locked", then reads the
  winner's row. Either way the loser is judged by the next rule, as the predecessor
  (tested with threads on both; other databases are not tested);
- previous id, within ``ROTATION_GRACE_PERIOD`` of the rotation (on the database's
  clock, which wrote ``rotated_at``: ``db_clock``): a legitimate race (two tabs,
  parallel requests, a lost response), whichever app host serves it. The caller gets
  the successor that was already issued, re-minted from the stored ids and times: no
  second chain;
- anything else that we signed for this family is an already consumed token: theft.
  The whole family is revoked, so the thief's and the victim's newest tokens die
  alike, and the real user must log in again.

The absolute session lifetime is never extended: each successor expires at
``min(now + REFRESH_TOKEN_LIFETIME, absolute_expires_at)``.

A token issued for another password than the user's current one (written without
``save()``, which no signal reports) is refused and its session revoked
(``password_binding``).

Every refusal names its ``reason`` (``refusals``): the session's ``revoke_reason``,
``expired`` or ``absolute_lifetime``, ... An expired token's reason costs one query,
made only then; any other refusal reads it from the row the check loaded anyway.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.http import HttpRequest

from jwt_cookie_auth import (
    clock,
    db_clock,
    db_routing,
    password_binding,
    pk_lookup,
    refusals,
    revocation,
    tokens,
)
from jwt_cookie_auth.conf import app_settings
from jwt_cookie_auth.issuing import IssuedTokens, client_ip, issue_tokens, whole_seconds
from jwt_cookie_auth.models import BlacklistedToken, LoginSession, RevokeReason
from jwt_cookie_auth.signals import refresh_token_reused
from jwt_cookie_auth.transactions import write_transaction

logger = logging.getLogger("jwt_cookie_auth")

BLACKLIST_REASON_ROTATED = "rotated"


class RefreshRejected(Exception):
    """The refresh token cannot be used. The message is for logs only.

    ``reason`` says why, for the client (``refusals``: a ``RevokeReason`` value,
    ``expired``, ``absolute_lifetime``, ``unknown_session``, ...).
    """

    def __init__(self, message: str, reason: str = refusals.INVALID_TOKEN) -> None:
        super().__init__(message)
        self.reason = reason


class RefreshReuseDetected(RefreshRejected):
    """A consumed refresh token was replayed; its family has been revoked."""

    def __init__(self, message: str) -> None:
        super().__init__(message, RevokeReason.REUSE_DETECTED.value)


class PasswordChanged(RefreshRejected):
    """The user's password changed since the token was issued; the session is revoked."""

    def __init__(self, message: str) -> None:
        super().__init__(message, RevokeReason.PASSWORD_CHANGE.value)


def _load(session_id: uuid.UUID) -> LoginSession | None:
    """The session row and its user: two prepared primary-key SELECTs (``pk_lookup``).

    Two statements rather than one JOIN: each is executed from SQL built once per
    process, which costs less than building the JOIN through the ORM on every refresh.
    Both from the primary (``db_routing``): on a replica's stale row the successor
    just issued would look consumed, and a legitimate refresh be judged theft.
    """
    alias = db_routing.primary(LoginSession)
    session: LoginSession | None = pk_lookup.get_by_pk(LoginSession, session_id, using=alias)
    if session is None:
        return None
    user_model = get_user_model()
    user = pk_lookup.get_by_pk(user_model, session.user_id, using=db_routing.primary(user_model))
    if user is None:
        return None  # the user was deleted between the two reads: no session left
    session.user = user
    return session


def _check(session: LoginSession | None, claims: tokens.Claims, now: datetime) -> LoginSession:
    if session is None:
        raise RefreshRejected("unknown session", refusals.UNKNOWN_SESSION)
    if session.revoked_at is not None:
        reason = session.revoke_reason or refusals.REVOKED
        raise RefreshRejected(f"session revoked ({session.revoke_reason})", reason)
    if str(session.user_id) != claims.sub:
        raise RefreshRejected("subject does not own the session", refusals.INVALID_TOKEN)
    if not getattr(session.user, "is_active", True):
        raise RefreshRejected("inactive user", refusals.UNKNOWN_USER)
    if now >= session.absolute_expires_at:
        raise RefreshRejected("session expired", refusals.ABSOLUTE_LIFETIME)
    if now >= session.expires_at:
        raise RefreshRejected("session expired", refusals.EXPIRED)
    if not password_binding.matches(session.user, claims):
        raise PasswordChanged("password changed since the token was issued")
    return session


def _advance(
    session: LoginSession,
    claims: tokens.Claims,
    now: datetime,
    request: HttpRequest,
    alias: str,
) -> IssuedTokens | None:
    """Consume the current token; return the successor, or None if another request won."""
    successor: dict[str, Any] = {
        "refresh_jti": tokens.new_jti(),
        "refresh_issued_at": now,
        "previous_jti": claims.jti,
        "last_used_at": now,
        "expires_at": min(
            clock.after(now, app_settings.REFRESH_TOKEN_LIFETIME), session.absolute_expires_at
        ),
        "ip_address": client_ip(request),
    }
    # rotated_at on the database's clock: the grace window is judged on that clock
    # whichever host serves the late request (db_clock).
    won = (
        LoginSession._default_manager.db_manager(alias)
        .filter(pk=session.pk, refresh_jti=claims.jti, revoked_at__isnull=True)
        .update(**successor, rotated_at=db_clock.now_expression(alias))
    )
    if not won:
        return None
    successor["rotated_at"] = now  # in memory only; nothing below reads it
    BlacklistedToken._default_manager.db_manager(alias).create(
        jti=claims.jti,
        session_id=session.pk,
        expires_at=claims.expires_at,
        blacklisted_at=now,
        reason=BLACKLIST_REASON_ROTATED,
    )
    for field, value in successor.items():
        setattr(session, field, value)
    return issue_tokens(session, now, request)


def _in_grace(session: LoginSession, claims: tokens.Claims, alias: str) -> bool:
    if claims.jti != session.previous_jti or session.rotated_at is None:
        return False
    # Measured by the database, on the clock that wrote rotated_at (db_clock): the
    # hosts' skew does not count. A rotation up to LEEWAY "in the future" is a row
    # written by an earlier version with a host clock ahead; further is no race but a
    # naive time stored in the hour repeated when clocks fall back and read back as
    # the later of the two (PostgreSQL does), which must not stretch the window.
    since = db_clock.since_rotation(session.pk, alias)
    if since is None:
        return False
    elapsed = since.total_seconds()
    return (
        -app_settings.LEEWAY.total_seconds()
        <= elapsed
        <= app_settings.ROTATION_GRACE_PERIOD.total_seconds()
    )


@contextmanager
def _revoked_on_password_change(session_id: uuid.UUID, request: HttpRequest) -> Iterator[None]:
    """Revoke the session when a ``PasswordChanged`` leaves the transaction (rolled back)."""
    try:
        yield
    except PasswordChanged:
        revocation.revoke_session(session_id, RevokeReason.PASSWORD_CHANGE, request)
        logger.info("Session %s revoked at refresh: the user's password changed.", session_id)
        raise


def rotate(token: str, request: HttpRequest) -> IssuedTokens:
    """Exchange a refresh token for a new pair, or raise ``RefreshRejected``.

    Raises ``tokens.TokenError`` for a token that fails verification, except an
    expired one: ``RefreshRejected`` with the reason its session ended.
    """
    try:
        claims = tokens.decode(token, tokens.REFRESH)
    except tokens.TokenExpired:
        raise RefreshRejected("refresh token expired", _expiry_reason(token)) from None
    try:
        session_id = uuid.UUID(claims.sid)
    except ValueError:
        raise RefreshRejected("malformed session id") from None
    now = whole_seconds(clock.now())
    alias = db_routing.primary(LoginSession)
    # BEGIN IMMEDIATE on SQLite: a transaction that has read cannot wait for the write
    # lock its UPDATE needs, so it takes that lock first (transactions.py).
    with _revoked_on_password_change(session_id, request), write_transaction(alias):
        session = _check(_load(session_id), claims, now)
        if claims.jti == session.refresh_jti:
            issued = _advance(session, claims, now, request, alias)
            if issued is not None:
                return issued
            # A concurrent refresh consumed it first: judge against the winner's row.
            session = _check(_load(session_id), claims, now)
        if _in_grace(session, claims, alias):
            return issue_tokens(session, now, request)
    _on_reuse(session, claims, request)
    raise RefreshReuseDetected("consumed refresh token replayed")


def _expiry_reason(token: str) -> str:
    """Return why the session of an expired refresh token ended (one query).

    Whatever ended it first: a revocation before the token expired (a force logout
    while the user was away), else the absolute lifetime if that is what the token's
    expiry was capped at, else the idle timeout. A row flushed since counts as expired.
    """
    try:
        claims = tokens.decode(token, tokens.REFRESH, allow_expired=True)
        session_id = uuid.UUID(claims.sid)
    except (tokens.TokenError, ValueError):
        return refusals.INVALID_TOKEN
    row = (
        LoginSession.objects.filter(pk=session_id)
        .values("revoked_at", "revoke_reason", "absolute_expires_at")
        .first()
    )
    if row is None:
        return refusals.EXPIRED
    revoked_at = row["revoked_at"]
    if revoked_at is not None and clock.timestamp(revoked_at) < claims.exp:
        return str(row["revoke_reason"] or refusals.REVOKED)
    if claims.exp >= clock.timestamp(row["absolute_expires_at"]):
        return refusals.ABSOLUTE_LIFETIME
    return refusals.EXPIRED


def _on_reuse(session: LoginSession, claims: tokens.Claims, request: HttpRequest) -> None:
    revocation.revoke_session(session.pk, RevokeReason.REUSE_DETECTED, request)
    logger.warning(
        "Refresh token reuse detected: session %s of user %s revoked (token %s, ip %s).",
        session.pk,
        session.user_id,
        claims.jti,
        client_ip(request),
    )
    refresh_token_reused.send(
        sender=LoginSession,
        user_id=session.user_id,
        session_id=session.pk,
        jti=claims.jti,
        request=request,
    )
