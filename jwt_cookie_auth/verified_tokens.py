"""A per-process cache of verified tokens: exact token string -> its verified claims.

An access token is presented on every request until it expires, and checking its
signature (PyJWT's ``decode``) is most of the CPU time of an authenticated request.
The result of that check is a pure function of the token's bytes, the verification
settings and the time; this module remembers it for the first two and re-checks the
time on every hit:

- the key is the **exact** token string, so a token that differs in any byte (a
  tampered one) is a miss and goes through ``tokens.decode`` in full;
- only tokens that passed ``tokens.decode`` are stored; a refused token is never
  stored, and neither is one decoded with ``allow_expired``;
- every hit runs ``tokens.check_times`` (``exp``, ``iat``, ``nbf`` against
  ``clock.now()`` with ``LEEWAY``): a cached token is refused the moment ``decode``
  would refuse it, and its entry is dropped;
- the cache belongs to one *verification fingerprint*: a hash of every verifying key
  (its ``kid``, algorithm and key material, ``OLD_VERIFYING_KEYS`` and the
  ``SECRET_KEY_FALLBACKS``-derived keys included), ``ISSUER`` and ``AUDIENCE``. When
  any of them changes, every entry is dropped before the next lookup, so removing a
  key refuses its tokens at once. (``setting_changed`` drops them too.)

This replaces the signature check and the decode only. The revocation check, the user
load, the password binding and everything else after ``decode`` still run on every
request (``identity.authenticate_access_token``).

Bound: at most ``VERIFIED_TOKEN_CACHE_SIZE`` entries (default 1024, 0 disables),
least recently used first out. An entry holds the token string (at most
``MAX_TOKEN_LENGTH`` = 4096 characters) and its claims, as ``entry_bytes`` measures:
1.4 KiB for an access token of the default shape (~320 characters), so about
1.4 MiB per process at the default size. Only tokens with our signature are stored,
so the claims are ones this project minted; the largest entries measured were for
4 KiB tokens: 8 KiB with one long string claim, 32 KiB with 276 small claims, 72 KiB
with a list of 900 empty objects (72 MiB at the default size, the worst case).

Thread-safe: one lock around the dictionary (gthread workers share a process); the
slow work (``decode``) runs outside it.
"""

from __future__ import annotations

import hashlib
import sys
import threading
from collections import OrderedDict
from typing import Any

from django.core.signals import setting_changed
from django.dispatch import receiver

from jwt_cookie_auth import keys, tokens
from jwt_cookie_auth.conf import app_settings

_lock = threading.Lock()
# token -> (its claims, the payload keys whose values are JSON lists or objects)
_entries: OrderedDict[str, tuple[tokens.Claims, tuple[str, ...]]] = OrderedDict()
# (the KeySet object the fingerprint was computed for, ISSUER, AUDIENCE, fingerprint)
_fingerprint_memo: tuple[keys.KeySet, Any, Any, str] | None = None
_cached_for: str | None = None


def clear() -> None:
    """Forget every verified token (the next use of each is verified again)."""
    global _cached_for
    with _lock:
        _entries.clear()
        _cached_for = None


def size() -> int:
    """Return the number of tokens held."""
    return len(_entries)


def known_exp(token: str) -> int | None:
    """Return the ``exp`` of ``token`` if this process has verified it, else None.

    A hint for deciding *when* to renew (``tokens.seems_expired``), never a reason to
    trust a token: ``decode`` still checks everything. Saves parsing the token's
    payload again on every request whose token is held here.
    """
    with _lock:
        entry = _entries.get(token)
    return entry[0].exp if entry is not None else None


def fingerprint() -> str:
    """Return a hash of everything a token's verification depends on, besides the time.

    Computed once per key set (``keys.get_keys`` builds a new one after a settings
    change), so a lookup costs an identity comparison, not a hash.
    """
    global _fingerprint_memo
    keyset = keys.get_keys()
    issuer, audience = app_settings.ISSUER, app_settings.AUDIENCE
    memo = _fingerprint_memo
    if memo is not None and memo[0] is keyset and memo[1] == issuer and memo[2] == audience:
        return memo[3]
    digest = hashlib.sha256(b"jwt_cookie_auth verified tokens\x00")
    for kid in sorted(keyset.verifying):
        entry = keyset.verifying[kid]
        # The key material itself (key_id hashes it), not only the kid: KEY_ID and
        # OLD_VERIFYING_KEYS' KID name keys freely, so a kid may stay while its key changes.
        material = keys.key_id(entry.algorithm, entry.key)
        digest.update(repr((kid, entry.algorithm, material)).encode() + b"\x00")
    digest.update(repr((issuer, audience)).encode())
    value = digest.hexdigest()
    _fingerprint_memo = (keyset, issuer, audience, value)
    return value


def decode(token: Any, expected_type: tokens.TokenType) -> tokens.Claims:
    """Return the verified claims of ``token`` as ``tokens.decode`` would, or raise ``TokenError``.

    A token verified before under the same fingerprint skips the signature check; its
    times are checked again now. The claims returned are a new ``Claims`` with a copy
    of the payload, so a caller that changes ``payload`` cannot change the next
    request's claims.
    """
    global _cached_for
    capacity = app_settings.VERIFIED_TOKEN_CACHE_SIZE
    if capacity <= 0 or not isinstance(token, str):
        return tokens.decode(token, expected_type)
    current = fingerprint()
    with _lock:
        if _cached_for != current:
            # Keys, issuer or audience changed: nothing verified before may be trusted.
            _entries.clear()
            _cached_for = current
        entry = _entries.get(token)
        if entry is not None:
            _entries.move_to_end(token)
    cached, nested = entry if entry is not None else (None, ())
    if cached is not None and cached.token_type == expected_type:
        try:
            tokens.check_times(cached.iat, cached.exp, cached.payload.get("nbf"))
        except tokens.TokenError:
            with _lock:
                _entries.pop(token, None)
            raise
        return _copy(cached, nested)
    claims = tokens.decode(token, expected_type)
    nested = tuple(key for key, value in claims.payload.items() if type(value) in (list, dict))
    with _lock:
        if _cached_for == current:
            _entries[token] = (claims, nested)
            _entries.move_to_end(token)
            while len(_entries) > capacity:
                _entries.popitem(last=False)
    return _copy(claims, nested)


def _thaw(value: Any) -> Any:
    """A full copy of a JSON value (its containers are lists and dicts only)."""
    if type(value) is list:
        return [_thaw(item) for item in value]
    if type(value) is dict:
        return {key: _thaw(item) for key, item in value.items()}
    return value


def _copy(claims: tokens.Claims, nested: tuple[str, ...]) -> tokens.Claims:
    # The frozen dataclass's __init__ sets each field through object.__setattr__ (about
    # 2 µs, half of a hit); filling the new instance's __dict__ directly gives the same
    # object in a tenth of that. Pinned by the tests comparing a hit with a decode.
    fresh = object.__new__(tokens.Claims)
    fresh.__dict__.update(claims.__dict__)
    payload = dict(claims.payload)
    # Lists and objects too (step-up's ``amr``, custom claims): a caller appending to
    # ``amr`` must not satisfy the next request's step-up check. Their keys are found
    # once, when the entry is stored; a flat payload pays nothing.
    for key in nested:
        payload[key] = _thaw(payload[key])
    fresh.__dict__["payload"] = payload
    return fresh


def entry_bytes(token: str, claims: tokens.Claims) -> int:
    """Return the memory one entry holds, in bytes (for the documented bound)."""
    # The OrderedDict's own per-entry cost (hash slot plus its linked-list node): ~100.
    return sys.getsizeof(token) + sys.getsizeof(claims) + _deep_size(claims.payload) + 100


def _deep_size(value: Any) -> int:
    size = sys.getsizeof(value)
    if isinstance(value, dict):
        size += sum(_deep_size(k) + _deep_size(v) for k, v in value.items())
    elif isinstance(value, list):
        size += sum(_deep_size(item) for item in value)
    return size


@receiver(setting_changed)
def _drop_on_settings_change(*, setting: str, **kwargs: Any) -> None:
    if setting in {"JWT_COOKIE_AUTH", "SECRET_KEY", "SECRET_KEY_FALLBACKS"}:
        clear()
