"""Why a token or a session was refused: the ``reason`` of a 401, and its ``code``.

A client must tell "signed out by an administrator" from "timed out", and "refresh,
then retry" from "log in again". Every 401 of the refresh endpoint, and of the DRF
class for a token it refuses, carries both in its JSON body::

    {"detail": "<message>", "code": "session_revoked", "reason": "admin"}

``reason`` is one of:

- a ``RevokeReason`` value (``admin``, ``logout``, ``password_change``,
  ``reuse_detected``, ...): the session was revoked, and why; ``revoked`` for a row
  revoked without a recorded reason, ``unknown_session`` for a session that is gone
  (its user was deleted, or its row removed);
- ``expired``: the refresh token's (idle) lifetime ran out, or no refresh cookie
  arrived at all: a browser drops the cookie when it expires, so that is what a
  timeout usually looks like (a cleared cookie looks the same);
  ``absolute_lifetime``: the session's absolute lifetime (``SESSION_MAX_LIFETIME``) ended;
- ``access_expired``: only the access token expired; the session may be fine;
- ``unknown_user`` (the user is inactive or gone), ``invalid_token`` (a token that
  fails verification, or names another user's session), ``duplicate_cookies`` (a
  token cookie sent twice: possible cookie tossing).

``code`` sorts them for a client (``code_for``): ``session_revoked`` and
``session_expired`` mean "log in again", ``token_expired`` means "refresh, then
retry", ``authentication_failed`` covers the rest.

This module knows no request and no model row: the Store layer picks a reason, the
Web layer turns it into a body.
"""

from __future__ import annotations

from jwt_cookie_auth.models import RevokeReason

#: A session revoked without a recorded reason (e.g. by a direct database update).
REVOKED = "revoked"
UNKNOWN_SESSION = "unknown_session"
EXPIRED = "expired"
ABSOLUTE_LIFETIME = "absolute_lifetime"
ACCESS_EXPIRED = "access_expired"
UNKNOWN_USER = "unknown_user"
INVALID_TOKEN = "invalid_token"
DUPLICATE_COOKIES = "duplicate_cookies"

SESSION_REVOKED_CODE = "session_revoked"
SESSION_EXPIRED_CODE = "session_expired"
TOKEN_EXPIRED_CODE = "token_expired"
AUTHENTICATION_FAILED_CODE = "authentication_failed"

_REVOKED_REASONS = frozenset({*RevokeReason.values, REVOKED, UNKNOWN_SESSION})
_EXPIRED_REASONS = frozenset({EXPIRED, ABSOLUTE_LIFETIME})


def code_for(reason: str) -> str:
    """Return the error ``code`` of a refusal ``reason``."""
    if reason in _REVOKED_REASONS:
        return SESSION_REVOKED_CODE
    if reason in _EXPIRED_REASONS:
        return SESSION_EXPIRED_CODE
    if reason == ACCESS_EXPIRED:
        return TOKEN_EXPIRED_CODE
    return AUTHENTICATION_FAILED_CODE
