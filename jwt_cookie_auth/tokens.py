"""Mint and verify access and refresh tokens (PyJWT).

Two token types share one format but can never stand in for each other: each has its
own ``typ`` header (``at+jwt`` / ``rt+jwt``, RFC 8725 §3.11) and a ``token_type``
claim, and both are checked, because PyJWT checks neither.

Verification is strict by construction:

- the algorithm comes from the key table (``keys.py``), never from the token;
- only the ``alg``, ``typ`` and ``kid`` headers are allowed, so ``crit``, ``jku``,
  ``x5u``, ``jwk`` and ``b64`` tokens are rejected and no URL named by a token is
  ever fetched;
- ``sub``, ``sid``, ``jti``, ``iat``, ``exp`` and ``token_type`` are required with
  the right types; time claims are checked here against ``clock.now()`` with
  ``LEEWAY`` so tests can move the clock;
- input longer than ``MAX_TOKEN_LENGTH`` is refused before any parsing.

Claims beyond these (``extra_claims``, e.g. the password fingerprint of
``password_binding``) are signed and returned in ``Claims.payload``; this module does
not interpret them.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import jwt

from jwt_cookie_auth import clock
from jwt_cookie_auth.conf import MAX_TOKEN_LENGTH, app_settings
from jwt_cookie_auth.keys import get_keys

TokenType = Literal["access", "refresh"]
ACCESS: TokenType = "access"
REFRESH: TokenType = "refresh"
TYP_HEADERS: dict[str, str] = {ACCESS: "at+jwt", REFRESH: "rt+jwt"}
ALLOWED_HEADERS = frozenset({"alg", "typ", "kid"})
REQUIRED_CLAIMS = ["sub", "sid", "jti", "iat", "exp", "token_type"]

MAX_TIMESTAMP = 253402300799  # 9999-12-31T23:59:59Z

_jwt = jwt.PyJWT()


class TokenError(Exception):
    """A token that must not be accepted. The message is safe to log, not to show."""


class TokenExpired(TokenError):
    pass


class InvalidToken(TokenError):
    pass


@dataclass(frozen=True)
class Claims:
    """The verified claims of one token."""

    token_type: TokenType
    sub: str
    sid: str
    jti: str
    iat: int
    exp: int
    payload: dict[str, Any]

    @property
    def expires_at(self) -> datetime:
        """``exp`` as the database stores times (``clock.from_timestamp``)."""
        return clock.from_timestamp(self.exp)

    @property
    def issued_at(self) -> datetime:
        return clock.from_timestamp(self.iat)

    # Read like simplejwt's tokens (``request.auth["role"]``), so views migrating
    # from it keep working; the claims stay read-only.
    def __getitem__(self, name: str) -> Any:
        """Return the claim ``name``; ``KeyError`` if the token does not carry it."""
        return self.payload[name]

    def get(self, name: str, default: Any = None) -> Any:
        """Return the claim ``name``, or ``default`` if the token does not carry it."""
        return self.payload.get(name, default)

    def __contains__(self, name: object) -> bool:
        return name in self.payload


def new_jti() -> str:
    return uuid.uuid4().hex


def timestamp(moment: datetime) -> int:
    """Return whole seconds since the epoch; tokens and the database agree on these.

    A naive ``moment`` (``USE_TZ = False``) is local time in ``TIME_ZONE``.
    """
    return int(clock.timestamp(moment))


def encode(
    token_type: TokenType,
    *,
    sub: str,
    sid: str,
    jti: str,
    issued_at: datetime,
    expires_at: datetime,
    extra_claims: Mapping[str, Any] | None = None,
) -> str:
    """Return a signed token of ``token_type``."""
    token, _ = mint(
        token_type,
        sub=sub,
        sid=sid,
        jti=jti,
        issued_at=issued_at,
        expires_at=expires_at,
        extra_claims=extra_claims,
    )
    return token


def mint(
    token_type: TokenType,
    *,
    sub: str,
    sid: str,
    jti: str,
    issued_at: datetime,
    expires_at: datetime,
    extra_claims: Mapping[str, Any] | None = None,
) -> tuple[str, Claims]:
    """Return a signed token of ``token_type`` and its claims (no need to decode it).

    Deterministic for HMAC, RSA and EdDSA keys: the same claims give the same token,
    which is how the rotation grace period re-serves an already issued successor
    without the database ever holding a usable token. ``extra_claims`` may not
    replace a claim set here (``ValueError``).
    """
    keyset = get_keys()
    payload: dict[str, Any] = {
        "token_type": token_type,
        "sub": sub,
        "sid": sid,
        "jti": jti,
        "iat": timestamp(issued_at),
        "exp": timestamp(expires_at),
    }
    if app_settings.ISSUER is not None:
        payload["iss"] = app_settings.ISSUER
    if app_settings.AUDIENCE is not None:
        payload["aud"] = app_settings.AUDIENCE
    if extra_claims:
        if not extra_claims.keys().isdisjoint(payload):
            raise ValueError("extra_claims may not replace the registered claims")
        payload.update(extra_claims)
    token = jwt.encode(
        payload,
        keyset.signing_key,
        algorithm=keyset.algorithm,
        headers={"typ": TYP_HEADERS[token_type], "kid": keyset.kid},
    )
    claims = Claims(token_type, sub, sid, jti, payload["iat"], payload["exp"], payload)
    return token, claims


# Time claims are checked in _check_claims against the injectable clock.
_DECODE_OPTIONS: Any = {
    "require": REQUIRED_CLAIMS,
    "verify_exp": False,
    "verify_iat": False,
    "verify_nbf": False,
}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def decode(token: Any, expected_type: TokenType, *, allow_expired: bool = False) -> Claims:
    """Return the verified claims of ``token`` or raise ``TokenError``.

    ``allow_expired`` accepts a correctly signed token past its ``exp``: only for
    logout, which may revoke the session of an expired access token, and to tell a
    client why an expired token's session ended (never to grant anything).
    """
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidToken("missing, non-string or oversized token")
    header = _unverified_header(token)
    if not set(header) <= ALLOWED_HEADERS:
        raise InvalidToken(f"unexpected headers: {sorted(set(header) - ALLOWED_HEADERS)}")
    if header.get("typ") != TYP_HEADERS[expected_type]:
        raise InvalidToken(f"typ header is not {TYP_HEADERS[expected_type]}")
    kid = header.get("kid")
    verifying = get_keys().verifying.get(kid) if isinstance(kid, str) else None
    if verifying is None:
        raise InvalidToken("unknown or missing kid")
    try:
        decoded = _jwt.decode_complete(
            token,
            verifying.key,
            algorithms=[verifying.algorithm],
            options=_DECODE_OPTIONS,
            audience=app_settings.AUDIENCE,
            issuer=app_settings.ISSUER,
        )
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise InvalidToken(f"invalid token: {exc}") from None
    if decoded["header"] != header:
        # PyJWT's strict parse must agree with the quick one that picked the key.
        raise InvalidToken("malformed token: header mismatch")
    return _check_claims(decoded["payload"], expected_type, allow_expired)


def _unverified_header(token: str) -> dict[str, Any]:
    """Read the JOSE header, only to choose the key and refuse bad headers early.

    PyJWT parses the whole token again, strictly, when it verifies the signature, and
    ``decode`` requires both parses to agree; parsing only the header here (rather
    than ``jwt.get_unverified_header``, which parses every segment) halves the
    parsing work per token.
    """
    try:
        header = _unverified_segment(token.partition(".")[0])
    except SEGMENT_ERRORS as exc:
        raise InvalidToken(f"malformed token: {exc}") from None
    if not isinstance(header, dict):
        raise InvalidToken("malformed token: the header is not a JSON object")
    return header


def _check_claims(payload: dict[str, Any], expected_type: TokenType, allow_expired: bool) -> Claims:
    if payload.get("token_type") != expected_type:
        raise InvalidToken(f"token_type is not {expected_type}")
    sub, sid, jti = (payload.get(k) for k in ("sub", "sid", "jti"))
    if not all(isinstance(v, str) and v for v in (sub, sid, jti)):
        raise InvalidToken("sub, sid and jti must be non-empty strings")
    iat, exp = payload.get("iat"), payload.get("exp")
    # ``type(...) is int`` refuses bools, which are ints to isinstance().
    if type(iat) is not int or type(exp) is not int:
        raise InvalidToken("iat and exp must be integers")
    if not (0 <= iat < MAX_TIMESTAMP and 0 <= exp < MAX_TIMESTAMP):
        # Beyond year 9999 a datetime cannot hold it: refuse rather than fail later.
        raise InvalidToken("iat or exp out of range")
    check_times(iat, exp, payload.get("nbf"), allow_expired=allow_expired)
    return Claims(expected_type, sub, sid, jti, iat, exp, payload)  # type: ignore[arg-type]


def check_times(iat: int, exp: int, nbf: Any, *, allow_expired: bool = False) -> None:
    """Raise ``TokenError`` unless ``iat``/``exp``/``nbf`` hold now (``clock.now()``, ``LEEWAY``).

    The only time check: ``decode`` runs it, and so does every hit of the verified-token
    cache (``verified_tokens``), so a cached token never outlives its ``exp``.
    """
    now = clock.timestamp(clock.now())
    leeway = app_settings.LEEWAY.total_seconds()
    if exp <= now - leeway and not allow_expired:
        raise TokenExpired("token has expired")
    if iat > now + leeway:
        raise InvalidToken("token issued in the future")
    if nbf is not None and (not _is_int(nbf) or nbf > now + leeway):
        raise InvalidToken("token not yet valid")


def seems_expired(token: str) -> bool:
    """Return whether a token's unverified ``exp`` has passed (or cannot be read).

    Only decides *when* to do the full check, never whether to trust a token: a
    forged ``exp`` merely makes the real verification happen earlier.
    """
    if len(token) > MAX_TOKEN_LENGTH:
        return True
    try:
        exp = _unverified_segment(token.split(".")[1])["exp"]
        return not _is_int(exp) or exp <= clock.timestamp(clock.now())
    except (IndexError, KeyError, *SEGMENT_ERRORS):
        return True


# RecursionError: deeply nested JSON (PyJWT guards its own json.loads the same way).
SEGMENT_ERRORS = (ValueError, TypeError, RecursionError, binascii.Error)


def _unverified_segment(segment: str) -> Any:
    """Return the JSON of one base64url segment, unverified; raise SEGMENT_ERRORS."""
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
