"""Bind each session to the user's password, the way Django binds its own sessions.

Django ends a session login when the password changes, however it was written: the
session stores ``user.get_session_auth_hash()`` (an HMAC of the password hash, keyed
with ``SECRET_KEY``) and ``django.contrib.auth.get_user`` compares it on each request.
The ``post_save`` receiver (``receivers.py``) sees only passwords written through
``save()``; a ``QuerySet.update(password=...)``, raw SQL or another service sharing the
database sends no signal. So both tokens carry a fingerprint of that hash, claim
``pwd_fp``, and a token whose fingerprint no longer matches its user is refused:

- every request in the default mode (the user row is loaded anyway; no extra query),
  and every refresh (the row is read there too). The session is then revoked with
  reason ``password_change``, so the refusal holds even if the old hash comes back;
- with ``CACHE_USERS`` the user comes from the cache and may hold the old password:
  the access tokens a session already holds keep working until they expire (at most
  ``ACCESS_TOKEN_LIFETIME`` + ``LEEWAY`` after the write) or the cached copy goes
  (``USER_CACHE_TIMEOUT``), whichever comes first; the refresh reads the row.

The fingerprint is the first 96 bits of a SHA-256 of the session auth hash (16
base64url characters): it reveals neither the hash nor the password hash, and without
``SECRET_KEY`` it cannot be computed from a password. As in Django, a hash made with a
key of ``SECRET_KEY_FALLBACKS`` still matches, and the next refresh binds the session
to the current key's hash.

Tokens minted before this binding existed carry no fingerprint. They are accepted (an
upgrade logs no one out), and the refresh binds the session to the password of that
moment: no unbound token is left ``REFRESH_TOKEN_LIFETIME`` after the upgrade. A user
model without ``get_session_auth_hash`` gets no fingerprint and no check, as in
Django's ``get_user``.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from typing import Any

from django.utils.crypto import constant_time_compare

from jwt_cookie_auth import tokens

CLAIM = "pwd_fp"
# Domain separation: this digest is not usable as any other value derived from the hash.
_DIGEST_PREFIX = b"jwt_cookie_auth.password_binding:"
_FINGERPRINT_BYTES = 12
#: Characters of the claim's value (base64url of _FINGERPRINT_BYTES, no padding needed).
FINGERPRINT_LENGTH = 4 * _FINGERPRINT_BYTES // 3


def _digest(session_auth_hash: str) -> str:
    digest = hashlib.sha256(_DIGEST_PREFIX + session_auth_hash.encode()).digest()
    return base64.urlsafe_b64encode(digest[:_FINGERPRINT_BYTES]).decode("ascii")


def fingerprint(user: Any) -> str | None:
    """Return the fingerprint of ``user``'s current password, or None if it has none."""
    get_hash = getattr(user, "get_session_auth_hash", None)
    if not callable(get_hash):
        return None
    return _digest(str(get_hash()))


def claims_for(user: Any) -> dict[str, str]:
    """Return the claims that bind a new token to ``user``'s password (``{}``: none)."""
    value = fingerprint(user)
    return {} if value is None else {CLAIM: value}


def matches(user: Any, claims: tokens.Claims) -> bool:
    """Return whether the token was issued for ``user``'s current password.

    True for a token without the claim (minted before the binding) and for a user
    model without ``get_session_auth_hash``; a claim of the wrong type never matches.
    """
    carried = claims.payload.get(CLAIM)
    if carried is None:
        return True
    current = fingerprint(user)
    if current is None:
        return True
    if not isinstance(carried, str):
        return False
    if constant_time_compare(carried, current):
        return True
    # Django's get_user: the hash may have been made with a key now in the fallbacks.
    fallbacks = getattr(user, "get_session_auth_fallback_hash", None)
    old_hashes: Iterable[Any] = fallbacks() if callable(fallbacks) else ()
    return any(constant_time_compare(carried, _digest(str(h))) for h in old_hashes)
