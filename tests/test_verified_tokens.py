"""The verified-token cache (verified_tokens.py): it skips the signature check, nothing else.

What a user sees: a token seen before is accepted without a second ``tokens.decode``;
an expired, tampered, revoked or no-longer-verifiable token is refused exactly as
without the cache; the cache stays within its size under a flood and under threads.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from jwt_cookie_auth import keys, revocation, step_up, tokens, verified_tokens
from jwt_cookie_auth.clock import now
from jwt_cookie_auth.models import RevokeReason
from tests.conftest import FakeClock, access_cookie, api_status, login, new_session

LEEWAY = timedelta(seconds=10)  # the default


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    verified_tokens.clear()
    yield
    verified_tokens.clear()


def count_decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every full verification (signature check + decode)."""
    calls: list[str] = []
    original = tokens.decode

    def counting(token: Any, expected_type: Any, **kwargs: Any) -> Any:
        calls.append(token)
        return original(token, expected_type, **kwargs)

    monkeypatch.setattr(tokens, "decode", counting)
    return calls


def mint(sub: str = "1", lifetime: timedelta = timedelta(minutes=5), **extra: Any) -> str:
    """An access token of our current key (no session row: for the cache alone)."""
    issued = now()
    return tokens.encode(
        tokens.ACCESS,
        sub=sub,
        sid=uuid.uuid4().hex,
        jti=tokens.new_jti(),
        issued_at=issued,
        expires_at=issued + lifetime,
        extra_claims=extra or None,
    )


def tampered(token: str) -> str:
    """The token with one payload character changed (its signature no longer matches)."""
    header, payload, signature = token.split(".")
    middle = len(payload) // 2
    swapped = "A" if payload[middle] != "A" else "B"
    return ".".join([header, payload[:middle] + swapped + payload[middle + 1 :], signature])


def test_second_request_skips_the_signature_check(
    logged_in: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two requests with one access cookie: verified once, the same user and claims twice."""
    calls = count_decodes(monkeypatch)
    first = logged_in.get(reverse("me"))
    second = logged_in.get(reverse("me"))
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert calls == [access_cookie(logged_in)]
    token = access_cookie(logged_in)
    assert verified_tokens.decode(token, tokens.ACCESS) == tokens.decode(token, tokens.ACCESS)


def test_a_hit_returns_claims_the_caller_cannot_spoil() -> None:
    token = mint(role="reader")
    first = verified_tokens.decode(token, tokens.ACCESS)
    first.payload["role"] = "admin"
    assert verified_tokens.decode(token, tokens.ACCESS)["role"] == "reader"


def test_nested_claims_of_a_hit_cannot_be_spoiled_either() -> None:
    """Lists and objects are copied too: appending to ``amr`` must not pass step-up later."""
    token = mint(amr=["pwd"], auth_time=int(now().timestamp()), prefs={"tags": ["a"]})
    first = verified_tokens.decode(token, tokens.ACCESS)
    first["amr"].append("otp")
    first["prefs"]["tags"].append("b")
    for _ in range(2):  # the stored entry and every later hit keep the token's values
        later = verified_tokens.decode(token, tokens.ACCESS)
        assert later["amr"] == ["pwd"]
        assert later["prefs"] == {"tags": ["a"]}
        assert step_up.shortfall(later, None, ["otp"]) is not None


def test_revocation_is_still_checked_on_every_request(logged_in: Client, user: Any) -> None:
    """The cache replaces the signature check only: a revoked session is refused at once."""
    token = access_cookie(logged_in)
    assert api_status(token) == 200  # now cached
    claims = tokens.decode(token, tokens.ACCESS)
    assert revocation.revoke_session(claims.sid, RevokeReason.LOGOUT)
    assert api_status(token) == 401


def test_expired_token_is_refused_from_the_cache(
    clock: FakeClock, db: None, user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """exp (with LEEWAY) is checked against the injected clock on every hit."""
    token = new_session(user)
    assert api_status(token) == 200
    assert verified_tokens.size() == 1
    clock.advance(minutes=5, seconds=LEEWAY.seconds - 1)
    assert api_status(token) == 200  # within the leeway: still a hit
    clock.advance(seconds=1)
    calls = count_decodes(monkeypatch)
    with pytest.raises(tokens.TokenExpired):
        verified_tokens.decode(token, tokens.ACCESS)
    assert calls == []  # refused by the hit's own check of exp, not by a second decode
    assert verified_tokens.size() == 0  # and dropped
    assert api_status(token) == 401


def test_not_yet_valid_token_is_refused_from_the_cache(clock: FakeClock) -> None:
    """nbf and iat are re-checked too: a clock moved back refuses what decode would."""
    start = clock.current
    token = mint(nbf=tokens.timestamp(start))
    verified_tokens.decode(token, tokens.ACCESS)
    clock.current = start - LEEWAY - timedelta(seconds=1)
    with pytest.raises(tokens.InvalidToken, match=r"not yet valid|issued in the future"):
        verified_tokens.decode(token, tokens.ACCESS)


def test_refused_tokens_are_not_cached(clock: FakeClock) -> None:
    expired = mint(lifetime=-timedelta(minutes=1))
    for token in (expired, tampered(mint()), "not-a-token", ""):
        for _ in range(2):
            with pytest.raises(tokens.TokenError):
                verified_tokens.decode(token, tokens.ACCESS)
    assert verified_tokens.size() == 0


def test_tampered_token_never_hits(logged_in: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """A token one character away from a cached one is verified in full and refused."""
    token = access_cookie(logged_in)
    assert api_status(token) == 200
    calls = count_decodes(monkeypatch)
    forged = tampered(token)
    response = Client().get(reverse("me"), HTTP_AUTHORIZATION=f"Bearer {forged}")
    assert response.status_code == 401
    assert calls == [forged]
    assert verified_tokens.size() == 1


def test_refresh_token_is_not_served_as_an_access_token() -> None:
    """The cache answers only for the type the token was verified as."""
    token = mint()
    verified_tokens.decode(token, tokens.ACCESS)
    with pytest.raises(tokens.InvalidToken, match="typ"):
        verified_tokens.decode(token, tokens.REFRESH)


@pytest.mark.parametrize("form", ["removed key", "same kid, other key"])
def test_key_change_drops_cached_tokens(form: str, user: Any) -> None:
    """A token of a key no longer configured is refused on the next request (HTTP 401)."""
    old_key, new_key = "o" * 64, "n" * 64
    issued_under: dict[str, Any]
    cached_under: dict[str, Any]
    if form == "removed key":
        issued_under = {"SIGNING_KEY": old_key}
        cached_under = {"SIGNING_KEY": new_key, "OLD_VERIFYING_KEYS": [old_key]}
        later = {"SIGNING_KEY": new_key}
    else:
        issued_under = cached_under = {"SIGNING_KEY": old_key, "KEY_ID": "k1"}
        later = {"SIGNING_KEY": new_key, "KEY_ID": "k1"}
    with override_settings(JWT_COOKIE_AUTH=issued_under):
        client = Client()
        login(client, user)
        token = access_cookie(client)
    with override_settings(JWT_COOKIE_AUTH=cached_under):
        assert api_status(token) == 200
        assert verified_tokens.size() == 1
    with override_settings(JWT_COOKIE_AUTH=later):
        assert api_status(token) == 401


def test_fingerprint_alone_drops_entries_without_the_settings_signal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Even if keys change with no ``setting_changed`` (a reload by other means)."""
    token = mint()
    verified_tokens.decode(token, tokens.ACCESS)
    current = keys.get_keys()
    replaced = keys.KeySet(current.kid, current.algorithm, current.signing_key, {})
    monkeypatch.setattr(keys, "get_keys", lambda: replaced)
    monkeypatch.setattr(tokens, "get_keys", lambda: replaced)
    with pytest.raises(tokens.InvalidToken, match="kid"):
        verified_tokens.decode(token, tokens.ACCESS)
    assert verified_tokens.size() == 0


@pytest.mark.parametrize("setting", ["ISSUER", "AUDIENCE"])
def test_issuer_or_audience_change_drops_cached_tokens(setting: str) -> None:
    token = mint()
    verified_tokens.decode(token, tokens.ACCESS)
    fingerprint = verified_tokens.fingerprint()
    with override_settings(JWT_COOKIE_AUTH={setting: "https://other.example"}):
        assert verified_tokens.fingerprint() != fingerprint
        with pytest.raises(tokens.InvalidToken):
            verified_tokens.decode(token, tokens.ACCESS)


def test_size_zero_disables_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    token = mint()
    calls = count_decodes(monkeypatch)
    with override_settings(JWT_COOKIE_AUTH={"VERIFIED_TOKEN_CACHE_SIZE": 0}):
        for _ in range(3):
            verified_tokens.decode(token, tokens.ACCESS)
    assert len(calls) == 3
    assert verified_tokens.size() == 0


def test_bounded_under_a_flood_of_distinct_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    """Least recently used first out; never more than the configured number of entries."""
    with override_settings(JWT_COOKIE_AUTH={"VERIFIED_TOKEN_CACHE_SIZE": 50}):
        kept = mint(sub="kept")
        verified_tokens.decode(kept, tokens.ACCESS)
        flood = [mint(sub=str(n)) for n in range(500)]
        for n, token in enumerate(flood):
            verified_tokens.decode(token, tokens.ACCESS)
            if n % 10 == 0:
                verified_tokens.decode(kept, tokens.ACCESS)  # recently used: stays
            assert verified_tokens.size() <= 50
        calls = count_decodes(monkeypatch)
        verified_tokens.decode(kept, tokens.ACCESS)
        verified_tokens.decode(flood[-1], tokens.ACCESS)
        assert calls == []
        verified_tokens.decode(flood[0], tokens.ACCESS)
        assert calls == [flood[0]]  # evicted long ago: verified again
        assert verified_tokens.size() == 50


def test_threads_share_the_cache_safely() -> None:
    """8 threads, 120 tokens through 32 slots: right claims always, bound kept, no errors."""
    valid = [mint(sub=f"user-{n}") for n in range(120)]
    bad = [tampered(token) for token in valid[:10]]
    expected = {token: tokens.decode(token, tokens.ACCESS) for token in valid}
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def work(offset: int) -> None:
        try:
            start.wait()
            for n in range(600):
                token = valid[(n * 7 + offset * 13) % len(valid)]
                assert verified_tokens.decode(token, tokens.ACCESS) == expected[token]
                if n % 50 == 0:
                    forged = bad[(n + offset) % len(bad)]
                    try:
                        verified_tokens.decode(forged, tokens.ACCESS)
                    except tokens.InvalidToken:
                        pass
                    else:
                        raise AssertionError("a tampered token was accepted")
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    with override_settings(JWT_COOKIE_AUTH={"VERIFIED_TOKEN_CACHE_SIZE": 32}):
        threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert 0 < verified_tokens.size() <= 32
        assert not set(bad) & set(verified_tokens._entries)


def test_entry_size_of_a_default_access_token(logged_in: Client) -> None:
    """The documented bound: about 1.4 KiB per entry for a default access token."""
    token = access_cookie(logged_in)
    claims = verified_tokens.decode(token, tokens.ACCESS)
    assert 500 < verified_tokens.entry_bytes(token, claims) < 2048


def test_known_exp_is_a_hint_from_verified_tokens_only() -> None:
    token = mint()
    assert verified_tokens.known_exp(token) is None  # never verified here
    claims = verified_tokens.decode(token, tokens.ACCESS)
    assert verified_tokens.known_exp(token) == claims.exp
    assert verified_tokens.known_exp(token + "x") is None


def test_a_held_token_past_its_exp_is_renewed_before_the_view(
    clock: FakeClock, logged_in: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The middleware reads a held token's exp from the cache, not from its payload; an
    expired one still renews before the view (a new access cookie on that response)."""
    old = access_cookie(logged_in)
    assert logged_in.get(reverse("me")).status_code == 200
    assert verified_tokens.known_exp(old) is not None
    parsed: list[str] = []
    original = tokens.seems_expired
    monkeypatch.setattr(
        tokens, "seems_expired", lambda token: parsed.append(token) or original(token)
    )
    assert logged_in.get(reverse("me")).status_code == 200
    clock.advance(minutes=5, seconds=LEEWAY.seconds + 1)
    response = logged_in.get(reverse("me"))
    assert response.status_code == 200
    assert access_cookie(logged_in) != old  # renewed
    assert parsed == []  # both decisions came from the cache
