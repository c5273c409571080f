"""Sessions are bound to the password, as Django binds its own (issue 9, item 5).

A password written without ``save()`` (``QuerySet.update``, raw SQL, another service
on the same database) sends no signal, so the ``post_save`` receiver never sees it.
The tokens carry a fingerprint of the user's session auth hash instead, and a request
(default mode: the user row is loaded anyway) or a refresh whose fingerprint no longer
matches is refused, and its session revoked for good.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.test import Client, override_settings
from django.urls import reverse

from jwt_cookie_auth import tokens
from jwt_cookie_auth.conf import app_settings
from jwt_cookie_auth.cookie_names import access_cookie_name, refresh_cookie_name
from jwt_cookie_auth.identity import user_cache_key
from jwt_cookie_auth.models import LoginSession, RevokeReason
from jwt_cookie_auth.revocation import get_cache
from tests.conftest import FakeClock, access_cookie, login, make_user, refresh_cookie

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a password set behind our back"


def write_password_without_save(user: Any, password: str = NEW_PASSWORD) -> None:
    """What a data migration, a script or another service does: no model, no signal."""
    get_user_model()._default_manager.filter(pk=user.pk).update(password=make_password(password))


def session_row(access: str) -> LoginSession:
    sid = tokens.decode(access, tokens.ACCESS, allow_expired=True).sid
    return LoginSession.objects.get(pk=sid)


def holding(access: str = "", refresh: str = "") -> Client:
    client = Client()
    if access:
        client.cookies[access_cookie_name()] = access
    if refresh:
        client.cookies[refresh_cookie_name()] = refresh
    return client


def bearer_status(access: str) -> int:
    return Client().get(reverse("me"), HTTP_AUTHORIZATION=f"Bearer {access}").status_code


def refresh_status(refresh: str) -> int:
    return holding(refresh=refresh).post(reverse("jwt_cookie_auth:refresh")).status_code


def test_password_updated_without_save_ends_the_session_on_the_next_request(
    client: Client, user: Any, revoked_signals: list[Any]
) -> None:
    """Cookie, Bearer, a plain Django page and the refresh endpoint all refuse it."""
    login(client, user)
    access, refresh = access_cookie(client), refresh_cookie(client)
    assert client.get(reverse("me")).status_code == 200

    write_password_without_save(user)

    assert holding(access).get(reverse("me")).status_code == 401
    assert bearer_status(access) == 401
    assert holding(access, refresh).get(reverse("whoami")).json()["user"] is None
    assert refresh_status(refresh) == 401
    assert session_row(access).revoke_reason == RevokeReason.PASSWORD_CHANGE
    assert [s["reason"] for s in revoked_signals] == [RevokeReason.PASSWORD_CHANGE]


def test_refresh_refuses_a_session_whose_password_changed(client: Client, user: Any) -> None:
    """The refresh is the first to notice (no API call in between): 401, session revoked."""
    login(client, user)
    access = access_cookie(client)
    write_password_without_save(user)
    response = client.post(reverse("jwt_cookie_auth:refresh"))
    assert response.status_code == 401
    assert session_row(access).revoke_reason == RevokeReason.PASSWORD_CHANGE


def test_expired_access_token_is_not_renewed_after_a_password_change(
    client: Client, user: Any, clock: FakeClock
) -> None:
    """AUTO_REFRESH: the transparent refresh refuses too, and deletes the cookies."""
    login(client, user)
    access = access_cookie(client)
    write_password_without_save(user)
    lifetime = app_settings.ACCESS_TOKEN_LIFETIME + app_settings.LEEWAY
    clock.advance(seconds=lifetime.total_seconds() + 1)
    response = client.get(reverse("whoami"))
    assert response.json()["user"] is None
    assert response.cookies[access_cookie_name()].value == ""
    assert session_row(access).revoke_reason == RevokeReason.PASSWORD_CHANGE


def test_the_refusal_is_durable(client: Client, user: Any) -> None:
    """Putting the old hash back does not revive the session: it was revoked."""
    login(client, user)
    access, refresh = access_cookie(client), refresh_cookie(client)
    old_hash = get_user_model()._default_manager.get(pk=user.pk).password
    write_password_without_save(user)
    assert holding(access).get(reverse("me")).status_code == 401
    get_user_model()._default_manager.filter(pk=user.pk).update(password=old_hash)
    assert holding(access).get(reverse("me")).status_code == 401
    assert refresh_status(refresh) == 401


def test_a_new_login_with_the_new_password_works(client: Client, user: Any) -> None:
    login(client, user)
    write_password_without_save(user)
    fresh = Client()
    login(fresh, user, password=NEW_PASSWORD)
    assert fresh.get(reverse("me")).status_code == 200
    assert fresh.post(reverse("jwt_cookie_auth:refresh")).status_code == 200
    assert fresh.get(reverse("me")).status_code == 200
    assert client.get(reverse("me")).status_code == 401


def test_saves_that_keep_the_password_keep_the_session(client: Client, user: Any) -> None:
    """Only the password matters: other fields written either way change nothing."""
    login(client, user)
    get_user_model()._default_manager.filter(pk=user.pk).update(last_login=None)
    user.refresh_from_db()
    user.save()
    assert client.get(reverse("me")).status_code == 200
    assert client.post(reverse("jwt_cookie_auth:refresh")).status_code == 200
    assert client.get(reverse("me")).status_code == 200


def test_set_password_and_save_still_revokes_every_session(client: Client, user: Any) -> None:
    login(client, user)
    other = Client()
    login(other, user)
    other_access = access_cookie(other)
    user.set_password(NEW_PASSWORD)
    user.save()
    assert client.get(reverse("me")).status_code == 401
    assert other.post(reverse("jwt_cookie_auth:refresh")).status_code == 401
    assert session_row(other_access).revoke_reason == RevokeReason.PASSWORD_CHANGE


def test_another_users_password_change_is_not_ours(client: Client, user: Any) -> None:
    login(client, user)
    bystander = make_user("bystander")
    write_password_without_save(bystander)
    assert client.get(reverse("me")).status_code == 200


# --- CACHE_USERS: the user comes from the cache ------------------------------------------


@pytest.fixture
def cached_users(settings: Any) -> None:
    settings.JWT_COOKIE_AUTH = {"CACHE_USERS": True}


def test_cached_users_refuse_within_the_access_token_lifetime(
    cached_users: None, client: Client, user: Any, clock: FakeClock
) -> None:
    """The documented bound: ACCESS_TOKEN_LIFETIME + LEEWAY after the write, at most.

    The cached user still has the old password, so access tokens already issued are
    accepted until they expire; the refresh reads the row and refuses.
    """
    login(client, user)
    access = access_cookie(client)
    assert client.get(reverse("me")).status_code == 200
    assert client.get(reverse("me")).status_code == 200  # the user is now cached
    write_password_without_save(user)
    clock.advance(seconds=app_settings.ACCESS_TOKEN_LIFETIME.total_seconds() - 1)
    assert bearer_status(access) == 200  # within the bound: the cached copy answers
    clock.advance(seconds=app_settings.LEEWAY.total_seconds() + 2)
    assert client.get(reverse("me")).status_code == 401  # expired: the refresh refuses
    assert bearer_status(access) == 401
    assert session_row(access).revoke_reason == RevokeReason.PASSWORD_CHANGE


def test_cached_users_refuse_as_soon_as_the_cached_copy_goes(
    cached_users: None, client: Client, user: Any
) -> None:
    """When the cached copy expires (USER_CACHE_TIMEOUT), the next request reads the row."""
    login(client, user)
    access = access_cookie(client)
    assert client.get(reverse("me")).status_code == 200
    write_password_without_save(user)
    get_cache().delete(user_cache_key(user.pk))  # what its timeout does
    assert client.get(reverse("me")).status_code == 401
    assert session_row(access).revoke_reason == RevokeReason.PASSWORD_CHANGE


def test_a_stale_cached_user_never_refuses_a_new_login(
    cached_users: None, client: Client, user: Any
) -> None:
    """The new password's session is checked against the row, not the stale copy."""
    login(client, user)
    assert client.get(reverse("me")).status_code == 200
    stale = get_cache().get(user_cache_key(user.pk))
    write_password_without_save(user)
    fresh = Client()
    login(fresh, user, password=NEW_PASSWORD)
    get_cache().set(user_cache_key(user.pk), stale)  # a copy cached before the write
    assert fresh.get(reverse("me")).status_code == 200
    assert session_row(access_cookie(fresh)).revoked_at is None
    assert fresh.get(reverse("me")).status_code == 200


# --- Tokens without the claim, other user models, SECRET_KEY rotation --------------------


def without_binding(token: str, token_type: tokens.TokenType) -> str:
    """The same token as the previous version minted it: no password fingerprint."""
    claims = tokens.decode(token, token_type)
    return tokens.encode(
        token_type,
        sub=claims.sub,
        sid=claims.sid,
        jti=claims.jti,
        issued_at=claims.issued_at,
        expires_at=claims.expires_at,
    )


def test_tokens_carry_a_fingerprint_not_the_hash(client: Client, user: Any) -> None:
    from jwt_cookie_auth import password_binding

    login(client, user)
    row = get_user_model()._default_manager.get(pk=user.pk)
    pairs: list[tuple[str, tokens.TokenType]] = [
        (access_cookie(client), tokens.ACCESS),
        (refresh_cookie(client), tokens.REFRESH),
    ]
    for token, kind in pairs:
        payload = tokens.decode(token, kind).payload
        fingerprint = payload[password_binding.CLAIM]
        assert isinstance(fingerprint, str)
        assert len(fingerprint) == 16
        assert fingerprint not in row.get_session_auth_hash()
        assert row.get_session_auth_hash() not in json.dumps(payload)
        assert row.password not in json.dumps(payload)


def test_tokens_from_before_the_binding_are_accepted_and_bound_at_the_next_refresh(
    client: Client, user: Any
) -> None:
    """Claim-less tokens (issued by the previous version) work until their refresh.

    The refresh binds the session to the current password, so upgrading logs no one
    out; within REFRESH_TOKEN_LIFETIME of the upgrade no unbound token is left.
    """
    from jwt_cookie_auth import password_binding

    login(client, user)
    access = without_binding(access_cookie(client), tokens.ACCESS)
    refresh = without_binding(refresh_cookie(client), tokens.REFRESH)
    assert password_binding.CLAIM not in tokens.decode(access, tokens.ACCESS).payload
    assert holding(access).get(reverse("me")).status_code == 200
    assert bearer_status(access) == 200
    response = holding(refresh=refresh).post(reverse("jwt_cookie_auth:refresh"))
    assert response.status_code == 200
    bound = response.cookies[refresh_cookie_name()].value
    assert password_binding.CLAIM in tokens.decode(bound, tokens.REFRESH).payload
    write_password_without_save(user)
    assert refresh_status(bound) == 401


def test_user_model_without_a_session_auth_hash_keeps_working(
    client: Client, user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No ``get_session_auth_hash`` (as Django's get_user): no claim, no check."""
    from jwt_cookie_auth import password_binding

    monkeypatch.setattr(get_user_model(), "get_session_auth_hash", None, raising=False)
    login(client, user)
    assert password_binding.CLAIM not in tokens.decode(access_cookie(client), tokens.ACCESS).payload
    assert client.get(reverse("me")).status_code == 200
    assert client.post(reverse("jwt_cookie_auth:refresh")).status_code == 200
    assert client.get(reverse("me")).status_code == 200


def test_secret_key_rotation_with_fallbacks_keeps_the_binding(client: Client, user: Any) -> None:
    """As django.contrib.auth.get_user: a hash made with a fallback key still matches."""
    login(client, user)
    old_key = django_settings.SECRET_KEY
    new_key = "a-brand-new-secret-key-for-the-rotation-test-0123456789abcdef"
    with override_settings(SECRET_KEY=new_key, SECRET_KEY_FALLBACKS=[old_key]):
        assert client.get(reverse("me")).status_code == 200
        assert client.post(reverse("jwt_cookie_auth:refresh")).status_code == 200
        refreshed = refresh_cookie(client)
    with override_settings(SECRET_KEY=new_key, SECRET_KEY_FALLBACKS=[]):
        # The refresh re-bound the session to the current key's hash.
        assert client.get(reverse("me")).status_code == 200
        assert refresh_status(refreshed) == 200


def test_fingerprint_length_is_what_the_cookie_size_check_assumes(db: None) -> None:
    """Check E113 sizes tokens with FINGERPRINT_LENGTH; a longer claim would slip past."""
    from jwt_cookie_auth import password_binding

    user = make_user("sized")
    assert len(password_binding.fingerprint(user) or "") == password_binding.FINGERPRINT_LENGTH
