"""Signing and verifying keys, each pinned to one algorithm and named by a ``kid``.

Every token we sign carries the ``kid`` of the current key. Verification looks the
``kid`` up in a fixed table and uses that key with its own single algorithm, so the
``alg`` header of a token can never choose the algorithm (RFC 8725 §3.1): an HS256
token signed with our RSA public key finds no HMAC key to be checked against.

Keys are prepared once (PEM parsed into key objects) and cached until settings change.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.crypto import salted_hmac
from jwt.algorithms import get_default_algorithms

from jwt_cookie_auth.conf import app_settings

HMAC_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
SUPPORTED_ALGORITHMS = HMAC_ALGORITHMS | ASYMMETRIC_ALGORITHMS
MIN_HMAC_KEY_BYTES = 32


@dataclass(frozen=True)
class VerifyingKey:
    kid: str
    algorithm: str
    key: Any


@dataclass(frozen=True)
class KeySet:
    kid: str
    algorithm: str
    signing_key: Any
    verifying: dict[str, VerifyingKey]


_cache: dict[str, KeySet] = {}


def clear_cache() -> None:
    _cache.clear()


def derive_hmac_key(secret: str | bytes) -> str:
    """Return the HMAC key derived from a ``SECRET_KEY``.

    Derived, not equal: a token key that leaks does not reveal ``SECRET_KEY``, and
    ``SECRET_KEY`` is never used directly for a second purpose (Django's own advice).
    """
    return salted_hmac(
        "jwt_cookie_auth.keys", "token-signing-key", secret=secret, algorithm="sha512"
    ).hexdigest()


def _to_bytes(key: str | bytes) -> bytes:
    return key.encode() if isinstance(key, str) else key


def _prepare(algorithm: str, key: Any) -> Any:
    if algorithm not in SUPPORTED_ALGORITHMS:
        raise ImproperlyConfigured(f"JWT_COOKIE_AUTH: unsupported ALGORITHM {algorithm!r}.")
    return get_default_algorithms()[algorithm].prepare_key(key)


def _public_from_private(algorithm: str, private_key: Any) -> Any:
    public = getattr(private_key, "public_key", None)
    if public is None:
        raise ImproperlyConfigured(f"JWT_COOKIE_AUTH: VERIFYING_KEY is required for {algorithm}.")
    return public()


def key_id(algorithm: str, verifying_key: Any) -> str:
    """Return a stable ``kid`` for a key: a short hash that reveals nothing usable."""
    if algorithm in HMAC_ALGORITHMS:
        material = b"hmac\x00" + _to_bytes(verifying_key)
    else:
        from cryptography.hazmat.primitives import serialization

        material = verifying_key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    return hashlib.sha256(b"jwt_cookie_auth kid\x00" + material).hexdigest()[:16]


def _verifying_entry(algorithm: str, raw: Any, kid: str | None) -> VerifyingKey:
    prepared = _prepare(algorithm, raw)
    if algorithm not in HMAC_ALGORITHMS and hasattr(prepared, "public_key"):
        prepared = prepared.public_key()
    return VerifyingKey(kid or key_id(algorithm, prepared), algorithm, prepared)


def _old_entries(algorithm: str) -> list[VerifyingKey]:
    entries = []
    for item in app_settings.OLD_VERIFYING_KEYS:
        if isinstance(item, dict):
            entries.append(
                _verifying_entry(item.get("ALGORITHM", algorithm), item["KEY"], item.get("KID"))
            )
        else:
            entries.append(_verifying_entry(algorithm, item, None))
    if app_settings.SIGNING_KEY is None and algorithm in HMAC_ALGORITHMS:
        # Tokens signed under a SECRET_KEY that has moved to SECRET_KEY_FALLBACKS
        # keep working until they expire.
        for fallback in getattr(settings, "SECRET_KEY_FALLBACKS", []):
            entries.append(_verifying_entry(algorithm, derive_hmac_key(fallback), None))
    return entries


def _build() -> KeySet:
    algorithm = app_settings.ALGORITHM
    raw_signing = app_settings.SIGNING_KEY
    if algorithm in HMAC_ALGORITHMS:
        if raw_signing is None:
            raw_signing = derive_hmac_key(settings.SECRET_KEY)
        signing = _prepare(algorithm, raw_signing)
        verifying = signing
    else:
        if raw_signing is None:
            raise ImproperlyConfigured(
                f"JWT_COOKIE_AUTH: SIGNING_KEY (a private key in PEM) is required for {algorithm}."
            )
        signing = _prepare(algorithm, raw_signing)
        raw_verifying = app_settings.VERIFYING_KEY
        if raw_verifying is None:
            verifying = _public_from_private(algorithm, signing)
        else:
            verifying = _prepare(algorithm, raw_verifying)
    kid = app_settings.KEY_ID or key_id(algorithm, verifying)
    table = {kid: VerifyingKey(kid, algorithm, verifying)}
    for entry in _old_entries(algorithm):
        table.setdefault(entry.kid, entry)
    return KeySet(kid=kid, algorithm=algorithm, signing_key=signing, verifying=table)


def get_keys() -> KeySet:
    """Return the current key set, preparing it on first use after a settings change."""
    keyset = _cache.get("current")
    if keyset is None:
        keyset = _cache["current"] = _build()
    return keyset
